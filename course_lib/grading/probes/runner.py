"""The program the sandbox runs: a student's definitions, then each exercise's visible check and probe.

    python -s -B -m course_lib.grading.probes.runner JOB_FOLDER

``JOB_FOLDER/job.json`` names the notebook, the exercises (grade ids, in order) and the limits;
``cells.json`` holds the definitions of the student's code cells (``course_lib.grading.submission``);
``inputs/<grade id>.npz`` what a judge sends. For each exercise the runner writes
``results/<grade id>.json`` (the visible check's status and hint, the probe's error) and
``results/<grade id>.npz`` (the probe's outputs), each atomically, and before starting one it writes
its grade id to ``started``, so the grader can tell which exercise a dead process was running.

Nothing here is trusted by the grader: the student's code runs in this process and may change
anything in it. It can only make its own results wrong; the grader reads them as data.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

_TEXT = 2000     # characters of a hint or an error kept


class _Timeout(BaseException):
    """One exercise ran past its time (a BaseException, so `except Exception` in student code misses it)."""


class _Capped(io.TextIOBase):
    """stdout / stderr for student code: kept in memory up to a few kilobytes, the rest dropped."""

    def __init__(self, limit: int = 20000):
        self.parts, self.size, self.limit = [], 0, limit

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        if self.size < self.limit:
            self.parts.append(text[: self.limit - self.size])
            self.size += len(text)
        return len(text)

    def flush(self):
        pass


def _limits(job: dict) -> None:
    limits = job.get("limits", {})
    pairs = [(resource.RLIMIT_CORE, 0)]
    if limits.get("memory_gb"):
        pairs.append((resource.RLIMIT_AS, int(limits["memory_gb"] * 1024 ** 3)))
    if limits.get("processes"):
        pairs.append((resource.RLIMIT_NPROC, int(limits["processes"])))
    if limits.get("file_mb"):
        pairs.append((resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 1024 ** 2))
    for kind, value in pairs:
        try:
            soft, hard = resource.getrlimit(kind)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass


def _where(error: BaseException) -> str:
    """The student's own lines in a traceback (their cells are compiled as ``<cell N>``)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<cell")]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, {frame.filename[1:-1]}, line {frame.lineno})"


def _describe(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    first = message[0] if message else ""
    return (f"{type(error).__name__}: {first}" if first else type(error).__name__)[:_TEXT] + _where(error)


def _stub(error: NotImplementedError) -> bool:
    """A stub raises NotImplementedError in the student's own cell; one raised inside a library
    the answer called is a mistake (the answer is there, and calls something unfinished or abstract)."""
    frames = traceback.extract_tb(error.__traceback__)
    return not frames or frames[-1].filename.startswith("<cell")


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _alarm(seconds: float) -> None:
    def expire(signum, frame):
        raise _Timeout(f"ran past its {seconds:g} s")
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def main(folder: str) -> None:
    job_folder = Path(folder)
    job = json.loads((job_folder / "job.json").read_text(encoding="utf-8"))
    cells = json.loads((job_folder / "cells.json").read_text(encoding="utf-8"))
    results = job_folder / "results"
    results.mkdir(exist_ok=True)
    _limits(job)
    # student output goes nowhere the grader reads; a closed or flooded stdout costs nothing
    sys.stdout = sys.stderr = _Capped()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    from course_lib.checks import ExerciseHint
    from course_lib.grading.probes import encode, probes_of

    probes = probes_of(job["notebook"])
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    problems: dict[str, str] = {}
    _alarm(float(job.get("definition_seconds", 120)))
    try:
        for cell in cells:
            if cell.get("problem"):
                problems[str(cell["index"])] = cell["problem"]
                continue
            try:
                exec(compile(cell["source"], f"<cell {cell['index']}>", "exec"), namespace)  # noqa: S102
            except _Timeout:
                raise
            except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: the student's
                problems[str(cell["index"])] = _describe(error)
    except _Timeout:
        problems["definitions"] = "defining the notebook's functions and classes ran past its time"
    signal.setitimer(signal.ITIMER_REAL, 0)

    for grade_id in job["exercises"]:
        _write(job_folder / "started", grade_id.encode())
        probe = probes[grade_id]
        record: dict = {"grade_id": grade_id, "problems": problems}
        missing = [name for name in probe.names if name not in namespace]
        if missing:
            record["missing"] = missing
            _write(results / f"{grade_id}.json", json.dumps(record).encode())
            continue
        inputs = {}
        input_file = job_folder / "inputs" / f"{grade_id}.npz"
        if input_file.exists():
            with np.load(input_file, allow_pickle=False) as archive:
                inputs = {key: archive[key] for key in archive.files}
        _alarm(float(probe.seconds))
        try:
            if probe.visible is not None:
                try:
                    probe.visible(namespace, inputs)
                    record["visible"] = "passed"
                except NotImplementedError as error:
                    record["visible"], record["hint"] = ("not-done" if _stub(error) else "failed"), _describe(error)
                except ExerciseHint as error:
                    record["visible"], record["hint"] = "failed", str(error)[:_TEXT]
                except _Timeout:
                    raise
                except BaseException as error:  # noqa: BLE001
                    record["visible"], record["hint"] = "failed", _describe(error)
            try:
                outputs = probe.run(namespace, inputs)
                data = encode(outputs)
                record["outputs"] = True
            except NotImplementedError as error:
                record["error"], record["not_done"] = _describe(error), _stub(error)
            except _Timeout:
                raise
            except BaseException as error:  # noqa: BLE001
                record["error"] = _describe(error)
        except _Timeout as error:
            record["timeout"] = str(error)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if record.get("outputs"):
            _write(results / f"{grade_id}.npz", data)
        _write(results / f"{grade_id}.json", json.dumps(record).encode())
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
