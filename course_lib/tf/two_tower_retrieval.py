"""The retrieval two-tower model in TensorFlow / Keras 3. Twin: course_lib/torch/two_tower_retrieval.py.

Towers over ids *and* side features, a dot product, and an in-batch sampled softmax with the logQ
correction (Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
Recommendations", RecSys 2019); it can score items known only by their features. Arguments,
features, batches and scoring are in course_lib/two_tower_base.py, the loop in course_lib/training_loop.py.

Letters: B batch, E id embedding size, F feature embedding size, H hidden width, D output size.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.tf.training import TFSteps, get_device
from course_lib.tf.two_tower_pointwise import Tower, embedding_table
from course_lib.two_tower_base import RetrievalBase

__all__ = ["in_batch_softmax_loss", "TwoTowerRetrievalNet", "TwoTowerRetrieval"]


def in_batch_softmax_loss(user_vectors: tf.Tensor, item_vectors: tf.Tensor, log_q: tf.Tensor | None = None,
                          temperature: float = 1.0) -> tf.Tensor:
    """Row b's positive is item b; the other items of the batch are its negatives.

    ``logits[b, c] = <u_b, v_c> / temperature - log q_c``: popular items appear as negatives more
    often than uniform sampling would make them, and subtracting ``log q`` undoes that bias.
    """
    logits = tf.matmul(user_vectors, item_vectors, transpose_b=True) / temperature  # (B, B)
    if log_q is not None:
        logits = logits - log_q[None, :]                                            # one correction per column
    labels = tf.range(tf.shape(logits)[0])                                          # (B,) the diagonal
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


class TwoTowerRetrievalNet(keras.Model):
    """User tower over [id ; age ; gender ; occupation], item tower over [id ; genres ; year]; both end in D.

    The item id table has one extra last row, the *unknown item*: training swaps some ids for it
    (id dropout), so the item tower also learns to encode an item from its features alone.
    """

    _TABLES = ("user_id_embeddings", "age_embeddings", "gender_embeddings", "occupation_embeddings",
               "item_id_embeddings", "genre_embeddings", "year_embeddings")

    def __init__(self, n_users: int, n_items: int, user_cardinalities: tuple[int, int, int], n_genres: int,
                 n_year_codes: int, embedding_dim: int = 64, feature_dim: int = 16, hidden_dim: int = 128,
                 output_dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        shapes = [(n_users, embedding_dim), *((n, feature_dim) for n in user_cardinalities),
                  (n_items + 1, embedding_dim), (max(n_genres, 1), feature_dim), (n_year_codes, feature_dim)]
        for index, (name, (rows, columns)) in enumerate(zip(self._TABLES, shapes, strict=True)):
            setattr(self, name, embedding_table(rows, columns, 0.1, seed + 1000 * (index + 1), name, self))
        self.user_tower = Tower(embedding_dim + 3 * feature_dim, (hidden_dim,), output_dim, "he", seed + 1)
        self.item_tower = Tower(embedding_dim + 2 * feature_dim, (hidden_dim,), output_dim, "he", seed + 2)

    def encode_users(self, user_ids: tf.Tensor, user_codes: tf.Tensor) -> tf.Tensor:
        parts = [tf.gather(self.user_id_embeddings, user_ids),                 # (B, E)
                 tf.gather(self.age_embeddings, user_codes[:, 0]),             # (B, F)
                 tf.gather(self.gender_embeddings, user_codes[:, 1]),          # (B, F)
                 tf.gather(self.occupation_embeddings, user_codes[:, 2])]      # (B, F)
        return self.user_tower(tf.concat(parts, -1))                           # (B, D)

    def encode_items(self, item_ids: tf.Tensor, genres: tf.Tensor, year_codes: tf.Tensor) -> tf.Tensor:
        n_genres = tf.maximum(tf.reduce_sum(genres, -1, keepdims=True), 1.0)  # (B, 1)
        parts = [tf.gather(self.item_id_embeddings, item_ids),                 # (B, E)
                 tf.matmul(genres, self.genre_embeddings) / n_genres,          # (B, F) mean of genres
                 tf.gather(self.year_embeddings, year_codes)]                  # (B, F)
        return self.item_tower(tf.concat(parts, -1))                           # (B, D)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {**{name: (getattr(self, name), False) for name in self._TABLES},
                **self.user_tower.weight_map("user_tower"), **self.item_tower.weight_map("item_tower")}


class TwoTowerRetrieval(RetrievalBase, TFSteps):
    """Feature towers, a dot product, an in-batch softmax with the logQ correction.

    The arguments of the PyTorch twin (``device`` is a TensorFlow device string or None).
    """

    def _network(self, train: Any) -> keras.Model:
        return TwoTowerRetrievalNet(self.n_users_, self.n_items_, **self._network_arguments())

    def _build(self, train: Any) -> None:
        with tf.device(get_device(self.device)):  # the tables first: building the weights runs a dummy batch
            self._tables = (tf.constant(self.user_codes_), tf.constant(self.genres_), tf.constant(self.year_codes_),
                            tf.constant(self.log_q_))
        super()._build(train)

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {key: np.zeros(2, np.int64) for key in ("users", "shown", "items")}

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        users, shown, items = batch["users"], batch["shown"], batch["items"]                    # (B,) each
        user_codes, genres, year_codes, log_q = self._tables
        user_vectors = self.network_.encode_users(users, tf.gather(user_codes, users))          # (B, D)
        item_vectors = self.network_.encode_items(shown, tf.gather(genres, items), tf.gather(year_codes, items))
        return in_batch_softmax_loss(user_vectors, item_vectors,
                                     tf.gather(log_q, items) if self.logq_correction else None, self.temperature)

    def _user_vectors(self, user_ids: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            users = tf.constant(user_ids, tf.int64)
            return self.network_.encode_users(users, tf.gather(self._tables[0], users)).numpy()

    def _item_vectors(self, shown: np.ndarray, genres: np.ndarray, year_codes: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_.encode_items(tf.constant(shown, tf.int64), tf.constant(genres, tf.float32),
                                              tf.constant(year_codes)).numpy()
