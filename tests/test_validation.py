"""course_lib.validation: the one set of argument rules and its one message format."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.validation import (
    DEVICE_SPELLINGS,
    SingularSystemError,
    check_bool,
    check_choice,
    check_epochs,
    check_integer,
    check_integer_sequence,
    check_number,
    check_weights,
    parse_device,
    singular_system_error,
)


@pytest.mark.parametrize("value", [2.5, 2.0, "2", True, False, None, np.float64(3.0), [2]])
def test_integers_are_integers(value):
    with pytest.raises(ValueError, match=r"^`embedding_dim` must be an integer at least 1, got embedding_dim="):
        check_integer("embedding_dim", value)


def test_integer_accepts_numpy_integers_and_checks_bounds():
    assert check_integer("n", np.int32(4)) == 4 and type(check_integer("n", np.int64(4))) is int
    assert check_integer("n", 0, minimum=0) == 0
    with pytest.raises(ValueError, match=r"^`n` must be an integer at least 1 and at most 3, got n=4\.$"):
        check_integer("n", 4, minimum=1, maximum=3)
    with pytest.raises(ValueError, match=r"got n=0\.$"):
        check_integer("n", 0)


@pytest.mark.parametrize(("value", "shown"), [
    ("0.01", "learning_rate='0.01' (a string: write the number without quotes)"),
    (float("nan"), "learning_rate=nan"),
    (float("inf"), "learning_rate=inf"),
    (True, "learning_rate=True (a bool)"),
    (None, "learning_rate=None"),
    (0, "learning_rate=0"),
    (-1e-3, "learning_rate=-0.001"),
])
def test_numbers_are_finite_numbers(value, shown):
    with pytest.raises(ValueError) as caught:
        check_number("learning_rate", value, minimum=0.0, minimum_open=True)
    assert str(caught.value) == f"`learning_rate` must be a finite number above 0, got {shown}."


def test_number_bounds_and_types():
    assert check_number("dropout", 0, 0.0, 1.0, maximum_open=True) == 0.0
    assert isinstance(check_number("x", np.float32(0.5)), float)
    with pytest.raises(ValueError, match=r"^`dropout` must be a finite number at least 0 and below 1, got dropout=1\.$"):
        check_number("dropout", 1, 0.0, 1.0, maximum_open=True)
    with pytest.raises(ValueError, match="at most 1"):
        check_number("p", 1.5, 0.0, 1.0)


def test_choices_are_listed_and_bools_never_match_numbers():
    assert check_choice("optimizer", "adam", ("adam", "sgd")) == "adam"
    assert check_choice("scheduler", None, (None, "step")) is None
    with pytest.raises(ValueError) as caught:
        check_choice("optimizer", "Adam", ("adam", "sgd", "adagrad"))
    assert str(caught.value) == "`optimizer` must be one of 'adam', 'sgd', 'adagrad', got optimizer='Adam'."
    with pytest.raises(ValueError):
        check_choice("k", True, (1, 2))
    with pytest.raises(ValueError):
        check_choice("k", np.zeros(3), ("a",))


def test_epochs_zero_is_allowed_and_means_no_training():
    assert check_epochs(0) == 0
    with pytest.raises(ValueError, match=r"`epochs` must be an integer at least 0, got epochs=-1\."):
        check_epochs(-1)


def test_bool_and_integer_sequences():
    assert check_bool("partial", np.bool_(True)) is True
    with pytest.raises(ValueError, match="True or False, got partial=1"):
        check_bool("partial", 1)
    assert check_integer_sequence("hidden_dims", 8) == (8,)
    assert check_integer_sequence("hidden_dims", [8, np.int64(4)]) == (8, 4)
    for bad in ([8, 2.5], [8, 0], "84", [True], {8: 1}):
        with pytest.raises(ValueError, match="`hidden_dims` must be a sequence of integers of at least 1"):
            check_integer_sequence("hidden_dims", bad)


@pytest.mark.parametrize(("spelling", "parsed"), [
    ("cpu", ("cpu", 0)), ("CUDA", ("gpu", 0)), ("cuda:1", ("gpu", 1)), ("gpu", ("gpu", 0)),
    ("/GPU:2", ("gpu", 2)), ("/device:GPU:0", ("gpu", 0)), ("mps", ("mps", 0)), (" cpu ", ("cpu", 0)),
])
def test_device_spellings_shared_by_both_frameworks(spelling, parsed):
    assert parse_device(spelling) == parsed


@pytest.mark.parametrize("spelling", ["tpu", "cuda:x", "gpu:0:1", "", 0, 1.5, "xla:0"])
def test_an_unknown_device_is_one_short_message(spelling):
    with pytest.raises(ValueError) as caught:
        parse_device(spelling)
    assert str(caught.value) == f"`device` must be one of {DEVICE_SPELLINGS}, got device={spelling!r}."
    assert "\n" not in str(caught.value)


def test_check_weights_refuses_before_anything_and_names_the_key():
    expected = {"a": (2,), "b": (2, 3)}
    good = {"a": np.zeros(2), "b": np.ones((2, 3), np.float32)}
    checked = check_weights(good, expected, "Model")
    assert set(checked) == {"a", "b"}
    with pytest.raises(TypeError, match="dict of NumPy arrays"):
        check_weights([good["a"]], expected, "Model")
    with pytest.raises(ValueError, match=r"missing \['b'\], unknown \['c'\]"):
        check_weights({"a": good["a"], "c": good["b"]}, expected, "Model")
    with pytest.raises(ValueError, match=r"`weights\['b'\]` has shape \(3, 2\), expected \(2, 3\)"):
        check_weights({"a": good["a"], "b": np.zeros((3, 2))}, expected, "Model")
    bad = good["b"].copy()
    bad[0, 1], bad[1, 2] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"`weights\['b'\]` holds 2 NaN or infinite values"):
        check_weights({"a": good["a"], "b": bad}, expected, "Model")
    with pytest.raises(ValueError, match="must hold numbers"):
        check_weights({"a": np.array(["x", "y"]), "b": good["b"]}, expected, "Model")


def test_singular_system_error_is_a_value_error_naming_l2():
    error = singular_system_error(1e-12, 1682)
    assert isinstance(error, SingularSystemError) and isinstance(error, ValueError)
    assert isinstance(error, np.linalg.LinAlgError)
    assert "l2=1e-12" in str(error) and "1,682 x 1,682" in str(error) and "Raise `l2`" in str(error)
