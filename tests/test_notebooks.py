"""The course's own notebooks: student copies in sync with the solutions, no leaks, every graded
check cell graded by its hidden `checks.assert_passed()`, and every student notebook runs to the
end with no error, each check showing "not done yet". (nbval runs the solutions.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.grading.check import (
    check_outcomes,
    execute_student_notebook,
    graded_cell_problems,
    leak_problems,
    sync_problems,
    with_quick_parameters,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
STUDENT_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert STUDENT_NOTEBOOKS, "notebooks/ is empty: run `make student`"


def test_student_notebooks_are_generated_from_the_solutions():
    assert sync_problems(SOLUTIONS, NOTEBOOKS) == []


def test_student_notebooks_leak_no_solution():
    assert leak_problems(SOLUTIONS, NOTEBOOKS) == []


def test_every_graded_check_cell_is_graded_by_assert_passed():
    assert graded_cell_problems(SOLUTIONS) == []


@pytest.mark.notebook
@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.stem for p in STUDENT_NOTEBOOKS])
def test_student_notebook_runs_to_the_end(path):
    """Run All on the untouched student notebook: no cell raises, the last code cell runs, and every
    check cell shows "not done yet" for its stub (nothing after an exercise uses the student's answer)."""
    executed = execute_student_notebook(path, timeout=600, quick=True)
    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(executed.cells)
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code[-1].get("execution_count"), "the last code cell did not run"
    outcomes = check_outcomes(executed)
    checked = sum(c.source.count("checks.check_") for c in code if c.metadata.get("nbgrader", {}).get("grade"))
    assert len(outcomes) == checked > 0
    assert {status for _, status, _ in outcomes} == {"not-done"}, outcomes


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
