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
    batch = (train.users[:64], train.items[:64], train.ratings[:64])
    assert abs(tf_model.loss_on_batch(*batch) - torch_model.loss_on_batch(*batch)) < 1e-5
    torch_model.sgd_step(*batch, learning_rate=0.5)
    tf_model.sgd_step(*batch, learning_rate=0.5)
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
    assert set(model.history_) == {"loss", "train_rmse", "test_rmse"}
    assert all(len(v) == 3 for v in model.history_.values())
    assert model.history_["test_rmse"][-1] == pytest.approx(rmse(test.ratings, model.predict(test.users, test.items)))
    predictions = model.predict(test.users, test.items)
    assert predictions.min() >= train.ratings.min() and predictions.max() <= train.ratings.max()
    assert model.score(np.array([0, 3])).shape == (2, train.n_items)
    for bad in ({"embedding_dim": 0}, {"epochs": -1}, {"learning_rate": 0}, {"weight_decay": -1.0}, {"batch_size": 0}):
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
