"""LightGCN twins: same weights give the same scores, loss and SGD step; the same batches and edge
dropout; history_, keep_best and patience of the shared loop; both beat Popularity."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.baselines import Popularity

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
from course_lib.tf.graph import LightGCN as TFLightGCN  # noqa: E402
from course_lib.tf.graph import csr_adjacency  # noqa: E402
from course_lib.tf.graph import propagate as tf_propagate  # noqa: E402
from course_lib.torch.graph import LightGCN as TorchLightGCN  # noqa: E402
from course_lib.torch.graph import propagate as torch_propagate  # noqa: E402

FRAMEWORKS = {"torch": TorchLightGCN, "tf": TFLightGCN}


@pytest.fixture(scope="module")
def data():
    return course_lib.make_synthetic(n_users=120, n_items=90, mean_per_user=25, seed=7)


@pytest.fixture(scope="module")
def split():
    data = course_lib.make_synthetic(n_users=400, n_items=300, mean_per_user=40, seed=2)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


def _triplets(data, n_samples, seed):
    users, positives, negatives = course_lib.sample_triplets(data, n_samples=n_samples, seed=seed)
    return {"users": users, "positives": positives, "negatives": negatives}


def _pair(data, **options):
    torch_model = TorchLightGCN(embedding_dim=8, epochs=0, seed=3, **options).fit(data, show_progress=False)
    tf_model = TFLightGCN(embedding_dim=8, epochs=0, seed=3, **options).fit(data, show_progress=False)
    tf_model.set_weights(torch_model.get_weights())
    return torch_model, tf_model


@pytest.mark.parametrize("n_layers", [0, 1, 3])
def test_same_weights_same_scores_loss_and_sgd_step(data, n_layers):
    torch_model, tf_model = _pair(data, n_layers=n_layers)
    weights = torch_model.get_weights()
    assert {k: v.shape for k, v in weights.items()} == {k: v.shape for k, v in tf_model.get_weights().items()}
    assert set(weights) == {"user_embeddings", "item_embeddings"}
    users = np.arange(0, data.n_users, 2)
    assert np.abs(torch_model.score(users) - tf_model.score(users)).max() < 1e-5
    batch = _triplets(data, 256, seed=5)
    assert abs(torch_model.loss_on_batch(batch) - tf_model.loss_on_batch(batch)) < 1e-5
    torch_model.sgd_step(batch, learning_rate=20.0)
    tf_model.sgd_step(batch, learning_rate=20.0)
    after_torch, after_tf = torch_model.get_weights(), tf_model.get_weights()
    moved = max(np.abs(after_torch[k] - weights[k]).max() for k in weights)
    assert moved > 1e-3  # the step really changed the weights
    assert max(np.abs(after_torch[k] - after_tf[k]).max() for k in weights) < 1e-5
    assert np.abs(torch_model.score(users) - tf_model.score(users)).max() < 1e-5


def test_propagation_functions_agree_with_a_dense_layer_mean(data):
    from course_lib.closed_form import normalized_adjacency

    graph = normalized_adjacency(data).astype(np.float32)
    dense = graph.toarray()
    embeddings = np.random.default_rng(0).standard_normal((graph.shape[0], 4)).astype(np.float32)
    expected = np.mean([np.linalg.matrix_power(dense, k) @ embeddings for k in range(3)], axis=0)
    adjacency = torch.sparse_coo_tensor(np.vstack([graph.row, graph.col]), graph.data, graph.shape,
                                        check_invariants=True).coalesce()
    assert np.abs(torch_propagate(adjacency, torch.as_tensor(embeddings), 2).numpy() - expected).max() < 1e-5
    csr = graph.tocsr().tocoo()
    sparse = tf.sparse.SparseTensor(np.stack([csr.row, csr.col], 1).astype(np.int64), csr.data, csr.shape)
    for matrix in (sparse, csr_adjacency(sparse)):
        assert np.abs(tf_propagate(matrix, tf.constant(embeddings), 2).numpy() - expected).max() < 1e-5


def test_both_twins_draw_the_same_batches_and_edge_dropout(data):
    torch_model, tf_model = _pair(data, n_layers=2, edge_dropout=0.3, batch_size=700)
    torch_batches = list(torch_model._epoch_batches(np.random.default_rng(4)))
    tf_batches = list(tf_model._epoch_batches(np.random.default_rng(4)))
    assert [len(b["users"]) for b in torch_batches] == [700] * (len(data) // 700) + [len(data) % 700]
    for a, b in zip(torch_batches, tf_batches, strict=True):
        assert set(a) == {"users", "positives", "negatives", "edge_values"}
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    values, graph = torch_batches[0]["edge_values"], torch_model.graph_
    dropped = values == 0
    assert 0.2 < dropped.mean() < 0.4  # about 30% of the edges dropped, the others scaled by 1 / 0.7
    np.testing.assert_allclose(values[~dropped], graph.data[~dropped] / np.float32(0.7), rtol=1e-6)
    assert not np.array_equal(dropped, torch_batches[1]["edge_values"] == 0)  # a new draw each step
    # one step on the dropped graph: the same in both, and not the step on the whole graph
    whole = _pair(data, n_layers=2)[0]
    whole.set_weights(torch_model.get_weights())
    batch = torch_batches[0]
    for model in (torch_model, tf_model):
        model.sgd_step(batch, learning_rate=20.0)
    whole.sgd_step({k: v for k, v in batch.items() if k != "edge_values"}, learning_rate=20.0)
    after = {name: m.get_weights()["item_embeddings"] for name, m in
             {"torch": torch_model, "tf": tf_model, "whole graph": whole}.items()}
    assert np.abs(after["torch"] - after["tf"]).max() < 1e-5
    assert np.abs(after["torch"] - after["whole graph"]).max() > 1e-4
    assert "edge_values" not in next(iter(whole._epoch_batches(np.random.default_rng(4))))


def test_fit_draws_the_batches_of_its_seed(data):
    """The loop's generator is ``default_rng(seed)``: the batches of epoch 1 are the triplets that
    ``sample_triplets`` draws from it, in order, cut into ``batch_size`` pieces."""
    model = TorchLightGCN(embedding_dim=4, epochs=0, batch_size=300, seed=11).fit(data, show_progress=False)
    expected = course_lib.sample_triplets(data, seed=np.random.default_rng(11))
    batches = list(model._epoch_batches(np.random.default_rng(11)))
    for key, column in zip(("users", "positives", "negatives"), expected, strict=True):
        np.testing.assert_array_equal(np.concatenate([b[key] for b in batches]), column)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_history_follows_the_schema_with_and_without_validation(framework, split):
    from course_lib.training_loop import history_keys

    train, test = split
    plain = FRAMEWORKS[framework](embedding_dim=8, epochs=3, batch_size=1024, learning_rate=1e-2,
                                  show_progress=False).fit(train)
    assert set(plain.history_) == history_keys("ndcg@10", True, validated=False)
    assert all(len(v) == 3 for v in plain.history_.values())
    assert np.all(np.diff(plain.history_["seconds"]) > 0)  # cumulative seconds
    assert plain.history_["learning_rate"] == [1e-2] * 3
    assert not hasattr(plain, "epoch_seconds_")
    validated = FRAMEWORKS[framework](embedding_dim=8, epochs=3, batch_size=1024, learning_rate=1e-2,
                                      scheduler="cosine", validation_metric="recall@20",
                                      show_progress=False).fit(train, validation=test)
    assert set(validated.history_) == history_keys("recall@20", True, validated=True)
    assert all(len(v) == 3 for v in validated.history_.values())
    assert validated.history_["learning_rate"][0] == 1e-2 > validated.history_["learning_rate"][-1]
    recall = course_lib.evaluate(validated, train, test, cutoffs=(20,), beyond_accuracy=False)["recall"].iloc[0]
    assert np.isclose(validated.history_["validation_recall@20"][-1], recall)
    assert np.all(np.asarray(validated.history_["validation_loss"]) > 0)
    assert validated.best_epoch_ in (1, 2, 3) and validated.stopped_epoch_ == 3


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("keep_best", ["metric", "loss"])
def test_keep_best_restores_the_best_epoch_and_patience_stops(framework, keep_best, split):
    train, test = split
    # a learning rate far too large: the validation curve peaks early, then falls
    model = FRAMEWORKS[framework](embedding_dim=16, n_layers=1, epochs=30, batch_size=512, learning_rate=0.3,
                                  keep_best=keep_best, patience=2, seed=0, show_progress=False)
    model.fit(train, validation=test)
    key = "validation_ndcg@10" if keep_best == "metric" else "validation_loss"
    history = model.history_[key]
    best = int(np.argmax(history) if keep_best == "metric" else np.argmin(history)) + 1
    assert model.best_epoch_ == best
    assert model.stopped_epoch_ == best + 2 < 30  # stopped after two epochs without improvement
    assert len(model.history_["loss"]) == model.stopped_epoch_
    now = model._validation_loss(test) if keep_best == "loss" else model._validation_value(train, test)
    assert np.isclose(now, history[best - 1], rtol=1e-5)  # the weights of the best epoch are back


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_validation_needs_a_split_of_the_same_ids(framework, data, split):
    model = FRAMEWORKS[framework](embedding_dim=4, epochs=1, show_progress=False)
    with pytest.raises(ValueError, match="validation"):
        FRAMEWORKS[framework](epochs=1, keep_best="metric").fit(data, show_progress=False)
    with pytest.raises(ValueError, match="validation"):
        FRAMEWORKS[framework](epochs=1, patience=2).fit(data, show_progress=False)
    with pytest.raises(ValueError, match=r"`validation` is \(400, 300\)"):
        model.fit(data, validation=split[1])
    assert not hasattr(model, "n_items_")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_beats_popularity(split, framework):
    train, test = split
    model = FRAMEWORKS[framework](n_layers=2, epochs=15, learning_rate=2e-2, batch_size=1024, seed=0)
    model.fit(train, show_progress=False)
    ndcg = {name: course_lib.evaluate(m, train, test, cutoffs=(10,), beyond_accuracy=False)["ndcg"].iloc[0]
            for name, m in {"pop": Popularity().fit(train), "lightgcn": model}.items()}
    assert ndcg["lightgcn"] > ndcg["pop"], ndcg
    assert model.history_["loss"][-1] < model.history_["loss"][0]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("argument, value", [
    ("embedding_dim", 0), ("batch_size", 0), ("n_layers", -1), ("epochs", -1), ("learning_rate", 0.0),
    ("l2", -1.0), ("edge_dropout", 1.0), ("edge_dropout", -0.1), ("optimizer", "adamw"), ("scheduler", "linear"),
    ("validation_metric", "ndcg"), ("patience", 0),
])
def test_bad_arguments(data, framework, argument, value):
    with pytest.raises(ValueError, match=argument):
        FRAMEWORKS[framework](**{argument: value}).fit(data, show_progress=False)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_old_names_are_gone(framework):
    with pytest.raises(TypeError, match="l2_weight"):
        FRAMEWORKS[framework](l2_weight=1e-3)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_unknown_users_and_weight_mismatch(data, framework):
    model = FRAMEWORKS[framework](embedding_dim=4, epochs=0).fit(data, show_progress=False)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([data.n_users])
    with pytest.raises(ValueError, match="missing"):
        model.set_weights({"user_embeddings": np.zeros((data.n_users, 4))})


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_interrupted_fit_leaves_the_fitted_model_as_it_was(framework, data, monkeypatch):
    model = FRAMEWORKS[framework](embedding_dim=4, epochs=2, batch_size=512, show_progress=False).fit(data)
    weights, history, scores = model.get_weights(), dict(model.history_), model.score(np.arange(10))
    calls = []

    def interrupted(self, batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, batch)

    from course_lib.graph_base import LightGCNBase

    original = LightGCNBase._train_batch
    monkeypatch.setattr(LightGCNBase, "_train_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(data)
    assert len(calls) == 3  # two steps were taken on the new networks before the interruption
    assert model.history_ == history
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    np.testing.assert_array_equal(model.score(np.arange(10)), scores)
