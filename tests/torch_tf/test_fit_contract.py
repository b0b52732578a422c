"""Every trained recommender, in both frameworks, takes ``fit(..., show_progress=False)`` (DESIGN.md)."""

from __future__ import annotations

import importlib
import inspect

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from tests.torch_tf.device_guard import MODELS, tiny_data  # noqa: E402

CLOSED_FORM = {"EASE"}  # one linear solve: nothing to show progress of


@pytest.mark.parametrize("framework", ["torch", "tf"])
@pytest.mark.parametrize("name", sorted(set(MODELS) - CLOSED_FORM))
def test_fit_takes_show_progress(framework, name):
    cls = getattr(importlib.import_module(f"course_lib.{framework}.{MODELS[name][0]}"), name)
    assert "show_progress" in inspect.signature(cls.fit).parameters, f"{framework} {name}.fit has no show_progress"


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_show_progress_false_prints_no_bar_and_true_does(framework, capsys):
    data = tiny_data()["ratings"]
    module = importlib.import_module(f"course_lib.{framework}.autoencoder")
    arguments = dict(hidden_dim=8, latent_dim=4, batch_size=16, epochs=1, seed=0)
    module.MultVAE(**arguments).fit(data, show_progress=False)
    assert "MultVAE" not in capsys.readouterr().err
    module.MultVAE(**arguments, show_progress=False).fit(data, show_progress=True)
    assert f"MultVAE ({'PyTorch' if framework == 'torch' else 'TensorFlow'})" in capsys.readouterr().err


# ------------------------------------------------------------------ state changes only on success
# Every model of both frameworks: arguments checked by course_lib.validation (one message format),
# epochs=0 meaning "no training", a failed fit leaving the model as it was, set_weights all or nothing.
import numpy as np  # noqa: E402

from course_lib.validation import DEVICE_SPELLINGS  # noqa: E402
from tests.torch_tf.device_guard import fit_and_score  # noqa: E402

FRAMEWORKS = ["torch", "tf"]
TRAINED = sorted(set(MODELS) - CLOSED_FORM)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def _model(framework: str, name: str, **changes):
    file, arguments, _ = MODELS[name]
    cls = getattr(importlib.import_module(f"course_lib.{framework}.{file}"), name)
    init = inspect.signature(cls.__init__).parameters
    arguments = {**arguments, **changes}
    if "show_progress" in init:
        arguments.setdefault("show_progress", False)
    if "epochs" in init:
        arguments.setdefault("epochs", 1)
    return cls(**arguments)


def _fit(model, data, name: str):
    kind = MODELS[name][2]
    kwargs = {"show_progress": False} if "show_progress" in inspect.signature(model.fit).parameters else {}
    return model.fit(data[kind], **kwargs)


def _queries(data, name: str):
    return data["sequence_inputs"] if MODELS[name][2] == "sequences" else np.arange(8)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", TRAINED)
def test_epochs_zero_means_no_training_in_every_model(framework, name, data):
    model = _fit(_model(framework, name, epochs=0), data, name)
    assert model.history_.get("loss", []) == []
    assert np.isfinite(model.score(_queries(data, name))).all()
    untrained = _model(framework, name, epochs=0)
    _fit(untrained, data, name)
    for key, value in model.get_weights().items():  # the same seed, no step taken: the same weights
        np.testing.assert_array_equal(value, untrained.get_weights()[key], err_msg=key)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", TRAINED)
@pytest.mark.parametrize(("argument", "value", "message"), [
    ("epochs", 2.5, "`epochs` must be an integer at least 0, got epochs=2.5."),
    ("epochs", True, "`epochs` must be an integer at least 0, got epochs=True (a bool)."),
    ("epochs", -1, "`epochs` must be an integer at least 0, got epochs=-1."),
    ("batch_size", 64.0, "`batch_size` must be an integer at least"),
    ("seed", 1.5, "`seed` must be an integer at least 0, got seed=1.5."),
    ("seed", -3, "`seed` must be an integer at least 0, got seed=-3."),
    ("learning_rate", "0.01", "`learning_rate` must be a finite number above 0, got learning_rate='0.01' "
                              "(a string: write the number without quotes)."),
    ("learning_rate", float("nan"), "`learning_rate` must be a finite number above 0, got learning_rate=nan."),
])
def test_every_model_checks_arguments_with_one_rule_and_format(framework, name, argument, value, message, data):
    # Some models pass their training arguments on through **arguments: ask the built model.
    if not hasattr(_model(framework, name), argument):
        pytest.skip(f"{name} has no `{argument}`")
    model = _model(framework, name, **{argument: value})
    with pytest.raises(ValueError) as caught:
        _fit(model, data, name)
    assert str(caught.value).startswith(message)
    assert not hasattr(model, "n_items_")  # refused before anything changed


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", [n for n in TRAINED if "embedding_dim" in MODELS[n][1]])
def test_a_fractional_embedding_dim_is_refused_not_truncated(framework, name, data):
    with pytest.raises(ValueError, match=r"^`embedding_dim` must be an integer at least 1, got embedding_dim=2\.5\.$"):
        _fit(_model(framework, name, embedding_dim=2.5), data, name)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_unknown_device_gets_one_short_message_in_both_frameworks(framework, name, data):
    model = _model(framework, name, device="tpu")
    with pytest.raises(ValueError) as caught:
        _fit(model, data, name)
    assert str(caught.value) == f"`device` must be one of {DEVICE_SPELLINGS}, got device='tpu'."
    with pytest.raises(RuntimeError, match=r"not fitted yet: call \.fit\(train\) first"):
        model.score(_queries(data, name))


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_failed_fit_leaves_a_fitted_model_as_it_was(framework, name, data):
    model, scores = fit_and_score(framework, name, data)
    weights = model.get_weights()
    n_items = model.n_items_
    from course_lib import Interactions

    # Data of another catalogue size: a fit that got as far as the data would change n_items_.
    small = data["ratings"].subset(data["ratings"].items < 30)
    other = {**data, "ratings": Interactions(users=small.users, items=small.items, ratings=small.ratings,
                                             timestamps=small.timestamps, n_items=30)}
    model.device = "tpu"  # refused during the new fit
    with pytest.raises(ValueError, match="`device` must be one of"):
        _fit(model, other, name)
    model.device = None
    assert model.n_items_ == n_items
    np.testing.assert_array_equal(model.score(_queries(data, name)), scores)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_set_weights_checks_everything_before_assigning_anything(framework, name, data):
    model, scores = fit_and_score(framework, name, data)
    weights = model.get_weights()
    keys = sorted(weights)
    changed = {k: v + 1.0 for k, v in weights.items()}  # every key would change...
    poisoned = dict(changed)
    poisoned[keys[-1]] = np.full_like(weights[keys[-1]], np.nan)  # ...but the last one holds NaN
    with pytest.raises(ValueError, match=r"holds \d+ NaN or infinite values\. Nothing was assigned\."):
        model.set_weights(poisoned)
    wrong_shape = dict(changed)
    wrong_shape[keys[-1]] = np.zeros(weights[keys[-1]].shape + (2,), dtype=np.float32)
    with pytest.raises(ValueError, match=r"has shape .*, expected .*Nothing was assigned"):
        model.set_weights(wrong_shape)
    with pytest.raises(ValueError, match=r"missing \[.*\], unknown \['extra'\]"):
        model.set_weights({**changed, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match="must hold numbers"):
        model.set_weights({**changed, keys[0]: np.full(weights[keys[0]].shape, "x")})
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    np.testing.assert_array_equal(model.score(_queries(data, name)), scores)
