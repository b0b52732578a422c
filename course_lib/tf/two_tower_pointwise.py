"""The pointwise two-tower variants in TensorFlow / Keras 3. Twin: course_lib/torch/two_tower_pointwise.py.

1. ``ConcatMLP``: [p_u ; q_i] -> MLP -> one logit (He et al., "Neural Collaborative Filtering", WWW 2017, its MLP part).
2. ``TwoTowerMLP``: tower(p_u) * tower(q_i) -> Dense -> one logit.
Both learn from positives against sampled negatives with binary cross-entropy; arguments, batches,
scoring and validation are in course_lib/two_tower_base.py, the loop in course_lib/training_loop.py.
``get_weights()`` returns the PyTorch twin's ``state_dict`` keys and shapes.

Letters: B batch, E embedding_dim, H hidden width, D tower output size, U users, I n_items.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.tf.training import TFSteps, dense_weights
from course_lib.two_tower_base import PointwiseBase

__all__ = ["Tower", "ConcatMLPNet", "TwoTowerMLPNet", "ConcatMLP", "TwoTowerMLP", "embedding_table"]


def embedding_table(rows: int, columns: int, std: float, seed: int, name: str, owner: keras.Model) -> tf.Variable:
    # One initializer per table with its own seed: a shared one can give identical tables.
    return owner.add_weight(shape=(rows, columns), name=name,
                            initializer=keras.initializers.RandomNormal(stddev=std, seed=seed))


class Tower(keras.Model):
    """Dense + ReLU for each hidden width, then a linear output layer (no activation).

    ``init``: ``"he"`` (weights N(0, 2 / fan_in), keeps the variance through ReLUs), ``"normal"``
    (N(0, 1): too large, the usual way to kill a narrow network) or ``"default"`` (PyTorch's
    ``nn.Linear`` default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in the twin).
    """

    def __init__(self, input_dim: int, hidden_dims: tuple[int, ...], output_dim: int, init: str = "he",
                 seed: int = 0) -> None:
        super().__init__()
        widths = [input_dim, *hidden_dims, output_dim]
        self.linears = []
        for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            bound = 1.0 / fan_in ** 0.5
            if init == "default":
                kernel = keras.initializers.RandomUniform(-bound, bound, seed=seed + index)
                bias = keras.initializers.RandomUniform(-bound, bound, seed=seed + 100 + index)
            else:
                std = (2.0 / fan_in) ** 0.5 if init == "he" else 1.0
                kernel, bias = keras.initializers.RandomNormal(stddev=std, seed=seed + index), "zeros"
            dense = keras.layers.Dense(fan_out, kernel_initializer=kernel, bias_initializer=bias)
            dense.build((None, fan_in))  # the variables exist at once, so weights can be set before a call
            self.linears.append(dense)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        hidden = inputs                                           # (B, input_dim)
        for dense in self.linears[:-1]:
            hidden = tf.nn.relu(dense(hidden))                    # (B, H)
        return self.linears[-1](hidden)                           # (B, output_dim)

    def weight_map(self, prefix: str) -> dict[str, tuple[Any, bool]]:
        entries: dict[str, tuple[Any, bool]] = {}
        for index, dense in enumerate(self.linears):
            entries.update(dense_weights(dense, f"{prefix}.linears.{index}"))
        return entries


class ConcatMLPNet(keras.Model):
    """[p_u ; q_i] (B, 2E) -> MLP -> logit (B,)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        self.user_embeddings = embedding_table(n_users, embedding_dim, 0.1, seed, "user_embeddings", self)
        self.item_embeddings = embedding_table(n_items, embedding_dim, 0.1, seed + 1000, "item_embeddings", self)
        self.mlp = Tower(2 * embedding_dim, tuple(hidden_dims), 1, init, seed + 1)

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        pairs = tf.concat([tf.gather(self.user_embeddings, user_ids),
                           tf.gather(self.item_embeddings, item_ids)], -1)    # (B, 2E)
        return self.mlp(pairs)[:, 0]                                         # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False),
                **self.mlp.weight_map("mlp")}


class TwoTowerMLPNet(keras.Model):
    """tower(p_u) * tower(q_i) (B, D) -> Dense -> logit (B,); ``tower_dims`` ends with D."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, tower_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        scale = 1.0 if init == "normal" else 0.1
        self.user_embeddings = embedding_table(n_users, embedding_dim, scale, seed, "user_embeddings", self)
        self.item_embeddings = embedding_table(n_items, embedding_dim, scale, seed + 1000, "item_embeddings", self)
        *hidden, output = tower_dims
        self.user_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 1)
        self.item_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 2)
        # starts as a plain dot product of the two towers
        self.output_layer = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
        self.output_layer.build((None, output))

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        users = self.user_tower(tf.gather(self.user_embeddings, user_ids))    # (B, D)
        items = self.item_tower(tf.gather(self.item_embeddings, item_ids))    # (B, D)
        return self.output_layer(users * items)[:, 0]                        # (B,)

    def all_scores(self, user_ids: tf.Tensor) -> tf.Tensor:
        users = self.user_tower(tf.gather(self.user_embeddings, user_ids))    # (U, D)
        items = self.item_tower(self.item_embeddings)                        # (I, D)
        weighted = users * self.output_layer.kernel[:, 0]                    # (U, D)
        return tf.matmul(weighted, items, transpose_b=True) + self.output_layer.bias  # (U, I)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False),
                **self.user_tower.weight_map("user_tower"), **self.item_tower.weight_map("item_tower"),
                **dense_weights(self.output_layer, "output")}


class _TFPointwise(PointwiseBase, TFSteps):
    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {"users": np.zeros(1, np.int64), "items": np.zeros(1, np.int64), "labels": np.zeros(1, np.float32)}

    def _forward_numpy(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(users, tf.int64), tf.constant(items, tf.int64)).numpy()

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        logits = self.network_(batch["users"], batch["items"])                                  # (B,)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=batch["labels"], logits=logits))


class ConcatMLP(_TFPointwise):
    """Variant 1: user and item embeddings concatenated into an MLP that outputs one logit.

    The arguments of the PyTorch twin (``device`` is a TensorFlow device string or None).
    """

    def _network(self, train: Any) -> keras.Model:
        return ConcatMLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.init, self.seed)


class TwoTowerMLP(_TFPointwise):
    """Variant 2: a tower per side over its embedding, merged by an element-wise product and a final layer.

    Parameters as ``ConcatMLP``; ``hidden_dims`` are the tower's widths, the last one is D.
    """

    def _network(self, train: Any) -> keras.Model:
        return TwoTowerMLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.init, self.seed)

    def score(self, user_ids: Any) -> np.ndarray:
        """Logits of every item for each user, (U, I): the towers once per user and item, one matrix product."""
        user_ids = self._user_ids(user_ids)
        with tf.device(self.device_):
            return self.network_.all_scores(tf.constant(user_ids, tf.int64)).numpy()
