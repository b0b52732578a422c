"""The checks of notebook 01 accept the reference and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from course_lib.sampling import sample_negatives

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from course_lib.torch.mlp import NeuMFNet  # noqa: E402


# ------------------------------------------------------------------ training loop
def _loop(zero_grad=True, step=True, returns="mean"):
    def train_one_epoch(model, loader, loss_fn, optimizer):
        model.train()
        losses = []
        for inputs, targets in loader:
            if zero_grad:
                optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            if step:
                optimizer.step()
            losses.append(loss.item())
        return {"mean": float(np.mean(losses)), "sum": float(np.sum(losses)), "last": losses[-1]}[returns]
    return train_one_epoch


def test_training_loop_check_accepts_the_reference(capsys):
    checks.check_training_loop(_loop())
    assert "match" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (_loop(zero_grad=False), "zero_grad"),
    (_loop(step=False), "optimizer.step()"),
    (_loop(returns="sum"), "sum of the batch losses"),
    (_loop(returns="last"), "average them"),
])
def test_training_loop_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        checks.check_training_loop(mistake)


# ------------------------------------------------------------------ NeuMF network
class _SigmoidNeuMF(NeuMFNet):
    def forward(self, users, items):
        return torch.sigmoid(super().forward(users, items))


class _ColumnNeuMF(NeuMFNet):
    def forward(self, users, items):
        return super().forward(users, items)[:, None]


class _SharedEmbeddings(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, hidden_dims):
        super().__init__()
        self.user, self.item = nn.Embedding(n_users, embedding_dim), nn.Embedding(n_items, embedding_dim)
        self.output = nn.Linear(embedding_dim, 1)

    def forward(self, users, items):
        return self.output(self.user(users) * self.item(items)).squeeze(-1)


class _NoReLU(NeuMFNet):
    def forward(self, users, items):
        mlp = torch.cat([self.mlp_user(users), self.mlp_item(items)], -1)
        for layer in self.layers:
            mlp = layer(mlp)
        return self.output(torch.cat([self.gmf_user(users) * self.gmf_item(items), mlp], -1)).squeeze(-1)


def test_neumf_check_accepts_the_reference(capsys):
    checks.check_neumf_network(NeuMFNet)
    assert "same logits" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (_SigmoidNeuMF, "applies a sigmoid"),
    (_ColumnNeuMF, "squeeze"),
    (_SharedEmbeddings, "four tables"),
    (_NoReLU, "non-linearity"),
])
def test_neumf_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_neumf_network(mistake)


# ------------------------------------------------------------------ negative sampler
def _reference_sampler(positives, user_ids, n_negatives, rng):
    return sample_negatives(positives, user_ids, n_negatives, seed=rng)


def test_sampler_check_accepts_the_reference(capsys):
    checks.check_negative_sampler(_reference_sampler)
    assert "no positives" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda m, u, n, rng: rng.integers(0, m.shape[1], (len(u), n)), "positives"),
    (lambda m, u, n, rng: rng.integers(0, m.shape[1], len(u) * n), "flat array"),
    (lambda m, u, n, rng: sample_negatives(m, u, 1, seed=rng), "one negative per user"),
    (lambda m, u, n, rng: sample_negatives(m, u, n, seed=0), "same negatives"),
])
def test_sampler_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_negative_sampler(mistake)
