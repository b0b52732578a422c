"""Evaluation metrics: ranking accuracy, beyond-accuracy, rating error, AUC.

Ranking metrics take the recommended items in rank order and the relevant (held-out) items:

- one user: ``recommended`` a 1-D sequence of item ids, ``relevant`` any collection of item
  ids; the result is a float;
- many users: ``recommended`` an (U, K) array, ``relevant`` a list of U collections or a
  sparse (U, n_items) matrix whose row ``u`` marks user ``u``'s relevant items; the result is
  an (U,) array, one value per user (average it yourself, or use ``course_lib.evaluate``).

Notation used in the docstrings: ``rel_j`` is 1 when the item at rank ``j`` (counting from 1)
is relevant, ``R`` is the number of relevant items of the user, ``k`` the cutoff.

What the ranking metrics refuse (a ``ValueError`` / ``TypeError`` naming the argument and rows),
because each would give a number that means nothing:

- an item twice in one recommended list (it could be counted as two hits): ``-1`` padding may repeat;
- ``relevant`` that looks like a 0/1 indicator row (a bool array, or a list of only 0s and 1s
  with a repeat) where item ids are expected: pass ``np.flatnonzero(row)`` or a set of ids;
- non-integer ids (``1.5`` is not truncated to 1), and a cutoff ``k`` that is not a positive
  integer (``True`` is not 1).

With distinct recommended items and relevant items counted once, every accuracy metric lies in
[0, 1] (``tests/test_metrics.py`` checks that with Hypothesis over random inputs).

**The empty-relevant convention** (the one place it is stated): a user with no relevant item
(``R = 0``) gets 0 from every accuracy metric (precision, recall, F1, NDCG, AP, RR, hit rate),
never NaN. ``course_lib.evaluate`` never meets such a user: it evaluates only the users with at
least one test interaction, and reports how many training users it skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.data.interactions import gini
from course_lib.validation import check_integer

__all__ = [
    "hits_at_k",
    "precision_at_k",
    "recall_at_k",
    "f1_at_k",
    "ndcg_at_k",
    "average_precision_at_k",
    "reciprocal_rank_at_k",
    "hit_rate_at_k",
    "item_coverage",
    "novelty",
    "novelty_from_counts",
    "gini_diversity",
    "rmse",
    "mae",
    "auc",
    "pairwise_auc",
]


# ---------------------------------------------------------------- hits matrix
def hits_at_k(recommended: Any, relevant: Any, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which recommended items are relevant.

    Returns ``(hits, n_relevant)``: ``hits`` a boolean (U, k) matrix (``hits[u, j]`` is True when
    the item at rank ``j + 1`` of user ``u`` is relevant) and ``n_relevant`` the (U,) counts of
    relevant items. Negative ids in ``recommended`` mean "no item" and never hit. A 1-D input is
    treated as one user (U = 1). See the module docstring for what is refused.
    """
    if sp.issparse(recommended):
        raise TypeError("`recommended` must be a dense array of item ids (1-D or 2-D), got a sparse matrix.")
    recommended = np.asarray(recommended)
    if recommended.ndim == 1:
        recommended = recommended[None, :]
        relevant = [relevant]
    if recommended.ndim != 2:
        raise ValueError(f"`recommended` must be 1-D (one user) or 2-D (users, ranks), got shape {recommended.shape}.")
    if recommended.size and recommended.dtype.kind not in "iu":
        raise ValueError(f"`recommended` must hold integer item ids, got dtype {recommended.dtype}.")
    recommended = recommended.astype(np.int64, copy=False)
    if k is not None:
        k = check_integer("k", k, minimum=1)
        recommended = recommended[:, :k]
    _check_distinct(recommended)
    n_users = recommended.shape[0]
    rows, items = _relevant_pairs(relevant, n_users)
    # One sorted key per (user, item) pair turns set membership into a binary search.
    width = np.int64(max(int(items.max(initial=0)), int(recommended.max(initial=0))) + 1)
    relevant_keys = np.unique(rows * width + items)  # unique: an item listed twice counts once
    n_relevant = np.bincount(relevant_keys // width, minlength=n_users)
    candidate_keys = np.arange(n_users, dtype=np.int64)[:, None] * width + recommended  # (U, K)
    position = np.searchsorted(relevant_keys, candidate_keys)
    position = np.minimum(position, max(len(relevant_keys) - 1, 0))
    hits = (relevant_keys[position] == candidate_keys) if len(relevant_keys) else np.zeros_like(recommended, bool)
    hits &= recommended >= 0
    return hits, n_relevant


def _rows_text(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return f"{shown} and {len(rows) - limit} more" if len(rows) > limit else shown


def _check_distinct(recommended: np.ndarray) -> None:
    """No item twice in one list (the -1 padding aside): a repeat would be counted as two hits."""
    if recommended.shape[1] < 2:
        return
    ordered = np.sort(recommended, axis=1)
    repeated = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(axis=1)
    if repeated.any():
        rows = np.flatnonzero(repeated)
        example = recommended[rows[0]]
        values, counts = np.unique(example[example >= 0], return_counts=True)
        raise ValueError(
            f"`recommended` lists an item more than once in row(s) {_rows_text(rows)} (row {rows[0]} repeats "
            f"item(s) {values[counts > 1][:5].tolist()}); a list must hold distinct items, "
            "else one relevant item counts as several hits."
        )


def _looks_like_indicator(group: Any, values: np.ndarray) -> bool:
    """A 0/1 indicator row passed where item ids are expected: a bool array, or an ordered
    sequence of only 0s and 1s with a repeat (a list of ids names each item once)."""
    if values.dtype == bool:
        return True
    if isinstance(group, (set, frozenset)) or len(values) < 2:
        return False
    return bool(np.isin(values, (0, 1)).all() and len(np.unique(values)) < len(values))


def _item_ids(group: Any, row: int) -> np.ndarray:
    if isinstance(group, (str, bytes)) or not isinstance(group, (Iterable, np.ndarray)):
        raise TypeError(f"`relevant` row {row} must be a collection of item ids, got {type(group).__name__}.")
    values = np.asarray(list(group) if isinstance(group, (set, frozenset)) else group).ravel()
    if _looks_like_indicator(group, values):
        raise ValueError(
            f"`relevant` row {row} looks like a 0/1 indicator row ({values[:8].tolist()}"
            f"{' ...' if len(values) > 8 else ''}), not item ids; pass the ids of its relevant items, "
            "np.flatnonzero(row), or a set of ids."
        )
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype.kind == "f":
        if not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise ValueError(f"`relevant` row {row} holds non-integer item ids ({values[:5].tolist()}).")
    elif values.dtype.kind not in "iu":
        raise ValueError(f"`relevant` row {row} must hold integer item ids, got dtype {values.dtype}.")
    return values.astype(np.int64)


def _relevant_pairs(relevant: Any, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, item) pairs of the relevant items, from a sparse matrix or a list of collections."""
    if sp.issparse(relevant):
        matrix = sp.csr_matrix(relevant, copy=True)  # a copy: the caller's matrix may be read-only
        if matrix.shape[0] != n_users:
            raise ValueError(
                f"`relevant` has {matrix.shape[0]} rows but `recommended` has {n_users} users; "
                "pass the rows of the relevant matrix for exactly these users."
            )
        matrix.eliminate_zeros()
        rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(matrix.indptr))
        return rows, matrix.indices.astype(np.int64)
    if isinstance(relevant, np.ndarray) and relevant.ndim == 2:
        raise ValueError("`relevant` as a dense 2-D array is ambiguous: pass a list of item-id collections or a sparse matrix.")
    if not isinstance(relevant, Iterable) or isinstance(relevant, (str, bytes)):
        raise ValueError("`relevant` must be a collection of item ids (one user) or a list of them (many users).")
    relevant = list(relevant)
    if len(relevant) != n_users:
        raise ValueError(f"`relevant` has {len(relevant)} entries but `recommended` has {n_users} users.")
    groups = [_item_ids(g, row) for row, g in enumerate(relevant)]
    lengths = np.array([len(g) for g in groups], dtype=np.int64)
    items = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    if (items < 0).any():
        rows = np.flatnonzero([(g < 0).any() for g in groups])
        raise ValueError(f"`relevant` holds negative item ids in row(s) {_rows_text(rows)}.")
    return np.repeat(np.arange(n_users, dtype=np.int64), lengths), items


def _result(values: np.ndarray, single: bool) -> Any:
    return float(values[0]) if single else values


def _prepare(recommended: Any, relevant: Any, k: int | None) -> tuple[np.ndarray, np.ndarray, int, bool]:
    single = not sp.issparse(recommended) and np.ndim(recommended) == 1
    hits, n_relevant = hits_at_k(recommended, relevant, k)
    return hits, n_relevant, hits.shape[1] if k is None else k, single


# ----------------------------------------------------------- metrics from hits
# These take the (U, k) hits matrix so that `evaluate` finds hits once and computes every metric.
def _precision(hits: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / k


def _recall(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return np.divide(hits[:, :k].sum(axis=1), n_relevant, out=np.zeros(len(hits)), where=n_relevant > 0)


def _f1(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    precision, recall = _precision(hits, k), _recall(hits, n_relevant, k)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros(len(hits)), where=total > 0)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))  # rank j = 1..k  ->  1 / log2(j + 1)


def _ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    hits = hits[:, :k]
    # Only the ranks that can matter: the list's length, or min(R, k) for the ideal list (a huge k
    # on a short list allocates nothing large).
    discounts = _discounts(min(k, max(hits.shape[1], int(n_relevant.max(initial=0)))))
    dcg = hits[:, : len(discounts)] @ discounts[: hits.shape[1]]
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cumulative[np.minimum(n_relevant, k)]
    return np.divide(dcg, idcg, out=np.zeros(len(hits)), where=idcg > 0)


def _average_precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    hits = hits[:, :k]
    ranks = np.arange(1, hits.shape[1] + 1)
    precision_at_each_rank = np.cumsum(hits, axis=1) / ranks
    denominator = np.minimum(n_relevant, k)
    return np.divide((precision_at_each_rank * hits).sum(axis=1), denominator,
                     out=np.zeros(len(hits)), where=denominator > 0)


def _reciprocal_rank(hits: np.ndarray, k: int) -> np.ndarray:
    hits = hits[:, :k]
    first = hits.argmax(axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


def _hit_rate(hits: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].any(axis=1).astype(np.float64)


# ------------------------------------------------------------- public metrics
def precision_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """Precision@k: the share of the top k that is relevant, ``sum_j rel_j / k``."""
    hits, _, k, single = _prepare(recommended, relevant, k)
    return _result(_precision(hits, k), single)


def recall_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """Recall@k: the share of the relevant items found in the top k, ``sum_j rel_j / R`` (0 if R = 0)."""
    hits, n_relevant, k, single = _prepare(recommended, relevant, k)
    return _result(_recall(hits, n_relevant, k), single)


def f1_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """F1@k: the harmonic mean of precision@k and recall@k, ``2 P R / (P + R)``."""
    hits, n_relevant, k, single = _prepare(recommended, relevant, k)
    return _result(_f1(hits, n_relevant, k), single)


def ndcg_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """NDCG@k with binary relevance (Järvelin and Kekäläinen 2002).

    ``DCG@k = sum_{j=1..k} rel_j / log2(j + 1)`` and NDCG@k = DCG@k / IDCG@k, where IDCG@k is
    the DCG of a perfect list, with ``min(R, k)`` relevant items on top.
    """
    hits, n_relevant, k, single = _prepare(recommended, relevant, k)
    return _result(_ndcg(hits, n_relevant, k), single)


def average_precision_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """AP@k: ``sum_j P@j * rel_j / min(R, k)``; its mean over users is MAP@k."""
    hits, n_relevant, k, single = _prepare(recommended, relevant, k)
    return _result(_average_precision(hits, n_relevant, k), single)


def reciprocal_rank_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """RR@k: ``1 / rank`` of the first relevant item within the top k, 0 if none; its mean is MRR."""
    hits, _, k, single = _prepare(recommended, relevant, k)
    return _result(_reciprocal_rank(hits, k), single)


def hit_rate_at_k(recommended: Any, relevant: Any, k: int | None = None) -> Any:
    """Hit rate@k: 1 if at least one relevant item is in the top k, else 0."""
    hits, _, k, single = _prepare(recommended, relevant, k)
    return _result(_hit_rate(hits, k), single)


# ------------------------------------------------------------ beyond accuracy
def _recommendation_counts(recommended: Any, n_items: int) -> np.ndarray:
    n_items = check_integer("n_items", n_items, minimum=1)
    if sp.issparse(recommended):
        raise TypeError("`recommended` must be a dense array of item ids, got a sparse matrix.")
    recommended = np.atleast_2d(np.asarray(recommended))
    if recommended.size and recommended.dtype.kind not in "iu":
        raise ValueError(f"`recommended` must hold integer item ids, got dtype {recommended.dtype}.")
    recommended = recommended.astype(np.int64, copy=False)
    valid = recommended[recommended >= 0]
    if valid.size and valid.max() >= n_items:
        raise ValueError(f"`recommended` holds item id {int(valid.max())}, beyond n_items={n_items}.")
    return np.bincount(valid, minlength=n_items)


def item_coverage(recommended: Any, n_items: int) -> float:
    """The share of the catalogue that appears in at least one user's list."""
    return float((_recommendation_counts(recommended, n_items) > 0).mean())


def novelty(recommended: Any, item_popularity: Any, n_users: int) -> float:
    """Mean self-information of the recommended items, ``-log2(p_i)`` with ``p_i = pop_i / n_users``.

    ``item_popularity`` counts the training users of each item; an item nobody interacted with
    counts as one user, so that its novelty stays finite. Higher means less obvious lists.
    """
    n_items = len(np.asarray(item_popularity))
    return novelty_from_counts(_recommendation_counts(recommended, n_items), item_popularity, n_users)


def novelty_from_counts(recommendation_counts: Any, item_popularity: Any, n_users: int) -> float:
    """Novelty from how often each item was recommended (what ``evaluate`` accumulates)."""
    check_integer("n_users", n_users, minimum=1)
    counts = np.asarray(recommendation_counts, dtype=np.float64)
    popularity = np.maximum(np.asarray(item_popularity, dtype=np.float64), 1.0)
    if counts.shape != popularity.shape:
        raise ValueError(f"{len(counts)} recommendation counts but {len(popularity)} item popularities.")
    if counts.sum() == 0:
        return 0.0
    self_information = -np.log2(np.minimum(popularity / n_users, 1.0))
    return float(counts @ self_information / counts.sum())


def gini_diversity(recommended: Any, n_items: int) -> float:
    """``1 - Gini`` of how often each catalogue item is recommended: 1 when all equally often,
    near 0 when every list holds the same few items."""
    return 1.0 - gini(_recommendation_counts(recommended, n_items))


# --------------------------------------------------------------- rating error
def _rating_arrays(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"`y_true` has {y_true.size} values but `y_pred` has {y_pred.size}.")
    if y_true.size == 0:
        raise ValueError("No ratings to compare: `y_true` is empty.")
    for label, values in (("y_true", y_true), ("y_pred", y_pred)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"`{label}` holds NaN or infinite values at positions {np.flatnonzero(bad)[:5].tolist()}.")
    return y_true, y_pred


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, ``sqrt(mean((y - y_hat)^2))``."""
    y_true, y_pred = _rating_arrays(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, ``mean(|y - y_hat|)``."""
    y_true, y_pred = _rating_arrays(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


# ------------------------------------------------------------------------ AUC
def _finite_scores(values: Any, label: str, allow_infinite: bool = True) -> np.ndarray:
    """Dense float scores; a sparse matrix and NaN are refused, naming the rows. AUC is a rank
    statistic, so -inf and +inf keep their order (a model may score an item -inf); NaN has none."""
    if sp.issparse(values):
        raise TypeError(f"`{label}` must be a dense array, got a sparse matrix (use .toarray()).")
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"`{label}` must hold numbers, got dtype {array.dtype}.")
    array = array.astype(np.float64)
    bad = np.isnan(array) if allow_infinite else ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(array), -1).any(axis=1)) if array.ndim > 1 else np.flatnonzero(bad)
        where = "rows" if array.ndim > 1 else "positions"
        kind = "NaN" if allow_infinite else "NaN or infinite values"
        raise ValueError(f"`{label}` holds {kind} at {where} {_rows_text(rows)}.")
    return array


def pairwise_auc(positive_scores: Any, negative_scores: Any) -> Any:
    """AUC from sampled pairs: the share of (positive, negative) pairs ranked right, ties count 1/2.

    1-D inputs give one float; 2-D inputs (U, P) and (U, N) give one AUC per row.
    """
    positive = _finite_scores(positive_scores, "positive_scores")
    negative = _finite_scores(negative_scores, "negative_scores")
    single = positive.ndim == 1
    positive, negative = np.atleast_2d(positive), np.atleast_2d(negative)
    if positive.shape[0] != negative.shape[0]:
        raise ValueError(f"{positive.shape[0]} rows of positive scores but {negative.shape[0]} rows of negative scores.")
    if positive.shape[1] == 0 or negative.shape[1] == 0:
        raise ValueError("AUC needs at least one positive and one negative score per row.")
    # Compared, not subtracted: inf - inf is NaN, but inf == inf is a tie.
    above = positive[:, :, None] > negative[:, None, :]                      # (U, P, N)
    tied = positive[:, :, None] == negative[:, None, :]                      # (U, P, N)
    values = (above + 0.5 * tied).mean(axis=(1, 2))
    return float(values[0]) if single else values


def auc(scores: np.ndarray, relevant: sp.spmatrix, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """Per-user AUC over the whole catalogue (the Mann-Whitney statistic).

    ``scores`` (U, I) for U users, ``relevant`` a sparse (U, I) matrix of positives, ``exclude``
    an optional sparse (U, I) matrix of items to leave out (the training items). Negatives are
    all other items. Returns (U,) values; NaN for a user with no positive or no negative.
    """
    from scipy.stats import rankdata

    scores = _finite_scores(scores, "scores")
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be (users, items), got shape {scores.shape}.")
    relevant = sp.csr_matrix(relevant, dtype=bool)
    if relevant.shape != scores.shape:
        raise ValueError(f"`relevant` has shape {relevant.shape} but `scores` has shape {scores.shape}.")
    candidates = np.ones(scores.shape, dtype=bool)
    if exclude is not None:
        exclude = sp.csr_matrix(exclude, dtype=bool)
        if exclude.shape != scores.shape:
            raise ValueError(f"`exclude` has shape {exclude.shape} but `scores` has shape {scores.shape}.")
        candidates &= ~(exclude.toarray() & ~relevant.toarray())
    positives = relevant.toarray()
    # Excluded items go below everything; their count is then subtracted from the positives' ranks.
    ranked = np.where(candidates, rankdata(scores, axis=1), 0.0)
    ranks = rankdata(ranked, axis=1)
    n_excluded = (~candidates).sum(axis=1)
    n_positive = positives.sum(axis=1)
    n_negative = candidates.sum(axis=1) - n_positive
    rank_sum = np.where(positives, ranks - n_excluded[:, None], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)
    return np.where((n_positive > 0) & (n_negative > 0), values, np.nan)
