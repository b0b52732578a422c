"""course_lib.base: a failed fit changes nothing, for every framework-free recommender."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import Interactions, ItemKNN, Popularity, Random
from course_lib.base import Recommender, check_hyperparameters
from course_lib.closed_form import EASE, GFCF
from course_lib.rating_models import GlobalMean


def _data(n_items: int, seed: int) -> Interactions:
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((30, n_items)) < 0.4)
    return Interactions(users=users, items=items, ratings=rng.integers(1, 6, len(users)), n_users=30,
                        n_items=n_items)


# (model, an argument made bad after the first fit, its bad value, the message)
CASES = [
    (Random, "seed", -1, "`seed` must be an integer"),
    (Popularity, None, None, "`train` must be a course_lib Interactions"),
    (ItemKNN, "n_neighbors", 2.5, "`n_neighbors` must be an integer at least 1, got n_neighbors=2.5."),
    (ItemKNN, "shrinkage", "10", "`shrinkage` must be a finite number at least 0, got shrinkage='10' (a string"),
    (EASE, "l2", float("nan"), "`l2` must be a finite number above 0, got l2=nan."),
    (EASE, "l2", 1e-30, "EASE could not solve its system"),
    (GFCF, "n_components", 3.0, "`n_components` must be an integer at least 1 and at most 21"),  # 22 items
    (GFCF, "n_components", 25, "`n_components` must be an integer at least 1 and at most 21, got n_components=25."),
    (GlobalMean, None, None, "`train` must be a course_lib Interactions"),
]


@pytest.mark.parametrize(("cls", "argument", "value", "message"), CASES)
def test_a_failed_fit_leaves_the_previous_fit_intact(cls, argument, value, message):
    first, other = _data(15, 0), _data(22, 1)
    model = (cls(n_components=4) if cls is GFCF else cls()).fit(first)
    before = model.score(np.arange(30))
    state = {k: v for k, v in vars(model).items() if k.endswith("_")}
    if argument is not None:
        setattr(model, argument, value)
        bad_input = other
    else:
        bad_input = other.to_dataframe()
    with pytest.raises((ValueError, TypeError)) as caught:
        model.fit(bad_input)
    assert str(caught.value).startswith(message)
    assert model.n_items_ == 15
    assert {k for k in vars(model) if k.endswith("_")} == set(state)
    np.testing.assert_array_equal(model.score(np.arange(30)), before)


@pytest.mark.parametrize(("cls", "argument", "value", "message"), CASES)
def test_a_failed_first_fit_leaves_the_model_clearly_unfitted(cls, argument, value, message):
    model = cls(**({argument: value} if argument is not None else {}))
    with pytest.raises((ValueError, TypeError)):
        model.fit(_data(15, 0) if argument is not None else [1, 2])
    assert not any(k.endswith("_") for k in vars(model))
    with pytest.raises(RuntimeError, match=r"^This .* is not fitted yet: call \.fit\(train\) first\.$"):
        model.score([0])


def test_an_interrupted_fit_is_undone_too():
    class Interrupted(Recommender):
        def fit(self, train):
            self._start_fit(train)
            self.half_ = True
            raise KeyboardInterrupt

    model = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        model.fit(_data(15, 0))
    assert vars(model) == {}


def test_a_subclass_calling_super_fit_is_wrapped_once_and_still_undone():
    calls = []

    class Base(Popularity):
        def fit(self, train):
            calls.append("base")
            return super().fit(train)

    class Child(Base):
        def fit(self, train):
            calls.append("child")
            super().fit(train)
            raise ValueError("late failure")

    model = Child()
    with pytest.raises(ValueError, match="late failure"):
        model.fit(_data(15, 0))
    assert calls == ["child", "base"] and not hasattr(model, "n_items_")


def test_check_hyperparameters_uses_the_shared_rules():
    class Model:
        embedding_dim, epochs, learning_rate, l2, optimizer = 4, 0, 0.1, 0.0, "adam"

    model = Model()
    check_hyperparameters(model, positive_ints=("embedding_dim", "epochs"), positive_numbers=("learning_rate",),
                          non_negative_numbers=("l2",), choices={"optimizer": ("adam", "sgd")})  # epochs=0 is fine
    model.learning_rate = "0.01"
    with pytest.raises(ValueError, match=r"^`learning_rate` must be a finite number above 0, got learning_rate='0.01' "
                                         r"\(a string: write the number without quotes\)\.$"):
        check_hyperparameters(model, positive_numbers=("learning_rate",))
    model.optimizer = "adamw"
    with pytest.raises(ValueError, match=r"^`optimizer` must be one of 'adam', 'sgd', got optimizer='adamw'\.$"):
        check_hyperparameters(model, choices={"optimizer": ("adam", "sgd")})
