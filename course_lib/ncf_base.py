"""The framework-free half of the NCF recommenders of notebook 01 (He et al., WWW 2017).

The twins in ``course_lib/{torch,tf}/mlp.py`` add the networks and one framework step; arguments,
batches, scoring, validation and the loop (``course_lib.training_loop``) are here, once.
Shapes: B batch, U users, I n_items, F item features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from course_lib.base import check_interactions
from course_lib.batches import explicit_batches, implicit_batches
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, constant, glorot_uniform, normal, zeros
from course_lib.rating_models import rating_data
from course_lib.sampling import sample_negatives
from course_lib.training_loop import TrainingLoop, check_validation_split
from course_lib.validation import check_integer, check_integer_sequence, check_number

__all__ = ["ExplicitNCFBase", "ImplicitNCFBase", "GMFBase", "HybridFeaturesMixin", "scores_in_chunks", "check_dims"]


# ------------------------------------------------------------------ argument checks
# Thin names over course_lib.validation, the one set of rules (and message format) of the package.
def check_int(name: str, value: Any, minimum: int = 1) -> int:
    return check_integer(name, value, minimum=minimum)


def check_float(name: str, value: Any, low: float = 0.0, high: float = math.inf, high_open: bool = False,
                low_open: bool = False) -> float:
    return check_number(name, value, minimum=low, maximum=None if math.isinf(high) else high,
                        minimum_open=low_open, maximum_open=high_open)


def check_dims(name: str, dims: Any) -> tuple[int, ...]:
    return check_integer_sequence(name, dims, minimum=1)


def scores_in_chunks(forward: Callable[[np.ndarray, np.ndarray], np.ndarray], user_ids: np.ndarray,
                     n_items: int, chunk_pairs: int = 262_144) -> np.ndarray:
    """``forward(users, items)`` over every (user, item) pair, a bounded number of pairs at a time."""
    scores = np.empty((len(user_ids), n_items), dtype=np.float32)
    per_chunk = max(1, chunk_pairs // n_items)
    items = np.arange(n_items)
    for start in range(0, len(user_ids), per_chunk):
        users = user_ids[start:start + per_chunk]
        flat = forward(np.repeat(users, n_items), np.tile(items, len(users)))               # (U * I,)
        scores[start:start + len(users)] = flat.reshape(len(users), n_items)
    return scores


def _bce_from_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy, computed stably from logits (as the frameworks do)."""
    return float(np.mean(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))))


class _NCFBase(TrainingLoop):
    """Arguments, checks, batches, scoring and validation of the NCF models; the twins add the network.

    Parameters (the same, with the same defaults, in both frameworks): ``embedding_dim``,
    ``hidden_dims`` and ``dropout`` (the ReLU layers of the MLP tower), ``l1`` / ``l2`` (penalties
    summed over every weight), ``optimizer`` (any of ``course_lib.optim.OPTIMIZERS``),
    ``learning_rate``, ``scheduler`` (None, step, exponential, cosine; per epoch), ``epochs`` (a
    ceiling with ``patience``), ``batch_size``, ``keep_best``, ``patience``, ``validation_metric``,
    ``seed``, ``device`` (PyTorch's or TensorFlow's spelling; None: the best available) and
    ``show_progress``.
    """

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32, 16), dropout: float = 0.0,
                 l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-3,
                 scheduler: str | None = None, epochs: int = 10, batch_size: int = 2048,
                 keep_best: str | None = None, patience: int | None = None, validation_metric: str | None = None,
                 seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.hidden_dims, self.dropout = embedding_dim, hidden_dims, dropout
        self.l1, self.l2, self.optimizer, self.learning_rate, self.scheduler = l1, l2, optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.validation_metric, self.seed, self.device, self.show_progress = validation_metric, seed, device, show_progress

    def _check_arguments(self) -> None:
        check_int("embedding_dim", self.embedding_dim)
        self.hidden_dims_ = check_dims("hidden_dims", self.hidden_dims)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("l1", self.l1)

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """NCF's: embedding tables N(0, 0.01^2) (N(0, 1) starts far too large), dense weights
        Glorot-uniform, biases 0 (an explicit model's output bias at the mean rating)."""
        output_bias = constant(getattr(self, "global_mean_", 0.0))
        return [("output.bias", output_bias), ("*.bias", zeros()), ("layers.*.weight", glorot_uniform()),
                ("output.weight", glorot_uniform()), ("feature_projection.weight", glorot_uniform()),
                ("*.weight", normal(0.01))]

    def score(self, user_ids: Any) -> np.ndarray:
        """Scores of every item for each user, (len(user_ids), n_items): logits (implicit) or ratings (explicit)."""
        user_ids = self._user_ids(user_ids)
        return scores_in_chunks(self._forward_numpy, user_ids, self.n_items_)


class ExplicitNCFBase(_NCFBase):
    """Rating regression: the network predicts a rating, trained with MSE (plus the optional penalty).

    ``keep_best``: None, ``"metric"`` (the epoch of best validation ``validation_metric``, RMSE by
    default, or MAE) or ``"loss"`` (the epoch of lowest validation MSE). ``history_`` holds ``loss``,
    ``seconds``, ``learning_rate`` and, with a validation set, ``validation_<metric>`` (``validation_rmse``
    by default) and ``validation_loss``.
    """

    _task = "rating"

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32), dropout: float = 0.0,
                 l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-3,
                 scheduler: str | None = None, epochs: int = 10, batch_size: int = 1024,
                 keep_best: str | None = None, patience: int | None = None, validation_metric: str | None = None,
                 seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        super().__init__(embedding_dim, hidden_dims, dropout, l1, l2, optimizer, learning_rate, scheduler, epochs,
                         batch_size, keep_best, patience, validation_metric, seed, device, show_progress)

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> ExplicitNCFBase:
        """Fit on the ratings of ``train``; with ``validation`` (ratings too) record the validation RMSE
        and MSE per epoch, keep the best epoch (``keep_best="loss"``) and stop after ``patience`` bad epochs."""
        self._check_arguments()
        self._check_loop_arguments(validation)
        self._check_device()
        if validation is not None:  # ratings on both sides, checked before any state changes
            validation = rating_data(validation, "validation")
        check_validation_split(rating_data(train), validation)
        train = self._start_fit(train)
        self.global_mean_ = float(train.ratings.mean())
        self.rating_range_ = (float(train.ratings.min()), float(train.ratings.max()))
        self._train_data = train
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return explicit_batches(self._train_data, self.batch_size, rng)

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Predicted ratings of the pairs ``(user_ids[k], item_ids[k])``, clipped to the training range."""
        from course_lib.base import check_item_ids

        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"`user_ids` has {len(user_ids)} entries but `item_ids` {len(item_ids)}: give pairs.")
        raw = np.concatenate([self._forward_numpy(user_ids[s:s + 65536], item_ids[s:s + 65536])
                              for s in range(0, len(user_ids), 65536)] or [np.zeros(0, np.float32)])
        return np.clip(raw, *self.rating_range_)

    def _validation_loss(self, validation: Interactions) -> float:
        predictions = self._forward_numpy(validation.users, validation.items)
        return float(np.mean((predictions - validation.ratings) ** 2))


class ImplicitNCFBase(_NCFBase):
    """Implicit feedback: each interaction is a positive, ``n_negatives`` sampled items per positive are
    negatives, and the network's logit is trained with binary cross-entropy (He et al. 2017).

    ``keep_best``: None, ``"metric"`` (the epoch of best validation ``validation_metric``, NDCG@10 by
    default) or ``"loss"`` (the epoch of lowest validation BCE).
    """

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32, 16), dropout: float = 0.0,
                 n_negatives: int = 4, l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam",
                 learning_rate: float = 1e-3, scheduler: str | None = None, epochs: int = 10,
                 batch_size: int = 2048, keep_best: str | None = None, patience: int | None = None,
                 validation_metric: str | None = None, seed: int = 0, device: Any = None,
                 show_progress: bool = True) -> None:
        super().__init__(embedding_dim, hidden_dims, dropout, l1, l2, optimizer, learning_rate, scheduler, epochs,
                         batch_size, keep_best, patience, validation_metric, seed, device, show_progress)
        self.n_negatives = n_negatives

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> ImplicitNCFBase:
        """Fit on the interactions of ``train`` (every one a positive); with ``validation`` record the
        validation loss and ``validation_metric`` (NDCG@10 by default) per epoch, keep the best epoch
        (``keep_best="metric"`` or ``"loss"``) and stop after ``patience`` epochs without improvement."""
        self._check_arguments()
        check_int("n_negatives", self.n_negatives)
        self._check_loop_arguments(validation)
        self._check_device()
        check_validation_split(check_interactions(train), validation)  # before any state changes
        train = self._start_fit(train)
        self._positives = train.to_csr()
        self._prepare_features(train)
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _prepare_features(self, train: Interactions) -> None:
        """Hook for the hybrid model (item side features)."""

    def _network_item_features(self) -> np.ndarray | None:
        """The (I, F) features of NeuMF's content branch; None: no such branch (HybridNeuMF has one)."""
        return None

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return implicit_batches(self._positives, self.n_negatives, self.batch_size, rng)

    def _validation_loss(self, validation: Interactions) -> float:
        """BCE on the validation positives and as many fixed negatives (drawn once, outside train and validation)."""
        if getattr(self, "_validation_pairs", (None,))[0] is not validation:
            seen = (self._positives + validation.to_csr()).tocsr()
            negatives = sample_negatives(seen, validation.users, 1, seed=self.seed)[:, 0]
            pairs = (np.concatenate([validation.users, validation.users]), np.concatenate([validation.items, negatives]),
                     np.concatenate([np.ones(len(validation)), np.zeros(len(validation))]))
            self._validation_pairs = (validation, *pairs)
        _, users, items, labels = self._validation_pairs
        return _bce_from_logits(self._forward_numpy(users, items), labels)


class GMFBase(ImplicitNCFBase):
    """GMF's arguments: no hidden layers and no dropout (the twins add the network)."""

    def __init__(self, embedding_dim: int = 32, n_negatives: int = 4, l1: float = 0.0, l2: float = 0.0,
                 optimizer: str = "adam", learning_rate: float = 1e-3, scheduler: str | None = None,
                 epochs: int = 10, batch_size: int = 2048, keep_best: str | None = None,
                 patience: int | None = None, validation_metric: str | None = None, seed: int = 0,
                 device: Any = None, show_progress: bool = True) -> None:
        super().__init__(embedding_dim, (), 0.0, n_negatives, l1, l2, optimizer, learning_rate, scheduler, epochs,
                         batch_size, keep_best, patience, validation_metric, seed, device, show_progress)


class HybridFeaturesMixin:
    """Item side features for the hybrid NeuMF: ``item_features`` (I, F) if given, else
    ``train.item_features`` (the genres of MovieLens), or any precomputed item embeddings; the
    other arguments are NeuMF's."""

    def __init__(self, item_features: np.ndarray | None = None, **arguments: Any) -> None:
        super().__init__(**arguments)  # type: ignore[call-arg]  # NeuMF's, next in the MRO
        self.item_features = item_features

    def _prepare_features(self, train: Interactions) -> None:
        features = self.item_features if self.item_features is not None else train.item_features
        if features is None:
            raise ValueError("HybridNeuMF needs item features: pass `item_features=` (n_items, F) or use data "
                             "that carries them (`data.item_features`, the genres of MovieLens).")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) != train.n_items or not np.isfinite(features).all():
            raise ValueError(f"`item_features` must be a finite (n_items={train.n_items}, F) matrix, "
                             f"got shape {features.shape}.")
        self.item_features_ = features

    def _network_item_features(self) -> np.ndarray:
        return self.item_features_
