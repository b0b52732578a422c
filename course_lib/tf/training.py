"""What every TensorFlow recommender of the course shares: device choice, the weights as NumPy
under the PyTorch twin's names, mini-batches and the progress bar. Twin: course_lib/torch/training.py."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.base import Recommender, minibatches, progress
from course_lib.validation import check_weights, device_unavailable, parse_device

__all__ = ["get_device", "TFRecommender", "minibatches", "progress"]


def get_device(device: str | None = None) -> str:
    """A TensorFlow device string: ``device`` if given, else the first GPU, else the CPU.

    The spellings are those of ``course_lib.validation.parse_device`` (the same in both
    frameworks: "cpu", "gpu", "GPU:1", "/GPU:0", "/device:GPU:0", "cuda"); an unknown spelling or
    a device that is absent gives one short ValueError ("mps" is PyTorch's only).
    """
    if device is not None:
        kind, index = parse_device(device)
        if kind == "mps":
            raise device_unavailable(device, "TensorFlow", "no Apple MPS device (MPS is PyTorch's)")
        if kind == "gpu":
            found = len(tf.config.list_physical_devices("GPU"))
            if found <= index:
                raise device_unavailable(device, "TensorFlow", "no GPU" if not found else f"only {found} GPU(s)")
        return f"/{kind.upper()}:{index}"
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


class TFRecommender(Recommender):
    """Base of the TensorFlow recommenders: a ``network_`` (a ``keras.Model``) built on ``device_``.

    Subclasses implement ``_weight_map()``: a dict from the PyTorch twin's ``state_dict`` name to
    ``(variable, transpose)``; ``transpose`` is True for Dense kernels, which Keras stores as
    (in, out) where ``nn.Linear`` stores (out, in). ``get_weights()`` then returns exactly the
    PyTorch twin's keys and shapes.
    """

    network_: keras.Model
    device_: str

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:  # pragma: no cover - interface
        raise NotImplementedError

    def get_weights(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        weights = {}
        for name, (variable, transpose) in self._weight_map().items():
            value = np.asarray(variable.numpy()).copy()
            weights[name] = value.T if transpose else value
        return weights

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights (as ``get_weights`` returns them, the PyTorch twin's keys and shapes).

        Every key, shape and value is checked before any variable is assigned, so a refused dict
        leaves the model as it was."""
        self._check_fitted()
        mapping = self._weight_map()
        expected = {name: tuple(variable.shape)[::-1] if transpose else tuple(variable.shape)
                    for name, (variable, transpose) in mapping.items()}
        checked = check_weights(weights, expected, type(self).__name__)
        for name, (variable, transpose) in mapping.items():
            value = checked[name].T if transpose else checked[name]
            variable.assign(value.astype(variable.dtype))


def dense_weights(layer: keras.layers.Dense, prefix: str) -> dict[str, tuple[Any, bool]]:
    """The weight map entries of a Dense layer under the names of an ``nn.Linear`` at ``prefix``."""
    entries = {f"{prefix}.weight": (layer.kernel, True)}
    if layer.use_bias:
        entries[f"{prefix}.bias"] = (layer.bias, False)
    return entries


__all__ += ["dense_weights"]
