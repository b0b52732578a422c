"""Grading end to end: nbgrader autograde on submissions the test makes, one of each kind."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from course_lib.grading.generate import student_version
from course_lib.grading.grade import grade_submissions
from tests.grading.notebook_factory import solution_notebook

NAME = "99_tiny"


def _with_body(student, grade_id, body):
    notebook = nbformat.from_dict(student)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", body)
            assert body in cell.source
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    solutions = root / "solutions"
    solutions.mkdir()
    solution = solution_notebook()
    nbformat.write(solution, solutions / f"{NAME}.ipynb")
    stub = student_version(solution)
    halve = "return value / 2"
    submissions = {
        "alice": solution,                                                         # the solution itself
        "bob": stub,                                                               # untouched stub
        "carol": _with_body(_with_body(stub, "double_max", "while True:\n        pass"), "halve", halve),
        "dave": _with_body(_with_body(stub, "double_max", "raise RuntimeError('boom')"), "halve", halve),
        "erin": None,                                                              # submitted nothing
        "frank": "not a notebook",                                                 # an unreadable file
    }
    for student, notebook in submissions.items():
        folder = root / "submissions" / student
        folder.mkdir(parents=True)
        if isinstance(notebook, str):
            (folder / f"{NAME}.ipynb").write_text(notebook)
        elif notebook is not None:
            nbformat.write(notebook, folder / f"{NAME}.ipynb")
    table = grade_submissions(root / "submissions", solutions, root / "out", cell_timeout=5,
                              student_timeout=300, show_progress=False)
    return root / "out", table.set_index("student")


@pytest.mark.notebook
def test_points_per_submission(graded):
    _, table = graded
    assert table.loc["alice", ["double_max_tests", "halve_tests", "total", "max"]].tolist() == [2, 1, 3, 3]
    assert table.loc["bob", ["double_max_tests", "halve_tests", "total"]].tolist() == [0, 0, 0]
    assert table.loc["carol", ["double_max_tests", "halve_tests", "total"]].tolist() == [0, 1, 1]
    assert table.loc["dave", ["double_max_tests", "halve_tests", "total"]].tolist() == [0, 1, 1]
    assert table.loc["erin", "total"] == 0 and table.loc["frank", "total"] == 0


@pytest.mark.notebook
def test_reasons_say_what_went_wrong(graded):
    _, table = graded
    assert table.loc["alice", "reason"] in ("", None) or pd.isna(table.loc["alice", "reason"])
    assert "not done" in table.loc["bob", "reason"]
    assert "timeout" in table.loc["carol", "reason"]
    assert "RuntimeError" in table.loc["dave", "reason"] and "boom" in table.loc["dave", "reason"]
    assert table.loc["erin", "reason"] == "missing notebook"
    assert "unreadable" in table.loc["frank", "reason"]


@pytest.mark.notebook
def test_outputs_on_disk(graded):
    out, table = graded
    on_disk = pd.read_csv(out / "grades.csv")
    assert list(on_disk.columns) == ["student", "notebook", "double_max_tests", "halve_tests", "total", "max", "reason"]
    assert len(on_disk) == 6 and on_disk["total"].sum() == 5
    for student in ("alice", "bob", "carol", "dave", "erin", "frank"):
        page = (out / "feedback" / f"{student}.html").read_text()
        assert student in page and NAME in page
    assert (out / "feedback" / "alice" / f"{NAME}.html").exists()
    assert (out / "course" / "gradebook.db").exists()


def test_an_empty_submissions_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no student folders"):
        grade_submissions(tmp_path, tmp_path)
