"""BPR matrix factorization in TensorFlow / Keras 3 (Rendle et al., "BPR: Bayesian Personalized
Ranking from Implicit Feedback", UAI 2009). Twin: course_lib/torch/bpr.py (same class, arguments
and weight names).

The framework-free half (arguments, triplet batches, scoring) is in course_lib/bpr_base.py, the
loop in course_lib/training_loop.py. The loss of a batch of triplets (u, i, j), ``l2`` a penalty
in the loss (not an optimizer decay):
``mean(-log sigmoid(x_ui - x_uj) + l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2))``.

Letters: B batch, D embedding_dim, I n_items.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.bpr_base import BPRMFBase
from course_lib.tf.training import TFSteps

__all__ = ["BPRNet", "BPRMF", "bpr_loss"]


def bpr_loss(positive_scores: tf.Tensor, negative_scores: tf.Tensor) -> tf.Tensor:
    """Mean of ``-log sigmoid(x_ui - x_uj)``; ``log_sigmoid`` stays finite for large differences."""
    return -tf.reduce_mean(tf.math.log_sigmoid(positive_scores - negative_scores))


class BPRNet(keras.Model):
    """User and item embeddings plus an item bias: ``x_ui = <p_u, q_i> + b_i``."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, init_std: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        # One initializer per table with its own seed: a shared one can give identical tables.
        self.user_embeddings = self.add_weight(
            shape=(n_users, embedding_dim), name="user_embeddings",
            initializer=keras.initializers.RandomNormal(stddev=init_std, seed=seed))
        self.item_embeddings = self.add_weight(
            shape=(n_items, embedding_dim), name="item_embeddings",
            initializer=keras.initializers.RandomNormal(stddev=init_std, seed=seed + 1))
        self.item_bias = self.add_weight(shape=(n_items,), name="item_bias", initializer="zeros")

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        users = tf.gather(self.user_embeddings, user_ids)                              # (B, D)
        items = tf.gather(self.item_embeddings, item_ids)                              # (B, D)
        return tf.reduce_sum(users * items, -1) + tf.gather(self.item_bias, item_ids)  # (B,)

    def triplet_loss(self, user_ids: tf.Tensor, positive_ids: tf.Tensor, negative_ids: tf.Tensor,
                     l2: float) -> tf.Tensor:
        """BPR plus ``l2`` times the squared norms of the rows of each triplet, averaged over the batch."""
        users = tf.gather(self.user_embeddings, user_ids)              # (B, D)
        positives = tf.gather(self.item_embeddings, positive_ids)      # (B, D)
        negatives = tf.gather(self.item_embeddings, negative_ids)      # (B, D)
        positive_bias = tf.gather(self.item_bias, positive_ids)        # (B,)
        negative_bias = tf.gather(self.item_bias, negative_ids)        # (B,)
        x_ui = tf.reduce_sum(users * positives, -1) + positive_bias    # (B,)
        x_uj = tf.reduce_sum(users * negatives, -1) + negative_bias    # (B,)
        penalty = (tf.reduce_sum(users**2, -1) + tf.reduce_sum(positives**2, -1) + tf.reduce_sum(negatives**2, -1)
                   + positive_bias**2 + negative_bias**2)              # (B,)
        return bpr_loss(x_ui, x_uj) + l2 * tf.reduce_mean(penalty)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False),
                "item_bias": (self.item_bias, False)}


class BPRMF(BPRMFBase, TFSteps):
    """BPR-MF trained on uniformly sampled triplets, one epoch = one triplet per training interaction.

    The arguments are ``BPRMFBase``'s (course_lib/bpr_base.py); ``device`` is a TensorFlow device
    string or None (the first GPU, else the CPU). Weights under the PyTorch twin's names.
    """

    def _network(self, train: Any) -> keras.Model:
        return BPRNet(self.n_users_, self.n_items_, self.embedding_dim, self.init_std, self.seed)

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {key: np.zeros(1, np.int64) for key in ("users", "positives", "negatives")}

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        return self.network_.triplet_loss(batch["users"], batch["positives"], batch["negatives"], self.l2)

    def _penalty(self) -> tf.Tensor:
        """Zero: the L2 term is in the loss, on the rows of each triplet (``triplet_loss``)."""
        return tf.zeros(())
