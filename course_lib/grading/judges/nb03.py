"""Notebook 03's hidden tests, judged in the grader: EASE^R's closed form."""

from __future__ import annotations

import numpy as np

from course_lib.closed_form import ease_from_gram
from course_lib.grading.judges import Failed, Judge, expect, expect_close
from course_lib.grading.probes.nb03 import LARGE_L2, SMALL_L2S, large_matrix, small_matrix


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)


def _diagnose(weights: np.ndarray, matrix: np.ndarray, l2: float, what: str) -> None:
    """Name a typical mistake the weights match (no value of the expected weights is shown)."""
    n_items = matrix.shape[1]
    gram = matrix.T @ matrix
    inverse = np.linalg.inv(gram + l2 * np.eye(n_items))
    if _close(weights, -inverse / np.diag(inverse)[None, :]):
        raise Failed(f"{what}: the diagonal of B is -1: B = I - P / diag(P), or set the diagonal to 0")
    if _close(weights, np.eye(n_items) - l2 * inverse) or _close(weights, inverse @ gram):
        raise Failed(f"{what}: B is the ridge-regression solution without the constraint diag(B) = 0")
    if _close(weights, np.eye(n_items) - inverse / np.diag(inverse)[:, None]):
        raise Failed(f"{what}: each ROW i of P is divided by P_ii; the constraint divides each COLUMN j by P_jj")
    dense = np.linalg.inv(gram + l2)
    if _close(weights, np.eye(n_items) - dense / np.diag(dense)[None, :]):
        raise Failed(f"{what}: lambda was added to every entry of the Gram matrix; it belongs on the diagonal only")


def _check(weights, matrix: np.ndarray, l2: float, what: str) -> None:
    n_users, n_items = matrix.shape
    weights = np.asarray(weights)
    if weights.shape == (n_users, n_users):
        raise Failed(f"{what}: B has shape {weights.shape}, users x users: the Gram matrix of EASE is X^T X "
                     "(items x items), not X X^T")
    expect(weights.shape == (n_items, n_items), f"{what}: B has shape {weights.shape}, expected ({n_items}, {n_items})")
    expect(np.issubdtype(weights.dtype, np.floating), f"{what}: B holds values of type {weights.dtype}, not floats")
    expect(np.isfinite(weights).all(), f"{what}: B holds NaN or infinite values")
    expect(np.allclose(np.diag(weights), 0.0), f"{what}: the diagonal of B is not zero (its largest entry is "
                                               f"{np.abs(np.diag(weights)).max():.3g}): an item may not predict itself")
    expected = ease_from_gram(matrix.T @ matrix, l2)
    if not _close(weights, expected):
        _diagnose(weights, matrix, l2, what)
        expect_close(weights, expected, f"{what}: the weights B", rtol=1e-6, atol=1e-8,
                     describe=lambda i: f"B[{i // n_items}, {i % n_items}]")


def _ease(outputs, context):
    small, large = small_matrix(), large_matrix()
    for key, matrix in (("small_after", small), ("large_after", large)):
        expect(np.array_equal(np.asarray(outputs[key]), matrix),
               f"ease_fit(a {matrix.shape[0]} x {matrix.shape[1]} binary matrix, l2) changed the matrix X it was "
               "given, in place; work on the Gram matrix (a new array) instead")
    for index, l2 in enumerate(SMALL_L2S):
        _check(outputs[f"weights_{index}"], small, l2, f"ease_fit(a 60 x 20 binary matrix, l2={l2:g})")
    _check(outputs["large"], large, LARGE_L2, f"ease_fit(a 300 x 150 binary matrix, l2={LARGE_L2:g})")


JUDGES = {"nb03_ease_fit_tests": Judge(_ease)}
