"""The framework-free half of the two-tower models of notebook 04.

The twins (``course_lib/{torch,tf}/two_tower_pointwise.py`` and ``two_tower_retrieval.py``,
re-exported by ``two_tower.py``) add the networks and one framework step; arguments, batches,
scoring and validation are here, once, and the loop is ``course_lib.training_loop``.

1. Pointwise (``ConcatMLP``, ``TwoTowerMLP``): every training pair is a positive (label 1),
   ``n_negatives`` sampled unseen items per pair are negatives (label 0), binary cross-entropy.
2. Retrieval (``TwoTowerRetrieval``): towers over ids and side features, a dot product and an
   in-batch sampled softmax with the logQ correction (Yi et al., RecSys 2019).

Shapes: B batch, D output size, G genres, N new items, U users, I n_items.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from course_lib.base import check_item_ids, minibatches
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, he_normal, normal, ones, torch_uniform, zeros
from course_lib.ncf_base import ImplicitNCFBase, scores_in_chunks
from course_lib.optim import OPTIMIZERS
from course_lib.sampling import sample_negatives
from course_lib.side_features import FeatureEncoder
from course_lib.training_loop import TrainingLoop, check_validation_split
from course_lib.validation import (
    argument_error,
    check_choice,
    check_epochs,
    check_integer,
    check_integer_sequence,
    check_number,
)

__all__ = ["PointwiseBase", "RetrievalBase", "INITS"]

INITS = ("he", "normal", "default")


def _table_initializer(init: str) -> Initializer:
    """N(0, 0.1^2), or N(0, 1) for the tables of a model with towers (TwoTowerMLP) under ``init="normal"``."""
    small, large = normal(0.1), normal(1.0)

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        towers = any(name.startswith("user_tower.") for name in shapes)
        return (large if init == "normal" and towers else small)(key, shape, shapes, rng)

    return draw


class _TwoTowerBase(TrainingLoop):
    """``fit`` and the arguments every two-tower model shares; subclasses check and prepare the rest."""

    def _check_shared(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, minimum=0.0, minimum_open=True)
        check_number("l2", self.l2, minimum=0.0)
        check_epochs(self.epochs)
        check_integer("batch_size", self.batch_size, minimum=1)
        check_integer("seed", self.seed, minimum=0)

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> _TwoTowerBase:
        """Learn from ``train``; with ``validation`` (a split of the same users and items) record
        ``validation_metric`` (NDCG@10 by default) per epoch, keep the best epoch (``keep_best``) and
        stop after ``patience`` epochs without improvement. ``history_``: see course_lib.training_loop."""
        self._check_arguments()
        self._check_loop_arguments(validation)
        self._check_device()
        train = self._start_fit(train)
        check_validation_split(train, validation)
        self._prepare(train)
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self


class PointwiseBase(_TwoTowerBase):
    """Arguments, batches, scoring and validation of ``ConcatMLP`` and ``TwoTowerMLP``."""

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32), n_negatives: int = 4,
                 init: str = "he", l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 0.003,
                 scheduler: str | None = None, epochs: int = 10, batch_size: int = 2048,
                 keep_best: str | None = None, patience: int | None = None, validation_metric: str | None = None,
                 seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.hidden_dims, self.n_negatives, self.init = embedding_dim, hidden_dims, n_negatives, init
        self.l2, self.optimizer, self.learning_rate, self.scheduler = l2, optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.validation_metric, self.seed, self.device, self.show_progress = validation_metric, seed, device, show_progress

    def _check_arguments(self) -> None:
        check_integer("embedding_dim", self.embedding_dim, minimum=1)
        self.hidden_dims_ = check_integer_sequence("hidden_dims", self.hidden_dims, minimum=1)
        if not self.hidden_dims_:
            raise argument_error("hidden_dims", "a non-empty sequence of positive integers", self.hidden_dims)
        check_integer("n_negatives", self.n_negatives, minimum=1)
        check_choice("init", self.init, INITS)
        self._check_shared()

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """Tables N(0, 0.1^2); the towers' layers by ``init``: "he" N(0, 2 / fan_in) and zero biases,
        "normal" N(0, 1) and zero biases (TwoTowerMLP's tables N(0, 1) too: notebook 04's collapse),
        "default" PyTorch's ``nn.Linear`` default; TwoTowerMLP's output layer starts as a plain dot
        product (weights 1, bias 0)."""
        towers = {"he": [("*linears.*.weight", he_normal()), ("*linears.*.bias", zeros())],
                  "normal": [("*linears.*.weight", normal(1.0)), ("*linears.*.bias", zeros())],
                  "default": [("*linears.*", torch_uniform())]}[self.init]
        return [*towers, ("*_embeddings", _table_initializer(self.init)), ("output.weight", ones()),
                ("output.bias", zeros())]

    def _prepare(self, train: Interactions) -> None:
        self._positives = train.to_csr()
        self._pairs = train.users.astype(np.int64), train.items.astype(np.int64)             # (P,), (P,)

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        """Every training pair once (label 1) and ``n_negatives`` fresh unseen items each (label 0), shuffled."""
        users, items = self._pairs
        negatives = sample_negatives(self._positives, users, self.n_negatives, seed=rng)     # (P, n_negatives)
        all_users = np.concatenate([users, np.repeat(users, self.n_negatives)])
        all_items = np.concatenate([items, negatives.ravel()])
        labels = np.repeat(np.float32([1.0, 0.0]), [len(users), negatives.size])
        for rows in minibatches(len(all_users), self.batch_size, rng):
            yield {"users": all_users[rows], "items": all_items[rows], "labels": labels[rows]}

    # BCE on the validation positives and as many fixed unseen negatives: NCF's, the same loss
    _validation_loss = ImplicitNCFBase._validation_loss

    def score(self, user_ids: Any) -> np.ndarray:
        """Logits of every item for each user, (U, I): the network runs on every (user, item) pair."""
        return scores_in_chunks(self._forward_numpy, self._user_ids(user_ids), self.n_items_)

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """The probability of an interaction, ``sigmoid(logit)``, for pairs of (user, item)."""
        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        return expit(self._forward_numpy(user_ids, item_ids))


class RetrievalBase(_TwoTowerBase):
    """Arguments, features, batches and scoring of ``TwoTowerRetrieval``; the twins encode.

    A twin gives ``_user_vectors(user_ids)`` and ``_item_vectors(shown_ids, genres, year_codes)``,
    NumPy in and out; a shown id of ``n_items`` is the *unknown item* (features alone).
    """

    def __init__(self, embedding_dim: int = 32, feature_dim: int = 8, hidden_dim: int = 128, output_dim: int = 64,
                 temperature: float = 0.1, logq_correction: bool = True, item_id_dropout: float = 0.2,
                 l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 0.005, scheduler: str | None = None,
                 epochs: int = 5, batch_size: int = 1024, keep_best: str | None = None, patience: int | None = None,
                 validation_metric: str | None = None, seed: int = 0, device: Any = None,
                 show_progress: bool = True) -> None:
        self.embedding_dim, self.feature_dim, self.hidden_dim, self.output_dim = (
            embedding_dim, feature_dim, hidden_dim, output_dim)
        self.temperature, self.logq_correction, self.item_id_dropout = temperature, logq_correction, item_id_dropout
        self.l2, self.optimizer, self.learning_rate, self.scheduler = l2, optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.validation_metric, self.seed, self.device, self.show_progress = validation_metric, seed, device, show_progress

    def _check_arguments(self) -> None:
        for name in ("embedding_dim", "feature_dim", "hidden_dim", "output_dim"):
            check_integer(name, getattr(self, name), minimum=1)
        check_number("temperature", self.temperature, minimum=0.0, minimum_open=True)
        check_choice("logq_correction", self.logq_correction, (True, False))
        check_number("item_id_dropout", self.item_id_dropout, 0.0, 1.0, maximum_open=True)
        self._check_shared()
        if self.batch_size < 2:
            raise argument_error("batch_size", "at least 2", self.batch_size, "The other items of a batch are the negatives.")

    def _prepare(self, train: Interactions) -> None:
        self.encoder_ = FeatureEncoder().fit(train)
        self.user_codes_ = self.encoder_.encode_users(train)                    # (n_users, 3)
        genres, self.year_codes_ = self.encoder_.encode_items(train)           # (n_items, G), (n_items,)
        self.genres_ = genres if genres.shape[1] else np.zeros((train.n_items, 1), np.float32)
        counts = np.bincount(train.items, minlength=train.n_items)
        self.log_q_ = np.log(np.maximum(counts, 1) / len(train)).astype(np.float32)  # (n_items,)
        self._train = train

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """Tables N(0, 0.1^2); the towers' dense layers N(0, 2 / fan_in) (He) with zero biases."""
        return [("*_embeddings", normal(0.1)), ("*linears.*.weight", he_normal()), ("*linears.*.bias", zeros())]

    def _network_arguments(self) -> dict[str, Any]:
        return dict(user_cardinalities=self.encoder_.user_cardinalities, n_genres=self.genres_.shape[1],
                    n_year_codes=self.encoder_.n_year_codes, embedding_dim=self.embedding_dim,
                    feature_dim=self.feature_dim, hidden_dim=self.hidden_dim, output_dim=self.output_dim,
                    seed=self.seed)

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        """Shuffled batches of training pairs: users, item ids as the tower sees them (a share
        ``item_id_dropout`` replaced by the unknown id ``n_items``) and the items themselves.
        A last batch of one pair (no negative) is skipped."""
        for rows in minibatches(len(self._train), self.batch_size, rng):
            users, items = self._train.users[rows].astype(np.int64), self._train.items[rows].astype(np.int64)
            shown = np.where(rng.random(len(rows)) < self.item_id_dropout, self.n_items_, items)
            if len(rows) >= 2:
                yield {"users": users, "shown": shown, "items": items}

    def user_vectors(self, user_ids: Any) -> np.ndarray:
        """The user tower's output, (len(user_ids), D)."""
        return self._user_vectors(self._user_ids(user_ids))

    def item_vectors(self, item_ids: Any = None, drop_ids: bool = False) -> np.ndarray:
        """The item tower's output, (len(item_ids), D), all items by default; ``drop_ids`` encodes
        each item from its features alone, as if it were new."""
        self._check_fitted()
        item_ids = np.arange(self.n_items_) if item_ids is None else check_item_ids(item_ids, self.n_items_)
        shown = np.full_like(item_ids, self.n_items_) if drop_ids else item_ids
        return self._item_vectors(shown, self.genres_[item_ids], self.year_codes_[item_ids])

    def score(self, user_ids: Any) -> np.ndarray:
        """Brute-force retrieval: every item's vector once, one matrix product, (U, I)."""
        return self.user_vectors(user_ids) @ self.item_vectors().T

    def score_new_items(self, genres: Any, years: Any, user_ids: Any = None) -> np.ndarray:
        """Scores of items known only by their features: ``genres`` (N, G) 0/1 rows in the order of
        ``data.item_features`` and release ``years`` (N,). Returns (len(user_ids), N), all users by default."""
        self._check_fitted()
        genres, year_codes = self.encoder_.encode_new_items(genres, years)
        if genres.shape[1] == 0:
            genres = np.zeros((len(genres), 1), np.float32)
        user_ids = np.arange(self.n_users_) if user_ids is None else user_ids
        items = self._item_vectors(np.full(len(genres), self.n_items_, np.int64), genres, year_codes)  # (N, D)
        return self.user_vectors(user_ids) @ items.T
