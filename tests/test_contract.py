"""The model protocol, checked on every recommender class of the course (docs/model_protocol.md).

One registry: the framework-free models below plus every twin of ``tests/torch_tf/device_guard.MODELS``
in both frameworks. Adding a model to either registry puts it under every test of this file:

- ``fit`` returns ``self``; what ``fit`` learns is stored in attributes ending in ``_``;
- ``score`` gives a finite float array of shape (queries, n_items); ``evaluate`` never ranks a
  user's training items;
- the same seed gives the same scores twice; using a model before ``fit`` is a clear error;
- neural models: ``history_`` follows the schema of ``course_lib.training_loop`` with and without
  validation, ``keep_best`` / ``patience`` do what they say, ``get_weights`` / ``set_weights`` round trip.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import numpy as np
import pytest

import course_lib
from course_lib.evaluation import top_k_items
from course_lib.sequences import sequence_split

# name -> (module, constructor arguments, data kind); the framework-free recommenders of the course
FRAMEWORK_FREE: dict[str, tuple[str, dict[str, Any], str]] = {
    "Random": ("course_lib.baselines", {"seed": 0}, "ratings"),
    "Popularity": ("course_lib.baselines", {}, "ratings"),
    "ItemKNN": ("course_lib.baselines", {"n_neighbors": 10}, "ratings"),
    "EASE": ("course_lib.closed_form", {}, "ratings"),
    "GFCF": ("course_lib.closed_form", {"n_components": 8}, "ratings"),
    "GlobalMean": ("course_lib.rating_models", {}, "ratings"),
    "MostPopularItem": ("course_lib.sequences", {}, "sequences"),
    "PopularityDistribution": ("course_lib.sequences", {}, "sequences"),
}


def _twins() -> dict[str, tuple[str, dict[str, Any], str]]:
    try:
        from tests.torch_tf.device_guard import MODELS
    except ImportError:  # no torch: the twins are tested where it is installed
        return {}
    registry = {}
    for framework in ("torch", "tf"):
        if importlib.util.find_spec("torch" if framework == "torch" else "tensorflow") is None:
            continue
        for name, (file, arguments, kind) in MODELS.items():
            registry[f"{framework}.{name}"] = (f"course_lib.{framework}.{file}", arguments, kind)
    return registry


REGISTRY = {**FRAMEWORK_FREE, **_twins()}


@pytest.fixture(scope="module")
def data():
    ratings = course_lib.make_synthetic(n_users=40, n_items=60, mean_per_user=12, min_per_user=5, seed=0)
    train, test = course_lib.random_split(ratings, test_fraction=0.25, seed=0)
    fit_part, validation = course_lib.random_split(train, test_fraction=0.2, seed=1)
    sequences, held_out = sequence_split(ratings, max_length=6, test_fraction=0.25, seed=0)
    seq_fit, seq_validation = sequence_split(ratings, max_length=6, test_fraction=0.5, seed=1)
    return {"ratings": (train, test, fit_part, validation), "sequences": (sequences, held_out, seq_fit, seq_validation)}


def _class(key: str) -> type:
    module, _, _ = REGISTRY[key]
    return getattr(importlib.import_module(module), key.split(".")[-1])


def _make(key: str, **changes: Any) -> Any:
    cls = _class(key)
    _, arguments, _ = REGISTRY[key]
    init = inspect.signature(cls.__init__).parameters
    open_ended = cls.__init__ is not object.__init__ and any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in init.values())
    arguments = dict(arguments)
    for name, value in (("epochs", 2), ("show_progress", False), ("seed", 0)):
        if name in init or open_ended:
            arguments.setdefault(name, value)
    return cls(**{**arguments, **changes})


def _is_neural(key: str) -> bool:
    from course_lib.training_loop import TrainingLoop

    return issubclass(_class(key), TrainingLoop)


def _queries(key: str, data: dict) -> Any:
    kind = REGISTRY[key][2]
    return data["sequences"][1].inputs if kind == "sequences" else np.arange(10)


def _fit(key: str, data: dict, **changes: Any) -> Any:
    model = _make(key, **changes)
    train = data[REGISTRY[key][2]][0]
    returned = model.fit(train)
    assert returned is model, f"{key}.fit returned {type(returned).__name__}, not the model itself"
    return model


KEYS = sorted(REGISTRY)
CLOSED_FORM = {"EASE"}  # the twins of a linear solve: no training loop
NEURAL = [key for key in KEYS if "." in key and key.split(".")[-1] not in CLOSED_FORM]


@pytest.mark.parametrize("key", KEYS)
def test_fit_returns_self_and_learned_attributes_end_in_underscore(key, data):
    before = set(vars(_make(key)))
    model = _fit(key, data)
    learned = {name for name in set(vars(model)) - before if not name.startswith("_")}
    assert learned, f"{key}.fit stored nothing public"
    assert all(name.endswith("_") for name in learned), \
        f"{key}.fit stored {sorted(n for n in learned if not n.endswith('_'))}: learned attributes end in '_'"
    assert set(vars(_make(key))) == before, "the constructor only stores its arguments"


@pytest.mark.parametrize("key", KEYS)
def test_score_shape_dtype_and_same_seed_same_scores(key, data):
    queries = _queries(key, data)
    first = _fit(key, data).score(queries)
    n_items = data["ratings"][0].n_items
    assert isinstance(first, np.ndarray) and first.dtype.kind == "f", f"{key}.score gave {type(first)}"
    assert first.shape == (len(queries), n_items)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(_fit(key, data).score(queries), first, err_msg=f"{key}: same seed, other scores")


@pytest.mark.parametrize("key", [key for key in KEYS if REGISTRY[key][2] == "ratings"])
def test_evaluate_never_ranks_training_items(key, data):
    train, test, _, _ = data["ratings"]
    model = _fit(key, data)
    users = np.arange(train.n_users)
    top = top_k_items(model.score(users), 10, exclude=train.to_csr())
    seen = train.to_csr()
    for user in users:
        recommended = top[user][top[user] >= 0]
        assert not set(recommended) & set(seen[user].indices), f"{key} ranks training items of user {user}"
    course_lib.evaluate(model, train, test, cutoffs=10)  # runs on every model


@pytest.mark.parametrize("key", KEYS)
def test_use_before_fit_is_a_clear_error(key, data):
    with pytest.raises(RuntimeError, match=r"not fitted.*fit\("):
        _make(key).score(_queries(key, data))


# ------------------------------------------------------------------ neural models: history_ and weights
@pytest.mark.parametrize("key", NEURAL)
def test_every_neural_model_trains_with_the_one_loop(key):
    from course_lib.training_loop import TrainingLoop

    assert issubclass(_class(key), TrainingLoop), f"{key} has a training loop of its own"
    fit = inspect.signature(_class(key).fit).parameters
    assert list(fit)[1:4] == ["train", "validation", "show_progress"], f"{key}.fit{list(fit)}"


@pytest.mark.parametrize("key", NEURAL)
def test_history_follows_the_schema_without_validation(key, data):
    model = _fit(key, data, epochs=3)
    assert set(model.history_) == {"loss", "seconds", "learning_rate"}, f"{key}: {sorted(model.history_)}"
    assert all(len(values) == 3 for values in model.history_.values())
    assert np.all(np.diff(model.history_["seconds"]) >= 0) and model.history_["seconds"][0] >= 0
    assert np.isfinite(model.history_["loss"]).all()
    assert model.stopped_epoch_ == 3


@pytest.mark.parametrize("key", NEURAL)
def test_history_follows_the_schema_with_validation_and_keep_best_restores_the_best_epoch(key, data):
    _, _, fit_part, validation = data[REGISTRY[key][2]]
    model = _make(key, epochs=3, keep_best="metric")
    model.fit(fit_part, validation=validation)
    label = model._metric()[0]
    expected = {"loss", "seconds", "learning_rate", f"validation_{label}"}
    if hasattr(model, "_validation_loss"):
        expected.add("validation_loss")
    assert set(model.history_) == expected, f"{key}: {sorted(model.history_)}"
    curve = model.history_[f"validation_{label}"]
    assert len(curve) == 3
    lower = label in ("rmse", "mae")
    assert model.best_epoch_ == (int(np.argmin(curve)) if lower else int(np.argmax(curve))) + 1
    # the restored weights are the best epoch's: validating again gives the best value
    assert np.isclose(model._validation_value(fit_part, validation), curve[model.best_epoch_ - 1], atol=1e-5)


@pytest.mark.parametrize("key", NEURAL)
def test_patience_stops_training(key, data, monkeypatch):
    _, _, fit_part, validation = data[REGISTRY[key][2]]
    model = _make(key, epochs=6, patience=1)
    values = iter([0.5, 0.4, 0.3, 0.2, 0.1, 0.0] if model._metric()[1] not in ("rmse", "mae") else
                  [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    monkeypatch.setattr(type(model), "_validation_value", lambda self, train, validation: next(values))
    model.fit(fit_part, validation=validation)
    assert model.stopped_epoch_ == 2 and model.best_epoch_ == 1 and len(model.history_["loss"]) == 2


@pytest.mark.parametrize("key", NEURAL)
def test_keep_best_and_patience_need_validation_and_bad_metrics_are_named(key, data):
    train = data[REGISTRY[key][2]][0]
    with pytest.raises(ValueError, match="validation"):
        _make(key, keep_best="metric").fit(train)
    with pytest.raises(ValueError, match="validation_metric"):
        _make(key, validation_metric="ndgc@10").fit(train)
    with pytest.raises(ValueError, match="keep_best"):
        _make(key, keep_best="best").fit(train)


@pytest.mark.parametrize("key", NEURAL)
def test_weights_round_trip(key, data):
    queries = _queries(key, data)
    model = _fit(key, data)
    weights = model.get_weights()
    other = _fit(key, data, seed=1)
    assert any(not np.array_equal(weights[k], v) for k, v in other.get_weights().items())
    other.set_weights(weights)
    np.testing.assert_allclose(other.score(queries), model.score(queries), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", KEYS)
def test_a_failed_fit_leaves_the_model_as_it_was(key, data):
    """A fit that raises (here: validation data of the wrong shape or kind) changes nothing."""
    queries = _queries(key, data)
    model = _fit(key, data)
    before, state = model.score(queries), dict(vars(model))
    wrong = course_lib.make_synthetic(n_users=7, n_items=9, mean_per_user=4, min_per_user=2, seed=3)
    train = data[REGISTRY[key][2]][0]
    fit = inspect.signature(type(model).fit).parameters
    with pytest.raises((ValueError, TypeError)):
        if "validation" in fit:  # Interactions of other users and items: refused as validation for any model
            model.fit(train, validation=wrong)
        else:
            model.fit("not interactions")
    assert set(vars(model)) == set(state) and all(vars(model)[k] is state[k] for k in state), \
        f"{key}: the failed fit changed {[k for k in state if vars(model).get(k) is not state[k]]}"
    np.testing.assert_array_equal(model.score(queries), before)
