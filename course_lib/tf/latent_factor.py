"""Rating prediction with biases and latent factors in TensorFlow / Keras 3 (Koren, Bell and
Volinsky, IEEE Computer 2009). Twin: course_lib/torch/latent_factor.py (same classes, arguments
and weight names).

``BiasOnly``:      r_hat(u, i) = mu + b_u + b_i
``LatentFactor``:  r_hat(u, i) = mu + b_u + b_i + p_u . q_i

The loss is the PyTorch twin's, ``mean((r_hat - r)^2) + l2 * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)``
(``l2`` a penalty in the loss, not an optimizer decay), written with ``tf.nn.l2_loss(x) = sum(x^2) / 2``:
hence the ``2 / B``. Leave it out and the loss is half PyTorch's ``F.mse_loss``: the gradients
halve, and so does the effective learning rate (or, with Adam, which is scale-free, the balance
with the penalty moves). The framework-free half is in course_lib/rating_models.py.

Shapes: B batch, D embedding_dim.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.rating_models import BiasOnlyBase, GlobalMean, LatentFactorBase
from course_lib.tf.training import TFSteps

__all__ = ["GlobalMean", "BiasOnly", "LatentFactor", "BiasOnlyNet", "LatentFactorNet"]


def _table(rows: int, dim: int, initializer: Any) -> keras.layers.Embedding:
    return keras.layers.Embedding(rows, dim, embeddings_initializer=initializer)


class BiasOnlyNet(keras.Model):
    def __init__(self, n_users: int, n_items: int, global_mean: float) -> None:
        super().__init__()
        self.global_mean = self.add_weight(shape=(), initializer=keras.initializers.Constant(float(global_mean)),
                                           trainable=False, name="global_mean")  # fixed, not learned
        self.user_bias = _table(n_users, 1, "zeros")
        self.item_bias = _table(n_items, 1, "zeros")

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        biases = tf.squeeze(self.user_bias(user_ids), -1) + tf.squeeze(self.item_bias(item_ids), -1)  # (B,)
        return self.global_mean + biases                                                               # (B,)

    def penalty(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """Half the sum of the squared rows the batch touches (``tf.nn.l2_loss``)."""
        return tf.nn.l2_loss(self.user_bias(user_ids)) + tf.nn.l2_loss(self.item_bias(item_ids))

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"global_mean": (self.global_mean, False), "user_bias.weight": (self.user_bias.embeddings, False),
                "item_bias.weight": (self.item_bias.embeddings, False)}


class LatentFactorNet(BiasOnlyNet):
    def __init__(self, n_users: int, n_items: int, global_mean: float, embedding_dim: int, init_std: float,
                 seed: int = 0) -> None:
        super().__init__(n_users, n_items, global_mean)
        # One initializer (and seed) per table: a shared one would draw identical tables.
        self.user_factors = _table(n_users, embedding_dim, keras.initializers.RandomNormal(stddev=init_std, seed=seed))
        self.item_factors = _table(n_items, embedding_dim, keras.initializers.RandomNormal(stddev=init_std, seed=seed + 1))

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        interaction = tf.reduce_sum(self.user_factors(user_ids) * self.item_factors(item_ids), -1)  # (B,)
        return super().call(user_ids, item_ids) + interaction                                      # (B,)

    def penalty(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        factors = tf.nn.l2_loss(self.user_factors(user_ids)) + tf.nn.l2_loss(self.item_factors(item_ids))
        return super().penalty(user_ids, item_ids) + factors

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {**super().weight_map(), "user_factors.weight": (self.user_factors.embeddings, False),
                "item_factors.weight": (self.item_factors.embeddings, False)}


class _TFRating(TFSteps):
    """The TensorFlow step of both rating models: ``2 / B * (l2_loss(errors) + l2 * penalty)``."""

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {"users": np.zeros(1, np.int64), "items": np.zeros(1, np.int64), "ratings": np.zeros(1, np.float32)}

    def _forward_numpy(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(user_ids), tf.constant(item_ids)).numpy()

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        users, items = batch["users"], batch["items"]
        predictions = self.network_(users, items)                                              # (B,)
        size = tf.cast(tf.shape(predictions)[0], tf.float32)
        squared_error = tf.nn.l2_loss(predictions - tf.cast(batch["ratings"], tf.float32))    # sum / 2
        return 2.0 * (squared_error + self.l2 * self.network_.penalty(users, items)) / size

    def _penalty(self) -> tf.Tensor:
        """Zero: the L2 term is in ``_batch_loss``, on the rows of the batch."""
        return tf.zeros(())


class BiasOnly(BiasOnlyBase, _TFRating):
    """``mu + b_u + b_i`` learned by minibatch Adam on the regularized squared error (the arguments
    of the PyTorch twin; ``device`` is a TensorFlow device string or None)."""

    def _network(self, train: Any) -> keras.Model:
        return BiasOnlyNet(self.n_users_, self.n_items_, self.global_mean_)


class LatentFactor(LatentFactorBase, BiasOnly):
    """``mu + b_u + b_i + p_u . q_i`` with ``embedding_dim`` factors drawn from N(0, init_std^2)."""

    def _network(self, train: Any) -> keras.Model:
        return LatentFactorNet(self.n_users_, self.n_items_, self.global_mean_, self.embedding_dim, self.init_std,
                               self.seed)
