"""A check shows its result in the notebook instead of raising, and grading still gives 0 for a
stub or a wrong answer: the hidden `checks.assert_passed()` of the graded cell, which the student
never has, raises what the check showed. Real kernels, nbgrader's own autograde."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.check import check_outcomes
from course_lib.grading.generate import student_version
from tests.grading.notebook_factory import CHECKED_SOLUTION, checked_notebook

STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
NAME = "97_checked"


def _answer(body):
    notebook = student_version(checked_notebook())
    for cell in notebook.cells:
        if STUB in cell.source:
            cell.source = cell.source.replace(STUB, body)
    return notebook


def _patched_first(notebook, source):
    notebook = nbformat.from_dict(notebook)
    notebook.cells.insert(2, nbformat.v4.new_code_cell(source))
    return notebook


# a stub whose earlier cell switches the grading line off in every way a cell can reach it
PATCHES = """
import course_lib.checks, course_lib.checks._display as display
course_lib.checks.assert_passed = lambda: None
display.assert_passed = lambda: None
display.in_kernel = lambda: False
display._OUTCOMES = []
checks.assert_passed = lambda: None
"""

SUBMISSIONS = {
    "right": _answer(CHECKED_SOLUTION),
    "stub": student_version(checked_notebook()),
    # precision instead of recall: wrong on most inputs
    "precision": _answer("    return sum(1 for item in recommended[:k] if item in relevant) / k"),
    # right value, but crashes on the empty set the check tries
    "crash": _answer("    return sum(1 for item in recommended[:k] if item in relevant) / len(relevant)"),
    # a NotImplementedError from a call inside the answer is a mistake, not an unsolved exercise
    "library": _answer("    import fractions\n    return fractions.Fraction(1, 2) @ 3"),
}
SUBMISSIONS["patched"] = _patched_first(SUBMISSIONS["stub"], PATCHES)


def _run(notebook):
    from nbclient import NotebookClient

    notebook = nbformat.from_dict(notebook)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook


@pytest.mark.notebook
@pytest.mark.parametrize(("student", "status"), [("right", "passed"), ("stub", "not-done"), ("precision", "failed"),
                                                 ("crash", "failed")])
def test_the_check_cell_shows_its_status_and_the_notebook_runs_on(student, status):
    executed = _run(SUBMISSIONS[student])
    assert [s for _, s, _ in check_outcomes(executed)] == [status]
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert executed.cells[-1].outputs[0].text == "the end of the notebook\n"
    box = next(o for o in executed.cells[3].outputs if o.output_type == "display_data").data["text/plain"]
    first = box.splitlines()
    assert first[0] == {"passed": "✓ recall_at_k: passed", "failed": "✗ recall_at_k: not right yet",
                        "not-done": "… recall_at_k: not done yet"}[status]
    if status == "failed":
        assert first[1].startswith("Tried: recall_at_k(") and first[2].startswith("Hint: ")
        assert "course_lib" not in box and "checks" not in box.replace("checks passed", "")
    if student == "crash":
        assert "ZeroDivisionError" in box and "Where, in your code:" in box
        assert "return sum(1 for item in recommended[:k] if item in relevant) / len(relevant)" in box


@pytest.mark.notebook
def test_a_library_not_implemented_error_is_the_students_mistake():
    executed = _run(SUBMISSIONS["library"])
    assert [s for _, s, _ in check_outcomes(executed)] == ["failed"]
