"""The course's own notebooks: student copies in sync with the solutions, no leaks, and every
student notebook runs with only NotImplementedError raised. (nbval runs the solutions.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.grading.check import execute_student_notebook, leak_problems, sync_problems, with_quick_parameters

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
STUDENT_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert STUDENT_NOTEBOOKS, "notebooks/ is empty: run `make student`"


def test_student_notebooks_are_generated_from_the_solutions():
    assert sync_problems(SOLUTIONS, NOTEBOOKS) == []


def test_student_notebooks_leak_no_solution():
    assert leak_problems(SOLUTIONS, NOTEBOOKS) == []


@pytest.mark.notebook
@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.stem for p in STUDENT_NOTEBOOKS])
def test_student_notebook_runs_with_only_not_implemented_errors(path):
    executed = execute_student_notebook(path, timeout=600, quick=True)
    errors = [o.ename for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors, "a student notebook with exercises should stop at least once on a stub"
    assert set(errors) == {"NotImplementedError"}


SOLUTION_NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=[p.stem for p in SOLUTION_NOTEBOOKS])
def test_solution_notebook_runs_offline_on_the_synthetic_stand_in(path, tmp_path, monkeypatch):
    """A machine with no data and no network: the notebooks fall back to the synthetic set and
    every assertion in them still holds. Downloads go to a closed port on 127.0.0.1."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("COURSE_LIB_MIRROR", "http://127.0.0.1:9")
    notebook = with_quick_parameters(nbformat.read(path, as_version=4))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    streams = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "SYNTHETIC" in streams, "the notebook should say loudly that it fell back to the synthetic set"
