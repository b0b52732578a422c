"""`evaluate`: top-k evaluation of any recommender, batched over users.

The recommender only needs ``score(user_ids) -> (len(user_ids), n_items)``. For each batch of
users the training items are set to minus infinity, the top ``max(cutoffs)`` items are taken with
``argpartition`` (no full sort, no Python loop over users), and every metric is computed from one
boolean hits matrix.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_lib import metrics
from course_lib.base import check_interactions
from course_lib.validation import argument_error, check_bool, check_integer

__all__ = ["evaluate", "top_k_items", "ACCURACY_METRICS", "BEYOND_ACCURACY_METRICS"]

ACCURACY_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "f1")
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "gini_diversity")


def _checked_scores(scores: Any, label: str, user_ids: np.ndarray | None = None) -> np.ndarray:
    """A dense 2-D numeric score array with no NaN or infinity; the error names the rows (users)."""
    if sp.issparse(scores):
        raise TypeError(f"`{label}` must be a dense (users, items) array, got a sparse matrix; return "
                        "np.asarray(matrix.todense()) from score().")
    array = np.asarray(scores)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"`{label}` must hold numbers, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"`{label}` must be 2-D (users, items), got shape {array.shape}.")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        who = (f"users {', '.join(str(u) for u in user_ids[rows][:5])}" if user_ids is not None
               else f"rows {', '.join(str(r) for r in rows[:5])}")
        raise ValueError(f"`{label}` holds NaN or infinite values for {len(rows)} user(s) ({who}"
                         f"{' ...' if len(rows) > 5 else ''}): a ranking of them means nothing.")
    return array


def top_k_items(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """The ``k`` best items of each row of ``scores`` (U, I), best first, as an (U, min(k, I)) int array.

    Items marked in the sparse (U, I) ``exclude`` matrix are never returned; where a row has
    fewer allowed items than that, the rest of it is -1. Scores keep their precision (float32
    stays float32, float64 stays float64), so close float64 scores keep their order. NaN or
    infinite scores are refused (a ValueError naming the rows).
    """
    scores = _checked_scores(scores, "scores")
    scores = np.array(scores, dtype=np.result_type(scores.dtype, np.float32), copy=True)
    n_rows, n_items = scores.shape
    k = check_integer("k", k, minimum=1)
    if exclude is not None:
        rows = np.repeat(np.arange(n_rows), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = -np.inf
    k = min(k, n_items)
    if k < n_items:
        candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]                # (U, k) unordered
    else:
        candidates = np.broadcast_to(np.arange(n_items), (n_rows, n_items))
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    order = np.argsort(-candidate_scores, axis=1, kind="stable")
    top = np.take_along_axis(candidates, order, axis=1)
    top_scores = np.take_along_axis(candidate_scores, order, axis=1)
    return np.where(np.isneginf(top_scores), -1, top)


def _check_cutoffs(cutoffs: Any, n_items: int) -> list[int]:
    """Sorted distinct cutoffs, each an integer from 1 to ``n_items``.

    A cutoff above the catalogue is refused rather than clipped: clipping would report a row
    labelled k=10,000 that holds k=n_items figures (or merge two rows), and such a cutoff is
    almost always a typo.
    """
    if isinstance(cutoffs, (list, tuple, range)):
        values = list(cutoffs)
    elif isinstance(cutoffs, np.ndarray):
        values = list(cutoffs.ravel())
    else:
        values = [cutoffs]
    if not values:
        raise argument_error("cutoffs", "one or more integers from 1 to n_items", cutoffs)
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not 1 <= value <= n_items:
            raise argument_error("cutoffs", f"integers from 1 to n_items={n_items:,}", cutoffs,
                                 f"The cutoff {value!r} is not." + (" A list cannot be longer than the catalogue."
                                                                    if isinstance(value, numbers.Integral)
                                                                    and not isinstance(value, (bool, np.bool_))
                                                                    and value > n_items else ""))
    return sorted({int(c) for c in values})


def evaluate(
    recommender: Any,
    train: Any,
    test: Any,
    cutoffs: Sequence[int] | int = (10,),
    exclude_seen: bool = True,
    batch_size: int = 1024,
    beyond_accuracy: bool = True,
    show_progress: bool | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Rank the whole catalogue for every test user and average the metrics.

    Parameters
    ----------
    recommender:
        Anything with ``score(user_ids) -> np.ndarray`` of shape (len(user_ids), n_items).
    train:
        The interactions the model was trained on: they are removed from each user's ranking
        (``exclude_seen=True``) and give the item popularity for novelty.
    test:
        The held-out interactions; every one is a relevant item of its user. A test pair that is
        also in ``train`` gives a warning with the count (it can never be recommended).
    cutoffs:
        The list lengths k, one row of the result each: integers from 1 to n_items (a larger one
        is refused, not clipped; ``True`` is not 1).
    batch_size:
        Users scored at once; memory is about ``batch_size * n_items * 4`` bytes.
    beyond_accuracy:
        Also report item coverage, novelty and Gini diversity of the lists.
    show_progress:
        A progress bar over the batches; by default only when there are more than 20 batches.
    verbose:
        Print how many users were evaluated and skipped and the throughput.

    Returns
    -------
    pandas.DataFrame
        Indexed by cutoff; columns precision, recall, ndcg, map, mrr, hit_rate, f1 (means over the
        evaluated users), coverage, novelty, gini_diversity, and n_users. ``result.attrs`` holds
        ``n_users_evaluated``, ``n_users_skipped`` (training users with no test item), ``seconds``
        and ``users_per_second``.
    """
    if isinstance(recommender, type):
        raise TypeError(f"`recommender` must be a fitted model (an instance), got the class {recommender.__name__}; "
                        f"write {recommender.__name__}(...).fit(train) and pass that.")
    if not callable(getattr(recommender, "score", None)):
        raise TypeError(f"`recommender` must have a score(user_ids) method, got {type(recommender).__name__}.")
    train = check_interactions(train, "train")
    test = check_interactions(test, "test")
    if train.shape != test.shape:
        raise ValueError(
            f"`train` is {train.shape[0]} users x {train.shape[1]} items but `test` is "
            f"{test.shape[0]} x {test.shape[1]}: split one Interactions so both share the catalogue."
        )
    n_users, n_items = train.shape
    cutoffs = _check_cutoffs(cutoffs, n_items)
    batch_size = check_integer("batch_size", batch_size, minimum=1)
    exclude_seen = check_bool("exclude_seen", exclude_seen)
    train_matrix = train.to_csr()
    test_matrix = test.to_csr()
    users = np.flatnonzero(np.diff(test_matrix.indptr) > 0)
    train_users = np.diff(train_matrix.indptr) > 0
    n_skipped = int((train_users & (np.diff(test_matrix.indptr) == 0)).sum())
    if len(users) == 0:
        raise ValueError("`test` has no interactions for any user: nothing to evaluate.")
    n_overlap = int(train_matrix.multiply(test_matrix).count_nonzero())
    if n_overlap:
        consequence = ("they are excluded from the rankings (exclude_seen=True), so they can never be found and "
                       "recall is capped" if exclude_seen else "the model has seen them, so they are easy hits")
        warnings.warn(
            f"{n_overlap:,} of {test_matrix.nnz:,} test (user, item) pairs also appear in `train`: {consequence}. "
            "Split one Interactions (course_lib.random_split and the other splits never do this).",
            UserWarning, stacklevel=2,
        )

    largest = max(cutoffs)
    per_user = {(c, m): np.empty(len(users)) for c in cutoffs for m in ACCURACY_METRICS}
    recommended_counts = {c: np.zeros(n_items, dtype=np.int64) for c in cutoffs}
    item_popularity = np.diff(train_matrix.tocsc().indptr)
    n_train_users = max(int(train_users.sum()), 1)

    batches = range(0, len(users), batch_size)
    if show_progress is None:
        show_progress = len(batches) > 20
    if show_progress:
        from course_lib.progress import progress_bar

        batches = progress_bar(batches, f"evaluate {type(recommender).__name__}", unit="batch")
    started = time.perf_counter()
    for start in batches:
        batch = users[start:start + batch_size]
        scores = recommender.score(batch)
        if sp.issparse(scores) or np.ndim(scores) != 2:
            scores = _checked_scores(scores, f"{type(recommender).__name__}.score(user_ids)")
        scores = np.asarray(scores)
        if scores.shape != (len(batch), n_items):
            raise ValueError(
                f"{type(recommender).__name__}.score returned shape {scores.shape} for {len(batch)} users; "
                f"expected ({len(batch)}, {n_items}): one score per item of the catalogue."
            )
        scores = _checked_scores(scores, f"{type(recommender).__name__}.score(user_ids)", batch)
        top = top_k_items(scores, largest, train_matrix[batch] if exclude_seen else None)  # (B, k)
        hits, n_relevant = metrics.hits_at_k(top, test_matrix[batch])
        where = slice(start, start + len(batch))
        for k in cutoffs:
            per_user[k, "precision"][where] = metrics._precision(hits, k)
            per_user[k, "recall"][where] = metrics._recall(hits, n_relevant, k)
            per_user[k, "ndcg"][where] = metrics._ndcg(hits, n_relevant, k)
            per_user[k, "map"][where] = metrics._average_precision(hits, n_relevant, k)
            per_user[k, "mrr"][where] = metrics._reciprocal_rank(hits, k)
            per_user[k, "hit_rate"][where] = metrics._hit_rate(hits, k)
            per_user[k, "f1"][where] = metrics._f1(hits, n_relevant, k)
            if beyond_accuracy:
                lists = top[:, :k]
                recommended_counts[k] += np.bincount(lists[lists >= 0], minlength=n_items)
    seconds = time.perf_counter() - started

    rows = []
    for k in cutoffs:
        row = {m: float(per_user[k, m].mean()) for m in ACCURACY_METRICS}
        if beyond_accuracy:
            counts = recommended_counts[k]
            row["coverage"] = float((counts > 0).mean())
            row["novelty"] = metrics.novelty_from_counts(counts, item_popularity, n_train_users)
            row["gini_diversity"] = 1.0 - metrics.gini(counts)
        row["n_users"] = len(users)
        rows.append(row)
    result = pd.DataFrame(rows, index=pd.Index(cutoffs, name="cutoff"))
    result.attrs.update(
        n_users_evaluated=len(users),
        n_users_skipped=n_skipped,
        seconds=seconds,
        users_per_second=len(users) / seconds if seconds > 0 else float("inf"),
    )
    if verbose:
        print(
            f"Evaluated {len(users):,} users in {seconds:.2f} s ({result.attrs['users_per_second']:,.0f} users/s); "
            f"skipped {n_skipped:,} training users with no test item."
        )
    return result
