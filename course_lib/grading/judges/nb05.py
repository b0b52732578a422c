"""Notebook 05's hidden tests, judged in the grader: LightGCN's propagation, GF-CF's scores and the top-k challenge.

The challenge: the grader splits the notebook's data set (80/20, ``SPLIT_SEED``, a seed the notebook never
uses), sends the probe only the training part, and scores the top-10 lists that come back against the
test part it kept: NDCG@10 must beat ItemKNN(n_neighbors=100, shrinkage=10)'s on the same split,
computed here and cached for the grading run.
"""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import metrics
from course_lib.checks.graph_models import TOP_K_SECONDS
from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_in_time, expect_shape
from course_lib.grading.probes.nb05 import (
    GFCF_WEIGHTS,
    GRADIENT_LAYERS,
    PROPAGATION_LAYERS,
    TOP_K,
    gfcf_inputs,
    propagation_inputs,
)

SPLIT_SEED = 7961          # the hidden test's split: SEED + 7919
IMPLAUSIBLE_NDCG = 0.8     # no honest model comes near it on these data sets

# --------------------------------------------------------------------------- propagate


def _node(i: int, width: int) -> str:
    return f"node {i // width}, column {i % width}"


def _propagation(outputs, context):
    from course_lib.torch.graph import propagate

    adjacency, embeddings, leaf = propagation_inputs()
    shape = tuple(embeddings.shape)
    for n_layers in PROPAGATION_LAYERS:
        what = (f"propagate(adjacency, embeddings, n_layers={n_layers}) on a normalized {shape[0]} x {shape[0]} "
                f"graph (30 users, 40 items) with {shape[1]}-dimensional embeddings")
        got = expect_shape(outputs[f"layers_{n_layers}"], shape, what)
        expect(np.isfinite(got).all(), f"{what} holds NaN or infinite values")
        expected = propagate(adjacency, embeddings, n_layers).numpy()
        expect_close(got, expected, what, rtol=1e-4, atol=1e-4, describe=lambda i: _node(i, shape[1]))
    what = f"propagate(adjacency, embeddings, n_layers={GRADIENT_LAYERS}).sum().backward()"
    expect(bool(outputs["grad_tracked"]),
           f"{what}: the result carries no gradient (requires_grad is False): use torch operations only (no "
           ".numpy(), torch.no_grad() or .detach()), or the embeddings never learn")
    expect(bool(outputs["grad_present"]), f"{what}: no gradient reached the embeddings passed in")
    grad = expect_shape(outputs["grad"], tuple(leaf.shape), f"{what}: the embeddings' gradient")
    expect(np.isfinite(grad).all(), f"{what}: the embeddings' gradient holds NaN or infinite values")
    tracked = leaf.clone().requires_grad_(True)
    propagate(adjacency, tracked, GRADIENT_LAYERS).sum().backward()
    expect_close(grad, tracked.grad.numpy(), f"{what}: the embeddings' gradient (every layer must stay in the "
                 "graph of autograd)", rtol=1e-4, atol=1e-5, describe=lambda i: _node(i, tracked.shape[1]))


# --------------------------------------------------------------------------- gfcf_scores

def _gfcf(outputs, context):
    from course_lib.closed_form import gfcf_scores

    rows, normalized, vectors, degrees = gfcf_inputs()
    item_item = (normalized.T @ normalized).toarray()
    for case, weight in enumerate(GFCF_WEIGHTS):
        what = (f"gfcf_scores for {rows.shape[0]} users of a {normalized.shape[0]} x {normalized.shape[1]} R~, "
                f"{vectors.shape[1]} item vectors, ideal_weight={weight}")
        got = expect_shape(outputs[f"scores_{case}"], (rows.shape[0], rows.shape[1]), what)
        expect(np.issubdtype(got.dtype, np.number), f"{what}: the scores are of type {got.dtype}, not numbers")
        expect(np.isfinite(got).all(), f"{what}: the scores hold NaN or infinite values")
        expected = gfcf_scores(rows, item_item, vectors, degrees, weight)
        expect_close(got, expected, what, rtol=1e-7, atol=1e-9,
                     describe=lambda i: f"user row {i // rows.shape[1]}, item {i % rows.shape[1]}")
    expect(bool(outputs["inputs_unchanged"]),
           "gfcf_scores changed one of its inputs in place (user_items, normalized, item_vectors or item_degrees): "
           "scale copies instead")


# --------------------------------------------------------------------------- the challenge

def _split(context):
    return context.cached(("nb05_challenge_split", context.dataset),
                          lambda: course_lib.random_split(context.data(), test_fraction=0.2, seed=SPLIT_SEED))


def baseline_ndcg(context) -> float:
    """ItemKNN(n_neighbors=100, shrinkage=10)'s NDCG@10 on the grader's split (cached for the run)."""
    from course_lib.checks.graph_models import _item_knn_ndcg

    def compute():
        train, test = _split(context)
        return _item_knn_ndcg(train, test)
    return context.cached(("nb05_item_knn_ndcg", context.dataset), compute)


def _challenge_inputs(context) -> dict[str, np.ndarray]:
    """The training part of the grader's split, and nothing of its test part."""
    train, _ = _split(context)
    arrays = {"users": np.array(train.users), "items": np.array(train.items),
              "n_users": np.asarray(train.n_users, dtype=np.int64), "n_items": np.asarray(train.n_items, dtype=np.int64)}
    for key in ("ratings", "timestamps"):
        if getattr(train, key) is not None:
            arrays[key] = np.array(getattr(train, key))
    return arrays


def challenge_ndcg(top: np.ndarray, context) -> float:
    """NDCG@10 of top-10 lists (one row per user) on the test part of the grader's split."""
    _, test = _split(context)
    matrix = test.to_csr()
    users = np.flatnonzero(np.diff(matrix.indptr) > 0)
    hits, n_relevant = metrics.hits_at_k(top[users], matrix[users])
    return float(metrics._ndcg(hits, n_relevant, TOP_K).mean())


def _challenge(outputs, context):
    train, _ = _split(context)
    name = "TopKModel"
    expect_in_time(outputs, name, TOP_K_SECONDS, "fit on the grader's training part and scoring every user")
    shape = tuple(int(n) for n in np.asarray(outputs["probe_shape"]).ravel())
    expect(shape == (3, train.n_items),
           f"{name}: score(user_ids) should return one score per item for each user, shape (3, {train.n_items}) "
           f"for 3 users; got shape {shape}")
    expect(bool(outputs["probe_finite"]) and bool(outputs["finite"]),
           f"{name}: score(user_ids) returned NaN, infinite or non-numeric scores on the grader's training part")
    top = expect_shape(outputs["top"], (train.n_users, TOP_K), f"{name}: the top-{TOP_K} lists of every user")
    expect(np.issubdtype(top.dtype, np.integer), f"{name}: the top-{TOP_K} lists hold {top.dtype}, not item ids")
    expect(top.min() >= -1 and top.max() < train.n_items, f"{name}: the top-{TOP_K} lists hold ids outside the "
                                                          "catalogue")
    ordered = np.sort(top, axis=1)
    expect(not ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(),
           f"{name}: a top-{TOP_K} list names an item twice")
    seen = train.to_csr()[np.repeat(np.arange(train.n_users), TOP_K), np.maximum(top, 0).ravel()]
    expect(not (np.asarray(seen).ravel().astype(bool) & (top.ravel() >= 0)).any(),
           f"{name}: a top-{TOP_K} list holds an item the user rated in training (those are left out)")
    ndcg = challenge_ndcg(top, context)
    baseline = baseline_ndcg(context)
    if ndcg > IMPLAUSIBLE_NDCG:
        raise Failed(f"{name}: an NDCG@10 of {ndcg:.3f} is implausibly high for this data set")
    expect(ndcg > baseline, f"{name}: NDCG@10 {ndcg:.4f} on the grader's split does not beat "
                            f"ItemKNN(n_neighbors=100, shrinkage=10)'s {baseline:.4f}")


JUDGES = {
    "nb05_propagation_tests": Judge(_propagation),
    "nb05_gfcf_scores_tests": Judge(_gfcf),
    "nb05_challenge_tests": Judge(_challenge, inputs=_challenge_inputs),
}
