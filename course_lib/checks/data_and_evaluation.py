"""Checks for the exercises of notebook 00 (data and evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib import metrics
from course_lib.checks._common import _call, _describe_args, _expect_array, _expect_number, _fail
from course_lib.data.interactions import Interactions

__all__ = ["check_recall_at_k", "check_ndcg_at_k", "check_popularity"]


# ---------------------------------------------------------------- recall@k
_RECALL_CASES = [
    ([3, 1, 7, 2, 9], {1, 9, 4}, 5),
    ([3, 1, 7, 2, 9], {1, 9, 4}, 2),
    ([5, 6, 7], {8}, 3),
    ([0, 1, 2, 3, 4, 5], {0, 1}, 4),
    ([6, 2, 8, 4, 0, 9, 1], {4, 9, 1}, 3),
    ([5, 3, 8, 1], {8, 1}, 3),
    ([10, 20, 30, 40], {20, 30, 40, 50, 60, 70, 80}, 3),
]


def _metric(name: str, function: Callable, args: tuple) -> float:
    """One call of a metric: a number between 0 and 1 (``None``, errors and other types get their hint)."""
    value = _call(name, function, *args, error_hints={ZeroDivisionError: (
        "Is there a case (no relevant items, a rank of 0) where the denominator is 0? Count ranks from 1, "
        "and return 0.0 for a user with no relevant items.")})
    number = _expect_number(name, value, _describe_args(args))
    if not 0 <= number <= 1 and args[1]:
        _diagnose_recall(name, args, number)
    return _expect_number(name, number, _describe_args(args), low=0.0, high=1.0)


def _diagnose_recall(name: str, args: tuple, got: float) -> None:
    recommended, relevant, k = args
    hits_in_k = len(set(recommended[:k]) & relevant)
    hits_anywhere = len(set(recommended) & relevant)
    if np.isclose(got, hits_in_k / k):
        _fail(name, f"for {args!r} you returned {got:.4f}, which is hits / k: that is precision. "
                    "Recall divides by the number of relevant items, |relevant| (not by k, nor by "
                    "min(k, |relevant|)).")
    if np.isclose(got, hits_in_k / min(k, len(relevant))):
        _fail(name, f"for {args!r} you returned {got:.4f}, hits / min(k, |relevant|): recall divides by "
                    "|relevant| itself.")
    if np.isclose(got, hits_anywhere / len(relevant)):
        _fail(name, f"for {args!r} you returned {got:.4f}: it looks like you counted hits in the whole "
                    "list. Only the first k recommended items count.")
    if np.isclose(got, hits_in_k) and hits_in_k > 0:
        _fail(name, f"for {args!r} you returned {got:.4f}, the number of hits: divide it to get a share.")
    for shift in (-1, 1):
        if np.isclose(got, len(set(recommended[:k + shift]) & relevant) / len(relevant)):
            _fail(name, f"for {args!r} you returned {got:.4f}: the cutoff is off by one. The first k items "
                        "of a list are the positions 0 to k - 1 (recommended[:k]).")


def check_recall_at_k(recall_at_k: Callable[[Any, Any, int], float]) -> None:
    """Check a student's ``recall_at_k(recommended, relevant, k)`` for one user.

    In order: a number in [0, 1] for every case, 0.0 without relevant items, the input left as it
    was, then the values (with the typical mistakes named)."""
    name = "recall_at_k"
    for recommended, relevant, k in _RECALL_CASES:
        args = (list(recommended), set(relevant), k)
        _metric(name, recall_at_k, args)
        if args != (list(recommended), set(relevant), k):
            _fail(name, f"it changed its input (now {args!r}): read the list and the set, do not modify them.")
    args = ([1, 2, 3], set(), 3)
    got = _metric(name, recall_at_k, args)
    if got != 0.0:
        _fail(name, f"a user with no relevant items should get 0.0, you returned {got!r}.")
    for recommended, relevant, k in _RECALL_CASES:
        args = (list(recommended), set(relevant), k)
        got = _metric(name, recall_at_k, args)
        expected = metrics.recall_at_k(recommended, relevant, k)
        if np.isclose(got, expected):
            continue
        _diagnose_recall(name, args, got)
        _fail(name, f"for {args!r} the recall@{k} is {expected:.4f}, you returned {got:.4f}.")
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


def _diagnose_ndcg(name: str, args: tuple, got: float) -> None:
    recommended, relevant, k = args
    dcg = _dcg(recommended, relevant, k)
    ideal_all = sum(1.0 / np.log2(rank + 1) for rank in range(1, len(relevant) + 1))
    ideal_k = sum(1.0 / np.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    if np.isclose(got, dcg):
        _fail(name, f"for {args!r} you returned {got:.4f}, which is the DCG. NDCG divides it by the "
                    "ideal DCG, the DCG of a list with all relevant items on top.")
    if ideal_all > 0 and np.isclose(got, dcg / ideal_all):
        _fail(name, f"for {args!r} you returned {got:.4f}: the ideal DCG should hold only min(|relevant|, k) "
                    "hits, since a list of length k cannot hold more.")
    if ideal_k > 0 and np.isclose(got, _dcg(recommended, relevant, len(recommended)) / ideal_k):
        _fail(name, f"for {args!r} you returned {got:.4f}: the DCG counts hits beyond position k. Only the "
                    "first k recommended items count.")
    shifted = _dcg(recommended, relevant, k, offset=2)
    ideal_shifted = sum(1.0 / np.log2(rank + 2) for rank in range(1, min(len(relevant), k) + 1))
    if ideal_shifted > 0 and np.isclose(got, shifted / ideal_shifted):
        _fail(name, f"for {args!r} you returned {got:.4f}: the discount looks off by one. With ranks counted "
                    "from 1, the item at rank j is divided by log2(j + 1), so rank 1 gets 1/log2(2) = 1.")
    linear = _dcg(recommended, relevant, k, offset=0, log=lambda rank: rank)
    ideal_linear = sum(1.0 / rank for rank in range(1, min(len(relevant), k) + 1))
    if ideal_linear > 0 and np.isclose(got, linear / ideal_linear):
        _fail(name, f"for {args!r} you returned {got:.4f}: the discount is 1 / rank; NDCG uses the logarithmic "
                    "discount 1 / log2(rank + 1).")


def check_ndcg_at_k(ndcg_at_k: Callable[[Any, Any, int], float]) -> None:
    """Check a student's ``ndcg_at_k(recommended, relevant, k)`` for one user (binary relevance).

    In order: a finite number in [0, 1] for every case (a discount of log2(1) = 0 shows here), 0.0
    without relevant items, 1.0 for a perfect list, then the values."""
    name = "ndcg_at_k"
    discount_hint = ("With ranks counted from 1, the item at rank j is divided by log2(j + 1), so rank 1 gets "
                     "1 / log2(2) = 1; log2(j) would divide rank 1 by log2(1) = 0.")
    for recommended, relevant, k in _NDCG_CASES:
        args = (list(recommended), set(relevant), k)
        value = _call(name, ndcg_at_k, *args, error_hints={ZeroDivisionError: discount_hint})
        try:
            finite = np.isfinite(float(value))
        except (TypeError, ValueError, RuntimeError):
            finite = True  # _expect_number names the type
        if not finite:
            _fail(name, f"it returned {float(value)} for {args!r}. {discount_hint}")
        number = _expect_number(name, value, _describe_args(args))
        if not 0 <= number <= 1 and relevant:
            _diagnose_ndcg(name, args, number)
        _expect_number(name, number, _describe_args(args), low=0.0, high=1.0)
    args = ([1, 2, 3], set(), 3)
    got = _expect_number(name, _call(name, ndcg_at_k, *args, error_hints={ZeroDivisionError: (
        "A user with no relevant items has an ideal DCG of 0: return 0.0 for them.")}), _describe_args(args))
    if got != 0.0:
        _fail(name, f"a user with no relevant items should get 0.0, you returned {got!r}.")
    args = ([4, 2, 9, 1], {2, 4}, 3)
    got = _expect_number(name, _call(name, ndcg_at_k, *args), _describe_args(args))
    if not np.isclose(got, 1.0):
        _fail(name, f"for {args!r} every relevant item is on top, so the NDCG is 1.0; you returned {got:.4f}. "
                    "The ideal DCG is the DCG of a list with the min(|relevant|, k) relevant items first.")
    for recommended, relevant, k in _NDCG_CASES:
        args = (list(recommended), set(relevant), k)
        got = _expect_number(name, _call(name, ndcg_at_k, *args), _describe_args(args))
        expected = metrics.ndcg_at_k(recommended, relevant, k)
        if np.isclose(got, expected):
            continue
        _diagnose_ndcg(name, args, got)
        _fail(name, f"for {args!r} the NDCG@{k} is {expected:.4f}, you returned {got:.4f}.")
    print(f"{name}: all {len(_NDCG_CASES) + 2} checks passed.")


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
    name = "MostPopular"
    train = _tiny_train()
    expected = np.array([2, 3, 2, 0, 3, 0], dtype=float)  # distinct users per item
    model = _call(name, recommender_class, what="MostPopular()", inputs="no arguments")
    fitted = _call(name, model.fit, train, what="fit", inputs="a tiny training set", allow_none=True)
    if fitted is None:
        _fail(name, "fit(train) returned None: did you forget `return self`? It lets you write "
                    "`Model().fit(train).score(...)`.")
    if fitted is not model:
        _fail(name, "fit(train) should end with `return self`, so that `Model().fit(train).score(...)` works.")
    user_ids = np.array([0, 2, 4])
    inputs = "user_ids=np.array([0, 2, 4])"
    scores = _call(name, model.score, user_ids, what="score", inputs=inputs)
    shape = np.shape(scores)
    if shape == (train.n_items,):
        _fail(name, f"score returned shape {shape}, one row for everyone. It should return one row per "
                    f"requested user: shape (len(user_ids), n_items) = (3, {train.n_items}).")
    if shape in ((len(user_ids), train.n_users), (train.n_users,)):
        _fail(name, f"score returned shape {shape}: it looks like you counted along the wrong axis "
                    "(per user instead of per item).")
    if len(shape) == 2 and shape[0] == len(user_ids) and shape[1] == int(train.items.max()) + 1:
        _fail(name, f"score returned {shape[1]} columns: the largest item id seen plus one. Nobody rated the last "
                    f"item, yet it exists: use train.n_items ({train.n_items}) columns.")
    scores = _expect_array(name, scores, (len(user_ids), train.n_items), inputs, kind="f", label="score's result")
    scores = scores.astype(float)
    if not np.allclose(scores, scores[0]):
        _fail(name, "every user should get the same scores: popularity does not depend on the user.")
    row = scores[0]
    rating_sums = np.bincount(train.items, weights=train.ratings, minlength=train.n_items)
    if np.allclose(row, rating_sums):
        _fail(name, "your scores are sums of ratings. Popularity counts how many users interacted with an item, "
                    "whatever the stars.")
    if np.allclose(row, expected / expected.sum()) or np.allclose(row, expected / train.n_users):
        _fail(name, "your scores are shares; the exercise asks for the number of distinct users of each item.")
    if not np.allclose(row, expected):
        _fail(name, f"on a tiny training set the scores should be {expected.tolist()}, you returned {row.tolist()}.")
    again = _call(name, model.score, np.array([1]), what="score", inputs="user_ids=np.array([1])")
    if np.shape(again) != (1, train.n_items):
        _fail(name, f"score(np.array([1])) returned shape {np.shape(again)}; expected (1, {train.n_items}): the "
                    "number of rows is len(user_ids).")
    print(f"{name}: all checks passed.")
