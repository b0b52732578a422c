"""The rating twins (course_lib/torch/latent_factor.py, course_lib/tf/latent_factor.py): the same
weights give the same predictions, loss and SGD step; each model beats its baseline; bad
arguments are refused."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.data.synthetic import make_synthetic
from course_lib.metrics import rmse
from course_lib.rating_models import GlobalMean
from course_lib.splits import random_split

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from course_lib.tf import latent_factor as tf_lf  # noqa: E402
from course_lib.torch import latent_factor as torch_lf  # noqa: E402

MODELS = {"BiasOnly": {}, "LatentFactor": {"embedding_dim": 6}}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models: one thread avoids the clash of torch's and TensorFlow's thread pools."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny():
    return random_split(make_synthetic(n_users=50, n_items=40, mean_per_user=20, seed=2), test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def small():
    return random_split(make_synthetic(n_users=400, n_items=300, mean_per_user=50, seed=5), test_fraction=0.2, seed=0)


def _pair(name, train):
    torch_model = getattr(torch_lf, name)(epochs=1, **MODELS[name]).fit(train, show_progress=False)
    tf_model = getattr(tf_lf, name)(epochs=1, **MODELS[name]).fit(train, show_progress=False)
    return torch_model, tf_model


@pytest.mark.parametrize("name", MODELS)
def test_same_weights_give_same_predictions_loss_and_sgd_step(name, tiny):
    train, test = tiny
    torch_model, tf_model = _pair(name, train)
    torch_weights = torch_model.get_weights()
    assert {k: v.shape for k, v in torch_weights.items()} == {k: v.shape for k, v in tf_model.get_weights().items()}
    tf_model.set_weights(torch_weights)
    np.testing.assert_allclose(tf_model.predict(test.users, test.items), torch_model.predict(test.users, test.items),
                               atol=1e-5)
    np.testing.assert_allclose(tf_model.score(np.arange(5)), torch_model.score(np.arange(5)), atol=1e-5)
    batch = {"users": train.users[:64], "items": train.items[:64], "ratings": train.ratings[:64].astype(np.float32)}
    assert abs(tf_model.loss_on_batch(batch) - torch_model.loss_on_batch(batch)) < 1e-5
    torch_model.sgd_step(batch, learning_rate=0.5)
    tf_model.sgd_step(batch, learning_rate=0.5)
    torch_after, tf_after = torch_model.get_weights(), tf_model.get_weights()
    for key in torch_after:
        np.testing.assert_allclose(tf_after[key], torch_after[key], atol=1e-5, err_msg=key)


def test_l2_loss_is_half_the_sum_and_mse_loss_the_mean():
    errors = np.random.default_rng(0).normal(size=100).astype(np.float32)
    l2 = float(tf.nn.l2_loss(errors))
    mse = float(torch.nn.functional.mse_loss(torch.as_tensor(errors), torch.zeros(100)))
    assert abs(l2 - 0.5 * np.sum(errors**2)) < 1e-4
    assert abs(2 * l2 / len(errors) - mse) < 1e-5  # what the TensorFlow twin's loss does


@pytest.mark.parametrize("framework", [torch_lf, tf_lf], ids=["torch", "tf"])
def test_history_and_errors(framework, tiny):
    train, test = tiny
    model = framework.LatentFactor(embedding_dim=4, epochs=3).fit(train, validation=test, show_progress=False)
    assert set(model.history_) == {"loss", "seconds", "learning_rate", "validation_rmse", "validation_loss"}
    assert all(len(v) == 3 for v in model.history_.values())
    assert model.history_["validation_rmse"][-1] == pytest.approx(rmse(test.ratings, model.predict(test.users, test.items)))
    predictions = model.predict(test.users, test.items)
    assert predictions.min() >= train.ratings.min() and predictions.max() <= train.ratings.max()
    assert model.score(np.array([0, 3])).shape == (2, train.n_items)
    for bad in ({"embedding_dim": 0}, {"epochs": -1}, {"learning_rate": 0}, {"l2": -1.0}, {"batch_size": 0},
                {"optimizer": "adamw"}, {"init_std": 0.0}, {"patience": 0}, {"validation_metric": "ndcg@10"},
                {"scheduler": "linear"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            framework.LatentFactor(**bad).fit(train, show_progress=False)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.predict([train.n_users], [0])
    with pytest.raises(ValueError, match="Unknown item ids"):
        model.predict([0], [train.n_items + 3])
    with pytest.raises(ValueError, match="one pair per rating"):
        model.predict([0, 1], [0])
    unrated = type(train)(users=train.users, items=train.items, n_users=train.n_users, n_items=train.n_items)
    with pytest.raises(ValueError, match="no ratings"):
        framework.BiasOnly().fit(unrated, show_progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("framework", [torch_lf, tf_lf], ids=["torch", "tf"])
def test_models_beat_their_baselines(framework, small):
    train, test = small
    mean_rmse = rmse(test.ratings, GlobalMean().fit(train).predict(test.users, test.items))
    bias = framework.BiasOnly(epochs=10).fit(train, show_progress=False)
    bias_rmse = rmse(test.ratings, bias.predict(test.users, test.items))
    factors = framework.LatentFactor(epochs=10).fit(train, show_progress=False)
    factor_rmse = rmse(test.ratings, factors.predict(test.users, test.items))
    assert factor_rmse < bias_rmse < mean_rmse


def test_the_penalty_is_in_the_loss_on_the_rows_of_the_batch(tiny):
    """``l2`` is a term of the loss (not an optimizer decay): loss_on_batch is the MSE plus ``l2`` times
    the mean over the batch of the squared rows it touches, in both twins, by hand in NumPy."""
    train, _ = tiny
    batch = {"users": train.users[:32], "items": train.items[:32], "ratings": train.ratings[:32].astype(np.float32)}
    for framework in (torch_lf, tf_lf):
        model = framework.LatentFactor(embedding_dim=3, epochs=1, l2=0.3, show_progress=False).fit(train)
        w = model.get_weights()
        u, i = batch["users"], batch["items"]
        p, q = w["user_factors.weight"][u], w["item_factors.weight"][i]
        bu, bi = w["user_bias.weight"][u, 0], w["item_bias.weight"][i, 0]
        prediction = w["global_mean"] + bu + bi + (p * q).sum(1)
        penalty = ((p**2).sum(1) + (q**2).sum(1) + bu**2 + bi**2).mean()
        expected = np.mean((prediction - batch["ratings"]) ** 2) + 0.3 * penalty
        assert model.loss_on_batch(batch) == pytest.approx(expected, rel=1e-5), framework.__name__


@pytest.mark.parametrize("framework", [torch_lf, tf_lf], ids=["torch", "tf"])
def test_history_schema_without_validation_and_keep_best_with_patience(framework, tiny):
    train, test = tiny
    plain = framework.BiasOnly(epochs=2, show_progress=False).fit(train)
    assert set(plain.history_) == {"loss", "seconds", "learning_rate"}
    assert plain.history_["learning_rate"] == [0.005, 0.005]
    mae = framework.BiasOnly(epochs=2, validation_metric="mae", show_progress=False).fit(train, validation=test)
    assert set(mae.history_) == {"loss", "seconds", "learning_rate", "validation_mae", "validation_loss"}
    predictions = mae.predict(test.users, test.items)
    assert mae.history_["validation_mae"][-1] == pytest.approx(float(np.mean(np.abs(predictions - test.ratings))))
    # No penalty and a large learning rate on a tiny set: the factors overfit, the validation RMSE
    # falls and then rises, so the best epoch is not the last.
    arguments = dict(embedding_dim=16, epochs=15, batch_size=64, learning_rate=0.05, l2=0.0, show_progress=False)
    full = framework.LatentFactor(**arguments).fit(train, validation=test)
    curve = full.history_["validation_rmse"]
    best = int(np.argmin(curve)) + 1
    assert best < 15 and full.best_epoch_ == best
    kept = framework.LatentFactor(**arguments, keep_best="metric").fit(train, validation=test)
    assert rmse(test.ratings, kept.predict(test.users, test.items)) == pytest.approx(curve[best - 1], rel=1e-5)
    by_loss = framework.LatentFactor(**arguments, keep_best="loss").fit(train, validation=test)
    lowest = int(np.argmin(by_loss.history_["validation_loss"])) + 1
    assert by_loss.best_epoch_ == lowest
    patient = framework.LatentFactor(**arguments, patience=2).fit(train, validation=test)
    assert patient.stopped_epoch_ == len(patient.history_["validation_rmse"]) < 15
    assert patient.history_["validation_rmse"][-3] == min(patient.history_["validation_rmse"])
    with pytest.raises(ValueError, match="need a `validation` set"):
        framework.LatentFactor(keep_best="metric").fit(train, show_progress=False)
