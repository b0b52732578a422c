"""BPR matrix factorization (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
Feedback", UAI 2009). Twin: course_lib/tf/bpr.py.

Letters: B batch, D embedding_dim, U users scored at once, I n_items.

For a triplet (u, i, j), i an item the user interacted with and j one they did not,
``x_uij = x_ui - x_uj`` with ``x_ui = <p_u, q_i> + b_i``; BPR minimizes
``-log sigmoid(x_uij) + l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2)`` averaged over the triplets.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.base import check_hyperparameters
from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_triplets
from course_lib.torch.training import TorchRecommender, get_device, make_optimizer, progress

__all__ = ["BPRNet", "BPRMF", "bpr_loss"]


def bpr_loss(positive_scores: Tensor, negative_scores: Tensor) -> Tensor:
    """Mean of ``-log sigmoid(x_ui - x_uj)``; ``logsigmoid`` stays finite for large differences."""
    return -nn.functional.logsigmoid(positive_scores - negative_scores).mean()


class BPRNet(nn.Module):
    """User and item embeddings plus an item bias: ``x_ui = <p_u, q_i> + b_i``."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, init_std: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.user_embeddings = nn.Parameter(init_std * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(init_std * torch.randn(n_items, embedding_dim, generator=generator))
        self.item_bias = nn.Parameter(torch.zeros(n_items))

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        users = self.user_embeddings[user_ids]                     # (B, D)
        items = self.item_embeddings[item_ids]                     # (B, D)
        return (users * items).sum(-1) + self.item_bias[item_ids]  # (B,)

    def triplet_loss(self, user_ids: Tensor, positive_ids: Tensor, negative_ids: Tensor, l2: float) -> Tensor:
        users = self.user_embeddings[user_ids]                     # (B, D)
        positives = self.item_embeddings[positive_ids]             # (B, D)
        negatives = self.item_embeddings[negative_ids]             # (B, D)
        positive_bias, negative_bias = self.item_bias[positive_ids], self.item_bias[negative_ids]  # (B,)
        x_ui = (users * positives).sum(-1) + positive_bias         # (B,)
        x_uj = (users * negatives).sum(-1) + negative_bias         # (B,)
        penalty = (users.square().sum(-1) + positives.square().sum(-1) + negatives.square().sum(-1)
                   + positive_bias.square() + negative_bias.square())  # (B,)
        return bpr_loss(x_ui, x_uj) + l2 * penalty.mean()


def _check_arguments(model: Any) -> None:
    check_hyperparameters(model, positive_ints=("embedding_dim", "epochs", "batch_size"),
                          positive_numbers=("learning_rate", "init_std"), non_negative_numbers=("l2",),
                          non_negative_ints=("seed",),
                          choices={"optimizer": ("adam", "sgd")})


class BPRMF(TorchRecommender):
    """BPR-MF trained on uniformly sampled triplets, one epoch = one triplet per training interaction.

    Parameters
    ----------
    embedding_dim: D, the number of latent factors.
    epochs, batch_size, learning_rate: the training loop (large batches keep an epoch fast on a CPU).
    l2: the weight of the squared norms of the embeddings and biases in each triplet (Rendle's lambda).
    optimizer: ``"adam"`` (default, converges in a few epochs) or ``"sgd"`` (the paper's plain SGD).
    init_std: standard deviation of the initial embeddings.
    seed, device: randomness and the torch device (default: CUDA, then MPS, then CPU).

    Reference: S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme. BPR: Bayesian
    Personalized Ranking from Implicit Feedback. UAI 2009.
    """

    def __init__(self, embedding_dim: int = 64, epochs: int = 30, batch_size: int = 4096, learning_rate: float = 0.01,
                 l2: float = 0.01, optimizer: str = "adam", init_std: float = 0.1, seed: int = 0,
                 device: str | None = None) -> None:
        self.embedding_dim, self.epochs, self.batch_size = embedding_dim, epochs, batch_size
        self.learning_rate, self.l2, self.optimizer, self.init_std = learning_rate, l2, optimizer, init_std
        self.seed, self.device = seed, device

    def fit(self, train: Interactions, validation: Interactions | None = None, show_progress: bool = True) -> BPRMF:
        """Learn from ``train``; with ``validation``, record NDCG@10 after each epoch in ``history_``.

        ``history_`` holds ``loss`` (mean per epoch), ``seconds`` (training time so far, without
        the validation) and, with ``validation``, ``validation_ndcg@10``.
        """
        _check_arguments(self)
        device = get_device(self.device)  # before any state changes
        train = self._start_fit(train)
        self.device_ = device
        self.network_ = BPRNet(self.n_users_, self.n_items_, self.embedding_dim, self.init_std, self.seed).to(self.device_)
        self.optimizer_ = make_optimizer(self.optimizer, self.network_.parameters(), self.learning_rate)
        rng = np.random.default_rng(self.seed)
        matrix = train.to_csr()
        self.history_ = {"loss": [], "seconds": []}
        seconds = 0.0
        for _ in progress(range(self.epochs), show_progress, "BPR-MF (PyTorch)"):
            started = time.perf_counter()
            users, positives, negatives = (self._tensor(a) for a in sample_triplets(matrix, seed=rng))  # (N,) each
            total = torch.zeros((), device=self.device_)
            for start in range(0, len(users), self.batch_size):  # the triplets come shuffled
                rows = slice(start, start + self.batch_size)
                loss = self._step(users[rows], positives[rows], negatives[rows])
                total += loss.detach() * len(users[rows])
            self.history_["loss"].append(float(total) / len(users))
            seconds += time.perf_counter() - started
            self.history_["seconds"].append(seconds)
            if validation is not None:
                from course_lib.evaluation import evaluate

                ndcg = evaluate(self, train, validation, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0]
                self.history_.setdefault("validation_ndcg@10", []).append(float(ndcg))
        return self

    def _step(self, users: Tensor, positives: Tensor, negatives: Tensor) -> Tensor:
        loss = self.network_.triplet_loss(users, positives, negatives, self.l2)
        self.optimizer_.zero_grad()
        loss.backward()
        self.optimizer_.step()
        return loss

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer on one batch of (users, positives, negatives);
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        return float(self._step(*(self._tensor(a) for a in batch)).detach())

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """The training loss (BPR plus L2) of one batch of (users, positives, negatives)."""
        self._check_fitted()
        with torch.no_grad():
            return float(self.network_.triplet_loss(*(self._tensor(a) for a in batch), self.l2))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        loss = self.network_.triplet_loss(*(self._tensor(a) for a in batch), self.l2)
        self.network_.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                parameter -= learning_rate * parameter.grad

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        network = self.network_
        with torch.no_grad():
            users = network.user_embeddings[self._tensor(user_ids)]                # (U, D)
            scores = users @ network.item_embeddings.T + network.item_bias         # (U, I)
        return scores.cpu().numpy()

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """``x_ui`` for pairs of (user, item)."""
        from course_lib.base import check_item_ids

        user_ids = self._user_ids(user_ids)
        item_ids = check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        with torch.no_grad():
            return self.network_(self._tensor(user_ids), self._tensor(item_ids)).cpu().numpy()
