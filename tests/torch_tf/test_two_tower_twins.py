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
        return {"users": users, "shown": np.where(rng.random(32) < 0.3, train.n_items, items), "items": items}
    return {"users": users, "items": items, "labels": rng.integers(0, 2, size=32).astype(np.float32)}


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


# ------------------------------------------------------------------ the shared loop: history_, keep_best, patience
FRAMEWORKS = {"torch": torch_two_tower, "tf": tf_two_tower}
TINY = {name: {**arguments, "epochs": 3, "show_progress": False, "device": "cpu"} for name, arguments in MODELS.items()}


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("name", list(MODELS))
def test_history_follows_the_schema_with_and_without_validation(framework, name, small):
    from course_lib.training_loop import history_keys, learning_rate_at

    train, validation = small
    cls = getattr(FRAMEWORKS[framework], name)
    plain = cls(**TINY[name], scheduler="cosine").fit(train)
    has_loss = hasattr(plain, "_validation_loss")
    assert has_loss == (name != "TwoTowerRetrieval")
    assert set(plain.history_) == history_keys("ndcg@10", has_loss, validated=False)
    assert all(len(values) == 3 for values in plain.history_.values())
    assert np.all(np.diff(plain.history_["seconds"]) > 0) and plain.history_["seconds"][0] > 0
    assert np.allclose(plain.history_["learning_rate"], [learning_rate_at("cosine", plain.learning_rate, e, 3)
                                                         for e in range(3)])
    assert np.isfinite(plain.history_["loss"]).all()
    validated = cls(**TINY[name], scheduler="cosine", validation_metric="recall@5").fit(train, validation=validation)
    assert set(validated.history_) == history_keys("recall@5", has_loss, validated=True)
    assert all(len(values) == 3 for values in validated.history_.values())
    recall = validated.history_["validation_recall@5"]
    assert validated.best_epoch_ == int(np.argmax(recall)) + 1 and validated.stopped_epoch_ == 3
    assert np.isclose(recall[-1], course_lib.evaluate(validated, train, validation, cutoffs=5)["recall"].iloc[0])
    np.testing.assert_allclose(validated.history_["loss"], plain.history_["loss"], rtol=1e-6)  # validation draws no batch


def _scripted(model, values):
    """Replace the validation metric by ``values`` (one per epoch) and record each epoch's weights."""
    seen = []

    def value(train, validation):
        seen.append(model.get_weights())
        return values[len(seen) - 1]

    model._validation_value = value
    return seen


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("name", list(MODELS))
def test_patience_stops_and_keep_best_restores_the_best_epoch(framework, name, small):
    train, validation = small
    model = getattr(FRAMEWORKS[framework], name)(**{**TINY[name], "epochs": 8}, keep_best="metric", patience=2)
    seen = _scripted(model, [0.1, 0.3, 0.2, 0.25, 0.9, 0.9, 0.9, 0.9])
    model.fit(train, validation=validation)
    assert (model.best_epoch_, model.stopped_epoch_, len(model.history_["loss"])) == (2, 4, 4)
    assert model.history_["validation_ndcg@10"] == [0.1, 0.3, 0.2, 0.25]
    restored = model.get_weights()
    assert any(not np.allclose(seen[1][k], seen[3][k]) for k in restored)  # training moved on after epoch 2
    for key, value in restored.items():
        np.testing.assert_array_equal(value, seen[1][key], err_msg=key)
    # without keep_best the last epoch's weights stay
    last = getattr(FRAMEWORKS[framework], name)(**{**TINY[name], "epochs": 8}, patience=2)
    seen = _scripted(last, [0.1, 0.3, 0.2, 0.25])
    last.fit(train, validation=validation)
    assert last.stopped_epoch_ == 4
    assert any(not np.allclose(value, seen[1][key]) for key, value in last.get_weights().items())


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_keep_best_loss_restores_the_lowest_validation_loss(framework, small):
    train, validation = small
    model = FRAMEWORKS[framework].TwoTowerMLP(**{**TINY["TwoTowerMLP"], "epochs": 4}, learning_rate=0.05,
                                              keep_best="loss").fit(train, validation=validation)
    losses = model.history_["validation_loss"]
    assert model.best_epoch_ == int(np.argmin(losses)) + 1
    assert np.isclose(model._validation_loss(validation), min(losses), rtol=1e-5)


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("name", list(MODELS))
def test_loop_arguments_are_checked_before_anything_changes(framework, name, small):
    train, validation = small
    cls = getattr(FRAMEWORKS[framework], name)
    cases = [(dict(keep_best="metric"), None, "need a `validation` set"),
             (dict(patience=0), validation, "`patience` must be an integer at least 1"),
             (dict(scheduler="linear"), None, "`scheduler` must be one of"),
             (dict(optimizer="adamw"), None, "`optimizer` must be one of"),
             (dict(l2=-1.0), None, "`l2` must be"),
             (dict(validation_metric="ndcg"), validation, "`validation_metric` must be one of the forms")]
    if name == "TwoTowerRetrieval":
        cases.append((dict(keep_best="loss"), validation, "has no validation loss"))
    for changes, held_out, message in cases:
        model = cls(**{**TINY[name], **changes})
        with pytest.raises(ValueError, match=message):
            model.fit(train, validation=held_out)
        assert not hasattr(model, "n_items_"), changes
    other = course_lib.make_synthetic(n_users=10, n_items=20, mean_per_user=5, min_per_user=3, seed=1)
    model = cls(**TINY[name])
    with pytest.raises(ValueError, match="`validation` is .* `train`"):
        model.fit(train, validation=other)


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("name", list(MODELS))
def test_l2_and_optimizer_reach_the_training_step(framework, name, small):
    train, _ = small
    cls = getattr(FRAMEWORKS[framework], name)
    model = cls(**{**TINY[name], "epochs": 0}, optimizer="sgd").fit(train)
    assert "sgd" in type(model.optimizer_).__name__.lower()
    batch = _batch(name, train, model)
    plain = model.loss_on_batch(batch)
    model.l2 = 0.01
    squares = sum(float(np.sum(w.astype(np.float64) ** 2)) for w in model.get_weights().values())
    assert np.isclose(model.loss_on_batch(batch), plain + 0.01 * squares, rtol=1e-4)


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_model(framework, name, small):
    train, _ = small
    cls = getattr(FRAMEWORKS[framework], name)
    first, second = cls(**TINY[name], seed=5).fit(train), cls(**TINY[name], seed=5).fit(train)
    assert first.history_["loss"] == second.history_["loss"]
    for key, value in first.get_weights().items():
        np.testing.assert_array_equal(value, second.get_weights()[key], err_msg=key)
