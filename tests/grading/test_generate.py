"""The student-notebook generator on a notebook with every kind of cell."""

from __future__ import annotations

import os

import nbformat
import pytest

from course_lib.grading.generate import generate, student_version
from tests.grading.notebook_factory import HIDDEN_LINE, SOLUTION_BODY, solution_notebook


@pytest.fixture()
def student():
    return student_version(solution_notebook())


def _cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_solution_regions_become_stubs(student):
    source = _cell(student, "double_max").source
    assert "# YOUR CODE HERE" in source and "raise NotImplementedError()" in source
    assert SOLUTION_BODY.strip() not in source
    assert "def double_max(values):" in source  # the signature and docstring stay
    assert "BEGIN SOLUTION" not in source


def test_hidden_tests_and_mark_scheme_are_removed(student):
    tests = _cell(student, "double_max_tests").source
    assert "assert double_max([1, 2, 3]) == 6" in tests
    assert HIDDEN_LINE not in tests and "HIDDEN" not in tests
    assert "Any answer" not in _cell(student, "explain").source
    assert "YOUR ANSWER HERE" in _cell(student, "explain").source


def test_outputs_and_execution_counts_are_cleared(student):
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_metadata_is_normalized(student):
    assert set(student.metadata) <= {"kernelspec", "language_info", "course"}
    assert "widgets" not in student.metadata
    assert student.metadata["kernelspec"]["name"] == "python3"  # what Colab knows
    assert "checksum" in _cell(student, "double_max_tests").metadata["nbgrader"]
    assert _cell(student, "double_max_tests").metadata["nbgrader"]["locked"] is True
    nbformat.validate(student)


def test_the_solution_is_not_modified():
    solution = solution_notebook()
    before = nbformat.writes(solution)
    student_version(solution)
    assert nbformat.writes(solution) == before


def test_generate_is_idempotent_and_leaves_no_temporary_files(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / "99_tiny.ipynb")
    assert generate(solutions, notebooks) == [notebooks / "99_tiny.ipynb"]
    first = (notebooks / "99_tiny.ipynb").read_bytes()
    stamp = os.stat(notebooks / "99_tiny.ipynb").st_mtime_ns
    assert generate(solutions, notebooks) == []
    assert (notebooks / "99_tiny.ipynb").read_bytes() == first
    assert os.stat(notebooks / "99_tiny.ipynb").st_mtime_ns == stamp
    assert sorted(p.name for p in notebooks.iterdir()) == ["99_tiny.ipynb"]


def test_generate_without_solutions_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="No solution notebooks"):
        generate(tmp_path, tmp_path / "out")


def test_the_colab_setup_cell_passes_through_ungraded():
    from course_lib.grading.colab_cell import SETUP_CELL_ID, setup_cell_source, stamp_setup_cell

    solution = stamp_setup_cell(solution_notebook(), "https://github.com/o/r")
    student = student_version(solution)
    first = student.cells[0]
    assert first.get("id") == SETUP_CELL_ID and first.source == setup_cell_source("https://github.com/o/r")
    assert "nbgrader" not in first.metadata and first.outputs == []
    graded = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.get("id") != SETUP_CELL_ID for c in graded)
    assert student.metadata["kernelspec"]["name"] == "python3"
