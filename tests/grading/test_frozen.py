"""The hidden tests' expected values: frozen from the library, kept current, and out of the student's reach.

``course_lib.grading.frozen`` computes them in this (clean) process; these tests fail when a frozen
literal in a solution notebook drifts from the library, when a hidden test compares with a library
object again, and show that a hidden test fails a wrong answer even when the library itself was
replaced to agree with it (the guard of ``GuardedExecute`` aside).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.grading import frozen

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

# What a hidden test must not compare with: library objects the student's kernel could replace. (Notebook
# 07 times the library's sampler as a yardstick for a speed ratio: a time, not an expected value.)
_LIVE_REFERENCES = re.compile(r"\bmetrics\.\w+\(|\bPopularity\(|\btorch_ae\.|\btorch_two_tower\.|\bEASE\(|\bGFCF\(|"
                              r"ease_from_gram|hidden_reference_propagate|\.item_weights_|_item_knn_ndcg|"
                              r"top_k_challenge_ndcg\b|\.score\(hidden_users\)\)")


def _cell(notebook: str, grade_id: str, solutions: Path = SOLUTIONS):
    book = nbformat.read(solutions / f"{notebook}.ipynb", as_version=4)
    return next(c for c in book.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _hidden(source: str) -> str:
    return source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]


def test_every_frozen_value_agrees_with_the_library_now():
    assert frozen.check(SOLUTIONS) == {}


def test_every_case_is_in_its_notebook_with_its_inputs_verbatim():
    for grade_id, case in frozen.CASES.items():
        hidden = _hidden(_cell(case.notebook, grade_id).source)
        assert case.setup in hidden, grade_id
        assert "hidden_expected = None" not in hidden, grade_id


def test_no_hidden_test_compares_with_a_library_object():
    offenders = {}
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                found = _LIVE_REFERENCES.findall(_hidden(cell.source))
                if found:
                    offenders[cell.metadata["nbgrader"]["grade_id"]] = found
    assert not offenders, offenders


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, target)
    return target


def _edit_literal(solutions: Path, notebook: str, grade_id: str, change) -> None:
    path = solutions / f"{notebook}.ipynb"
    book = nbformat.read(path, as_version=4)
    cell = next(c for c in book.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = change(cell.source)
    nbformat.write(book, path)


def test_a_drifted_literal_is_reported_and_freeze_rewrites_it(tmp_path):
    solutions = _copy(tmp_path)
    # a value off in its 6th digit, as a library change would leave it
    _edit_literal(solutions, "00_data_and_evaluation", "most_popular_tests",
                  lambda source: source.replace("hidden_expected = [2.0, 24.0", "hidden_expected = [2.00001, 24.0", 1))
    problems = frozen.check(solutions)
    assert list(problems) == ["most_popular_tests"] and "python tasks.py freeze" in problems["most_popular_tests"]
    assert frozen.freeze(solutions) == ["most_popular_tests"]
    assert frozen.check(solutions) == {}
    assert "hidden_expected = [2.0, 24.0" in _cell("00_data_and_evaluation", "most_popular_tests", solutions).source


def test_inputs_changed_in_the_cell_but_not_in_the_case_are_an_error(tmp_path):
    solutions = _copy(tmp_path)
    _edit_literal(solutions, "02_autoencoders", "nb02_vae_terms_tests",
                  lambda source: source.replace("manual_seed(22)", "manual_seed(23)", 1))
    problems = frozen.check(solutions)
    assert list(problems) == ["nb02_vae_terms_tests"] and "fixed inputs" in problems["nb02_vae_terms_tests"]
    with pytest.raises(ValueError, match="nb02_vae_terms_tests"):
        frozen.freeze(solutions)


def _run_hidden(notebook: str, grade_id: str, namespace: dict) -> None:
    from course_lib import checks

    namespace.setdefault("checks", checks)   # the hidden tests start with checks.assert_passed() (a no-op here)
    exec(_hidden(_cell(notebook, grade_id).source), namespace)


def _right_recall(ranked, relevant, k):
    return len(set(list(ranked)[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def _wrong_recall(ranked, relevant, k):        # precision@k: right whenever k == len(relevant)
    return len(set(list(ranked)[:k]) & set(relevant)) / k if relevant else 0.0


def test_a_wrong_answer_fails_even_when_the_library_was_replaced_to_agree(monkeypatch):
    from course_lib import metrics

    _run_hidden("00_data_and_evaluation", "recall_at_k_tests", {"np": np, "recall_at_k": _right_recall})
    monkeypatch.setattr(metrics, "recall_at_k", _wrong_recall)      # what a gaming student's cell does
    with pytest.raises(AssertionError, match="recall_at_k differs from the expected recall"):
        _run_hidden("00_data_and_evaluation", "recall_at_k_tests", {"np": np, "recall_at_k": _wrong_recall})


def test_a_wrong_model_fails_even_when_popularity_was_replaced_to_agree(monkeypatch):
    import course_lib
    from course_lib.baselines import Popularity

    class Reversed:                             # least popular first
        def fit(self, train):
            self.counts = np.bincount(train.items, minlength=train.n_items).astype(float)
            return self

        def score(self, user_ids):
            return -np.tile(self.counts, (len(user_ids), 1))

    monkeypatch.setattr(Popularity, "score", lambda self, users: -np.broadcast_to(
        self.item_popularity_, (len(users), self.n_items_)).copy())
    data = course_lib.make_synthetic(n_users=20, n_items=15, mean_per_user=5, min_per_user=2, seed=1)
    namespace = {"np": np, "course_lib": course_lib, "MostPopular": Reversed, "train": data}
    with pytest.raises(AssertionError, match="MostPopular's scores differ"):
        _run_hidden("00_data_and_evaluation", "most_popular_tests", namespace)


def test_a_wrong_kl_fails_even_when_the_reference_was_replaced_to_agree(monkeypatch):
    torch = pytest.importorskip("torch")
    from course_lib.torch import autoencoder

    def wrong(mean, log_variance):          # the KL without the 1/2
        return (-(1 + log_variance - mean ** 2 - log_variance.exp())).sum(dim=1).mean()

    monkeypatch.setattr(autoencoder, "kl_divergence", wrong)
    namespace = {"np": np, "torch": torch, "kl_divergence": wrong,
                 "reparameterize": lambda mean, log_variance, epsilon: mean + torch.exp(0.5 * log_variance) * epsilon}
    with pytest.raises(AssertionError, match="kl_divergence differs from the expected value"):
        _run_hidden("02_autoencoders", "nb02_vae_terms_tests", namespace)
