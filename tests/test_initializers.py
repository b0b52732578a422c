"""course_lib.initializers: the NumPy draws both twins start from (framework-free)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from course_lib.initializers import (
    constant,
    glorot_uniform,
    he_normal,
    initial_weights,
    normal,
    ones,
    torch_uniform,
    zeros,
)

BIG = (400, 300)  # 120,000 draws: the moments below are measured to well under 1%


def _one(initializer, shape=BIG, key="layer.weight", shapes=None, seed=0):
    shapes = {key: shape} if shapes is None else shapes
    return initial_weights(shapes, [("*", initializer)], seed)[key]


def _uniform_bound(value: np.ndarray) -> float:
    """The bound a of U(-a, a), estimated from the standard deviation a / sqrt(3)."""
    return float(value.std() * np.sqrt(3))


@pytest.mark.parametrize("std", [0.01, 0.1, 1.0])
def test_normal_has_the_stated_deviation_and_shape(std):
    value = _one(normal(std))
    assert value.shape == BIG and value.dtype == np.float32
    assert value.std() == pytest.approx(std, rel=0.01)
    assert abs(value.mean()) < 5 * std / np.sqrt(value.size)
    assert stats.kstest(value.ravel()[:5000] / std, "norm").pvalue > 1e-3


def test_normal_padding_row_is_zero_and_the_rest_is_not():
    value = _one(normal(1.0, padding_row=0), shape=(50, 8))
    assert not value[0].any()
    assert (value[1:] != 0).all()


@pytest.mark.parametrize("shape", [(400, 300), (64, 2000), (1, 16)])
def test_glorot_uniform_bound(shape):
    value = _one(glorot_uniform(), shape=shape)
    limit = np.sqrt(6 / (shape[0] + shape[1]))
    assert np.abs(value).max() <= limit
    if value.size > 1000:
        assert _uniform_bound(value) == pytest.approx(limit, rel=0.02)


@pytest.mark.parametrize("fan_in", [4, 300])
def test_he_normal_deviation_reads_the_fan_in_from_the_second_axis(fan_in):
    value = _one(he_normal(), shape=(2000, fan_in))
    assert value.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.02)


def test_torch_uniform_dense_weight_and_its_bias_share_the_fan_in():
    shapes = {"output.weight": (500, 64), "output.bias": (500,)}
    weights = initial_weights(shapes, [("*", torch_uniform())], 0)
    for key in shapes:
        assert np.abs(weights[key]).max() <= 1 / 8
    assert _uniform_bound(weights["output.weight"]) == pytest.approx(1 / 8, rel=0.02)
    assert weights["output.bias"].max() > 0.9 / 8  # the bias uses the layer's fan-in, not its own length


def test_torch_uniform_recurrent_weights_use_the_hidden_size():
    hidden = 16
    shapes = {"gru.weight_ih_l0": (3 * hidden, 40), "gru.weight_hh_l0": (3 * hidden, hidden),
              "gru.bias_ih_l0": (3 * hidden,), "gru.bias_hh_l0": (3 * hidden,)}
    weights = initial_weights(shapes, [("*", torch_uniform())], 0)
    for key, value in weights.items():
        assert np.abs(value).max() <= 1 / np.sqrt(hidden), key
        assert np.abs(value).max() > 0.8 / np.sqrt(hidden), key  # not the fan-in of 40


def test_torch_uniform_bias_without_its_weight_is_a_clear_error():
    with pytest.raises(ValueError, match="'lonely.bias'.*'lonely.weight'"):
        initial_weights({"lonely.bias": (4,)}, [("*", torch_uniform())], 0)


@pytest.mark.parametrize("initializer", [glorot_uniform(), he_normal(), torch_uniform()])
def test_dense_initializers_refuse_a_weight_that_is_not_2d(initializer):
    with pytest.raises(ValueError, match=r"'table.weight' has shape \(3, 4, 5\)"):
        initial_weights({"table.weight": (3, 4, 5)}, [("*", initializer)], 0)


@pytest.mark.parametrize("initializer, expected", [(zeros(), 0.0), (ones(), 1.0), (constant(3.53), 3.53)])
def test_constants(initializer, expected):
    value = _one(initializer, shape=(7, 3))
    np.testing.assert_array_equal(value, np.full((7, 3), expected, np.float32))
    assert _one(initializer, shape=()).shape == ()


def test_first_matching_rule_wins_and_patterns_are_case_sensitive():
    rules = [("output.bias", constant(3.0)), ("*.bias", zeros()), ("*", normal(1.0))]
    weights = initial_weights({"output.bias": (1,), "layers.0.bias": (4,), "Output.bias": (2,)}, rules, 0)
    assert weights["output.bias"][0] == 3.0
    assert not weights["layers.0.bias"].any()
    assert not weights["Output.bias"].any()  # "output.bias" is case-sensitive: "*.bias" took it


def test_a_weight_no_rule_covers_is_named():
    with pytest.raises(ValueError, match=r"No initialization rule matches the weight 'extra\.weight'.*'\*_embeddings'"):
        initial_weights({"user_embeddings": (3, 2), "extra.weight": (2, 2)}, [("*_embeddings", normal(0.1))], 0)


def test_an_initializer_of_the_wrong_shape_is_refused():
    def wrong(key, shape, shapes, rng):
        return np.zeros((1,))

    with pytest.raises(ValueError, match=r"'w' gave shape \(1,\), not \(2, 2\)"):
        initial_weights({"w": (2, 2)}, [("*", wrong)], 0)


def test_same_seed_same_draws_other_seed_other_draws():
    shapes = {"a": (20, 5), "b": (7,)}
    rules = [("*", normal(1.0))]
    first, again, other = (initial_weights(shapes, rules, seed) for seed in (5, 5, 6))
    for key in shapes:
        np.testing.assert_array_equal(first[key], again[key])
        assert not np.allclose(first[key], other[key])


def test_each_weight_has_its_own_stream():
    """A weight's start depends on the seed, its name and its shape only: adding or reordering
    layers leaves the others as they were, and two tables of one shape are not drawn alike."""
    rules = [("*", normal(1.0))]
    alone = initial_weights({"user_embeddings": (30, 4)}, rules, 0)
    more = initial_weights({"layer.weight": (9, 9), "item_embeddings": (30, 4), "user_embeddings": (30, 4)}, rules, 0)
    np.testing.assert_array_equal(alone["user_embeddings"], more["user_embeddings"])
    assert not np.allclose(more["user_embeddings"], more["item_embeddings"])


def test_no_global_generator_is_read_or_moved():
    np.random.seed(1)  # noqa: NPY002 - the legacy global generator students use
    first = initial_weights({"w": (4, 4)}, [("*", normal(1.0))], 0)
    np.random.seed(2)  # noqa: NPY002
    second = initial_weights({"w": (4, 4)}, [("*", normal(1.0))], 0)
    np.testing.assert_array_equal(first["w"], second["w"])
    np.random.seed(1)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    initial_weights({"w": (4, 4)}, [("*", normal(1.0))], 0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
