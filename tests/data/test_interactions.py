"""The Interactions container: validation, conversions, sequences and statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from course_lib.data import Interactions, gini


# ------------------------------------------------------------------ validation
def test_mismatched_lengths_name_the_columns():
    with pytest.raises(ValueError, match=r"`users` has 3 entries but `items` has 2"):
        Interactions(users=[0, 1, 2], items=[0, 1])
    with pytest.raises(ValueError, match=r"`ratings` has 2 entries but there are 3 interactions"):
        Interactions(users=[0, 1, 2], items=[0, 1, 2], ratings=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"`timestamps` has 4 entries but there are 3 interactions"):
        Interactions(users=[0, 1, 2], items=[0, 1, 2], timestamps=[1, 2, 3, 4])


def test_negative_ids_name_column_and_rows():
    with pytest.raises(ValueError, match=r"`items` must be non-negative; negative ids at rows 1, 3\."):
        Interactions(users=[0, 1, 2, 3], items=[0, -1, 2, -5])
    with pytest.raises(ValueError, match=r"`users`.*rows 0\b"):
        Interactions(users=[-1, 1], items=[0, 1])


def test_non_integer_float_ids_name_column_and_rows():
    with pytest.raises(ValueError, match=r"`users` must hold whole numbers; non-integer values at rows 1, 3\."):
        Interactions(users=[0, 1.5, 2, np.nan], items=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"`items`.*rows 2\b"):
        Interactions(users=[0, 1, 2], items=[0.0, 1.0, np.inf])
    # whole floats are fine and become int64
    data = Interactions(users=[0.0, 2.0], items=[1.0, 0.0])
    assert data.users.dtype == np.int64 and data.users.tolist() == [0, 2]
    assert data.items.tolist() == [1, 0]


def test_many_bad_rows_are_summarised():
    with pytest.raises(ValueError, match=r"rows 0, 1, 2, 3, 4 and 2 more"):
        Interactions(users=[-1] * 7, items=[0] * 7)


def test_nan_ratings_name_rows():
    with pytest.raises(ValueError, match=r"`ratings` holds NaN or infinite values at rows 1, 2\."):
        Interactions(users=[0, 1, 2], items=[0, 1, 2], ratings=[1.0, np.nan, np.inf])
    with pytest.raises(ValueError, match="`ratings` must be numeric"):
        Interactions(users=[0, 1], items=[0, 1], ratings=["a", "b"])


def test_ids_beyond_catalogue_name_column_and_rows():
    with pytest.raises(ValueError, match=r"`users` has ids >= n_users=3 at rows 2, 4\."):
        Interactions(users=[0, 1, 5, 2, 3], items=[0, 0, 0, 0, 0], n_users=3)
    with pytest.raises(ValueError, match=r"`items` has ids >= n_items=2 at rows 1\."):
        Interactions(users=[0, 1], items=[1, 2], n_items=2)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="integer ids"):
        Interactions(users=["a", "b"], items=[0, 1])
    with pytest.raises(ValueError, match="one-dimensional"):
        Interactions(users=[[0, 1]], items=[[0, 1]])
    with pytest.raises(ValueError, match="raw_user_ids"):
        Interactions(users=[0, 1], items=[0, 1], raw_user_ids=np.array(["a"]))
    with pytest.raises(ValueError, match="item_features"):
        Interactions(users=[0, 1], items=[0, 1], item_features=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="item_metadata"):
        Interactions(users=[0, 1], items=[0, 1], item_metadata=pd.DataFrame({"title": ["x"]}))


def test_sizes_inferred_or_kept():
    data = Interactions(users=[0, 2], items=[1, 0])
    assert data.shape == (3, 2) and len(data) == 2
    assert data.density == pytest.approx(2 / 6)
    data = Interactions(users=[0, 2], items=[1, 0], n_users=10, n_items=5)
    assert data.shape == (10, 5)
    assert data.density == pytest.approx(2 / 50)
    assert "n_users=10" in repr(data)


# ------------------------------------------------------------------ to_csr
def test_to_csr_binary_and_ratings_with_duplicates():
    # (0, 2) appears twice with ratings 1 then 5; (1, 1) twice with 3 then 4
    with pytest.warns(UserWarning, match="2 of 5 rows repeat"):
        data = Interactions(users=[0, 0, 1, 1, 0], items=[2, 0, 1, 1, 2], ratings=[1, 2, 3, 4, 5], n_users=3, n_items=4)
    binary = data.to_csr()
    assert sp.issparse(binary) and binary.shape == (3, 4)
    np.testing.assert_array_equal(binary.toarray(), [[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    assert binary.nnz == 3  # one stored entry per distinct pair
    assert binary.has_sorted_indices
    rated = data.to_csr(binary=False)
    np.testing.assert_array_equal(rated.toarray(), [[2, 0, 5, 0], [0, 4, 0, 0], [0, 0, 0, 0]])  # last rating wins
    assert data.to_csr() is binary  # cached
    # without ratings, binary=False gives the binary matrix
    with pytest.warns(UserWarning, match="1 of 2 rows repeat"):
        plain = Interactions(users=[0, 0], items=[1, 1])
    np.testing.assert_array_equal(plain.to_csr(binary=False).toarray(), [[0, 1]])


# ------------------------------------------------------------------ data frames
def _raw_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "user": ["bob", "amy", "cat", "amy", "bob"],
        "item": [30, 10, 20, 30, 20],  # every (user, item) pair once
        "rating": [3.5, 4.0, 1.0, 5.0, 2.5],
        "timestamp": [100, 50, 70, 90, 60],
    })


def test_from_dataframe_maps_raw_ids_in_sorted_order():
    data = Interactions.from_dataframe(_raw_frame(), name="toy")
    assert data.raw_user_ids.tolist() == ["amy", "bob", "cat"]
    assert data.raw_item_ids.tolist() == [10, 20, 30]
    assert data.users.tolist() == [1, 0, 2, 0, 1]
    assert data.items.tolist() == [2, 0, 1, 2, 1]
    np.testing.assert_allclose(data.ratings, [3.5, 4.0, 1.0, 5.0, 2.5])
    assert data.timestamps.tolist() == [100, 50, 70, 90, 60]
    assert data.shape == (3, 3) and data.name == "toy"


def test_dataframe_round_trip_with_raw_ids():
    frame = _raw_frame()
    back = Interactions.from_dataframe(frame).to_dataframe(raw_ids=True)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    contiguous = Interactions.from_dataframe(frame).to_dataframe()
    assert contiguous["user"].tolist() == [1, 0, 2, 0, 1]
    assert list(contiguous.columns) == ["user", "item", "rating", "timestamp"]


def test_from_dataframe_column_names_and_errors():
    frame = _raw_frame().rename(columns={"user": "userId", "item": "movieId"})
    data = Interactions.from_dataframe(frame, user_col="userId", item_col="movieId", rating_col=None)
    assert data.ratings is None and data.timestamps is not None
    with pytest.raises(ValueError, match="'user' is missing"):
        Interactions.from_dataframe(frame)
    bad = _raw_frame()
    bad.loc[[1, 3], "item"] = np.nan
    with pytest.raises(ValueError, match=r"'item' has missing ids at rows 1, 3"):
        Interactions.from_dataframe(bad)
    bad = _raw_frame().astype({"rating": object})
    bad.loc[2, "rating"] = "five"
    with pytest.raises(ValueError, match=r"'rating' has missing or non-numeric ratings at rows 2\b"):
        Interactions.from_dataframe(bad)


# ------------------------------------------------------------------ subset
def test_subset_keeps_catalogue_and_columns():
    data = Interactions.from_dataframe(_raw_frame())
    part = data.subset(np.array([False, True, False, True, False]), name="part")
    assert part.shape == data.shape == (3, 3)  # user 0 ("amy") only, but the catalogue stays
    assert part.users.tolist() == [0, 0] and part.items.tolist() == [0, 2]
    np.testing.assert_allclose(part.ratings, [4.0, 5.0])
    assert part.timestamps.tolist() == [50, 90]
    assert part.raw_item_ids.tolist() == [10, 20, 30] and part.name == "part"
    assert part.to_csr().shape == (3, 3) and part.to_csr().nnz == 2
    by_position = data.subset(np.array([4, 0]))
    assert by_position.users.tolist() == [1, 1] and by_position.items.tolist() == [1, 2]
    assert by_position.shape == (3, 3) and by_position.name == data.name
    with pytest.raises(ValueError, match="mask has 2 entries"):
        data.subset(np.array([True, False]))
    # the arrays are read-only: a write raises instead of changing the original through a copy
    copy = data.copy()
    with pytest.raises(ValueError, match="read-only"):
        copy.users[0] = 2
    assert data.users[0] == 1 and copy.users is not data.users


# ------------------------------------------------------------------ sequences
def _timed() -> Interactions:
    # user 0: item 0 @ 1, item 2 @ 5, item 4 @ 9  (given out of order)
    # user 1: item 1 @ 2, item 3 @ 3
    # user 2: nothing; user 3: item 4 @ 7
    return Interactions(users=[0, 1, 0, 1, 0, 3], items=[2, 3, 0, 1, 4, 4], timestamps=[5, 3, 1, 2, 9, 7],
                        n_users=4, n_items=5)


def test_to_sequences_left_padded_time_ordered_shifted():
    users, sequences = _timed().to_sequences()
    assert users.tolist() == [0, 1, 3]  # user 2 has no history
    np.testing.assert_array_equal(sequences, [[1, 3, 5], [0, 2, 4], [0, 0, 5]])  # item + 1, 0 = padding
    assert sequences.dtype.kind == "i"


def test_to_sequences_max_length_keeps_most_recent():
    users, sequences = _timed().to_sequences(max_length=2)
    np.testing.assert_array_equal(sequences, [[3, 5], [2, 4], [0, 5]])
    users, sequences = _timed().to_sequences(max_length=4)
    np.testing.assert_array_equal(sequences, [[0, 1, 3, 5], [0, 0, 2, 4], [0, 0, 0, 5]])


def test_to_sequences_min_length_and_errors():
    users, sequences = _timed().to_sequences(min_length=2)
    assert users.tolist() == [0, 1]
    np.testing.assert_array_equal(sequences, [[1, 3, 5], [0, 2, 4]])
    with pytest.raises(ValueError, match="timestamps"):
        Interactions(users=[0], items=[0]).to_sequences()
    with pytest.raises(ValueError, match="max_length"):
        _timed().to_sequences(max_length=0)


# ------------------------------------------------------------------ statistics
def _hand_built() -> Interactions:
    # per user [3, 2, 1, 0], per item [3, 2, 1, 0, 0], ratings 1..5
    return Interactions(users=[0, 0, 0, 1, 1, 2], items=[0, 1, 2, 0, 1, 0], ratings=[1, 2, 3, 4, 5, 5],
                        n_users=4, n_items=5, name="hand")


def test_statistics_on_hand_built_example():
    stats = _hand_built().statistics()
    assert stats["users"] == 4 and stats["items"] == 5 and stats["interactions"] == 6
    assert stats["density"] == pytest.approx(6 / 20)
    assert (stats["per_user_min"], stats["per_user_max"]) == (0, 3)
    assert stats["per_user_mean"] == pytest.approx(1.5)
    assert (stats["per_item_min"], stats["per_item_max"]) == (0, 3)
    assert stats["per_item_mean"] == pytest.approx(1.2)
    # Gini of [3, 2, 1, 0, 0] = sum_ij |x_i - x_j| / (2 n^2 mean) = 32 / (2 * 25 * 1.2) = 8/15
    assert stats["gini_item_popularity"] == pytest.approx(8 / 15)
    assert (stats["rating_min"], stats["rating_max"]) == (1.0, 5.0)
    assert stats["rating_mean"] == pytest.approx(20 / 6)


def test_statistics_without_ratings():
    stats = Interactions(users=[0, 1], items=[0, 0]).statistics()
    assert "rating_min" not in stats
    assert stats["gini_item_popularity"] == 0.0  # one item only: all equal


def test_describe_prints_and_returns(capsys):
    series = _hand_built().describe()
    printed = capsys.readouterr().out
    assert printed.startswith("hand")
    assert "30.0000%" in printed
    assert "min 0  mean 1.5  max 3" in printed
    assert "0.533" in printed
    assert "1 to 5, mean 3.33" in printed
    assert isinstance(series, pd.Series) and series.name == "hand"
    assert series["density"] == pytest.approx(0.3)
    _hand_built().describe(show=False)
    assert capsys.readouterr().out == ""


def _gini_by_pairs(values) -> float:
    """Gini as mean absolute difference over all ordered pairs / (2 * mean)."""
    values = [float(v) for v in values]
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    return sum(abs(a - b) for a in values for b in values) / (2 * n * n * (total / n))


def test_gini_hand_cases():
    assert gini(np.array([4, 4, 4, 4])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 7])) == pytest.approx(3 / 4)       # one holder: (n - 1) / n
    assert gini(np.array([0] * 9 + [1])) == pytest.approx(9 / 10)
    assert gini(np.array([1, 3])) == pytest.approx(0.25)               # |1 - 3| * 2 / (2 * 4 * 2)
    assert gini(np.array([3, 0, 1, 2, 0])) == pytest.approx(8 / 15)    # order does not matter
    assert gini(np.array([])) == 0.0
    assert gini(np.zeros(3)) == 0.0
    rng = np.random.default_rng(0)
    for _ in range(5):
        values = rng.integers(0, 20, size=12)
        assert gini(values) == pytest.approx(_gini_by_pairs(values), abs=1e-12)


# ------------------------------------------------------------------ repeated (user, item) pairs
def _repeated(**kwargs) -> Interactions:
    # (0, 2) three times: rows 0, 2, 4 with ratings 1, 3, 5 at times 30, 10, 20; (1, 1) twice: rows 1, 3
    return Interactions(users=[0, 1, 0, 1, 0, 2], items=[2, 1, 2, 1, 2, 0], ratings=[1, 2, 3, 4, 5, 4],
                        timestamps=[30, 5, 10, 6, 20, 1], n_users=3, n_items=3, **kwargs)


def _rows(data: Interactions) -> list[tuple]:
    return [tuple(row) for row in data.to_dataframe().itertuples(index=False)]


def test_duplicates_error_names_pairs_rows_and_the_choices():
    with pytest.raises(ValueError) as caught:
        _repeated(duplicates="error")
    message = str(caught.value)
    assert message.startswith("3 rows repeat a (user, item) pair already present")
    assert "(user 0, item 2) at rows 0, 2, 4" in message and "(user 1, item 1) at rows 1, 3" in message
    assert "duplicates='first' | 'last' | 'sum' | 'mean'" in message


@pytest.mark.parametrize(("policy", "expected"), [
    # kept rows stay in their original order; "first"/"last" go by timestamp, not by row
    ("first", [(1, 1, 2.0, 5), (0, 2, 3.0, 10), (2, 0, 4.0, 1)]),
    ("last", [(0, 2, 1.0, 30), (1, 1, 4.0, 6), (2, 0, 4.0, 1)]),
    ("sum", [(0, 2, 9.0, 30), (1, 1, 6.0, 6), (2, 0, 4.0, 1)]),
    ("mean", [(0, 2, 3.0, 30), (1, 1, 3.0, 6), (2, 0, 4.0, 1)]),
])
def test_duplicates_policies_merge_and_warn_with_the_count(policy, expected):
    with pytest.warns(UserWarning, match=rf"3 of 6 rows repeat a \(user, item\) pair; duplicates='{policy}'.*"
                                         r"leaving 3 interactions"):
        data = _repeated(duplicates=policy)
    assert _rows(data) == expected
    assert len(data) == data.to_csr().nnz == 3  # len() counts pairs


def test_the_default_keeps_the_latest_and_without_timestamps_the_last_row():
    with pytest.warns(UserWarning, match="duplicates='last'"):
        data = Interactions(users=[0, 0, 0], items=[1, 1, 2], ratings=[5, 2, 3])
    assert data.duplicates == "last" and _rows(data) == [(0, 1, 2.0), (0, 2, 3.0)]
    with pytest.warns(UserWarning, match="duplicates='first'"):
        first = Interactions(users=[0, 0, 0], items=[1, 1, 2], ratings=[5, 2, 3], duplicates="first")
    assert _rows(first) == [(0, 1, 5.0), (0, 2, 3.0)]


def test_sum_without_ratings_counts_the_repeated_clicks():
    with pytest.warns(UserWarning, match="2 of 5 rows"):
        clicks = Interactions(users=[0, 0, 1, 0, 1], items=[3, 3, 0, 3, 1], duplicates="sum")
    assert _rows(clicks) == [(1, 0, 1.0), (0, 3, 3.0), (1, 1, 1.0)]  # each pair where it last occurred
    with pytest.warns(UserWarning):
        plain = Interactions(users=[0, 0], items=[3, 3], duplicates="mean")
    assert plain.ratings is None and len(plain) == 1


def test_no_duplicates_no_warning_and_unknown_policy(recwarn):
    data = Interactions(users=[0, 1, 0], items=[1, 1, 0], duplicates="error")
    assert len(data) == 3 and not recwarn.list
    with pytest.raises(ValueError, match=r"`duplicates` must be one of 'error', 'first', 'last', 'sum', 'mean', "
                                         r"got duplicates='drop'\."):
        Interactions(users=[0], items=[1], duplicates="drop")


def test_from_dataframe_passes_the_policy_and_subsets_stay_unique():
    frame = pd.DataFrame({"user": ["a", "a", "b"], "item": [1, 1, 2], "rating": [1.0, 3.0, 2.0]})
    with pytest.raises(ValueError, match="1 rows repeat"):
        Interactions.from_dataframe(frame, duplicates="error")
    with pytest.warns(UserWarning, match="duplicates='mean'"):
        data = Interactions.from_dataframe(frame, duplicates="mean")
    assert data.ratings.tolist() == [2.0, 2.0]
    # positions that repeat a row make a repeated pair: the container's policy applies again
    with pytest.warns(UserWarning, match="1 of 3 rows repeat"):
        doubled = data.subset(np.array([0, 0, 1]))
    assert len(doubled) == 2


# ------------------------------------------------------------------ nothing mutable handed out
def test_to_csr_and_the_arrays_are_read_only():
    data = Interactions(users=[0, 1, 2], items=[1, 0, 1], ratings=[1, 2, 3])
    for binary in (True, False):
        matrix = data.to_csr(binary=binary)
        for array in (matrix.data, matrix.indices, matrix.indptr):
            with pytest.raises(ValueError, match="read-only"):
                array[...] = 0
        with pytest.raises(ValueError, match="read-only"):
            matrix.data *= 5
    for column in ("users", "items", "ratings"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(data, column)[0] = 9
    # a copy is the way to change it, and it leaves the cache alone
    changed = data.to_csr(binary=False).copy()
    changed.data *= 5
    assert data.to_csr(binary=False).data.tolist() == [1.0, 2.0, 3.0]


def test_the_caller_arrays_are_copied():
    users, ratings = np.array([0, 1]), np.array([1.0, 2.0])
    data = Interactions(users=users, items=[0, 0], ratings=ratings)
    users[0], ratings[0] = 1, 50.0  # the student's arrays change later
    assert data.users.tolist() == [0, 1] and data.ratings.tolist() == [1.0, 2.0]
    features = np.eye(2, dtype=np.float32)
    with_features = Interactions(users=[0], items=[1], item_features=features)
    features[0, 0] = 9
    assert with_features.item_features[0, 0] == 1.0 and not with_features.item_features.flags.writeable


def test_writing_to_to_csr_cannot_change_a_later_model():
    from course_lib import ItemKNN, Popularity
    from course_lib.closed_form import EASE

    rng = np.random.default_rng(0)
    users, items = np.nonzero(rng.random((40, 25)) < 0.3)
    data = Interactions(users=users, items=items, n_users=40, n_items=25)
    before = {cls.__name__: cls().fit(data).score(np.arange(40)) for cls in (Popularity, ItemKNN, EASE)}
    matrix = data.to_csr()
    with pytest.raises(ValueError, match="read-only"):
        matrix.data *= 5
    with pytest.raises(ValueError):
        matrix.indices[:] = 0
    for cls in (Popularity, ItemKNN, EASE):
        np.testing.assert_array_equal(cls().fit(data).score(np.arange(40)), before[cls.__name__])
