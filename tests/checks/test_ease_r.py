"""The EASE exercise check accepts the reference and names the typical mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import checks
from course_lib.closed_form import ease_from_gram


def reference(matrix, l2_weight):
    return ease_from_gram(matrix.T @ matrix, l2_weight)


def _inverse(matrix, l2_weight):
    return np.linalg.inv(matrix.T @ matrix + l2_weight * np.eye(matrix.shape[1]))


def test_accepts_the_reference(capsys):
    checks.check_ease_fit(reference)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda x, lam: _inverse(x, lam) @ (x.T @ x), "without the constraint diag(B) = 0"),
    (lambda x, lam: -_inverse(x, lam) / np.diag(_inverse(x, lam))[None, :], "left out the identity"),
    (lambda x, lam: np.eye(x.shape[1]) - _inverse(x, lam) / np.diag(_inverse(x, lam))[:, None], "each ROW"),
    (lambda x, lam: ease_from_gram(x.T @ x - lam * np.eye(x.shape[1]) + lam, lam), "to every entry"),
    (lambda x, lam: ease_from_gram(x @ x.T, lam), "X^T X"),
    (lambda x, lam: reference(x, lam)[:-1], "shape"),
    (lambda x, lam: reference(x, lam) + np.eye(x.shape[1]), "exactly 0"),
    (lambda x, lam: reference(x, 2 * lam), "differs from the closed form"),
])
def test_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)) as raised:
        checks.check_ease_fit(mistake)
    assert "def " not in str(raised.value)


def test_ignoring_lambda_is_named():
    def no_l2(matrix, l2_weight):
        return ease_from_gram(matrix.T @ matrix, 1e-12)

    with pytest.raises(AssertionError, match="ignores lambda"):
        checks.check_ease_fit(no_l2)


def test_in_place_change_of_the_input_is_named():
    def in_place(matrix, l2_weight):
        matrix *= 1.0
        matrix[0, 0] += 1.0
        return reference(matrix, l2_weight)

    with pytest.raises(AssertionError, match="in place"):
        checks.check_ease_fit(in_place)


def test_lets_the_stub_error_through():
    def stub(matrix, l2_weight):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_ease_fit(stub)
