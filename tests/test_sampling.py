"""Negative and triplet sampling: never a positive, uniform over the unseen items, seeded."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

import course_lib.sampling as sampling
from course_lib.data.interactions import Interactions
from course_lib.data.synthetic import make_synthetic
from course_lib.sampling import sample_negatives, sample_triplets


@pytest.fixture(scope="module")
def data() -> Interactions:
    """MovieLens-100K-sized: users with up to several hundred items exercise the redraws."""
    return make_synthetic(seed=0)


@pytest.fixture
def small() -> Interactions:
    """10 items; user 0 has seen items 0-2, user 1 item 5, user 2 nothing, user 3 all but item 4."""
    users = [0, 0, 0, 1] + [3] * 9
    items = [0, 1, 2, 5] + [0, 1, 2, 3, 5, 6, 7, 8, 9]
    return Interactions(users=users, items=items, n_users=4, n_items=10)


# ------------------------------------------------------------------------------ sample_negatives
def test_negatives_are_never_positives(data: Interactions) -> None:
    matrix = data.to_csr()
    user_ids = np.random.default_rng(0).choice(data.users, size=100_000)
    negatives = sample_negatives(data, user_ids, n_negatives=3, seed=0)
    assert negatives.shape == (100_000, 3) and negatives.dtype.kind == "i"
    assert ((negatives >= 0) & (negatives < data.n_items)).all()
    for column in range(3):
        assert np.asarray(matrix[user_ids, negatives[:, column]]).ravel().sum() == 0


def test_negatives_are_uniform_over_unseen_items(small: Interactions) -> None:
    negatives = sample_negatives(small, np.zeros(70_000, dtype=int), seed=1).ravel()
    counts = np.bincount(negatives, minlength=10)
    assert counts[:3].sum() == 0
    assert stats.chisquare(counts[3:]).pvalue > 1e-3


def test_a_user_with_one_unseen_item_always_gets_it(small: Interactions) -> None:
    np.testing.assert_array_equal(sample_negatives(small, [3] * 50, n_negatives=4, seed=0), 4)


def test_exact_draw_after_the_rejection_rounds_is_uniform(monkeypatch: pytest.MonkeyPatch, small: Interactions) -> None:
    # With no rejection rounds every sample takes the exact draw (the path of very active users).
    monkeypatch.setattr(sampling, "_REJECTION_ROUNDS", 0)
    user_ids = np.repeat([0, 1, 2, 3], 20_000)
    negatives = sample_negatives(small, user_ids, seed=2)[:, 0]
    dense = small.to_csr().toarray()
    assert dense[user_ids, negatives].sum() == 0
    for user in range(4):
        unseen = np.flatnonzero(dense[user] == 0)
        counts = np.bincount(negatives[user_ids == user], minlength=10)
        assert counts[dense[user] == 1].sum() == 0
        if len(unseen) > 1:
            assert stats.chisquare(counts[unseen]).pvalue > 1e-3, (user, counts)


def test_dense_users_mix_both_paths_uniformly() -> None:
    # A user who has seen 45 of 50 items: most samples end in the exact draw.
    dense = Interactions(users=np.zeros(45, dtype=int), items=np.arange(45), n_users=1, n_items=50)
    counts = np.bincount(sample_negatives(dense, np.zeros(50_000, dtype=int), seed=3).ravel(), minlength=50)
    assert counts[:45].sum() == 0
    assert stats.chisquare(counts[45:]).pvalue > 1e-3


def test_negatives_are_seeded(data: Interactions) -> None:
    user_ids = np.arange(data.n_users)
    first = sample_negatives(data, user_ids, n_negatives=5, seed=7)
    np.testing.assert_array_equal(first, sample_negatives(data, user_ids, n_negatives=5, seed=7))
    assert not np.array_equal(first, sample_negatives(data, user_ids, n_negatives=5, seed=8))
    generator_draws = sample_negatives(data, user_ids, n_negatives=5, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(first, generator_draws)


def test_matrix_input_matches_interactions_input(data: Interactions) -> None:
    user_ids = np.arange(data.n_users)
    from_data = sample_negatives(data, user_ids, n_negatives=2, seed=0)
    np.testing.assert_array_equal(from_data, sample_negatives(data.to_csr(), user_ids, n_negatives=2, seed=0))
    np.testing.assert_array_equal(from_data, sample_negatives(data.to_csr().tocoo(), user_ids, n_negatives=2, seed=0))


def test_stored_zeros_and_duplicates_in_a_matrix() -> None:
    # Item 1 is stored with value 0 (not an interaction); item 2 is stored twice.
    matrix = sp.csr_matrix((np.array([1.0, 0.0, 1.0, 1.0]), (np.zeros(4, dtype=int), [0, 1, 2, 2])), shape=(1, 4))
    before = (matrix.data.copy(), matrix.indices.copy())
    negatives = sample_negatives(matrix, np.zeros(2_000, dtype=int), seed=0)
    assert set(np.unique(negatives).tolist()) == {1, 3}
    np.testing.assert_array_equal(matrix.data, before[0])  # the caller's matrix is left alone
    np.testing.assert_array_equal(matrix.indices, before[1])


def test_empty_user_ids_give_an_empty_result(small: Interactions) -> None:
    assert sample_negatives(small, np.zeros(0, dtype=int), n_negatives=3).shape == (0, 3)


def test_users_without_negatives_are_named() -> None:
    full = Interactions(users=[0, 0, 0, 1, 2, 2, 2], items=[0, 1, 2, 0, 2, 1, 0], n_users=3, n_items=3)
    with pytest.raises(ValueError, match=r"user\(s\) 0, 2:") as error:
        sample_negatives(full, [1, 0, 2, 0])
    assert "all 3 items" in str(error.value)
    assert set(np.unique(sample_negatives(full, [1] * 100, seed=0)).tolist()) == {1, 2}  # user 1 alone is fine


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"user_ids": [0, 4]}, "user_ids"),
        ({"user_ids": [-1]}, "user_ids"),
        ({"user_ids": [0.5]}, "user_ids"),
        ({"user_ids": [[0, 1]]}, "user_ids"),
        ({"user_ids": [0], "n_negatives": 0}, "n_negatives"),
        ({"user_ids": [0], "n_negatives": 1.5}, "n_negatives"),
        ({"user_ids": [0], "seed": "seven"}, "seed"),
    ],
)
def test_bad_arguments_are_named(small: Interactions, arguments: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        sample_negatives(small, **arguments)


def test_bad_data_is_named() -> None:
    with pytest.raises(ValueError, match="data_or_csr"):
        sample_negatives(np.ones((2, 2)), [0])


# ------------------------------------------------------------------------------- sample_triplets
def test_triplets_one_epoch_by_default(data: Interactions) -> None:
    users, positives, negatives = sample_triplets(data, seed=0)
    assert len(users) == len(positives) == len(negatives) == len(data)
    # Each interaction exactly once, shuffled.
    keys = np.sort(users * data.n_items + positives)
    np.testing.assert_array_equal(keys, np.sort(data.users * data.n_items + data.items))
    assert not np.array_equal(users, data.users)
    assert data.to_csr()[users, negatives].sum() == 0


@pytest.mark.parametrize("by", ["interaction", "user"])
def test_triplets_positives_are_interactions(data: Interactions, by: str) -> None:
    users, positives, negatives = sample_triplets(data, n_samples=20_000, seed=1, by=by)
    assert len(users) == 20_000
    matrix = data.to_csr()
    assert (np.asarray(matrix[users, positives]).ravel() == 1).all()
    assert np.asarray(matrix[users, negatives]).ravel().sum() == 0


def test_triplets_by_user_weigh_users_equally() -> None:
    # User 0 has 1 interaction, user 1 has 9: by interaction user 1 dominates, by user they tie.
    skewed = Interactions(users=[0] + [1] * 9, items=np.arange(10), n_users=2, n_items=20)
    by_user = np.bincount(sample_triplets(skewed, n_samples=20_000, seed=0, by="user")[0], minlength=2)
    by_interaction = np.bincount(sample_triplets(skewed, n_samples=20_000, seed=0)[0], minlength=2)
    assert abs(by_user[0] / 20_000 - 0.5) < 0.02
    assert abs(by_interaction[0] / 20_000 - 0.1) < 0.02


def test_triplets_are_seeded(data: Interactions) -> None:
    first = sample_triplets(data, n_samples=1_000, seed=4)
    for a, b in zip(first, sample_triplets(data, n_samples=1_000, seed=4), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], sample_triplets(data, n_samples=1_000, seed=5)[0])


def test_triplets_from_a_matrix(small: Interactions) -> None:
    users, positives, negatives = sample_triplets(small.to_csr(), seed=0)
    assert len(users) == len(small)
    dense = small.to_csr().toarray()
    assert (dense[users, positives] == 1).all() and (dense[users, negatives] == 0).all()


def test_triplet_arguments_are_checked(small: Interactions) -> None:
    with pytest.raises(ValueError, match="by"):
        sample_triplets(small, by="item")
    with pytest.raises(ValueError, match="n_samples"):
        sample_triplets(small, n_samples=-1)
    with pytest.raises(ValueError, match="no interactions"):
        sample_triplets(Interactions(users=np.zeros(0, int), items=np.zeros(0, int), n_users=2, n_items=2))
