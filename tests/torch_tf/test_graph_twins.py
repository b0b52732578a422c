"""LightGCN twins: same weights give the same scores, loss and SGD step; both beat Popularity."""

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
    batch = course_lib.sample_triplets(data, n_samples=256, seed=5)
    assert abs(torch_model.loss_on_batch(*batch) - tf_model.loss_on_batch(*batch)) < 1e-5
    torch_model.sgd_step(*batch, learning_rate=20.0)
    tf_model.sgd_step(*batch, learning_rate=20.0)
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


def test_edge_dropout_draws_the_same_edges_in_both(data):
    torch_model = TorchLightGCN(embedding_dim=8, epochs=2, edge_dropout=0.3, seed=1, learning_rate=1e-2)
    tf_model = TFLightGCN(embedding_dim=8, epochs=2, edge_dropout=0.3, seed=1, learning_rate=1e-2)
    torch_model.fit(data, show_progress=False)
    tf_model.fit(data, show_progress=False)
    assert len(torch_model.history_["loss"]) == len(tf_model.history_["loss"]) == 2
    assert len(torch_model.epoch_seconds_) == 2
    assert np.isfinite(torch_model.history_["loss"]).all() and np.isfinite(tf_model.history_["loss"]).all()


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
    ("l2_weight", -1.0), ("edge_dropout", 1.0),
])
def test_bad_arguments(data, framework, argument, value):
    with pytest.raises(ValueError, match=argument):
        FRAMEWORKS[framework](**{argument: value}).fit(data, show_progress=False)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_unknown_users_and_weight_mismatch(data, framework):
    model = FRAMEWORKS[framework](embedding_dim=4, epochs=0).fit(data, show_progress=False)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([data.n_users])
    with pytest.raises(ValueError, match="missing"):
        model.set_weights({"user_embeddings": np.zeros((data.n_users, 4))})
