"""Grade one notebook of one student: probes in the sandbox, judges here.

``grade_notebook`` reads the submission (as data: nothing of it runs in this process), writes the job
(the definitions of its code cells, the exercises, the judges' inputs) into a fresh folder, runs
``course_lib.grading.probes.runner`` in the sandbox on it, and judges what comes back. A process that
dies or runs out of time costs only the exercise it was running (``started``): the grader starts a
new process for the exercises after it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from course_lib.grading import judges
from course_lib.grading.generate import write_text_atomically
from course_lib.grading.probes import MAX_OUTPUT_BYTES, ProbeError, decode
from course_lib.grading.sandbox import JOB, Sandbox
from course_lib.grading.submission import Match, definitions, match_cells

__all__ = ["Result", "NotebookGrade", "grade_notebook"]

_STARTUP_SECONDS = 60        # interpreter, NumPy, PyTorch and the library, on a loaded machine
_JSON_BYTES = 1_000_000


@dataclass
class Result:
    """One exercise's grade: points earned of ``points``, and the reason shown to the student."""

    grade_id: str
    points: float
    earned: float = 0.0
    reason: str = ""
    status: str = "failed"          # passed | failed | not-done | missing


@dataclass
class NotebookGrade:
    notebook: str
    results: dict[str, Result]
    matches: list[Match] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _read(path: Path, limit: int) -> bytes | None:
    """A file the sandbox wrote, only if it is a plain file (never a link to one of the grader's
    files: the sandbox's links point into the grader's file system) of at most ``limit`` bytes."""
    try:
        for part in (path.parent, path):
            mode = os.lstat(part).st_mode
            if not (stat.S_ISDIR(mode) if part == path.parent else stat.S_ISREG(mode)):
                return None
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            return None
        return handle.read(limit + 1)[:limit]


def _read_result(folder: Path, grade_id: str) -> tuple[dict | None, dict | None]:
    """The runner's record and outputs for one exercise, read as data (size-capped, no pickle)."""
    text = _read(folder / f"{grade_id}.json", _JSON_BYTES)
    try:
        record = json.loads(text.decode("utf-8")) if text is not None else None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(record, dict):
        return None, None
    outputs = None
    data = _read(folder / f"{grade_id}.npz", MAX_OUTPUT_BYTES) if record.get("outputs") else None
    if data is not None:
        try:
            outputs = decode(data)
        except (ProbeError, ValueError, OSError, EOFError, KeyError):
            outputs = None
    return record, outputs


def _text(value, limit: int = 600) -> str:
    return str(value)[:limit] if value is not None else ""


def _name_hint(text) -> str:
    if "NameError" not in str(text):
        return ""
    return (" (the grader runs only your notebook's imports, functions, classes and constants, not its other "
            "cells: an answer must not use a variable that a cell computes)")


def _verdict(notebook: str, grade_id: str, points: float, record: dict, outputs, context, names) -> Result:
    result = Result(grade_id, points)
    if record.get("missing"):
        missing = ", ".join(f"`{name}`" for name in record["missing"])
        problems = "; ".join(f"{_text(p, 200)}" for p in record.get("problems", {}).values())
        result.status = "missing"
        result.reason = (f"your notebook does not define {missing}"
                         + (f" (a cell could not run: {problems})" if problems else ""))
        return result
    if record.get("timeout"):
        result.reason = f"{', '.join(names)} {_text(record['timeout'])}: an endless loop, or far too slow"
        return result
    visible = record.get("visible")
    if visible == "not-done" or record.get("not_done"):
        result.status, result.reason = "not-done", "not done yet (the stub raises NotImplementedError)"
        return result
    if visible == "failed":
        result.reason = f"the check says: {_text(record.get('hint'))}" + _name_hint(record.get("hint"))
        return result
    if record.get("error"):
        result.reason = f"on the grader's inputs your code raised {_text(record['error'])}"
        result.reason += _name_hint(record["error"])
        return result
    if outputs is None:
        result.reason = "your code returned no readable result (outputs that are not arrays or numbers?)"
        return result
    try:
        share = judges.judge(notebook, grade_id, outputs, context)
    except judges.Failed as failure:
        result.reason = f"hidden test: {_text(failure, 800)}"
        return result
    except Exception as error:  # noqa: BLE001 - outputs of a kind the judge cannot compare
        result.reason = f"hidden test: your results could not be compared ({type(error).__name__})"
        return result
    result.status, result.earned, result.reason = "passed", round(points * share, 6), ""
    if share < 1.0:
        result.status, result.reason = "partial", f"partial credit: {share:.0%} of the points"
    return result


def grade_notebook(path: Path, notebook: str, release: nbformat.NotebookNode, points: dict[str, float],
                   sandbox: Sandbox, library: Path, context: judges.Context, work: Path) -> NotebookGrade:
    """Grade ``path`` (a student's copy of ``notebook``); ``release`` is the notebook the students got,
    ``points`` grade id -> points, ``library`` the student edition of the course library."""
    import time

    started = time.perf_counter()
    exercises = judges.exercises(notebook)
    grade = NotebookGrade(notebook, {})
    try:
        submission = nbformat.read(str(path), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file
        for grade_id in exercises:
            grade.results[grade_id] = Result(grade_id, points.get(grade_id, 0.0),
                                             reason=f"the notebook could not be read ({type(error).__name__})")
        return grade
    grade.matches = match_cells(submission, release)
    for match in grade.matches:
        if match.how in ("cell id", "its source"):
            grade.notes.append(f"cell {match.grade_id!r} found by {match.how} (its nbgrader metadata was lost)")
    tests = {match.index for match in grade.matches if match.index is not None}
    cells = [vars(found) for found in definitions(submission, skip=tests)]

    job = Path(tempfile.mkdtemp(prefix="job-", dir=work))
    try:
        (job / "inputs").mkdir()
        (job / "results").mkdir()
        for grade_id, (_, rule) in exercises.items():
            if rule.inputs is not None:
                with judges.JUDGING:
                    arrays = rule.inputs(context)
                with open(job / "inputs" / f"{grade_id}.npz", "wb") as handle:
                    np.savez(handle, **arrays)
        (job / "cells.json").write_text(json.dumps(cells), encoding="utf-8")
        limits = sandbox.limits
        pending = list(exercises)
        while pending:
            write_text_atomically(job / "job.json", json.dumps({
                "notebook": notebook, "exercises": pending,
                "limits": {"memory_gb": limits.memory_gb, "processes": limits.processes, "file_mb": limits.file_mb}}))
            (job / "started").unlink(missing_ok=True)
            seconds = min(_STARTUP_SECONDS + sum(exercises[g][0].seconds for g in pending), limits.seconds)
            argv = [sys.executable, "-s", "-B", "-m", "course_lib.grading.probes.runner", JOB]
            run = sandbox.run(job, library, argv, seconds)
            done = [g for g in pending if _read(job / "results" / f"{g}.json", _JSON_BYTES) is not None]
            rest = [g for g in pending if g not in done]
            for grade_id in done:
                record, outputs = _read_result(job / "results", grade_id)
                if record is None:
                    grade.results[grade_id] = Result(grade_id, points.get(grade_id, 0.0),
                                                     reason="the grader could not read this exercise's result")
                    continue
                try:
                    verdict = _verdict(notebook, grade_id, points.get(grade_id, 0.0), record, outputs, context,
                                       exercises[grade_id][0].names)
                except Exception:  # noqa: BLE001 - a record the sandbox forged into something unreadable
                    verdict = Result(grade_id, points.get(grade_id, 0.0),
                                     reason="the grader could not read this exercise's result")
                grade.results[grade_id] = verdict
            if not rest:
                break
            culprit = (_read(job / "started", 200) or b"").decode("utf-8", "replace")
            culprit = culprit if culprit in rest else rest[0]
            how = ("ran past the time limit" if run.timed_out else
                   f"the process ended (exit status {run.returncode}) before this exercise's result was written")
            grade.results[culprit] = Result(grade_id=culprit, points=points.get(culprit, 0.0),
                                            reason=f"{how}: an endless loop, `exit()`, a crash or the memory limit?")
            pending = [g for g in rest if g != culprit]
    finally:
        shutil.rmtree(job, ignore_errors=True)
    grade.seconds = time.perf_counter() - started
    return grade

