"""Checks for the exercise of notebook 03 (EASE^R)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks._common import _call, _expect_array, _fail
from course_lib.closed_form import ease_from_gram

__all__ = ["check_ease_fit"]


def _cases() -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(3)
    small = (rng.random((40, 9)) < 0.35).astype(np.float64)
    wide = (rng.random((25, 14)) < 0.3).astype(np.float64)
    return [(small, 2.0), (wide, 5.0), (small, 50.0)]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)


def _diagnose(got: np.ndarray, matrix: np.ndarray, l2: float) -> None:
    """Name the mistake when ``got`` matches a typical wrong answer."""
    name = "ease_fit"
    n_items = matrix.shape[1]
    gram = matrix.T @ matrix
    inverse = np.linalg.inv(gram + l2 * np.eye(n_items))
    if got.shape == (matrix.shape[0], matrix.shape[0]):
        _fail(name, f"B has shape {got.shape}, users x users: the Gram matrix of EASE is X^T X "
                    "(items x items), not X X^T.")
    if got.shape != (n_items, n_items):
        _fail(name, f"B should be an (n_items, n_items) array, here ({n_items}, {n_items}); you returned "
                    f"shape {got.shape}.")
    if _close(got, -inverse / np.diag(inverse)[None, :]):
        _fail(name, "the diagonal of your B is -1: you divided -P by its diagonal but left out the identity "
                    "(B = I - P / diag(P)), or set the diagonal to -1 instead of 0.")
    if _close(got, np.eye(n_items) - l2 * inverse) or _close(got, inverse @ gram):
        _fail(name, "this is the ridge-regression solution without the constraint diag(B) = 0: every item "
                    "predicts itself. Apply the Lagrangian step: B = I - P / diag(P) with P the inverse.")
    if _close(got, (np.eye(n_items) - inverse / np.diag(inverse)[:, None])):
        _fail(name, "you divided each ROW i by P_ii; the constraint divides each COLUMN j by P_jj "
                    "(broadcast the diagonal as a row vector, shape (1, n_items)).")
    dense_inverse = np.linalg.inv(gram + l2)
    if _close(got, np.eye(n_items) - dense_inverse / np.diag(dense_inverse)[None, :]):
        _fail(name, "you added lambda to every entry of the Gram matrix; the L2 term adds it to the "
                    "diagonal only: G + lambda * I.")
    try:
        bare = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        bare = None
    if bare is not None and _close(got, np.eye(n_items) - bare / np.diag(bare)[None, :]):
        _fail(name, "your B ignores lambda: add l2 to the diagonal of the Gram matrix before inverting.")
    if np.abs(np.diag(got)).max() > 1e-8:
        _fail(name, f"the diagonal of B should be exactly 0 (an item may not predict itself); yours reaches "
                    f"{np.abs(np.diag(got)).max():.3g}.")
    expected = ease_from_gram(gram, l2)
    _fail(name, f"for a {matrix.shape[0]} x {n_items} matrix with l2={l2}, B differs from the "
                f"closed form by up to {np.abs(got - expected).max():.3g}. Steps: G = X^T X, add lambda on the "
                "diagonal, P = inverse, B = I - P / diag(P) (column j divided by P_jj).")


def check_ease_fit(ease_fit: Callable[[np.ndarray, float], Any]) -> None:
    """Check a student's ``ease_fit(X, l2) -> B`` (X: dense (U, I) binary array; B: (I, I)).

    In order: a result, X left unchanged, an (I, I) float array, finite, a zero diagonal; then the
    values (each typical mistake named); then a larger matrix."""
    name = "ease_fit"
    for matrix, l2 in _cases():
        original = matrix.copy()
        inputs = f"a {matrix.shape[0]} x {matrix.shape[1]} binary matrix and l2={l2}"
        got = _call(name, ease_fit, matrix, l2, inputs=inputs)
        if not np.array_equal(matrix, original):
            _fail(name, "it changed the input matrix X in place; work on the Gram matrix (a new array) instead.")
        n_users, n_items = matrix.shape
        if np.shape(got) == (n_users, n_users):
            _fail(name, f"B has shape {np.shape(got)}, users x users: the Gram matrix of EASE is X^T X "
                        "(items x items), not X X^T.")
        got = _expect_array(name, got, (n_items, n_items), inputs, kind="f", label="B").astype(np.float64)
        if not np.isfinite(got).all():
            _fail(name, "B holds NaN or infinite values: is lambda on the diagonal before the inverse?")
        if _close(got, ease_from_gram(matrix.T @ matrix, l2)):
            continue
        _diagnose(got, matrix, l2)
    rng = np.random.default_rng(8)
    large = (rng.random((300, 120)) < 0.1).astype(np.float64)
    got = _expect_array(name, _call(name, ease_fit, large, 10.0, inputs="a 300 x 120 matrix, l2=10"),
                        (120, 120), "a 300 x 120 matrix", kind="f", label="B")
    if not _close(np.asarray(got, dtype=np.float64), ease_from_gram(large.T @ large, 10.0)):
        _diagnose(np.asarray(got, dtype=np.float64), large, 10.0)
    print(f"{name}: all {len(_cases()) + 1} checks passed.")
