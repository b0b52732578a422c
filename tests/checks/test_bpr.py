"""The checks of notebook 07 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from course_lib.sampling import sample_negatives, sample_triplets
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")
F = torch.nn.functional

NOTEBOOK = "07_bpr"


def _loss_no_return(positive_scores, negative_scores):
    -F.logsigmoid(positive_scores - negative_scores).mean()  # noqa: B018 - the forgotten return


def _no_rejection(matrix, n, rng):
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    picked = rng.integers(0, matrix.nnz, size=n)
    return rows[picked], matrix.indices[picked], rng.integers(0, matrix.shape[1], size=n)


def _uniform_users(matrix, n, rng):
    users = rng.integers(0, matrix.shape[0], size=n)
    positions = matrix.indptr[users] + (rng.random(n) * np.diff(matrix.indptr)[users]).astype(int)
    return users, matrix.indices[positions], sample_negatives(matrix, users, seed=rng)[:, 0]


def _popular_negatives(matrix, n, rng):
    users, positives, _ = sample_triplets(matrix, n_samples=n, seed=rng)
    negatives = matrix.indices[rng.integers(0, matrix.nnz, size=n)]  # popularity-weighted
    unseen = ~(matrix.toarray() > 0)[users, negatives]
    negatives = np.where(unseen, negatives, sample_negatives(matrix, users, seed=rng)[:, 0])
    return users, positives, negatives


def _rejection(high_offset=0, dtype=None):
    def sample(matrix, n, rng):
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        picked = rng.integers(0, matrix.nnz, size=n)
        users, positives = rows[picked], matrix.indices[picked]
        negatives = rng.integers(0, matrix.shape[1] - high_offset, size=n)
        pending = np.flatnonzero(np.asarray(matrix[users, negatives]).ravel() > 0)
        while len(pending):
            negatives[pending] = rng.integers(0, matrix.shape[1] - high_offset, size=len(pending))
            pending = pending[np.asarray(matrix[users[pending], negatives[pending]]).ravel() > 0]
        return users, positives, negatives if dtype is None else negatives.astype(dtype)
    return sample


def _sampler_no_return(matrix, n, rng):
    sample_triplets(matrix, n_samples=n, seed=rng)


def _global_rng(matrix, n, rng):
    return sample_triplets(matrix, n_samples=n, seed=np.random.randint(1 << 30))  # noqa: NPY002 - the mistake


def _per_sample_loop(matrix, n, rng):
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    users, positives, negatives = (np.empty(n, dtype=np.int64) for _ in range(3))
    for index in range(n):
        picked = int(rng.integers(0, matrix.nnz))
        users[index], positives[index] = rows[picked], matrix.indices[picked]
        seen = matrix.indices[matrix.indptr[users[index]]:matrix.indptr[users[index] + 1]]
        while True:
            candidate = int(rng.integers(0, matrix.shape[1]))
            if candidate not in seen:
                break
        negatives[index] = candidate
    return users, positives, negatives


MISTAKES = [
    ("loss: forgotten return", "check_bpr_loss", _loss_no_return, "did you forget `return`"),
    ("loss: sign", "check_bpr_loss", lambda p, n: -F.logsigmoid(n - p).mean(), "sign is reversed"),
    ("loss: sum", "check_bpr_loss", lambda p, n: -F.logsigmoid(p - n).sum(), "summed"),
    ("loss: no log", "check_bpr_loss", lambda p, n: -torch.sigmoid(p - n).mean(), "log is missing"),
    ("loss: log of sigmoid", "check_bpr_loss", lambda p, n: -torch.log(torch.sigmoid(p - n)).mean(), "logsigmoid"),
    ("loss: no minus", "check_bpr_loss", lambda p, n: F.logsigmoid(p - n).mean(), "minus sign is missing"),
    ("loss: per example", "check_bpr_loss", lambda p, n: -F.logsigmoid(p - n), "one number"),
    ("loss: a float", "check_bpr_loss", lambda p, n: float(-F.logsigmoid(p - n).mean()), "should be a torch tensor"),
    ("loss: detached", "check_bpr_loss", lambda p, n: -F.logsigmoid(p - n).mean().detach(), "carries no gradient"),
    ("sampler: forgotten return", "check_triplet_sampler", _sampler_no_return, "did you forget `return`"),
    ("sampler: no rejection", "check_triplet_sampler", _no_rejection, "redraw only the rejected"),
    ("sampler: users uniform", "check_triplet_sampler", _uniform_users, "equally often"),
    ("sampler: popular negatives", "check_triplet_sampler", _popular_negatives, "not uniform"),
    ("sampler: global np.random", "check_triplet_sampler", _global_rng, "global generator"),
    ("sampler: two arrays", "check_triplet_sampler",
     lambda matrix, n, rng: sample_triplets(matrix, n_samples=n, seed=rng)[:2], "tuple of three"),
    ("sampler: never the last item", "check_triplet_sampler", _rejection(high_offset=1), "last item (59)"),
    ("sampler: float ids", "check_triplet_sampler", _rejection(dtype=float), "integers"),
    ("sampler: its own seed", "check_triplet_sampler",
     lambda matrix, n, rng: sample_triplets(matrix, n_samples=n, seed=3), "two different seeds"),
    ("sampler: per-sample loop", "check_triplet_sampler", _per_sample_loop, "Avoid the Python loop"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


def test_checks_accept_the_notebook_and_library_answers(capsys):
    from course_lib.torch.bpr import bpr_loss

    checks.check_bpr_loss(solution(NOTEBOOK, "bpr_loss"))
    checks.check_bpr_loss(bpr_loss)
    checks.check_triplet_sampler(solution(NOTEBOOK, "vectorized_triplets"))
    checks.check_triplet_sampler(lambda matrix, n, rng: sample_triplets(matrix, n_samples=n, seed=rng))
    checks.check_triplet_sampler(_rejection())
    assert capsys.readouterr().out.count("passed") == 5


def test_checks_let_the_stub_error_through():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_bpr_loss(stub)
    with pytest.raises(NotImplementedError):
        checks.check_triplet_sampler(stub)


def test_uniformity_test_accepts_correct_samplers_whatever_their_stream():
    """A right sampler must pass for any way it consumes the generator: the old fixed band (0.5x to
    1.6x of the expected count per item) failed about one correct answer in 25."""
    from course_lib.checks.bpr import _looks_uniform, _test_matrix

    matrix = _test_matrix()
    failures = 0
    for seed in range(400):
        users, _, negatives = sample_triplets(matrix, n_samples=30_000, seed=np.random.default_rng(seed))
        failures += not _looks_uniform(np.bincount(negatives[users == 1], minlength=60)[4:])
    assert failures == 0


@pytest.mark.parametrize("skew", ["popular", "first half twice", "one item never"])
def test_uniformity_test_rejects_skewed_counts(skew):
    from course_lib.checks.bpr import _looks_uniform

    rng = np.random.default_rng(0)
    weights = np.ones(56)
    if skew == "popular":
        weights = 1.0 / np.arange(1, 57)
    elif skew == "first half twice":
        weights[:28] = 2.0
    else:
        weights[17] = 0.0
    counts = np.bincount(rng.choice(56, size=2_200, p=weights / weights.sum()), minlength=56)
    assert not _looks_uniform(counts)


@pytest.mark.parametrize("burn", [0, 1, 7, 100])
def test_check_accepts_a_right_sampler_that_draws_in_another_order(burn, capsys):
    def sample(matrix, n, rng):
        rng.random(burn)  # a correct answer may use the generator for something else first
        return sample_triplets(matrix, n_samples=n, seed=rng)

    checks.check_triplet_sampler(sample)
    assert "all checks passed" in capsys.readouterr().out
