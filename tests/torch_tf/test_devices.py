"""Every model on the accelerator: the device choice, and (marked ``gpu``) fits on CUDA / MPS and
on TensorFlow's GPU. tests/conftest.py skips the ``gpu`` tests, with the reason, where there is none.

The CPU-side check that no tensor is made on the wrong device is tests/torch_tf/test_device_guard.py.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from course_lib.tf import training as tf_training  # noqa: E402
from course_lib.torch import training as torch_training  # noqa: E402
from tests.torch_tf.device_guard import MODELS, fit_and_score, tensors_off_device, tiny_data  # noqa: E402


def _accelerator() -> str:
    return "cuda" if torch.cuda.is_available() else "mps"


def _tf_devices(model) -> list[str]:
    """The device of every variable of a TF recommender's network (and of its weight map)."""
    variables = {id(v): v for v in model.network_.weights}
    for entry, _ in model._weight_map().values():
        entry = getattr(entry, "variable", entry)  # a GRU weight is a view of a Keras variable
        variables[id(entry)] = entry
    return [getattr(getattr(v, "value", v), "device", None) or v.device for v in variables.values()]


@pytest.fixture(scope="module")
def data():
    return tiny_data()


# ------------------------------------------------------------------ device choice, on any machine
def test_torch_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    for cuda, mps, expected in [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda mps=mps: mps)
        assert torch_training.get_device(None).type == expected
    assert torch_training.get_device("cpu") == torch.device("cpu")
    assert torch_training.get_device(torch.device("cpu")) == torch.device("cpu")


def test_torch_get_device_refuses_an_absent_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda'.*no CUDA GPU"):
        torch_training.get_device("cuda")
    with pytest.raises(ValueError, match=r"device='mps'.*MPS is not available"):
        torch_training.get_device("mps")


@pytest.mark.parametrize("name", MODELS)
def test_every_torch_model_refuses_an_absent_cuda(name, data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda'.*no CUDA GPU"):
        fit_and_score("torch", name, data, device="cuda")


def test_tf_get_device_reads_every_spelling_and_refuses_an_absent_gpu(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert tf_training.get_device(None) == "/GPU:0"
    for spelling in ("gpu", "GPU:0", "/GPU:0", "/device:GPU:0", "cuda"):
        assert tf_training.get_device(spelling) == "/GPU:0", spelling
    with pytest.raises(ValueError, match=r"device='/GPU:1'.*only 1 GPU"):
        tf_training.get_device("/GPU:1")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert tf_training.get_device(None) == "/CPU:0"
    for spelling in ("cpu", "CPU:0", "/CPU:0", "/device:CPU:0"):
        assert tf_training.get_device(spelling) == "/CPU:0", spelling
    for spelling in ("gpu", "/GPU:0", "cuda"):
        with pytest.raises(ValueError, match=rf"device='{spelling}'.*TensorFlow sees no GPU"):
            tf_training.get_device(spelling)
    with pytest.raises(ValueError, match="`device` must be"):
        tf_training.get_device("tpu")


@pytest.mark.parametrize("name", MODELS)
def test_every_tf_model_refuses_an_absent_gpu(name, data, monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with pytest.raises(ValueError, match=r"device='/GPU:0'.*TensorFlow sees no GPU"):
        fit_and_score("tf", name, data, device="/GPU:0")


def test_tf_variable_devices_are_read(data):
    """The helper the TF ``gpu`` tests rely on, checked on the CPU."""
    model, _ = fit_and_score("tf", "EASE", data, device="cpu")
    devices = _tf_devices(model)
    assert devices and all(d.endswith("CPU:0") for d in devices)


# ------------------------------------------------------------------ on the accelerator (skipped without one)
@pytest.mark.gpu
@pytest.mark.parametrize("name", MODELS)
def test_torch_model_trains_and_scores_on_the_accelerator(name, data):
    device = _accelerator()
    model, scores = fit_and_score("torch", name, data, device=device, seed=0)
    assert model.device_.type == device
    assert tensors_off_device(model) == []
    cpu_model, cpu_scores = fit_and_score("torch", name, data, device="cpu", seed=0)
    assert scores.shape == cpu_scores.shape and np.isfinite(scores).all()
    # The same seed gives the same start; one epoch later only float rounding (TF32, cuDNN) differs.
    scale = max(1.0, float(np.abs(cpu_scores).max()))
    np.testing.assert_allclose(scores, cpu_scores, rtol=2e-2, atol=2e-2 * scale)


@pytest.mark.gpu(framework="tensorflow")
@pytest.mark.parametrize("name", MODELS)
def test_tf_model_trains_and_scores_on_the_gpu(name, data):
    model, scores = fit_and_score("tf", name, data, device="/GPU:0", seed=0)
    assert model.device_ == "/GPU:0"
    devices = _tf_devices(model)
    assert devices and all("GPU:0" in d for d in devices), devices
    assert np.isfinite(scores).all()
