"""Baselines every model of the course must beat: Random, Popularity and ItemKNN.

Shapes: U users in a batch, I n_items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.base import Recommender
from course_lib.data.interactions import Interactions
from course_lib.validation import check_integer, check_number

__all__ = ["Random", "Popularity", "ItemKNN"]


class Random(Recommender):
    """Uniformly random scores: the floor any model must clear.

    The score of (user, item) is a hash of (seed, user, item), so it does not depend on how the
    users are batched: the same user gets the same list however ``score`` is called.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, train: Interactions) -> Random:
        seed = check_integer("seed", self.seed, minimum=0, maximum=2**64 - 1)
        self._start_fit(train)
        self.seed_ = seed  # scores use the seed of the fit, not a later change of `seed`
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        keys = (user_ids.astype(np.uint64)[:, None] * np.uint64(self.n_items_)
                + np.arange(self.n_items_, dtype=np.uint64)[None, :])  # (U, I)
        # splitmix64: a counter-based hash, cheap and well mixed.
        with np.errstate(over="ignore"):
            x = keys + np.uint64(self.seed_) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
        return (x >> np.uint64(40)).astype(np.float32) / np.float32(2**24)


class Popularity(Recommender):
    """Scores every item by the number of training users who interacted with it.

    Everyone gets the same list (minus what they have seen). Strong on MovieLens, where a few
    films collect most ratings: a model that cannot beat it has learned nothing personal.
    """

    def fit(self, train: Interactions) -> Popularity:
        train = self._start_fit(train)
        self.item_popularity_ = np.asarray(train.to_csr().sum(axis=0)).ravel().astype(np.float32)  # (I,)
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        return np.broadcast_to(self.item_popularity_, (len(user_ids), self.n_items_)).copy()


class ItemKNN(Recommender):
    """Item-based nearest neighbours with cosine similarity (Sarwar et al. 2001).

    ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage)`` over the binary item columns ``x`` of
    the user-item matrix; each item keeps its ``n_neighbors`` most similar items; a user's score
    for item ``j`` is the sum of the similarities between ``j`` and the items the user has seen.
    The shrinkage term damps similarities resting on few common users.

    Parameters
    ----------
    n_neighbors:
        How many neighbours each item keeps (the top-k of its similarity column).
    shrinkage:
        Added to the denominator of the cosine.
    block_size:
        Items per block when computing similarities: memory stays ``O(I * block_size)``.
    """

    def __init__(self, n_neighbors: int = 100, shrinkage: float = 10.0, block_size: int = 2048) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.block_size = block_size

    def fit(self, train: Interactions) -> ItemKNN:
        check_integer("n_neighbors", self.n_neighbors, minimum=1)
        check_number("shrinkage", self.shrinkage, minimum=0.0)
        block_size = check_integer("block_size", self.block_size, minimum=1)
        train = self._start_fit(train)
        matrix = train.to_csr()                                  # (U, I) binary
        self.user_items_ = matrix
        columns = matrix.T.tocsr()                               # (I, U)
        norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())  # (I,)
        n_items = self.n_items_
        k = min(int(self.n_neighbors), max(n_items - 1, 1))
        rows_out, cols_out, values_out = [], [], []
        for start in range(0, n_items, block_size):
            stop = min(start + block_size, n_items)
            block = (columns @ matrix[:, start:stop]).toarray()                   # (I, b) co-counts
            block /= norms[:, None] * norms[None, start:stop] + self.shrinkage + 1e-12
            block[np.arange(start, stop), np.arange(stop - start)] = 0.0          # no self-similarity
            top = np.argpartition(-block, k - 1, axis=0)[:k] if k < n_items else np.argsort(-block, axis=0)
            values = np.take_along_axis(block, top, axis=0)                       # (k, b)
            keep = values > 0
            rows_out.append(top[keep])
            cols_out.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
            values_out.append(values[keep])
        self.similarity_ = sp.csr_matrix(
            (np.concatenate(values_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
            shape=(n_items, n_items), dtype=np.float32,
        )  # similarity_[i, j]: how much having seen i speaks for j
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        return np.asarray((self.user_items_[user_ids] @ self.similarity_).todense(), dtype=np.float32)
