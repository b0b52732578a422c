"""Notebook 07's hidden tests, judged in the grader: the BPR loss and the vectorized triplet sampler."""

from __future__ import annotations

import time

import numpy as np

from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_shape
from course_lib.grading.probes.nb07 import (
    FAR_NEGATIVE,
    FAR_POSITIVE,
    N_SAMPLES,
    SEEDED_SAMPLES,
    SMALL_SAMPLES,
    TIMED_SAMPLES,
    loss_inputs,
    sampler_matrix,
    small_matrix,
)

# --------------------------------------------------------------------------- bpr_loss

_BATCH = "bpr_loss(positive_scores, negative_scores) on 50 seeded pairs of scores (5 * N(0, 1))"
_FAR = f"bpr_loss(torch.tensor({list(FAR_POSITIVE)}), torch.tensor({list(FAR_NEGATIVE)}))"


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-_softplus(-x))


def _bpr_loss(outputs, context):
    positive, negative = (t.double().numpy() for t in loss_inputs())
    size = int(outputs["value_size"])
    expect(size == 1, f"{_BATCH} returned {size} values: return one number, the mean over the batch")
    value = float(outputs["value"])
    expected = float(np.mean(_softplus(negative - positive)))
    expect(np.isfinite(value) and abs(value - expected) <= 1e-5 + 1e-5 * abs(expected),
           f"{_BATCH} returned {value:.6f}, which is not the mean of -log sigmoid(x_ui - x_uj) over the batch")
    far = float(outputs["far"])
    expect(np.isfinite(far), f"{_FAR} returned {far}: sigmoid(-300) underflows to 0 and log(0) = -inf; use "
                             "torch.nn.functional.logsigmoid, which computes log(sigmoid(x)) without forming sigmoid(x)")
    far_x = np.array(FAR_POSITIVE) - np.array(FAR_NEGATIVE)
    expect(abs(far - float(np.mean(_softplus(-far_x)))) < 1e-3,
           f"{_FAR} returned {far:.4f}, which is not the mean of -log sigmoid(x_ui - x_uj): a large score difference "
           "must stay exact (torch.nn.functional.logsigmoid), not clipped")
    expect(bool(outputs["far_tracked"]),
           f"{_FAR}: the loss carries no gradient: compute it with torch operations on the scores (no .item(), "
           "NumPy or .detach() on the way), or the embeddings cannot learn from it")
    grad_positive = expect_shape(outputs["grad_positive"], (2,), f"{_FAR}: the gradient of the positive scores")
    grad_negative = expect_shape(outputs["grad_negative"], (2,), f"{_FAR}: the gradient of the negative scores")
    expect(not np.isnan(grad_positive).any() and not np.isnan(grad_negative).any(),
           f"{_FAR}.backward(): the gradient does not reach both the positive and the negative scores")
    slope = _sigmoid(-far_x) / len(far_x)              # d loss / d x_ui = -sigmoid(-x) / B
    expect_close(grad_positive, -slope, f"{_FAR}.backward(): the gradient of the positive scores", rtol=1e-4,
                 atol=1e-6, describe=lambda i: f"x_ui - x_uj = {far_x[i]:g}")
    expect_close(grad_negative, slope, f"{_FAR}.backward(): the gradient of the negative scores", rtol=1e-4,
                 atol=1e-6, describe=lambda i: f"x_ui - x_uj = {far_x[i]:g}")


# --------------------------------------------------------------------------- vectorized_triplets

SPEED_RATIO, SPEED_FLOOR = 30.0, 1.0


def reference_seconds(context) -> float:
    """The library's vectorized sampler's time for the timed call, measured here (cached for the run)."""
    from course_lib.sampling import sample_triplets

    def measure():
        matrix = sampler_matrix()
        sample_triplets(matrix, n_samples=1000, seed=np.random.default_rng(0))
        started = time.perf_counter()
        sample_triplets(matrix, n_samples=TIMED_SAMPLES, seed=np.random.default_rng(4))
        return time.perf_counter() - started
    return context.cached("nb07_reference_sampler_seconds", measure)


def _triplets(outputs, prefix: str, matrix, n_samples: int, what: str) -> tuple[np.ndarray, ...]:
    expect(int(outputs[f"{prefix}count"]) == 3,
           f"{what}: return a tuple of three arrays (users, positive_items, negative_items)")
    arrays = []
    for name in ("users", "positives", "negatives"):
        array = expect_shape(outputs[f"{prefix}{name}"], (n_samples,), f"{what}: `{name}`")
        expect(np.issubdtype(array.dtype, np.integer), f"{what}: `{name}` holds {array.dtype}, not integer ids")
        arrays.append(array.astype(np.int64))
    users, positives, negatives = arrays
    n_users, n_items = matrix.shape
    expect(users.min() >= 0 and users.max() < n_users and min(positives.min(), negatives.min()) >= 0
           and max(positives.max(), negatives.max()) < n_items,
           f"{what}: some ids are outside the matrix (users in 0..n_users-1, items in 0..n_items-1)")
    seen_positive = np.asarray(matrix[users, positives]).ravel() != 0
    expect(seen_positive.all(), f"{what}: {1 - seen_positive.mean():.1%} of the positives are not interactions of "
                                "their user: take the user and the item from the same stored entry of the matrix")
    seen_negative = np.asarray(matrix[users, negatives]).ravel() != 0
    expect(not seen_negative.any(), f"{what}: {seen_negative.mean():.1%} of the negatives are items the user has "
                                    "interacted with: test all candidates at once and redraw only the rejected ones")
    return users, positives, negatives


def _sampler(outputs, context):
    from course_lib.checks.bpr import _looks_uniform

    matrix = sampler_matrix()
    shape = f"a {matrix.shape[0]:,} x {matrix.shape[1]:,} CSR matrix with {matrix.nnz:,} interactions"
    _triplets(outputs, "", matrix, N_SAMPLES, f"vectorized_triplets({shape}, {N_SAMPLES:,}, rng)")
    seeded = f"vectorized_triplets({shape}, {SEEDED_SAMPLES:,}, np.random.default_rng(9))"
    first = _triplets(outputs, "a_", matrix, SEEDED_SAMPLES, seeded)
    second = _triplets(outputs, "b_", matrix, SEEDED_SAMPLES, seeded)
    expect(all(np.array_equal(a, b) for a, b in zip(first, second, strict=True)),
           f"{seeded} gave other triplets after np.random.seed(2) than after np.random.seed(1): some draws come "
           "from a global generator; draw every random number from rng")
    small = small_matrix()
    what = f"vectorized_triplets(a 3 x 60 matrix with 54 interactions, {SMALL_SAMPLES:,}, rng)"
    users, _, negatives = _triplets(outputs, "small_", small, SMALL_SAMPLES, what)
    share = float(np.mean(users == 0))
    if abs(share - 40 / 54) > 0.03:
        if abs(share - 1 / 3) < 0.03:
            raise Failed(f"{what}: the users come out equally often: draw an interaction uniformly (a random stored "
                         "entry), so that a user with more interactions gets more triplets")
        raise Failed(f"{what}: user 0 holds 40 of the 54 interactions but got {share:.1%} of the triplets: draw the "
                     "positives uniformly over the interactions")
    counts = np.bincount(negatives[users == 1], minlength=60)[4:]          # user 1's 56 unseen items
    expect(counts[-1] > 0, f"{what}: the last item (59) is never drawn as a negative: draw from 0 to n_items - 1 "
                           "inclusive (rng.integers(low, high) excludes high)")
    expect(_looks_uniform(counts), f"{what}: the negatives are not uniform over the items a user has not seen (some "
                                   "are drawn far more often than others): draw candidates uniformly from "
                                   "0..n_items-1")
    seconds = float(outputs["seconds"])
    allowed = max(SPEED_RATIO * reference_seconds(context), SPEED_FLOOR)
    expect(seconds < allowed,
           f"vectorized_triplets({shape}, {TIMED_SAMPLES:,}, rng) took {seconds:.2f} s, more than the {allowed:.2f} s "
           f"allowed ({SPEED_RATIO:g} times the course's vectorized sampler, at least {SPEED_FLOOR:g} s): vectorize, "
           "no Python loop over the samples")


JUDGES = {
    "nb07_bpr_loss_tests": Judge(_bpr_loss),
    "nb07_triplet_sampler_tests": Judge(_sampler),
}
