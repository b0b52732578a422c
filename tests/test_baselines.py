"""Popularity, Random and ItemKNN against dense brute-force computations on small random data."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import Interactions, ItemKNN, Popularity, Random, evaluate


def _random_interactions(seed: int = 0, n_users: int = 30, n_items: int = 15, density: float = 0.3,
                         duplicates: int = 10) -> Interactions:
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < density)
    repeat = rng.integers(0, len(users), size=duplicates)           # repeated (user, item) pairs
    users, items = np.concatenate([users, users[repeat]]), np.concatenate([items, items[repeat]])
    order = rng.permutation(len(users))
    if not duplicates:
        return Interactions(users=users[order], items=items[order], n_users=n_users, n_items=n_items)
    with pytest.warns(UserWarning, match="repeat a \\(user, item\\) pair"):  # merged, with a count
        return Interactions(users=users[order], items=items[order], n_users=n_users, n_items=n_items)


def _dense(train: Interactions) -> np.ndarray:
    """Binary (n_users, n_items) matrix built with a loop."""
    matrix = np.zeros(train.shape)
    for u, i in zip(train.users.tolist(), train.items.tolist(), strict=True):
        matrix[u, i] = 1.0
    return matrix


@pytest.fixture(scope="module")
def train():
    return _random_interactions()


# ------------------------------------------------------------------ Popularity
def test_popularity_counts_distinct_training_users(train):
    model = Popularity().fit(train)
    assert isinstance(model, Popularity)
    expected = [len({u for u, i in zip(train.users.tolist(), train.items.tolist(), strict=True) if i == item})
                for item in range(train.n_items)]
    assert len(train) == int(sum(expected))  # the repeated pairs of the raw rows were merged into one
    scores = model.score([0, 3, 7])
    assert scores.shape == (3, train.n_items)
    for row in scores:
        np.testing.assert_array_equal(row, expected)
    # score returns a writable copy, not a view of the model's state
    scores[0, 0] = -1
    np.testing.assert_array_equal(model.score([0])[0], expected)


# ------------------------------------------------------------------ Random
def test_random_deterministic_for_a_seed(train):
    a = Random(seed=3).fit(train).score(np.arange(train.n_users))
    b = Random(seed=3).fit(train).score(np.arange(train.n_users))
    c = Random(seed=4).fit(train).score(np.arange(train.n_users))
    assert a.shape == (train.n_users, train.n_items)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert (a != c).mean() > 0.99


def test_random_independent_of_batching(train):
    model = Random(seed=1).fit(train)
    batch = model.score([0, 1, 2])
    np.testing.assert_array_equal(batch[2], model.score([2])[0])
    np.testing.assert_array_equal(batch[0], model.score(np.array([0]))[0])
    np.testing.assert_array_equal(model.score([2, 0]), batch[[2, 0]])
    np.testing.assert_array_equal(model.score(1)[0], batch[1])
    # different users get different scores
    assert not np.array_equal(batch[0], batch[1])


def test_random_roughly_uniform():
    n_users, n_items = 2000, 20
    data = Interactions(users=[0, n_users - 1], items=[0, n_items - 1])
    scores = Random(seed=7).fit(data).score(np.arange(n_users))          # 40,000 values
    assert scores.min() >= 0.0 and scores.max() < 1.0
    assert abs(scores.mean() - 0.5) < 0.01                                 # sd of the mean ~0.0014
    counts, _ = np.histogram(scores, bins=10, range=(0, 1))
    assert np.all(np.abs(counts - 4000) < 300)                             # sd ~60 per bin
    top_item = scores.argmax(axis=1)
    per_item = np.bincount(top_item, minlength=n_items)                    # 100 expected, sd ~10
    assert per_item.min() > 60 and per_item.max() < 140
    assert len(np.unique(scores)) > 0.99 * scores.size                     # practically no ties


# ------------------------------------------------------------------ ItemKNN
def _brute_force_similarity(train: Interactions, shrinkage: float) -> np.ndarray:
    """sim[i, j] = x_i . x_j / (|x_i| |x_j| + shrinkage), zero diagonal, with loops over items."""
    x = _dense(train)
    n_items = x.shape[1]
    sim = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            if i != j:
                co = float(np.sum(x[:, i] * x[:, j]))
                sim[i, j] = co / (np.sqrt(x[:, i].sum()) * np.sqrt(x[:, j].sum()) + shrinkage) if co else 0.0
    return sim


def _check_top_k_columns(kept: np.ndarray, full: np.ndarray, k: int) -> None:
    """`kept` must hold, in each column j, a valid top-k of the positive entries of full[:, j] (ties
    may go either way), with the same values."""
    for j in range(full.shape[1]):
        rows = np.flatnonzero(kept[:, j])
        np.testing.assert_allclose(kept[rows, j], full[rows, j], rtol=1e-6)
        positive = np.flatnonzero(full[:, j] > 0)
        assert len(rows) == min(k, len(positive)), j
        others = np.setdiff1d(np.arange(full.shape[0]), rows)
        if len(rows) and len(others):
            assert full[rows, j].min() >= full[others, j].max() - 1e-6, j


@pytest.mark.parametrize("shrinkage", [0.0, 10.0])
def test_itemknn_full_similarity_equals_brute_force(train, shrinkage):
    model = ItemKNN(n_neighbors=100, shrinkage=shrinkage).fit(train)
    expected = _brute_force_similarity(train, shrinkage)
    assert model.similarity_.shape == (train.n_items, train.n_items)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-6, atol=1e-7)
    # score = sum of the similarities between the item and the user's seen items
    users = np.arange(train.n_users)
    np.testing.assert_allclose(model.score(users), _dense(train) @ expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_neighbors", [1, 3, 5])
@pytest.mark.parametrize("shrinkage", [0.0, 2.0])
def test_itemknn_top_k_neighbours(train, n_neighbors, shrinkage):
    model = ItemKNN(n_neighbors=n_neighbors, shrinkage=shrinkage).fit(train)
    expected = _brute_force_similarity(train, shrinkage)
    kept = model.similarity_.toarray()
    _check_top_k_columns(kept, expected, n_neighbors)
    x = _dense(train)
    np.testing.assert_allclose(model.score(np.arange(train.n_users)), x @ kept, rtol=1e-5, atol=1e-6)


def test_itemknn_top_k_without_ties():
    # with many users the 4th and 5th most similar items of every column differ, so the top 4 is unique
    data = _random_interactions(seed=4, n_users=400, n_items=12, density=0.35, duplicates=0)
    expected = _brute_force_similarity(data, 1.0)
    ordered = -np.sort(-expected, axis=0)
    assert (ordered[3] - ordered[4]).min() > 1e-4
    kept = ItemKNN(n_neighbors=4, shrinkage=1.0).fit(data).similarity_.toarray()
    reference = np.zeros_like(expected)
    for j in range(data.n_items):
        top = np.argsort(-expected[:, j])[:4]
        reference[top, j] = expected[top, j]
    np.testing.assert_allclose(kept, reference, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n_neighbors", [3, 100])
def test_itemknn_block_size_does_not_matter(train, n_neighbors):
    small = ItemKNN(n_neighbors=n_neighbors, shrinkage=1.0, block_size=4).fit(train)   # 15 items: 4 blocks
    one = ItemKNN(n_neighbors=n_neighbors, shrinkage=1.0, block_size=1).fit(train)
    large = ItemKNN(n_neighbors=n_neighbors, shrinkage=1.0, block_size=4096).fit(train)
    np.testing.assert_array_equal(small.similarity_.toarray(), large.similarity_.toarray())
    np.testing.assert_array_equal(one.similarity_.toarray(), large.similarity_.toarray())
    np.testing.assert_array_equal(small.score(np.arange(train.n_users)), large.score(np.arange(train.n_users)))


def _two_group_data(seed: int = 0):
    """Users 0-39 like items 0-19, users 40-79 like items 20-39, plus a little noise."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 80, 40
    users, items = [], []
    for u in range(n_users):
        own = np.arange(20) if u < 40 else np.arange(20, 40)
        other = np.arange(20, 40) if u < 40 else np.arange(20)
        liked = list(rng.choice(own, size=8, replace=False)) + list(rng.choice(other, size=1))
        users += [u] * len(liked)
        items += liked
    data = Interactions(users=users, items=items, n_users=n_users, n_items=n_items)
    in_train = rng.random(len(data)) < 0.75
    return data.subset(in_train), data.subset(~in_train)


def test_itemknn_beats_popularity_on_structured_data():
    train, test = _two_group_data()
    knn = evaluate(ItemKNN(n_neighbors=10, shrinkage=1.0).fit(train), train, test, cutoffs=10)
    pop = evaluate(Popularity().fit(train), train, test, cutoffs=10)
    rnd = evaluate(Random(seed=0).fit(train), train, test, cutoffs=10)
    assert knn.loc[10, "ndcg"] > pop.loc[10, "ndcg"] + 0.1
    assert knn.loc[10, "recall"] > pop.loc[10, "recall"] + 0.2
    assert knn.loc[10, "recall"] > 0.5   # ~14 own-group candidates for 10 places: about 0.6 at best
    # on this data popularity carries almost no signal, so it is close to random
    assert abs(pop.loc[10, "recall"] - rnd.loc[10, "recall"]) < 0.15


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make", [Popularity, Random, ItemKNN])
def test_unknown_user_ids_are_named(train, make):
    model = make().fit(train)
    with pytest.raises(ValueError, match=r"Unknown user ids: 30, -1"):
        model.score([0, 30, -1])
    with pytest.raises(ValueError, match="integer"):
        model.score([0.0, 1.0])


@pytest.mark.parametrize("make", [Popularity, Random, ItemKNN])
def test_score_before_fit(make):
    with pytest.raises(RuntimeError, match="not fitted"):
        make().score([0])
    with pytest.raises(RuntimeError, match="not fitted"):
        _ = make().n_items


@pytest.mark.parametrize("make", [Popularity, Random, ItemKNN])
def test_non_interactions_train(train, make):
    with pytest.raises(TypeError, match="Interactions"):
        make().fit(train.to_dataframe())
    with pytest.raises(TypeError, match="Interactions"):
        make().fit(train.to_csr())


def test_itemknn_bad_arguments(train):
    with pytest.raises(ValueError, match="n_neighbors"):
        ItemKNN(n_neighbors=0).fit(train)
    with pytest.raises(ValueError, match="shrinkage"):
        ItemKNN(shrinkage=-1.0).fit(train)


def test_repr_shows_arguments():
    assert repr(ItemKNN(n_neighbors=5)) == "ItemKNN(n_neighbors=5, shrinkage=10.0, block_size=2048)"
    assert repr(Random(seed=2)) == "Random(seed=2)"


# ------------------------------------------------------------------ recommend
@pytest.mark.parametrize("make", [Popularity, lambda: Random(seed=0), lambda: ItemKNN(n_neighbors=5)])
def test_recommend_excludes_seen_items(train, make):
    model = make().fit(train)
    for user in range(train.n_users):
        seen = set(train.items[train.users == user].tolist())
        scores = model.score([user])[0]
        top = model.recommend(user, k=5, exclude=train)
        assert len(top) == min(5, train.n_items - len(seen))
        assert seen.isdisjoint(top.tolist())
        assert len(set(top.tolist())) == len(top)
        assert np.all(np.diff(scores[top]) <= 0)                  # best first
        allowed = [i for i in range(train.n_items) if i not in seen]
        assert scores[top].min() >= max(scores[i] for i in allowed if i not in top.tolist())


def test_recommend_without_exclude_and_with_few_allowed_items(train):
    model = Popularity().fit(train)
    counts = model.score([0])[0]
    top = model.recommend(0, k=3)
    assert counts[top[0]] == counts.max()
    np.testing.assert_array_equal(counts[top], np.sort(counts)[::-1][:3])
    # k beyond the allowed items: only the allowed ones come back
    seen = set(train.items[train.users == 0].tolist())
    everything = model.recommend(0, k=1000, exclude=train)
    assert sorted(everything.tolist()) == [i for i in range(train.n_items) if i not in seen]


def test_random_rejects_negative_seed(train):
    with pytest.raises(ValueError, match="seed"):
        Random(seed=-1).fit(train).score([0])
