"""Each exercise check accepts the reference and names the typical mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import checks, metrics
from course_lib.baselines import Popularity


# ------------------------------------------------------------------ recall@k
def test_recall_check_accepts_the_reference(capsys):
    checks.check_recall_at_k(metrics.recall_at_k)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda rec, rel, k: len(set(rec[:k]) & rel) / k, "that is precision"),
    (lambda rec, rel, k: len(set(rec) & rel) / len(rel) if rel else 0.0, "Only the first k"),
    # min(k, R) equals k whenever k < R: the check meets it as precision and says so.
    (lambda rec, rel, k: len(set(rec[:k]) & rel) / min(k, len(rel)) if rel else 0.0, "not by k, nor by min(k"),
    (lambda rec, rel, k: len(set(rec[:k]) & rel) / len(rel), "division by zero"),
    (lambda rec, rel, k: float(len(set(rec[:k]) & rel)), "number of hits"),
    (lambda rec, rel, k: [0.5], "one number"),
])
def test_recall_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)) as raised:
        checks.check_recall_at_k(mistake)
    assert "def " not in str(raised.value)  # a hint, never code


def test_recall_check_lets_the_stub_error_through():
    def stub(recommended, relevant, k):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_recall_at_k(stub)


# -------------------------------------------------------------------- NDCG@k
def test_ndcg_check_accepts_the_reference(capsys):
    checks.check_ndcg_at_k(metrics.ndcg_at_k)
    assert "passed" in capsys.readouterr().out


def _dcg(rec, rel, k, offset=1):
    return sum(1 / np.log2(j + offset) for j, item in enumerate(rec[:k], start=1) if item in rel)


@pytest.mark.parametrize("mistake, hint", [
    (lambda rec, rel, k: _dcg(rec, rel, k), "which is the DCG"),
    (lambda rec, rel, k: _dcg(rec, rel, k) / _dcg(sorted(rel), rel, len(rel)) if rel else 0.0,
     "min(|relevant|, k)"),
    (lambda rec, rel, k: (_dcg(rec, rel, k, offset=2) / _dcg(sorted(rel), rel, min(len(rel), k), offset=2)
                          if rel else 0.0), "off by one"),
])
def test_ndcg_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        checks.check_ndcg_at_k(mistake)


# ----------------------------------------------------------------- popularity
@pytest.mark.parametrize("solution", [Popularity, "row counts"])
def test_popularity_check_accepts_the_reference(capsys, solution):
    # Counting rows per item is right too: an Interactions holds each (user, item) pair once.
    checks.check_popularity(_RowCounts if solution == "row counts" else solution)
    assert "passed" in capsys.readouterr().out


class _RatingSums:
    def fit(self, train):
        self.scores_ = np.bincount(train.items, weights=train.ratings, minlength=train.n_items)
        return self

    def score(self, user_ids):
        return np.tile(self.scores_, (len(user_ids), 1))


class _RowCounts(_RatingSums):
    def fit(self, train):
        self.scores_ = np.bincount(train.items, minlength=train.n_items).astype(float)
        return self


class _OneRow(_RowCounts):
    def score(self, user_ids):
        return self.scores_


class _WrongAxis(_RatingSums):
    def fit(self, train):
        self.scores_ = np.asarray(train.to_csr().sum(axis=1)).ravel()
        return self


class _NoReturn(_RowCounts):
    def fit(self, train):
        super().fit(train)


class _MaxIdSized(_RatingSums):
    def fit(self, train):
        self.scores_ = np.bincount(np.unique(np.c_[train.users, train.items], axis=0)[:, 1])
        return self


@pytest.mark.parametrize("mistake, hint", [
    (_RatingSums, "sums of ratings"),
    (_OneRow, "one row per"),
    (_WrongAxis, "wrong axis"),
    (_NoReturn, "return self"),
    (_MaxIdSized, "train.n_items"),
])
def test_popularity_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        checks.check_popularity(mistake)
