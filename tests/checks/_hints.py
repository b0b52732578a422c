"""Running a check on a wrong answer and keeping the hint it gives (for the mistake tests and for the
test that no hint quotes the solution)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib import checks
from course_lib.checks import _common

# A wrong answer that never returns is stopped after this long in the tests (20 s in a notebook).
TEST_TIME_LIMIT = 2.0

_HINTS: dict[tuple[str, int], str | None] = {}


def hint_of(check: str, answer: Any) -> str | None:
    """The message of the ExerciseHint that ``checks.<check>(answer)`` raises, or None when it passes."""
    key = (check, id(answer))
    if key not in _HINTS:
        saved, _common.DEFAULT_TIME_LIMIT = _common.DEFAULT_TIME_LIMIT, TEST_TIME_LIMIT
        try:
            getattr(checks, check)(answer)
            _HINTS[key] = None
        except checks.ExerciseHint as hint:
            _HINTS[key] = str(hint)
        finally:
            _common.DEFAULT_TIME_LIMIT = saved
    return _HINTS[key]


def assert_named(check: str, answer: Callable, expected: str) -> str:
    message = hint_of(check, answer)
    assert message is not None, f"{check} accepted a wrong answer"
    assert expected in message, f"expected the hint to say {expected!r}, got: {message}"
    return message
