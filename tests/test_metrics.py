"""Unit tests of course_lib.metrics: hand-computed cases, edge cases, and a brute-force reference.

The reference functions below are written per user with plain Python loops and sets, straight
from the textbook definitions, and never call the library.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from course_lib import metrics

LOG2_3 = math.log2(3)
LOG2_6 = math.log2(6)

RANKING = {
    "precision": metrics.precision_at_k,
    "recall": metrics.recall_at_k,
    "f1": metrics.f1_at_k,
    "ndcg": metrics.ndcg_at_k,
    "map": metrics.average_precision_at_k,
    "mrr": metrics.reciprocal_rank_at_k,
    "hit_rate": metrics.hit_rate_at_k,
}


# ------------------------------------------------------------- brute-force reference
def reference_ranking(recommended: list[int], relevant: set[int], k: int) -> dict[str, float]:
    """Every ranking metric of one user, from the definitions, with loops and a set."""
    relevant = set(relevant)
    top = list(recommended)[:k]
    rel = [1 if (item >= 0 and item in relevant) else 0 for item in top]
    n_rel = len(relevant)
    n_hits = sum(rel)
    precision = n_hits / k
    recall = n_hits / n_rel if n_rel else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    dcg = 0.0
    for j, r in enumerate(rel, start=1):
        dcg += r / math.log2(j + 1)
    idcg = 0.0
    for j in range(1, min(n_rel, k) + 1):
        idcg += 1 / math.log2(j + 1)
    ndcg = dcg / idcg if idcg > 0 else 0.0
    ap = 0.0
    seen_hits = 0
    for j, r in enumerate(rel, start=1):
        if r:
            seen_hits += 1
            ap += seen_hits / j
    ap = ap / min(n_rel, k) if n_rel else 0.0
    rr = 0.0
    for j, r in enumerate(rel, start=1):
        if r:
            rr = 1 / j
            break
    hit = 1.0 if n_hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "ndcg": ndcg, "map": ap, "mrr": rr,
            "hit_rate": hit}


def reference_auc(scores: list[float], positives: set[int], excluded: set[int]) -> float:
    """Share of (positive, negative) pairs ranked right, ties count 1/2; negatives are the items
    neither relevant nor excluded."""
    negatives = [i for i in range(len(scores)) if i not in positives and i not in excluded]
    if not positives or not negatives:
        return float("nan")
    total = 0.0
    for p in positives:
        for n in negatives:
            if scores[p] > scores[n]:
                total += 1.0
            elif scores[p] == scores[n]:
                total += 0.5
    return total / (len(positives) * len(negatives))


# ------------------------------------------------------------------ hand-computed cases
# recommended [3, 1, 7, 2, 9], relevant {1, 9, 4}: hits at ranks 2 and 5, R = 3.
HAND_RECOMMENDED = [3, 1, 7, 2, 9]
HAND_RELEVANT = {1, 9, 4}
HAND_EXPECTED = {
    5: {
        "precision": 2 / 5,                                              # 2 hits / 5
        "recall": 2 / 3,                                                 # 2 hits / R = 3
        "f1": 0.5,                                                       # 2 (2/5)(2/3) / (2/5 + 2/3) = (8/15)/(16/15)
        "ndcg": (1 / LOG2_3 + 1 / LOG2_6) / (1 + 1 / LOG2_3 + 1 / 2),   # DCG / IDCG (3 ideal hits)
        "map": (1 / 2 + 2 / 5) / 3,                                      # (P@2 + P@5) / min(R, 5) = 0.3
        "mrr": 1 / 2,                                                    # first hit at rank 2
        "hit_rate": 1.0,
    },
    3: {  # top 3 = [3, 1, 7]: one hit at rank 2
        "precision": 1 / 3,
        "recall": 1 / 3,
        "f1": 1 / 3,                                                     # P = R = 1/3
        "ndcg": (1 / LOG2_3) / (1 + 1 / LOG2_3 + 1 / 2),                 # IDCG@3 = min(R, 3) = 3 ideal hits
        "map": (1 / 2) / 3,                                              # P@2 / min(3, 3)
        "mrr": 1 / 2,
        "hit_rate": 1.0,
    },
    1: {name: 0.0 for name in RANKING},                                  # top 1 = [3]: no hit
}


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("name", sorted(RANKING))
def test_hand_case(name, k):
    value = RANKING[name](HAND_RECOMMENDED, HAND_RELEVANT, k)
    assert isinstance(value, float)
    assert value == pytest.approx(HAND_EXPECTED[k][name], abs=1e-12)


def test_hand_case_default_k_is_list_length():
    for name, fn in RANKING.items():
        assert fn(HAND_RECOMMENDED, HAND_RELEVANT) == pytest.approx(HAND_EXPECTED[5][name], abs=1e-12)


def test_hand_case_ndcg_value():
    # (1/log2(3) + 1/log2(6)) / (1 + 1/log2(3) + 1/log2(4)) = (0.63093 + 0.38685) / 2.13093
    assert metrics.ndcg_at_k(HAND_RECOMMENDED, HAND_RELEVANT, 5) == pytest.approx(0.477624, abs=1e-6)


def test_perfect_list():
    # every one of the top 3 relevant and R = 3: all metrics 1
    for name, fn in RANKING.items():
        assert fn([4, 2, 8], {2, 4, 8}, 3) == pytest.approx(1.0), name


def test_no_relevant_items_gives_zero():
    for name, fn in RANKING.items():
        assert fn([1, 2, 3], set(), 3) == 0.0, name
        assert fn([1, 2, 3], [], 2) == 0.0, name


def test_no_relevant_items_in_batch_gives_zero_for_that_user_only():
    recommended = np.array([[1, 2], [3, 4]])
    values = metrics.recall_at_k(recommended, [set(), {4}], 2)
    np.testing.assert_allclose(values, [0.0, 1.0])
    values = metrics.ndcg_at_k(recommended, [set(), {4}], 2)
    np.testing.assert_allclose(values, [0.0, (1 / LOG2_3) / 1.0])


def test_k_larger_than_list():
    # [5, 6], relevant {6}, k = 10: one hit at rank 2, R = 1
    recommended, relevant, k = [5, 6], {6}, 10
    assert metrics.precision_at_k(recommended, relevant, k) == pytest.approx(1 / 10)   # hits / k
    assert metrics.recall_at_k(recommended, relevant, k) == pytest.approx(1.0)
    assert metrics.f1_at_k(recommended, relevant, k) == pytest.approx(2 * 0.1 * 1 / 1.1)
    assert metrics.ndcg_at_k(recommended, relevant, k) == pytest.approx(1 / LOG2_3)   # IDCG = 1 (min(R, k) = 1)
    assert metrics.average_precision_at_k(recommended, relevant, k) == pytest.approx(1 / 2)  # P@2 / min(1, 10)
    assert metrics.reciprocal_rank_at_k(recommended, relevant, k) == pytest.approx(1 / 2)
    assert metrics.hit_rate_at_k(recommended, relevant, k) == 1.0


def test_duplicates_in_relevant_count_once():
    # relevant [1, 1, 2] is the set {1, 2}: R = 2
    for name, fn in RANKING.items():
        assert fn([1, 5, 6], [1, 1, 2], 3) == pytest.approx(fn([1, 5, 6], {1, 2}, 3)), name
    assert metrics.recall_at_k([1, 5, 6], [1, 1, 2], 3) == pytest.approx(1 / 2)
    # the same through a sparse matrix built with a duplicate (summed) entry
    matrix = sp.csr_matrix((np.ones(3), ([0, 0, 0], [1, 1, 2])), shape=(1, 8))
    assert metrics.recall_at_k(np.array([[1, 5, 6]]), matrix, 3)[0] == pytest.approx(1 / 2)
    _, n_relevant = metrics.hits_at_k(np.array([[1, 5, 6]]), [[1, 1, 2]])
    assert n_relevant.tolist() == [2]


def test_negative_ids_mean_no_item():
    # [-1, 4, -1] with relevant {4}: one hit at rank 2; the padding never hits
    assert metrics.precision_at_k([-1, 4, -1], {4}, 3) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank_at_k([-1, 4, -1], {4}, 3) == pytest.approx(1 / 2)
    assert metrics.precision_at_k([-1, -1], {0, 1}, 2) == 0.0


def test_negative_ids_do_not_collide_with_other_users_items():
    # width of the internal keys is max id + 1 = 6; user 1's -1 would map onto user 0's item 5
    recommended = np.array([[0, 5], [-1, 2]])
    hits, n_relevant = metrics.hits_at_k(recommended, [{5}, {3}])
    assert hits.tolist() == [[False, True], [False, False]]
    assert n_relevant.tolist() == [1, 1]


def test_hits_at_k_cutoff_and_errors():
    hits, n_relevant = metrics.hits_at_k(np.array([[1, 2, 3], [4, 5, 6]]), [{2, 9}, {6}], k=2)
    assert hits.tolist() == [[False, True], [False, False]]
    assert n_relevant.tolist() == [2, 1]
    with pytest.raises(ValueError, match="at least 1"):
        metrics.hits_at_k([1, 2], {1}, k=0)
    with pytest.raises(ValueError, match="integer"):
        metrics.precision_at_k([1.5, 2.0], {1}, 2)
    with pytest.raises(ValueError, match="1-D|2-D"):
        metrics.precision_at_k(np.zeros((2, 2, 2), dtype=int), [{1}, {1}], 2)
    with pytest.raises(ValueError, match="3 entries"):
        metrics.precision_at_k(np.array([[1], [2]]), [{1}, {2}, {3}], 1)
    with pytest.raises(ValueError, match="rows"):
        metrics.precision_at_k(np.array([[1], [2]]), sp.csr_matrix((3, 5)), 1)
    with pytest.raises(ValueError, match="ambiguous"):
        metrics.precision_at_k(np.array([[1], [2]]), np.zeros((2, 5)), 1)
    with pytest.raises(ValueError, match="negative"):
        metrics.precision_at_k([1, 2], {-3, 1}, 2)


def test_sparse_relevant_ignores_explicit_zeros():
    matrix = sp.csr_matrix((np.array([1.0, 0.0]), np.array([1, 2]), np.array([0, 2])), shape=(1, 4))
    assert matrix.nnz == 2  # item 2 is an explicitly stored zero
    assert metrics.recall_at_k(np.array([[1, 2]]), matrix, 2)[0] == pytest.approx(1.0)
    assert metrics.precision_at_k(np.array([[1, 2]]), matrix, 2)[0] == pytest.approx(0.5)


# ------------------------------------------------------------------ forms agree
def _random_case(seed: int, n_users: int = 150, n_items: int = 30, length: int = 12):
    """Random top-`length` lists (distinct items, some users padded with -1) and relevant lists
    (with duplicates, some users empty)."""
    rng = np.random.default_rng(seed)
    recommended = np.empty((n_users, length), dtype=np.int64)
    relevant = []
    for u in range(n_users):
        recommended[u] = rng.permutation(n_items)[:length]
        n_valid = rng.integers(length // 2, length + 1)
        recommended[u, n_valid:] = -1
        size = rng.integers(0, 9)
        relevant.append(rng.integers(0, n_items, size=size).tolist())  # may repeat an item
    return recommended, relevant, n_items


def _as_sparse(relevant: list[list[int]], n_items: int) -> sp.csr_matrix:
    rows = [u for u, group in enumerate(relevant) for _ in group]
    cols = [i for group in relevant for i in group]
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(relevant), n_items))
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


@pytest.mark.parametrize("k", [1, 5, 12, 20])
@pytest.mark.parametrize("name", sorted(RANKING))
def test_1d_and_2d_forms_agree(name, k):
    recommended, relevant, n_items = _random_case(seed=11, n_users=40)
    fn = RANKING[name]
    from_sets = fn(recommended, [set(g) for g in relevant], k)
    from_lists = fn(recommended, relevant, k)
    from_arrays = fn(recommended, [np.array(g, dtype=np.int64) for g in relevant], k)
    from_sparse = fn(recommended, _as_sparse(relevant, n_items), k)
    one_by_one = np.array([fn(recommended[u], set(relevant[u]), k) for u in range(len(recommended))])
    assert from_sets.shape == (len(recommended),)
    for other in (from_lists, from_arrays, from_sparse, one_by_one):
        np.testing.assert_allclose(other, from_sets, rtol=0, atol=1e-12)
    assert all(isinstance(fn(recommended[u], set(relevant[u]), k), float) for u in range(3))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 5, 10, 12, 20])
def test_matches_brute_force_reference(seed, k):
    recommended, relevant, n_items = _random_case(seed=seed)
    relevant_sparse = _as_sparse(relevant, n_items)
    expected = {name: np.array([reference_ranking(recommended[u].tolist(), set(relevant[u]), k)[name]
                                for u in range(len(recommended))]) for name in RANKING}
    # the random case must exercise both hits and misses
    assert 0 < expected["hit_rate"].mean() < 1
    for name, fn in RANKING.items():
        np.testing.assert_allclose(fn(recommended, relevant_sparse, k), expected[name], rtol=0, atol=1e-12,
                                   err_msg=name)
        np.testing.assert_allclose(fn(recommended, [set(g) for g in relevant], k), expected[name], rtol=0,
                                   atol=1e-12, err_msg=name)


def test_brute_force_reference_on_hand_case():
    # the reference itself reproduces the hand-computed numbers
    for k, expected in HAND_EXPECTED.items():
        got = reference_ranking(HAND_RECOMMENDED, HAND_RELEVANT, k)
        for name in RANKING:
            assert got[name] == pytest.approx(expected[name], abs=1e-12)


# ------------------------------------------------------------------ beyond accuracy
def test_item_coverage():
    # items {0, 1, 2} of 5 appear: 3/5
    assert metrics.item_coverage(np.array([[0, 1], [1, 2]]), 5) == pytest.approx(3 / 5)
    # padding does not count: only item 0 of 4
    assert metrics.item_coverage(np.array([[0, -1], [-1, -1]]), 4) == pytest.approx(1 / 4)
    assert metrics.item_coverage([2, 0, 1], 3) == pytest.approx(1.0)  # 1-D: one list
    with pytest.raises(ValueError, match="beyond n_items"):
        metrics.item_coverage(np.array([[0, 7]]), 5)
    with pytest.raises(ValueError, match="n_items"):
        metrics.item_coverage(np.array([[0]]), 0)


def test_novelty():
    # popularity [4, 2, 0] over 4 users: p = [4/4, 2/4, 1/4 (unseen counts as one user)]
    # self-information -log2 p = [0, 1, 2]; recommended items 0, 1, 0, 2 -> (0 + 1 + 0 + 2) / 4
    recommended = np.array([[0, 1], [0, 2]])
    assert metrics.novelty(recommended, [4, 2, 0], 4) == pytest.approx(0.75)
    # padding ignored: items 1 and 2 -> (1 + 2) / 2
    assert metrics.novelty(np.array([[1, -1], [2, -1]]), [4, 2, 0], 4) == pytest.approx(1.5)
    assert metrics.novelty(np.array([[-1, -1]]), [4, 2, 0], 4) == 0.0
    # popularity above n_users is clipped to p = 1 (zero information, never negative)
    assert metrics.novelty([0], [10], 4) == 0.0
    with pytest.raises(ValueError, match="n_users"):
        metrics.novelty(recommended, [4, 2, 0], 0)


def test_gini_diversity():
    # every item recommended once: Gini 0, diversity 1
    assert metrics.gini_diversity(np.array([[0, 1], [2, 3]]), 4) == pytest.approx(1.0)
    # counts [3, 0, 0]: Gini = (n - 1) / n = 2/3, diversity 1/3
    assert metrics.gini_diversity(np.array([[0], [0], [0]]), 3) == pytest.approx(1 / 3)
    # counts [0, 1, 2, 3]: Gini = sum_ij |x_i - x_j| / (2 n^2 mean) = 20 / (2 * 16 * 1.5) = 5/12
    recommended = np.array([[1, 2, 3], [2, 3, -1], [3, -1, -1]])
    assert metrics.gini_diversity(recommended, 4) == pytest.approx(1 - 5 / 12)
    # nothing recommended at all: counts all 0, Gini 0 by convention
    assert metrics.gini_diversity(np.array([[-1]]), 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="beyond n_items"):
        metrics.gini_diversity(np.array([[0, 3]]), 3)


# ------------------------------------------------------------------ rating error
def test_rmse_and_mae_hand_case():
    # errors [1, 0, -2]: RMSE = sqrt((1 + 0 + 4) / 3), MAE = (1 + 0 + 2) / 3 = 1
    assert metrics.rmse([1, 2, 3], [2, 2, 1]) == pytest.approx(math.sqrt(5 / 3))
    assert metrics.mae([1, 2, 3], [2, 2, 1]) == pytest.approx(1.0)
    assert metrics.rmse(np.array([[4.0]]), [4.0]) == 0.0
    assert isinstance(metrics.rmse([1], [2]), float)
    assert isinstance(metrics.mae([1], [2]), float)


@pytest.mark.parametrize("fn", [metrics.rmse, metrics.mae])
def test_rating_error_errors(fn):
    with pytest.raises(ValueError, match="3 values.*2"):
        fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"y_pred.*\[1\]"):
        fn([1, 2, 3], [1, np.nan, 3])
    with pytest.raises(ValueError, match=r"y_true.*\[0, 2\]"):
        fn([np.nan, 2, np.inf], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])


# ------------------------------------------------------------------------ AUC
def test_pairwise_auc_hand_case():
    # positives [3, 1], negatives [2, 1, 0]: 3 beats all three (3); 1 loses to 2 (0), ties 1 (0.5),
    # beats 0 (1): (3 + 1.5) / 6 = 0.75
    assert metrics.pairwise_auc([3, 1], [2, 1, 0]) == pytest.approx(0.75)
    assert metrics.pairwise_auc([5], [1, 2]) == 1.0
    assert metrics.pairwise_auc([0], [1, 2]) == 0.0
    assert metrics.pairwise_auc([1], [1]) == 0.5
    values = metrics.pairwise_auc(np.array([[3, 1], [0, 0]]), np.array([[2, 1, 0], [1, 1, 1]]))
    np.testing.assert_allclose(values, [0.75, 0.0])


def test_pairwise_auc_errors():
    with pytest.raises(ValueError, match="rows"):
        metrics.pairwise_auc(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="at least one"):
        metrics.pairwise_auc(np.ones((2, 0)), np.ones((2, 3)))


def test_auc_hand_case():
    # scores [0.9, 0.1, 0.5, 0.5, 0.3], positives {0, 2}, negatives {1, 3, 4}:
    # 0.9 beats 3; 0.5 beats 0.1 and 0.3 and ties 0.5: 2.5; (3 + 2.5) / 6
    scores = np.array([[0.9, 0.1, 0.5, 0.5, 0.3]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0]]))
    np.testing.assert_allclose(metrics.auc(scores, relevant), [5.5 / 6])
    # excluding item 3 (the tie) leaves negatives {1, 4}: (2 + 2) / 4
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 1, 0]]))
    np.testing.assert_allclose(metrics.auc(scores, relevant, exclude), [1.0])


def _random_auc_case(seed: int, n_users: int = 50, n_items: int = 25):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, size=(n_users, n_items)).astype(np.float64)  # many ties
    draw = rng.random((n_users, n_items))
    relevant = draw < 0.15
    exclude = (draw >= 0.15) & (draw < 0.4)  # disjoint from relevant
    relevant[2:, 0], exclude[2:, 0] = True, False     # every other user has a positive ...
    relevant[2:, -1], exclude[2:, -1] = False, False  # ... and a negative
    relevant[0] = False                      # a user without positives
    relevant[1], exclude[1] = True, False    # a user without negatives
    return scores, relevant, exclude


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("with_exclude", [False, True])
def test_auc_matches_brute_force(seed, with_exclude):
    scores, relevant, exclude = _random_auc_case(seed)
    if not with_exclude:
        exclude[:] = False
    expected = np.array([
        reference_auc(scores[u].tolist(), set(np.flatnonzero(relevant[u]).tolist()),
                      set(np.flatnonzero(exclude[u]).tolist()))
        for u in range(len(scores))
    ])
    got = metrics.auc(scores, sp.csr_matrix(relevant), sp.csr_matrix(exclude) if with_exclude else None)
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert np.isnan(expected[2:]).sum() == 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_auc_with_infinite_candidate_scores_and_exclude():
    # A model may score items -inf. Item 0 (positive, -inf) is below the three negatives 1, 2, 3:
    # AUC 0; item 4 is excluded. Excluded items must not tie with a -inf candidate.
    scores = np.array([[-np.inf, 1.0, 2.0, 3.0, 0.5], [np.inf, 1.0, -np.inf, 3.0, 0.5]])
    relevant = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]))
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 0, 1], [0, 0, 0, 0, 1]]))
    np.testing.assert_allclose(metrics.auc(scores, relevant, exclude), [0.0, 1.0])
    np.testing.assert_allclose(metrics.auc(scores, relevant), [0.0, 1.0])


def test_auc_errors():
    scores = np.zeros((2, 4))
    with pytest.raises(ValueError, match="shape"):
        metrics.auc(scores, sp.csr_matrix((2, 5)))
    with pytest.raises(ValueError, match="shape"):
        metrics.auc(scores, sp.csr_matrix((2, 4)), sp.csr_matrix((3, 4)))
    values = metrics.auc(scores, sp.csr_matrix((2, 4)))
    assert np.isnan(values).all()  # no positives anywhere: NaN per user


def test_novelty_item_beyond_popularity_is_a_value_error():
    with pytest.raises(ValueError, match="item"):
        metrics.novelty(np.array([[0, 5]]), [1, 2], 3)


# ------------------------------------------------------------------ refusals: what a metric cannot mean
def test_a_repeated_item_in_a_list_is_refused_naming_the_rows():
    with pytest.raises(ValueError, match=r"lists an item more than once in row\(s\) 0 \(row 0 repeats item\(s\) \[1\]\)"):
        metrics.recall_at_k([1, 1, 1], {1}, k=3)  # was 3.0
    recommended = np.array([[0, 1, 2], [3, 4, 3], [5, -1, -1], [6, 6, 7]])
    with pytest.raises(ValueError, match=r"row\(s\) 1, 3 \(row 1 repeats item\(s\) \[3\]\)"):
        metrics.ndcg_at_k(recommended, [{0}, {3}, {5}, {6}], 3)
    # padding may repeat, and a repeat beyond the cutoff does not count
    assert metrics.precision_at_k([5, -1, -1], {5}, 3) == pytest.approx(1 / 3)
    assert metrics.precision_at_k([5, 4, 5], {5}, 2) == pytest.approx(1 / 2)


@pytest.mark.parametrize("indicator", [
    [0, 1, 0, 0, 1], np.array([0, 1, 1, 0]), np.array([False, True, True]), [1, 1], (0, 0, 1),
])
def test_an_indicator_row_where_item_ids_are_expected_is_refused(indicator):
    with pytest.raises(ValueError, match=r"`relevant` row 0 looks like a 0/1 indicator row .*np\.flatnonzero\(row\)"):
        metrics.recall_at_k([3, 1, 2], indicator, 3)


def test_ids_that_look_binary_but_are_ids_are_accepted():
    assert metrics.recall_at_k([1, 0, 5], {0, 1}, 3) == 1.0     # a set names each item once
    assert metrics.recall_at_k([1, 0, 5], [0, 1], 3) == 1.0     # no repeat: ids
    assert metrics.recall_at_k([1, 0, 5], np.flatnonzero([0, 1, 0, 0, 1]), 3) == pytest.approx(1 / 2)


def test_non_integer_relevant_ids_are_refused_not_truncated():
    with pytest.raises(ValueError, match=r"`relevant` row 0 holds non-integer item ids \(\[1\.5\]\)"):
        metrics.recall_at_k([1, 2], [1.5], 2)
    with pytest.raises(ValueError, match="row 1 must hold integer item ids"):
        metrics.recall_at_k(np.array([[1], [2]]), [{1}, ["a"]], 1)
    assert metrics.recall_at_k([1, 2], [1.0, 2.0], 2) == 1.0  # whole floats are ids


@pytest.mark.parametrize("k", [True, 2.0, 2.5, "2", 0, -1, None.__class__])
def test_a_cutoff_must_be_a_positive_integer(k):
    with pytest.raises(ValueError, match=r"^`k` must be an integer at least 1, got k="):
        metrics.precision_at_k([1, 2, 3], {1}, k)


def test_a_huge_cutoff_allocates_nothing_large():
    assert metrics.ndcg_at_k([1, 2, 3], {2}, k=10**12) == pytest.approx(1 / LOG2_3)
    assert metrics.precision_at_k([1, 2, 3], {2}, k=10**12) == pytest.approx(1e-12)


def test_sparse_recommended_and_bad_scores_are_refused():
    with pytest.raises(TypeError, match="`recommended` must be a dense array"):
        metrics.recall_at_k(sp.csr_matrix(np.array([[1, 2]])), [{1}], 2)
    with pytest.raises(TypeError, match="`recommended` must be a dense array"):
        metrics.item_coverage(sp.csr_matrix(np.array([[1, 2]])), 5)
    with pytest.raises(ValueError, match=r"`positive_scores` holds NaN at positions 1"):
        metrics.pairwise_auc([0.5, np.nan], [0.1])
    with pytest.raises(ValueError, match=r"`scores` holds NaN at rows 1"):
        metrics.auc(np.array([[0.1, 0.2], [np.nan, 0.3]]), sp.csr_matrix(np.eye(2)))
    with pytest.raises(TypeError, match="got a sparse matrix"):
        metrics.auc(sp.csr_matrix(np.eye(2)), sp.csr_matrix(np.eye(2)))
    with pytest.raises(ValueError, match=r"`n_items` must be an integer at least 1, got n_items=True"):
        metrics.item_coverage([[0]], True)


# ------------------------------------------------------------------ property: no metric leaves [0, 1]
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY_EXAMPLES = 400


@st.composite
def _ranking_case(draw):
    n_items = draw(st.integers(1, 40))
    n_users = draw(st.integers(1, 6))
    length = draw(st.integers(1, n_items))
    rows, relevant = [], []
    for _ in range(n_users):
        items = draw(st.permutations(range(n_items)))[:length]
        padding = draw(st.integers(0, length))
        rows.append(list(items[:length - padding]) + [-1] * padding)
        relevant.append(draw(st.sets(st.integers(0, n_items + 5), max_size=n_items)))  # ids beyond the lists too
    k = draw(st.integers(1, 2 * length + 3))
    sparse = draw(st.booleans())
    return np.array(rows, dtype=np.int64), relevant, k, sparse, n_items


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True)
@given(_ranking_case())
def test_every_ranking_metric_stays_in_0_1(case):
    recommended, relevant, k, sparse, n_items = case
    if sparse:
        rows = [u for u, group in enumerate(relevant) for _ in group]
        cols = [i for group in relevant for i in group]
        relevant = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(relevant), n_items + 6))
    for name, fn in RANKING.items():
        values = fn(recommended, relevant, k)
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1 + 1e-12).all(), (name, values)
        single = fn(recommended[0], relevant[0] if not sparse else set(relevant[[0]].indices.tolist()), k)
        assert 0.0 <= single <= 1.0 + 1e-12 and single == pytest.approx(values[0]), name
    assert 0.0 <= metrics.item_coverage(recommended, n_items) <= 1.0
    assert 0.0 <= metrics.gini_diversity(recommended, n_items) <= 1.0 + 1e-12


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 9), min_size=2, max_size=12), st.integers(1, 15))
def test_a_list_with_a_repeat_within_the_cutoff_is_always_refused(items, k):
    top = items[:k]
    repeats = len(set(top)) < len(top)
    for fn in RANKING.values():
        if repeats:
            with pytest.raises(ValueError, match="more than once"):
                fn(items, {items[0]}, k)
        else:
            assert 0.0 <= fn(items, {items[0]}, k) <= 1.0


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None, derandomize=True)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=6),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=6))
def test_pairwise_auc_is_in_0_1_or_refuses_nan(positive, negative):
    if np.isnan(positive).any() or np.isnan(negative).any():
        with pytest.raises(ValueError, match="NaN"):
            metrics.pairwise_auc(positive, negative)
    else:
        assert 0.0 <= metrics.pairwise_auc(positive, negative) <= 1.0


def test_pairwise_auc_infinite_scores_tie_instead_of_nan():
    assert metrics.pairwise_auc([np.inf], [np.inf]) == 0.5
    assert metrics.pairwise_auc([np.inf, -np.inf], [0.0]) == 0.5
