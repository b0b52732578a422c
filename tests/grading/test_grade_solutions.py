"""Every solution notebook of the course, submitted as it is, gets full points from the grader.

One grading run for all nine (three students of three notebooks, two workers), with ``quick=True``
(each notebook with its quick parameters, as tests/test_notebooks.py runs them), on the data the machine
has (MovieLens 100K when COURSE_LIB_DATA points at it, the synthetic stand-in otherwise). This is
the test that catches a hidden test writing a warning to stderr, or a check that fails a right answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
        (folder / f"{name}.ipynb").write_bytes((SOLUTIONS / f"{name}.ipynb").read_bytes())
    table = grade_submissions(tmp_path / "submissions", SOLUTIONS, tmp_path / "out", cell_timeout=600,
                              student_timeout=3600, show_progress=False, course_dir=tmp_path / "course", workers=2,
                              feedback=False, quick=True)
    graded = table[table["reason"] != "missing notebook"].set_index("notebook")
    assert sorted(graded.index) == names
    failures = {name: f"{row['total']:g}/{row['max']:g}: {row['reason']}" for name, row in graded.iterrows()
                if row["total"] != row["max"]}
    assert not failures, failures
