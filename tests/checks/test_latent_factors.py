"""The checks of notebook 06 accept the reference and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from course_lib.torch.latent_factor import LatentFactorNet  # noqa: E402


class Reference(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, global_mean):
        super().__init__()
        self.inner = LatentFactorNet(n_users, n_items, global_mean, embedding_dim, 0.1)

    def forward(self, user_ids, item_ids):
        return self.inner(user_ids, item_ids)


class NoBiases(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, global_mean):
        super().__init__()
        self.users, self.items, self.mean = nn.Embedding(n_users, embedding_dim), nn.Embedding(n_items, embedding_dim), global_mean

    def forward(self, user_ids, item_ids):
        return self.mean + (self.users(user_ids) * self.items(item_ids)).sum(-1)


class NoMean(Reference):
    def forward(self, user_ids, item_ids):
        return self.inner(user_ids, item_ids) - self.inner.global_mean


class Unsummed(Reference):
    def forward(self, user_ids, item_ids):
        inner = self.inner
        return inner.user_factors(user_ids) * inner.item_factors(item_ids) + inner.global_mean


class ColumnBiases(Reference):
    def forward(self, user_ids, item_ids):
        return self.inner(user_ids, item_ids)[:, None]


class LearnedMean(Reference):
    def __init__(self, *args):
        super().__init__(*args)
        self.mean = nn.Parameter(torch.tensor(0.0))


class SameRows(Reference):
    def forward(self, user_ids, item_ids):  # looks items up in the user table: cannot fit
        inner = self.inner
        return (inner.global_mean + inner.user_bias(user_ids).squeeze(-1) + inner.item_bias(item_ids).squeeze(-1)
                + (inner.user_factors(user_ids) * inner.item_factors(user_ids % 5)).sum(-1))


def test_network_check_accepts_the_reference(capsys):
    checks.check_latent_factor_net(Reference)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (NoBiases, "no biases"),
    (NoMean, "add the global mean"),
    (Unsummed, "dot product"),
    (ColumnBiases, "squeeze"),
    (LearnedMean, "keep it fixed"),
    (SameRows, "looked up by user_ids"),
])
def test_network_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_latent_factor_net(mistake)


def _train(network, train, test, epochs, learning_rate, batch_size, weight_decay, *, squared=False, running=False,
           step=True):
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    history = {"train_rmse": [], "test_rmse": []}
    rng = np.random.default_rng(0)

    def error(part):
        with torch.no_grad():
            predictions = network(torch.as_tensor(part.users), torch.as_tensor(part.items))
            mse = ((predictions - torch.as_tensor(part.ratings)) ** 2).mean().item()
        return mse if squared else mse**0.5

    for _ in range(epochs):
        losses = []
        for rows in np.array_split(rng.permutation(len(train)), max(1, len(train) // batch_size)):
            predictions = network(torch.as_tensor(train.users[rows]), torch.as_tensor(train.items[rows]))
            loss = ((predictions - torch.as_tensor(train.ratings[rows])) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            if step:
                optimizer.step()
            losses.append(loss.item())
        history["train_rmse"].append(float(np.mean(losses)) ** 0.5 if running else error(train))
        history["test_rmse"].append(error(test))
    return history


def test_training_check_accepts_the_reference(capsys):
    checks.check_rmse_training(_train)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda *a: _train(*a, squared=True), "square root"),
    (lambda *a: _train(*a, running=True), "running mean"),
    (lambda *a: _train(*a, step=False), "step()"),
    (lambda *a: {"train_rmse": [1.0], "test_rmse": [1.0]}, "one per epoch"),
    (lambda *a: [1.0, 0.9], "return a dict"),
])
def test_training_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        checks.check_rmse_training(mistake)


def test_checks_let_the_stub_error_through():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_rmse_training(stub)
    with pytest.raises(NotImplementedError):
        checks.check_latent_factor_net(stub)
