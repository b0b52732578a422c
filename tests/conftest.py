"""Tests marked ``gpu`` run only where there is an accelerator, and say why when they are skipped.

``@pytest.mark.gpu`` (PyTorch): needs CUDA or Apple MPS. ``@pytest.mark.gpu(framework="tensorflow")``:
needs a GPU that TensorFlow sees. The frameworks are imported only when such a test is collected.
"""

from __future__ import annotations

import os

import pytest

# Deciding whether a ``gpu`` test can run asks TensorFlow for its GPUs, and TensorFlow then logs
# "failed call to cuInit" (an ERROR line) on a machine without CUDA, in the middle of the test log.
# Level 3 keeps its C++ log to fatal errors; it is read when TensorFlow loads, so it is set here,
# before any test imports it. A level the user set is kept (test_tf_start_up.py runs its
# subprocesses and kernels without it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _torch_accelerator() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if torch.cuda.is_available():
        return "cuda"
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return "mps"
    return None


def _tensorflow_gpu() -> bool:
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return bool(tf.config.list_physical_devices("GPU"))


REASONS = {
    "torch": "gpu test: PyTorch sees no CUDA or MPS device (torch.cuda.is_available() and "
             "torch.backends.mps.is_available() are False)",
    "tensorflow": "gpu test: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    available: dict[str, bool] = {}
    for item in items:
        marker = item.get_closest_marker("gpu")
        if marker is None:
            continue
        framework = marker.kwargs.get("framework", "torch")
        if framework not in available:
            available[framework] = _torch_accelerator() is not None if framework == "torch" else _tensorflow_gpu()
        if not available[framework]:
            item.add_marker(pytest.mark.skip(reason=REASONS[framework]))
