"""Notebook 05's graded exercises, sandbox side: LightGCN's propagation, GF-CF's scores and the top-k challenge.

The propagation and GF-CF run on the grader's own seeded inputs (the hidden tests' inputs). The challenge
fits the student's class on the grader's training part only (``inputs``: users, items, ratings,
timestamps, n_users, n_items; the judge keeps the test part) within ``TOP_K_SECONDS``, scores every user (in
a seeded order, in batches) and hands back the top-10 list of every user, the training items left out, as
the notebook's ``evaluate`` ranks them.
"""

from __future__ import annotations

import time

import numpy as np

import course_lib
from course_lib import checks
from course_lib.checks.graph_models import TOP_K_SECONDS
from course_lib.grading.probes import Probe, to_numpy
from course_lib.grading.probes._rng import kept_global_states

# --------------------------------------------------------------------------- propagate

PROPAGATION_LAYERS = (0, 1, 2, 3, 4)
GRADIENT_LAYERS = 3


def propagation_inputs():
    """The hidden test's graph (30 users, 40 items: a normalized (70, 70) sparse adjacency, float32),
    seeded (70, 5) embeddings, and a (70, 3) leaf for the gradient."""
    import torch

    from course_lib.closed_form import normalized_adjacency

    graph = normalized_adjacency(course_lib.make_synthetic(n_users=30, n_items=40, mean_per_user=20, seed=9))
    adjacency = torch.sparse_coo_tensor(np.vstack([graph.row, graph.col]), graph.data, graph.shape,
                                        check_invariants=True).coalesce().float()
    embeddings = torch.randn(graph.shape[0], 5, generator=torch.Generator().manual_seed(9))
    leaf = torch.randn(graph.shape[0], 3, generator=torch.Generator().manual_seed(10))
    return adjacency, embeddings, leaf


def _dense(value):
    """A result as a dense array (a sparse tensor made dense first)."""
    if getattr(value, "is_sparse", False):
        value = value.to_dense()
    return to_numpy(value)


def _propagation(namespace, inputs):
    propagate = namespace["propagate"]
    adjacency, embeddings, leaf = propagation_inputs()
    outputs = {}
    with kept_global_states():
        for n_layers in PROPAGATION_LAYERS:
            outputs[f"layers_{n_layers}"] = np.asarray(_dense(propagate(adjacency, embeddings, n_layers)),
                                                       dtype=np.float64)
        leaf.requires_grad_(True)
        result = propagate(adjacency, leaf, GRADIENT_LAYERS)
        tracked = bool(getattr(result, "requires_grad", False))
        if tracked:
            result.sum().backward()
    outputs["grad_tracked"] = tracked
    outputs["grad_present"] = leaf.grad is not None
    outputs["grad"] = (np.asarray(to_numpy(leaf.grad), dtype=np.float64) if leaf.grad is not None
                       else np.full(tuple(leaf.shape), np.nan))
    return outputs


# --------------------------------------------------------------------------- gfcf_scores

GFCF_WEIGHTS = (0.4, 0.0)


def gfcf_inputs():
    """The hidden test's inputs: R~ (25 x 18, sparse), V (18, 4) orthonormal, degrees (18,), 6 user rows."""
    from scipy import sparse

    rng = np.random.default_rng(13)
    normalized = sparse.csr_matrix(rng.random((25, 18)) * (rng.random((25, 18)) < 0.3))
    vectors = np.linalg.qr(rng.normal(size=(18, 4)))[0]
    degrees = rng.integers(1, 9, size=18).astype(np.float64)
    rows = (rng.random((6, 18)) < 0.3).astype(np.float64)
    return rows, normalized, vectors, degrees


def _gfcf(namespace, inputs):
    gfcf_scores = namespace["gfcf_scores"]
    rows, normalized, vectors, degrees = gfcf_inputs()
    originals = [rows.copy(), normalized.toarray(), vectors.copy(), degrees.copy()]
    outputs = {}
    with kept_global_states():
        for case, weight in enumerate(GFCF_WEIGHTS):
            outputs[f"scores_{case}"] = np.asarray(_dense(gfcf_scores(rows, normalized, vectors, degrees, weight)))
    now = [rows, normalized.toarray(), vectors, degrees]
    outputs["inputs_unchanged"] = all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(originals, now, strict=True))
    return outputs


# --------------------------------------------------------------------------- the challenge

TOP_K = 10
SCORE_BATCH = 1024        # users scored at once, as course_lib.evaluate does
USER_ORDER_SEED = 5       # the users are scored in a seeded order: a model must read user_ids
CHALLENGE_INPUTS = ("users", "items", "ratings", "timestamps", "n_users", "n_items")


def training_part(inputs):
    """The grader's training part, rebuilt as the Interactions the notebook's ``train`` is."""
    from course_lib.data.interactions import Interactions

    optional = {key: np.array(inputs[key]) for key in ("ratings", "timestamps") if key in inputs}
    return Interactions(users=np.array(inputs["users"]), items=np.array(inputs["items"]),
                        n_users=int(inputs["n_users"]), n_items=int(inputs["n_items"]), name="train", **optional)


def _challenge(namespace, inputs):
    from course_lib.checks._common import _quiet, _time_limit, _TimeLimitExceeded
    from course_lib.evaluation import top_k_items

    model_class = namespace["TopKModel"]
    train = training_part(inputs)
    exclude = train.to_csr()
    outputs = {"timed_out": False, "probe_shape": np.zeros(0, dtype=np.int64), "probe_finite": False,
               "finite": False, "top": np.zeros((0, TOP_K), dtype=np.int64)}
    started = time.perf_counter()
    try:
        with kept_global_states(), _quiet(), _time_limit(TOP_K_SECONDS):
            model = model_class()
            fitted = model.fit(train)
            model = model if fitted is None else fitted
            probe = np.asarray(to_numpy(model.score(np.arange(3))))
            outputs["probe_shape"] = np.asarray(probe.shape, dtype=np.int64)
            outputs["probe_finite"] = bool(np.issubdtype(probe.dtype, np.number) and np.isfinite(probe).all())
            if probe.shape != (3, train.n_items) or not outputs["probe_finite"]:
                return {**outputs, "seconds": time.perf_counter() - started}
            order = np.random.default_rng(USER_ORDER_SEED).permutation(train.n_users)
            top = np.empty((train.n_users, TOP_K), dtype=np.int64)
            for start in range(0, train.n_users, SCORE_BATCH):
                batch = order[start:start + SCORE_BATCH]
                scores = np.asarray(to_numpy(model.score(batch)))
                if scores.shape != (len(batch), train.n_items) or not np.issubdtype(scores.dtype, np.number) \
                        or not np.isfinite(scores).all():
                    outputs["probe_shape"] = np.asarray(scores.shape, dtype=np.int64)
                    return {**outputs, "seconds": time.perf_counter() - started}
                top[batch] = top_k_items(scores, TOP_K, exclude[batch])
    except _TimeLimitExceeded:
        return {**outputs, "timed_out": True, "seconds": time.perf_counter() - started}
    return {**outputs, "finite": True, "top": top,
            "seconds": time.perf_counter() - started}


PROBES = {
    "nb05_propagation_tests": Probe(("propagate",), _propagation, seconds=60,
                                    visible=lambda ns, inputs: checks.check_propagation(ns["propagate"])),
    "nb05_gfcf_scores_tests": Probe(("gfcf_scores",), _gfcf, seconds=60,
                                    visible=lambda ns, inputs: checks.check_gfcf_scores(ns["gfcf_scores"])),
    "nb05_challenge_tests": Probe(("TopKModel",), _challenge, visible=None, inputs=CHALLENGE_INPUTS,
                                  seconds=TOP_K_SECONDS + 60),
}
