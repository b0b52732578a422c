"""Notebook 03's graded exercise, sandbox side: EASE^R's closed form, ``ease_fit(X, l2) -> B``.

The inputs are the grader's: the small seeded matrix of the former hidden test at four values of
lambda, and a larger seeded synthetic matrix at the notebook's lambda in place of its training data.
"""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, to_numpy

SMALL_L2S = (1.0, 50.0, 1e4, 1e-2)
LARGE_L2 = 500.0      # the notebook's L2


def small_matrix() -> np.ndarray:
    """The former hidden test's (60, 20) binary matrix (float64)."""
    data = course_lib.make_synthetic(n_users=60, n_items=20, mean_per_user=6, min_per_user=2, seed=5)
    return data.to_csr(binary=True).toarray().astype(np.float64)


def large_matrix() -> np.ndarray:
    """A (300, 150) binary matrix (float64) standing in for the notebook's training data."""
    data = course_lib.make_synthetic(n_users=300, n_items=150, mean_per_user=25, min_per_user=5, seed=6)
    return data.to_csr(binary=True).toarray().astype(np.float64)


def _ease(namespace, inputs):
    ease_fit = namespace["ease_fit"]
    small = small_matrix()
    outputs = {f"weights_{index}": to_numpy(ease_fit(small, l2)) for index, l2 in enumerate(SMALL_L2S)}
    outputs["small_after"] = small
    large = large_matrix()
    outputs["large"] = to_numpy(ease_fit(large, LARGE_L2))
    outputs["large_after"] = large
    return outputs


PROBES = {
    "nb03_ease_fit_tests": Probe(("ease_fit",), _ease, seconds=20,
                                 visible=lambda ns, inputs: checks.check_ease_fit(ns["ease_fit"])),
}
