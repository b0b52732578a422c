"""Train/test splits of an `Interactions`: each answers a different evaluation question.

=====================  ======================================================================
``random_split``       How well are missing interactions recovered, anywhere in the matrix?
``per_user_split``     The same, but every user is tested on a share of their own history.
``leave_last_out``     Given a user's history, what do they do next? (next-item models)
``temporal_split``     Trained on the past, how well does the model do on the future?
``user_split``         How well does the model serve users it never saw while training?
=====================  ======================================================================

Every split returns `Interactions` built with ``data.subset(...)``: they keep ``n_users``,
``n_items`` and the metadata, so all parts index the same user-item matrix; the parts are
disjoint and together hold exactly the input rows, each part in the input's row order.
"""

from __future__ import annotations

import numbers

import numpy as np

from course_lib.data.interactions import Interactions

__all__ = ["random_split", "per_user_split", "leave_last_out", "temporal_split", "user_split"]

Seed = int | np.random.Generator | None


# --------------------------------------------------------------------------- checks
def _check_data(data: Interactions, minimum: int = 2) -> None:
    if not isinstance(data, Interactions):
        raise ValueError(f"`data` must be an Interactions, got {type(data).__name__}.")
    if len(data) < minimum:
        raise ValueError(
            f"`data` has {len(data)} interaction(s); a split needs at least {minimum} so that each part can get one."
        )


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a number strictly between 0 and 1, got {value!r}.")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"`{name}` must be strictly between 0 and 1, got {value!r}.")
    return float(value)


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {value}.")
    return int(value)


def _generator(seed: Seed) -> np.random.Generator:
    if isinstance(seed, bool) or (seed is not None and not isinstance(seed, (numbers.Integral, np.random.Generator))):
        raise ValueError(f"`seed` must be an integer, a numpy.random.Generator or None, got {seed!r}.")
    return np.random.default_rng(seed)


def _round_half_up(values: np.ndarray) -> np.ndarray:
    # np.round rounds halves to even (0.5 -> 0, 2.5 -> 2); a course expects 0.5 -> 1.
    return np.floor(np.asarray(values, dtype=np.float64) + 0.5).astype(np.int64)


def _holdout_size(fraction: float, size: int) -> int:
    """``round(fraction * size)``, kept between 1 and ``size - 1`` so that neither side is empty."""
    return int(min(max(_round_half_up(fraction * size), 1), size - 1))


def _parts(data: Interactions, test: np.ndarray, names: tuple[str, str] = ("train", "test")):
    return (
        data.subset(~test, name=f"{data.name} ({names[0]})"),
        data.subset(test, name=f"{data.name} ({names[1]})"),
    )


def _group_ranks(users: np.ndarray, keys: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort rows by user then by ``keys`` (last key most significant, as in ``np.lexsort``).

    Returns ``(order, rank, count)``: ``order`` sorts the rows; for the sorted rows, ``rank``
    is the 0-based position within the user and ``count`` the user's number of rows.
    """
    order = np.lexsort((*keys, users))
    sorted_users = users[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_users[1:] != sorted_users[:-1]
    starts = np.flatnonzero(first)  # where each user's run begins in the sorted rows
    run_lengths = np.diff(np.append(starts, len(order)))
    run_index = np.cumsum(first) - 1  # which run each sorted row belongs to
    rank = np.arange(len(order)) - starts[run_index]
    return order, rank, run_lengths[run_index]


def _per_user_test_mask(
    users: np.ndarray, test_fraction: float, min_train: int, rng: np.random.Generator
) -> np.ndarray:
    """Mark a random ``test_fraction`` of each user's rows, leaving ``min_train`` unmarked."""
    order, rank, count = _group_ranks(users, (rng.random(len(users)),))
    # Round, then at least one test row where the user can spare it, never below min_train.
    n_test = np.minimum(np.maximum(_round_half_up(test_fraction * count), 1), np.maximum(count - min_train, 0))
    mask = np.zeros(len(users), dtype=bool)
    mask[order] = rank < n_test
    return mask


# --------------------------------------------------------------------------- splits
def random_split(data: Interactions, test_fraction: float = 0.2, seed: Seed = 0) -> tuple[Interactions, Interactions]:
    """Hold out a random ``test_fraction`` of all interactions.

    The classic matrix-completion setting: it asks how well a model recovers interactions
    that are missing at random from the matrix. Some users may end up with no test rows (or,
    with few interactions, no training rows); use `per_user_split` to control that.

    Parameters
    ----------
    data:
        The interactions to split.
    test_fraction:
        Share of interactions in the test part, strictly between 0 and 1. The test size is
        rounded and kept between 1 and ``len(data) - 1``.
    seed:
        Seed (or ``np.random.Generator``): the same seed gives the same split.

    Returns
    -------
    (train, test):
        Two `Interactions` with the same catalogue as ``data``.
    """
    _check_data(data)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    rng = _generator(seed)
    n_rows = len(data)
    n_test = _holdout_size(test_fraction, n_rows)
    test = np.zeros(n_rows, dtype=bool)
    test[rng.permutation(n_rows)[:n_test]] = True
    return _parts(data, test)


def per_user_split(
    data: Interactions, test_fraction: float = 0.2, seed: Seed = 0, min_train: int = 1
) -> tuple[Interactions, Interactions]:
    """Hold out a random ``test_fraction`` of each user's interactions.

    It asks how well a model completes each known user's profile, with every user tested on
    their own history (so per-user metrics are averaged over all users, not only the active ones).

    Each user's test count is ``round(test_fraction * count)``, then raised to 1 where the
    user has more than ``min_train`` interactions and lowered so that at least ``min_train``
    stay in train. A user with ``min_train`` interactions or fewer keeps them all in train.

    Parameters
    ----------
    data:
        The interactions to split.
    test_fraction:
        Share of each user's interactions in the test part, strictly between 0 and 1.
    seed:
        Seed (or ``np.random.Generator``): the same seed gives the same split.
    min_train:
        The fewest interactions a user keeps in train (0 or more).

    Returns
    -------
    (train, test):
        Two `Interactions` with the same catalogue as ``data``.
    """
    _check_data(data)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    min_train = _check_count("min_train", min_train, 0)
    rng = _generator(seed)
    test = _per_user_test_mask(data.users, test_fraction, min_train, rng)
    if not test.any():
        raise ValueError(
            f"No user has more than `min_train`={min_train} interactions, so the test part would be empty."
        )
    return _parts(data, test)


def leave_last_out(data: Interactions, n_last: int = 1) -> tuple[Interactions, Interactions]:
    """Put each user's last ``n_last`` interactions (by timestamp) in test.

    The next-item question: given what a user did so far, what do they do next? It is the
    standard protocol for sequence models; it has no randomness.

    Rows are ordered by timestamp, ties broken by item id and then by row position, so the
    rows with the latest timestamp and, among those, the largest item id go to test. Users
    with ``n_last`` interactions or fewer keep them all in train.

    Parameters
    ----------
    data:
        The interactions to split; they must have timestamps.
    n_last:
        How many of each user's latest interactions go to test (1 or more).

    Returns
    -------
    (train, test):
        Two `Interactions` with the same catalogue as ``data``.
    """
    _check_data(data)
    n_last = _check_count("n_last", n_last, 1)
    if data.timestamps is None:
        raise ValueError(
            "leave_last_out needs timestamps to know which interactions are the last ones; "
            "`data.timestamps` is None. Use per_user_split for data without timestamps."
        )
    order, rank, count = _group_ranks(data.users, (np.arange(len(data)), data.items, data.timestamps))
    test = np.zeros(len(data), dtype=bool)
    test[order] = (rank >= count - n_last) & (count > n_last)
    if not test.any():
        raise ValueError(f"No user has more than `n_last`={n_last} interactions, so the test part would be empty.")
    return _parts(data, test)


def temporal_split(
    data: Interactions, test_fraction: float | None = None, cutoff_time: int | None = None
) -> tuple[Interactions, Interactions]:
    """Split at one global time: everything after the cutoff is test.

    It asks the deployment question: trained on the past, how well does the model predict the
    future? There is no leakage from the future into training, but test holds users and items
    that may be new (absent from train), which most models cannot score.

    Give either ``test_fraction`` (default 0.2: the cutoff is the timestamp below which
    ``1 - test_fraction`` of the interactions lie) or ``cutoff_time`` (test holds the rows with
    ``timestamp > cutoff_time``). With ties at the cutoff the test share can be a little smaller
    than asked.

    Parameters
    ----------
    data:
        The interactions to split; they must have timestamps.
    test_fraction:
        Share of the interactions, the latest ones, in test, strictly between 0 and 1.
    cutoff_time:
        A timestamp (same unit as ``data.timestamps``); rows strictly after it are test.

    Returns
    -------
    (train, test):
        Two `Interactions` with the same catalogue as ``data``; every test timestamp is larger
        than every train timestamp.
    """
    _check_data(data)
    if data.timestamps is None:
        raise ValueError("temporal_split needs timestamps; `data.timestamps` is None.")
    timestamps = data.timestamps
    if test_fraction is not None and cutoff_time is not None:
        raise ValueError("Give either `test_fraction` or `cutoff_time`, not both.")
    if cutoff_time is None:
        test_fraction = _check_fraction("test_fraction", 0.2 if test_fraction is None else test_fraction)
        sorted_times = np.sort(timestamps)
        n_train = len(sorted_times) - _holdout_size(test_fraction, len(sorted_times))
        cutoff = sorted_times[n_train - 1]
        test = timestamps > cutoff
        if not test.any():
            raise ValueError(
                f"All interactions share the latest timestamp {cutoff}, so no time cutoff can make a test part."
            )
        return _parts(data, test)
    if isinstance(cutoff_time, bool) or not isinstance(cutoff_time, numbers.Real):
        raise ValueError(f"`cutoff_time` must be a timestamp (a number), got {cutoff_time!r}.")
    test = timestamps > cutoff_time
    if not test.any() or test.all():
        part = "test" if not test.any() else "train"
        raise ValueError(
            f"`cutoff_time`={cutoff_time} leaves the {part} part empty: the timestamps run from "
            f"{int(timestamps.min())} to {int(timestamps.max())}."
        )
    return _parts(data, test)


def user_split(
    data: Interactions, test_fraction: float = 0.2, fold_in_fraction: float = 0.8, seed: Seed = 0
) -> tuple[Interactions, Interactions, Interactions]:
    """Hold out whole users (strong generalization): train, fold-in and test parts.

    It asks how well a model serves users it never saw while training, from a few of their
    interactions given at scoring time, as autoencoders and item-based models can (the
    protocol of Liang et al., 2018, "Variational Autoencoders for Collaborative Filtering").

    A random ``test_fraction`` of the users with interactions is held out. ``train`` holds all
    interactions of the other users. Each held-out user's interactions are split at random:
    ``fold_in_fraction`` of them (at least one) go to ``fold_in``, what the model sees at
    scoring time, and the rest (at least one where the user has two or more) to ``test``, what
    it must predict.

    Parameters
    ----------
    data:
        The interactions to split (at least two users with interactions).
    test_fraction:
        Share of users held out, strictly between 0 and 1 (at least one user each side).
    fold_in_fraction:
        Share of each held-out user's interactions given as fold-in, strictly between 0 and 1.
    seed:
        Seed (or ``np.random.Generator``): the same seed gives the same split.

    Returns
    -------
    (train, fold_in, test):
        Three `Interactions` with the same catalogue as ``data``.
    """
    _check_data(data)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    fold_in_fraction = _check_fraction("fold_in_fraction", fold_in_fraction)
    active_users = np.unique(data.users)
    if len(active_users) < 2:
        raise ValueError(
            f"`data` has {len(active_users)} user(s) with interactions; user_split needs at least 2 "
            "(one to train on, one to hold out)."
        )
    rng = _generator(seed)
    n_held_out = _holdout_size(test_fraction, len(active_users))
    held_out_users = np.zeros(data.n_users, dtype=bool)
    held_out_users[rng.permutation(active_users)[:n_held_out]] = True
    held_out = held_out_users[data.users]
    held_out_rows = np.flatnonzero(held_out)
    to_test = _per_user_test_mask(data.users[held_out_rows], 1.0 - fold_in_fraction, 1, rng)
    return (
        data.subset(~held_out, name=f"{data.name} (train)"),
        data.subset(held_out_rows[~to_test], name=f"{data.name} (fold-in)"),
        data.subset(held_out_rows[to_test], name=f"{data.name} (test)"),
    )
