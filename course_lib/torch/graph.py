"""LightGCN (He et al., SIGIR 2020) in PyTorch. Twin: course_lib/tf/graph.py.

Shapes: U n_users, I n_items, N = U + I graph nodes, D embedding_dim, B batch, K n_layers.

The users and items are the nodes of one bipartite graph with the normalized adjacency
``A^ = D^-1/2 A D^-1/2`` (N, N). LightGCN has no weight matrices and no non-linearity: the
layer-0 embeddings are the only parameters; each layer averages the neighbours,
``E(k+1) = A^ E(k)``, and the final embedding is the mean of the layers ``E(0) .. E(K)``.
With ``n_layers=0`` it is plain matrix factorization trained with BPR (MF-BPR).

The framework-free half (arguments, graph, triplets and edge dropout, scoring, validation) is in
course_lib/graph_base.py, the loop in course_lib/training_loop.py; here: the network and the loss.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.graph_base import LightGCNBase
from course_lib.torch.training import TorchSteps, get_device

__all__ = ["propagate", "symmetric_sparse_mm", "LightGCNNet", "LightGCN"]


class _SymmetricSparseMM(torch.autograd.Function):
    """``A @ X`` for a symmetric sparse ``A``: the gradient ``A^T @ dL/dY`` is ``A @ dL/dY``.

    ``torch.sparse.mm`` would transpose the sparse matrix at every backward pass, which is
    ten times slower on the CPU than the product itself.
    """

    @staticmethod
    def forward(ctx: Any, adjacency: Tensor, dense: Tensor) -> Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, dense)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adjacency, grad)


def symmetric_sparse_mm(adjacency: Tensor, dense: Tensor) -> Tensor:
    """``adjacency @ dense`` (N, D) for a symmetric sparse (N, N) ``adjacency`` with a fast backward pass."""
    return _SymmetricSparseMM.apply(adjacency, dense)


def propagate(adjacency: Tensor, embeddings: Tensor, n_layers: int) -> Tensor:
    """The mean of ``E(0) = embeddings`` and ``E(k+1) = adjacency @ E(k)`` for k < n_layers: (N, D)."""
    layers = [embeddings]                                                  # E(0), (N, D)
    for _ in range(n_layers):
        layers.append(symmetric_sparse_mm(adjacency, layers[-1]))          # (N, D)
    return torch.stack(layers).mean(dim=0)                                 # (N, D)


class LightGCNNet(nn.Module):
    """The layer-0 embeddings of users and items, and the propagation over the graph."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, n_layers: int, seed: int) -> None:
        super().__init__()
        self.n_users, self.n_layers = n_users, n_layers
        users = torch.Generator().manual_seed(seed)
        items = torch.Generator().manual_seed(seed + 1)
        self.user_embeddings = nn.Parameter(0.1 * torch.randn(n_users, embedding_dim, generator=users))
        self.item_embeddings = nn.Parameter(0.1 * torch.randn(n_items, embedding_dim, generator=items))

    def forward(self, adjacency: Tensor) -> tuple[Tensor, Tensor]:
        layer0 = torch.cat([self.user_embeddings, self.item_embeddings])   # (N, D)
        final = propagate(adjacency, layer0, self.n_layers)                # (N, D)
        return final[:self.n_users], final[self.n_users:]                  # (U, D), (I, D)


class LightGCN(LightGCNBase, TorchSteps):
    """LightGCN trained with BPR; ``n_layers=0`` gives MF-BPR. Arguments, loss and defaults:
    ``course_lib.graph_base.LightGCNBase``. Weights: ``user_embeddings`` (U, D), ``item_embeddings`` (I, D)."""

    def _build(self, train: Any) -> None:
        self.device_ = get_device(self.device)
        self.graph_rows_ = self._tensor(self.graph_.indptr)                # CSR: several times faster than COO
        self.graph_columns_ = self._tensor(self.graph_.indices)
        self.adjacency_ = self._sparse(self._tensor(self.graph_.data, torch.float32))
        super()._build(train)

    def _network(self, train: Any) -> nn.Module:
        return LightGCNNet(self.n_users_, self.n_items_, int(self.embedding_dim), int(self.n_layers), int(self.seed))

    def _sparse(self, values: Tensor) -> Tensor:
        """The graph with these (E,) values, in the CSR order of ``graph_``, on the device."""
        with warnings.catch_warnings():  # "sparse CSR support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(self.graph_rows_, self.graph_columns_, values, self.graph_.shape,
                                           device=self.device_, check_invariants=False)

    def _penalty(self) -> Tensor:
        return torch.zeros((), device=self.device_)  # the loss carries its own L2 term (on the batch)

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> Tensor:
        adjacency = self.adjacency_
        if training and "edge_values" in batch:  # edge dropout: the graph of this step
            adjacency = self._sparse(self._tensor(batch["edge_values"], torch.float32))
        users, positives, negatives = (self._tensor(batch[key]) for key in ("users", "positives", "negatives"))
        user_final, item_final = self.network_(adjacency)                 # (U, D), (I, D)
        u, i, j = user_final[users], item_final[positives], item_final[negatives]  # (B, D) each
        margin = (u * i).sum(-1) - (u * j).sum(-1)                        # (B,)
        net = self.network_
        layer0 = (net.user_embeddings[users].square().sum() + net.item_embeddings[positives].square().sum()
                  + net.item_embeddings[negatives].square().sum())
        return nn.functional.softplus(-margin).mean() + self.l2 * layer0 / (2 * len(users))
