"""Where grading time goes, and seconds per student at 1 and 2 workers.

    python bench/grading_benchmark.py [--students 4] [--notebooks 00_data_and_evaluation ...] [--workers 1 2]

Each student is graded by ONE ``nbgrader autograde`` process covering all of their notebooks
(``course_lib.grading.grade._grade_student``). This script measures:

- the parts of the fixed cost: Python + nbgrader import, one kernel start (with NumPy and course_lib
  imported, then shut down), the guard's snapshot in that kernel;
- the fixed cost per student and per notebook, from students holding 1 and 9 trivial notebooks (one
  cell, one test): autograde process time t(k) = A + k B, so B = (t(9) - t(1)) / 8 is what each
  extra notebook costs (kernel start, guard, nbgrader's preprocessors) and A = t(1) - B what a
  student costs once (process start, imports, gradebook session); the course gradebook write and the
  feedback pages (one ``generate_feedback`` run per student), with and without feedback;
- ``--students`` students holding the ``--notebooks`` solution notebooks (quick mode, as the tests
  run them), graded at each ``--workers`` count: wall seconds per student, and the CPU seconds the
  grading processes used (children's user + system time), which bounds what parallel workers can gain.

Every figure is printed next to the machine's load averages (``os.getloadavg``) when it was taken:
on a shared machine the wall times depend on them. A last line projects 200 students on a 16-core
server: wall = 200 x cpu_per_student / 16 when the cores are the limit (CPU-bound), never less than
200 x wall_per_student(1 worker) / 16.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"[load {one:.2f} {five:.2f} {fifteen:.2f}, {os.cpu_count()} cores]"


def _timed(timings: dict[str, list[float]], key: str, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timings.setdefault(key, []).append(time.perf_counter() - started)
    return wrapper


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _trivial_notebook(index: int) -> nbformat.NotebookNode:
    meta = {"schema_version": 3, "locked": False, "task": False}
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell(f"def answer{index}():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n",
                                  metadata={"nbgrader": {**meta, "solution": True, "grade": False,
                                                         "grade_id": f"answer{index}"}}),
        nbformat.v4.new_code_cell(f"assert answer{index}() == 42",
                                  metadata={"nbgrader": {**meta, "solution": False, "grade": True, "locked": True,
                                                         "grade_id": f"answer{index}_tests", "points": 1}})],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def _parts() -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nbgrader.apps"], check=True)
    print(f"python + nbgrader import (a new process): {time.perf_counter() - started:.2f} s {_load()}")
    from jupyter_client.manager import start_new_kernel

    from course_lib.grading.execute import _COMPARISON_IMPORTS, _GUARDED_PACKAGES, PREAMBLE
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    kernel_started = time.perf_counter()
    client.execute_interactive("import numpy, course_lib", timeout=60)
    imported = time.perf_counter()
    imports = [*_COMPARISON_IMPORTS, "import numpy as np", "import course_lib"]
    client.execute_interactive(PREAMBLE + f"__course_grader_install('x', {_GUARDED_PACKAGES!r}, {imports!r})\n",
                               timeout=120)
    guarded = time.perf_counter()
    manager.shutdown_kernel(now=True)
    print(f"kernel start {kernel_started - started:.2f} s, numpy + course_lib import {imported - kernel_started:.2f} s, "
          f"guard snapshot {guarded - imported:.2f} s, shutdown {time.perf_counter() - guarded:.2f} s {_load()}")


def _fixed_costs(root: Path, students: int) -> None:
    for count in (1, 9):
        base = root / f"trivial{count}"
        (base / "solutions").mkdir(parents=True)
        for index in range(count):
            nbformat.write(_trivial_notebook(index), base / "solutions" / f"9{index}_trivial.ipynb")
        for student in range(students):
            folder = base / "submissions" / f"student{student:02d}"
            folder.mkdir(parents=True)
            for index in range(count):
                nbformat.write(_trivial_notebook(index), folder / f"9{index}_trivial.ipynb")
        grade.prepare_course(base / "solutions", base / "course")
    per_count = {}
    for count in (1, 9):
        base = root / f"trivial{count}"
        for feedback in (False, True):
            timings: dict[str, list[float]] = {}
            original_grade, original_record = grade._grade_student, grade._record
            grade._grade_student = _timed(timings, "autograde", original_grade)
            grade._record = _timed(timings, "record", original_record)
            try:
                started = time.perf_counter()
                grade.grade_submissions(base / "submissions", base / "solutions", base / f"out{feedback}",
                                        show_progress=False, course_dir=base / "course", workers=1, force=True,
                                        feedback=feedback)
                wall = (time.perf_counter() - started) / students
            finally:
                grade._grade_student, grade._record = original_grade, original_record
            autograde, record = statistics.mean(timings["autograde"]), statistics.mean(timings["record"])
            if not feedback:
                per_count[count] = autograde
            print(f"{count} trivial notebook(s) per student, 1 worker, feedback {'on ' if feedback else 'off'}: "
                  f"{wall:.2f} s per student: autograde process {autograde:.2f} s, course gradebook write"
                  f"{' + feedback pages' if feedback else ''} {record:.2f} s {_load()}")
    extra = (per_count[9] - per_count[1]) / 8
    print(f"=> each notebook adds {extra:.2f} s to the autograde process (kernel start, guard, nbgrader's "
          f"preprocessors); a student costs {per_count[1] - extra:.2f} s once (process, imports, gradebook session)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--notebooks", nargs="+", default=["00_data_and_evaluation"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--skip-fixed", action="store_true", help="only the solution notebooks' runs")
    arguments = parser.parse_args()
    solutions = ROOT / "solutions"
    root = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    if not arguments.skip_fixed:
        _parts()
        _fixed_costs(root, min(arguments.students, 3))
    for index in range(arguments.students):
        folder = root / "submissions" / f"student{index:02d}"
        folder.mkdir(parents=True)
        for name in arguments.notebooks:
            notebook = with_quick_parameters(nbformat.read(solutions / f"{name}.ipynb", as_version=4))
            nbformat.write(notebook, folder / f"{name}.ipynb")
    course = root / "course"
    grade.prepare_course(solutions, course)   # generate_assignment once, outside the timed runs
    first = None
    for workers in arguments.workers:
        timings: dict[str, list[float]] = {}
        original_grade, original_record = grade._grade_student, grade._record
        grade._grade_student = _timed(timings, "autograde process (all of a student's notebooks)", original_grade)
        grade._record = _timed(timings, "course gradebook + feedback pages", original_record)
        load_before = _load()
        cpu = _children_cpu()
        try:
            started = time.perf_counter()
            table = grade.grade_submissions(root / "submissions", solutions, root / f"out{workers}", cell_timeout=600,
                                            student_timeout=3600, show_progress=False, course_dir=course,
                                            workers=workers, force=True)
            seconds = time.perf_counter() - started
        finally:
            grade._grade_student, grade._record = original_grade, original_record
        cpu = _children_cpu() - cpu
        graded = table[table["reason"] != "missing notebook"]
        assert (graded["total"] == graded["max"]).all(), graded
        per_student = seconds / arguments.students
        print(f"\n{workers} worker(s): {arguments.students} students x {len(arguments.notebooks)} notebook(s) "
              f"({', '.join(arguments.notebooks)}) in {seconds:.1f} s = {per_student:.1f} s per student (wall); "
              f"{cpu / arguments.students:.1f} CPU s per student; load before {load_before}, after {_load()}")
        for key, values in timings.items():
            print(f"  {key:<50} mean {statistics.mean(values):6.2f} s per student (n={len(values)})")
        if first is None:
            first = (per_student, cpu / arguments.students)
    if first is not None:
        wall, cpu = first
        projected = max(200 * cpu / 16, 200 * wall / 16)
        print(f"\nprojection, 200 students with these notebooks on a 16-core server, 16 workers: "
              f"max(200 x {cpu:.1f} CPU s / 16, 200 x {wall:.1f} s / 16) = {projected / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
