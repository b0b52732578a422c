"""EASE and GF-CF in NumPy/SciPy: the closed forms, the memory guard, the errors, and quality."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import course_lib
from course_lib.baselines import Popularity
from course_lib.closed_form import (
    EASE,
    GFCF,
    CatalogueTooLargeError,
    check_dense_memory,
    ease_memory_bytes,
    normalized_adjacency,
    normalized_interactions,
)


@pytest.fixture(scope="module")
def small():
    return course_lib.make_synthetic(n_users=200, n_items=150, mean_per_user=25, seed=1)


@pytest.fixture(scope="module")
def split():
    data = course_lib.make_synthetic(n_users=400, n_items=300, mean_per_user=40, seed=2)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


def _ndcg(model, train, test):
    return course_lib.evaluate(model, train, test, cutoffs=(10,), beyond_accuracy=False)["ndcg"].iloc[0]


def test_ease_solves_the_constrained_least_squares(small):
    model = EASE(l2=10.0).fit(small)
    weights = model.item_weights_
    matrix = small.to_csr().toarray()
    assert weights.shape == (small.n_items, small.n_items)
    assert np.allclose(np.diag(weights), 0.0)
    # Stationarity of the Lagrangian: (G + lambda I) B - G is zero off the diagonal.
    gram = matrix.T @ matrix
    residual = (gram + 10.0 * np.eye(small.n_items)) @ weights - gram
    assert np.abs(residual - np.diag(np.diag(residual))).max() < 1e-8
    assert np.allclose(model.score([0, 3]), matrix[[0, 3]] @ weights)


def test_ease_normalizations_change_the_input(small):
    plain = EASE(l2=5.0).fit(small)
    rows = EASE(l2=5.0, normalize_rows=True).fit(small)
    columns = EASE(l2=5.0, normalize_columns=True).fit(small)
    norms = np.sqrt(np.asarray(rows.user_items_.multiply(rows.user_items_).sum(axis=1)).ravel())
    assert np.allclose(norms[norms > 0], 1.0)
    column_norms = np.sqrt(np.asarray(columns.user_items_.multiply(columns.user_items_).sum(axis=0)).ravel())
    assert np.allclose(column_norms[column_norms > 0], 1.0)
    assert not np.allclose(plain.item_weights_, rows.item_weights_)


def test_ease_float32_matches_float64(small):
    double = EASE(l2=10.0).fit(small).item_weights_
    single = EASE(l2=10.0, dtype=np.float32).fit(small).item_weights_
    assert single.dtype == np.float32
    assert np.abs(double - single).max() < 1e-4


def test_ease_refuses_a_catalogue_too_large_before_allocating(small):
    with pytest.raises(CatalogueTooLargeError, match=r"150 items needs about .* allows"):
        EASE(max_memory_bytes=1000).fit(small)
    # 2 million items would need 3 * 8 * 4e12 bytes: refused on any machine, at once.
    with pytest.raises(MemoryError, match="2,000,000 items"):
        check_dense_memory(2_000_000)
    assert ease_memory_bytes(1000, np.float32, copies=3) == 12_000_000


@pytest.mark.parametrize("model, message", [
    (EASE(l2=0), "l2"),
    (EASE(l2=-1.0), "l2"),
    (EASE(dtype=np.int64), "dtype"),
    (GFCF(n_components=0), "n_components"),
    (GFCF(n_components=10_000), "n_components"),
    (GFCF(ideal_filter_weight=-0.1), "ideal_filter_weight"),
])
def test_bad_arguments_name_themselves(small, model, message):
    with pytest.raises(ValueError, match=message):
        model.fit(small)


def test_unknown_users_and_unfitted_models(small):
    with pytest.raises(RuntimeError, match="not fitted"):
        EASE().score([0])
    model = EASE().fit(small)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([small.n_users])


def test_normalized_adjacency_is_symmetric_with_the_interaction_block(small):
    graph = normalized_adjacency(small).tocsr()
    normalized, user_degrees, item_degrees = normalized_interactions(small)
    n_users = small.n_users
    assert graph.shape == (n_users + small.n_items,) * 2
    assert abs(graph - graph.T).max() < 1e-12
    assert abs(graph[:n_users, n_users:] - normalized).max() < 1e-12
    user, item = small.users[0], small.items[0]
    assert np.isclose(normalized[user, item], 1 / np.sqrt(user_degrees[user] * item_degrees[item]))
    # The largest eigenvalue of D^-1/2 A D^-1/2 is 1: propagation never blows up.
    assert np.isclose(sp.linalg.eigsh(graph, k=1, which="LA")[0][0], 1.0)


def test_gfcf_scores_are_its_two_filters(small):
    model = GFCF(n_components=20, ideal_filter_weight=0.5).fit(small)
    rows = small.to_csr().toarray()[:4]
    normalized = model.normalized_.toarray()
    degrees = model.item_degrees_
    scale = np.where(degrees > 0, degrees, 1.0) ** -0.5 * (degrees > 0)
    vectors = model.item_vectors_
    expected = rows @ normalized.T @ normalized + 0.5 * ((rows * scale) @ vectors @ vectors.T) * np.sqrt(degrees)
    assert np.allclose(model.score(np.arange(4)), expected)
    # The same seed gives the same singular vectors.
    again = GFCF(n_components=20, ideal_filter_weight=0.5).fit(small)
    assert np.allclose(np.abs(again.item_vectors_), np.abs(vectors))


def test_both_beat_popularity_on_the_synthetic_set(split):
    train, test = split
    popularity = _ndcg(Popularity().fit(train), train, test)
    assert _ndcg(EASE(l2=50.0).fit(train), train, test) > popularity
    assert _ndcg(GFCF(n_components=32).fit(train), train, test) > popularity


@pytest.mark.slow
def test_targets_on_movielens_100k():
    try:
        data = course_lib.load_dataset("ml-100k")
    except course_lib.DatasetNotFoundError as error:
        pytest.skip(f"MovieLens 100K is not on this machine: {error}")
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=42)
    assert _ndcg(EASE(l2=500.0).fit(train), train, test) > 0.43
    assert _ndcg(GFCF(n_components=64, ideal_filter_weight=0.3).fit(train), train, test) > 0.42


def test_symmetric_positive_inverse_matches_the_general_inverse_and_leaves_its_input():
    from course_lib.closed_form import symmetric_positive_inverse

    rng = np.random.default_rng(0)
    factor = rng.standard_normal((50, 30))
    matrix = factor @ factor.T + 3.0 * np.eye(50)          # symmetric positive definite
    before = matrix.copy()
    inverse = symmetric_positive_inverse(matrix)
    np.testing.assert_allclose(inverse, np.linalg.inv(before), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(inverse, inverse.T)
    np.testing.assert_array_equal(matrix, before)

    indefinite = np.diag([2.0, -1.0, 4.0])                    # not positive definite: the general inverse
    np.testing.assert_allclose(symmetric_positive_inverse(indefinite), np.diag([0.5, -1.0, 0.25]))
    float32 = (factor @ factor.T + 3.0 * np.eye(50)).astype(np.float32)
    assert symmetric_positive_inverse(float32).dtype == np.float32
