"""The BPR-MF twins: same weights give the same scores, losses and SGD steps in both frameworks;
each beats Popularity on synthetic data; bad arguments are named."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.baselines import Popularity
from course_lib.sampling import sample_triplets

torch_bpr = pytest.importorskip("course_lib.torch.bpr")
tf_bpr = pytest.importorskip("course_lib.tf.bpr")


def _batch(triplets):
    return dict(zip(("users", "positives", "negatives"), triplets, strict=True))


@pytest.fixture(scope="module")
def small():
    data = course_lib.make_synthetic(n_users=60, n_items=90, mean_per_user=25, min_per_user=10, seed=3)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


def test_twins_agree(small):
    train, _ = small
    arguments = dict(embedding_dim=8, epochs=1, batch_size=256, l2=0.05, seed=1, device="cpu")
    torch_model = torch_bpr.BPRMF(**arguments).fit(train, show_progress=False)
    tf_model = tf_bpr.BPRMF(**arguments).fit(train, show_progress=False)
    weights = torch_model.get_weights()
    assert sorted(weights) == ["item_bias", "item_embeddings", "user_embeddings"]
    tf_model.set_weights(weights)
    assert {k: v.shape for k, v in tf_model.get_weights().items()} == {k: v.shape for k, v in weights.items()}
    users = np.arange(train.n_users)
    np.testing.assert_allclose(torch_model.score(users), tf_model.score(users), atol=1e-5)
    np.testing.assert_allclose(torch_model.predict([0, 1], [2, 3]), tf_model.predict([0, 1], [2, 3]), atol=1e-5)
    batch = _batch(sample_triplets(train, n_samples=64, seed=0))
    assert abs(torch_model.loss_on_batch(batch) - tf_model.loss_on_batch(batch)) < 1e-5
    torch_model.sgd_step(batch, learning_rate=0.5)
    tf_model.sgd_step(batch, learning_rate=0.5)
    after_torch, after_tf = torch_model.get_weights(), tf_model.get_weights()
    for key in after_torch:
        assert not np.allclose(after_torch[key], weights[key]), key  # the step moved every weight
        np.testing.assert_allclose(after_torch[key], after_tf[key], atol=1e-5, err_msg=key)


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_loss_is_the_bpr_loss_plus_l2(module, small):
    train, _ = small
    model = module.BPRMF(embedding_dim=4, epochs=1, l2=0.1, seed=0, device="cpu").fit(train, show_progress=False)
    weights = model.get_weights()
    users, positives, negatives = sample_triplets(train, n_samples=20, seed=1)
    p, q, b = weights["user_embeddings"], weights["item_embeddings"], weights["item_bias"]
    x = (p[users] * (q[positives] - q[negatives])).sum(1) + b[positives] - b[negatives]
    penalty = (p[users] ** 2).sum(1) + (q[positives] ** 2).sum(1) + (q[negatives] ** 2).sum(1)
    penalty += b[positives] ** 2 + b[negatives] ** 2
    expected = np.mean(np.logaddexp(0, -x)) + 0.1 * penalty.mean()
    assert abs(model.loss_on_batch(_batch((users, positives, negatives))) - expected) < 1e-5


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_bpr_loss_is_stable(module):
    if module is torch_bpr:
        import torch

        value = module.bpr_loss(torch.tensor([-200.0, 200.0]), torch.tensor([0.0, 0.0]))
    else:
        value = module.bpr_loss(np.float32([-200.0, 200.0]), np.float32([0.0, 0.0]))
    assert abs(float(value) - 100.0) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_beats_popularity_on_synthetic_data(module):
    data = course_lib.make_synthetic(n_users=400, n_items=500, mean_per_user=40, seed=0)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=0)
    popularity = course_lib.evaluate(Popularity().fit(train), train, test, cutoffs=10)["ndcg"].iloc[0]
    model = module.BPRMF(epochs=20, batch_size=1024, seed=0, device="cpu")
    model.fit(train, validation=test, show_progress=False)
    assert len(model.history_["validation_ndcg@10"]) == 20
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    ndcg = course_lib.evaluate(model, train, test, cutoffs=10)["ndcg"].iloc[0]
    assert ndcg > popularity, (ndcg, popularity)


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
@pytest.mark.parametrize("arguments, message", [
    (dict(embedding_dim=0), "embedding_dim"),
    (dict(epochs=-1), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(l2=-0.1), "l2"),
    (dict(optimizer="adamw"), "optimizer"),
    (dict(init_std=0.0), "init_std"),
    (dict(patience=0), "patience"),
    (dict(keep_best="ndcg"), "keep_best"),
    (dict(validation_metric="rmse"), "validation_metric"),
])
def test_bad_arguments_are_named(module, arguments, message, small):
    train, _ = small
    with pytest.raises(ValueError, match=message):
        module.BPRMF(**arguments).fit(train, show_progress=False)


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_unknown_ids_and_unfitted_model(module, small):
    train, _ = small
    with pytest.raises(RuntimeError, match="not fitted"):
        module.BPRMF().score([0])
    model = module.BPRMF(embedding_dim=4, epochs=1, optimizer="sgd", device="cpu").fit(train, show_progress=False)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([-1])
    with pytest.raises(ValueError, match="Unknown item ids"):
        model.predict([0], [train.n_items])
    assert model.score([0, 1]).shape == (2, train.n_items)


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_history_follows_the_schema_with_and_without_validation(module, small):
    train, test = small
    plain = module.BPRMF(embedding_dim=4, epochs=2, batch_size=256, device="cpu", show_progress=False).fit(train)
    assert set(plain.history_) == {"loss", "seconds", "learning_rate"}
    assert all(len(v) == 2 for v in plain.history_.values())
    assert plain.history_["seconds"][1] >= plain.history_["seconds"][0] > 0
    model = module.BPRMF(embedding_dim=4, epochs=3, batch_size=256, scheduler="exponential", validation_metric="recall@5",
                         device="cpu", show_progress=False).fit(train, validation=test)
    assert set(model.history_) == {"loss", "seconds", "learning_rate", "validation_recall@5"}
    np.testing.assert_allclose(model.history_["learning_rate"], [0.01, 0.009, 0.0081])
    recall = course_lib.evaluate(model, train, test, cutoffs=5, beyond_accuracy=False)["recall"].iloc[0]
    assert model.history_["validation_recall@5"][-1] == pytest.approx(recall)
    assert model.stopped_epoch_ == 3 and 1 <= model.best_epoch_ <= 3
    with pytest.raises(ValueError, match="no validation loss"):  # BPR-MF has a metric, not a validation loss
        module.BPRMF(epochs=1, keep_best="loss").fit(train, validation=test, show_progress=False)
    with pytest.raises(ValueError, match="need a `validation` set"):
        module.BPRMF(epochs=1, patience=2).fit(train, show_progress=False)


@pytest.mark.parametrize("module", [torch_bpr, tf_bpr], ids=["torch", "tf"])
def test_keep_best_restores_the_best_epoch_and_patience_stops(module, small):
    train, test = small
    # A learning rate far too large: NDCG peaks early and falls, so the best epoch is not the last.
    arguments = dict(embedding_dim=32, epochs=12, batch_size=64, learning_rate=0.1, l2=0.0, seed=0, device="cpu",
                     show_progress=False)
    full = module.BPRMF(**arguments).fit(train, validation=test)
    curve = full.history_["validation_ndcg@10"]
    best = int(np.argmax(curve)) + 1
    assert best < 12 and full.best_epoch_ == best and full.stopped_epoch_ == 12
    kept = module.BPRMF(**arguments, keep_best="metric").fit(train, validation=test)
    assert kept.history_["validation_ndcg@10"] == pytest.approx(curve)  # the same run...
    ndcg = course_lib.evaluate(kept, train, test, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0]
    assert ndcg == pytest.approx(curve[best - 1])  # ...ending with the best epoch's weights
    patient = module.BPRMF(**arguments, patience=2).fit(train, validation=test)
    expected_stop = next((e + 1 for e in range(len(curve)) if e + 1 - (int(np.argmax(curve[:e + 1])) + 1) >= 2), 12)
    assert patient.stopped_epoch_ == expected_stop == len(patient.history_["loss"]) < 12
