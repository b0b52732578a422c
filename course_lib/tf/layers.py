"""The seeded Keras pieces the TensorFlow networks are built from, and their weights under the
PyTorch twin's names. Twin: course_lib/torch/layers.py.

Every initializer gets a seed of its own: an unseeded Keras initializer draws from global state
(a second fit would differ), and one initializer object shared by two tables can give them
identical values. The ``*_weights`` helpers give the ``(variable, transpose)`` entries of a
``TFRecommender._weight_map``. Shapes: B batch, L positions, D embedding_dim, H hidden size.

A recommender's ``fit`` then replaces these initial weights by the NumPy draw of
``course_lib.initializers`` (the same values in both twins); the initializers here serve a network
built on its own.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

__all__ = ["torch_uniform", "torch_linear", "glorot", "normal_embedding", "masked_lookup", "dense_weights",
           "weight_entries", "GRUWeight"]


def torch_uniform(fan_in: int, seed: int) -> keras.initializers.Initializer:
    """PyTorch's default for nn.Linear and nn.GRU: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return keras.initializers.RandomUniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), seed=seed)


def torch_linear(units: int, fan_in: int, seed: int) -> keras.layers.Dense:
    """A Dense layer initialized as PyTorch's ``nn.Linear(fan_in, units)``, kernel and bias alike."""
    return keras.layers.Dense(units, kernel_initializer=torch_uniform(fan_in, seed),
                              bias_initializer=torch_uniform(fan_in, seed + 1))


def glorot(seed: int) -> keras.initializers.Initializer:
    """Glorot-uniform, Keras' default kernel initializer, with its own seed."""
    return keras.initializers.GlorotUniform(seed=seed)


def normal_embedding(rows: int, dim: int, std: float, seed: int, mask_zero: bool = False) -> keras.layers.Embedding:
    """An embedding table drawn from N(0, std^2) with its own seed; ``mask_zero`` marks id 0 as padding."""
    initializer = keras.initializers.RandomNormal(stddev=std, seed=seed)
    return keras.layers.Embedding(rows, dim, embeddings_initializer=initializer, mask_zero=mask_zero)


def masked_lookup(table: keras.layers.Embedding, ids: tf.Tensor) -> tf.Tensor:
    """``table(ids)`` with the padding positions (id 0) set to zero, as PyTorch's ``padding_idx=0``:
    Keras' ``mask_zero`` only marks them, so row 0 would otherwise add to sums and get a gradient."""
    mask = tf.cast(table.compute_mask(ids), tf.float32)[..., None]  # (B, L, 1), 0 at padding
    return table(ids) * mask                                         # (B, L, D)


def dense_weights(layer: keras.layers.Dense, prefix: str) -> dict[str, tuple[Any, bool]]:
    """The weight map entries of a Dense layer under the names of an ``nn.Linear`` at ``prefix``."""
    entries = {f"{prefix}.weight": (layer.kernel, True)}
    if layer.use_bias:
        entries[f"{prefix}.bias"] = (layer.bias, False)
    return entries


def weight_entries(layers: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    """The weight map entries of ``layers``, given under their PyTorch names: an Embedding's table
    is ``name.weight``; a Dense layer is an ``nn.Linear`` (``dense_weights``); a list of Dense
    layers is an ``nn.ModuleList`` of them (``name.0.weight``, ``name.0.bias``, ``name.1.weight``, ...)."""
    entries: dict[str, tuple[Any, bool]] = {}
    for name, layer in layers.items():
        if isinstance(layer, keras.layers.Embedding):
            entries[f"{name}.weight"] = (layer.embeddings, False)
        elif isinstance(layer, list):
            for k, dense in enumerate(layer):
                entries.update(dense_weights(dense, f"{name}.{k}"))
        else:
            entries.update(dense_weights(layer, name))
    return entries


class GRUWeight:
    """A Keras GRU weight under PyTorch's name and layout. PyTorch stacks the gates (r, z, n) in
    rows of (3H, D); Keras stacks (z, r, h) in columns of (D, 3H), biases as rows of (2, 3H)."""

    def __init__(self, variable: Any, bias_row: int | None = None) -> None:
        self.variable, self.bias_row = variable, bias_row
        self.dtype = "float32"

    @staticmethod
    def _swap(value: np.ndarray) -> np.ndarray:  # (r, z, n) <-> (z, r, n) along axis 0, its own inverse
        third = value.shape[0] // 3
        return np.concatenate([value[third:2 * third], value[:third], value[2 * third:]])

    def numpy(self) -> np.ndarray:
        value = np.asarray(self.variable.numpy())
        return self._swap(value.T if self.bias_row is None else value[self.bias_row])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.numpy().shape

    def assign(self, value: np.ndarray) -> None:
        if self.bias_row is None:
            self.variable.assign(self._swap(value).T)
        else:
            full = np.asarray(self.variable.numpy()).copy()
            full[self.bias_row] = self._swap(value)
            self.variable.assign(full)
