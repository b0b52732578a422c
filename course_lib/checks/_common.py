"""What every exercise check shares: the hint exception and safe calls into student code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ExerciseHint", "_fail", "_call", "_as_float"]


class ExerciseHint(AssertionError):
    """An AssertionError whose message is meant for a student."""


def _fail(exercise: str, message: str) -> None:
    raise ExerciseHint(f"{exercise}: {message}")


def _call(exercise: str, function: Callable, *args: Any) -> Any:
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except ZeroDivisionError:
        _fail(exercise, f"division by zero for the input {args!r}. Is there a case (no relevant items, "
                        "a rank of 0) where the denominator is 0? Count ranks from 1.")
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        _fail(exercise, f"calling it with {args!r} raised {type(error).__name__}: {error}")
    return None


def _as_float(exercise: str, value: Any, args: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        _fail(exercise, f"it should return one number, but for {args!r} it returned {value!r} "
                        f"(type {type(value).__name__}).")
    if not np.isfinite(number):
        _fail(exercise, f"it returned {number} for {args!r}; a metric is a finite number between 0 and 1.")
    return number


