"""Neural collaborative filtering in TensorFlow / Keras 3: a rating MLP, GMF, MLP, NeuMF and a hybrid NeuMF.

He et al., "Neural Collaborative Filtering", WWW 2017. Twin: course_lib/torch/mlp.py (same classes,
arguments and weight names: ``get_weights()`` returns the PyTorch ``state_dict`` keys). The
framework-free half (arguments, batches with sampled negatives, validation, best checkpoint) is in
course_lib/ncf_base.py, the loop in course_lib/training_loop.py.

Shapes: B batch, D embedding_dim, H last hidden width, F item features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.ncf_base import ExplicitNCFBase, GMFBase, HybridFeaturesMixin, ImplicitNCFBase
from course_lib.ncf_pretraining import PretrainedNeuMFMixin
from course_lib.tf.layers import glorot, normal_embedding, weight_entries
from course_lib.tf.training import TFSteps

__all__ = ["RatingNet", "GMFNet", "MLPNet", "NeuMFNet", "ExplicitNCF", "GMF", "MLP", "NeuMF", "HybridNeuMF"]


def _embedding(n_rows: int, dim: int, seed: int) -> keras.layers.Embedding:
    return normal_embedding(n_rows, dim, 0.01, seed)  # NCF's initialization; N(0, 1) starts far too large


def _tower(hidden_dims: Sequence[int], seed: int) -> list[keras.layers.Dense]:
    return [keras.layers.Dense(h, activation="relu", kernel_initializer=glorot(seed + k))
            for k, h in enumerate(hidden_dims)]


def _run_tower(layers: list, dropout: keras.layers.Dropout, x: tf.Tensor, training: bool) -> tf.Tensor:
    for layer in layers:
        x = dropout(layer(x), training=training)                            # (B, H_l)
    return x


class RatingNet(keras.Model):
    """Explicit NCF: [user embedding, item embedding] -> ReLU layers -> one rating."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, global_mean: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, seed), _embedding(n_items, embedding_dim, seed + 1)
        self.tower = _tower(hidden_dims, seed + 2)
        self.drop = keras.layers.Dropout(dropout, seed=seed)
        self.output_layer = keras.layers.Dense(1, kernel_initializer=glorot(seed + 50),
                                                  bias_initializer=keras.initializers.Constant(global_mean))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = tf.concat([self.user_embedding(users), self.item_embedding(items)], axis=-1)  # (B, 2D)
        return tf.squeeze(self.output_layer(_run_tower(self.tower, self.drop, x, training)), -1)  # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return weight_entries({"user_embedding": self.user_embedding, "item_embedding": self.item_embedding,
                               "layers": self.tower, "output": self.output_layer})


class GMFNet(keras.Model):
    """Generalized matrix factorization: logit = w . (p_u * q_i) + b."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, seed), _embedding(n_items, embedding_dim, seed + 1)
        self.output_layer = keras.layers.Dense(1, kernel_initializer=glorot(seed + 50))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        return tf.squeeze(self.output_layer(self.user_embedding(users) * self.item_embedding(items)), -1)  # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return weight_entries({"user_embedding": self.user_embedding, "item_embedding": self.item_embedding,
                               "output": self.output_layer})


class MLPNet(RatingNet):
    """The MLP tower of NCF: [p_u, q_i] -> ReLU layers -> logit (the rating network without the mean)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, seed: int = 0) -> None:
        super().__init__(n_users, n_items, embedding_dim, hidden_dims, dropout, 0.0, seed)


class NeuMFNet(keras.Model):
    """NeuMF: a GMF branch and an MLP branch with their own embeddings, concatenated into one output layer.

    With ``item_features`` (I, F) a third, content branch joins them: a user embedding times the
    item's features projected to D (``feature_projection``).
    """

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, item_features: np.ndarray | None = None, seed: int = 0) -> None:
        super().__init__()
        self.gmf_user, self.gmf_item = _embedding(n_users, embedding_dim, seed), _embedding(n_items, embedding_dim, seed + 1)
        self.mlp_user, self.mlp_item = _embedding(n_users, embedding_dim, seed + 2), _embedding(n_items, embedding_dim, seed + 3)
        self.tower = _tower(hidden_dims, seed + 4)
        self.drop = keras.layers.Dropout(dropout, seed=seed)
        self.item_features = None
        if item_features is not None:
            self.feature_user = _embedding(n_users, embedding_dim, seed + 100)
            self.feature_projection = keras.layers.Dense(embedding_dim, kernel_initializer=glorot(seed + 101))
            self.item_features = tf.constant(item_features, dtype=tf.float32)  # not a weight
        self.output_layer = keras.layers.Dense(1, kernel_initializer=glorot(seed + 50))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)                                   # (B, D)
        mlp = tf.concat([self.mlp_user(users), self.mlp_item(items)], axis=-1)              # (B, 2D)
        branches = [gmf, _run_tower(self.tower, self.drop, mlp, training)]                  # (B, D), (B, H)
        if self.item_features is not None:
            content = self.feature_projection(tf.gather(self.item_features, items))         # (B, D)
            branches.append(self.feature_user(users) * content)                             # (B, D)
        return tf.squeeze(self.output_layer(tf.concat(branches, axis=-1)), -1)              # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        names = ["gmf_user", "gmf_item", "mlp_user", "mlp_item"]
        layers = {name: getattr(self, name) for name in names} | {"layers": self.tower}
        if self.item_features is not None:
            layers |= {"feature_user": self.feature_user, "feature_projection": self.feature_projection}
        return weight_entries(layers | {"output": self.output_layer})


# ------------------------------------------------------------------ recommenders
class _TFNCF(TFSteps):
    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {"users": np.zeros(1, np.int64), "items": np.zeros(1, np.int64), "labels": np.zeros(1, np.float32)}

    def _forward_numpy(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(users, tf.int64), tf.constant(items, tf.int64), training=False).numpy()

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        output = self.network_(batch["users"], batch["items"], training=training)               # (B,)
        if "ratings" in batch:
            return tf.reduce_mean(tf.square(output - batch["ratings"]))
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=batch["labels"], logits=output))


class ExplicitNCF(ExplicitNCFBase, _TFNCF):
    """Rating prediction with NCF: embeddings into an MLP, trained with MSE on the observed ratings.
    Arguments, ``fit`` and ``history_``: ``course_lib.ncf_base.ExplicitNCFBase``."""

    def _network(self, train: Any) -> keras.Model:
        return RatingNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                         self.global_mean_, self.seed)


class GMF(GMFBase, _TFNCF):
    """GMF trained on implicit feedback with sampled negatives and binary cross-entropy."""

    def _network(self, train: Any) -> keras.Model:
        return GMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.seed)


class MLP(ImplicitNCFBase, _TFNCF):
    """The MLP tower of NCF alone, trained like GMF."""

    def _network(self, train: Any) -> keras.Model:
        return MLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout, self.seed)


class NeuMF(PretrainedNeuMFMixin, ImplicitNCFBase, _TFNCF):
    """NeuMF (He et al. 2017): GMF and MLP branches concatenated, trained with sampled negatives and BCE.

    Arguments as ``GMF`` plus ``hidden_dims`` and ``dropout`` of the MLP branch (``ImplicitNCFBase``);
    ``NeuMF.from_pretrained(gmf, mlp, alpha)`` starts from a fitted GMF and MLP of either framework
    (course_lib/ncf_pretraining.py, as the paper does).
    """

    def _network(self, train: Any) -> keras.Model:
        return NeuMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                        self._network_item_features(), seed=self.seed)


class HybridNeuMF(HybridFeaturesMixin, NeuMF):
    """NeuMF with a third branch on item side features: ``item_features`` (I, F), by default
    ``train.item_features`` (the genres of MovieLens), or any precomputed item embeddings."""
