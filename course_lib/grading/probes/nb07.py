"""Notebook 07's graded exercises, sandbox side: the BPR loss and the vectorized triplet sampler.

Every input is the grader's own: seeded scores for the loss; for the sampler, the training part of a
seeded MovieLens-shaped synthetic data set (never the notebook's ``train``) and the visible check's
small 3 x 60 matrix, on which the draws can be counted.
"""

from __future__ import annotations

import time

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy
from course_lib.grading.probes._rng import kept_global_states

# --------------------------------------------------------------------------- bpr_loss

FAR_POSITIVE, FAR_NEGATIVE = (300.0, -300.0), (0.0, 0.0)


def loss_inputs():
    """The hidden test's 50 (positive, negative) score pairs, 5 * N(0, 1), seeded."""
    import torch

    generator = torch.Generator().manual_seed(11)
    positive = 5 * torch.randn(50, generator=generator)
    negative = 5 * torch.randn(50, generator=generator)
    return positive, negative


def _gradient(tensor) -> np.ndarray:
    return (np.asarray(to_numpy(tensor.grad), dtype=np.float64) if tensor.grad is not None
            else np.full(tuple(tensor.shape), np.nan))


def _bpr_loss(namespace, inputs):
    import torch

    bpr_loss = namespace["bpr_loss"]
    positive, negative = loss_inputs()
    outputs = {}
    with kept_global_states():
        value = bpr_loss(positive.clone().requires_grad_(True), negative.clone().requires_grad_(True))
        outputs["value"], outputs["value_size"] = number(value), int(np.size(to_numpy(value)))
        far_positive = torch.tensor(FAR_POSITIVE, requires_grad=True)
        far_negative = torch.tensor(FAR_NEGATIVE, requires_grad=True)
        far = bpr_loss(far_positive, far_negative)
        outputs["far"] = number(far)
        outputs["far_tracked"] = bool(getattr(far, "requires_grad", False))
        if outputs["far_tracked"] and int(far.numel()) == 1:
            far.backward()
    outputs["grad_positive"], outputs["grad_negative"] = _gradient(far_positive), _gradient(far_negative)
    return outputs


# --------------------------------------------------------------------------- vectorized_triplets

N_SAMPLES, TIMED_SAMPLES, SEEDED_SAMPLES, SMALL_SAMPLES = 50_000, 200_000, 1000, 30_000


def sampler_matrix():
    """The training part (80 %) of a seeded MovieLens-shaped synthetic data set, as a CSR matrix (the
    notebook's ``train.to_csr()``)."""
    data = course_lib.make_synthetic(seed=71)
    return course_lib.random_split(data, test_fraction=0.2, seed=71)[0].to_csr()


def small_matrix():
    """The visible check's 3 x 60 matrix: user 0 has 40 items, user 1 has 4, user 2 has 10."""
    from course_lib.checks.bpr import _test_matrix

    return _test_matrix()


def _triplet(result, prefix: str) -> dict:
    parts = list(result) if isinstance(result, (tuple, list)) else [result]
    names = ("users", "positives", "negatives")
    outputs = {f"{prefix}count": len(parts)}
    for name, part in zip(names, (parts + [np.zeros(0, dtype=np.int64)] * 3)[:3], strict=True):
        outputs[f"{prefix}{name}"] = np.asarray(to_numpy(part))
    return outputs


def _sampler(namespace, inputs):
    sample = namespace["vectorized_triplets"]
    matrix = sampler_matrix()
    outputs = {}
    with kept_global_states():
        outputs.update(_triplet(sample(matrix, N_SAMPLES, np.random.default_rng(3)), ""))
        started = time.perf_counter()
        sample(matrix, TIMED_SAMPLES, np.random.default_rng(4))
        outputs["seconds"] = time.perf_counter() - started
        # the same generator seed gives the same triplets whatever the global seed
        np.random.seed(1)  # noqa: NPY002 - other global seeds: the draws must come from rng alone
        outputs.update(_triplet(sample(matrix, SEEDED_SAMPLES, np.random.default_rng(9)), "a_"))
        np.random.seed(2)  # noqa: NPY002
        outputs.update(_triplet(sample(matrix, SEEDED_SAMPLES, np.random.default_rng(9)), "b_"))
        outputs.update(_triplet(sample(small_matrix(), SMALL_SAMPLES, np.random.default_rng(0)), "small_"))
    return outputs


PROBES = {
    "nb07_bpr_loss_tests": Probe(("bpr_loss",), _bpr_loss, seconds=30,
                                 visible=lambda ns, inputs: checks.check_bpr_loss(ns["bpr_loss"])),
    "nb07_triplet_sampler_tests": Probe(("vectorized_triplets",), _sampler, seconds=60,
                                        visible=lambda ns, inputs: checks.check_triplet_sampler(
                                            ns["vectorized_triplets"])),
}
