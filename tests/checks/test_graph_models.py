"""The checks of notebook 05 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from course_lib.closed_form import gfcf_scores, inverse_sqrt_degrees
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")

NOTEBOOK = "05_graph_models"


# ------------------------------------------------------------- propagation
def _layers(adjacency, embeddings, n_layers):
    layers = [embeddings]
    for _ in range(n_layers):
        layers.append(torch.sparse.mm(adjacency, layers[-1]))
    return layers


def _propagate_no_return(adjacency, embeddings, n_layers):
    torch.stack(_layers(adjacency, embeddings, n_layers)).mean(0)


# --------------------------------------------------------------- GF-CF scores
def _reference(user_items, normalized, item_vectors, item_degrees, ideal_weight):
    return gfcf_scores(user_items, (normalized.T @ normalized).toarray(), item_vectors, item_degrees, ideal_weight)


def _linear(u, r):
    return u @ (r.T @ r).toarray()


def _ideal(u, v, d, inverse=False):
    scale_in, scale_out = inverse_sqrt_degrees(d), np.sqrt(d)
    if inverse:
        scale_in, scale_out = scale_out, inverse_sqrt_degrees(d)
    return ((u * scale_in) @ v @ v.T) * scale_out


def _gfcf_no_return(u, r, v, d, w):
    _reference(u, r, v, d, w)


def _scales_in_place(u, r, v, d, w):
    expected = _reference(u, r, v, d, w)
    u *= inverse_sqrt_degrees(d)[None, :]
    return expected


MISTAKES = [
    ("propagate: forgotten return", "check_propagation", _propagate_no_return, "did you forget `return`"),
    ("propagate: last layer", "check_propagation", lambda a, e, k: _layers(a, e, k)[-1], "returned the last layer"),
    ("propagate: sum", "check_propagation", lambda a, e, k: torch.stack(_layers(a, e, k)).sum(0), "summed the layers"),
    ("propagate: without E(0)", "check_propagation",
     lambda a, e, k: torch.stack(_layers(a, e, k)[1:] or [e]).mean(0), "leaves out layer 0"),
    ("propagate: one layer too many", "check_propagation",
     lambda a, e, k: torch.stack(_layers(a, e, k + 1)).mean(0), "off by one layer"),
    ("propagate: detached", "check_propagation",
     lambda a, e, k: torch.stack(_layers(a, e, k)).mean(0).detach(), "cut off from autograd"),
    ("propagate: mean over nodes", "check_propagation",
     lambda a, e, k: torch.stack(_layers(a, e, k)).mean(1), "shape"),
    ("propagate: NumPy", "check_propagation",
     lambda a, e, k: torch.stack(_layers(a, e, k)).mean(0).detach().numpy(), "torch.Tensor"),
    ("gfcf: forgotten return", "check_gfcf_scores", _gfcf_no_return, "did you forget `return`"),
    ("gfcf: linear only", "check_gfcf_scores", lambda u, r, v, d, w: _linear(u, r), "linear filter only"),
    ("gfcf: ideal only", "check_gfcf_scores", lambda u, r, v, d, w: w * _ideal(u, v, d), "ideal low-pass filter only"),
    ("gfcf: no degree scaling", "check_gfcf_scores",
     lambda u, r, v, d, w: _linear(u, r) + w * (u @ v @ v.T), "degree scaling"),
    ("gfcf: scalings swapped", "check_gfcf_scores",
     lambda u, r, v, d, w: _linear(u, r) + w * _ideal(u, v, d, inverse=True), "swapped"),
    ("gfcf: weight ignored", "check_gfcf_scores",
     lambda u, r, v, d, w: _linear(u, r) + u @ v @ v.T, "ideal_weight is ignored"),
    ("gfcf: a column short", "check_gfcf_scores", lambda u, r, v, d, w: _linear(u, r)[:, :-1], "shape"),
    ("gfcf: 1 / sqrt(0)", "check_gfcf_scores",
     lambda u, r, v, d, w: _linear(u, r) + w * ((u / np.sqrt(d)) @ v @ v.T) * np.sqrt(d), "degree 0"),
    ("gfcf: another weight", "check_gfcf_scores",
     lambda u, r, v, d, w: _reference(u, r, v, d, 2 * w + 0.1), "differ from GF-CF's"),
    ("gfcf: input scaled in place", "check_gfcf_scores", _scales_in_place, "in place"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    message = assert_named(check, answer, expected)
    assert "def " not in message


def test_checks_accept_the_notebook_and_library_answers(capsys):
    from course_lib.torch.graph import propagate

    checks.check_propagation(solution(NOTEBOOK, "propagate"))
    checks.check_propagation(propagate)
    checks.check_gfcf_scores(solution(NOTEBOOK, "gfcf_scores"))
    checks.check_gfcf_scores(_reference)
    assert capsys.readouterr().out.count("passed") == 4


# ----------------------------------------------------------------------------- the open challenge
@pytest.fixture(scope="module")
def challenge_data():
    import course_lib

    data = course_lib.make_synthetic(n_users=200, n_items=150, mean_per_user=30, seed=4)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=1)
    return data, train, test


def _top_k_hint(model_class, challenge_data, **kwargs):
    _, train, test = challenge_data
    with pytest.raises(AssertionError) as caught:
        checks.check_top_k_challenge(model_class, train, test, **kwargs)
    return str(caught.value)


def test_the_top_k_reference_beats_item_knn(challenge_data, capsys):
    from course_lib.checks.graph_models import top_k_challenge_ndcg

    data, train, test = challenge_data
    reference = solution("05_graph_models", "TopKModel")
    ndcg = checks.check_top_k_challenge(reference, train, test, references={"Popularity": 0.1})
    printed = capsys.readouterr().out
    assert f"{ndcg:.4f}" in printed and "ItemKNN" in printed and "Popularity" in printed
    hidden, item_knn = top_k_challenge_ndcg(reference, data, seed=5)
    assert hidden > item_knn > 0


def test_the_top_k_challenge_names_what_is_wrong(challenge_data):
    import time

    from course_lib.baselines import Popularity

    class WrongShape:
        def fit(self, train):
            self.n = train.n_items
            return self

        def score(self, user_ids):
            return np.zeros((len(user_ids), self.n - 1))

    class NotFinite(WrongShape):
        def score(self, user_ids):
            return np.full((len(user_ids), self.n), np.inf)

    class Slow(WrongShape):
        def fit(self, train):
            time.sleep(3)
            return super().fit(train)

    data, train, test = challenge_data
    truth = test.to_csr().toarray()

    class ReadsTheTest(WrongShape):
        def score(self, user_ids):
            return truth[np.asarray(user_ids)].astype(float)

    class JustPopularity:
        def fit(self, train):
            self.model = Popularity().fit(train)

        def score(self, user_ids):
            return self.model.score(user_ids)

    assert f"shape (3, {train.n_items})" in _top_k_hint(WrongShape, challenge_data)
    assert "NaN or infinite" in _top_k_hint(NotFinite, challenge_data)
    assert "did not finish within 1 s" in _top_k_hint(Slow, challenge_data, max_seconds=1)
    assert "implausibly high" in _top_k_hint(ReadsTheTest, challenge_data)
    # a weak model passes the visible check (it only reports) and loses to ItemKNN in the hidden comparison
    from course_lib.checks.graph_models import top_k_challenge_ndcg

    weak, item_knn = top_k_challenge_ndcg(JustPopularity, data, seed=5)
    assert weak < item_knn
