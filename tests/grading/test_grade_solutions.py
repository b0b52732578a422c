"""Every solution notebook of the course, submitted as it is, gets full points from the grader.

One grading run for all nine (three students of three notebooks, two workers) through the real
sandbox, on the data the machine has (MovieLens 100K when COURSE_LIB_DATA points at it, the synthetic
stand-in otherwise): the definitions of each notebook, its visible checks and probes in the sandbox,
its judges here. This is the test that catches a probe that needs something the sandbox lacks, or a
check or judge that fails a right answer.
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
    table = grade_submissions(tmp_path / "submissions", SOLUTIONS, tmp_path / "out", show_progress=False,
                              course_dir=tmp_path / "course", workers=2, feedback=False)
    graded = table[table["reason"] != "missing notebook"].set_index("notebook")
    assert sorted(graded.index) == names
    failures = {name: f"{row['total']:g}/{row['max']:g}: {row['reason']}" for name, row in graded.iterrows()
                if row["total"] != row["max"]}
    assert not failures, failures
