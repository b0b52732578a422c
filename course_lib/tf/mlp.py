"""Neural collaborative filtering in TensorFlow / Keras 3: a rating MLP, GMF, MLP, NeuMF and a hybrid NeuMF.

He et al., "Neural Collaborative Filtering", WWW 2017. Twin: course_lib/torch/mlp.py (same classes,
arguments and weight names: ``get_weights()`` returns the PyTorch ``state_dict`` keys). The
framework-free half (arguments, batches, the epoch loop, validation, best checkpoint) is in
course_lib/ncf_base.py.

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
from course_lib.tf.training import TFSteps, dense_weights

__all__ = ["RatingNet", "GMFNet", "MLPNet", "NeuMFNet", "ExplicitNCF", "GMF", "MLP", "NeuMF", "HybridNeuMF"]


def _embedding(n_rows: int, dim: int, seed: int) -> keras.layers.Embedding:
    # one initializer per table, each with its own seed (a shared one would give equal tables)
    return keras.layers.Embedding(n_rows, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=seed))


def _glorot(seed: int) -> keras.initializers.Initializer:
    # seeded: an unseeded Keras initializer draws from global state, so a second fit would differ
    return keras.initializers.GlorotUniform(seed=seed)


def _tower(hidden_dims: Sequence[int], seed: int) -> list[keras.layers.Dense]:
    return [keras.layers.Dense(h, activation="relu", kernel_initializer=_glorot(seed + k))
            for k, h in enumerate(hidden_dims)]


def _run_tower(layers: list, dropout: keras.layers.Dropout, x: tf.Tensor, training: bool) -> tf.Tensor:
    for layer in layers:
        x = dropout(layer(x), training=training)                            # (B, H_l)
    return x


def _tower_weights(layers: list, prefix: str) -> dict[str, tuple[Any, bool]]:
    entries = {}
    for k, layer in enumerate(layers):
        entries.update(dense_weights(layer, f"{prefix}.{k}"))
    return entries


class RatingNet(keras.Model):
    """Explicit NCF: [user embedding, item embedding] -> ReLU layers -> one rating."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, global_mean: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, seed), _embedding(n_items, embedding_dim, seed + 1)
        self.tower = _tower(hidden_dims, seed + 2)
        self.drop = keras.layers.Dropout(dropout, seed=seed)
        self.output_layer = keras.layers.Dense(1, kernel_initializer=_glorot(seed + 50),
                                                  bias_initializer=keras.initializers.Constant(global_mean))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = tf.concat([self.user_embedding(users), self.item_embedding(items)], axis=-1)  # (B, 2D)
        return tf.squeeze(self.output_layer(_run_tower(self.tower, self.drop, x, training)), -1)  # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embedding.weight": (self.user_embedding.embeddings, False),
                "item_embedding.weight": (self.item_embedding.embeddings, False),
                **_tower_weights(self.tower, "layers"), **dense_weights(self.output_layer, "output")}


class GMFNet(keras.Model):
    """Generalized matrix factorization: logit = w . (p_u * q_i) + b."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, seed), _embedding(n_items, embedding_dim, seed + 1)
        self.output_layer = keras.layers.Dense(1, kernel_initializer=_glorot(seed + 50))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        return tf.squeeze(self.output_layer(self.user_embedding(users) * self.item_embedding(items)), -1)  # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embedding.weight": (self.user_embedding.embeddings, False),
                "item_embedding.weight": (self.item_embedding.embeddings, False), **dense_weights(self.output_layer, "output")}


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
            self.feature_projection = keras.layers.Dense(embedding_dim, kernel_initializer=_glorot(seed + 101))
            self.item_features = tf.constant(item_features, dtype=tf.float32)  # not a weight
        self.output_layer = keras.layers.Dense(1, kernel_initializer=_glorot(seed + 50))

    def call(self, users: tf.Tensor, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)                                   # (B, D)
        mlp = tf.concat([self.mlp_user(users), self.mlp_item(items)], axis=-1)              # (B, 2D)
        branches = [gmf, _run_tower(self.tower, self.drop, mlp, training)]                  # (B, D), (B, H)
        if self.item_features is not None:
            content = self.feature_projection(tf.gather(self.item_features, items))         # (B, D)
            branches.append(self.feature_user(users) * content)                             # (B, D)
        return tf.squeeze(self.output_layer(tf.concat(branches, axis=-1)), -1)              # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        entries = {f"{name}.weight": (getattr(self, name).embeddings, False)
                   for name in ("gmf_user", "gmf_item", "mlp_user", "mlp_item")}
        entries.update(_tower_weights(self.tower, "layers"))
        if self.item_features is not None:
            entries["feature_user.weight"] = (self.feature_user.embeddings, False)
            entries.update(dense_weights(self.feature_projection, "feature_projection"))
        entries.update(dense_weights(self.output_layer, "output"))
        return entries


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

    The arguments of the PyTorch twin (``device`` is a TensorFlow device string or None).
    """

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

    ``NeuMF.from_pretrained(gmf, mlp, alpha=0.5, **arguments)`` starts ``fit`` from a fitted GMF
    and MLP (of either framework), as the paper does (course_lib/ncf_pretraining.py).
    """

    def _network(self, train: Any) -> keras.Model:
        return NeuMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                        seed=self.seed)


class HybridNeuMF(HybridFeaturesMixin, NeuMF):
    """NeuMF with a third branch on item side features (``item_features`` or ``train.item_features``)."""

    def __init__(self, item_features: np.ndarray | None = None, **arguments: Any) -> None:
        super().__init__(**arguments)
        self.item_features = item_features

    def _network(self, train: Any) -> keras.Model:
        return NeuMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                        self.item_features_, seed=self.seed)
