"""course_lib.evaluate against a naive per-user loop written from the definitions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from course_lib import Interactions, evaluate, metrics
from course_lib.evaluation import ACCURACY_METRICS, BEYOND_ACCURACY_METRICS, top_k_items

N_USERS, N_ITEMS = 60, 40
CUTOFFS = (1, 5, 10)


# ----------------------------------------------------------------- fixtures
class TableRecommender:
    """Scores looked up in a fixed (n_users, n_items) table; remembers the batches it was asked."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table
        self.calls: list[np.ndarray] = []

    def score(self, user_ids):
        user_ids = np.asarray(user_ids)
        self.calls.append(user_ids.copy())
        return self.table[user_ids]


def _build_split(seed: int = 0):
    """60 users x 40 items, split into disjoint train and test by a random mask.

    Users 0-4 have only training items (skipped), user 5 has every item, 35 of them in train (fewer
    allowed items than the largest cutoff), users 6-7 have only test items, user 8 has nothing.
    """
    rng = np.random.default_rng(seed)
    dense = rng.random((N_USERS, N_ITEMS)) < 0.3
    dense[5] = True
    dense[8] = False
    users, items = np.nonzero(dense)
    in_train = rng.random(len(users)) < 0.7
    in_train[users < 5] = True
    in_train[(users == 6) | (users == 7)] = False
    fives = np.flatnonzero(users == 5)
    in_train[fives] = True
    in_train[fives[rng.choice(len(fives), 5, replace=False)]] = False
    order = rng.permutation(len(users))  # interactions need not be sorted
    users, items, in_train = users[order], items[order], in_train[order]
    full = Interactions(users=users, items=items, n_users=N_USERS, n_items=N_ITEMS)
    return full.subset(in_train, name="train"), full.subset(~in_train, name="test")


@pytest.fixture(scope="module")
def split():
    return _build_split()


@pytest.fixture(scope="module")
def score_table():
    rng = np.random.default_rng(123)
    table = rng.random((N_USERS, N_ITEMS))
    # continuous scores without ties, even after evaluate's float32 cast
    for row in table.astype(np.float32):
        assert len(np.unique(row)) == N_ITEMS
    return table


# ----------------------------------------------------------------- naive reference
def _sets(interactions: Interactions) -> list[set[int]]:
    sets: list[set[int]] = [set() for _ in range(interactions.n_users)]
    for u, i in zip(interactions.users.tolist(), interactions.items.tolist(), strict=True):
        sets[u].add(i)
    return sets


def _reference_ranking(top: list[int], relevant: set[int], k: int) -> dict[str, float]:
    rel = [1 if item in relevant else 0 for item in top[:k]]
    n_rel, n_hits = len(relevant), sum(rel)
    precision = n_hits / k
    recall = n_hits / n_rel if n_rel else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    dcg = sum(r / math.log2(j + 1) for j, r in enumerate(rel, start=1))
    idcg = sum(1 / math.log2(j + 1) for j in range(1, min(n_rel, k) + 1))
    ap, found = 0.0, 0
    for j, r in enumerate(rel, start=1):
        if r:
            found += 1
            ap += found / j
    ap = ap / min(n_rel, k) if n_rel else 0.0
    rr = next((1 / j for j, r in enumerate(rel, start=1) if r), 0.0)
    return {"precision": precision, "recall": recall, "ndcg": dcg / idcg if idcg else 0.0, "map": ap,
            "mrr": rr, "hit_rate": float(n_hits > 0), "f1": f1}


def naive_evaluate(table, train, test, cutoffs, exclude_seen=True):
    """One user at a time: score every item, drop training items, sort, take the top k."""
    train_sets, test_sets = _sets(train), _sets(test)
    users = [u for u in range(train.n_users) if test_sets[u]]
    lists = {}
    sums = {(k, m): 0.0 for k in cutoffs for m in ACCURACY_METRICS}
    for k in cutoffs:
        lists[k] = []
        for u in users:
            allowed = [i for i in range(train.n_items) if not (exclude_seen and i in train_sets[u])]
            ranked = sorted(allowed, key=lambda i, u=u: -table[u, i])
            top = ranked[:k]
            lists[k].append(top + [-1] * (k - len(top)))
            for name, value in _reference_ranking(top, test_sets[u], k).items():
                sums[k, name] += value
    means = {key: value / len(users) for key, value in sums.items()}
    return users, means, lists


# ----------------------------------------------------------------- agreement
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_evaluate_equals_naive_loop(split, score_table, batch_size):
    train, test = split
    recommender = TableRecommender(score_table)
    result = evaluate(recommender, train, test, cutoffs=CUTOFFS, batch_size=batch_size)
    users, expected, _ = naive_evaluate(score_table, train, test, CUTOFFS)

    assert list(result.index) == list(CUTOFFS)
    assert result.index.name == "cutoff"
    assert list(result.columns) == [*ACCURACY_METRICS, *BEYOND_ACCURACY_METRICS, "n_users"]
    for k in CUTOFFS:
        for name in ACCURACY_METRICS:
            assert result.loc[k, name] == pytest.approx(expected[k, name], abs=1e-12, rel=0), (k, name)
    assert (result["n_users"] == len(users)).all()
    assert result.attrs["n_users_evaluated"] == len(users)
    # the recommender saw every evaluated user once, in batches of at most batch_size
    seen = np.concatenate(recommender.calls)
    assert sorted(seen.tolist()) == users
    assert max(len(c) for c in recommender.calls) == min(batch_size, len(users))


def test_results_independent_of_batch_size(split, score_table):
    train, test = split
    results = [evaluate(TableRecommender(score_table), train, test, cutoffs=CUTOFFS, batch_size=b)
               for b in (1, 7, 1000)]
    exact = [c for c in results[0].columns if c != "novelty"]
    for other in results[1:]:
        pd.testing.assert_frame_equal(other[exact], results[0][exact], check_exact=True)
        # novelty is summed batch by batch, so only the rounding may differ
        np.testing.assert_allclose(other["novelty"], results[0]["novelty"], rtol=1e-13, atol=0)
        assert other.attrs["n_users_evaluated"] == results[0].attrs["n_users_evaluated"]
        assert other.attrs["n_users_skipped"] == results[0].attrs["n_users_skipped"]


def test_naive_reference_is_not_trivial(split, score_table):
    # the random model hits some but not all users, so the comparison above can tell metrics apart
    train, test = split
    _, expected, _ = naive_evaluate(score_table, train, test, CUTOFFS)
    assert 0 < expected[10, "hit_rate"] < 1
    assert expected[1, "precision"] < expected[10, "recall"]


def test_beyond_accuracy_equals_metrics_on_naive_lists(split, score_table):
    train, test = split
    result = evaluate(TableRecommender(score_table), train, test, cutoffs=CUTOFFS, batch_size=7)
    _, _, lists = naive_evaluate(score_table, train, test, CUTOFFS)
    train_sets = _sets(train)
    popularity = np.array([sum(1 for s in train_sets if i in s) for i in range(N_ITEMS)])  # distinct users
    n_train_users = sum(1 for s in train_sets if s)
    for k in CUTOFFS:
        top = np.array(lists[k])
        assert result.loc[k, "coverage"] == pytest.approx(metrics.item_coverage(top, N_ITEMS), abs=1e-12)
        assert result.loc[k, "novelty"] == pytest.approx(metrics.novelty(top, popularity, n_train_users), abs=1e-12)
        assert result.loc[k, "gini_diversity"] == pytest.approx(metrics.gini_diversity(top, N_ITEMS), abs=1e-12)
    # user 5 has only 5 allowed items: its top 10 is padded, and the padding is not an item
    assert (np.array(lists[10]) == -1).any()


def test_beyond_accuracy_can_be_left_out(split, score_table):
    train, test = split
    result = evaluate(TableRecommender(score_table), train, test, cutoffs=5, beyond_accuracy=False)
    assert list(result.columns) == [*ACCURACY_METRICS, "n_users"]
    assert list(result.index) == [5]


def test_cutoffs_are_sorted_and_deduplicated(split, score_table):
    train, test = split
    result = evaluate(TableRecommender(score_table), train, test, cutoffs=[10, 1, 10, 5])
    assert list(result.index) == [1, 5, 10]


# ----------------------------------------------------------------- skipped users
def test_users_without_test_items_are_skipped_and_counted(split, score_table):
    train, test = split
    recommender = TableRecommender(score_table)
    result = evaluate(recommender, train, test, cutoffs=CUTOFFS)
    train_sets, test_sets = _sets(train), _sets(test)
    skipped = [u for u in range(N_USERS) if train_sets[u] and not test_sets[u]]
    assert {0, 1, 2, 3, 4} <= set(skipped)
    assert result.attrs["n_users_skipped"] == len(skipped)
    evaluated = [u for u in range(N_USERS) if test_sets[u]]
    assert result.attrs["n_users_evaluated"] == len(evaluated)
    assert {6, 7} <= set(evaluated)          # test-only users are evaluated
    asked = set(np.concatenate(recommender.calls).tolist())
    assert asked.isdisjoint(skipped) and 8 not in asked


# ----------------------------------------------------------------- exclude_seen
def test_exclude_seen_false_lets_training_items_be_recommended(split):
    train, test = split
    rng = np.random.default_rng(5)
    # a model that puts each user's training items on top
    table = train.to_csr().toarray() * 10.0 + rng.random((N_USERS, N_ITEMS))
    with_exclusion = evaluate(TableRecommender(table), train, test, cutoffs=CUTOFFS)
    without = evaluate(TableRecommender(table), train, test, cutoffs=CUTOFFS, exclude_seen=False)
    _, expected, _ = naive_evaluate(table, train, test, CUTOFFS, exclude_seen=False)
    for k in CUTOFFS:
        for name in ACCURACY_METRICS:
            assert without.loc[k, name] == pytest.approx(expected[k, name], abs=1e-12, rel=0), (k, name)
    # every user with training items gets a training item first: a miss, train and test being disjoint
    train_sets, test_sets = _sets(train), _sets(test)
    evaluated = [u for u in range(N_USERS) if test_sets[u]]
    test_only = sum(1 for u in evaluated if not train_sets[u])
    assert without.loc[1, "hit_rate"] <= test_only / len(evaluated)
    assert with_exclusion.loc[1, "hit_rate"] > without.loc[1, "hit_rate"]


# ----------------------------------------------------------------- errors
class WrongShape:
    def score(self, user_ids):
        return np.zeros((len(user_ids), N_ITEMS - 1))


class NaNScores:
    def score(self, user_ids):
        scores = np.zeros((len(user_ids), N_ITEMS))
        scores[0] = np.nan  # the whole row: a NaN on an excluded training item would be masked
        return scores


def test_score_of_wrong_shape(split):
    train, test = split
    with pytest.raises(ValueError, match=rf"WrongShape.score returned shape .*expected \(\d+, {N_ITEMS}\)"):
        evaluate(WrongShape(), train, test)


def test_nan_scores_raise(split):
    train, test = split
    with pytest.raises(ValueError, match="NaN"):
        evaluate(NaNScores(), train, test, batch_size=1000)


def test_mismatched_catalogues(split, score_table):
    train, test = split
    wider = Interactions(users=test.users, items=test.items, n_users=N_USERS, n_items=N_ITEMS + 1)
    with pytest.raises(ValueError, match="catalogue"):
        evaluate(TableRecommender(score_table), train, wider)
    fewer_users = Interactions(users=test.users[test.users < 50], items=test.items[test.users < 50],
                               n_users=50, n_items=N_ITEMS)
    with pytest.raises(ValueError, match="60 users x 40 items.*50 x 40"):
        evaluate(TableRecommender(score_table), train, fewer_users)


@pytest.mark.parametrize("cutoffs", [0, -5, [5, 0], []])
def test_bad_cutoffs(split, score_table, cutoffs):
    train, test = split
    with pytest.raises(ValueError, match="cutoffs"):
        evaluate(TableRecommender(score_table), train, test, cutoffs=cutoffs)


def test_bad_batch_size_and_inputs(split, score_table):
    train, test = split
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(TableRecommender(score_table), train, test, batch_size=0)
    with pytest.raises(TypeError, match="Interactions"):
        evaluate(TableRecommender(score_table), train.to_dataframe(), test)
    with pytest.raises(ValueError, match="no interactions"):
        evaluate(TableRecommender(score_table), train, test.subset(np.zeros(len(test), dtype=bool)))


# ----------------------------------------------------------------- top_k_items
def test_top_k_items_order_and_exclusion():
    scores = np.array([[0.1, 0.9, 0.5, 0.7, 0.3],
                       [0.6, 0.2, 0.8, 0.4, 0.0]])
    np.testing.assert_array_equal(top_k_items(scores, 3), [[1, 3, 2], [2, 0, 3]])
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]))
    np.testing.assert_array_equal(top_k_items(scores, 3, exclude), [[3, 2, 4], [2, 0, 3]])
    # k = n_items: the full ranking
    np.testing.assert_array_equal(top_k_items(scores, 5), [[1, 3, 2, 4, 0], [2, 0, 3, 1, 4]])
    assert top_k_items(scores, 3).dtype.kind == "i"


def test_top_k_items_pads_with_minus_one():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.4, 0.3, 0.2, 0.1]])
    exclude = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 1, 1]]))
    np.testing.assert_array_equal(top_k_items(scores, 3, exclude), [[3, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(top_k_items(scores, 4, exclude), [[3, -1, -1, -1], [-1, -1, -1, -1]])


def test_top_k_items_matches_argsort_on_random_scores(score_table):
    expected = np.argsort(-score_table, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(top_k_items(score_table, 7), expected)


def test_top_k_items_does_not_modify_scores(score_table):
    scores = score_table[:3].copy()
    top_k_items(scores, 2, sp.csr_matrix(np.ones((3, N_ITEMS))))
    np.testing.assert_array_equal(scores, score_table[:3])


def test_top_k_items_keeps_float64_order():
    scores = 1e8 + np.array([[0.0, 1.0, 2.0, 3.0]])  # float32 spacing at 1e8 is 8
    np.testing.assert_array_equal(top_k_items(scores, 4), [[3, 2, 1, 0]])


# ----------------------------------------------------------------- what evaluate refuses or warns about
def test_a_recommender_class_instead_of_an_instance(split):
    from course_lib import Popularity

    train, test = split
    with pytest.raises(TypeError, match=r"got the class Popularity; write Popularity\(\.\.\.\)\.fit\(train\)"):
        evaluate(Popularity, train, test)
    with pytest.raises(TypeError, match=r"must have a score\(user_ids\) method, got dict"):
        evaluate({}, train, test)


class SparseScores:
    def score(self, user_ids):
        return sp.csr_matrix(np.ones((len(user_ids), N_ITEMS)))


class StringScores:
    def score(self, user_ids):
        return np.full((len(user_ids), N_ITEMS), "1")


class InfiniteScores:
    def score(self, user_ids):
        scores = np.random.default_rng(0).random((len(user_ids), N_ITEMS))
        scores[user_ids == 9, 3] = np.inf  # one item of user 9, whatever else is excluded
        scores[user_ids == 12, 0] = -np.inf
        return scores


def test_scores_of_the_wrong_type_or_with_nan_or_inf_name_the_users(split):
    train, test = split
    with pytest.raises(TypeError, match=r"SparseScores.score\(user_ids\)` must be a dense .* got a sparse matrix"):
        evaluate(SparseScores(), train, test)
    with pytest.raises(TypeError, match="must hold numbers"):
        evaluate(StringScores(), train, test)
    with pytest.raises(ValueError, match=r"holds NaN or infinite values for 2 user\(s\) \(users 9, 12\)"):
        evaluate(InfiniteScores(), train, test)
    with pytest.raises(ValueError, match=r"`scores` holds NaN or infinite values for 1 user\(s\) \(rows 1\)"):
        top_k_items(np.array([[0.0, 1.0], [np.nan, 1.0]]), 1)


@pytest.mark.parametrize(("cutoffs", "shown"), [
    (True, "cutoffs=True (a bool)"), ([10, True], "cutoffs=[10, True]"), (2.0, "cutoffs=2.0"), ([5, 7.5], "cutoffs=[5, 7.5]"),
    ("10", "cutoffs='10' (a string: write the number without quotes)"), (10**7, "cutoffs=10000000"), ([10, N_ITEMS + 1], f"cutoffs=[10, {N_ITEMS + 1}]"),
])
def test_cutoffs_must_be_integers_within_the_catalogue(split, score_table, cutoffs, shown):
    train, test = split
    with pytest.raises(ValueError) as caught:
        evaluate(TableRecommender(score_table), train, test, cutoffs=cutoffs)
    assert str(caught.value).startswith(f"`cutoffs` must be integers from 1 to n_items={N_ITEMS}, got {shown}.")
    if isinstance(cutoffs, int) and not isinstance(cutoffs, bool) and cutoffs > N_ITEMS:
        assert "cannot be longer than the catalogue" in str(caught.value)


def test_the_whole_catalogue_is_a_valid_cutoff(split, score_table):
    train, test = split
    result = evaluate(TableRecommender(score_table), train, test, cutoffs=[N_ITEMS, np.int64(5)])
    assert result.index.tolist() == [5, N_ITEMS]
    assert ((result[list(ACCURACY_METRICS)] >= 0) & (result[list(ACCURACY_METRICS)] <= 1)).all().all()


def test_test_pairs_that_are_also_in_train_are_counted_in_a_warning(split, score_table, recwarn):
    train, test = split
    evaluate(TableRecommender(score_table), train, test)
    assert not [w for w in recwarn.list if "also appear" in str(w.message)]  # a clean split: no word
    with pytest.warns(UserWarning, match=rf"^{len(train):,} of {len(train):,} test \(user, item\) pairs also appear "
                                         r"in `train`: they are excluded .* recall is capped"):
        result = evaluate(TableRecommender(score_table), train, test=train)
    assert result["recall"].iloc[0] == 0.0  # what the warning explains
    some = test.subset(np.arange(len(test)) < 7)
    leaky = Interactions(users=np.concatenate([train.users, some.users]),
                         items=np.concatenate([train.items, some.items]), n_users=N_USERS, n_items=N_ITEMS)
    with pytest.warns(UserWarning, match=rf"^7 of {len(test):,} test .* easy hits"):
        evaluate(TableRecommender(score_table), leaky, test, exclude_seen=False)
