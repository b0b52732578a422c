"""The sync and leak checks catch hand-edited student notebooks."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.check import execute_student_notebook, leak_problems, sync_problems
from course_lib.grading.generate import generate
from tests.grading.notebook_factory import SOLUTION_BODY, solution_notebook


@pytest.fixture()
def course(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / "99_tiny.ipynb")
    generate(solutions, notebooks)
    return solutions, notebooks


def _edit(path, change):
    notebook = nbformat.read(path, as_version=4)
    change(notebook)
    nbformat.write(notebook, path)


def test_a_generated_course_passes(course):
    assert sync_problems(*course) == []
    assert leak_problems(*course) == []


def test_a_hand_edit_breaks_the_sync(course):
    solutions, notebooks = course
    _edit(notebooks / "99_tiny.ipynb", lambda nb: nb.cells[0].__setitem__("source", "# Edited by hand"))
    problems = sync_problems(solutions, notebooks)
    assert len(problems) == 1 and "differs" in problems[0] and "make student" in problems[0]


def test_a_pasted_solution_line_is_a_leak(course):
    solutions, notebooks = course
    _edit(notebooks / "99_tiny.ipynb", lambda nb: nb.cells[2].__setitem__(
        "source", nb.cells[2].source.replace("raise NotImplementedError()", SOLUTION_BODY.strip())))
    problems = leak_problems(solutions, notebooks)
    assert any("line of the solution" in p and "sorted(values)[-1] * 2" in p for p in problems)


def test_a_marker_is_a_leak(course):
    solutions, notebooks = course
    _edit(notebooks / "99_tiny.ipynb", lambda nb: nb.cells.append(
        nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS")))
    problems = leak_problems(solutions, notebooks)
    assert any("BEGIN HIDDEN TESTS" in p for p in problems)


def test_missing_and_extra_student_notebooks(course):
    solutions, notebooks = course
    (notebooks / "99_tiny.ipynb").rename(notebooks / "98_orphan.ipynb")
    problems = sync_problems(solutions, notebooks)
    assert any("98_orphan" in p and "no solution" in p for p in problems)
    assert any("99_tiny" in p and "missing" in p for p in problems)


@pytest.mark.notebook
def test_student_execution_must_reach_the_end_without_an_error(course, tmp_path):
    """A student notebook runs to its last cell: a check shows "not done yet" for a stub, while a test
    cell that raises (a bare assert on a stub, a broken cell) stops the run and fails it."""
    from nbclient.exceptions import CellExecutionError

    from course_lib.grading.check import check_outcomes
    from course_lib.grading.generate import student_version
    from tests.grading.notebook_factory import checked_notebook

    nbformat.write(student_version(checked_notebook()), tmp_path / "checked.ipynb")
    executed = execute_student_notebook(tmp_path / "checked.ipynb", timeout=60)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [status for _, status, _ in check_outcomes(executed)] == ["not-done"]
    _, notebooks = course
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        execute_student_notebook(notebooks / "99_tiny.ipynb", timeout=60)   # its test cells assert directly
    broken = nbformat.read(tmp_path / "checked.ipynb", as_version=4)
    broken.cells.insert(1, nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(broken, tmp_path / "broken.ipynb")
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute_student_notebook(tmp_path / "broken.ipynb", timeout=60)


def test_quick_parameters_are_set_after_the_parameters_cell():
    from course_lib.grading.check import with_quick_parameters

    notebook = solution_notebook()
    notebook.cells.insert(1, nbformat.v4.new_code_cell("EPOCHS = 50", metadata={"tags": ["parameters"]}))
    notebook.metadata["course"] = {"quick_parameters": {"EPOCHS": 1, "SIZES": [10, 20]}}
    quick = with_quick_parameters(notebook)
    assert quick.cells[2].source == "QUICK = True\nEPOCHS = 1\nSIZES = [10, 20]"
    assert len(quick.cells) == len(notebook.cells) + 1  # the original is untouched
    del notebook.cells[1]
    with pytest.raises(ValueError, match="parameters"):
        with_quick_parameters(notebook)
