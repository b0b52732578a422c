"""The graph-model exercise checks accept the references and name the typical mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import checks
from course_lib.closed_form import gfcf_scores, inverse_sqrt_degrees

# ------------------------------------------------------------- propagation
torch = pytest.importorskip("torch")


def _layers(adjacency, embeddings, n_layers):
    layers = [embeddings]
    for _ in range(n_layers):
        layers.append(torch.sparse.mm(adjacency, layers[-1]))
    return layers


def test_propagation_check_accepts_the_reference(capsys):
    from course_lib.torch.graph import propagate

    checks.check_propagation(propagate)
    checks.check_propagation(lambda a, e, k: torch.stack(_layers(a, e, k)).mean(0))
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda a, e, k: _layers(a, e, k)[-1], "returned the last layer"),
    (lambda a, e, k: torch.stack(_layers(a, e, k)).sum(0), "summed the layers"),
    (lambda a, e, k: torch.stack(_layers(a, e, k)[1:] or [e]).mean(0), "leaves out layer 0"),
    (lambda a, e, k: torch.stack(_layers(a, e, k + 1)).mean(0), "off by one layer"),
    (lambda a, e, k: torch.stack(_layers(a, e, k)).mean(0).detach(), "cut off from autograd"),
    (lambda a, e, k: torch.stack(_layers(a, e, k)).mean(1), "shape"),
    (lambda a, e, k: torch.stack(_layers(a, e, k)).mean(0).detach().numpy(), "torch.Tensor"),
])
def test_propagation_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)) as raised:
        checks.check_propagation(mistake)
    assert "def " not in str(raised.value)


# --------------------------------------------------------------- GF-CF scores
def reference(user_items, normalized, item_vectors, item_degrees, ideal_weight):
    return gfcf_scores(user_items, (normalized.T @ normalized).toarray(), item_vectors, item_degrees, ideal_weight)


def _linear(u, r):
    return u @ (r.T @ r).toarray()


def _ideal(u, v, d, inverse=False):
    scale_in, scale_out = inverse_sqrt_degrees(d), np.sqrt(d)
    if inverse:
        scale_in, scale_out = scale_out, inverse_sqrt_degrees(d)
    return ((u * scale_in) @ v @ v.T) * scale_out


def test_gfcf_check_accepts_the_reference(capsys):
    checks.check_gfcf_scores(reference)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda u, r, v, d, w: _linear(u, r), "linear filter only"),
    (lambda u, r, v, d, w: w * _ideal(u, v, d), "ideal low-pass filter only"),
    (lambda u, r, v, d, w: _linear(u, r) + w * (u @ v @ v.T), "degree scaling"),
    (lambda u, r, v, d, w: _linear(u, r) + w * _ideal(u, v, d, inverse=True), "swapped"),
    (lambda u, r, v, d, w: _linear(u, r) + u @ v @ v.T, "ideal_weight is ignored"),
    (lambda u, r, v, d, w: _linear(u, r)[:, :-1], "shape"),
    (lambda u, r, v, d, w: _linear(u, r) + w * ((u / np.sqrt(d)) @ v @ v.T) * np.sqrt(d), "degree 0"),
    (lambda u, r, v, d, w: reference(u, r, v, d, 2 * w + 0.1), "differ from GF-CF's"),
])
def test_gfcf_check_names_the_mistake(mistake, hint):
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(AssertionError, match=re.escape(hint)) as raised:
            checks.check_gfcf_scores(mistake)
    assert "def " not in str(raised.value)
