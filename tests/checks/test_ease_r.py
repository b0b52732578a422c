"""The check of notebook 03 accepts the notebook's answer and names the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from course_lib.closed_form import ease_from_gram
from tests.checks._hints import assert_named
from tests.checks._solutions import solution


def _reference(matrix, l2):
    return ease_from_gram(matrix.T @ matrix, l2)


def _inverse(matrix, l2):
    return np.linalg.inv(matrix.T @ matrix + l2 * np.eye(matrix.shape[1]))


def _no_return(matrix, l2):
    weights = _reference(matrix, l2)  # noqa: F841 - the forgotten return


def _in_place(matrix, l2):
    matrix += 0.0 * matrix + (matrix > 2)  # a harmless-looking edit of X itself
    matrix *= 2
    return _reference(matrix / 2, l2)


MISTAKES = [
    ("ease: forgotten return", "check_ease_fit", _no_return, "did you forget `return`"),
    ("ease: no diagonal constraint", "check_ease_fit",
     lambda x, lam: _inverse(x, lam) @ (x.T @ x), "without the constraint diag(B) = 0"),
    ("ease: diagonal -1", "check_ease_fit",
     lambda x, lam: -_inverse(x, lam) / np.diag(_inverse(x, lam))[None, :], "left out the identity"),
    ("ease: rows divided", "check_ease_fit",
     lambda x, lam: np.eye(x.shape[1]) - _inverse(x, lam) / np.diag(_inverse(x, lam))[:, None], "each ROW"),
    ("ease: lambda everywhere", "check_ease_fit",
     lambda x, lam: ease_from_gram(x.T @ x - lam * np.eye(x.shape[1]) + lam, lam), "to every entry"),
    ("ease: X X^T", "check_ease_fit", lambda x, lam: ease_from_gram(x @ x.T, lam), "X^T X"),
    ("ease: a row short", "check_ease_fit", lambda x, lam: _reference(x, lam)[:-1], "shape"),
    ("ease: nonzero diagonal", "check_ease_fit", lambda x, lam: _reference(x, lam) + np.eye(x.shape[1]), "exactly 0"),
    ("ease: lambda doubled", "check_ease_fit", lambda x, lam: _reference(x, 2 * lam), "differs from the closed form"),
    ("ease: no lambda", "check_ease_fit", lambda x, lam: ease_from_gram(x.T @ x, 1e-12), "ignores lambda"),
    ("ease: X changed in place", "check_ease_fit", _in_place, "in place"),
    ("ease: a nested list", "check_ease_fit", lambda x, lam: [[0.0] * 3], "shape"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    message = assert_named(check, answer, expected)
    assert "def " not in message


@pytest.mark.parametrize("answer", [solution("03_ease_r", "ease_fit"), _reference])
def test_check_accepts_the_answer(answer, capsys):
    checks.check_ease_fit(answer)
    assert "passed" in capsys.readouterr().out
