"""Where grading time goes, and seconds per student at 1 and 2 workers.

    python bench/grading_benchmark.py [--students 4] [--notebooks 00_data_and_evaluation ...] [--workers 1 2]

Builds ``--students`` submissions, each holding the solution notebooks named (in quick mode, as the
tests run them), grades them with ``course-grade`` at each worker count (``--force``, a fresh
output folder each time), and prints the wall time per student and how one notebook's time splits:
the ``nbgrader autograde`` process (Python and nbgrader start, kernel start, the guard's snapshot,
the notebook's own cells), the course gradebook write and nbgrader's feedback page. A last line
projects a class of 200 students x 9 notebooks on a 16-core server from the per-notebook times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading import grade  # noqa: E402
from course_lib.grading.check import with_quick_parameters  # noqa: E402


def _timed(timings: dict[str, list[float]], key: str, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timings.setdefault(key, []).append(time.perf_counter() - started)
    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--notebooks", nargs="+", default=["00_data_and_evaluation"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    arguments = parser.parse_args()
    solutions = ROOT / "solutions"
    root = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    for index in range(arguments.students):
        folder = root / "submissions" / f"student{index:02d}"
        folder.mkdir(parents=True)
        for name in arguments.notebooks:
            notebook = with_quick_parameters(nbformat.read(solutions / f"{name}.ipynb", as_version=4))
            nbformat.write(notebook, folder / f"{name}.ipynb")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nbgrader.apps"], check=True)
    import_seconds = time.perf_counter() - started
    print(f"fixed cost, parts: python + nbgrader import {import_seconds:.2f} s", end="")
    from jupyter_client.manager import start_new_kernel
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    client.execute_interactive("import numpy, course_lib", timeout=60)
    manager.shutdown_kernel(now=True)
    print(f"; kernel start + numpy/course_lib import + shutdown {time.perf_counter() - started:.2f} s")

    # the fixed cost of one notebook: a notebook whose one test cell does nothing
    trivial = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n",
                                  metadata={"nbgrader": {"schema_version": 3, "solution": True, "grade": False,
                                                         "locked": False, "task": False, "grade_id": "answer"}}),
        nbformat.v4.new_code_cell("assert answer() == 42",
                                  metadata={"nbgrader": {"schema_version": 3, "solution": False, "grade": True,
                                                         "locked": True, "task": False, "grade_id": "answer_tests",
                                                         "points": 1}})],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (root / "trivial" / "solutions").mkdir(parents=True)
    nbformat.write(trivial, root / "trivial" / "solutions" / "99_trivial.ipynb")
    for index in range(arguments.students):
        (root / "trivial" / "submissions" / f"student{index:02d}").mkdir(parents=True)
        nbformat.write(trivial, root / "trivial" / "submissions" / f"student{index:02d}" / "99_trivial.ipynb")
    grade.prepare_course(root / "trivial" / "solutions", root / "trivial" / "course")
    for feedback in (True, False):
        timings = {}
        original_grade, original_record = grade._grade_notebook, grade._record
        grade._grade_notebook = _timed(timings, "autograde process", original_grade)
        grade._record = _timed(timings, "record", original_record)
        try:
            grade.grade_submissions(root / "trivial" / "submissions", root / "trivial" / "solutions",
                                    root / "trivial" / f"out{feedback}", show_progress=False,
                                    course_dir=root / "trivial" / "course", workers=1, force=True, feedback=feedback)
        finally:
            grade._grade_notebook, grade._record = original_grade, original_record
        print(f"fixed cost of one notebook (trivial notebook, 1 worker): autograde process "
              f"{statistics.mean(timings['autograde process']):.2f} s, gradebook write"
              f"{' + feedback page' if feedback else ''} {statistics.mean(timings['record']):.2f} s")

    course = root / "course"
    grade.prepare_course(solutions, course)   # generate_assignment once, outside the timed runs
    per_notebook_cells = {}
    for workers in arguments.workers:
        timings: dict[str, list[float]] = {}
        original_grade, original_record = grade._grade_notebook, grade._record
        grade._grade_notebook = _timed(timings, "autograde (process + kernel + cells)", original_grade)
        grade._record = _timed(timings, "gradebook + feedback", original_record)
        try:
            started = time.perf_counter()
            table = grade.grade_submissions(root / "submissions", solutions, root / f"out{workers}", cell_timeout=600,
                                            student_timeout=3600, show_progress=False, course_dir=course,
                                            workers=workers, force=True)
            seconds = time.perf_counter() - started
        finally:
            grade._grade_notebook, grade._record = original_grade, original_record
        graded = table[table["reason"] != "missing notebook"]
        assert (graded["total"] == graded["max"]).all(), graded
        print(f"\n{workers} worker(s): {arguments.students} students x {len(arguments.notebooks)} notebook(s) in "
              f"{seconds:.1f} s = {seconds / arguments.students:.1f} s per student (wall)")
        for key, values in timings.items():
            print(f"  {key:<40} mean {statistics.mean(values):6.2f} s per notebook (n={len(values)})")
        per_notebook_cells[workers] = seconds / (arguments.students * len(arguments.notebooks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
