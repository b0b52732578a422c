"""The NCF twins (course_lib/torch/mlp.py, course_lib/tf/mlp.py): parity, quality, errors."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.training_loop import learning_rate_at

torch_mlp = pytest.importorskip("course_lib.torch.mlp")
tf_mlp = pytest.importorskip("course_lib.tf.mlp")

MODELS = ["ExplicitNCF", "GMF", "MLP", "NeuMF", "HybridNeuMF"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Small models on a shared 2-core machine: one thread avoids PyTorch's thread contention."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


FRAMEWORKS = {"torch": torch_mlp, "tf": tf_mlp}


@pytest.fixture(scope="module")
def tiny():
    return course_lib.make_synthetic(n_users=50, n_items=70, mean_per_user=20, seed=1)


@pytest.fixture(scope="module")
def small_split():
    data = course_lib.make_synthetic(n_users=300, n_items=400, mean_per_user=40, seed=2)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


def _batch(name, rng, n_users, n_items, size=96):
    batch = {"users": rng.integers(0, n_users, size), "items": rng.integers(0, n_items, size)}
    if name == "ExplicitNCF":
        batch["ratings"] = rng.integers(1, 6, size).astype(np.float32)
    else:
        batch["labels"] = rng.integers(0, 2, size).astype(np.float32)
    return batch


@pytest.mark.parametrize("name", MODELS)
def test_same_weights_give_the_same_scores_loss_and_sgd_step(name, tiny):
    arguments = dict(epochs=0, show_progress=False, l1=1e-4, l2=1e-3)
    torch_model = getattr(torch_mlp, name)(**arguments).fit(tiny)
    tf_model = getattr(tf_mlp, name)(**arguments).fit(tiny)
    rng = np.random.default_rng(0)
    # random weights well away from the small initialization, so every path of the network matters
    weights = {k: (0.3 * rng.standard_normal(v.shape)).astype(np.float32) for k, v in torch_model.get_weights().items()}
    assert set(weights) == set(tf_model.get_weights())
    torch_model.set_weights(weights)
    tf_model.set_weights(weights)
    users = np.arange(tiny.n_users)
    np.testing.assert_allclose(torch_model.score(users), tf_model.score(users), atol=1e-5, rtol=1e-5)
    batch = _batch(name, rng, tiny.n_users, tiny.n_items)
    torch_loss, tf_loss = torch_model.loss_on_batch(batch), tf_model.loss_on_batch(batch)
    assert abs(torch_loss - tf_loss) <= 1e-5 * max(1.0, abs(torch_loss))
    torch_model.sgd_step(batch, 0.05)
    tf_model.sgd_step(batch, 0.05)
    after_torch, after_tf = torch_model.get_weights(), tf_model.get_weights()
    for key in after_torch:
        np.testing.assert_allclose(after_torch[key], after_tf[key], atol=1e-5, err_msg=key)
    assert not np.allclose(after_torch["output.weight"], weights["output.weight"])  # the step moved the weights


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", ["GMF", "MLP", "NeuMF", "HybridNeuMF"])
def test_implicit_models_beat_popularity(name, framework, small_split):
    train, test = small_split
    model = getattr(FRAMEWORKS[framework], name)(epochs=8, learning_rate=5e-3, batch_size=1024, seed=0,
                                                 show_progress=False).fit(train)
    ndcg = course_lib.evaluate(model, train, test, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0]
    popular = course_lib.evaluate(course_lib.Popularity().fit(train), train, test, cutoffs=10,
                                  beyond_accuracy=False)["ndcg"].iloc[0]
    assert ndcg > popular, (name, framework, ndcg, popular)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_explicit_model_beats_the_global_mean_and_records_curves(framework, small_split):
    train, test = small_split
    model = FRAMEWORKS[framework].ExplicitNCF(epochs=6, learning_rate=3e-3, scheduler="cosine", seed=0,
                                              show_progress=False).fit(train, validation=test)
    rmse = course_lib.metrics.rmse(test.ratings, model.predict(test.users, test.items))
    baseline = course_lib.metrics.rmse(test.ratings, np.full(len(test), train.ratings.mean()))
    assert rmse < baseline
    assert len(model.history_["loss"]) == len(model.history_["validation_loss"]) == 6
    predictions = model.predict(test.users[:50], test.items[:50])
    assert predictions.min() >= train.ratings.min() and predictions.max() <= train.ratings.max()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_keep_best_restores_the_best_validation_epoch(framework, small_split):
    train, test = small_split
    model = FRAMEWORKS[framework].NeuMF(epochs=4, learning_rate=5e-3, keep_best="metric", seed=0,
                                        show_progress=False).fit(train, validation=test)
    history = model.history_["validation_ndcg@10"]
    assert model.best_epoch_ == int(np.argmax(history)) + 1
    assert np.isclose(model._validation_value(train, test), max(history), atol=1e-6)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bad_arguments_give_clear_errors(framework, tiny):
    module = FRAMEWORKS[framework]
    with pytest.raises(ValueError, match="embedding_dim"):
        module.NeuMF(embedding_dim=0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="hidden_dims"):
        module.MLP(hidden_dims=(8, 0), show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="optimizer"):
        module.GMF(optimizer="adamw", show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="validation"):
        module.GMF(keep_best="metric", epochs=1, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="item_features"):
        module.HybridNeuMF(item_features=np.ones((3, 2)), epochs=0, show_progress=False).fit(tiny)
    model = module.GMF(epochs=0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([0, tiny.n_users])
    explicit = module.ExplicitNCF(epochs=0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="Unknown item ids"):
        explicit.predict([0], [tiny.n_items + 3])
    with pytest.raises(ValueError, match="pairs"):
        explicit.predict([0, 1], [0])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adagrad", "rmsprop"])
def test_every_optimizer_trains(framework, optimizer, tiny):
    model = FRAMEWORKS[framework].ExplicitNCF(optimizer=optimizer, epochs=2, learning_rate=1e-2, batch_size=256,
                                              show_progress=False).fit(tiny)
    assert np.all(np.isfinite(model.history_["loss"]))


def test_learning_rate_schedules():
    assert learning_rate_at(None, 0.1, 5, 10) == 0.1
    assert np.isclose(learning_rate_at("step", 0.1, 3, 9), 0.05)
    assert np.isclose(learning_rate_at("exponential", 0.1, 2, 10), 0.081)
    assert np.isclose(learning_rate_at("cosine", 0.1, 0, 10), 0.1) and learning_rate_at("cosine", 0.1, 9, 10) < 0.01


def test_hybrid_uses_the_item_features(tiny):
    model = torch_mlp.HybridNeuMF(epochs=0, show_progress=False).fit(tiny)
    assert model.item_features_.shape == (tiny.n_items, tiny.item_features.shape[1])
    given = np.random.default_rng(0).standard_normal((tiny.n_items, 5)).astype(np.float32)
    model = tf_mlp.HybridNeuMF(item_features=given, epochs=0, show_progress=False).fit(tiny)
    assert model.get_weights()["feature_projection.weight"].shape == (32, 5)


# ------------------------------------------------------------------ NeuMF from pre-trained GMF and MLP
@pytest.fixture(scope="module")
def pretrained(tiny):
    """A fitted GMF and MLP per framework, on the tiny set (with dropout, which scoring switches off)."""
    arguments = dict(embedding_dim=8, epochs=2, learning_rate=1e-2, batch_size=256, seed=3, show_progress=False)
    return {name: (module.GMF(**arguments).fit(tiny), module.MLP(hidden_dims=(16, 8), dropout=0.2, **arguments).fit(tiny))
            for name, module in FRAMEWORKS.items()}


@pytest.mark.parametrize("source", FRAMEWORKS)
def test_pretrained_neumf_is_the_same_in_both_frameworks(source, pretrained, tiny):
    gmf, mlp = pretrained[source]
    models = {name: module.NeuMF.from_pretrained(gmf, mlp, alpha=0.3, epochs=0, show_progress=False).fit(tiny)
              for name, module in FRAMEWORKS.items()}
    torch_weights, tf_weights = models["torch"].get_weights(), models["tf"].get_weights()
    assert set(torch_weights) == set(tf_weights)
    for key in torch_weights:
        np.testing.assert_allclose(torch_weights[key], tf_weights[key], atol=1e-5, err_msg=key)
    users = np.arange(tiny.n_users)
    np.testing.assert_allclose(models["torch"].score(users), models["tf"].score(users), atol=1e-5, rtol=1e-5)
    batch = _batch("NeuMF", np.random.default_rng(1), tiny.n_users, tiny.n_items)
    assert abs(models["torch"].loss_on_batch(batch) - models["tf"].loss_on_batch(batch)) <= 1e-5


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.8])
def test_pretrained_neumf_starts_at_the_weighted_sum_of_the_two_logits(framework, alpha, pretrained, tiny):
    gmf, mlp = pretrained[framework]
    model = FRAMEWORKS[framework].NeuMF.from_pretrained(gmf, mlp, alpha=alpha, epochs=0, show_progress=False).fit(tiny)
    # one output layer on [h_GMF ; h_MLP] with weights [alpha w_GMF ; (1 - alpha) w_MLP] and bias
    # alpha b_GMF + (1 - alpha) b_MLP: the logit is exactly alpha logit_GMF + (1 - alpha) logit_MLP
    users = np.arange(tiny.n_users)
    expected = alpha * gmf.score(users) + (1 - alpha) * mlp.score(users)
    np.testing.assert_allclose(model.score(users), expected, atol=1e-5, rtol=1e-5)
    weights, gmf_weights, mlp_weights = model.get_weights(), gmf.get_weights(), mlp.get_weights()
    np.testing.assert_array_equal(weights["gmf_user.weight"], gmf_weights["user_embedding.weight"])
    np.testing.assert_array_equal(weights["mlp_item.weight"], mlp_weights["item_embedding.weight"])
    np.testing.assert_array_equal(weights["layers.1.weight"], mlp_weights["layers.1.weight"])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_fine_tuning_leaves_the_pretrained_models_alone(framework, pretrained, tiny):
    gmf, mlp = pretrained[framework]
    before = gmf.get_weights()
    model = FRAMEWORKS[framework].NeuMF.from_pretrained(gmf, mlp, epochs=2, learning_rate=1e-2, batch_size=256,
                                                        show_progress=False).fit(tiny)
    assert model.embedding_dim == 8 and model.hidden_dims_ == (16, 8) and len(model.history_["loss"]) == 2
    assert not np.allclose(model.get_weights()["gmf_user.weight"], before["user_embedding.weight"])
    for key, value in gmf.get_weights().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_pretrained_neumf_bad_arguments(framework, pretrained, tiny):
    module = FRAMEWORKS[framework]
    gmf, mlp = pretrained[framework]
    with pytest.raises(ValueError, match="`gmf` is not fitted"):
        module.NeuMF.from_pretrained(module.GMF(embedding_dim=8), mlp)
    with pytest.raises(ValueError, match="`gmf` must be a fitted GMF"):
        module.NeuMF.from_pretrained(mlp, gmf)
    with pytest.raises(ValueError, match="`mlp` must be a fitted MLP"):
        module.NeuMF.from_pretrained(gmf, module.ExplicitNCF(embedding_dim=8, epochs=0, show_progress=False).fit(tiny))
    with pytest.raises(ValueError, match="embedding_dim"):
        module.NeuMF.from_pretrained(gmf, mlp, embedding_dim=16)
    other_gmf = module.GMF(embedding_dim=4, epochs=0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="embedding_dim"):
        module.NeuMF.from_pretrained(other_gmf, mlp)
    with pytest.raises(ValueError, match="hidden_dims"):
        module.NeuMF.from_pretrained(gmf, mlp, hidden_dims=(16,))
    with pytest.raises(ValueError, match="alpha"):
        module.NeuMF.from_pretrained(gmf, mlp, alpha=1.5)
    smaller = course_lib.make_synthetic(n_users=30, n_items=70, mean_per_user=20, seed=1)
    with pytest.raises(ValueError, match="`mlp` on 30"):
        module.NeuMF.from_pretrained(gmf, module.MLP(embedding_dim=8, hidden_dims=(16, 8), epochs=0,
                                                      show_progress=False).fit(smaller))
    with pytest.raises(ValueError, match="`train` has 30 x 70"):
        module.NeuMF.from_pretrained(gmf, mlp, epochs=0, show_progress=False).fit(smaller)
    with pytest.raises(TypeError, match="NeuMF.from_pretrained"):
        module.HybridNeuMF.from_pretrained(gmf, mlp)
