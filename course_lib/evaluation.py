"""`evaluate`: top-k evaluation of any recommender, batched over users.

The recommender only needs ``score(user_ids) -> (len(user_ids), n_items)``. For each batch of
users the training items are set to minus infinity, the top ``max(cutoffs)`` items are taken with
``argpartition`` (no full sort, no Python loop over users), and every metric is computed from one
boolean hits matrix.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_lib import metrics
from course_lib.base import check_interactions

__all__ = ["evaluate", "top_k_items", "ACCURACY_METRICS", "BEYOND_ACCURACY_METRICS"]

ACCURACY_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "f1")
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "gini_diversity")


def top_k_items(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """The ``k`` best items of each row of ``scores`` (U, I), best first, as an (U, min(k, I)) int array.

    Items marked in the sparse (U, I) ``exclude`` matrix are never returned; where a row has
    fewer allowed items than that, the rest of it is -1. Scores keep their precision (float32
    stays float32, float64 stays float64), so close float64 scores keep their order.
    """
    scores = np.array(scores, dtype=np.result_type(np.asarray(scores).dtype, np.float32), copy=True)
    n_rows, n_items = scores.shape
    if exclude is not None:
        rows = np.repeat(np.arange(n_rows), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = -np.inf
    nan_rows = np.isnan(scores).any(axis=1)
    if nan_rows.any():
        raise ValueError(f"The scores hold NaN for {int(nan_rows.sum())} users (rows {np.flatnonzero(nan_rows)[:5].tolist()}).")
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
        The held-out interactions; every one is a relevant item of its user.
    cutoffs:
        The list lengths k, one row of the result each.
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
    train = check_interactions(train, "train")
    test = check_interactions(test, "test")
    if train.shape != test.shape:
        raise ValueError(
            f"`train` is {train.shape[0]} users x {train.shape[1]} items but `test` is "
            f"{test.shape[0]} x {test.shape[1]}: split one Interactions so both share the catalogue."
        )
    requested = np.atleast_1d(cutoffs)
    if requested.size == 0 or requested.dtype.kind not in "iu":
        if requested.size == 0 or not np.all(np.mod(requested.astype(float), 1) == 0):
            raise ValueError(f"`cutoffs` must be positive integers, got {cutoffs!r}.")
    cutoffs = sorted({int(c) for c in requested})
    if cutoffs[0] < 1:
        raise ValueError(f"`cutoffs` must be positive integers, got {cutoffs}.")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be at least 1, got {batch_size}.")
    n_users, n_items = train.shape
    train_matrix = train.to_csr()
    test_matrix = test.to_csr()
    users = np.flatnonzero(np.diff(test_matrix.indptr) > 0)
    train_users = np.diff(train_matrix.indptr) > 0
    n_skipped = int((train_users & (np.diff(test_matrix.indptr) == 0)).sum())
    if len(users) == 0:
        raise ValueError("`test` has no interactions for any user: nothing to evaluate.")

    largest = max(cutoffs)
    per_user = {(c, m): np.empty(len(users)) for c in cutoffs for m in ACCURACY_METRICS}
    recommended_counts = {c: np.zeros(n_items, dtype=np.int64) for c in cutoffs}
    item_popularity = np.diff(train_matrix.tocsc().indptr)
    n_train_users = max(int(train_users.sum()), 1)

    batches = range(0, len(users), batch_size)
    if show_progress is None:
        show_progress = len(batches) > 20
    if show_progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=f"evaluate {type(recommender).__name__}", unit="batch")
    started = time.perf_counter()
    for start in batches:
        batch = users[start:start + batch_size]
        scores = np.asarray(recommender.score(batch))
        if scores.shape != (len(batch), n_items):
            raise ValueError(
                f"{type(recommender).__name__}.score returned shape {scores.shape} for {len(batch)} users; "
                f"expected ({len(batch)}, {n_items}): one score per item of the catalogue."
            )
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
