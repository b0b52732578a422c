"""The two-tower twins: same weights give the same scores, losses and SGD steps in both
frameworks; each beats Popularity on synthetic data; bad arguments are named."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.baselines import Popularity

torch_two_tower = pytest.importorskip("course_lib.torch.two_tower")
tf_two_tower = pytest.importorskip("course_lib.tf.two_tower")

MODELS = {
    "ConcatMLP": dict(embedding_dim=8, hidden_dims=(16, 8), epochs=1, batch_size=512),
    "TwoTowerMLP": dict(embedding_dim=8, hidden_dims=(16, 8), epochs=1, batch_size=512),
    "TwoTowerRetrieval": dict(embedding_dim=8, feature_dim=4, hidden_dim=16, output_dim=8, epochs=1, batch_size=256),
}


@pytest.fixture(scope="module")
def small():
    data = course_lib.make_synthetic(n_users=60, n_items=90, mean_per_user=25, min_per_user=10, seed=3)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


def _pair(name, train, **extra):
    arguments = {**MODELS[name], **extra, "seed": 1}
    torch_model = getattr(torch_two_tower, name)(device="cpu", **arguments).fit(train, show_progress=False)
    tf_model = getattr(tf_two_tower, name)(device="cpu", **arguments).fit(train, show_progress=False)
    tf_model.set_weights(torch_model.get_weights())
    return torch_model, tf_model


def _batch(name, train, model):
    rng = np.random.default_rng(0)
    rows = rng.choice(len(train), size=32, replace=False)
    users, items = train.users[rows].astype(np.int64), train.items[rows].astype(np.int64)
    if name == "TwoTowerRetrieval":
        shown = np.where(rng.random(32) < 0.3, train.n_items, items)
        return users, shown, items
    return users, items, rng.integers(0, 2, size=32).astype(np.float32)


@pytest.mark.parametrize("name", list(MODELS))
def test_twins_agree(name, small):
    train, _ = small
    torch_model, tf_model = _pair(name, train)
    torch_weights, tf_weights = torch_model.get_weights(), tf_model.get_weights()
    assert sorted(torch_weights) == sorted(tf_weights)
    assert all(torch_weights[k].shape == tf_weights[k].shape for k in torch_weights)
    users = np.arange(train.n_users)
    np.testing.assert_allclose(torch_model.score(users), tf_model.score(users), atol=1e-5, rtol=1e-5)
    batch = _batch(name, train, torch_model)
    assert abs(torch_model.loss_on_batch(batch) - tf_model.loss_on_batch(batch)) < 1e-5
    torch_model.sgd_step(batch, learning_rate=0.1)
    tf_model.sgd_step(batch, learning_rate=0.1)
    after_torch, after_tf = torch_model.get_weights(), tf_model.get_weights()
    for key in after_torch:
        np.testing.assert_allclose(after_torch[key], after_tf[key], atol=1e-5, err_msg=key)


def test_retrieval_twins_agree_on_new_items(small):
    train, _ = small
    torch_model, tf_model = _pair("TwoTowerRetrieval", train)
    genres = np.zeros((2, train.item_features.shape[1]), np.float32)
    genres[0, :2] = 1
    years = np.array([1995.0, np.nan])
    np.testing.assert_allclose(torch_model.score_new_items(genres, years), tf_model.score_new_items(genres, years),
                               atol=1e-5)
    np.testing.assert_allclose(torch_model.item_vectors(drop_ids=True), tf_model.item_vectors(drop_ids=True), atol=1e-5)


@pytest.mark.parametrize("module", [torch_two_tower, tf_two_tower], ids=["torch", "tf"])
def test_in_batch_softmax_loss_matches_numpy(module):
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    log_q = np.log(rng.dirichlet(np.ones(5))).astype(np.float32)
    logits = users @ items.T / 0.5 - log_q[None, :]
    expected = np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits))
    if module is torch_two_tower:
        import torch

        got = module.in_batch_softmax_loss(torch.tensor(users), torch.tensor(items), torch.tensor(log_q), 0.5)
    else:
        got = module.in_batch_softmax_loss(users, items, log_q, 0.5)
    assert abs(float(got) - expected) < 1e-5


@pytest.fixture(scope="module")
def synthetic():
    data = course_lib.make_synthetic(n_users=400, n_items=500, mean_per_user=40, seed=0)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=0)
    popularity = course_lib.evaluate(Popularity().fit(train), train, test, cutoffs=10)["ndcg"].iloc[0]
    return train, test, popularity


QUALITY = {
    "ConcatMLP": dict(epochs=8, learning_rate=0.01),
    "TwoTowerMLP": dict(epochs=8, learning_rate=0.01),
    "TwoTowerRetrieval": dict(epochs=10, batch_size=256),
}


@pytest.mark.slow
@pytest.mark.parametrize("module", [torch_two_tower, tf_two_tower], ids=["torch", "tf"])
@pytest.mark.parametrize("name", list(QUALITY))
def test_beats_popularity_on_synthetic_data(module, name, synthetic):
    train, test, popularity = synthetic
    model = getattr(module, name)(seed=0, device="cpu", **QUALITY[name]).fit(train, show_progress=False)
    ndcg = course_lib.evaluate(model, train, test, cutoffs=10)["ndcg"].iloc[0]
    assert ndcg > popularity, (name, ndcg, popularity)


@pytest.mark.parametrize("module", [torch_two_tower, tf_two_tower], ids=["torch", "tf"])
@pytest.mark.parametrize("name, arguments, message", [
    ("ConcatMLP", dict(embedding_dim=0), "embedding_dim"),
    ("TwoTowerMLP", dict(hidden_dims=()), "hidden_dims"),
    ("TwoTowerMLP", dict(init="zeros"), "init"),
    ("ConcatMLP", dict(learning_rate=-1.0), "learning_rate"),
    ("TwoTowerRetrieval", dict(output_dim=0), "output_dim"),
    ("TwoTowerRetrieval", dict(item_id_dropout=1.0), "item_id_dropout"),
    ("TwoTowerRetrieval", dict(batch_size=1), "batch_size"),
    ("TwoTowerRetrieval", dict(temperature=0.0), "temperature"),
])
def test_bad_arguments_are_named(module, name, arguments, message, small):
    train, _ = small
    with pytest.raises(ValueError, match=message):
        getattr(module, name)(**arguments).fit(train, show_progress=False)


@pytest.mark.parametrize("module", [torch_two_tower, tf_two_tower], ids=["torch", "tf"])
def test_unknown_users_and_unfitted_models(module, small):
    train, _ = small
    with pytest.raises(RuntimeError, match="not fitted"):
        module.TwoTowerMLP().score([0])
    model = module.TwoTowerRetrieval(**MODELS["TwoTowerRetrieval"]).fit(train, show_progress=False)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([train.n_users])
    with pytest.raises(ValueError, match="columns"):
        model.score_new_items(np.zeros((1, 3)), [1990])
    scores = model.score_new_items(np.zeros((1, train.item_features.shape[1])), [1990], user_ids=[0, 1])
    assert scores.shape == (2, 1)
