"""Rating prediction with biases and latent factors in PyTorch (Koren, Bell and Volinsky, IEEE
Computer 2009). Twin: course_lib/tf/latent_factor.py (same classes, arguments and weight names).

``BiasOnly``:      r_hat(u, i) = mu + b_u + b_i
``LatentFactor``:  r_hat(u, i) = mu + b_u + b_i + p_u . q_i

trained on the mean squared error plus an L2 penalty IN THE LOSS on the rows of the batch,
``mean((r_hat - r)^2) + l2 * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)`` (not an optimizer decay).
PyTorch's ``F.mse_loss`` is that mean; TensorFlow's ``tf.nn.l2_loss(x)`` is ``sum(x^2) / 2``, so
the twin multiplies it by ``2 / B``: the same loss, the same gradients, the same learning rate.
The framework-free half (arguments, batches, prediction, validation) is in
course_lib/rating_models.py, the loop in course_lib/training_loop.py.

Shapes: B batch, D embedding_dim.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.rating_models import BiasOnlyBase, GlobalMean, LatentFactorBase
from course_lib.torch.training import TorchSteps, make_generator

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

    def penalty(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        """Mean over the batch of the squared rows the batch touches."""
        squares = self.user_bias(user_ids).square().sum(-1) + self.item_bias(item_ids).square().sum(-1)  # (B,)
        return squares.mean()


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

    def penalty(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        factors = self.user_factors(user_ids).square().sum(-1) + self.item_factors(item_ids).square().sum(-1)  # (B,)
        return super().penalty(user_ids, item_ids) + factors.mean()


class _TorchRating(TorchSteps):
    """The PyTorch step of both rating models: MSE plus ``l2`` times the network's penalty."""

    def _forward_numpy(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(user_ids), self._tensor(item_ids)).cpu().numpy()

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> Tensor:
        users, items = self._tensor(batch["users"]), self._tensor(batch["items"])
        predictions = self.network_(users, items)                                           # (B,)
        return F.mse_loss(predictions, self._tensor(batch["ratings"], torch.float32)) + self.l2 * self.network_.penalty(users, items)

    def _penalty(self) -> Tensor:
        """Zero: the L2 term is in ``_batch_loss``, on the rows of the batch."""
        return torch.zeros((), device=self.device_)


class BiasOnly(BiasOnlyBase, _TorchRating):
    """``mu + b_u + b_i`` learned by minibatch Adam on the regularized squared error.

    The arguments are ``course_lib.rating_models.BiasOnlyBase``'s. Weights: ``global_mean`` (fixed),
    ``user_bias.weight`` (U, 1), ``item_bias.weight`` (I, 1).
    """

    def _network(self, train: Any) -> nn.Module:
        return BiasOnlyNet(self.n_users_, self.n_items_, self.global_mean_)


class LatentFactor(LatentFactorBase, BiasOnly):
    """``mu + b_u + b_i + p_u . q_i`` with ``embedding_dim`` factors drawn from N(0, init_std^2);
    also ``user_factors.weight`` (U, D) and ``item_factors.weight`` (I, D)."""

    def _network(self, train: Any) -> nn.Module:
        return LatentFactorNet(self.n_users_, self.n_items_, self.global_mean_, self.embedding_dim, self.init_std,
                               self.seed)
