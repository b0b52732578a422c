"""The checks of notebook 01 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from course_lib.sampling import sample_negatives
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from course_lib.torch.mlp import NeuMFNet  # noqa: E402

NOTEBOOK = "01_mlp_basics"


# ------------------------------------------------------------------ training loop
def _loop(zero_grad="before", step=True, train_mode=True, returns="mean", batches=None):
    def train_one_epoch(model, loader, loss_fn, optimizer):
        if train_mode:
            model.train()
        losses = []
        if zero_grad == "once":
            optimizer.zero_grad()
        for index, (inputs, targets) in enumerate(loader):
            if batches is not None and index >= batches:
                break
            if zero_grad == "before":
                optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            if zero_grad == "after_backward":
                optimizer.zero_grad()
            if step:
                optimizer.step()
            losses.append(loss)
        values = [loss.item() for loss in losses]
        return {"mean": float(np.mean(values)), "sum": float(np.sum(values)), "last": values[-1],
                "tensor": torch.stack(losses).mean(), "none": None}[returns]
    return train_one_epoch


# ------------------------------------------------------------------ negative sampler
def _rejection(high_offset=0, repeat=np.repeat, dtype=None):
    def sample(positives, user_ids, n_negatives, rng):
        users = repeat(np.asarray(user_ids), n_negatives)
        items = rng.integers(0, positives.shape[1] - high_offset, size=len(users))
        pending = np.flatnonzero(np.asarray(positives[users, items]).ravel() > 0)
        while len(pending):
            items[pending] = rng.integers(0, positives.shape[1] - high_offset, size=len(pending))
            pending = pending[np.asarray(positives[users[pending], items[pending]]).ravel() > 0]
        return items.reshape(len(user_ids), n_negatives) if dtype is None else \
            items.reshape(len(user_ids), n_negatives).astype(dtype)
    return sample


def _sampler_no_return(positives, user_ids, n_negatives, rng):
    _rejection()(positives, user_ids, n_negatives, rng)


def _global_numpy(positives, user_ids, n_negatives, rng):
    return _rejection()(positives, user_ids, n_negatives, np.random.default_rng(np.random.randint(1 << 30)))  # noqa: NPY002


def _loop_over_users(positives, user_ids, n_negatives, rng):
    result = np.empty((len(user_ids), n_negatives), dtype=np.int64)
    for row, user in enumerate(user_ids):
        seen = set(positives.indices[positives.indptr[user]:positives.indptr[user + 1]].tolist())
        drawn = []
        while len(drawn) < n_negatives:
            item = int(rng.integers(0, positives.shape[1]))
            if item not in seen:
                drawn.append(item)
        result[row] = drawn
    return result


# ------------------------------------------------------------------ NeuMF network
class _SigmoidNeuMF(NeuMFNet):
    def forward(self, users, items):
        return torch.sigmoid(super().forward(users, items))


class _ColumnNeuMF(NeuMFNet):
    def forward(self, users, items):
        return super().forward(users, items)[:, None]


class _ForwardNoReturn(NeuMFNet):
    def forward(self, users, items):
        super().forward(users, items)


class _Detached(NeuMFNet):
    def forward(self, users, items):
        return super().forward(users, items).detach()


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


class _OtherNames(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, hidden_dims):
        super().__init__()
        self.reference = NeuMFNet(n_users, n_items, embedding_dim, hidden_dims)

    def forward(self, users, items):
        return self.reference(users, items)


class _OutputOnMLPOnly(NeuMFNet):
    def __init__(self, n_users, n_items, embedding_dim, hidden_dims):
        super().__init__(n_users, n_items, embedding_dim, hidden_dims)
        self.output = nn.Linear(hidden_dims[-1], 1)


MISTAKES = [
    ("loop: forgotten return", "check_training_loop", _loop(returns="none"), "did you forget `return`"),
    ("loop: no zero_grad", "check_training_loop", _loop(zero_grad="never"), "gradients add up"),
    ("loop: zero_grad once per epoch", "check_training_loop", _loop(zero_grad="once"), "once per epoch"),
    ("loop: zero_grad after backward", "check_training_loop", _loop(zero_grad="after_backward"),
     "between loss.backward() and optimizer.step()"),
    ("loop: no model.train()", "check_training_loop", _loop(train_mode=False), "evaluation mode"),
    ("loop: no step", "check_training_loop", _loop(step=False), "optimizer.step()"),
    ("loop: first batch only", "check_training_loop", _loop(batches=1), "batches of sizes"),
    ("loop: sum of losses", "check_training_loop", _loop(returns="sum"), "sum of the batch losses"),
    ("loop: last loss", "check_training_loop", _loop(returns="last"), "average them"),
    ("loop: a tensor", "check_training_loop", _loop(returns="tensor"), "Python float"),
    ("sampler: forgotten return", "check_negative_sampler", _sampler_no_return, "did you forget `return`"),
    ("sampler: no rejection", "check_negative_sampler",
     lambda m, u, n, rng: rng.integers(0, m.shape[1], (len(u), n)), "positives"),
    ("sampler: flat", "check_negative_sampler",
     lambda m, u, n, rng: _rejection()(m, u, n, rng).ravel(), "flat array"),
    ("sampler: one per user", "check_negative_sampler", lambda m, u, n, rng: _rejection()(m, u, 1, rng),
     "one negative per user"),
    ("sampler: its own seed", "check_negative_sampler", lambda m, u, n, rng: sample_negatives(m, u, n, seed=0),
     "two different seeds"),
    ("sampler: global np.random", "check_negative_sampler", _global_numpy, "global generator"),
    ("sampler: np.tile", "check_negative_sampler", _rejection(repeat=np.tile), "np.tile"),
    ("sampler: float ids", "check_negative_sampler", _rejection(dtype=float), "integers"),
    ("sampler: never the last item", "check_negative_sampler", _rejection(high_offset=1), "did not finish"),
    ("sampler: loop over users", "check_negative_sampler", _loop_over_users, "Avoid the Python loop"),
    ("NeuMF: forward without return", "check_neumf_network", _ForwardNoReturn, "did you forget `return`"),
    ("NeuMF: sigmoid", "check_neumf_network", _SigmoidNeuMF, "applies a sigmoid"),
    ("NeuMF: (B, 1)", "check_neumf_network", _ColumnNeuMF, "squeeze"),
    ("NeuMF: shared embeddings", "check_neumf_network", _SharedEmbeddings, "four tables"),
    ("NeuMF: no ReLU", "check_neumf_network", _NoReLU, "non-linearity"),
    ("NeuMF: other names", "check_neumf_network", _OtherNames, "are missing"),
    ("NeuMF: output on the MLP only", "check_neumf_network", _OutputOnMLPOnly, "the output layer takes"),
    ("NeuMF: detached", "check_neumf_network", _Detached, "carries no gradient"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


@pytest.mark.parametrize("check, answer, printed", [
    ("check_training_loop", solution(NOTEBOOK, "train_one_epoch"), "mean loss"),
    ("check_training_loop", _loop(zero_grad="before"), "mean loss"),
    ("check_negative_sampler", solution(NOTEBOOK, "sample_negatives"), "no positives"),
    ("check_negative_sampler", lambda m, u, n, rng: sample_negatives(m, u, n, seed=rng), "no positives"),
    ("check_neumf_network", solution(NOTEBOOK, "NeuMFNet"), "same weights"),
    ("check_neumf_network", NeuMFNet, "same weights"),
])
def test_check_accepts_the_answer(check, answer, printed, capsys):
    getattr(checks, check)(answer)
    assert printed in capsys.readouterr().out


def test_training_loop_check_accepts_zero_grad_at_the_end_of_the_batch(capsys):
    def train_one_epoch(model, loader, loss_fn, optimizer):
        model.train()
        losses = []
        for inputs, targets in loader:
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        return sum(losses) / len(losses)

    checks.check_training_loop(train_one_epoch)
