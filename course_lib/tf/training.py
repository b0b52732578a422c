"""What every TensorFlow recommender of the course shares: device choice, the weights as NumPy
under the PyTorch twin's names, mini-batches and the progress bar. Twin: course_lib/torch/training.py."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.base import Recommender, minibatches, progress

__all__ = ["get_device", "TFRecommender", "minibatches", "progress"]


def get_device(device: str | None = None) -> str:
    """A TensorFlow device string: ``device`` if given, else the first GPU, else the CPU.

    ``device`` may be written "cpu", "gpu", "GPU:1", "/GPU:0", "/device:GPU:0" or "cuda" (as for
    the PyTorch twin); an unknown kind or a GPU that is not there gives a ValueError.
    """
    if device is not None:
        parts = str(device).strip().lstrip("/").split(":")
        if parts[0].lower() == "device":  # "/device:GPU:0"
            parts = parts[1:]
        kind = {"cuda": "GPU"}.get(parts[0].lower(), parts[0].upper()) if parts else ""
        index = parts[1] if len(parts) > 1 else "0"
        if kind not in ("CPU", "GPU") or not index.isdigit() or len(parts) > 2:
            raise ValueError(f"`device` must be 'cpu', 'gpu' or a TensorFlow device such as '/GPU:0', got {device!r}.")
        if kind == "GPU" and len(tf.config.list_physical_devices("GPU")) <= int(index):
            found = len(tf.config.list_physical_devices("GPU"))
            raise ValueError(f"device={device!r} was asked for, but TensorFlow sees "
                             f"{'no GPU' if not found else f'only {found} GPU(s)'} here; use device='cpu'.")
        return f"/{kind}:{index}"
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
        self._check_fitted()
        mapping = self._weight_map()
        missing, unknown = sorted(set(mapping) - set(weights)), sorted(set(weights) - set(mapping))
        if missing or unknown:
            raise ValueError(f"Weights do not match this {type(self).__name__}: missing {missing}, unknown {unknown}.")
        for name, (variable, transpose) in mapping.items():
            value = np.asarray(weights[name])
            value = value.T if transpose else value
            if tuple(value.shape) != tuple(variable.shape):
                shown = value.T.shape if transpose else value.shape
                raise ValueError(f"Weight {name!r} has shape {shown}, expected the PyTorch twin's shape.")
            variable.assign(value.astype(variable.dtype))


def dense_weights(layer: keras.layers.Dense, prefix: str) -> dict[str, tuple[Any, bool]]:
    """The weight map entries of a Dense layer under the names of an ``nn.Linear`` at ``prefix``."""
    entries = {f"{prefix}.weight": (layer.kernel, True)}
    if layer.use_bias:
        entries[f"{prefix}.bias"] = (layer.bias, False)
    return entries


__all__ += ["dense_weights"]
