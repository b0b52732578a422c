"""The retrieval two-tower model in PyTorch. Twin: course_lib/tf/two_tower_retrieval.py.

Towers over ids *and* side features, a dot product, and an in-batch sampled softmax with the logQ
correction (Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
Recommendations", RecSys 2019); it can score items known only by their features. Arguments,
features, batches and scoring are in course_lib/two_tower_base.py, the loop in course_lib/training_loop.py.

Letters: B batch, E id embedding size, F feature embedding size, H hidden width, D output size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.torch.training import TorchSteps
from course_lib.torch.two_tower_pointwise import Tower
from course_lib.two_tower_base import RetrievalBase

__all__ = ["in_batch_softmax_loss", "TwoTowerRetrievalNet", "TwoTowerRetrieval"]


def in_batch_softmax_loss(user_vectors: Tensor, item_vectors: Tensor, log_q: Tensor | None = None,
                          temperature: float = 1.0) -> Tensor:
    """Row b's positive is item b; the other items of the batch are its negatives.

    ``logits[b, c] = <u_b, v_c> / temperature - log q_c``: popular items appear as negatives more
    often than uniform sampling would make them, and subtracting ``log q`` undoes that bias.
    """
    logits = user_vectors @ item_vectors.T / temperature           # (B, B)
    if log_q is not None:
        logits = logits - log_q[None, :]                           # one correction per column (item)
    labels = torch.arange(len(logits), device=logits.device)       # (B,) the diagonal
    return nn.functional.cross_entropy(logits, labels)


class TwoTowerRetrievalNet(nn.Module):
    """User tower over [id ; age ; gender ; occupation], item tower over [id ; genres ; year]; both end in D.

    The item id table has one extra last row, the *unknown item*: training swaps some ids for it
    (id dropout), so the item tower also learns to encode an item from its features alone.
    """

    def __init__(self, n_users: int, n_items: int, user_cardinalities: tuple[int, int, int], n_genres: int,
                 n_year_codes: int, embedding_dim: int = 64, feature_dim: int = 16, hidden_dim: int = 128,
                 output_dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)

        def table(rows: int, columns: int) -> nn.Parameter:
            return nn.Parameter(0.1 * torch.randn(rows, columns, generator=generator))

        self.user_id_embeddings = table(n_users, embedding_dim)
        self.age_embeddings, self.gender_embeddings, self.occupation_embeddings = (
            table(n, feature_dim) for n in user_cardinalities)
        self.item_id_embeddings = table(n_items + 1, embedding_dim)
        self.genre_embeddings = table(max(n_genres, 1), feature_dim)
        self.year_embeddings = table(n_year_codes, feature_dim)
        self.user_tower = Tower(embedding_dim + 3 * feature_dim, (hidden_dim,), output_dim, "he", seed + 1)
        self.item_tower = Tower(embedding_dim + 2 * feature_dim, (hidden_dim,), output_dim, "he", seed + 2)

    def encode_users(self, user_ids: Tensor, user_codes: Tensor) -> Tensor:
        parts = [self.user_id_embeddings[user_ids],                           # (B, E)
                 self.age_embeddings[user_codes[:, 0]],                       # (B, F)
                 self.gender_embeddings[user_codes[:, 1]],                    # (B, F)
                 self.occupation_embeddings[user_codes[:, 2]]]                # (B, F)
        return self.user_tower(torch.cat(parts, -1))                          # (B, D)

    def encode_items(self, item_ids: Tensor, genres: Tensor, year_codes: Tensor) -> Tensor:
        n_genres = genres.sum(-1, keepdim=True).clamp(min=1.0)                # (B, 1)
        parts = [self.item_id_embeddings[item_ids],                           # (B, E)
                 genres[:, :len(self.genre_embeddings)] @ self.genre_embeddings / n_genres,  # (B, F) mean of genres
                 self.year_embeddings[year_codes]]                            # (B, F)
        return self.item_tower(torch.cat(parts, -1))                          # (B, D)


class TwoTowerRetrieval(RetrievalBase, TorchSteps):
    """Feature towers, a dot product, an in-batch softmax with the logQ correction.

    Parameters
    ----------
    embedding_dim, feature_dim, hidden_dim, output_dim: E, F, H and D of the towers.
    temperature: divides the dot products before the softmax (smaller: sharper).
    logq_correction: subtract ``log q_i`` (the share of training interactions of item i) from the logits.
    item_id_dropout: the share of training items whose id is replaced by the unknown id, so that
        the item tower learns to work from features alone (cold start).
    l2, optimizer, learning_rate, scheduler, epochs, batch_size, keep_best, patience,
        validation_metric, seed, device, show_progress: the training loop; B is the number of
        in-batch negatives plus one.

    Scoring is brute force: every item's vector once, then one matrix product.
    """

    def _network(self, train: Any) -> nn.Module:
        return TwoTowerRetrievalNet(self.n_users_, self.n_items_, **self._network_arguments())

    def _build(self, train: Any) -> None:
        super()._build(train)
        self._tables = (self._tensor(self.user_codes_), self._tensor(self.genres_, torch.float32),
                        self._tensor(self.year_codes_), self._tensor(self.log_q_, torch.float32))

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> Tensor:
        users, shown, items = (self._tensor(batch[key]) for key in ("users", "shown", "items"))  # (B,) each
        user_codes, genres, year_codes, log_q = self._tables
        user_vectors = self.network_.encode_users(users, user_codes[users])                    # (B, D)
        item_vectors = self.network_.encode_items(shown, genres[items], year_codes[items])     # (B, D)
        return in_batch_softmax_loss(user_vectors, item_vectors, log_q[items] if self.logq_correction else None,
                                     self.temperature)

    def _user_vectors(self, user_ids: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            users = self._tensor(user_ids)
            return self.network_.encode_users(users, self._tables[0][users]).cpu().numpy()

    def _item_vectors(self, shown: np.ndarray, genres: np.ndarray, year_codes: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.network_.encode_items(self._tensor(shown), self._tensor(genres, torch.float32),
                                              self._tensor(year_codes)).cpu().numpy()
