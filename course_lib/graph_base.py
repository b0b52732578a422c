"""The framework-free half of LightGCN (He et al., SIGIR 2020), notebook 05.

The twins in ``course_lib/{torch,tf}/graph.py`` add the propagation on their own sparse matrices
and the loss of one batch; the arguments, the graph, the batches (BPR triplets and the edge-dropout
weights, drawn with NumPy so that both twins see the same ones), the scoring, the validation loss
and the loop (``course_lib.training_loop``) are here, once.

Shapes: U n_users, I n_items, N = U + I graph nodes, E non-zeros of the graph, D embedding_dim,
B batch, K n_layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.base import _transactional, check_interactions, minibatches
from course_lib.closed_form import normalized_adjacency
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, normal
from course_lib.ncf_base import check_float, check_int
from course_lib.sampling import sample_negatives, sample_triplets
from course_lib.training_loop import TrainingLoop, check_validation_split

__all__ = ["LightGCNBase", "propagate_numpy"]


def propagate_numpy(adjacency: sp.csr_matrix, embeddings: np.ndarray, n_layers: int) -> np.ndarray:
    """The mean of ``E(0) = embeddings`` and ``E(k+1) = adjacency @ E(k)`` for k < n_layers: (N, D)."""
    layers = [embeddings]                                                  # E(0), (N, D)
    for _ in range(n_layers):
        layers.append(adjacency @ layers[-1])                              # (N, D)
    return np.mean(layers, axis=0, dtype=embeddings.dtype)                 # (N, D)


class LightGCNBase(TrainingLoop):
    """LightGCN trained with BPR; ``n_layers=0`` gives MF-BPR.

    Loss of a batch of triplets (u, i, j): ``mean(softplus(s_uj - s_ui)) + l2 * (|e_u|^2 + |e_i|^2
    + |e_j|^2) / (2 B)`` with ``s_ui = e_u^(K) . e_i^(K)`` on the final embeddings and the L2 term on
    the layer-0 embeddings of the batch only (He et al. 2020, eq. 15); no other penalty is added.

    Parameters
    ----------
    embedding_dim, n_layers:
        D and K.
    edge_dropout:
        Share of the graph's edges dropped at each training step (the kept ones are scaled by
        ``1 / (1 - edge_dropout)``); 0 keeps the whole graph.
    l2:
        The weight of the L2 term above.
    optimizer, learning_rate, scheduler:
        One of ``course_lib.optim.OPTIMIZERS``, its step size, and the per-epoch schedule (None,
        "step", "exponential", "cosine").
    epochs, batch_size:
        At most this many passes over the training interactions (one triplet each); triplets per step.
    keep_best, patience, validation_metric:
        With ``fit(train, validation=...)``: restore the best epoch (``"metric"``: the best
        ``validation_metric``, NDCG@10 by default; ``"loss"``: the lowest validation BPR loss) and
        stop after ``patience`` epochs without improvement.
    seed, device, show_progress:
        Seeds the embeddings, the triplets and the edge dropout; the framework's device; the bar.

    The defaults reach NDCG@10 0.41 on MovieLens 100K in 30 epochs of 10 steps: a large learning
    rate and batch keep the CPU time short. MF-BPR (``n_layers=0``) overfits at that learning
    rate; 1e-2 with ``l2=3e-2`` suits it.
    """

    def __init__(self, embedding_dim: int = 64, n_layers: int = 3, edge_dropout: float = 0.0, l2: float = 2e-3,
                 optimizer: str = "adam", learning_rate: float = 5e-2, scheduler: str | None = None,
                 epochs: int = 30, batch_size: int = 8192, keep_best: str | None = None,
                 patience: int | None = None, validation_metric: str | None = None, seed: int = 0,
                 device: Any = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.n_layers, self.edge_dropout, self.l2 = embedding_dim, n_layers, edge_dropout, l2
        self.optimizer, self.learning_rate, self.scheduler = optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.validation_metric, self.seed, self.device, self.show_progress = validation_metric, seed, device, show_progress

    def _check_arguments(self) -> None:
        check_int("embedding_dim", self.embedding_dim)
        check_int("n_layers", self.n_layers, 0)
        check_float("edge_dropout", self.edge_dropout, 0.0, 1.0, high_open=True)

    @_transactional  # this base is no Recommender: its fit is wrapped here, not by __init_subclass__
    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> LightGCNBase:
        """Fit on the interactions of ``train`` (one BPR triplet each per epoch); with ``validation``
        (held-out interactions of the same users and items) record ``validation_metric`` and the
        validation BPR loss per epoch, keep the best epoch (``keep_best``) and stop after
        ``patience`` epochs without improvement. A fit that fails (or is interrupted) leaves the
        model as it was."""
        self._check_arguments()
        self._check_loop_arguments(validation)
        self._check_device()
        check_validation_split(check_interactions(train), validation)
        train = self._start_fit(train)
        graph = normalized_adjacency(train).astype(np.float32).tocsr()    # (N, N)
        graph.sort_indices()  # the edges in row-major order: the order of the edge-dropout draws and of TF's CSR
        self.graph_ = graph
        self._train_data, self._final = train, None
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        self._final = None
        return self

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """The layer-0 embeddings of users and items, N(0, 0.1^2)."""
        return [("*_embeddings", normal(0.1))]

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        """One triplet per training interaction, in a random order, in batches; with edge dropout,
        each batch carries the graph's (E,) values with the dropped edges set to 0."""
        users, positives, negatives = sample_triplets(self._train_data, seed=rng)
        for rows in minibatches(len(users), self.batch_size):
            batch = {"users": users[rows], "positives": positives[rows], "negatives": negatives[rows]}
            if self.edge_dropout > 0:
                keep = rng.random(self.graph_.nnz) >= self.edge_dropout                       # (E,)
                batch["edge_values"] = np.where(keep, self.graph_.data / np.float32(1 - self.edge_dropout),
                                                np.float32(0)).astype(np.float32)
            yield batch

    # ------------------------------------------------- the weights change: the final embeddings too
    def _train_batch(self, batch: dict[str, np.ndarray]) -> Any:
        self._final = None
        return super()._train_batch(batch)  # type: ignore[misc]

    def sgd_step(self, batch: dict[str, np.ndarray], learning_rate: float) -> float:
        """One plain gradient step on one batch (for the parity tests)."""
        self._check_fitted()  # type: ignore[attr-defined]
        self._final = None
        return super().sgd_step(batch, learning_rate)  # type: ignore[misc]

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        super().set_weights(weights)  # type: ignore[misc]
        self._final = None

    # ----------------------------------------------------------------- scoring
    def final_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """The final user (U, D) and item (I, D) embeddings: the layer mean over the whole graph.

        Computed once from the weights with SciPy (the same numbers for both twins), then reused
        until the weights change."""
        self._check_fitted()  # type: ignore[attr-defined]
        if self._final is None:
            weights = self.get_weights()  # type: ignore[attr-defined]
            layer0 = np.concatenate([weights["user_embeddings"], weights["item_embeddings"]]).astype(np.float32)
            final = propagate_numpy(self.graph_, layer0, int(self.n_layers))                  # (N, D)
            self._final = final[:self.n_users_], final[self.n_users_:]  # type: ignore[attr-defined]
        return self._final

    def score(self, user_ids: Any) -> np.ndarray:
        """Scores of every item for each user: dot products of the final embeddings, (B, I)."""
        user_ids = self._user_ids(user_ids)  # type: ignore[attr-defined]
        user_final, item_final = self.final_embeddings()
        return user_final[user_ids] @ item_final.T                                            # (B, I)

    def _validation_loss(self, validation: Interactions) -> float:
        """BPR loss (no L2 term) of the validation interactions against one negative each, drawn once
        with the model's seed among the items the user has neither in train nor in validation."""
        if getattr(self, "_validation_triplets", (None,))[0] is not validation:
            seen = (self._train_data.to_csr() + validation.to_csr()).tocsr()
            negatives = sample_negatives(seen, validation.users, 1, seed=self.seed)[:, 0]
            self._validation_triplets = (validation, validation.users, validation.items, negatives)
        _, users, positives, negatives = self._validation_triplets
        user_final, item_final = self.final_embeddings()
        margin = np.einsum("bd,bd->b", user_final[users], item_final[positives] - item_final[negatives])  # (B,)
        return float(np.mean(np.logaddexp(0.0, -margin.astype(np.float64))))
