"""Checks for the exercises of notebook 07 (BPR): the loss (PyTorch) and the triplet sampler (NumPy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.checks._common import _call, _check_rng_use, _check_speed, _expect_array, _expect_tensor, _fail
from course_lib.sampling import sample_triplets

__all__ = ["check_bpr_loss", "check_triplet_sampler"]


# --------------------------------------------------------------- the BPR loss
def check_bpr_loss(bpr_loss: Callable[[Any, Any], Any]) -> None:
    """Check a student's ``bpr_loss(positive_scores, negative_scores)``: the mean of
    ``-log sigmoid(x_ui - x_uj)`` over a batch of torch tensors."""
    import torch

    name = "bpr_loss"
    positive = torch.tensor([2.0, -1.0, 0.5, 3.0])
    negative = torch.tensor([0.5, 1.0, 0.5, -2.0])
    inputs = f"positive_scores={positive.tolist()}, negative_scores={negative.tolist()}"
    tracked_positive, tracked_negative = positive.clone().requires_grad_(), negative.clone().requires_grad_()
    value = _call(name, bpr_loss, tracked_positive, tracked_negative, inputs=inputs)
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        _fail(name, f"return one number, the mean over the batch; got a tensor of shape {tuple(value.shape)}.")
    _expect_tensor(name, value, None, inputs, scalar=True, label="the loss")
    if not value.requires_grad:
        _fail(name, "the loss carries no gradient: compute it with torch operations on the scores (no .item(), "
                    "NumPy or .detach() on the way), or the embeddings cannot learn from it.")
    value.backward()
    if tracked_positive.grad is None or tracked_negative.grad is None:
        _fail(name, "the gradient does not reach both the positive and the negative scores.")
    got = float(value.detach())
    x = (positive - negative).numpy().astype(np.float64)
    expected = float(np.mean(np.logaddexp(0.0, -x)))
    if not np.isclose(got, expected, atol=1e-5):
        sigmoid = 1 / (1 + np.exp(-x))
        hints = [
            (np.mean(np.logaddexp(0.0, x)), "the sign is reversed: x_uij = x_ui - x_uj (positive minus negative); "
                                            "the loss is small when the positive item scores higher."),
            (np.sum(np.logaddexp(0.0, -x)), "you summed over the batch: take the mean, so that the learning rate "
                                            "does not depend on the batch size."),
            (-np.mean(sigmoid), "the log is missing: the loss is -log(sigmoid(x_uij)), not -sigmoid(x_uij)."),
            (np.mean(1 - sigmoid), "the log is missing: the loss is -log(sigmoid(x_uij))."),
            (np.mean(np.log(sigmoid)), "the minus sign is missing: we minimize -log sigmoid(x_uij)."),
        ]
        for candidate, hint in hints:
            if np.isclose(got, candidate, atol=1e-5):
                _fail(name, hint)
        if got < 0:
            _fail(name, f"you returned {got:.5f}, a negative loss: -log sigmoid(x) is never negative. Is the minus "
                        "sign missing?")
        _fail(name, f"for x_ui={positive.tolist()} and x_uj={negative.tolist()} the loss is {expected:.5f}, "
                    f"you returned {got:.5f}.")
    far = _call(name, bpr_loss, torch.tensor([-200.0, 100.0]), torch.tensor([0.0, 0.0]),
                inputs="positive_scores=[-200.0, 100.0], negative_scores=[0.0, 0.0]")
    far = torch.as_tensor(far).detach()
    if not np.isfinite(float(far)) or not np.isclose(float(far), 100.0, atol=1e-3):
        _fail(name, f"for x_uij = -200 and 100 the loss should be about 100.0, you returned {float(far)}: "
                    "sigmoid(-200) underflows to 0 and log(0) = -inf. Use torch.nn.functional.logsigmoid, "
                    "which computes log(sigmoid(x)) without forming sigmoid(x).")
    print(f"{name}: all checks passed.")


# ------------------------------------------------------------ the triplet sampler
def _looks_uniform(counts: np.ndarray, false_alarm: float = 1e-6) -> bool:
    """Whether draws counted per cell can come from a uniform distribution. Two tests, each of which a
    correct sampler fails with probability below ``false_alarm`` (whatever order it uses the generator
    in): every cell's count within its binomial range (Bonferroni over the cells: an item never or
    far too often drawn), and Pearson's chi-square over all cells (a skew spread over many items)."""
    from scipy import stats

    total, cells = int(counts.sum()), counts.size
    share = false_alarm / 2 / (2 * cells)
    low, high = stats.binom.ppf(share, total, 1 / cells), stats.binom.isf(share, total, 1 / cells)
    if counts.min() < low or counts.max() > high:
        return False
    return stats.chisquare(counts).pvalue >= false_alarm / 2


def _test_matrix() -> sp.csr_matrix:
    """User 0 has 40 items, user 1 has 4, user 2 has 10; items 0..9 are popular."""
    rows = [0] * 40 + [1] * 4 + [2] * 10
    columns = list(range(40)) + [0, 1, 2, 3] + list(range(0, 20, 2))
    return sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(3, 60))


def check_triplet_sampler(sample: Callable[[Any, int, np.random.Generator], Any]) -> None:
    """Check a student's vectorized ``sample(matrix, n_samples, rng) -> (users, positives, negatives)``:
    a positive is a uniformly drawn interaction (row, column) of the CSR ``matrix``; a negative is
    uniform among the items that user has not interacted with."""
    name = "vectorized_triplets"
    matrix = _test_matrix()
    n_samples = 30_000
    inputs = f"a 3 x 60 CSR matrix with 54 interactions, n_samples={n_samples}"
    result = _call(name, sample, matrix, n_samples, np.random.default_rng(0), inputs=inputs)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        _fail(name, "return a tuple of three arrays: (users, positive_items, negative_items).")
    users, positives, negatives = (_expect_array(name, array, (n_samples,), inputs, kind="i", label=f"`{label}`")
                                   for label, array in zip(("users", "positives", "negatives"), result, strict=True))
    dense = matrix.toarray() > 0
    if users.min() < 0 or users.max() >= 3 or min(positives.min(), negatives.min()) < 0 \
            or max(positives.max(), negatives.max()) >= 60:
        _fail(name, "some ids are outside the matrix: users must lie in 0..n_users-1, items in 0..n_items-1.")
    if not dense[users, positives].all():
        _fail(name, "some positives are not interactions of their user: take the user and the item from the same "
                    "stored entry of the matrix (a row and a column index of one non-zero).")
    seen = dense[users, negatives]
    if seen.any():
        _fail(name, f"{seen.mean():.1%} of the negatives are items the user has interacted with: test all "
                    "candidates at once and redraw only the rejected ones until none is left.")
    share_user_0 = float(np.mean(users == 0))
    if abs(share_user_0 - 40 / 54) > 0.03:
        if abs(share_user_0 - 1 / 3) < 0.03:
            _fail(name, "the users come out equally often: draw an interaction uniformly (a random stored entry), "
                        "so that a user with more interactions gets more triplets.")
        _fail(name, f"user 0 holds 40 of the 54 interactions but got {share_user_0:.1%} of the triplets: draw "
                    "the positives uniformly over the interactions.")
    user_1 = negatives[users == 1]
    counts = np.bincount(user_1, minlength=60)[4:]  # its 56 unseen items
    if counts[-1] == 0 and counts[:-1].min() > 0:
        _fail(name, "the last item (59) is never drawn as a negative: draw from 0 to n_items - 1 inclusive "
                    "(rng.integers(low, high) excludes high).")
    if not _looks_uniform(counts):
        _fail(name, "the negatives are not uniform over the unseen items (some are drawn far more often than "
                    "others): draw candidates uniformly from 0..n_items-1, never from the interactions.")

    def run(seed: int) -> tuple:
        return tuple(np.asarray(a) for a in _call(name, sample, matrix, 100, np.random.default_rng(seed),
                                                  inputs=inputs.replace(str(n_samples), "100")))

    def same(first: tuple, second: tuple) -> bool:
        return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))

    _check_rng_use(name, run, same, globals_named="np.random, random")
    big = _large_matrix()
    seconds = _check_speed(
        name, lambda: sample(big, 100_000, np.random.default_rng(0)),
        lambda: sample_triplets(big, n_samples=100_000, seed=np.random.default_rng(0)),
        "a 2,000 x 3,000 matrix and n_samples=100,000", ratio=15.0, floor=0.3,
        hint="Avoid the Python loop over samples: draw all interactions and candidates at once, test the "
             "candidates with one array operation, redraw only the rejected ones.")
    print(f"{name}: all checks passed ({seconds * 1000:.0f} ms for 100,000 triplets).")


def _large_matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(12)
    return sp.csr_matrix((rng.random((2000, 3000)) < 0.03).astype(np.float32))
