"""Checks for the exercises of notebook 00 (data and evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib import metrics
from course_lib.checks._common import _as_float, _call, _fail
from course_lib.data.interactions import Interactions

__all__ = ["check_recall_at_k", "check_ndcg_at_k", "check_popularity"]


# ---------------------------------------------------------------- recall@k
_RECALL_CASES = [
    ([3, 1, 7, 2, 9], {1, 9, 4}, 5),
    ([3, 1, 7, 2, 9], {1, 9, 4}, 2),
    ([5, 6, 7], {8}, 3),
    ([0, 1, 2, 3, 4, 5], {0, 1}, 4),
    ([10, 20, 30, 40], {20, 30, 40, 50, 60, 70, 80}, 3),
]


def check_recall_at_k(recall_at_k: Callable[[Any, Any, int], float]) -> None:
    """Check a student's ``recall_at_k(recommended, relevant, k)`` for one user."""
    name = "recall_at_k"
    for recommended, relevant, k in _RECALL_CASES:
        args = (list(recommended), set(relevant), k)
        got = _as_float(name, _call(name, recall_at_k, *args), args)
        expected = metrics.recall_at_k(recommended, relevant, k)
        if np.isclose(got, expected):
            continue
        hits_in_k = len(set(recommended[:k]) & relevant)
        hits_anywhere = len(set(recommended) & relevant)
        if np.isclose(got, hits_in_k / k):
            _fail(name, f"for {args!r} you returned {got:.4f}, which is hits / k: that is precision. "
                        "Recall divides by the number of relevant items, |relevant| (not by k, nor by "
                        "min(k, |relevant|)).")
        if np.isclose(got, hits_anywhere / len(relevant)):
            _fail(name, f"for {args!r} you returned {got:.4f}: it looks like you counted hits in the whole "
                        "list. Only the first k recommended items count.")
        if np.isclose(got, hits_in_k):
            _fail(name, f"for {args!r} you returned {got:.4f}, the number of hits: divide it to get a share.")
        _fail(name, f"for {args!r} the recall@{k} is {expected:.4f}, you returned {got:.4f}.")
    args = ([1, 2, 3], set(), 3)
    got = _as_float(name, _call(name, recall_at_k, *args), args)
    if got != 0.0:
        _fail(name, f"a user with no relevant items should get 0.0, you returned {got!r}.")
    print(f"{name}: all {len(_RECALL_CASES) + 1} checks passed.")


# ----------------------------------------------------------------- NDCG@k
_NDCG_CASES = [
    ([3, 1, 7, 2, 9], {1, 9, 4}, 5),
    ([3, 1, 7, 2, 9], {3}, 5),
    ([3, 1, 7, 2, 9], {9, 2}, 3),
    ([4, 5, 6, 7, 8, 9], {4, 5, 6, 7, 8, 9, 10, 11}, 4),
    ([1, 2, 3], {7}, 3),
]


def _dcg(recommended: list, relevant: set, k: int, offset: int = 1, log: Callable = np.log2) -> float:
    return sum(1.0 / log(rank + offset) for rank, item in enumerate(recommended[:k], start=1) if item in relevant)


def check_ndcg_at_k(ndcg_at_k: Callable[[Any, Any, int], float]) -> None:
    """Check a student's ``ndcg_at_k(recommended, relevant, k)`` for one user (binary relevance)."""
    name = "ndcg_at_k"
    for recommended, relevant, k in _NDCG_CASES:
        args = (list(recommended), set(relevant), k)
        got = _as_float(name, _call(name, ndcg_at_k, *args), args)
        expected = metrics.ndcg_at_k(recommended, relevant, k)
        if np.isclose(got, expected):
            continue
        dcg = _dcg(recommended, relevant, k)
        ideal_all = sum(1.0 / np.log2(rank + 1) for rank in range(1, len(relevant) + 1))
        if np.isclose(got, dcg):
            _fail(name, f"for {args!r} you returned {got:.4f}, which is the DCG. NDCG divides it by the "
                        "ideal DCG, the DCG of a list with all relevant items on top.")
        if ideal_all > 0 and np.isclose(got, dcg / ideal_all):
            _fail(name, f"for {args!r} you returned {got:.4f}: the ideal DCG should hold only min(|relevant|, k) "
                        "hits, since a list of length k cannot hold more.")
        shifted = _dcg(recommended, relevant, k, offset=2)
        ideal_shifted = sum(1.0 / np.log2(rank + 2) for rank in range(1, min(len(relevant), k) + 1))
        if ideal_shifted > 0 and np.isclose(got, shifted / ideal_shifted):
            _fail(name, f"for {args!r} you returned {got:.4f}: the discount looks off by one. With ranks counted "
                        "from 1, the item at rank j is divided by log2(j + 1), so rank 1 gets 1/log2(2) = 1.")
        _fail(name, f"for {args!r} the NDCG@{k} is {expected:.4f}, you returned {got:.4f}.")
    args = ([1, 2, 3], set(), 3)
    got = _as_float(name, _call(name, ndcg_at_k, *args), args)
    if got != 0.0:
        _fail(name, f"a user with no relevant items should get 0.0, you returned {got!r}.")
    print(f"{name}: all {len(_NDCG_CASES) + 1} checks passed.")


# ------------------------------------------------------------- popularity
def _tiny_train() -> Interactions:
    # 7 users (3 without ratings), 6 items (3 and 5 unrated); ratings vary so that summing ratings and
    # counting users give different orders. (An Interactions holds each (user, item) pair once, so
    # counting its rows per item counts distinct users.)
    users = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
    items = np.array([0, 1, 2, 1, 4, 1, 2, 4, 0, 4])
    ratings = np.array([5, 1, 1, 1, 2, 1, 1, 2, 4, 3], dtype=float)
    return Interactions(users=users, items=items, ratings=ratings, n_users=7, n_items=6, name="tiny")


def check_popularity(recommender_class: type) -> None:
    """Check a student's popularity recommender: ``fit(train)`` returns self, ``score(user_ids)``
    gives an (len(user_ids), n_items) array whose every row counts the distinct training users of
    each item."""
    name = "popularity recommender"
    train = _tiny_train()
    expected = np.array([2, 3, 2, 0, 3, 0], dtype=float)  # distinct users per item
    try:
        model = recommender_class()
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001
        _fail(name, f"creating it with no arguments raised {type(error).__name__}: {error}")
    fitted = _call(name, model.fit, train)
    if fitted is not model:
        _fail(name, "fit(train) should end with `return self`, so that `Model().fit(train).score(...)` works.")
    user_ids = np.array([0, 2, 4])
    scores = _call(name, model.score, user_ids)
    scores = np.asarray(scores, dtype=float)
    if scores.shape == (train.n_items,):
        _fail(name, f"score returned shape {scores.shape}, one row for everyone. It should return one row per "
                    f"requested user: shape (len(user_ids), n_items) = (3, {train.n_items}).")
    if scores.shape == (len(user_ids), train.n_users) or scores.shape == (train.n_users,):
        _fail(name, f"score returned shape {scores.shape}: it looks like you counted along the wrong axis "
                    "(per user instead of per item).")
    if scores.shape != (len(user_ids), train.n_items):
        _fail(name, f"score returned shape {scores.shape}; expected (len(user_ids), n_items) = "
                    f"(3, {train.n_items}). Use train.n_items, not the largest item id seen.")
    if not np.allclose(scores, scores[0]):
        _fail(name, "every user should get the same scores: popularity does not depend on the user.")
    row = scores[0]
    rating_sums = np.bincount(train.items, weights=train.ratings, minlength=train.n_items)
    if np.allclose(row, rating_sums):
        _fail(name, "your scores are sums of ratings. Popularity counts how many users interacted with an item, "
                    "whatever the stars.")
    if not np.allclose(row, expected):
        _fail(name, f"on a tiny training set the scores should be {expected.tolist()}, you returned {row.tolist()}.")
    print(f"{name}: all checks passed.")
