"""No hint ever prints solution code: every hint the mistake tests provoke is searched for the lines
of the solution cells (and the right-hand sides of their assignments) of every notebook."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("nbgrader")  # course_lib.grading (the grading extra); not in the Colab profile

import nbformat  # noqa: E402

from course_lib.grading.check import solution_lines  # noqa: E402
from tests.checks._hints import hint_of  # noqa: E402

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
MODULES = ["test_data_and_evaluation", "test_mlp_basics", "test_autoencoders", "test_ease_r", "test_two_tower",
           "test_graph_models", "test_latent_factors", "test_bpr", "test_sequence_models"]
MIN_LENGTH = 12  # shorter fragments ("return B", "x = inputs") are words, not solutions


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _secret_fragments() -> set[str]:
    """Code of the solution cells (comments cut off) and the right-hand side of each assignment,
    without whitespace, minus what the course shows anyway (the text and the other code of any
    notebook: an exercise that names `optimizer.zero_grad()` makes it no secret)."""
    fragments = set()
    notebooks = [nbformat.read(path, as_version=4) for path in sorted(SOLUTIONS.glob("*.ipynb"))]
    public = _squeeze("\n".join(cell.source for notebook in notebooks for cell in notebook.cells
                                 if not cell.metadata.get("nbgrader", {}).get("solution")))
    for notebook in notebooks:
        for line in solution_lines(notebook):
            code = line.split("  #")[0].strip()
            candidates = {code}
            if re.match(r"^[\w\s.,\[\]]+=[^=]", code):
                candidates.add(code.split("=", 1)[1].strip())
            if code.startswith("return "):
                candidates.add(code[len("return "):])
            for candidate in candidates:
                squeezed = _squeeze(candidate)
                if len(squeezed) >= MIN_LENGTH and squeezed not in public:
                    fragments.add(squeezed)
    return fragments


def _all_mistakes() -> list[tuple[str, str, object]]:
    found = []
    for module_name in MODULES:
        module = importlib.import_module(f"tests.checks.{module_name}")
        found.extend((label, check, answer) for label, check, answer, _ in module.MISTAKES)
    return found


def test_the_solutions_have_fragments_to_look_for():
    fragments = _secret_fragments()
    assert len(fragments) > 50
    assert _squeeze("user_vectors @ item_vectors.T / temperature - log_q[None, :]") in fragments


def test_no_hint_quotes_a_line_of_a_solution():
    fragments = _secret_fragments()
    mistakes = _all_mistakes()
    assert len(mistakes) >= 5 * 21
    leaks = []
    for label, check, answer in mistakes:
        message = hint_of(check, answer)
        assert message is not None, f"{label}: the check accepted it"
        squeezed = _squeeze(message)
        leaks.extend(f"{label}: {fragment}" for fragment in fragments if fragment in squeezed)
    assert leaks == []
