"""course_lib.sequences: cutting histories into sequences, the user split, MRR and the baselines."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.data.interactions import Interactions
from course_lib.data.synthetic import make_synthetic
from course_lib.sequences import (
    MostPopularItem,
    PopularityDistribution,
    check_sequences,
    evaluate_next_item,
    hit_rate,
    make_sequences,
    mean_reciprocal_rank,
    next_item_ranks,
    pad_or_cut,
    sequence_split,
)


def _history() -> Interactions:
    # user 0: items 0..6 at times 7..1 (reversed), user 1: 3 items, user 2: one item (dropped: too short)
    users = np.array([0] * 7 + [1] * 3 + [2])
    items = np.array([0, 1, 2, 3, 4, 5, 6, 4, 2, 5, 3])
    times = np.array([7, 6, 5, 4, 3, 2, 1, 10, 20, 15, 5])
    return Interactions(users=users, items=items, timestamps=times, n_users=3, n_items=8)


def test_make_sequences_orders_by_time_and_cuts_from_the_end():
    sequences = make_sequences(_history(), max_length=3)
    # user 0 in time order: 6 5 4 3 2 1 0 -> [6], [5 4 3], [2 1 0]; the lone [6] is dropped (min_length=2)
    expected = np.array([[6, 5, 4], [3, 2, 1], [5, 6, 3]])
    np.testing.assert_array_equal(sequences.sequences, expected)
    np.testing.assert_array_equal(sequences.user_ids, [0, 0, 1])
    np.testing.assert_array_equal(sequences.targets, [3, 0, 2])
    np.testing.assert_array_equal(sequences.inputs, expected[:, :-1])
    short = make_sequences(_history(), max_length=3, min_length=1)
    assert short.sequences.tolist()[0] == [0, 0, 7]
    assert len(make_sequences(_history(), max_length=10)) == 2
    with pytest.raises(ValueError, match="max_length"):
        make_sequences(_history(), max_length=1)
    with pytest.raises(ValueError, match="timestamps"):
        make_sequences(Interactions(users=[0, 0], items=[0, 1]))


def test_sequence_split_separates_users_and_is_seeded():
    data = make_synthetic(n_users=100, n_items=50, mean_per_user=25, seed=0)
    train, test = sequence_split(data, max_length=10, test_fraction=0.2, seed=3)
    assert not set(train.user_ids) & set(test.user_ids)
    assert len(np.unique(test.user_ids)) == 20
    assert len(train) + len(test) == len(make_sequences(data, max_length=10))
    again, _ = sequence_split(data, max_length=10, test_fraction=0.2, seed=3)
    np.testing.assert_array_equal(train.sequences, again.sequences)
    assert train.sequences.max() <= data.n_items and (train.lengths >= 2).all()


def test_mrr_equals_label_ranking_average_precision():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 30))
    scores[:, 3] = 0.0  # ties: counted against the target, as sklearn does
    targets = rng.integers(0, 30, size=50)
    targets[:5] = 3
    one_hot = np.eye(30)[targets]
    assert mean_reciprocal_rank(scores, targets) == pytest.approx(
        sklearn_metrics.label_ranking_average_precision_score(one_hot, scores))
    ranks = next_item_ranks(scores, targets)
    assert hit_rate(scores, targets, k=10) == pytest.approx(np.mean(ranks <= 10))
    assert next_item_ranks(np.array([[0.1, 0.9, 0.5]]), np.array([1]))[0] == 1
    with pytest.raises(ValueError, match="targets"):
        next_item_ranks(scores, targets[:3])


def test_baselines():
    data = make_synthetic(n_users=100, n_items=50, mean_per_user=25, seed=0)
    train, test = sequence_split(data, max_length=10, seed=0)
    single = MostPopularItem().fit(train)
    assert (single.score(test.inputs[:2]) > 0).sum() == 2
    popularity = PopularityDistribution().fit(train)
    assert popularity.score(test.inputs).sum(axis=1) == pytest.approx(1.0)
    results = {name: evaluate_next_item(model, test) for name, model in (("single", single), ("pop", popularity))}
    assert results["pop"]["mrr"] > results["single"]["mrr"] > 0
    with pytest.raises(RuntimeError, match="not fitted"):
        MostPopularItem().score(test.inputs)


def test_check_sequences_and_pad_or_cut():
    assert check_sequences([[0, 1, 2]], 5).shape == (1, 3)
    with pytest.raises(ValueError, match="beyond the catalogue"):
        check_sequences([[0, 1, 6]], 5)
    with pytest.raises(ValueError, match="length 0"):
        check_sequences(np.zeros((1, 0), dtype=int), 5)
    with pytest.raises(ValueError, match="length 0"):
        check_sequences([[0, 0, 0]], 5)
    with pytest.raises(ValueError, match="negative"):
        check_sequences([[0, -1, 2]], 5)
    np.testing.assert_array_equal(pad_or_cut(np.array([[1, 2, 3]]), 5), [[0, 0, 1, 2, 3]])
    np.testing.assert_array_equal(pad_or_cut(np.array([[1, 2, 3]]), 2), [[2, 3]])


def test_split_sequences_holds_out_whole_users_like_sequence_split():
    from course_lib.sequences import SequenceData, make_sequences, split_sequences

    data = make_synthetic(n_users=50, n_items=40, mean_per_user=20, seed=5)
    everything = make_sequences(data, max_length=5)
    train, test = sequence_split(data, max_length=5, test_fraction=0.3, seed=7)
    again_train, again_test = split_sequences(everything, test_fraction=0.3, seed=7)
    np.testing.assert_array_equal(again_train.sequences, train.sequences)  # one rule for both
    np.testing.assert_array_equal(again_test.user_ids, test.user_ids)
    fit_part, validation = split_sequences(train, test_fraction=0.2, seed=0)
    assert not set(fit_part.user_ids) & set(validation.user_ids)
    assert len(fit_part) + len(validation) == len(train) and validation.n_items == train.n_items
    assert len(np.unique(validation.user_ids)) == round(0.2 * len(np.unique(train.user_ids)))
    other = split_sequences(train, test_fraction=0.2, seed=1)[1]
    assert set(other.user_ids) != set(validation.user_ids)
    with pytest.raises(TypeError, match="`sequences` must be a SequenceData"):
        split_sequences(data)
    with pytest.raises(ValueError, match="test_fraction"):
        split_sequences(train, test_fraction=1.5)
    one_user = SequenceData(train.sequences[:2], np.zeros(2, dtype=np.int64), train.n_items)
    with pytest.raises(ValueError, match="1 user"):
        split_sequences(one_user)
