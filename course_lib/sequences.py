"""Next-item data, baselines and metrics for the sequence models of notebook 08 (no framework).

Each user's interactions, ordered by time, are cut into sequences of at most ``max_length``
items; the users are split between train and test; a model reads the items of a sequence but
the last and predicts the last one. Item ids in a sequence are shifted by +1 and 0 is padding,
as in ``Interactions.to_sequences`` (so ``padding_idx=0`` / ``mask_zero=True`` in the models).

Shapes: N sequences, L max_length, I n_items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib.base import check_interactions
from course_lib.data.interactions import Interactions
from course_lib.splits import _check_count, _check_fraction, _generator

__all__ = [
    "SequenceData",
    "make_sequences",
    "sequence_split",
    "split_sequences",
    "check_sequences",
    "check_train",
    "check_validation",
    "next_item_ranks",
    "mean_reciprocal_rank",
    "hit_rate",
    "evaluate_next_item",
    "MostPopularItem",
    "PopularityDistribution",
]


@dataclass
class SequenceData:
    """Padded item sequences: ``sequences[k]`` is an (L,) row, left-padded with 0, items ``id + 1``.

    ``inputs`` are all columns but the last (what a model reads), ``targets`` the last item of
    each sequence as a plain item id (0 .. n_items - 1), the next item to predict.
    """

    sequences: np.ndarray  # (N, L) int64
    user_ids: np.ndarray  # (N,) the user of each sequence
    n_items: int

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def inputs(self) -> np.ndarray:
        return self.sequences[:, :-1]  # (N, L - 1)

    @property
    def targets(self) -> np.ndarray:
        return self.sequences[:, -1] - 1  # (N,)

    @property
    def lengths(self) -> np.ndarray:
        return (self.sequences > 0).sum(axis=1)  # (N,)

    def __repr__(self) -> str:
        return (f"SequenceData({len(self)} sequences of at most {self.sequences.shape[1]} items, "
                f"{len(np.unique(self.user_ids))} users, n_items={self.n_items})")


def make_sequences(data: Interactions, max_length: int = 10, min_length: int = 2) -> SequenceData:
    """Cut each user's interactions, in time order, into sequences of at most ``max_length`` items.

    The cuts start from the most recent item, so every sequence but a user's oldest one is
    full; the oldest is left-padded with 0. Sequences shorter than ``min_length`` are dropped
    (a model needs at least one item to read and one to predict). Ties in time are broken by
    item id, as in ``Interactions.to_sequences``.
    """
    data = check_interactions(data, "data")
    max_length = _check_count("max_length", max_length, 2)
    min_length = _check_count("min_length", min_length, 1)
    if data.timestamps is None:
        raise ValueError("make_sequences needs timestamps to order each user's items; this Interactions has none.")
    order = np.lexsort((data.items, data.timestamps, data.users))
    users, items = data.users[order], data.items[order]
    counts = np.bincount(users, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    from_end = counts[users] - 1 - (np.arange(len(users)) - starts[users])  # 0 for the most recent item
    chunk = from_end // max_length  # 0 for the most recent sequence of each user
    column = max_length - 1 - from_end % max_length
    chunks_per_user = np.where(counts > 0, (counts + max_length - 1) // max_length, 0)
    first_row = np.concatenate([[0], np.cumsum(chunks_per_user)[:-1]])
    row = first_row[users] + chunks_per_user[users] - 1 - chunk  # oldest sequence first
    sequences = np.zeros((int(chunks_per_user.sum()), max_length), dtype=np.int64)
    sequences[row, column] = items + 1
    sequence_users = np.repeat(np.arange(data.n_users), chunks_per_user)
    keep = (sequences > 0).sum(axis=1) >= min_length
    return SequenceData(sequences[keep], sequence_users[keep], data.n_items)


def sequence_split(data: Interactions, max_length: int = 10, test_fraction: float = 0.2,
                   seed: Any = 0, min_length: int = 2) -> tuple[SequenceData, SequenceData]:
    """Sequences of ``make_sequences``, split by user: a random ``test_fraction`` of the users
    (seeded) gives all its sequences to the test part, so the test users are new to the model."""
    test_fraction = _check_fraction("test_fraction", test_fraction)
    return split_sequences(make_sequences(data, max_length=max_length, min_length=min_length), test_fraction, seed)


def split_sequences(sequences: SequenceData, test_fraction: float = 0.1, seed: Any = 0) -> tuple[SequenceData, SequenceData]:
    """Split ``SequenceData`` by user, as ``sequence_split`` does: a random ``test_fraction`` of the
    users (seeded, at least one, never all) gives all its sequences to the second part. Use it to
    hold out a validation set from the training sequences: ``fit_part, validation = split_sequences(train)``."""
    if not isinstance(sequences, SequenceData):
        raise TypeError(f"`sequences` must be a SequenceData (from sequence_split), got {type(sequences).__name__}.")
    test_fraction = _check_fraction("test_fraction", test_fraction)
    users = np.unique(sequences.user_ids)
    if len(users) < 2:
        raise ValueError(f"`sequences` hold the sequences of {len(users)} user(s): a split by user needs at least 2.")
    n_test = int(min(max(np.floor(test_fraction * len(users) + 0.5), 1), len(users) - 1))
    test_users = _generator(seed).permutation(users)[:n_test]
    in_test = np.isin(sequences.user_ids, test_users)
    parts = [SequenceData(sequences.sequences[mask], sequences.user_ids[mask], sequences.n_items)
             for mask in (~in_test, in_test)]
    return parts[0], parts[1]


def check_sequences(sequences: Any, n_items: int) -> np.ndarray:
    """``sequences`` as an (N, L) int64 array of padded item ids ``0..n_items``, or a ValueError
    that names the problem (ids beyond the catalogue, negative ids, an empty sequence)."""
    array = np.asarray(sequences)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"`sequences` must be 2-D (sequences, positions), got shape {array.shape}.")
    if array.shape[1] == 0:
        raise ValueError("`sequences` have length 0: a next-item model needs at least one item to read.")
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"`sequences` must hold integer item ids (shifted by +1, 0 = padding), got dtype {array.dtype}.")
    array = array.astype(np.int64, copy=False)
    if (array < 0).any():
        raise ValueError("`sequences` hold negative ids; items are 1..n_items and 0 is padding.")
    too_big = array > n_items
    if too_big.any():
        rows = np.flatnonzero(too_big.any(axis=1))[:5].tolist()
        raise ValueError(f"`sequences` hold item ids beyond the catalogue (largest {int(array.max())}, rows {rows}): "
                         f"this model knows items 1..{n_items} (item id + 1; 0 is padding).")
    empty = ~(array > 0).any(axis=1)
    if empty.any():
        raise ValueError(f"Sequences {np.flatnonzero(empty)[:5].tolist()} hold only padding (length 0): "
                         "a next-item model needs at least one item to read.")
    return array


# ------------------------------------------------------------------ metrics
def next_item_ranks(scores: Any, targets: Any) -> np.ndarray:
    """The rank (from 1) of each target among all ``I`` items: ``1 + #{items scored higher}``,
    ties counted against the target (the convention of label-ranking average precision)."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or targets.shape != (scores.shape[0],):
        raise ValueError(f"`scores` must be (N, n_items) and `targets` (N,), got {scores.shape} and {targets.shape}.")
    if targets.size and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"`targets` must be item ids 0..{scores.shape[1] - 1}.")
    target_scores = scores[np.arange(len(targets)), targets][:, None]  # (N, 1)
    return (scores >= target_scores).sum(axis=1)  # (N,) the target counts itself


def mean_reciprocal_rank(scores: Any, targets: Any) -> float:
    """MRR over the full catalogue, ``mean(1 / rank)``; equal to sklearn's
    ``label_ranking_average_precision_score`` when each row has exactly one relevant item."""
    return float(np.mean(1.0 / next_item_ranks(scores, targets)))


def hit_rate(scores: Any, targets: Any, k: int = 10) -> float:
    """The share of targets ranked in the top ``k`` of the full catalogue."""
    return float(np.mean(next_item_ranks(scores, targets) <= k))


def evaluate_next_item(model: Any, test: SequenceData, k: int = 10, batch_size: int = 4096) -> dict[str, float]:
    """MRR and hit rate at ``k`` of ``model.score(inputs)`` on the last item of each test sequence."""
    ranks = np.concatenate([
        next_item_ranks(model.score(test.inputs[start:start + batch_size]), test.targets[start:start + batch_size])
        for start in range(0, len(test), batch_size)
    ])
    return {"mrr": float(np.mean(1.0 / ranks)), f"hit_rate@{k}": float(np.mean(ranks <= k))}


# ---------------------------------------------------------------- baselines
class _SequenceBaseline:
    n_items_: int

    def _counts(self, train: SequenceData) -> np.ndarray:
        if not isinstance(train, SequenceData):
            raise TypeError(f"`train` must be a SequenceData (from sequence_split), got {type(train).__name__}.")
        self.n_items_ = train.n_items
        items = train.sequences[train.sequences > 0] - 1
        return np.bincount(items, minlength=train.n_items).astype(np.float64)  # (I,)

    def score(self, sequences: Any) -> np.ndarray:
        if not hasattr(self, "scores_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call .fit(train) first.")
        sequences = check_sequences(sequences, self.n_items_)
        return np.broadcast_to(self.scores_, (len(sequences), self.n_items_)).copy()  # (N, I)


class MostPopularItem(_SequenceBaseline):
    """Scores 1 for the single most frequent item of the training sequences, 0 for all others
    (which then tie at the bottom of the ranking)."""

    def fit(self, train: SequenceData) -> MostPopularItem:
        counts = self._counts(train)
        self.scores_ = (np.arange(len(counts)) == counts.argmax()).astype(np.float64)
        return self


class PopularityDistribution(_SequenceBaseline):
    """Scores each item by its share of the items in the training sequences: everyone gets the
    same ranking, by popularity."""

    def fit(self, train: SequenceData) -> PopularityDistribution:
        counts = self._counts(train)
        self.scores_ = counts / counts.sum()
        return self


# ------------------------------------------------- shared by the twin models
def pad_or_cut(sequences: np.ndarray, length: int) -> np.ndarray:
    """Left-pad with 0, or cut keeping the most recent (rightmost) items, to ``length`` columns."""
    current = sequences.shape[1]
    if current >= length:
        return sequences[:, current - length:]
    return np.pad(sequences, ((0, 0), (length - current, 0)))


def check_train(train: Any) -> SequenceData:
    """``train`` is a non-empty SequenceData whose sequences have an item to read and one to predict."""
    if not isinstance(train, SequenceData):
        raise TypeError(f"`train` must be a SequenceData (course_lib.sequences.sequence_split), got {type(train).__name__}.")
    if len(train) == 0:
        raise ValueError("`train` holds no sequences.")
    if np.ndim(train.sequences) != 2 or np.shape(train.sequences)[1] < 2:
        raise ValueError(f"`train.sequences` must be (N, L) with L >= 2 (items to read, then the next item), "
                         f"got shape {np.shape(train.sequences)}.")
    check_sequences(train.sequences, train.n_items)
    return train


def check_validation(validation: Any, train: SequenceData) -> SequenceData | None:
    """``validation`` is None or held-out ``SequenceData`` of the same catalogue as ``train``, each
    sequence with at least one item to read and a real last item (the target); else a TypeError or
    ValueError that names ``validation`` and the rows."""
    if validation is None:
        return None
    if not isinstance(validation, SequenceData):
        hint = (" An Interactions is for the ranking models; a next-item model validates on held-out sequences: "
                "`fit_part, validation = split_sequences(train)`." if isinstance(validation, Interactions) else "")
        raise TypeError(f"`validation` must be a SequenceData (course_lib.sequences.split_sequences or "
                        f"sequence_split), got {type(validation).__name__}.{hint}")
    if validation.n_items != train.n_items:
        raise ValueError(f"`validation` has n_items={validation.n_items}, `train` {train.n_items}: "
                         "split one data set so both share the item ids.")
    if len(validation) == 0:
        raise ValueError("`validation` holds no sequences.")
    try:
        array = check_sequences(validation.sequences, train.n_items)
    except ValueError as error:
        raise ValueError(f"`validation`: {error}") from None
    if array.shape[1] < 2:
        raise ValueError(f"`validation.sequences` must be (N, L) with L >= 2, got shape {array.shape}.")
    for problem, bad in (("ends in padding (no target item)", array[:, -1] == 0),
                         ("has no item to read before its target", ~(array[:, :-1] > 0).any(axis=1))):
        if bad.any():
            raise ValueError(f"`validation` sequences {np.flatnonzero(bad)[:5].tolist()} ({int(bad.sum())} in all): "
                             f"each {problem}.")
    return validation
