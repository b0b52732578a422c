"""Splits: disjoint and complete, seeded, fractions and per-user guarantees, the right rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.data.interactions import Interactions
from course_lib.data.synthetic import make_synthetic
from course_lib.splits import leave_last_out, per_user_split, random_split, temporal_split, user_split


def _with_row_ids(data: Interactions) -> Interactions:
    """The same interactions with ``ratings`` replaced by the row index, so every part says which rows it holds."""
    return Interactions(
        users=data.users,
        items=data.items,
        ratings=np.arange(len(data), dtype=np.float64),
        timestamps=data.timestamps,
        n_users=data.n_users,
        n_items=data.n_items,
        item_metadata=data.item_metadata,
        user_metadata=data.user_metadata,
        item_features=data.item_features,
        name=data.name,
    )


def _rows(part: Interactions) -> np.ndarray:
    return part.ratings.astype(np.int64)


@pytest.fixture(scope="module")
def data() -> Interactions:
    """About 2,000 interactions of 60 users, every user with at least 20."""
    return _with_row_ids(make_synthetic(n_users=60, n_items=120, mean_per_user=35, min_per_user=20, seed=4))


@pytest.fixture
def uneven() -> Interactions:
    """Users with 1, 2, 3, 5 and 10 interactions, plus a user with none (id 5)."""
    counts = np.array([1, 2, 3, 5, 10, 0, 4])
    users = np.repeat(np.arange(len(counts)), counts)
    items = np.concatenate([np.arange(count) for count in counts])
    timestamps = np.arange(len(users)) * 10
    frame = pd.DataFrame({"title": [f"item {i}" for i in range(12)]})
    return _with_row_ids(
        Interactions(users=users, items=items, timestamps=timestamps, n_users=8, n_items=12, item_metadata=frame)
    )


def _assert_partition(data: Interactions, *parts: Interactions) -> None:
    rows = np.concatenate([_rows(part) for part in parts])
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(data)))  # every row exactly once
    for part in parts:
        assert (part.n_users, part.n_items) == (data.n_users, data.n_items)
        assert part.item_metadata is data.item_metadata
        assert (np.diff(_rows(part)) > 0).all(), "each part keeps the input's row order"
        np.testing.assert_array_equal(part.users, data.users[_rows(part)])
        np.testing.assert_array_equal(part.items, data.items[_rows(part)])


def _per_user(part: Interactions) -> np.ndarray:
    return np.bincount(part.users, minlength=part.n_users)


# ----------------------------------------------------------------------------------- random_split
def test_random_split_partitions_and_respects_the_fraction(data: Interactions) -> None:
    train, test = random_split(data, test_fraction=0.25, seed=0)
    _assert_partition(data, train, test)
    assert len(test) == round(0.25 * len(data))
    assert "train" in train.name and "test" in test.name


def test_random_split_is_seeded(data: Interactions) -> None:
    np.testing.assert_array_equal(_rows(random_split(data, seed=1)[1]), _rows(random_split(data, seed=1)[1]))
    assert not np.array_equal(_rows(random_split(data, seed=1)[1]), _rows(random_split(data, seed=2)[1]))


def test_random_split_keeps_one_row_each_side() -> None:
    tiny = _with_row_ids(Interactions(users=[0, 1], items=[0, 1]))
    train, test = random_split(tiny, test_fraction=0.01)
    assert len(train) == 1 and len(test) == 1


# --------------------------------------------------------------------------------- per_user_split
def test_per_user_split_partitions_each_user_by_the_fraction(data: Interactions) -> None:
    train, test = per_user_split(data, test_fraction=0.2, seed=0)
    _assert_partition(data, train, test)
    counts = _per_user(data)
    expected = np.floor(0.2 * counts + 0.5).astype(int)  # half up
    np.testing.assert_array_equal(_per_user(test), expected)


def test_per_user_split_guarantees_train_and_test_rows(uneven: Interactions) -> None:
    train, test = per_user_split(uneven, test_fraction=0.2, seed=0)
    _assert_partition(uneven, train, test)
    counts, in_train, in_test = _per_user(uneven), _per_user(train), _per_user(test)
    # 1 -> all train; 2, 3, 4 and 5 -> one test row (round up to 1); 10 -> 2.
    np.testing.assert_array_equal(in_test, [0, 1, 1, 1, 2, 0, 1, 0])
    assert (in_train[counts >= 1] >= 1).all()


def test_per_user_split_min_train(uneven: Interactions) -> None:
    train, test = per_user_split(uneven, test_fraction=0.9, seed=0, min_train=3)
    counts, in_train = _per_user(uneven), _per_user(train)
    np.testing.assert_array_equal(in_train, np.minimum(counts, 3))
    np.testing.assert_array_equal(_per_user(test), counts - np.minimum(counts, 3))


def test_per_user_split_is_seeded(data: Interactions) -> None:
    same = [_rows(per_user_split(data, seed=5)[1]) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], _rows(per_user_split(data, seed=6)[1]))


# --------------------------------------------------------------------------------- leave_last_out
def test_leave_last_out_takes_each_users_latest(data: Interactions) -> None:
    train, test = leave_last_out(data)
    _assert_partition(data, train, test)
    assert (_per_user(test) == 1).all()
    latest = pd.Series(data.timestamps).groupby(data.users).max().to_numpy()
    np.testing.assert_array_equal(test.timestamps[np.argsort(test.users)], latest)
    train_latest = pd.Series(train.timestamps).groupby(train.users).max().to_numpy()
    assert (train_latest < latest).all()


def test_leave_last_out_n_last_and_short_users(uneven: Interactions) -> None:
    train, test = leave_last_out(uneven, n_last=2)
    _assert_partition(uneven, train, test)
    # Users with 1 or 2 interactions keep them in train; the others lose their last two.
    np.testing.assert_array_equal(_per_user(test), [0, 0, 2, 2, 2, 0, 2, 0])
    last_rows = [4, 5, 9, 10, 19, 20, 23, 24]  # timestamps are 10 * row, so the last rows are the latest
    np.testing.assert_array_equal(_rows(test), last_rows)


def test_leave_last_out_breaks_ties_by_item_then_row() -> None:
    tied = _with_row_ids(Interactions(users=[0, 0, 0, 0], items=[3, 7, 5, 6], timestamps=[1, 9, 9, 9]))
    train, test = leave_last_out(tied)
    # Three rows share the latest second: the largest item wins (a pair never repeats: Interactions
    # merges repeated pairs, see tests/data/test_interactions.py).
    np.testing.assert_array_equal(_rows(test), [1])
    train2, test2 = leave_last_out(tied, n_last=2)
    np.testing.assert_array_equal(_rows(test2), [1, 3])


def test_leave_last_out_needs_timestamps() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        leave_last_out(Interactions(users=[0, 0, 1], items=[0, 1, 2]))


# --------------------------------------------------------------------------------- temporal_split
def test_temporal_split_puts_the_future_in_test(data: Interactions) -> None:
    train, test = temporal_split(data, test_fraction=0.3)
    _assert_partition(data, train, test)
    assert train.timestamps.max() < test.timestamps.min()
    assert abs(len(test) - 0.3 * len(data)) <= 2


def test_temporal_split_default_fraction(data: Interactions) -> None:
    train, test = temporal_split(data)
    assert abs(len(test) - 0.2 * len(data)) <= 2


def test_temporal_split_at_a_cutoff_time(uneven: Interactions) -> None:
    train, test = temporal_split(uneven, cutoff_time=100)
    _assert_partition(uneven, train, test)
    assert (train.timestamps <= 100).all() and (test.timestamps > 100).all()
    with pytest.raises(ValueError, match="cutoff_time"):
        temporal_split(uneven, cutoff_time=10_000)
    with pytest.raises(ValueError, match="cutoff_time"):
        temporal_split(uneven, cutoff_time=-1)
    with pytest.raises(ValueError, match="not both"):
        temporal_split(uneven, test_fraction=0.2, cutoff_time=100)


def test_temporal_split_needs_timestamps_and_distinct_times() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        temporal_split(Interactions(users=[0, 1], items=[0, 1]))
    with pytest.raises(ValueError, match="same|share"):
        temporal_split(Interactions(users=[0, 1], items=[0, 1], timestamps=[5, 5]))


# ------------------------------------------------------------------------------------- user_split
def test_user_split_holds_out_whole_users(data: Interactions) -> None:
    train, fold_in, test = user_split(data, test_fraction=0.25, fold_in_fraction=0.8, seed=0)
    _assert_partition(data, train, fold_in, test)
    held_out = np.unique(np.concatenate([fold_in.users, test.users]))
    assert len(held_out) == 15  # a quarter of 60 users
    assert not np.isin(train.users, held_out).any()
    np.testing.assert_array_equal(np.unique(fold_in.users), held_out)
    np.testing.assert_array_equal(np.unique(test.users), held_out)
    counts = _per_user(data)[held_out]
    np.testing.assert_array_equal(_per_user(test)[held_out], np.floor(0.2 * counts + 0.5 + 1e-9).astype(int))


def test_user_split_gives_each_held_out_user_fold_in_and_test(uneven: Interactions) -> None:
    for seed in range(10):
        train, fold_in, test = user_split(uneven, test_fraction=0.5, fold_in_fraction=0.9, seed=seed)
        _assert_partition(uneven, train, fold_in, test)
        held_out = np.unique(np.concatenate([fold_in.users, test.users]))
        assert 5 not in held_out, "a user without interactions is never held out"
        counts = _per_user(uneven)
        assert (_per_user(fold_in)[held_out] >= 1).all()
        several = held_out[counts[held_out] >= 2]
        assert (_per_user(test)[several] >= 1).all()


def test_user_split_is_seeded(data: Interactions) -> None:
    first = [_rows(part) for part in user_split(data, seed=3)]
    again = [_rows(part) for part in user_split(data, seed=3)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = user_split(data, seed=4)
    assert not np.array_equal(first[2], _rows(other[2]))


def test_user_split_needs_two_users() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        user_split(Interactions(users=[0, 0, 0], items=[0, 1, 2]))


# ----------------------------------------------------------------------------------- bad arguments
RANDOM_SPLITS = [random_split, per_user_split, temporal_split, user_split]


@pytest.mark.parametrize("split", RANDOM_SPLITS)
@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan"), "0.2", True])
def test_test_fraction_must_lie_strictly_between_0_and_1(split, fraction, data: Interactions) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        split(data, test_fraction=fraction)


@pytest.mark.parametrize("fraction", [0, 1, 2])
def test_fold_in_fraction_is_checked(fraction, data: Interactions) -> None:
    with pytest.raises(ValueError, match="fold_in_fraction"):
        user_split(data, fold_in_fraction=fraction)


@pytest.mark.parametrize("split", RANDOM_SPLITS + [leave_last_out])
def test_empty_or_single_row_data_is_refused(split) -> None:
    empty = Interactions(
        users=np.zeros(0, int), items=np.zeros(0, int), timestamps=np.zeros(0, int), n_users=3, n_items=3
    )
    with pytest.raises(ValueError, match="at least 2"):
        split(empty)
    with pytest.raises(ValueError, match="at least 2"):
        split(Interactions(users=[0], items=[0], timestamps=[0]))


@pytest.mark.parametrize("split", RANDOM_SPLITS + [leave_last_out])
def test_non_interactions_is_refused(split) -> None:
    with pytest.raises(ValueError, match="Interactions"):
        split(pd.DataFrame({"user": [0, 1], "item": [0, 1]}))


def test_bad_counts_are_refused(data: Interactions) -> None:
    with pytest.raises(ValueError, match="n_last"):
        leave_last_out(data, n_last=0)
    with pytest.raises(ValueError, match="min_train"):
        per_user_split(data, min_train=-1)
    with pytest.raises(ValueError, match="min_train"):
        per_user_split(data, min_train=1000)  # nobody left with a test row


@pytest.mark.parametrize("split", [random_split, per_user_split, user_split])
def test_bad_seed_is_refused(split, data: Interactions) -> None:
    with pytest.raises(ValueError, match="seed"):
        split(data, seed="zero")


# ------------------------------------------------------------------ a pair is never on both sides
def _click_log() -> Interactions:
    """Raw rows as a real click log has them: many (user, item) pairs repeated, at different times."""
    rng = np.random.default_rng(3)
    users = rng.integers(0, 30, size=900)
    items = rng.integers(0, 12, size=900)
    with pytest.warns(UserWarning, match=r"rows repeat a \(user, item\) pair; duplicates='sum'"):
        return Interactions(users=users, items=items, timestamps=rng.integers(0, 10_000, size=900),
                            n_users=30, n_items=12, duplicates="sum")


@pytest.mark.parametrize("split", [
    lambda d: random_split(d, test_fraction=0.3, seed=1),
    lambda d: per_user_split(d, test_fraction=0.3, seed=1),
    lambda d: leave_last_out(d, n_last=2),
    lambda d: temporal_split(d, test_fraction=0.3),
    lambda d: user_split(d, test_fraction=0.3, seed=1),  # train, fold-in, test: pairwise disjoint
])
def test_no_split_puts_one_pair_in_train_and_test(split):
    data = _click_log()
    parts = split(data)
    pairs = [set(zip(p.users.tolist(), p.items.tolist(), strict=True)) for p in parts]
    assert sum(len(p) for p in pairs) == sum(len(p) for p in parts)  # each part holds each pair once
    for i in range(len(pairs)):
        for j in range(i + 1, len(pairs)):
            assert not pairs[i] & pairs[j], (i, j)
    assert sum(len(p) for p in parts) == len(data)
