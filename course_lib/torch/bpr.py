"""BPR matrix factorization in PyTorch (Rendle et al., "BPR: Bayesian Personalized Ranking from
Implicit Feedback", UAI 2009). Twin: course_lib/tf/bpr.py (same class, arguments and weight names).

The framework-free half (arguments, triplet batches, scoring) is in course_lib/bpr_base.py, the
loop in course_lib/training_loop.py. The loss of a batch of triplets (u, i, j), ``l2`` a penalty
in the loss (not an optimizer decay):
``mean(-log sigmoid(x_ui - x_uj) + l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2))``.

Letters: B batch, D embedding_dim, I n_items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.bpr_base import BPRMFBase
from course_lib.torch.training import TorchSteps, make_generator

__all__ = ["BPRNet", "BPRMF", "bpr_loss"]


def bpr_loss(positive_scores: Tensor, negative_scores: Tensor) -> Tensor:
    """Mean of ``-log sigmoid(x_ui - x_uj)``; ``logsigmoid`` stays finite for large differences."""
    return -nn.functional.logsigmoid(positive_scores - negative_scores).mean()


class BPRNet(nn.Module):
    """User and item embeddings plus an item bias: ``x_ui = <p_u, q_i> + b_i``."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, init_std: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        generator = make_generator(seed)
        self.user_embeddings = nn.Parameter(init_std * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(init_std * torch.randn(n_items, embedding_dim, generator=generator))
        self.item_bias = nn.Parameter(torch.zeros(n_items))

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        users = self.user_embeddings[user_ids]                     # (B, D)
        items = self.item_embeddings[item_ids]                     # (B, D)
        return (users * items).sum(-1) + self.item_bias[item_ids]  # (B,)

    def triplet_loss(self, user_ids: Tensor, positive_ids: Tensor, negative_ids: Tensor, l2: float) -> Tensor:
        """BPR plus ``l2`` times the squared norms of the rows of each triplet, averaged over the batch."""
        users = self.user_embeddings[user_ids]                     # (B, D)
        positives = self.item_embeddings[positive_ids]             # (B, D)
        negatives = self.item_embeddings[negative_ids]             # (B, D)
        positive_bias, negative_bias = self.item_bias[positive_ids], self.item_bias[negative_ids]  # (B,)
        x_ui = (users * positives).sum(-1) + positive_bias         # (B,)
        x_uj = (users * negatives).sum(-1) + negative_bias         # (B,)
        penalty = (users.square().sum(-1) + positives.square().sum(-1) + negatives.square().sum(-1)
                   + positive_bias.square() + negative_bias.square())  # (B,)
        return bpr_loss(x_ui, x_uj) + l2 * penalty.mean()


class BPRMF(BPRMFBase, TorchSteps):
    """BPR-MF trained on uniformly sampled triplets, one epoch = one triplet per training interaction.

    The arguments are ``BPRMFBase``'s (course_lib/bpr_base.py); ``device`` is a torch device or
    None (CUDA, then MPS, then the CPU). Weights: ``user_embeddings`` (U, D), ``item_embeddings``
    (I, D), ``item_bias`` (I,). Batches are dicts of ``users``, ``positives``, ``negatives``.
    """

    def _network(self, train: Any) -> nn.Module:
        return BPRNet(self.n_users_, self.n_items_, self.embedding_dim, self.init_std, self.seed)

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> Tensor:
        return self.network_.triplet_loss(self._tensor(batch["users"]), self._tensor(batch["positives"]),
                                          self._tensor(batch["negatives"]), self.l2)

    def _penalty(self) -> Tensor:
        """Zero: the L2 term is in the loss, on the rows of each triplet (``triplet_loss``)."""
        return torch.zeros((), device=self.device_)
