"""The autoencoder twins (course_lib/torch/autoencoder.py, course_lib/tf/autoencoder.py): parity, quality, errors."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.batches import corrupt_profiles, kl_beta

torch_ae = pytest.importorskip("course_lib.torch.autoencoder")
tf_ae = pytest.importorskip("course_lib.tf.autoencoder")

MODELS = ["DenoisingAutoencoder", "MultDAE", "MultVAE"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Small models on a shared 2-core machine: one thread avoids PyTorch's thread contention."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


FRAMEWORKS = {"torch": torch_ae, "tf": tf_ae}
SMALL = dict(hidden_dim=24, latent_dim=8)


@pytest.fixture(scope="module")
def tiny():
    return course_lib.make_synthetic(n_users=50, n_items=70, mean_per_user=20, seed=1)


@pytest.fixture(scope="module")
def small_split():
    data = course_lib.make_synthetic(n_users=400, n_items=300, mean_per_user=40, seed=2)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


@pytest.mark.parametrize("name", MODELS)
def test_same_weights_give_the_same_scores_loss_and_sgd_step(name, tiny):
    arguments = dict(epochs=0, show_progress=False, l2=1e-3, **SMALL)
    torch_model = getattr(torch_ae, name)(**arguments).fit(tiny)
    tf_model = getattr(tf_ae, name)(**arguments).fit(tiny)
    rng = np.random.default_rng(0)
    weights = {k: (0.3 * rng.standard_normal(v.shape)).astype(np.float32) for k, v in torch_model.get_weights().items()}
    assert set(weights) == set(tf_model.get_weights())
    torch_model.set_weights(weights)
    tf_model.set_weights(weights)
    users = np.arange(tiny.n_users)
    np.testing.assert_allclose(torch_model.score(users), tf_model.score(users), atol=1e-5, rtol=1e-5)
    profiles = tiny.to_csr().toarray()[:16]
    batch = {"profiles": profiles, "inputs": corrupt_profiles(profiles, 0.5, rng)}
    if name == "MultVAE":  # a fixed epsilon makes the VAE's loss deterministic
        batch.update(epsilon=rng.standard_normal((16, 8)).astype(np.float32), beta=np.float32(0.2))
    torch_loss, tf_loss = torch_model.loss_on_batch(batch), tf_model.loss_on_batch(batch)
    assert abs(torch_loss - tf_loss) <= 1e-5 * max(1.0, abs(torch_loss))
    torch_model.sgd_step(batch, 0.01)
    tf_model.sgd_step(batch, 0.01)
    after_torch, after_tf = torch_model.get_weights(), tf_model.get_weights()
    for key in after_torch:
        np.testing.assert_allclose(after_torch[key], after_tf[key], atol=1e-5, err_msg=key)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", MODELS)
def test_autoencoders_beat_popularity(name, framework, small_split):
    train, test = small_split
    settings = (dict(epochs=30, learning_rate=1e-2, hidden_dim=128, latent_dim=32) if name == "DenoisingAutoencoder"
                else dict(epochs=40, learning_rate=3e-3, hidden_dim=64, latent_dim=16))
    model = getattr(FRAMEWORKS[framework], name)(batch_size=32, seed=0, show_progress=False, **settings).fit(train)
    ndcg = course_lib.evaluate(model, train, test, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0]
    popular = course_lib.evaluate(course_lib.Popularity().fit(train), train, test, cutoffs=10,
                                  beyond_accuracy=False)["ndcg"].iloc[0]
    assert ndcg > popular, (name, framework, ndcg, popular)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_fold_in_scores_held_out_users_and_keep_best(framework):
    data = course_lib.make_synthetic(n_users=300, n_items=200, mean_per_user=30, seed=3)
    train, fold_in, test = course_lib.user_split(data, test_fraction=0.2, seed=0)
    inner, validation = course_lib.random_split(train, test_fraction=0.1, seed=0)
    model = FRAMEWORKS[framework].MultVAE(epochs=4, keep_best="metric", seed=0, show_progress=False,
                                          **SMALL).fit(inner, validation)
    assert model.best_epoch_ == int(np.argmax(model.history_["validation_ndcg@10"])) + 1
    result = course_lib.evaluate(model.fold_in(fold_in), fold_in, test, cutoffs=10)
    assert result.attrs["n_users_evaluated"] == len(np.unique(test.users))
    held_out = np.unique(test.users)[:3]
    np.testing.assert_allclose(model.fold_in(fold_in).score(held_out),
                               model.score_profiles(fold_in.to_csr()[held_out]), rtol=1e-6)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bad_arguments_give_clear_errors(framework, tiny):
    module = FRAMEWORKS[framework]
    with pytest.raises(ValueError, match="latent_dim"):
        module.MultVAE(latent_dim=0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="dropout"):
        module.MultDAE(dropout=1.0, show_progress=False).fit(tiny)
    with pytest.raises(ValueError, match="switch_on"):
        module.DenoisingAutoencoder(switch_on=1.5, show_progress=False).fit(tiny)
    model = module.MultDAE(epochs=0, show_progress=False, **SMALL).fit(tiny)
    with pytest.raises(ValueError, match="Unknown user ids"):
        model.score([-1])
    with pytest.raises(ValueError, match="profiles"):
        model.score_profiles(np.ones((2, tiny.n_items + 1)))


def test_corruption_and_annealing():
    rng = np.random.default_rng(0)
    profiles = (rng.random((100, 200)) < 0.2).astype(np.float32)
    corrupted = corrupt_profiles(profiles, 0.5, rng)
    assert np.all(corrupted[profiles == 0] == 0)
    assert abs((corrupted[profiles == 1] == 0).mean() - 0.5) < 0.05
    assert np.allclose(corrupted[corrupted > 0], 2.0)
    noisy = corrupt_profiles(profiles, 0.1, rng, switch_on_probability=0.9)
    assert (noisy[profiles == 0] > 0).mean() > 0.85  # the seed notebook's mask: mostly noise
    assert kl_beta(0, 0.2, 100) == 0 and kl_beta(50, 0.2, 100) == 0.2 and np.isclose(kl_beta(10, 0.2, 100), 0.1)
