"""The notebook 07 checks accept the reference and name the typical mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import checks
from course_lib.sampling import sample_negatives, sample_triplets

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_bpr_loss_check_accepts_the_reference(capsys):
    from course_lib.torch.bpr import bpr_loss

    checks.check_bpr_loss(bpr_loss)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda p, n: -F.logsigmoid(n - p).mean(), "sign is reversed"),
    (lambda p, n: -F.logsigmoid(p - n).sum(), "summed"),
    (lambda p, n: -torch.sigmoid(p - n).mean(), "log is missing"),
    (lambda p, n: -torch.log(torch.sigmoid(p - n)).mean(), "logsigmoid"),
    (lambda p, n: -F.logsigmoid(p - n), "one number"),
    (lambda p, n: float(-F.logsigmoid(p - n).mean()), "torch tensor"),
])
def test_bpr_loss_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)) as raised:
        checks.check_bpr_loss(mistake)
    assert "def " not in str(raised.value)


def test_sampler_check_accepts_the_reference(capsys):
    checks.check_triplet_sampler(lambda matrix, n, rng: sample_triplets(matrix, n_samples=n, seed=rng))
    assert "passed" in capsys.readouterr().out


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


def _global_rng(matrix, n, rng):
    return sample_triplets(matrix, n_samples=n, seed=np.random.default_rng())


@pytest.mark.parametrize("mistake, hint", [
    (_no_rejection, "redraw only the rejected"),
    (_uniform_users, "equally often"),
    (_popular_negatives, "not uniform"),
    (_global_rng, "same rng seed"),
    (lambda matrix, n, rng: sample_triplets(matrix, n_samples=n, seed=rng)[:2], "tuple of three"),
])
def test_sampler_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        checks.check_triplet_sampler(mistake)


def test_checks_let_the_stub_error_through():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_bpr_loss(stub)
    with pytest.raises(NotImplementedError):
        checks.check_triplet_sampler(stub)
