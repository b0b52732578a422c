"""Rating prediction with biases and latent factors (Koren, Bell and Volinsky, IEEE Computer
2009). Twin: course_lib/tf/latent_factor.py.

``BiasOnly``:      r_hat(u, i) = mu + b_u + b_i
``LatentFactor``:  r_hat(u, i) = mu + b_u + b_i + p_u . q_i

trained on the mean squared error plus an L2 penalty on the rows of the batch,
``mean((r_hat - r)^2) + weight_decay * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)``.
PyTorch's ``F.mse_loss`` is that mean; TensorFlow's ``tf.nn.l2_loss(x)`` is ``sum(x^2) / 2``, so
the twin multiplies it by ``2 / B``: the same loss, the same gradients, the same learning rate.

Shapes: B batch, D embedding_dim, U users, I n_items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.base import check_item_ids
from course_lib.data.interactions import Interactions
from course_lib.metrics import rmse
from course_lib.rating_models import GlobalMean, check_rating_arguments, rating_data
from course_lib.torch.training import (
    TorchRecommender,
    build_network,
    get_device,
    make_generator,
    make_optimizer,
    minibatches,
    progress,
)

__all__ = ["GlobalMean", "BiasOnly", "LatentFactor", "BiasOnlyNet", "LatentFactorNet"]


class BiasOnlyNet(nn.Module):
    def __init__(self, n_users: int, n_items: int, global_mean: float) -> None:
        super().__init__()
        self.register_buffer("global_mean", torch.tensor(float(global_mean)))  # fixed, not learned
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        biases = self.user_bias(user_ids).squeeze(-1) + self.item_bias(item_ids).squeeze(-1)  # (B,)
        return self.global_mean + biases                                                      # (B,)


class LatentFactorNet(BiasOnlyNet):
    def __init__(self, n_users: int, n_items: int, global_mean: float, embedding_dim: int, init_std: float,
                 seed: int = 0) -> None:
        super().__init__(n_users, n_items, global_mean)
        self.user_factors = nn.Embedding(n_users, embedding_dim)
        self.item_factors = nn.Embedding(n_items, embedding_dim)
        generator = make_generator(seed)  # the weights' own stream: torch's global generator is left alone
        nn.init.normal_(self.user_factors.weight, std=init_std, generator=generator)
        nn.init.normal_(self.item_factors.weight, std=init_std, generator=generator)

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        interaction = (self.user_factors(user_ids) * self.item_factors(item_ids)).sum(-1)  # (B,)
        return super().forward(user_ids, item_ids) + interaction                           # (B,)


class BiasOnly(TorchRecommender):
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

    def _build(self, train: Interactions) -> nn.Module:
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
        self.network_ = build_network(lambda: self._build(train), self.device_)  # its weights drawn from self.seed
        self.optimizer_ = make_optimizer("adam", self.network_.parameters(), self.learning_rate)
        rng = np.random.default_rng(self.seed)
        self.history_ = {"loss": [], "train_rmse": []} | ({"test_rmse": []} if validation is not None else {})
        for _ in progress(range(self.epochs), show_progress, type(self).__name__):
            total = 0.0
            for rows in minibatches(len(train), self.batch_size, rng):
                total += self._update(train.users[rows], train.items[rows], train.ratings[rows]) * len(rows)
            self.history_["loss"].append(total / len(train))
            for name, part in (("train_rmse", train), ("test_rmse", validation)):
                if part is not None:
                    self.history_[name].append(rmse(part.ratings, self.predict(part.users, part.items)))
        return self

    def _penalty(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        network = self.network_
        squares = network.user_bias(user_ids).square().sum(-1) + network.item_bias(item_ids).square().sum(-1)
        if isinstance(network, LatentFactorNet):
            squares = squares + network.user_factors(user_ids).square().sum(-1) + network.item_factors(item_ids).square().sum(-1)
        return squares.mean()                                                                   # mean over the batch

    def _loss(self, user_ids: Any, item_ids: Any, ratings: Any) -> Tensor:
        users, items = self._tensor(user_ids), self._tensor(item_ids)
        predictions = self.network_(users, items)                                                # (B,)
        return F.mse_loss(predictions, self._tensor(ratings, torch.float32)) + self.weight_decay * self._penalty(users, items)

    def _update(self, user_ids: Any, item_ids: Any, ratings: Any) -> float:
        loss = self._loss(user_ids, item_ids, ratings)
        self.optimizer_.zero_grad()
        loss.backward()
        self.optimizer_.step()
        return loss.item()

    def optimizer_step(self, user_ids: Any, item_ids: Any, ratings: Any) -> float:
        """One step of the model's own optimizer (Adam) on one batch; returns the loss before the
        step. For the parity tests."""
        self._check_fitted()
        return self._update(user_ids, item_ids, ratings)

    def loss_on_batch(self, user_ids: Any, item_ids: Any, ratings: Any) -> float:
        self._check_fitted()
        with torch.no_grad():
            return float(self._loss(user_ids, item_ids, ratings))

    def sgd_step(self, user_ids: Any, item_ids: Any, ratings: Any, learning_rate: float) -> None:
        """One plain gradient step on a batch (for the parity tests)."""
        self._check_fitted()
        self.network_.zero_grad()
        self._loss(user_ids, item_ids, ratings).backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                parameter -= learning_rate * parameter.grad

    def _raw(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.network_(self._tensor(user_ids), self._tensor(item_ids)).cpu().numpy()

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


class LatentFactor(BiasOnly):
    """``mu + b_u + b_i + p_u . q_i`` with ``embedding_dim`` factors drawn from N(0, init_std^2)."""

    def __init__(self, embedding_dim: int = 32, epochs: int = 15, batch_size: int = 1024, learning_rate: float = 0.005,
                 weight_decay: float = 0.1, init_std: float = 0.1, seed: int = 0, device: Any = None) -> None:
        super().__init__(epochs, batch_size, learning_rate, weight_decay, seed, device)
        self.embedding_dim = embedding_dim
        self.init_std = init_std

    def _build(self, train: Interactions) -> nn.Module:
        return LatentFactorNet(train.n_users, train.n_items, self.global_mean_, self.embedding_dim, self.init_std,
                               self.seed)
