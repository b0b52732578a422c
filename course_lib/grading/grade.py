"""Grade a class: each student's code in a sandbox, each answer judged in the grader's own process.

    course-grade SUBMISSIONS [--out DIR] [--course course] [--workers N] [--memory-limit 8]
                 [--time-limit 300] [--force] [--no-feedback] [--no-sandbox]
    make grade SUBMISSIONS=DIR        (or SUBMISSIONS=download.zip, an LMS download)

``SUBMISSIONS`` holds one folder per student with their notebooks, under any names and in any
subfolder (``alice/hw/00_data_and_evaluation (1).ipynb``): a notebook is recognised by the grade
cells it holds, then by a name close to the course's (``submission.find_notebooks``). A ``.zip``
(an LMS download) is unpacked first, one top-level folder per student.

How a notebook is graded (``autograde.grade_notebook``): the grader never runs the notebook. It
runs the *definitions* of its code cells (imports, functions, classes, constants) in a sandbox
(``sandbox``: bubblewrap; no network, read-only system, only its own folder writable, limits on
memory, processes, file size and time), and for each exercise the notebook's visible check and a
*probe* that calls the student's function or class on the grader's inputs (``probes``). Only the
outputs, as arrays, come back; the expected values and the comparisons live here (``judges``).
A challenge's model is fitted in the sandbox on the grader's training part alone.

Results, in ``--out`` (default ``SUBMISSIONS/../grading``; a folder this grader made, or a new or
empty one), updated after every student (atomically): ``grades.csv``, ``feedback/<student>.html``
(points and the reason for each exercise), and nbgrader's course directory (``--course``) with the
scores in ``gradebook.db``, so the formgrader, ``nbgrader generate_feedback`` and ``nbgrader export``
work as usual. A re-run resumes: students whose files did not change keep their rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import html
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pandas as pd

from course_lib.grading import judges
from course_lib.grading.autograde import NotebookGrade, Result, grade_notebook
from course_lib.grading.generate import write_text_atomically
from course_lib.grading.gradebook import Exercise, prepare_course, record, release_notebook
from course_lib.grading.sandbox import Limits, SandboxUnavailable, find_sandbox, student_library
from course_lib.grading.submission import find_notebooks

__all__ = ["grade_submissions", "prepare_course", "find_notebooks", "main", "COURSE_ID",
           "MARKER", "UnsafeOutput"]

COURSE_ID = "course-recsys"
MARKER = ".course-grading-output"       # the file that says a folder is this grader's output
_STATE_VERSION = "3"
_ROOT = Path(__file__).resolve().parents[2]


class UnsafeOutput(ValueError):
    """OUT or SUBMISSIONS would make the grader overwrite or grade what it must not."""


# --------------------------------------------------------------------------- where it may write

def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_paths(submissions: Path, out: Path, course_dir: Path, solutions: Path) -> None:
    """Refuse before anything is written: an ``out`` that is not this grader's (it holds files and no
    marker), ``submissions`` equal to, inside or around ``out``, or a folder of the course source."""
    submissions, out, course_dir = submissions.resolve(), out.resolve(), course_dir.resolve()
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"--out {out} is a file, not a folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UnsafeOutput(f"--out {out} already holds files that this grader did not write (no {MARKER} in it): "
                           "choose a new or empty folder, so nothing of yours is overwritten.")
    folder = submissions.parent if submissions.is_file() else submissions
    if submissions.is_dir() and (_inside(out, submissions) or _inside(submissions, out)):
        raise UnsafeOutput(f"SUBMISSIONS {submissions} and --out {out} overlap: the grader would grade its own "
                           "outputs as students. Put the output folder beside the submissions.")
    if submissions.is_dir() and (_inside(course_dir, submissions) or _inside(submissions, course_dir)):
        raise UnsafeOutput(f"SUBMISSIONS {submissions} and the course directory {course_dir} overlap.")
    for source in (_ROOT / "course_lib", Path(solutions).resolve(), _ROOT / "solutions", _ROOT / "notebooks", _ROOT / "tests",
                   _ROOT / "course", _ROOT / ".venv"):
        if _inside(folder, source) or (submissions.is_dir() and submissions == _ROOT):
            raise UnsafeOutput(f"SUBMISSIONS {submissions} is part of the course itself ({source}): give the "
                               "folder of the students' submissions.")
        if _inside(out, source) and source != _ROOT / "course":
            raise UnsafeOutput(f"--out {out} lies inside the course's own {source.name}/: choose another folder.")


def _claim(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER
    if not marker.exists():
        marker.write_text("Written by course_lib.grading.grade: this folder holds grading outputs.\n",
                          encoding="utf-8")


def _unpack(archive: Path, target: Path) -> Path:
    """An LMS download: one top-level folder per student (``Alice Smith_1234_assignsubmission_file_``).
    Unpacked beside ``target`` and moved in place only when complete."""
    staging = Path(tempfile.mkdtemp(prefix=".downloaded-", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                parts = [p for p in Path(member.filename).parts if p not in ("", ".", "..")]
                if member.is_dir() or len(parts) < 2 or parts[0].startswith("__MACOSX"):
                    continue
                student = re.sub(r"_\d+_assignsubmission_\w*$", "", parts[0]).strip()
                student = re.sub(r"[^\w.-]+", "_", student).strip("_") or "unknown"
                destination = staging.joinpath(student, *parts[1:])
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(bundle.read(member))
        if target.exists():
            shutil.rmtree(target)       # only ever inside an output folder this grader owns
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# --------------------------------------------------------------------------- one student

def _fingerprint(files: dict[str, Path], solutions: Path, settings: dict) -> str:
    digest = hashlib.sha256(_STATE_VERSION.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    grading = Path(__file__).resolve().parent
    for path in sorted([*Path(solutions).glob("*.ipynb"), *grading.glob("probes/*.py"), *grading.glob("judges/*.py")]):
        digest.update(path.read_bytes())
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(files[name].read_bytes())
    return digest.hexdigest()


def _rows(student: str, grades: dict[str, NotebookGrade], exercises: dict[str, Exercise],
          notes: dict[str, str]) -> list[dict]:
    rows = []
    for name, exercise in exercises.items():
        grade = grades.get(name)
        reasons = [notes[name]] if name in notes else []
        points = {}
        if grade is None:
            points = dict.fromkeys(exercise.cells, 0.0)
            reasons.append("missing notebook")
        else:
            reasons += grade.notes
            for grade_id in exercise.cells:
                result = grade.results.get(grade_id)
                points[grade_id] = result.earned if result else 0.0
                if result is not None and result.reason:
                    reasons.append(f"{grade_id}: {result.reason}")
        rows.append({"student": student, "notebook": name, **points, "total": sum(points.values()),
                     "max": sum(exercise.cells.values()), "reason": "; ".join(reasons)})
    return rows


def _table(rows: list[dict], exercises: dict[str, Exercise]) -> pd.DataFrame:
    columns = ["student", "notebook"] + [g for e in exercises.values() for g in e.cells] + ["total", "max", "reason"]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=columns)
    middle = [c for c in columns[2:-3] if c in table.columns]
    return table[["student", "notebook", *middle, "total", "max", "reason"]]


def _feedback_page(feedback_dir: Path, course_dir: Path, student: str, rows: list[dict],
                   grades: dict[str, NotebookGrade], exercises: dict[str, Exercise]) -> None:
    """One page per student: each notebook's points, each exercise's points and reason (never a
    hidden test), and a link to nbgrader's feedback page of the notebook."""
    target = feedback_dir / student
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    lines = [f"<!doctype html><meta charset='utf-8'><title>Feedback: {html.escape(student)}</title>",
             f"<h1>Feedback for {html.escape(student)}</h1>",
             "<table border=1 cellpadding=4><tr><th>notebook</th><th>exercise</th><th>points</th><th>note</th></tr>"]
    for row in rows:
        name = row["notebook"]
        source = course_dir / "feedback" / student / name / f"{name}.html"
        link = html.escape(name)
        if source.exists():
            shutil.copy2(source, target / source.name)
            link = f"<a href='{html.escape(student)}/{html.escape(source.name)}'>{html.escape(name)}</a>"
        lines.append(f"<tr><td>{link}</td><td><b>all</b></td><td><b>{row['total']:g} / {row['max']:g}</b></td><td>"
                     f"{html.escape(row['reason'].split('; ')[0] if row['reason'] and name not in grades else '')}"
                     "</td></tr>")
        grade = grades.get(name)
        for grade_id, points in exercises[name].cells.items():
            result = grade.results.get(grade_id) if grade else None
            earned = result.earned if result else 0.0
            reason = (result.reason or "passed") if result else "not graded"
            lines.append(f"<tr><td></td><td>{html.escape(grade_id)}</td><td>{earned:g} / {points:g}</td>"
                         f"<td>{html.escape(reason)}</td></tr>")
    lines.append("</table>")
    write_text_atomically(feedback_dir / f"{student}.html", "\n".join(lines))


# --------------------------------------------------------------------------- a class

def grade_submissions(
    submissions: Path,
    solutions: Path = Path("solutions"),
    out: Path | None = None,
    show_progress: bool = True,
    course_dir: Path | None = None,
    workers: int | None = None,
    memory_limit_gb: float | None = 8.0,
    time_limit: float = 300.0,
    feedback: bool = True,
    force: bool = False,
    no_sandbox: bool = False,
    dataset: str = "ml-100k",
) -> pd.DataFrame:
    """Grade every student folder in ``submissions``; returns the grades table (also written to
    ``out/grades.csv`` after each student)."""
    submissions, solutions = Path(submissions).resolve(), Path(solutions).resolve()
    if not submissions.exists():
        raise FileNotFoundError(f"The submissions folder {submissions} does not exist.")
    out = Path(out).resolve() if out else submissions.parent / "grading"
    course_dir = Path(course_dir).resolve() if course_dir else out / "course"
    check_paths(submissions, out, course_dir, solutions)
    if submissions.is_file() and submissions.suffix.lower() != ".zip":
        raise ValueError(f"{submissions} is neither a folder nor a .zip download.")
    limits = Limits(memory_gb=memory_limit_gb or 0, seconds=time_limit)
    sandbox = find_sandbox(no_sandbox, limits)       # refuses before anything is written
    _claim(out)
    if submissions.is_file():
        submissions = _unpack(submissions, out / "downloaded")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise ValueError(f"{submissions} holds no student folders (one folder per student, with their notebooks).")
    exercises = prepare_course(solutions, course_dir)
    releases = {name: release_notebook(course_dir, name) for name in exercises}
    (out / "feedback").mkdir(exist_ok=True)
    state_path = out / ".grading-state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() and not force else {}
    settings = {"memory": memory_limit_gb, "time": time_limit, "sandbox": sandbox.kind, "dataset": dataset}
    rows: dict[str, list[dict]] = {}
    todo = []
    for student in students:
        files, notes = find_notebooks(submissions / student, exercises)
        fingerprint = _fingerprint(files, solutions, settings)
        if state.get(student, {}).get("fingerprint") == fingerprint:
            rows[student] = state[student]["rows"]
        else:
            todo.append((student, files, notes, fingerprint))
    if show_progress:
        print(f"grading {len(todo)} of {len(students)} students ({len(students) - len(todo)} unchanged) with "
              f"{sandbox.describe()}", flush=True)
    context = judges.Context(dataset)
    for name in exercises:       # data sets and references the judges need: once, before the workers
        for _, rule in judges.exercises(name).values():
            if rule.inputs is not None:
                rule.inputs(context)
    judged_on = context.loaded_data_name()
    if judged_on is not None and judged_on.startswith("synthetic"):
        print(f"course-grade: the challenges are judged on the {judged_on}: {dataset} is not on this machine "
              "(set COURSE_LIB_DATA to its folder, or let course_lib download it) and their scores are not "
              "comparable with the notebook's.", file=sys.stderr, flush=True)
    elif judged_on is not None and show_progress:
        print(f"challenges judged on {judged_on}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="course-grade-"))
    library = student_library(work / "library")
    lock = threading.Lock()

    def grade_student(student: str, files: dict[str, Path]) -> dict[str, NotebookGrade]:
        grades = {}
        for name, path in files.items():
            try:
                grades[name] = grade_notebook(path, name, releases[name], exercises[name].cells, sandbox, library,
                                              context, work)
            except Exception as error:  # noqa: BLE001 - one notebook the grader cannot handle stops nobody else
                reason = f"the grader could not grade this notebook ({type(error).__name__}: {str(error)[:200]})"
                grades[name] = NotebookGrade(name, {grade_id: Result(grade_id, points, reason=reason)
                                                    for grade_id, points in exercises[name].cells.items()})
        return grades

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
            futures = {pool.submit(grade_student, student, files): (student, files, notes, fingerprint,
                                                                    time.perf_counter())
                       for student, files, notes, fingerprint in todo}
            for future in concurrent.futures.as_completed(futures):
                student, files, notes, fingerprint, started = futures[future]
                grades = future.result()
                with lock:
                    record(course_dir, student, grades, files, exercises, feedback)
                    student_rows = _rows(student, grades, exercises, notes)
                    rows[student] = student_rows
                    state[student] = {"fingerprint": fingerprint, "rows": student_rows,
                                      "seconds": {name: round(g.seconds, 2) for name, g in grades.items()}}
                    _feedback_page(out / "feedback", course_dir, student, student_rows, grades, exercises)
                    table = _table([r for s in sorted(rows) for r in rows[s]], exercises)
                    write_text_atomically(out / "grades.csv", table.to_csv(index=False))
                    write_text_atomically(state_path, json.dumps(state))
                if show_progress:
                    print(f"graded {student} in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = _table([r for s in sorted(rows) if s in students for r in rows[s]], exercises)
    write_text_atomically(out / "grades.csv", table.to_csv(index=False))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade student submissions (each in a sandbox) into grades.csv "
                                                 "and nbgrader's gradebook.")
    parser.add_argument("submissions", type=Path, help="folder with one subfolder of notebooks per student, or a .zip")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--course", type=Path, default=Path("course"), help="nbgrader's course directory")
    parser.add_argument("--out", type=Path, default=None, help="where grades.csv and feedback/ go (new, empty, or "
                                                               "an earlier grading output)")
    parser.add_argument("--workers", type=int, default=None, help="students graded at once (default: the cores)")
    parser.add_argument("--memory-limit", type=float, default=8.0, help="GiB of address space per student process")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds one notebook's exercises may run")
    parser.add_argument("--dataset", default="ml-100k", help="the data set the challenges are judged on")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader's feedback pages")
    parser.add_argument("--force", action="store_true", help="grade everyone again, even unchanged submissions")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run students' code WITHOUT a sandbox, as yourself (only where bubblewrap cannot run "
                             "and you trust every submission)")
    arguments = parser.parse_args(argv)
    try:
        table = grade_submissions(arguments.submissions, arguments.solutions, arguments.out,
                                  course_dir=arguments.course, workers=arguments.workers,
                                  memory_limit_gb=arguments.memory_limit or None, time_limit=arguments.time_limit,
                                  feedback=not arguments.no_feedback, force=arguments.force,
                                  no_sandbox=arguments.no_sandbox, dataset=arguments.dataset)
    except (SandboxUnavailable, UnsafeOutput, FileNotFoundError, ValueError) as error:
        print(f"course-grade: {error}", file=sys.stderr)
        return 2
    with pd.option_context("display.width", 250, "display.max_columns", 60, "display.max_colwidth", 90):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
