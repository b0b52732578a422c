"""Checks for the exercises of notebook 05 (graph models: LightGCN propagation, GF-CF scores)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.checks._common import _call, _expect_array, _expect_tensor, _fail
from course_lib.closed_form import gfcf_scores, inverse_sqrt_degrees, normalized_adjacency, normalized_interactions

__all__ = ["check_propagation", "check_gfcf_scores", "check_top_k_challenge", "top_k_challenge_ndcg",
           "top_k_challenge_model_ndcg", "TOP_K_SECONDS"]

# The challenge of notebook 05: beat ItemKNN(n_neighbors=100, shrinkage=10)'s NDCG@10 on the same split
# (0.386 on ML-100K, 0.459 on the synthetic stand-in): a threshold relative to the baseline, so it means
# the same on both data sets. Fit and scoring of every test user together within this many seconds.
TOP_K_SECONDS = 120.0
_IMPLAUSIBLE_NDCG = 0.8  # no honest model comes near it on these data sets


def _tiny_graph() -> sp.csr_matrix:
    """A 6-user x 8-item interaction matrix with one item nobody has seen."""
    rng = np.random.default_rng(5)
    matrix = (rng.random((6, 8)) < 0.45).astype(np.float64)
    matrix[np.arange(6), rng.integers(0, 7, size=6)] = 1.0  # every user has an item
    matrix[:, 7] = 0.0                                      # item 7: degree 0
    return sp.csr_matrix(matrix)


# ------------------------------------------------------------- propagation
def check_propagation(propagate: Callable[[Any, Any, int], Any]) -> None:
    """Check a student's PyTorch ``propagate(adjacency, embeddings, n_layers)`` -> (N, D) layer mean."""
    import torch

    name = "propagate"
    graph = normalized_adjacency(_tiny_graph()).astype(np.float32)
    adjacency = torch.sparse_coo_tensor(np.vstack([graph.row, graph.col]), graph.data, graph.shape,
                                        check_invariants=True).coalesce()
    dense = torch.as_tensor(graph.toarray())
    generator = torch.Generator().manual_seed(0)
    for n_layers in (0, 2, 3, 1):  # K = 2 first: with K = 1 the last layer is also the mean without E(0)
        embeddings = torch.randn(graph.shape[0], 4, generator=generator, requires_grad=True)
        inputs = f"a sparse {graph.shape[0]} x {graph.shape[1]} adjacency, embeddings (14, 4), n_layers={n_layers}"
        got = _call(name, propagate, adjacency, embeddings, n_layers, inputs=inputs)
        if not isinstance(got, torch.Tensor):
            _fail(name, f"it should return a torch.Tensor, got {type(got).__name__}.")
        if got.is_sparse:
            _fail(name, "it returned a sparse tensor; the layer mean is dense (torch.sparse.mm of a sparse and a "
                        "dense matrix gives a dense one).")
        if tuple(got.shape) != tuple(embeddings.shape):
            _fail(name, f"it should return one embedding per node, shape {tuple(embeddings.shape)}; got "
                        f"{tuple(got.shape)}. Stack the layers and take the mean over the layer axis (dim=0).")
        _expect_tensor(name, got, tuple(embeddings.shape), inputs)
        if not got.requires_grad:
            _fail(name, "the result is cut off from autograd: use torch operations only (no .numpy(), no "
                        "torch.no_grad(), no .detach()), or the embeddings will never learn.")
        with torch.no_grad():
            layers = [embeddings.detach()]
            for _ in range(n_layers + 1):
                layers.append(dense @ layers[-1])
            got = got.detach()
            expected = torch.stack(layers[:n_layers + 1]).mean(0)
            if torch.allclose(got, expected, atol=1e-5):
                continue
            if n_layers > 0 and torch.allclose(got, layers[n_layers], atol=1e-5):
                _fail(name, f"with n_layers={n_layers} you returned the last layer E({n_layers}); LightGCN "
                            "returns the MEAN of all layers E(0), E(1), ..., E(K).")
            if n_layers > 0 and torch.allclose(got, torch.stack(layers[:n_layers + 1]).sum(0), atol=1e-5):
                _fail(name, "you summed the layers; LightGCN takes their mean (divide by K + 1).")
            if n_layers > 0 and torch.allclose(got, torch.stack(layers[1:n_layers + 1]).mean(0), atol=1e-5):
                _fail(name, "your mean leaves out layer 0: the initial embeddings E(0) count as a layer too.")
            if torch.allclose(got, torch.stack(layers[:n_layers + 2]).mean(0), atol=1e-5) or (
                    n_layers > 1 and torch.allclose(got, torch.stack(layers[:n_layers]).mean(0), atol=1e-5)):
                _fail(name, f"off by one layer: with n_layers={n_layers} there are {n_layers} products with the "
                            f"adjacency and {n_layers + 1} layers in the mean, E(0) to E({n_layers}).")
            _fail(name, f"with n_layers={n_layers} the result differs from the layer mean by up to "
                        f"{float((got - expected).abs().max()):.3g}. Each layer is E(k+1) = A @ E(k) "
                        "(torch.sparse.mm), and the result is the mean of E(0) .. E(K).")
    print(f"{name}: all 4 checks passed (K = 0 to 3).")


# --------------------------------------------------------------- GF-CF scores
def check_gfcf_scores(student_scores: Callable[..., Any]) -> None:
    """Check a student's ``gfcf_scores(user_items, normalized, item_vectors, item_degrees, ideal_weight)``.

    ``user_items`` (B, I) dense rows of R, ``normalized`` the sparse (U, I) R~, ``item_vectors``
    V (I, K), ``item_degrees`` (I,); the result is (B, I).
    """
    name = "gfcf_scores"
    matrix = _tiny_graph()
    normalized, _, item_degrees = normalized_interactions(matrix)
    _, _, vt = np.linalg.svd(normalized.toarray(), full_matrices=False)
    item_vectors = vt[:3].T                                                  # (I, 3)
    user_items = matrix[[0, 2, 5]].toarray()                                 # (3, I)
    item_item = (normalized.T @ normalized).toarray()
    for ideal_weight in (0.3, 1.0):
        args = (user_items.copy(), normalized, item_vectors, item_degrees.copy(), ideal_weight)
        inputs = f"3 user rows of a 6 x 8 matrix, 3 singular vectors, ideal_weight={ideal_weight}"
        got = _call(name, student_scores, *args, inputs=inputs)
        expected = gfcf_scores(user_items, item_item, item_vectors, item_degrees, ideal_weight)
        if np.shape(got) != expected.shape and len(np.shape(got)) == 2:
            _fail(name, f"it should return one score per (user, item), shape {expected.shape}; got {np.shape(got)}. "
                        "The linear filter is the item x item matrix R~^T R~ (not R~ R~^T).")
        got = _expect_array(name, got, expected.shape, inputs, kind="f", label="the scores").astype(np.float64)
        if not np.array_equal(args[0], user_items) or not np.array_equal(args[3], item_degrees):
            _fail(name, "it changed one of its inputs in place (user_items or item_degrees): scale copies instead.")
        if not np.isfinite(got).all():
            _fail(name, "the scores hold NaN or inf: an item nobody has seen has degree 0; use 0 for its "
                        "d^-1/2 (course_lib.closed_form.inverse_sqrt_degrees does that).")
        if np.allclose(got, expected):
            continue
        linear = user_items @ item_item
        inverse_sqrt, root = inverse_sqrt_degrees(item_degrees), np.sqrt(item_degrees)
        low_pass = user_items @ item_vectors @ item_vectors.T
        if np.allclose(got, linear):
            _fail(name, "you returned the linear filter only: add ideal_weight times the ideal low-pass filter.")
        if np.allclose(got, ideal_weight * ((user_items * inverse_sqrt) @ item_vectors @ item_vectors.T) * root):
            _fail(name, "you returned the ideal low-pass filter only: add the linear filter r_u R~^T R~.")
        if np.allclose(got, linear + ideal_weight * low_pass):
            _fail(name, "the ideal filter needs the degree scaling: r_u D^-1/2 V V^T D^1/2 (scale the input "
                        "columns by d^-1/2 and the output columns by d^1/2).")
        if np.allclose(got, linear + ideal_weight * ((user_items * root) @ item_vectors @ item_vectors.T)
                       * inverse_sqrt):
            _fail(name, "the two degree scalings are swapped: the input goes through D^-1/2, the output "
                        "through D^1/2.")
        if np.allclose(got, linear + low_pass):
            _fail(name, "ideal_weight is ignored: multiply the ideal low-pass filter by it.")
        _fail(name, f"with ideal_weight={ideal_weight} the scores differ from GF-CF's by up to "
                    f"{np.abs(got - expected).max():.3g}: s_u = r_u R~^T R~ + ideal_weight * r_u D^-1/2 V V^T D^1/2.")
    print(f"{name}: all 2 checks passed.")


def _top_k_ndcg(name: str, model_class: type, train: Any, test: Any, max_seconds: float) -> tuple[float, float]:
    import time

    import course_lib

    started = time.perf_counter()
    model = _call(name, model_class, what=f"{getattr(model_class, '__name__', 'your class')}()", inputs="()")
    fitted = _call(name, model.fit, train, what="fit(train)", inputs="the training interactions",
                   time_limit=max_seconds, allow_none=True)
    model = model if fitted is None else fitted
    probe = _call(name, model.score, np.arange(3), what="score(user_ids)", inputs="np.arange(3)")
    probe = np.asarray(probe.detach().cpu().numpy() if hasattr(probe, "detach") else probe, dtype=float)
    if probe.shape != (3, train.n_items):
        _fail(name, f"score(user_ids) should return one score per item for each user, shape (3, {train.n_items}) for "
                    f"3 users; got shape {probe.shape}.")
    if not np.isfinite(probe).all():
        _fail(name, "score(user_ids) returned NaN or infinite scores.")
    left = max(max_seconds - (time.perf_counter() - started), 1.0)
    result = _call(name, course_lib.evaluate, model, train, test, what="scoring every test user",
                   inputs="the test users", time_limit=left, cutoffs=(10,), beyond_accuracy=False, show_progress=False)
    seconds = time.perf_counter() - started
    if seconds > max_seconds:
        _fail(name, f"fit and score took {seconds:.0f} s, more than the {max_seconds:g} s allowed.")
    ndcg = float(result["ndcg"].iloc[0])
    if ndcg > _IMPLAUSIBLE_NDCG:
        _fail(name, f"an NDCG@10 of {ndcg:.3f} is implausibly high for this data set: does the model read the test "
                    "interactions (`test`, or `data`, which holds them) instead of learning from `train`?")
    return ndcg, seconds


def _item_knn_ndcg(train: Any, test: Any) -> float:
    import course_lib
    from course_lib.baselines import ItemKNN

    baseline = ItemKNN(n_neighbors=100, shrinkage=10).fit(train)
    return float(course_lib.evaluate(baseline, train, test, cutoffs=(10,), beyond_accuracy=False,
                                     show_progress=False)["ndcg"].iloc[0])


def check_top_k_challenge(model_class: type, train: Any, test: Any, references: dict | None = None,
                          max_seconds: float = TOP_K_SECONDS) -> float:
    """The open challenge of notebook 05: ``model_class()`` with ``fit(train)`` (an Interactions) and
    ``score(user_ids)`` (-> (len(user_ids), n_items) scores). Fits it, evaluates NDCG@10 on ``test``
    (the notebook's protocol) within ``max_seconds``, prints it beside ItemKNN's and the reference
    models' and returns it. Fails only when the interface is not met or time runs out."""
    name = "TopKModel"
    ndcg, seconds = _top_k_ndcg(name, model_class, train, test, max_seconds)
    baseline = _item_knn_ndcg(train, test)
    lines = [f"{name}: your model's NDCG@10 is {ndcg:.4f} (fit and score in {seconds:.1f} s); "
             f"ItemKNN(n_neighbors=100, shrinkage=10) {baseline:.4f} on the same split."]
    for label, value in sorted((references or {}).items(), key=lambda item: -item[1]):
        lines.append(f"  {label:<28} NDCG@10 {value:.4f}")
    verdict = "you beat it" if ndcg > baseline else "not yet above it"
    lines.append(f"Points when NDCG@10 beats ItemKNN's: {verdict}. The grader fits your class again on another "
                 "random split.")
    print("\n".join(lines))
    return ndcg


def top_k_challenge_model_ndcg(model_class: type, data: Any, seed: int, max_seconds: float = TOP_K_SECONDS) -> float:
    """NDCG@10 of the challenge model alone on the random 80/20 split of ``data`` made with ``seed``:
    what the hidden test compares with ItemKNN's NDCG@10 on that split, which the grader froze when the
    assignment was generated, never recomputed in the student's kernel."""
    import course_lib

    train, test = course_lib.random_split(data, test_fraction=0.2, seed=seed)
    return _top_k_ndcg("TopKModel", model_class, train, test, max_seconds)[0]


def top_k_challenge_ndcg(model_class: type, data: Any, seed: int,
                         max_seconds: float = TOP_K_SECONDS) -> tuple[float, float]:
    """NDCG@10 of the challenge model and of ItemKNN on a random 80/20 split of ``data`` that the
    notebook never made (``seed``): what the hidden test compares."""
    import course_lib

    train, test = course_lib.random_split(data, test_fraction=0.2, seed=seed)
    ndcg, _ = _top_k_ndcg("TopKModel", model_class, train, test, max_seconds)
    return ndcg, _item_knn_ndcg(train, test)
