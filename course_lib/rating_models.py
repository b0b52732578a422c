"""The framework-free half of the rating models of notebook 06 (explicit feedback).

``GlobalMean`` is the baseline every rating model must beat. ``BiasOnlyBase`` and
``LatentFactorBase`` hold what the PyTorch and TensorFlow twins in
``course_lib/{torch,tf}/latent_factor.py`` share: the arguments and their checks, ``fit``, the
batches (so both twins see the same numbers), prediction and validation; the loop is
``course_lib.training_loop``. The twins add the network and the loss:

``BiasOnly``:      r_hat(u, i) = mu + b_u + b_i
``LatentFactor``:  r_hat(u, i) = mu + b_u + b_i + p_u . q_i

trained on ``mean((r_hat - r)^2) + l2 * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)`` over the
ratings of a batch (Koren, Bell and Volinsky, IEEE Computer 2009). ``l2`` is a penalty IN THE
LOSS on the rows the batch touches, not a decay applied by the optimizer to every weight (the
student's loop of notebook 06 uses the optimizer's ``weight_decay``: that one is a decay).

Shapes: B batch, U users, I n_items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from course_lib.base import Recommender, _transactional, check_interactions, check_item_ids, check_user_ids
from course_lib.batches import explicit_batches
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, constant, normal, zeros
from course_lib.optim import OPTIMIZERS
from course_lib.training_loop import TrainingLoop, check_validation_split
from course_lib.validation import check_choice, check_epochs, check_integer, check_number

__all__ = ["GlobalMean", "BiasOnlyBase", "LatentFactorBase", "check_rating_arguments", "rating_data"]


def rating_data(train: Any, argument: str = "train") -> Interactions:
    """``train`` checked to be an Interactions with ratings."""
    train = check_interactions(train, argument)
    if train.ratings is None:
        raise ValueError(f"`{argument}` has no ratings: rating models need explicit feedback (Interactions(ratings=...)).")
    return train


def check_rating_arguments(model: Any) -> None:
    """The ValueError naming the bad argument of a rating recommender (both frameworks)."""
    for name in ("embedding_dim", "batch_size"):
        if hasattr(model, name):
            check_integer(name, getattr(model, name), minimum=1)
    check_epochs(model.epochs)
    check_integer("seed", model.seed, minimum=0)
    check_number("learning_rate", model.learning_rate, minimum=0.0, minimum_open=True)
    check_number("l2", model.l2, minimum=0.0)
    check_choice("optimizer", model.optimizer, OPTIMIZERS)
    if hasattr(model, "init_std"):
        check_number("init_std", model.init_std, minimum=0.0, minimum_open=True)


class GlobalMean(Recommender):
    """Predicts the mean training rating for every (user, item): the floor of rating prediction.
    It minimizes the squared error among all constant predictions."""

    def fit(self, train: Interactions) -> GlobalMean:
        train = self._start_fit(rating_data(train))
        self.global_mean_ = float(np.mean(train.ratings))
        return self

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        self._check_fitted()
        user_ids, item_ids = check_user_ids(user_ids, self.n_users_), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: give one pair per rating.")
        return np.full(len(user_ids), self.global_mean_, dtype=np.float32)

    def score(self, user_ids: Any) -> np.ndarray:
        return np.full((len(self._user_ids(user_ids)), self.n_items_), self.global_mean_, dtype=np.float32)


class BiasOnlyBase(TrainingLoop):
    """``mu + b_u + b_i`` learned by minibatch gradient descent on the regularized squared error.

    Parameters
    ----------
    epochs: the most epochs to train (a ceiling when ``patience`` stops earlier).
    batch_size, learning_rate: the training loop.
    l2: the weight of the penalty in the loss, ``l2 * mean over the batch of (b_u^2 + b_i^2)`` (plus
        ``|p_u|^2 + |q_i|^2`` in ``LatentFactor``): a term of the loss on the rows of the batch, not
        an optimizer decay.
    seed, device: randomness (weights and batch order) and the framework's device.
    optimizer: any of ``course_lib.optim.OPTIMIZERS`` (default ``"adam"``).
    scheduler, keep_best, patience, validation_metric, show_progress: the loop's
        (``course_lib.training_loop``). With ``fit(train, validation=...)`` (ratings over the same
        users and items) ``history_`` records ``validation_rmse`` (or ``validation_mae``) and
        ``validation_loss`` (the mean squared error, without the penalty) after each epoch;
        ``keep_best="metric"`` (or ``"loss"``) restores the best epoch and ``patience`` stops early.

    ``predict`` clips to the training rating range (no rating lies outside it); ``score`` gives
    the unclipped ratings of every item, for ranking.
    """

    _task = "rating"

    def __init__(self, epochs: int = 15, batch_size: int = 1024, learning_rate: float = 0.005, l2: float = 0.1,
                 seed: int = 0, device: Any = None, optimizer: str = "adam", scheduler: str | None = None,
                 keep_best: str | None = None, patience: int | None = None, validation_metric: str | None = None,
                 show_progress: bool = True) -> None:
        self.epochs, self.batch_size, self.learning_rate, self.l2 = epochs, batch_size, learning_rate, l2
        self.seed, self.device, self.optimizer, self.scheduler = seed, device, optimizer, scheduler
        self.keep_best, self.patience, self.validation_metric = keep_best, patience, validation_metric
        self.show_progress = show_progress

    @_transactional
    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> BiasOnlyBase:
        """Fit on the ratings of ``train``; ``history_`` holds ``loss`` (squared error plus penalty,
        mean per epoch), ``seconds``, ``learning_rate`` and, with ``validation``, ``validation_rmse``
        and ``validation_loss``."""
        check_rating_arguments(self)
        self._check_loop_arguments(validation)
        self._check_device()  # before any state changes
        if validation is not None:
            validation = rating_data(validation, "validation")
        train = self._start_fit(rating_data(train))
        check_validation_split(train, validation)
        self.global_mean_ = float(np.mean(train.ratings))
        self.rating_range_ = (float(train.ratings.min()), float(train.ratings.max()))
        self._train_data = train
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """mu the training mean (not learned), biases 0, factors (LatentFactor) N(0, init_std^2)."""
        return [("global_mean", constant(self.global_mean_)), ("*_bias.weight", zeros()),
                ("*_factors.weight", normal(getattr(self, "init_std", 0.1)))]

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return explicit_batches(self._train_data, self.batch_size, rng)

    def _raw(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Unclipped predictions, a bounded number of pairs at a time (the twins' ``_forward_numpy``)."""
        chunk = 262_144
        return np.concatenate([self._forward_numpy(user_ids[s:s + chunk], item_ids[s:s + chunk])  # type: ignore[attr-defined]
                               for s in range(0, len(user_ids), chunk)] or [np.zeros(0, np.float32)])

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Predicted ratings of the (user, item) pairs, clipped to the training rating range."""
        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)  # type: ignore[attr-defined]
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: give one pair per rating.")
        return np.clip(self._raw(user_ids, item_ids), *self.rating_range_)

    def score(self, user_ids: Any) -> np.ndarray:
        """(len(user_ids), n_items) predicted ratings, unclipped, for ranking."""
        user_ids = self._user_ids(user_ids)  # type: ignore[attr-defined]
        users = np.repeat(user_ids, self.n_items_)  # type: ignore[attr-defined]
        items = np.tile(np.arange(self.n_items_), len(user_ids))  # type: ignore[attr-defined]
        return self._raw(users, items).reshape(len(user_ids), self.n_items_)  # type: ignore[attr-defined]

    def _validation_loss(self, validation: Interactions) -> float:
        """Mean squared error of the unclipped predictions on the validation ratings (no penalty)."""
        return float(np.mean((self._raw(validation.users, validation.items) - validation.ratings) ** 2))


class LatentFactorBase(BiasOnlyBase):
    """``mu + b_u + b_i + p_u . q_i`` with ``embedding_dim`` factors drawn from N(0, init_std^2);
    the other arguments are ``BiasOnlyBase``'s, and ``l2`` covers the factors too."""

    def __init__(self, embedding_dim: int = 32, epochs: int = 15, batch_size: int = 1024, learning_rate: float = 0.005,
                 l2: float = 0.1, init_std: float = 0.1, seed: int = 0, device: Any = None, optimizer: str = "adam",
                 scheduler: str | None = None, keep_best: str | None = None, patience: int | None = None,
                 validation_metric: str | None = None, show_progress: bool = True) -> None:
        super().__init__(epochs, batch_size, learning_rate, l2, seed, device, optimizer, scheduler, keep_best, patience,
                         validation_metric, show_progress)
        self.embedding_dim, self.init_std = embedding_dim, init_std
