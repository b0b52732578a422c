"""BPR matrix factorization (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
Feedback", UAI 2009). Twin: course_lib/torch/bpr.py.

Letters: B batch, D embedding_dim, U users scored at once, I n_items.

For a triplet (u, i, j), i an item the user interacted with and j one they did not,
``x_uij = x_ui - x_uj`` with ``x_ui = <p_u, q_i> + b_i``; BPR minimizes
``-log sigmoid(x_uij) + l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2)`` averaged over the triplets.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.base import check_hyperparameters
from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_triplets
from course_lib.tf.training import TFRecommender, get_device, make_optimizer, progress

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


def _check_arguments(model: Any) -> None:
    check_hyperparameters(model, positive_ints=("embedding_dim", "epochs", "batch_size"),
                          positive_numbers=("learning_rate", "init_std"), non_negative_numbers=("l2",),
                          non_negative_ints=("seed",),
                          choices={"optimizer": ("adam", "sgd")})


class BPRMF(TFRecommender):
    """BPR-MF trained on uniformly sampled triplets, one epoch = one triplet per training interaction.

    Parameters
    ----------
    embedding_dim: D, the number of latent factors.
    epochs, batch_size, learning_rate: the training loop (large batches keep an epoch fast on a CPU).
    l2: the weight of the squared norms of the embeddings and biases in each triplet (Rendle's lambda).
    optimizer: ``"adam"`` (default, converges in a few epochs) or ``"sgd"`` (the paper's plain SGD).
    init_std: standard deviation of the initial embeddings.
    seed, device: randomness and the TensorFlow device (default: the first GPU, else the CPU).

    Reference: S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme. BPR: Bayesian
    Personalized Ranking from Implicit Feedback. UAI 2009.
    """

    def __init__(self, embedding_dim: int = 64, epochs: int = 30, batch_size: int = 4096, learning_rate: float = 0.01,
                 l2: float = 0.01, optimizer: str = "adam", init_std: float = 0.1, seed: int = 0,
                 device: str | None = None) -> None:
        self.embedding_dim, self.epochs, self.batch_size = embedding_dim, epochs, batch_size
        self.learning_rate, self.l2, self.optimizer, self.init_std = learning_rate, l2, optimizer, init_std
        self.seed, self.device = seed, device

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        return {"user_embeddings": (network.user_embeddings, False),
                "item_embeddings": (network.item_embeddings, False),
                "item_bias": (network.item_bias, False)}

    def fit(self, train: Interactions, validation: Interactions | None = None, show_progress: bool = True) -> BPRMF:
        """Learn from ``train``; with ``validation``, record NDCG@10 after each epoch in ``history_``.

        ``history_`` holds ``loss`` (mean per epoch), ``seconds`` (training time so far, without
        the validation) and, with ``validation``, ``validation_ndcg@10``.
        """
        _check_arguments(self)
        device = get_device(self.device)  # before any state changes
        train = self._start_fit(train)
        self.device_ = device
        with tf.device(self.device_):
            self.network_ = BPRNet(self.n_users_, self.n_items_, self.embedding_dim, self.init_std, self.seed)
            self.optimizer_ = make_optimizer(self.optimizer, self.learning_rate)  # the PyTorch twin's update
            step = tf.function(self._step, reduce_retracing=True)
            rng = np.random.default_rng(self.seed)
            matrix = train.to_csr()
            self.history_ = {"loss": [], "seconds": []}
            seconds = 0.0
            for _ in progress(range(self.epochs), show_progress, "BPR-MF (TensorFlow)"):
                started = time.perf_counter()
                users, positives, negatives = (tf.constant(a, tf.int64) for a in sample_triplets(matrix, seed=rng))
                total = 0.0
                for start in range(0, len(users), self.batch_size):  # the triplets come shuffled
                    end = start + self.batch_size
                    total += step(users[start:end], positives[start:end], negatives[start:end])
                self.history_["loss"].append(float(total) / len(users))
                seconds += time.perf_counter() - started
                self.history_["seconds"].append(seconds)
                if validation is not None:
                    from course_lib.evaluation import evaluate

                    ndcg = evaluate(self, train, validation, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0]
                    self.history_.setdefault("validation_ndcg@10", []).append(float(ndcg))
        return self

    def _step(self, users: tf.Tensor, positives: tf.Tensor, negatives: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self.network_.triplet_loss(users, positives, negatives, self.l2)
        variables = self.network_.trainable_variables
        self.optimizer_.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss * tf.cast(tf.shape(users)[0], loss.dtype)

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer on one batch of (users, positives, negatives);
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._step(*(tf.constant(np.asarray(a), tf.int64) for a in batch))) / len(batch[0])

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """The training loss (BPR plus L2) of one batch of (users, positives, negatives)."""
        self._check_fitted()
        return float(self.network_.triplet_loss(*(tf.constant(np.asarray(a), tf.int64) for a in batch), self.l2))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        variables = self.network_.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.network_.triplet_loss(*(tf.constant(np.asarray(a), tf.int64) for a in batch), self.l2)
        for variable, gradient in zip(variables, tape.gradient(loss, variables), strict=True):
            variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        network = self.network_
        with tf.device(self.device_):
            users = tf.gather(network.user_embeddings, user_ids)                                   # (U, D)
            scores = tf.matmul(users, network.item_embeddings, transpose_b=True) + network.item_bias  # (U, I)
        return scores.numpy()

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """``x_ui`` for pairs of (user, item)."""
        from course_lib.base import check_item_ids

        user_ids = self._user_ids(user_ids)
        item_ids = check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        with tf.device(self.device_):
            return self.network_(tf.constant(user_ids), tf.constant(item_ids)).numpy()
