"""The checks of notebook 00 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import checks, metrics
from course_lib.baselines import Popularity
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

NOTEBOOK = "00_data_and_evaluation"


# ------------------------------------------------------------------ recall@k
def _recall_no_return(recommended, relevant, k):
    if not relevant:
        return 0.0
    hits = len(set(recommended[:k]) & relevant)
    hits / len(relevant)  # noqa: B018 - the forgotten return


def _recall_no_guard(recommended, relevant, k):
    return len(set(recommended[:k]) & relevant) / len(relevant)


def _recall(cutoff_shift=0, divide="relevant", whole=False):
    def recall_at_k(recommended, relevant, k):
        if not relevant:
            return 0.0
        kept = recommended if whole else recommended[:k + cutoff_shift]
        hits = len(set(kept) & relevant)
        return hits / {"relevant": len(relevant), "k": k, "none": 1, "min": min(k, len(relevant))}[divide]
    return recall_at_k


# ----------------------------------------------------------------- NDCG@k
def _dcg(recommended, relevant, k, offset=1, log=np.log2):
    return sum(1 / log(rank + offset) for rank, item in enumerate(recommended[:k], start=1) if item in relevant)


def _ndcg(offset=1, ideal="min", dcg_cutoff=None, log=np.log2, normalize=True, guard=True):
    def ndcg_at_k(recommended, relevant, k):
        dcg = _dcg(recommended, relevant, dcg_cutoff or k, offset, log)
        count = min(len(relevant), k) if ideal == "min" else len(relevant)
        best = sum(1 / log(rank + offset) for rank in range(1, count + 1))
        if not normalize:
            return dcg
        if guard and best == 0:
            return 0.0
        return dcg / best
    return ndcg_at_k


def _ndcg_no_return(recommended, relevant, k):
    dcg = _dcg(recommended, relevant, k)
    best = sum(1 / np.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    dcg / best if best else 0.0  # noqa: B018 - the forgotten return


# ------------------------------------------------------------- popularity
class _Counts:
    def fit(self, train):
        self.counts_ = np.asarray(train.to_csr().sum(axis=0)).ravel()
        return self

    def score(self, user_ids):
        return np.tile(self.counts_, (len(user_ids), 1))


class _ScoreNoReturn(_Counts):
    def score(self, user_ids):
        np.tile(self.counts_, (len(user_ids), 1))


class _FitNoReturn(_Counts):
    def fit(self, train):
        self.counts_ = np.asarray(train.to_csr().sum(axis=0)).ravel()


class _RatingSums(_Counts):
    def fit(self, train):
        self.counts_ = np.bincount(train.items, weights=train.ratings, minlength=train.n_items)
        return self


class _RowCounts(_Counts):
    def fit(self, train):
        self.counts_ = np.bincount(train.items, minlength=train.n_items).astype(float)
        return self


class _OneRow(_Counts):
    def score(self, user_ids):
        return self.counts_


class _WrongAxis(_Counts):
    def fit(self, train):
        self.counts_ = np.asarray(train.to_csr().sum(axis=1)).ravel()
        return self


class _MaxIdSized(_Counts):
    def fit(self, train):
        self.counts_ = np.bincount(np.unique(np.c_[train.users, train.items], axis=0)[:, 1])
        return self


class _Shares(_Counts):
    def fit(self, train):
        super().fit(train)
        self.counts_ = self.counts_ / self.counts_.sum()
        return self


MISTAKES = [
    ("recall: forgotten return", "check_recall_at_k", _recall_no_return, "did you forget `return`"),
    ("recall: precision", "check_recall_at_k", _recall(divide="k"), "that is precision"),
    ("recall: whole list", "check_recall_at_k", _recall(whole=True), "Only the first k"),
    ("recall: min(k, R)", "check_recall_at_k", _recall(divide="min"), "not by k, nor by min(k"),
    ("recall: no empty guard", "check_recall_at_k", _recall_no_guard, "raised ZeroDivisionError"),
    ("recall: number of hits", "check_recall_at_k", _recall(divide="none"), "the number of hits"),
    ("recall: cutoff k + 1", "check_recall_at_k", _recall(cutoff_shift=1), "off by one"),
    ("recall: a list", "check_recall_at_k", lambda recommended, relevant, k: [0.5], "one number"),
    ("ndcg: forgotten return", "check_ndcg_at_k", _ndcg_no_return, "did you forget `return`"),
    ("ndcg: the DCG", "check_ndcg_at_k", _ndcg(normalize=False), "which is the DCG"),
    ("ndcg: ideal of all relevant", "check_ndcg_at_k", _ndcg(ideal="all"), "min(|relevant|, k)"),
    ("ndcg: log2(rank + 2)", "check_ndcg_at_k", _ndcg(offset=2), "off by one"),
    ("ndcg: np.log2(rank)", "check_ndcg_at_k", _ndcg(offset=0), "log2(1) = 0"),
    ("ndcg: math.log2(rank)", "check_ndcg_at_k", _ndcg(offset=0, log=math.log2), "log2(1) = 0"),
    ("ndcg: no empty guard", "check_ndcg_at_k", _ndcg(guard=False), "return 0.0 for them"),
    ("ndcg: hits beyond k", "check_ndcg_at_k", _ndcg(dcg_cutoff=100), "beyond position k"),
    ("ndcg: 1 / rank", "check_ndcg_at_k", _ndcg(offset=0, log=lambda rank: rank), "1 / rank"),
    ("popularity: score without return", "check_popularity", _ScoreNoReturn, "did you forget `return`"),
    ("popularity: fit without return self", "check_popularity", _FitNoReturn, "return self"),
    ("popularity: sums of ratings", "check_popularity", _RatingSums, "sums of ratings"),
    ("popularity: one row", "check_popularity", _OneRow, "one row per"),
    ("popularity: users counted", "check_popularity", _WrongAxis, "wrong axis"),
    ("popularity: largest id + 1 columns", "check_popularity", _MaxIdSized, "train.n_items"),
    ("popularity: shares", "check_popularity", _Shares, "shares"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    message = assert_named(check, answer, expected)
    assert "def " not in message


@pytest.mark.parametrize("check, answer", [
    ("check_recall_at_k", solution(NOTEBOOK, "recall_at_k")),
    ("check_recall_at_k", metrics.recall_at_k),
    ("check_ndcg_at_k", solution(NOTEBOOK, "ndcg_at_k")),
    ("check_ndcg_at_k", metrics.ndcg_at_k),
    ("check_popularity", solution(NOTEBOOK, "MostPopular")),
    ("check_popularity", Popularity),
    # Counting rows per item is right too: an Interactions holds each (user, item) pair once.
    ("check_popularity", _RowCounts),
])
def test_check_accepts_the_answer(check, answer, capsys):
    getattr(checks, check)(answer)
    assert "passed" in capsys.readouterr().out


def test_checks_let_the_stub_error_through():
    def stub(*args):
        raise NotImplementedError()

    for check in (checks.check_recall_at_k, checks.check_ndcg_at_k):
        with pytest.raises(NotImplementedError):
            check(stub)
