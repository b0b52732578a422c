"""Checks for the exercises of notebook 07 (BPR): the loss (PyTorch) and the triplet sampler (NumPy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.checks._common import _call, _fail

__all__ = ["check_bpr_loss", "check_triplet_sampler"]


# --------------------------------------------------------------- the BPR loss
def check_bpr_loss(bpr_loss: Callable[[Any, Any], Any]) -> None:
    """Check a student's ``bpr_loss(positive_scores, negative_scores)``: the mean of
    ``-log sigmoid(x_ui - x_uj)`` over a batch of torch tensors."""
    import torch

    name = "bpr_loss"
    positive = torch.tensor([2.0, -1.0, 0.5, 3.0])
    negative = torch.tensor([0.5, 1.0, 0.5, -2.0])
    value = _call(name, bpr_loss, positive, negative)
    if not isinstance(value, torch.Tensor):
        _fail(name, f"return a torch tensor (so that gradients flow), got {type(value).__name__}.")
    if value.numel() != 1:
        _fail(name, f"return one number, the mean over the batch; got a tensor of shape {tuple(value.shape)}.")
    got = float(value)
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
        _fail(name, f"for x_ui={positive.tolist()} and x_uj={negative.tolist()} the loss is {expected:.5f}, "
                    f"you returned {got:.5f}.")
    far = _call(name, bpr_loss, torch.tensor([-200.0, 100.0]), torch.tensor([0.0, 0.0]))
    if not np.isfinite(float(far)) or not np.isclose(float(far), 100.0, atol=1e-3):
        _fail(name, f"for x_uij = -200 and 100 the loss should be about 100.0, you returned {float(far)}: "
                    "sigmoid(-200) underflows to 0 and log(0) = -inf. Use torch.nn.functional.logsigmoid, "
                    "which computes log(sigmoid(x)) without forming sigmoid(x).")
    print(f"{name}: all checks passed.")


# ------------------------------------------------------------ the triplet sampler
def _test_matrix() -> sp.csr_matrix:
    """User 0 has 40 items, user 1 has 4, user 2 has 10; items 0..9 are popular."""
    rows = [0] * 40 + [1] * 4 + [2] * 10
    columns = list(range(40)) + [0, 1, 2, 3] + list(range(0, 20, 2))
    return sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(3, 60))


def check_triplet_sampler(sample: Callable[[Any, int, np.random.Generator], Any]) -> None:
    """Check a student's vectorized ``sample(matrix, n_samples, rng) -> (users, positives, negatives)``:
    a positive is a uniformly drawn interaction (row, column) of the CSR ``matrix``; a negative is
    uniform among the items that user has not interacted with."""
    name = "sample_triplets"
    matrix = _test_matrix()
    n_samples = 30_000
    result = _call(name, sample, matrix, n_samples, np.random.default_rng(0))
    if not isinstance(result, tuple) or len(result) != 3:
        _fail(name, "return a tuple of three arrays: (users, positive_items, negative_items).")
    users, positives, negatives = (np.asarray(a) for a in result)
    for label, array in (("users", users), ("positives", positives), ("negatives", negatives)):
        if array.shape != (n_samples,):
            _fail(name, f"`{label}` should have shape ({n_samples},) for n_samples={n_samples}, got {array.shape}.")
        if array.dtype.kind not in "iu":
            _fail(name, f"`{label}` should hold integer ids, got dtype {array.dtype}.")
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
    expected = len(user_1) / 56
    if counts.min() < 0.5 * expected or counts.max() > 1.6 * expected:
        _fail(name, "the negatives are not uniform over the unseen items (some are drawn far more often than "
                    "others): draw candidates uniformly from 0..n_items-1, never from the interactions.")
    again = _call(name, sample, matrix, 100, np.random.default_rng(5))
    twice = _call(name, sample, matrix, 100, np.random.default_rng(5))
    if not all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(again, twice, strict=True)):
        _fail(name, "the same rng seed gave different triplets: draw every random number from the `rng` "
                    "argument (rng.integers, rng.random), not from np.random or random.")
    print(f"{name}: all checks passed.")
