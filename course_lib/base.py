"""The recommender surface every model of the course offers (see DESIGN.md, "The model protocol").

A recommender is a plain Python class: ``__init__`` stores its arguments, ``fit(train)`` learns
and returns ``self``, ``score(user_ids)`` returns an (len(user_ids), n_items) array where higher
is better. ``course_lib.evaluate`` needs nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from course_lib.data.interactions import Interactions
from course_lib.validation import check_choice, check_epochs, check_integer, check_number

__all__ = ["Recommender", "check_user_ids", "check_item_ids", "check_interactions", "check_hyperparameters",
           "minibatches", "progress"]


def check_interactions(train: Any, argument: str = "train") -> Interactions:
    if not isinstance(train, Interactions):
        raise TypeError(
            f"`{argument}` must be a course_lib Interactions, got {type(train).__name__}. "
            "Build one with Interactions(users=..., items=...) or Interactions.from_dataframe(...)."
        )
    if len(train) == 0:
        raise ValueError(f"`{argument}` holds no interactions.")
    return train


def _check_ids(values: Any, size: int, label: str) -> np.ndarray:
    ids = np.asarray(values)
    if ids.ndim == 0:
        ids = ids[None]
    if ids.ndim != 1:
        raise ValueError(f"`{label}_ids` must be one-dimensional, got shape {ids.shape}.")
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"`{label}_ids` must be integer ids, got dtype {ids.dtype}.")
    ids = ids.astype(np.int64, copy=False)
    bad = (ids < 0) | (ids >= size)
    if bad.any():
        shown = ", ".join(str(v) for v in ids[bad][:5])
        raise ValueError(
            f"Unknown {label} ids: {shown}{' ...' if bad.sum() > 5 else ''}; "
            f"this model knows {label} ids 0 to {size - 1} (`{label}_ids` must lie in that range)."
        )
    return ids


def check_user_ids(user_ids: Any, n_users: int) -> np.ndarray:
    """``user_ids`` as an int64 array, or a ValueError naming the ids outside ``0..n_users-1``."""
    return _check_ids(user_ids, n_users, "user")


def check_item_ids(item_ids: Any, n_items: int) -> np.ndarray:
    """``item_ids`` as an int64 array, or a ValueError naming the ids outside ``0..n_items-1``."""
    return _check_ids(item_ids, n_items, "item")


def check_hyperparameters(model: Any, positive_ints: tuple[str, ...] = (), positive_numbers: tuple[str, ...] = (),
                          non_negative_numbers: tuple[str, ...] = (),
                          choices: dict[str, tuple[str, ...]] | None = None,
                          non_negative_ints: tuple[str, ...] = ()) -> None:
    """Validate a recommender's stored arguments with the rules of ``course_lib.validation``.

    Both twins of a pair call this with the same names, so they refuse the same arguments with
    the same message. ``epochs`` is always checked as ``check_epochs`` (0 means no training).
    """
    for name in positive_ints:
        if name == "epochs":
            check_epochs(getattr(model, name))
        else:
            check_integer(name, getattr(model, name), minimum=1)
    for name in non_negative_ints:
        check_integer(name, getattr(model, name), minimum=0)
    for name in positive_numbers:
        check_number(name, getattr(model, name), minimum=0, minimum_open=True)
    for name in non_negative_numbers:
        check_number(name, getattr(model, name), minimum=0)
    for name, allowed in (choices or {}).items():
        check_choice(name, getattr(model, name), allowed)


def minibatches(n_rows: int, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
    """Row indices in batches of ``batch_size``, shuffled by ``rng`` when given (every row once per epoch)."""
    batch_size = check_integer("batch_size", batch_size, minimum=1)
    order = rng.permutation(n_rows) if rng is not None else np.arange(n_rows)
    for start in range(0, n_rows, batch_size):
        yield order[start:start + batch_size]


def progress(iterable: Any, show: bool, description: str, total: int | None = None) -> Any:
    """A progress bar around ``iterable`` when ``show`` (course_lib.progress), else the iterable itself."""
    if not show:
        return iterable
    from course_lib.progress import progress_bar

    return progress_bar(iterable, description, total=total, leave=False)


def _transactional(fit: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fit`` so that the model changes only when it succeeds.

    The attributes are saved before the call and put back when it raises (a bad argument, an absent
    device, a failed solve, or an interruption): a fitted model keeps its previous fit, an unfitted
    one stays unfitted ("call .fit(train) first"). The saved copy is shallow: ``fit`` builds new
    networks and arrays rather than changing the old ones, so the old ones survive untouched.
    """
    @functools.wraps(fit)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        saved = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise

    wrapper.__transactional__ = True  # type: ignore[attr-defined]
    return wrapper


class Recommender:
    """Base class: argument storage, the fitted check and ``recommend``.

    Subclasses implement ``fit`` (setting ``n_users_`` and ``n_items_``) and ``score``. Every
    ``fit`` of a subclass is wrapped so that a failed call leaves the model as it was (see
    ``_transactional``).
    """

    n_users_: int
    n_items_: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "__transactional__", False):
            cls.fit = _transactional(fit)

    def fit(self, train: Interactions) -> Recommender:  # pragma: no cover - interface
        raise NotImplementedError

    def score(self, user_ids: Any) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.n_items_

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call .fit(train) first.")

    def _start_fit(self, train: Any) -> Interactions:
        train = check_interactions(train)
        self.n_users_, self.n_items_ = train.n_users, train.n_items
        self.history_: dict[str, list[float]] = {}
        return train

    def _user_ids(self, user_ids: Any) -> np.ndarray:
        self._check_fitted()
        return check_user_ids(user_ids, self.n_users_)

    def recommend(self, user_id: int, k: int = 10, exclude: Interactions | None = None) -> np.ndarray:
        """The top ``k`` item ids for one user, best first, leaving out the items in ``exclude``
        (typically the training interactions)."""
        scores = self.score(np.array([user_id]))[0].astype(np.float64)
        if exclude is not None:
            scores[exclude.items[exclude.users == user_id]] = -np.inf
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top[np.isfinite(scores[top])]

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                              if not k.endswith("_") and not k.startswith("_"))
        return f"{type(self).__name__}({arguments})"
