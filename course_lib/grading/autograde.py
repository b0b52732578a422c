"""Grade one notebook of one student: probes in the sandbox, judges here.

``grade_notebook`` reads the submission (as data: nothing of it runs in this process), writes the job
(the definitions of its code cells, the exercises, the judges' inputs) into a fresh folder, runs
``course_lib.grading.probes.runner`` in the sandbox on it, and judges what comes back. A process that
dies or runs out of time costs only the exercise it was running (``started``): the grader starts a
new process for the exercises after it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from course_lib.grading import judges
from course_lib.grading.probes import MAX_OUTPUT_BYTES, ProbeError, decode
from course_lib.grading.sandbox import JOB, LIBRARY, Sandbox, write_json_atomically
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


def _read_result(folder: Path, grade_id: str) -> tuple[dict | None, dict | None]:
    """The runner's record and outputs for one exercise, read as data (size-capped, no pickle)."""
    record_file, outputs_file = folder / f"{grade_id}.json", folder / f"{grade_id}.npz"
    if not record_file.is_file() or record_file.stat().st_size > _JSON_BYTES:
        return None, None
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(record, dict):
        return None, None
    outputs = None
    if record.get("outputs") and outputs_file.is_file() and outputs_file.stat().st_size <= MAX_OUTPUT_BYTES:
        try:
            outputs = decode(outputs_file.read_bytes())
        except (ProbeError, ValueError, OSError, EOFError):
            outputs = None
    return record, outputs


def _text(value, limit: int = 600) -> str:
    return str(value)[:limit] if value is not None else ""


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
        result.reason = f"the check says: {_text(record.get('hint'))}"
        return result
    if record.get("error"):
        result.reason = f"on the grader's inputs your code raised {_text(record['error'])}"
        return result
    if outputs is None:
        result.reason = "your code returned no readable result (outputs that are not arrays or numbers?)"
        return result
    try:
        judges.judge(notebook, grade_id, outputs, context)
    except judges.Failed as failure:
        result.reason = f"hidden test: {_text(failure, 800)}"
        return result
    except Exception as error:  # noqa: BLE001 - outputs of a kind the judge cannot compare
        result.reason = f"hidden test: your results could not be compared ({type(error).__name__})"
        return result
    result.status, result.earned, result.reason = "passed", points, ""
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
                arrays = rule.inputs(context)
                with open(job / "inputs" / f"{grade_id}.npz", "wb") as handle:
                    np.savez(handle, **arrays)
        (job / "cells.json").write_text(json.dumps(cells), encoding="utf-8")
        limits = sandbox.limits
        pending = list(exercises)
        while pending:
            write_json_atomically(job / "job.json", {
                "notebook": notebook, "exercises": pending,
                "limits": {"memory_gb": limits.memory_gb, "processes": limits.processes, "file_mb": limits.file_mb}})
            (job / "started").unlink(missing_ok=True)
            seconds = _STARTUP_SECONDS + 120 + sum(exercises[g][0].seconds for g in pending)
            argv = [sys.executable, "-s", "-B", "-m", "course_lib.grading.probes.runner", JOB]
            run = sandbox.run(job, library, argv, min(seconds, limits.seconds + _STARTUP_SECONDS))
            done = [g for g in pending if (job / "results" / f"{g}.json").is_file()]
            rest = [g for g in pending if g not in done]
            for grade_id in done:
                record, outputs = _read_result(job / "results", grade_id)
                if record is None:
                    grade.results[grade_id] = Result(grade_id, points.get(grade_id, 0.0),
                                                     reason="the grader could not read this exercise's result")
                    continue
                grade.results[grade_id] = _verdict(notebook, grade_id, points.get(grade_id, 0.0), record, outputs,
                                                   context, exercises[grade_id][0].names)
            if not rest:
                break
            try:
                culprit = (job / "started").read_text(encoding="utf-8")[:200]
            except (OSError, UnicodeDecodeError):
                culprit = ""
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


__all__ += ["LIBRARY"]
