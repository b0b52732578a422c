"""Vectorized negative sampling and BPR triplets.

Implicit-feedback models (BPR, two-tower models trained with sampled softmax, ...) learn by
contrasting an item a user interacted with (a *positive*) against items they did not (the
*negatives*). Sampling negatives one at a time in Python (``while item in seen: redraw``) is
the bottleneck of many student training loops; here all draws are array operations:

1. draw every candidate at once, uniformly over the catalogue;
2. test them all against one sorted array of the positive keys ``user * n_items + item``
   with ``np.searchsorted`` (a vectorized set membership test);
3. redraw only the rejected ones, for a few rounds;
4. the few left after that (users who have seen most of the catalogue) get an exact draw:
   a uniform rank among the user's unseen items, mapped to its item id with one more
   ``np.searchsorted``. So the sampler always ends, and every draw is uniform over the
   user's unseen items.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
import scipy.sparse as sp

from course_lib.base import check_user_ids
from course_lib.data.interactions import Interactions

__all__ = ["sample_negatives", "sample_triplets"]

Seed = int | np.random.Generator | None

# Rounds of rejection before the exact draw; a user who has seen half the catalogue still has
# 0.5 ** 8 = 0.4% of their samples left for the exact draw.
_REJECTION_ROUNDS = 8


def _as_csr(data_or_csr: Interactions | sp.spmatrix | sp.sparray, argument: str = "data_or_csr") -> sp.csr_matrix:
    """A binary-valued (n_users, n_items) CSR matrix in canonical form (sorted, no duplicates)."""
    if isinstance(data_or_csr, Interactions):
        return data_or_csr.to_csr(binary=True)
    if sp.issparse(data_or_csr):
        matrix = sp.csr_matrix(data_or_csr)  # a copy only when the format or class changes
        if not matrix.has_canonical_format or (matrix.data == 0).any():
            matrix = matrix.copy()
            matrix.sum_duplicates()
            matrix.eliminate_zeros()  # a stored zero is not an interaction
        return matrix
    raise ValueError(
        f"`{argument}` must be an Interactions or a SciPy sparse user-item matrix, got {type(data_or_csr).__name__}."
    )


def _positive_keys(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys ``user * n_items + item`` of the stored entries, and each entry's row."""
    n_items = matrix.shape[1]
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    # Canonical CSR: rows ascending, columns ascending within a row, so the keys are sorted.
    return rows * np.int64(n_items) + matrix.indices.astype(np.int64), rows


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Vectorized ``key in set`` for a sorted array of keys."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    where = np.searchsorted(sorted_keys, keys)
    return sorted_keys[np.minimum(where, len(sorted_keys) - 1)] == keys


def _check_seed(seed: Seed) -> np.random.Generator:
    if isinstance(seed, bool) or (seed is not None and not isinstance(seed, (numbers.Integral, np.random.Generator))):
        raise ValueError(f"`seed` must be None, an integer or a numpy.random.Generator, got {seed!r}.")
    return np.random.default_rng(seed)


def sample_negatives(
    data_or_csr: Interactions | sp.spmatrix | sp.sparray,
    user_ids: np.ndarray,
    n_negatives: int = 1,
    seed: Seed = None,
) -> np.ndarray:
    """Items each user has not interacted with, drawn uniformly among those items.

    Parameters
    ----------
    data_or_csr:
        The interactions that count as positives: an `Interactions` or an (n_users, n_items)
        SciPy sparse matrix whose stored non-zero entries are the positives.
    user_ids:
        One user id per row of the result; repeats are fine.
    n_negatives:
        Negatives per user id (1 or more), drawn independently (with replacement).
    seed:
        Seed or ``np.random.Generator``; ``None`` draws fresh randomness.

    Returns
    -------
    np.ndarray
        Integer item ids, shape (len(user_ids), n_negatives); ``result[k, j]`` is an item that
        ``user_ids[k]`` has not interacted with.

    Raises
    ------
    ValueError
        For user ids out of range, or users who have interacted with every item (for whom no
        negative exists); the message names them.

    Examples
    --------
    >>> from course_lib.data.synthetic import make_synthetic
    >>> data = make_synthetic(n_users=50, n_items=100, mean_per_user=30, seed=0)
    >>> sample_negatives(data, [0, 0, 7], n_negatives=5, seed=0).shape
    (3, 5)
    """
    matrix = _as_csr(data_or_csr)
    n_users, n_items = matrix.shape
    user_ids = check_user_ids(user_ids, n_users)
    if isinstance(n_negatives, bool) or not isinstance(n_negatives, numbers.Integral) or n_negatives < 1:
        raise ValueError(f"`n_negatives` must be an integer of at least 1, got {n_negatives!r}.")
    n_negatives = int(n_negatives)
    rng = _check_seed(seed)
    n_seen = np.diff(matrix.indptr)  # (n_users,) distinct positives per user
    saturated = np.unique(user_ids[n_seen[user_ids] >= n_items])
    if len(saturated):
        shown = ", ".join(str(user) for user in saturated[:10])
        more = f" and {len(saturated) - 10} more" if len(saturated) > 10 else ""
        raise ValueError(
            f"No negative item exists for user(s) {shown}{more}: they have interacted with all "
            f"{n_items} items. Leave them out of `user_ids`."
        )

    sorted_keys, rows = _positive_keys(matrix)
    users = np.repeat(user_ids, n_negatives)  # (len(user_ids) * n_negatives,)
    candidates = np.empty(len(users), dtype=np.int64)
    pending = np.arange(len(users))  # the samples that still need an accepted draw
    for _ in range(_REJECTION_ROUNDS):
        if len(pending) == 0:
            break
        candidates[pending] = rng.integers(0, n_items, size=len(pending))
        rejected = _contains(sorted_keys, users[pending] * np.int64(n_items) + candidates[pending])
        pending = pending[rejected]
    if len(pending):
        candidates[pending] = _exact_negatives(matrix, rows, users[pending], rng)
    return candidates.reshape(len(user_ids), n_negatives)


def _exact_negatives(
    matrix: sp.csr_matrix, rows: np.ndarray, users: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One uniform draw among each user's unseen items, without rejection.

    Draw a rank ``r`` in ``0 .. n_unseen - 1``; the r-th unseen item is ``r`` plus the number
    of the user's positives ``p_j`` (sorted, j = 0, 1, ...) with ``p_j - j <= r``, since
    ``p_j - j`` counts the unseen items below ``p_j``.
    """
    n_items = matrix.shape[1]
    n_seen = np.diff(matrix.indptr)
    ranks = rng.integers(0, n_items - n_seen[users])  # (len(users),) one rank each
    within_row = np.arange(matrix.nnz) - matrix.indptr[rows]
    unseen_below = matrix.indices.astype(np.int64) - within_row  # p_j - j, non-decreasing per row
    stride = np.int64(n_items + 1)  # keeps rows apart: unseen_below <= n_items
    sorted_keys = rows * stride + unseen_below
    n_before = np.searchsorted(sorted_keys, users * stride + ranks, side="right") - matrix.indptr[users]
    return ranks + n_before


def sample_triplets(
    data: Interactions | sp.spmatrix | sp.sparray,
    n_samples: int | None = None,
    seed: Seed = None,
    by: Literal["interaction", "user"] = "interaction",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BPR training triplets ``(user, positive item, negative item)``.

    Parameters
    ----------
    data:
        The training interactions: an `Interactions` or an (n_users, n_items) sparse matrix.
    n_samples:
        How many triplets. ``None`` gives one per interaction: with ``by="interaction"`` every
        interaction exactly once, in a random order (one epoch).
    seed:
        Seed or ``np.random.Generator``; ``None`` draws fresh randomness.
    by:
        ``"interaction"``: positives drawn uniformly over the interactions, so active users
        get more triplets (what most BPR implementations do). ``"user"``: a user drawn
        uniformly among the users with interactions, then one of their distinct items, so each
        user weighs the same (the sampling of the original BPR paper).

    Returns
    -------
    (users, positive_items, negative_items):
        Three integer arrays of length ``n_samples``; each positive is an interaction of its
        user in ``data``, each negative an item the user has not interacted with.
    """
    if by not in ("interaction", "user"):
        raise ValueError(f"`by` must be 'interaction' or 'user', got {by!r}.")
    matrix = _as_csr(data, "data")
    if isinstance(data, Interactions):
        all_users, all_items = data.users, data.items
    else:
        all_users = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
        all_items = matrix.indices.astype(np.int64)
    if len(all_users) == 0:
        raise ValueError("`data` has no interactions, so there are no positives to sample.")
    one_epoch = n_samples is None
    if one_epoch:
        n_samples = len(all_users)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(f"`n_samples` must be None or a non-negative integer, got {n_samples!r}.")
    n_samples = int(n_samples)
    rng = _check_seed(seed)

    if by == "interaction":
        if one_epoch:
            rows = rng.permutation(len(all_users))  # an epoch: each interaction once
        else:
            rows = rng.integers(0, len(all_users), size=n_samples)
        users, positives = all_users[rows], all_items[rows]
    else:
        n_seen = np.diff(matrix.indptr)
        active = np.flatnonzero(n_seen > 0)
        users = active[rng.integers(0, len(active), size=n_samples)]
        # A uniform position in the user's row of the CSR matrix: one of their distinct items.
        positions = matrix.indptr[users] + np.floor(rng.random(n_samples) * n_seen[users]).astype(np.int64)
        positives = matrix.indices[positions].astype(np.int64)
    negatives = sample_negatives(matrix, users, n_negatives=1, seed=rng)[:, 0]
    return users.astype(np.int64), positives.astype(np.int64), negatives
