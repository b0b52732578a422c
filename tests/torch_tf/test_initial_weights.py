"""Both twins of every pair start from the same weights: ``course_lib.initializers`` draws them once,
with NumPy, from the model's seed, and each twin loads them into its network. With the batches (also
drawn with NumPy) the same, a real ``fit`` from the same seed gives the same model in both frameworks,
up to float32 round-off; no weights are copied from one twin to the other here.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from course_lib.initializers import initial_weights  # noqa: E402
from tests.torch_tf.device_guard import MODELS, fit_and_score, tiny_data  # noqa: E402

TRAINED = sorted(set(MODELS) - {"EASE"})
SCORE_ATOL, SCORE_RTOL = 1e-4, 1e-3  # the parity suite's score tolerance (test_optimizer_parity.py)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def _unfitted(framework: str, name: str, seed: int, **changes):
    file, arguments, _ = MODELS[name]
    cls = getattr(importlib.import_module(f"course_lib.{framework}.{file}"), name)
    init = inspect.signature(cls.__init__).parameters
    arguments = {**arguments, "seed": seed, "epochs": 0, **changes}
    if "show_progress" in init or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in init.values()):
        arguments.setdefault("show_progress", False)
    return cls(**arguments)


def _start(framework: str, name: str, data: dict, seed: int = 3):
    """The model after ``fit`` with ``epochs=0``: its initial weights."""
    model = _unfitted(framework, name, seed)
    return model.fit(data[MODELS[name][2]])


@pytest.mark.parametrize("name", TRAINED)
def test_twins_start_from_the_same_weights(name, data):
    torch_model, tf_model = _start("torch", name, data), _start("tf", name, data)
    torch_weights, tf_weights = torch_model.get_weights(), tf_model.get_weights()
    assert sorted(torch_weights) == sorted(tf_weights), f"{name}: the twins' weight keys differ"
    shapes = {key: value.shape for key, value in torch_weights.items()}
    drawn = initial_weights(shapes, torch_model._initializers(), 3)
    for key, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[key], value, err_msg=f"{name}: {key} starts differently in the twins")
        np.testing.assert_array_equal(value, drawn[key], err_msg=f"{name}: {key} is not the shared NumPy draw")


@pytest.mark.parametrize("name", TRAINED)
def test_the_seed_moves_every_random_weight(name, data):
    first, second = _start("tf", name, data, seed=3).get_weights(), _start("tf", name, data, seed=4).get_weights()
    for key, value in first.items():
        if np.ptp(value) > 0:  # a weight drawn at random (not a constant start: zero biases, the mean)
            assert not np.allclose(value, second[key]), f"{name}: {key} is the same for seeds 3 and 4"


@pytest.mark.parametrize("name", TRAINED)
def test_twins_fit_alike_from_the_same_seed(name, data):
    """One real epoch of ``fit`` in each framework from the same seed, nothing copied: the same scores."""
    _, torch_scores = fit_and_score("torch", name, data, seed=2)
    _, tf_scores = fit_and_score("tf", name, data, seed=2)
    if name == "TwoTowerRetrieval":  # a bias with gradient 0 moves on round-off (test_optimizer_parity.py)
        torch_scores, tf_scores = (s - s.mean(axis=1, keepdims=True) for s in (torch_scores, tf_scores))
    np.testing.assert_allclose(tf_scores, torch_scores, atol=SCORE_ATOL, rtol=SCORE_RTOL,
                               err_msg=f"{name}: the twins fitted from seed 2 score differently")


@pytest.mark.parametrize("name", ["NeuMF", "MultDAE", "GRURecommender", "TwoTowerMLP"])
def test_the_suite_sees_twins_that_keep_their_own_draws(name, data, monkeypatch):
    """Without the shared draw each framework keeps the weights its own initializers drew (the same
    distributions, other values): the tests above must fail."""
    from course_lib.training_loop import TrainingLoop

    monkeypatch.setattr(TrainingLoop, "_start_from_initial_weights", lambda self: None)
    torch_weights, tf_weights = _start("torch", name, data).get_weights(), _start("tf", name, data).get_weights()
    differ = [key for key in torch_weights if not np.array_equal(torch_weights[key], tf_weights[key])]
    assert differ, f"{name}: the frameworks' own draws happen to agree, so the test above could not fail"
