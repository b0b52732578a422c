"""The pointwise two-tower variants in PyTorch. Twin: course_lib/tf/two_tower_pointwise.py.

1. ``ConcatMLP``: [p_u ; q_i] -> MLP -> one logit (He et al., "Neural Collaborative Filtering", WWW 2017, its MLP part).
2. ``TwoTowerMLP``: tower(p_u) * tower(q_i) -> Linear -> one logit.
Both learn from positives against sampled negatives with binary cross-entropy; arguments, batches,
scoring and validation are in course_lib/two_tower_base.py, the loop in course_lib/training_loop.py.

Letters: B batch, E embedding_dim, H hidden width, D tower output size, U users, I n_items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.torch.training import TorchSteps, default_init
from course_lib.two_tower_base import PointwiseBase

__all__ = ["Tower", "ConcatMLPNet", "TwoTowerMLPNet", "ConcatMLP", "TwoTowerMLP"]


class Tower(nn.Module):
    """Linear + ReLU for each hidden width, then a linear output layer (no activation).

    ``init``: ``"he"`` (weights N(0, 2 / fan_in), keeps the variance through ReLUs), ``"normal"``
    (N(0, 1): too large, the usual way to kill a narrow network) or ``"default"`` (PyTorch's
    ``nn.Linear`` default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in the twin).
    """

    def __init__(self, input_dim: int, hidden_dims: tuple[int, ...], output_dim: int, init: str = "he",
                 seed: int = 0) -> None:
        super().__init__()
        widths = [input_dim, *hidden_dims, output_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        generator = torch.Generator().manual_seed(seed)
        if init == "default":  # PyTorch's distributions, from the tower's own generator
            default_init(self.linears, generator)
            return
        with torch.no_grad():
            for linear in self.linears:
                std = (2.0 / linear.in_features) ** 0.5 if init == "he" else 1.0
                linear.weight.normal_(0.0, std, generator=generator)
                linear.bias.zero_()

    def forward(self, inputs: Tensor) -> Tensor:
        hidden = inputs                                           # (B, input_dim)
        for linear in self.linears[:-1]:
            hidden = torch.relu(linear(hidden))                   # (B, H)
        return self.linears[-1](hidden)                           # (B, output_dim)


class ConcatMLPNet(nn.Module):
    """[p_u ; q_i] (B, 2E) -> MLP -> logit (B,)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.user_embeddings = nn.Parameter(0.1 * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(0.1 * torch.randn(n_items, embedding_dim, generator=generator))
        self.mlp = Tower(2 * embedding_dim, tuple(hidden_dims), 1, init, seed + 1)

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        pairs = torch.cat([self.user_embeddings[user_ids], self.item_embeddings[item_ids]], -1)  # (B, 2E)
        return self.mlp(pairs)[:, 0]                                                             # (B,)


class TwoTowerMLPNet(nn.Module):
    """tower(p_u) * tower(q_i) (B, D) -> Linear -> logit (B,); ``tower_dims`` ends with D."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, tower_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        scale = 1.0 if init == "normal" else 0.1
        self.user_embeddings = nn.Parameter(scale * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(scale * torch.randn(n_items, embedding_dim, generator=generator))
        *hidden, output = tower_dims
        self.user_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 1)
        self.item_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 2)
        self.output = nn.Linear(output, 1)
        with torch.no_grad():
            self.output.weight.fill_(1.0)  # starts as a plain dot product of the two towers
            self.output.bias.zero_()

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        users = self.user_tower(self.user_embeddings[user_ids])    # (B, D)
        items = self.item_tower(self.item_embeddings[item_ids])    # (B, D)
        return self.output(users * items)[:, 0]                    # (B,)

    def all_scores(self, user_ids: Tensor) -> Tensor:
        users = self.user_tower(self.user_embeddings[user_ids])    # (U, D)
        items = self.item_tower(self.item_embeddings)              # (I, D)
        return (users * self.output.weight) @ items.T + self.output.bias  # (U, I)


class _TorchPointwise(PointwiseBase, TorchSteps):
    def _forward_numpy(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(users), self._tensor(items)).cpu().numpy()

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> Tensor:
        logits = self.network_(self._tensor(batch["users"]), self._tensor(batch["items"]))   # (B,)
        return nn.functional.binary_cross_entropy_with_logits(logits, self._tensor(batch["labels"], torch.float32))


class ConcatMLP(_TorchPointwise):
    """Variant 1: user and item embeddings concatenated into an MLP that outputs one logit.

    Parameters: ``embedding_dim`` E, ``hidden_dims`` of the MLP, ``n_negatives`` per positive,
    ``init`` of the MLP ("he", "normal", "default"), ``l2`` (penalty on every weight),
    ``optimizer``, ``learning_rate``, ``scheduler``, ``epochs`` (a ceiling with ``patience``),
    ``batch_size``, ``keep_best`` (None, "metric", "loss"), ``patience``, ``validation_metric``,
    ``seed``, ``device``, ``show_progress``. Scoring runs the MLP on every (user, item) pair.
    """

    def _network(self, train: Any) -> nn.Module:
        return ConcatMLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.init, self.seed)


class TwoTowerMLP(_TorchPointwise):
    """Variant 2: a tower per side over its embedding, merged by an element-wise product and a final layer.

    Parameters as ``ConcatMLP``; ``hidden_dims`` are the tower's widths, the last one is D.
    ``init="normal"`` with narrow towers reproduces the collapse shown in notebook 04.
    """

    def _network(self, train: Any) -> nn.Module:
        return TwoTowerMLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.init, self.seed)

    def score(self, user_ids: Any) -> np.ndarray:
        """Logits of every item for each user, (U, I): the towers once per user and item, one matrix product."""
        user_ids = self._user_ids(user_ids)
        self.network_.eval()
        with torch.no_grad():
            return self.network_.all_scores(self._tensor(user_ids)).cpu().numpy()
