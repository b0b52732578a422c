"""Neural collaborative filtering in PyTorch: a rating MLP, GMF, MLP, NeuMF and a hybrid NeuMF.

He et al., "Neural Collaborative Filtering", WWW 2017. Twin: course_lib/tf/mlp.py (same classes,
arguments and weight names). The framework-free half (arguments, batches with sampled negatives,
validation, best checkpoint) is in course_lib/ncf_base.py, the loop in course_lib/training_loop.py.

Shapes: B batch, D embedding_dim, H last hidden width, F item features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.ncf_base import ExplicitNCFBase, GMFBase, HybridFeaturesMixin, ImplicitNCFBase
from course_lib.ncf_pretraining import PretrainedNeuMFMixin
from course_lib.torch.layers import SeededDropout, make_generator
from course_lib.torch.training import TorchSteps

__all__ = ["RatingNet", "GMFNet", "MLPNet", "NeuMFNet", "ExplicitNCF", "GMF", "MLP", "NeuMF", "HybridNeuMF"]


def _embedding(n_rows: int, dim: int, generator: torch.Generator) -> nn.Embedding:
    table = nn.Embedding(n_rows, dim)
    nn.init.normal_(table.weight, std=0.01, generator=generator)  # NCF's initialization; N(0, 1) starts far too large
    return table


def _linear(in_dim: int, out_dim: int, generator: torch.Generator) -> nn.Linear:
    # Glorot-uniform weights and zero biases (NCF's choice, and Keras' default: the TensorFlow twin's)
    layer = nn.Linear(in_dim, out_dim)
    nn.init.xavier_uniform_(layer.weight, generator=generator)
    nn.init.zeros_(layer.bias)
    return layer


def _tower(in_dim: int, hidden_dims: Sequence[int], generator: torch.Generator) -> nn.ModuleList:
    dims = [in_dim, *hidden_dims]
    return nn.ModuleList(_linear(a, b, generator) for a, b in zip(dims[:-1], dims[1:], strict=True))


def _run_tower(layers: nn.ModuleList, x: torch.Tensor, drop: SeededDropout) -> torch.Tensor:
    for layer in layers:
        x = drop(F.relu(layer(x)))                                           # (B, H_l)
    return x


class RatingNet(nn.Module):
    """Explicit NCF: [user embedding, item embedding] -> ReLU layers -> one rating."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, global_mean: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        g = make_generator(seed)  # the weights' own stream: torch's global generator is left alone
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, g), _embedding(n_items, embedding_dim, g)
        self.layers = _tower(2 * embedding_dim, hidden_dims, g)
        self.output = _linear(hidden_dims[-1] if hidden_dims else 2 * embedding_dim, 1, g)
        nn.init.constant_(self.output.bias, global_mean)  # start at the mean rating
        self.drop = SeededDropout(dropout, make_generator(seed + 1))  # masks from the network's own stream

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_embedding(users), self.item_embedding(items)], dim=-1)  # (B, 2D)
        return self.output(_run_tower(self.layers, x, self.drop)).squeeze(-1)            # (B,)


class GMFNet(nn.Module):
    """Generalized matrix factorization: logit = w . (p_u * q_i) + b."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        g = make_generator(seed)
        self.user_embedding, self.item_embedding = _embedding(n_users, embedding_dim, g), _embedding(n_items, embedding_dim, g)
        self.output = _linear(embedding_dim, 1, g)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.output(self.user_embedding(users) * self.item_embedding(items)).squeeze(-1)  # (B,)


class MLPNet(RatingNet):
    """The MLP tower of NCF: [p_u, q_i] -> ReLU layers -> logit (the rating network without the mean)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, seed: int = 0) -> None:
        super().__init__(n_users, n_items, embedding_dim, hidden_dims, dropout, 0.0, seed)


class NeuMFNet(nn.Module):
    """NeuMF: a GMF branch and an MLP branch with their own embeddings, concatenated into one output layer.

    With ``item_features`` (I, F) a third, content branch joins them: a user embedding times the
    item's features projected to D (``feature_projection``), so a film is placed by its genres
    (or by given item embeddings) as well as by its ratings.
    """

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: Sequence[int],
                 dropout: float = 0.0, item_features: np.ndarray | None = None, seed: int = 0) -> None:
        super().__init__()
        g = make_generator(seed)
        self.gmf_user, self.gmf_item = _embedding(n_users, embedding_dim, g), _embedding(n_items, embedding_dim, g)
        self.mlp_user, self.mlp_item = _embedding(n_users, embedding_dim, g), _embedding(n_items, embedding_dim, g)
        self.layers = _tower(2 * embedding_dim, hidden_dims, g)
        width = embedding_dim + (hidden_dims[-1] if hidden_dims else 2 * embedding_dim)
        if item_features is not None:
            self.feature_user = _embedding(n_users, embedding_dim, g)
            self.feature_projection = _linear(item_features.shape[1], embedding_dim, g)
            # not a weight: kept out of the state_dict, so the weight keys match the TF twin's
            self.register_buffer("item_features", torch.tensor(np.asarray(item_features)), persistent=False)
            width += embedding_dim
        self.output = _linear(width, 1, g)
        self.drop = SeededDropout(dropout, make_generator(seed + 1))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)                                   # (B, D)
        mlp = torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=-1)               # (B, 2D)
        branches = [gmf, _run_tower(self.layers, mlp, self.drop)]                           # (B, D), (B, H)
        if hasattr(self, "feature_projection"):
            content = self.feature_projection(self.item_features[items])                    # (B, D)
            branches.append(self.feature_user(users) * content)                             # (B, D)
        return self.output(torch.cat(branches, dim=-1)).squeeze(-1)                         # (B,)


# ------------------------------------------------------------------ recommenders
class _TorchNCF(TorchSteps):
    def _forward_numpy(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(users), self._tensor(items)).cpu().numpy()

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> torch.Tensor:
        output = self.network_(self._tensor(batch["users"]), self._tensor(batch["items"]))      # (B,)
        if "ratings" in batch:
            return F.mse_loss(output, self._tensor(batch["ratings"], torch.float32))
        return F.binary_cross_entropy_with_logits(output, self._tensor(batch["labels"], torch.float32))


class ExplicitNCF(ExplicitNCFBase, _TorchNCF):
    """Rating prediction with NCF: embeddings into an MLP, trained with MSE on the observed ratings.
    Arguments, ``fit`` and ``history_``: ``course_lib.ncf_base.ExplicitNCFBase``."""

    def _network(self, train: Any) -> nn.Module:
        return RatingNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                         self.global_mean_, self.seed)


class GMF(GMFBase, _TorchNCF):
    """GMF trained on implicit feedback with sampled negatives and binary cross-entropy."""

    def _network(self, train: Any) -> nn.Module:
        return GMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.seed)


class MLP(ImplicitNCFBase, _TorchNCF):
    """The MLP tower of NCF alone, trained like GMF."""

    def _network(self, train: Any) -> nn.Module:
        return MLPNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout, self.seed)


class NeuMF(PretrainedNeuMFMixin, ImplicitNCFBase, _TorchNCF):
    """NeuMF (He et al. 2017): GMF and MLP branches concatenated, trained with sampled negatives and BCE.

    Arguments as ``GMF`` plus ``hidden_dims`` and ``dropout`` of the MLP branch (``ImplicitNCFBase``);
    ``NeuMF.from_pretrained(gmf, mlp, alpha)`` starts from a fitted GMF and MLP of either framework
    (course_lib/ncf_pretraining.py, as the paper does).
    """

    def _network(self, train: Any) -> nn.Module:
        return NeuMFNet(self.n_users_, self.n_items_, self.embedding_dim, self.hidden_dims_, self.dropout,
                        self._network_item_features(), self.seed)


class HybridNeuMF(HybridFeaturesMixin, NeuMF):
    """NeuMF with a third branch on item side features: ``item_features`` (I, F), by default
    ``train.item_features`` (the genres of MovieLens), or any precomputed item embeddings."""
