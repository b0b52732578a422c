"""Every solution notebook of the course, submitted as it is, gets full points from the grader.

One grading run for all nine (three students of three notebooks, two workers), each notebook in
quick mode (its quick parameters, as tests/test_notebooks.py runs them), on the data the machine
has (MovieLens 100K when COURSE_LIB_DATA points at it, the synthetic stand-in otherwise). This is
the test that catches a hidden test writing a warning to stderr, or a check that fails a right answer.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_lib.grading.check import with_quick_parameters
from course_lib.grading.grade import grade_submissions

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


@pytest.mark.notebook
@pytest.mark.slow
def test_every_solution_notebook_gets_full_points(tmp_path):
    names = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))
    assert len(names) == 9
    for index, name in enumerate(names):
        folder = tmp_path / "submissions" / f"reference{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(with_quick_parameters(nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)),
                       folder / f"{name}.ipynb")
    table = grade_submissions(tmp_path / "submissions", SOLUTIONS, tmp_path / "out", cell_timeout=600,
                              student_timeout=3600, show_progress=False, course_dir=tmp_path / "course", workers=2,
                              feedback=False)
    graded = table[table["reason"] != "missing notebook"].set_index("notebook")
    assert sorted(graded.index) == names
    failures = {name: f"{row['total']:g}/{row['max']:g}: {row['reason']}" for name, row in graded.iterrows()
                if row["total"] != row["max"]}
    assert not failures, failures
