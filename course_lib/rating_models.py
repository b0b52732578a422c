"""The framework-free half of the rating models of notebook 06 (explicit feedback).

``GlobalMean`` is the baseline every rating model must beat; the rest is shared by the PyTorch
and TensorFlow twins in ``course_lib/{torch,tf}/latent_factor.py``: the argument checks and the
training data, so both twins see the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.base import Recommender, check_interactions, check_item_ids, check_user_ids
from course_lib.data.interactions import Interactions
from course_lib.validation import check_epochs, check_integer, check_number

__all__ = ["GlobalMean", "check_rating_arguments", "rating_data"]


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
    check_number("weight_decay", model.weight_decay, minimum=0.0)
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
