"""Grade a folder of submissions with nbgrader's autograder.

    course-grade SUBMISSIONS [--out DIR] [--cell-timeout 120] [--student-timeout 1800]
    make grade SUBMISSIONS=DIR

``SUBMISSIONS`` holds one folder per student with their notebooks (``alice/00_data_and_evaluation.ipynb``).
The run builds an nbgrader course folder in ``--out`` (default ``SUBMISSIONS/../grading``):
``source/course/`` gets the solution notebooks, ``nbgrader generate_assignment`` records their
grade cells in the SQLite gradebook (``gradebook.db``, kept between runs), then each student is
autograded in a separate ``nbgrader autograde`` process, every notebook in a fresh kernel with a
per-cell timeout, and a wall-clock limit on the whole student. One broken submission (a crash, an
infinite loop, a missing or unreadable notebook) never stops the others: it gets zero where it
fails, and the reason goes into the table.

Results: ``grades.csv`` (student, notebook, points per exercise, total, max, reason) and
``feedback/<student>.html`` (with nbgrader's annotated notebooks beside it).
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

__all__ = ["grade_submissions", "main"]

ASSIGNMENT = "course"


def _nbgrader(course_dir: Path, *arguments: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nbgrader", *arguments, f"--CourseDirectory.root={course_dir}",
               "--CourseDirectory.course_id=course-recsys"]
    # nbgrader runs `alembic` by name: the tools of this Python's environment must be on PATH.
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=course_dir, env=environment)


def _grade_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of the autograded cells of a source notebook, in notebook order."""
    cells = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells


_PLAIN_REASONS = {
    "NotImplementedError": "not done (NotImplementedError)",
    "KeyboardInterrupt": "interrupted: a cell ran past the per-cell timeout (an endless loop?)",
    "CellTimeoutError": "interrupted: a cell ran past the per-cell timeout (an endless loop?)",
    "DeadKernelError": "the kernel died (the code crashed Python)",
}


def _test_cell_errors(notebook_path: Path, grade_ids: set[str]) -> str:
    """The error each failed test cell of an autograded notebook shows, in a few words."""
    if not notebook_path.exists():
        return ""
    notebook = nbformat.read(notebook_path, as_version=4)
    reasons = []
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id not in grade_ids or not errors:
            continue
        name = errors[0].get("ename", "error")
        if name in _PLAIN_REASONS:
            reasons.append(f"{grade_id}: {_PLAIN_REASONS[name]}")
        else:
            value = str(errors[0].get("evalue", "")).strip().splitlines()
            reasons.append(f"{grade_id}: {name}" + (f": {value[0][:160]}" if value else ""))
    return "; ".join(reasons)


def _prepare_course(solutions: Path, course_dir: Path) -> dict[str, dict[str, float]]:
    source = course_dir / "source" / ASSIGNMENT
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    exercises = {}
    for path in sorted(solutions.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = _grade_cells(notebook)
        for other, other_cells in exercises.items():
            shared = set(cells) & set(other_cells)
            if shared:
                raise ValueError(f"Grade ids {sorted(shared)} appear in both {other} and {path.stem}: "
                                 "grade ids must be unique across the course (they name the columns of grades.csv).")
        if cells:
            shutil.copy2(path, source / path.name)
            exercises[path.stem] = cells
    if not exercises:
        raise ValueError(f"No solution notebook in {solutions} has autograded cells: nothing to grade.")
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n"
        "c.CourseDirectory.db_assignments = [dict(name='course')]\n"
    )
    result = _nbgrader(course_dir, "generate_assignment", ASSIGNMENT, "--force", "--create")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stdout}\n{result.stderr}")
    return exercises


def grade_submissions(
    submissions: Path,
    solutions: Path = Path("solutions"),
    out: Path | None = None,
    cell_timeout: int = 120,
    student_timeout: int = 1800,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Autograde every student folder in ``submissions``; returns the grades table (also written
    to ``out/grades.csv``)."""
    submissions, solutions = Path(submissions).resolve(), Path(solutions).resolve()
    if not submissions.is_dir():
        raise FileNotFoundError(f"The submissions folder {submissions} does not exist.")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise ValueError(f"{submissions} holds no student folders (one folder per student, with their notebooks).")
    out = Path(out).resolve() if out else submissions.parent / "grading"
    course_dir = out / "course"
    course_dir.mkdir(parents=True, exist_ok=True)
    exercises = _prepare_course(solutions, course_dir)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)

    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    for student in students:
        started = time.perf_counter()
        submitted = course_dir / "submitted" / student / ASSIGNMENT
        if submitted.parent.exists():
            shutil.rmtree(submitted.parent)
        submitted.mkdir(parents=True)
        problems: dict[str, str] = {}
        for name in exercises:
            path = submissions / student / f"{name}.ipynb"
            if not path.exists():
                problems[name] = "missing notebook"
                continue
            try:
                nbformat.read(path, as_version=4)
            except Exception as error:  # noqa: BLE001 - any unreadable file is the student's problem
                problems[name] = f"unreadable notebook ({type(error).__name__})"
                continue
            shutil.copy2(path, submitted / path.name)
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
            gradebook.update_or_create_student(student)
        if any(submitted.iterdir()):
            try:
                result = _nbgrader(course_dir, "autograde", ASSIGNMENT, f"--student={student}", "--force",
                                   f"--Execute.timeout={cell_timeout}", "--Execute.interrupt_on_timeout=True",
                                   timeout=student_timeout)
                if result.returncode != 0:
                    last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                    for name in exercises:
                        problems.setdefault(name, f"autograder failed: {last[0][:160]}")
            except subprocess.TimeoutExpired:
                for name in exercises:
                    problems.setdefault(name, f"stopped after {student_timeout} s (the whole submission)")
            _nbgrader(course_dir, "generate_feedback", ASSIGNMENT, f"--student={student}", "--force", timeout=600)
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
            for name, cells in exercises.items():
                row = {"student": student, "notebook": name}
                points: dict[str, float] = dict.fromkeys(cells, 0.0)
                if name not in problems:
                    try:
                        notebook = gradebook.find_submission_notebook(name, ASSIGNMENT, student)
                        for grade in notebook.grades:
                            if grade.name in points:
                                points[grade.name] = float(grade.score or 0.0)
                    except MissingEntry:
                        problems[name] = "not autograded"
                autograded = course_dir / "autograded" / student / ASSIGNMENT / f"{name}.ipynb"
                reason = problems.get(name) or _test_cell_errors(autograded, set(cells))
                row.update(points)
                row.update(total=sum(points.values()), max=sum(cells.values()), reason=reason)
                rows.append(row)
        _write_feedback_page(feedback_dir, course_dir, student, [r for r in rows if r["student"] == student])
        if show_progress:
            print(f"graded {student} in {time.perf_counter() - started:.1f} s", flush=True)

    table = pd.DataFrame(rows)
    leading = ["student", "notebook"]
    trailing = ["total", "max", "reason"]
    middle = [c for c in table.columns if c not in leading + trailing]
    table = table[leading + middle + trailing]
    _write_csv_atomically(table, out / "grades.csv")
    return table


def _write_csv_atomically(table: pd.DataFrame, path: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".grades.", suffix=".csv")
    os.close(handle)
    try:
        table.to_csv(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_feedback_page(feedback_dir: Path, course_dir: Path, student: str, rows: list[dict]) -> None:
    source = course_dir / "feedback" / student / ASSIGNMENT
    target = feedback_dir / student
    if target.exists():
        shutil.rmtree(target)
    if source.exists():
        shutil.copytree(source, target)
    lines = [f"<!doctype html><meta charset='utf-8'><title>Feedback: {html.escape(student)}</title>",
             f"<h1>Feedback for {html.escape(student)}</h1>",
             "<table border=1 cellpadding=4><tr><th>notebook</th><th>points</th><th>note</th><th>annotated notebook</th></tr>"]
    for row in rows:
        page = target / f"{row['notebook']}.html"
        link = (f"<a href='{html.escape(student)}/{html.escape(page.name)}'>{html.escape(page.name)}</a>"
                if page.exists() else "none")
        lines.append(f"<tr><td>{html.escape(row['notebook'])}</td><td>{row['total']:g} / {row['max']:g}</td>"
                     f"<td>{html.escape(row['reason'] or 'graded')}</td><td>{link}</td></tr>")
    lines.append("</table>")
    (feedback_dir / f"{student}.html").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Autograde student submissions with nbgrader into grades.csv.")
    parser.add_argument("submissions", type=Path, help="folder with one subfolder of notebooks per student")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--out", type=Path, default=None, help="where grades.csv, feedback/ and the gradebook go")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run")
    parser.add_argument("--student-timeout", type=int, default=1800, help="seconds one student's notebooks may run")
    arguments = parser.parse_args(argv)
    table = grade_submissions(arguments.submissions, arguments.solutions, arguments.out,
                              arguments.cell_timeout, arguments.student_timeout)
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
