"""The parity suite: every twin pair trains alike with its REAL optimizer.

For each pair (NCF, autoencoders, BPR-MF, LightGCN, latent factors, sequence models, two-tower
variants) and each optimizer the model offers, both twins start from the same weights, take
``STEPS`` steps of their own optimizer (``optimizer_step``, the step ``fit`` takes) on the same
batches, and after every step the loss before the step and every weight must agree within the
tolerance below; then, after ``SHORT_FIT`` more steps from there, their scores must agree.
(EASE is closed-form: no optimizer, its twins are compared in test_ease_twins.py.)

Tolerances (float32 both sides; ``|torch - tf| <= atol + rtol * |torch|``):
- losses, every step: rtol 1e-5 (atol 1e-6);
- weights after each of the 5 steps: atol 2e-3 * learning_rate + rtol 1e-4, for every model
  and optimizer: two thousandths of one step. (Adam and RMSprop divide by sqrt(v): a weight whose
  gradients are near float32 round-off moves by a step whose size depends on that round-off, which
  is the largest difference seen, 0.9 thousandth of a step, in MultDAE);
- scores after the short fit (25 steps): atol 1e-4 + rtol 1e-3.
One weight is left out of the weight comparison: TwoTowerRetrieval's last item-tower bias. The
in-batch softmax adds ``u . b`` to every logit of a row, so that bias has a true gradient of 0 and
its computed gradient is float round-off, which Adam's ``m / sqrt(v)`` turns into a full step of
either sign; that bias shifts all of a user's scores by one constant, so this pair's scores are
compared after subtracting each user's mean score (what a ranking sees).
Keras' own Adam (epsilon 1e-7 added to the uncorrected sqrt(v), and a row seen twice in a batch
adding g1^2 + g2^2 to v), RMSprop (rho 0.9, epsilon under the root) and Adagrad (accumulator from
0.1), the TensorFlow twins' settings before course_lib.optim, differ from PyTorch's by up to a
whole step after the first step (Adam, Adagrad) and ten steps (RMSprop):
``test_the_suite_sees_keras_default_optimizers`` checks that they fail the suite, and
``test_the_suite_sees_an_adam_epsilon_of_1e7_alone`` that PyTorch's Adam with Keras' epsilon does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import course_lib
from course_lib.optim import OPTIMIZERS

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from course_lib.sequences import sequence_split  # noqa: E402
from course_lib.tf import autoencoder as tf_ae  # noqa: E402
from course_lib.tf import bpr as tf_bpr  # noqa: E402
from course_lib.tf import graph as tf_graph  # noqa: E402
from course_lib.tf import latent_factor as tf_lf  # noqa: E402
from course_lib.tf import mlp as tf_mlp  # noqa: E402
from course_lib.tf import sequence as tf_sequence  # noqa: E402
from course_lib.tf import training as tf_training  # noqa: E402
from course_lib.tf import two_tower as tf_two_tower  # noqa: E402
from course_lib.torch import autoencoder as torch_ae  # noqa: E402
from course_lib.torch import bpr as torch_bpr  # noqa: E402
from course_lib.torch import graph as torch_graph  # noqa: E402
from course_lib.torch import latent_factor as torch_lf  # noqa: E402
from course_lib.torch import mlp as torch_mlp  # noqa: E402
from course_lib.torch import sequence as torch_sequence  # noqa: E402
from course_lib.torch import two_tower as torch_two_tower  # noqa: E402

STEPS, SHORT_FIT = 5, 25
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6
WEIGHT_STEPS, WEIGHT_RTOL = 2e-3, 1e-4  # atol: WEIGHT_STEPS * learning_rate
SCORE_ATOL, SCORE_RTOL = 1e-4, 1e-3


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models on a shared CPU: one thread avoids the clash of torch's and TensorFlow's pools."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def interactions():
    return course_lib.make_synthetic(n_users=40, n_items=90, mean_per_user=15, min_per_user=8, seed=4)


@pytest.fixture(scope="module")
def sequences():
    data = course_lib.make_synthetic(n_users=40, n_items=30, mean_per_user=15, min_per_user=8, seed=4)
    return sequence_split(data, max_length=6, test_fraction=0.25, seed=0)[0]


# ------------------------------------------------------------------ the pairs
def _ncf_batch(rng, data, explicit):
    batch = {"users": rng.integers(0, data.n_users, 64), "items": rng.integers(0, data.n_items, 64)}
    if explicit:
        batch["ratings"] = rng.integers(1, 6, 64).astype(np.float32)
    else:
        batch["labels"] = rng.integers(0, 2, 64).astype(np.float32)
    return batch


def _profile_batch(rng, data, variational):
    profiles = data.to_csr().toarray()[rng.choice(data.n_users, 16, replace=False)].astype(np.float32)
    batch = {"profiles": profiles, "inputs": profiles * (rng.random(profiles.shape) >= 0.3) / np.float32(0.7)}
    batch["inputs"] = batch["inputs"].astype(np.float32)
    if variational:
        batch.update(epsilon=rng.standard_normal((16, 6)).astype(np.float32), beta=np.float32(0.2))
    return batch


def _triplets(rng, data):
    from course_lib.sampling import sample_triplets

    return sample_triplets(data, n_samples=48, seed=rng)


def _triplet_batch(rng, data):
    return dict(zip(("users", "positives", "negatives"), _triplets(rng, data), strict=True))


def _ratings(rng, data):
    rows = rng.choice(len(data), 48, replace=False)
    return {"users": data.users[rows], "items": data.items[rows], "ratings": data.ratings[rows].astype(np.float32)}


def _pointwise(rng, data):
    rows = rng.choice(len(data), 48, replace=False)
    return {"users": data.users[rows].astype(np.int64), "items": data.items[rows].astype(np.int64),
            "labels": rng.integers(0, 2, 48).astype(np.float32)}


def _retrieval(rng, data):
    rows = rng.choice(len(data), 32, replace=False)
    items = data.items[rows].astype(np.int64)
    return {"users": data.users[rows].astype(np.int64), "shown": np.where(rng.random(32) < 0.3, data.n_items, items),
            "items": items}


def _sequence_batch(rng, data):
    return data.sequences[rng.choice(len(data.sequences), 16, replace=False)]


@dataclass
class Pair:
    name: str
    torch_class: Any
    tf_class: Any
    arguments: dict
    data: str                                     # the fixture's name
    batch: Callable                               # (rng, data) -> one batch
    optimizers: tuple = ("adam",)
    unpack: bool = False                          # optimizer_step(*batch) rather than optimizer_step(batch)
    random_weights: float | None = 0.3            # scale of the random start; None: the torch twin's own init
    score_input: Callable = field(default=lambda data: np.arange(data.n_users))
    round_off_only: tuple = ()                    # weights whose true gradient is 0 (see the module's docstring)

    def step(self, model, batch):
        return model.optimizer_step(*batch) if self.unpack else model.optimizer_step(batch)


NCF = dict(embedding_dim=6, epochs=0, l1=1e-4, l2=1e-3, learning_rate=5e-3, show_progress=False)
AE = dict(hidden_dim=12, latent_dim=6, dropout=0.0, epochs=0, l2=1e-3, learning_rate=5e-3, show_progress=False)
PAIRS = [
    Pair("ExplicitNCF", torch_mlp.ExplicitNCF, tf_mlp.ExplicitNCF, dict(NCF, hidden_dims=(8, 4)), "interactions",
         lambda rng, data: _ncf_batch(rng, data, True), OPTIMIZERS),
    Pair("GMF", torch_mlp.GMF, tf_mlp.GMF, NCF, "interactions", lambda rng, data: _ncf_batch(rng, data, False), OPTIMIZERS),
    Pair("MLP", torch_mlp.MLP, tf_mlp.MLP, dict(NCF, hidden_dims=(8, 4)), "interactions",
         lambda rng, data: _ncf_batch(rng, data, False), OPTIMIZERS),
    Pair("NeuMF", torch_mlp.NeuMF, tf_mlp.NeuMF, dict(NCF, hidden_dims=(8, 4)), "interactions",
         lambda rng, data: _ncf_batch(rng, data, False), OPTIMIZERS),
    Pair("DenoisingAutoencoder", torch_ae.DenoisingAutoencoder, tf_ae.DenoisingAutoencoder, AE, "interactions",
         lambda rng, data: _profile_batch(rng, data, False), OPTIMIZERS),
    Pair("MultDAE", torch_ae.MultDAE, tf_ae.MultDAE, AE, "interactions",
         lambda rng, data: _profile_batch(rng, data, False), OPTIMIZERS),
    Pair("MultVAE", torch_ae.MultVAE, tf_ae.MultVAE, AE, "interactions",
         lambda rng, data: _profile_batch(rng, data, True), OPTIMIZERS),
    Pair("BPRMF", torch_bpr.BPRMF, tf_bpr.BPRMF, dict(embedding_dim=6, epochs=0, l2=0.01, learning_rate=1e-2,
                                                      device="cpu"),
         "interactions", _triplet_batch, OPTIMIZERS),
    Pair("LightGCN", torch_graph.LightGCN, tf_graph.LightGCN, dict(embedding_dim=6, n_layers=2, epochs=0,
                                                                   learning_rate=1e-2, l2=1e-3, show_progress=False),
         "interactions", _triplet_batch, OPTIMIZERS),
    Pair("BiasOnly", torch_lf.BiasOnly, tf_lf.BiasOnly, dict(epochs=0, learning_rate=1e-2, l2=0.1),
         "interactions", _ratings, OPTIMIZERS),
    Pair("LatentFactor", torch_lf.LatentFactor, tf_lf.LatentFactor, dict(embedding_dim=6, epochs=0, learning_rate=1e-2,
                                                                         l2=0.1),
         "interactions", _ratings, OPTIMIZERS),
    Pair("ConcatMLP", torch_two_tower.ConcatMLP, tf_two_tower.ConcatMLP,
         dict(embedding_dim=6, hidden_dims=(8, 4), epochs=0, l2=1e-3, learning_rate=3e-3, device="cpu"), "interactions",
         _pointwise, OPTIMIZERS),
    Pair("TwoTowerMLP", torch_two_tower.TwoTowerMLP, tf_two_tower.TwoTowerMLP,
         dict(embedding_dim=6, hidden_dims=(8, 4), epochs=0, l2=1e-3, learning_rate=3e-3, device="cpu"), "interactions",
         _pointwise, OPTIMIZERS),
    Pair("TwoTowerRetrieval", torch_two_tower.TwoTowerRetrieval, tf_two_tower.TwoTowerRetrieval,
         dict(embedding_dim=6, feature_dim=4, hidden_dim=8, output_dim=6, epochs=0, learning_rate=5e-3, device="cpu"),
         "interactions", _retrieval, OPTIMIZERS, round_off_only=("item_tower.linears.1.bias",)),
    Pair("MeanPooling", torch_sequence.MeanPooling, tf_sequence.MeanPooling,
         dict(embedding_dim=6, epochs=0, learning_rate=1e-2, l2=1e-3), "sequences", _sequence_batch, OPTIMIZERS,
         random_weights=None, score_input=lambda data: data.sequences[:10, 1:]),
    Pair("GRURecommender", torch_sequence.GRURecommender, tf_sequence.GRURecommender,
         dict(embedding_dim=6, epochs=0, learning_rate=1e-2, l2=1e-3), "sequences", _sequence_batch, OPTIMIZERS,
         random_weights=None, score_input=lambda data: data.sequences[:10, 1:]),
    Pair("SelfAttention", torch_sequence.SelfAttention, tf_sequence.SelfAttention,
         dict(embedding_dim=6, n_blocks=1, n_heads=2, epochs=0, learning_rate=1e-2, l2=1e-3), "sequences",
         _sequence_batch, OPTIMIZERS, random_weights=None, score_input=lambda data: data.sequences[:10, 1:]),
]
CASES = [pytest.param(pair, optimizer, id=f"{pair.name}-{optimizer}") for pair in PAIRS for optimizer in pair.optimizers]


def _fit_pair(pair, optimizer, data):
    arguments = dict(pair.arguments, seed=0)
    if optimizer != "adam":
        arguments["optimizer"] = optimizer
    fit = {"show_progress": False} if "show_progress" not in arguments else {}
    torch_model = pair.torch_class(**arguments).fit(data, **fit)
    tf_model = pair.tf_class(**arguments).fit(data, **fit)
    weights = torch_model.get_weights()
    if pair.random_weights is not None:  # well away from the small initializations: every path matters
        rng = np.random.default_rng(1)
        weights = {k: (pair.random_weights * rng.standard_normal(v.shape)).astype(np.float32) for k, v in weights.items()}
        torch_model.set_weights(weights)
    tf_model.set_weights(weights)
    return torch_model, tf_model


def _close(name, torch_value, tf_value, atol, rtol, what):
    np.testing.assert_allclose(tf_value, torch_value, atol=atol, rtol=rtol, err_msg=f"{name}: {what}")


def compare_training(pair, optimizer, data, steps=STEPS, short_fit=SHORT_FIT):
    """Both twins from the same weights, the same batches, their own optimizers: the comparison."""
    torch_model, tf_model = _fit_pair(pair, optimizer, data)
    start = torch_model.get_weights()
    rng = np.random.default_rng(2)
    for step in range(1, steps + 1):
        batch = pair.batch(rng, data)
        torch_loss, tf_loss = pair.step(torch_model, batch), pair.step(tf_model, batch)
        _close(pair.name, torch_loss, tf_loss, LOSS_ATOL, LOSS_RTOL, f"loss before step {step} ({optimizer})")
        torch_weights, tf_weights = torch_model.get_weights(), tf_model.get_weights()
        for key in set(torch_weights) - set(pair.round_off_only):
            _close(pair.name, torch_weights[key], tf_weights[key], WEIGHT_STEPS * pair.arguments["learning_rate"], WEIGHT_RTOL,
                   f"{key} after step {step} ({optimizer})")
    moved = [key for key in start if not np.allclose(start[key], torch_weights[key])]
    assert moved, f"{pair.name}: {steps} steps of {optimizer} moved no weight"
    for _ in range(short_fit):
        batch = pair.batch(rng, data)
        pair.step(torch_model, batch)
        pair.step(tf_model, batch)
    inputs = pair.score_input(data)
    torch_scores, tf_scores = torch_model.score(inputs), tf_model.score(inputs)
    if pair.round_off_only:
        torch_scores, tf_scores = (s - s.mean(axis=1, keepdims=True) for s in (torch_scores, tf_scores))
    _close(pair.name, torch_scores, tf_scores, SCORE_ATOL, SCORE_RTOL,
           f"scores after {steps + short_fit} steps ({optimizer})")


@pytest.mark.parametrize("pair, optimizer", CASES)
def test_twins_train_alike(pair, optimizer, request):
    compare_training(pair, optimizer, request.getfixturevalue(pair.data))


# ------------------------------------------------------------------ the suite can fail
def _keras_defaults(name: str, learning_rate: float):
    """The TensorFlow twins' optimizers before course_lib.optim: Keras' own classes and defaults."""
    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "adagrad": keras.optimizers.Adagrad,
               "rmsprop": keras.optimizers.RMSprop}
    return classes[name](learning_rate=learning_rate)


# Every place a TF model may build its optimizer from (raising=False: a module that no longer imports it)
TF_MODULES = (tf_training, tf_mlp, tf_bpr, tf_graph, tf_lf, tf_sequence, tf_two_tower)


@pytest.mark.parametrize("name, optimizer", [("NeuMF", "adam"), ("MultVAE", "rmsprop"), ("GMF", "adagrad"),
                                             ("LatentFactor", "adam"), ("SelfAttention", "adam"),
                                             ("LightGCN", "rmsprop")])
def test_the_suite_sees_keras_default_optimizers(name, optimizer, request, monkeypatch):
    for module in TF_MODULES:
        monkeypatch.setattr(module, "make_optimizer", _keras_defaults, raising=False)
    pair = next(p for p in PAIRS if p.name == name)
    with pytest.raises(AssertionError, match=r"after step|scores after"):
        compare_training(pair, optimizer, request.getfixturevalue(pair.data), short_fit=0)


def test_the_suite_sees_momentum_in_one_twin(interactions, monkeypatch):
    """``sgd`` is plain SGD in both: a momentum of 0.9 in one twin (NCF's old ``sgd``) is caught."""
    monkeypatch.setattr(tf_training, "make_optimizer",
                        lambda name, learning_rate: keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9))
    pair = next(p for p in PAIRS if p.name == "GMF")
    with pytest.raises(AssertionError, match="after step"):
        compare_training(pair, "sgd", interactions, short_fit=0)


@pytest.mark.parametrize("name", ["NeuMF", "MultDAE", "LatentFactor", "BPRMF", "TwoTowerMLP"])
def test_the_suite_sees_an_adam_epsilon_of_1e7_alone(name, request, monkeypatch):
    """The same update as PyTorch's Adam, only epsilon 1e-7 (Keras' default) instead of 1e-8."""
    from course_lib.tf.training import TorchAdam

    for module in TF_MODULES:
        monkeypatch.setattr(module, "make_optimizer", lambda _, learning_rate: TorchAdam(learning_rate, epsilon=1e-7),
                            raising=False)
    pair = next(p for p in PAIRS if p.name == name)
    with pytest.raises(AssertionError, match="after step"):
        compare_training(pair, "adam", request.getfixturevalue(pair.data), short_fit=0)


# ------------------------------------------------------------------ initialization and seeds
# The twins' initial weights (the same NumPy draw in both) are tested in test_initial_weights.py.


def _with_dropout(pair):
    arguments = dict(pair.arguments)
    if "dropout" in arguments or pair.name in ("NeuMF", "MLP", "SelfAttention"):
        arguments["dropout"] = 0.3
    return arguments


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
def test_torch_fit_leaves_the_global_generator_alone(pair, request):
    """The seed reaches the weights (and dropout masks) through the model's own generator: fitting
    neither reads nor moves torch's global generator, and the same seed gives the same model."""
    data = request.getfixturevalue(pair.data)
    arguments = dict(_with_dropout(pair), seed=5, epochs=1)
    fit = {"show_progress": False} if "show_progress" not in arguments else {}
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = pair.torch_class(**arguments).fit(data, **fit)
    assert torch.equal(torch.get_rng_state(), state), f"{pair.name}: fit moved torch's global generator"
    torch.manual_seed(999)  # another global state: the model must not depend on it
    second = pair.torch_class(**arguments).fit(data, **fit)
    other = pair.torch_class(**dict(arguments, seed=6)).fit(data, **fit)
    inputs = pair.score_input(data)
    np.testing.assert_array_equal(first.score(inputs), second.score(inputs), err_msg=pair.name)
    if pair.name != "BiasOnly":  # zero biases and one batch holding every rating: nothing random to seed
        assert not np.allclose(first.score(inputs), other.score(inputs)), f"{pair.name}: seed 6 gave seed 5's model"
