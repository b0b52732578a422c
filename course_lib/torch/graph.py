"""LightGCN (He et al., SIGIR 2020) in PyTorch. Twin: course_lib/tf/graph.py.

Shapes: U n_users, I n_items, N = U + I graph nodes, D embedding_dim, B batch, K n_layers.

The users and items are the nodes of one bipartite graph with the normalized adjacency
``A^ = D^-1/2 A D^-1/2`` (N, N). LightGCN has no weight matrices and no non-linearity: the
layer-0 embeddings are the only parameters; each layer averages the neighbours,
``E(k+1) = A^ E(k)``, and the final embedding is the mean of the layers ``E(0) .. E(K)``.
With ``n_layers=0`` it is plain matrix factorization trained with BPR (MF-BPR).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from course_lib.closed_form import normalized_adjacency
from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_triplets
from course_lib.torch.training import TorchRecommender, get_device, make_optimizer, minibatches, progress
from course_lib.validation import check_lightgcn_arguments

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


class LightGCN(TorchRecommender):
    """LightGCN trained with BPR and Adam; ``n_layers=0`` gives MF-BPR.

    Loss of a batch of triplets (u, i, j): ``mean(softplus(s_uj - s_ui)) + l2_weight * (|e_u|^2 +
    |e_i|^2 + |e_j|^2) / (2 B)`` with ``s_ui = e_u^(K) . e_i^(K)`` on the final embeddings and the
    L2 term on the layer-0 embeddings of the batch (He et al. 2020, eq. 15).

    Parameters
    ----------
    embedding_dim, n_layers:
        D and K.
    learning_rate, batch_size, epochs:
        Adam's step size; triplets per step; passes over the training interactions.
    l2_weight:
        The weight of the L2 term.
    edge_dropout:
        Share of the graph's edges dropped at each training step (the kept ones are scaled by
        ``1 / (1 - edge_dropout)``); 0 keeps the whole graph.
    seed, device:
        Seeds the embeddings, the triplets and the edge dropout; ``get_device(device)``.

    The defaults reach NDCG@10 0.41 on MovieLens 100K in 30 epochs of 10 steps: a large learning
    rate and batch keep the CPU time short. MF-BPR (``n_layers=0``) overfits at that learning
    rate; 1e-2 with ``l2_weight=3e-2`` suits it.
    """

    def __init__(self, embedding_dim: int = 64, n_layers: int = 3, learning_rate: float = 5e-2,
                 l2_weight: float = 2e-3, batch_size: int = 8192, epochs: int = 30, edge_dropout: float = 0.0,
                 seed: int = 0, device: Any = None) -> None:
        self.embedding_dim, self.n_layers = embedding_dim, n_layers
        self.learning_rate, self.l2_weight = learning_rate, l2_weight
        self.batch_size, self.epochs, self.edge_dropout = batch_size, epochs, edge_dropout
        self.seed, self.device = seed, device

    # ------------------------------------------------------------------ set-up
    def _build(self, train: Interactions) -> Interactions:
        check_lightgcn_arguments(self)
        device = get_device(self.device)
        train = self._start_fit(train)
        self.device_ = device
        self.rng_ = np.random.default_rng(self.seed)
        self.graph_ = normalized_adjacency(train).astype(np.float32)      # (N, N) SciPy COO
        self.adjacency_ = self._sparse(self.graph_.data)
        self.network_ = LightGCNNet(train.n_users, train.n_items, int(self.embedding_dim), int(self.n_layers),
                                    int(self.seed)).to(self.device_)
        self._final = None
        return train

    def _sparse(self, values: np.ndarray, keep: np.ndarray | None = None) -> Tensor:
        # torch.sparse.mm is several times faster with CSR than with COO on the CPU.
        rows, cols = self.graph_.row, self.graph_.col
        if keep is not None:
            rows, cols, values = rows[keep], cols[keep], values[keep]
        matrix = sp.csr_matrix((values, (rows, cols)), shape=self.graph_.shape)
        with warnings.catch_warnings():  # "sparse CSR support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            # Each part straight onto the device: no CPU copy made first and moved afterwards.
            return torch.sparse_csr_tensor(self._tensor(matrix.indptr), self._tensor(matrix.indices),
                                           self._tensor(matrix.data, torch.float32), matrix.shape,
                                           device=self.device_, check_invariants=False)

    def _training_adjacency(self) -> Tensor:
        if self.edge_dropout == 0:
            return self.adjacency_
        keep = self.rng_.random(self.graph_.nnz) >= self.edge_dropout
        return self._sparse(self.graph_.data / np.float32(1 - self.edge_dropout), keep)

    # ---------------------------------------------------------------- the loss
    def _loss(self, adjacency: Tensor, users: Any, positives: Any, negatives: Any) -> Tensor:
        users, positives, negatives = (self._tensor(v) for v in (users, positives, negatives))
        user_final, item_final = self.network_(adjacency)                  # (U, D), (I, D)
        u, i, j = user_final[users], item_final[positives], item_final[negatives]  # (B, D) each
        margin = (u * i).sum(-1) - (u * j).sum(-1)                        # (B,)
        net = self.network_
        layer0 = (net.user_embeddings[users].square().sum() + net.item_embeddings[positives].square().sum()
                  + net.item_embeddings[negatives].square().sum())
        return nn.functional.softplus(-margin).mean() + self.l2_weight * layer0 / (2 * len(users))

    def loss_on_batch(self, users: Any, positives: Any, negatives: Any) -> float:
        """The loss of one batch of triplets on the whole graph (no edge dropout)."""
        self._check_fitted()
        with torch.no_grad():
            return float(self._loss(self.adjacency_, users, positives, negatives))

    def sgd_step(self, users: Any, positives: Any, negatives: Any, learning_rate: float) -> None:
        """One plain gradient step on one batch (no edge dropout): for the parity tests."""
        self._check_fitted()
        self.network_.zero_grad()
        self._loss(self.adjacency_, users, positives, negatives).backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                parameter -= learning_rate * parameter.grad
        self._final = None

    def _update(self, adjacency: Tensor, users: Any, positives: Any, negatives: Any) -> Tensor:
        self.optimizer_.zero_grad()
        loss = self._loss(adjacency, users, positives, negatives)
        loss.backward()
        self.optimizer_.step()
        return loss.detach()

    def optimizer_step(self, users: Any, positives: Any, negatives: Any) -> float:
        """One step of the model's own optimizer on one batch, on the whole graph (no edge dropout);
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        loss = float(self._update(self.adjacency_, users, positives, negatives))
        self._final = None
        return loss

    # ---------------------------------------------------------------- training
    def fit(self, train: Interactions, show_progress: bool = True) -> LightGCN:
        train = self._build(train)
        self.optimizer_ = make_optimizer("adam", self.network_.parameters(), self.learning_rate)
        self.history_ = {"loss": []}
        self.epoch_seconds_: list[float] = []

        for _ in progress(range(int(self.epochs)), show_progress, f"LightGCN (K={self.n_layers}, torch)"):
            started = time.perf_counter()
            users, positives, negatives = sample_triplets(train, seed=self.rng_)
            total = 0.0
            for batch in minibatches(len(users), int(self.batch_size)):
                loss = self._update(self._training_adjacency(), users[batch], positives[batch], negatives[batch])
                total += float(loss) * len(batch)
            self.history_["loss"].append(total / len(users))
            self.epoch_seconds_.append(time.perf_counter() - started)
        self._final = None
        return self

    # ----------------------------------------------------------------- scoring
    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        if self._final is None:  # the propagation runs once, then serves every batch of users
            with torch.no_grad():
                self._final = self.network_(self.adjacency_)
        user_final, item_final = self._final
        with torch.no_grad():
            return (user_final[self._tensor(user_ids)] @ item_final.T).cpu().numpy()  # (B, I)

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        super().set_weights(weights)
        self._final = None
