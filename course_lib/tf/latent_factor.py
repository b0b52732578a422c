"""Rating prediction with biases and latent factors (Koren, Bell and Volinsky, IEEE Computer
2009). Twin: course_lib/torch/latent_factor.py.

``BiasOnly``:      r_hat(u, i) = mu + b_u + b_i
``LatentFactor``:  r_hat(u, i) = mu + b_u + b_i + p_u . q_i

The loss is the PyTorch twin's, ``mean((r_hat - r)^2) + weight_decay * mean(|p_u|^2 + |q_i|^2
+ b_u^2 + b_i^2)``, written with ``tf.nn.l2_loss(x) = sum(x^2) / 2``: hence the ``2 / B``. Leave
it out and the loss is half PyTorch's ``F.mse_loss``: the gradients halve, and so does the
effective learning rate (or, with Adam, which is scale-free, the balance with the penalty moves).

Shapes: B batch, D embedding_dim, U users, I n_items.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.base import check_item_ids
from course_lib.data.interactions import Interactions
from course_lib.metrics import rmse
from course_lib.rating_models import GlobalMean, check_rating_arguments, rating_data
from course_lib.tf.training import TFRecommender, get_device, make_optimizer, minibatches, progress

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


class BiasOnly(TFRecommender):
    """``mu + b_u + b_i`` learned by minibatch Adam on the regularized squared error.

    ``fit(train, validation=None)`` records ``history_['loss']``, ``['train_rmse']`` and, with
    ``validation``, ``['test_rmse']`` after every epoch. ``predict`` clips to the training
    rating range (no rating lies outside it); ``score`` gives unclipped ratings for ranking.
    """

    def __init__(self, epochs: int = 15, batch_size: int = 1024, learning_rate: float = 0.005,
                 weight_decay: float = 0.1, seed: int = 0, device: Any = None) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device

    def _build(self, train: Interactions) -> keras.Model:
        return BiasOnlyNet(train.n_users, train.n_items, self.global_mean_)

    def fit(self, train: Interactions, validation: Interactions | None = None, show_progress: bool = True) -> BiasOnly:
        check_rating_arguments(self)
        device = get_device(self.device)  # before any state changes
        if validation is not None:
            validation = rating_data(validation, "validation")
        train = self._start_fit(rating_data(train))
        self.global_mean_ = float(np.mean(train.ratings))
        self.rating_range_ = (float(train.ratings.min()), float(train.ratings.max()))
        self.device_ = device
        with tf.device(self.device_):
            self.network_ = self._build(train)
            self.network_(tf.constant([0]), tf.constant([0]))  # create the variables
            self.optimizer_ = optimizer = make_optimizer("adam", self.learning_rate)  # the PyTorch twin's Adam
            variables = self.network_.trainable_variables

            @tf.function(reduce_retracing=True)
            def step(user_ids: tf.Tensor, item_ids: tf.Tensor, ratings: tf.Tensor) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    loss = self._loss(user_ids, item_ids, ratings)
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
                return loss

            rng = np.random.default_rng(self.seed)
            self.history_ = {"loss": [], "train_rmse": []} | ({"test_rmse": []} if validation is not None else {})
            for _ in progress(range(self.epochs), show_progress, type(self).__name__):
                total = 0.0
                for rows in minibatches(len(train), self.batch_size, rng):
                    loss = step(tf.constant(train.users[rows]), tf.constant(train.items[rows]),
                                tf.constant(train.ratings[rows]))
                    total += float(loss) * len(rows)
                self.history_["loss"].append(total / len(train))
                for name, part in (("train_rmse", train), ("test_rmse", validation)):
                    if part is not None:
                        self.history_[name].append(rmse(part.ratings, self.predict(part.users, part.items)))
        return self

    def _penalty(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        network = self.network_
        tables = [network.user_bias(user_ids), network.item_bias(item_ids)]
        if isinstance(network, LatentFactorNet):
            tables += [network.user_factors(user_ids), network.item_factors(item_ids)]
        return tf.add_n([tf.nn.l2_loss(table) for table in tables])  # half the sum of squares

    def _loss(self, user_ids: Any, item_ids: Any, ratings: Any) -> tf.Tensor:
        user_ids, item_ids = tf.convert_to_tensor(user_ids), tf.convert_to_tensor(item_ids)
        predictions = self.network_(user_ids, item_ids)                                        # (B,)
        batch = tf.cast(tf.shape(predictions)[0], tf.float32)
        squared_error = tf.nn.l2_loss(predictions - tf.cast(ratings, tf.float32))             # sum / 2
        return 2.0 * (squared_error + self.weight_decay * self._penalty(user_ids, item_ids)) / batch

    def optimizer_step(self, user_ids: Any, item_ids: Any, ratings: Any) -> float:
        """One step of the model's own optimizer (Adam) on one batch; returns the loss before the
        step. For the parity tests."""
        self._check_fitted()
        variables = self.network_.trainable_variables
        with tf.device(self.device_), tf.GradientTape() as tape:
            loss = self._loss(np.asarray(user_ids), np.asarray(item_ids), np.asarray(ratings, np.float32))
        with tf.device(self.device_):
            self.optimizer_.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return float(loss)

    def loss_on_batch(self, user_ids: Any, item_ids: Any, ratings: Any) -> float:
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._loss(np.asarray(user_ids), np.asarray(item_ids), np.asarray(ratings, np.float32)))

    def sgd_step(self, user_ids: Any, item_ids: Any, ratings: Any, learning_rate: float) -> None:
        """One plain gradient step on a batch (for the parity tests)."""
        self._check_fitted()
        variables = self.network_.trainable_variables
        with tf.device(self.device_):
            with tf.GradientTape() as tape:
                loss = self._loss(np.asarray(user_ids), np.asarray(item_ids), np.asarray(ratings, np.float32))
            for variable, gradient in zip(variables, tape.gradient(loss, variables), strict=True):
                variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))

    def _raw(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(user_ids), tf.constant(item_ids)).numpy()

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Predicted ratings of the (user, item) pairs, clipped to the training rating range."""
        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: give one pair per rating.")
        return np.clip(self._raw(user_ids, item_ids), *self.rating_range_)

    def score(self, user_ids: Any) -> np.ndarray:
        """(len(user_ids), n_items) predicted ratings, unclipped, for ranking."""
        user_ids = self._user_ids(user_ids)
        users = np.repeat(user_ids, self.n_items_)
        items = np.tile(np.arange(self.n_items_), len(user_ids))
        return self._raw(users, items).reshape(len(user_ids), self.n_items_)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        entries = {"global_mean": (network.global_mean, False),
                   "user_bias.weight": (network.user_bias.embeddings, False),
                   "item_bias.weight": (network.item_bias.embeddings, False)}
        if isinstance(network, LatentFactorNet):
            entries["user_factors.weight"] = (network.user_factors.embeddings, False)
            entries["item_factors.weight"] = (network.item_factors.embeddings, False)
        return entries


class LatentFactor(BiasOnly):
    """``mu + b_u + b_i + p_u . q_i`` with ``embedding_dim`` factors drawn from N(0, init_std^2)."""

    def __init__(self, embedding_dim: int = 32, epochs: int = 15, batch_size: int = 1024, learning_rate: float = 0.005,
                 weight_decay: float = 0.1, init_std: float = 0.1, seed: int = 0, device: Any = None) -> None:
        super().__init__(epochs, batch_size, learning_rate, weight_decay, seed, device)
        self.embedding_dim = embedding_dim
        self.init_std = init_std

    def _build(self, train: Interactions) -> keras.Model:
        return LatentFactorNet(train.n_users, train.n_items, self.global_mean_, self.embedding_dim, self.init_std,
                               self.seed)
