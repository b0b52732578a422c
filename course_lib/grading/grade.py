"""Grade a class with nbgrader's course flow: one assignment per notebook, one working copy per student.

    course-grade SUBMISSIONS [--course course] [--out DIR] [--workers N] [--cell-timeout 120]
                 [--student-timeout 1800] [--memory-limit 8] [--force] [--quick] [--no-feedback]
    make grade SUBMISSIONS=DIR        (or SUBMISSIONS=download.zip, an LMS download)

``SUBMISSIONS`` holds one folder per student with their notebooks, under any names and in any
subfolder (``alice/hw/00_data_and_evaluation (1).ipynb``): a notebook is recognised by the grade
cells it holds, then by a name close to the course's. A ``.zip`` (an LMS download) is unpacked
first, one top-level folder per student.

The course directory (``course/`` in the repository: ``nbgrader_config.py``, ``source/<NN>/<NN>.ipynb``
copied from ``solutions/``, ``gradebook.db``, ``submitted/``, ``autograded/``, ``feedback/``) is
nbgrader's own: ``nbgrader generate_assignment NN`` records each notebook as an assignment, and
after grading the formgrader, ``nbgrader generate_feedback`` and ``nbgrader export`` work from it
as in any nbgrader course. All the notebooks of a student are autograded by one ``nbgrader autograde
"*"`` (one process, one gradebook session; a new one only for the notebooks a dead process had not
reached) in a working copy in the system's temporary folder (its own small gradebook holding the
assignments only), in its own process group, with a time limit per cell and per student and a memory limit,
with ``GuardedExecute`` (hooks reset before test cells, warnings kept, dead kernels contained).
The points are read from the autograded notebook, never from anything the student's kernel could
write, and recorded in the course gradebook as automatic scores (re-grading replaces them).

Results, in ``--out`` (default ``SUBMISSIONS/../grading``), updated after every student
(atomically): ``grades.csv`` (student, notebook, points per exercise, total, max, reason),
``logs/<student>.log`` (nbgrader's output), ``feedback/<student>.html`` (a summary linking
nbgrader's feedback pages). A re-run resumes: students whose files did not change keep their rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import hashlib
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd

from course_lib.grading.execute import import_statements
from course_lib.grading.generate import write_text_atomically

__all__ = ["grade_submissions", "prepare_course", "find_notebooks", "resolve_duplicates", "main", "COURSE_ID"]

COURSE_ID = "course-recsys"
_STATE_VERSION = "2"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_PLAIN_REASONS = {
    "NotImplementedError": "not done (NotImplementedError)",
    "KeyboardInterrupt": "interrupted: a cell ran past the per-cell timeout (an endless loop?)",
    "CellTimeoutError": "interrupted: a cell ran past the per-cell timeout (an endless loop?)",
}


@dataclass
class Exercise:
    """One course notebook: its autograded test cells (grade id -> points) and what identifies it."""

    name: str
    cells: dict[str, float]
    ids: set[str]
    imports: list[str]


@dataclass
class Outcome:
    """The grading of one notebook of one student."""

    points: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    autograded: Path | None = None
    submitted: Path | None = None


# --------------------------------------------------------------------------- the course directory

CONFIG_TEMPLATE = '''\
"""nbgrader's configuration for this course directory (written by course-grade; edit freely)."""
import os

from course_lib.grading.nbgrader_setup import configure

c = get_config()  # noqa: F821 - provided by nbgrader
configure(c, os.path.dirname(os.path.abspath(__file__)))
'''


def _exercises(solutions: Path) -> dict[str, Exercise]:
    exercises: dict[str, Exercise] = {}
    seen: dict[str, str] = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells, ids = {}, set()
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id"):
                ids.add(meta["grade_id"])
            if meta.get("grade") and cell.cell_type == "code":
                cells[meta["grade_id"]] = float(meta.get("points", 0))
        for grade_id in cells:
            if grade_id in seen:
                raise ValueError(f"Grade id {grade_id!r} appears in both {seen[grade_id]} and {path.stem}: grade "
                                 "ids must be unique across the course (they name the columns of grades.csv).")
            seen[grade_id] = path.stem
        if cells:
            exercises[path.stem] = Exercise(path.stem, cells, ids, import_statements(notebook))
    if not exercises:
        raise ValueError(f"No solution notebook in {solutions} has autograded cells: nothing to grade.")
    return exercises


def _environment() -> dict[str, str]:
    # nbgrader runs `alembic` by name: the tools of this Python's environment must be on PATH.
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def prepare_course(solutions: Path, course_dir: Path) -> dict[str, Exercise]:
    """Copy ``solutions/NN.ipynb`` to ``course_dir/source/NN/NN.ipynb`` and run nbgrader's
    ``generate_assignment`` for every notebook whose source changed; returns the exercises."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    solutions, course_dir = Path(solutions).resolve(), Path(course_dir).resolve()
    os.environ["PATH"] = _environment()["PATH"]     # nbgrader's in-process API runs `alembic` too
    exercises = _exercises(solutions)
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    stale = []
    for name in exercises:
        source = course_dir / "source" / name / f"{name}.ipynb"
        release = course_dir / "release" / name / f"{name}.ipynb"
        text = (solutions / f"{name}.ipynb").read_bytes()
        if not source.exists() or source.read_bytes() != text or not release.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(text)
            stale.append(name)
    if stale:
        from traitlets.config import Config

        from course_lib.grading.nbgrader_setup import configure

        settings = Config()
        configure(settings, str(course_dir))
        api = NbGraderAPI(CourseDirectory(config=settings), config=settings)
        for name in stale:
            with _quiet():
                result = api.generate_assignment(name, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result['log']}\n{result.get('error')}")
    return exercises


class _quiet:
    """Silence nbgrader's log handlers on stderr for in-process API calls."""

    def __enter__(self):
        import logging
        self._loggers = [logging.getLogger(), logging.getLogger("traitlets")]
        self._levels = [logger.level for logger in self._loggers]
        for logger in self._loggers:
            logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        for logger, level in zip(self._loggers, self._levels, strict=True):
            logger.setLevel(level)


def _template_gradebook(course_dir: Path, target: Path) -> None:
    """A gradebook with the course's assignments and no student: what a working copy starts from."""
    from nbgrader.api import Gradebook

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course_dir / "gradebook.db", target)
    with Gradebook(f"sqlite:///{target}") as gradebook:
        for student in list(gradebook.students):
            gradebook.remove_student(student.id)
    connection = sqlite3.connect(target)
    connection.execute("VACUUM")
    connection.close()


# --------------------------------------------------------------------------- finding notebooks

def _normal(name: str) -> str:
    name = re.sub(r"\s*\(\d+\)$", "", name.lower())              # "x (1)" from browsers and LMSs
    name = re.sub(r"[-_ ]*(copy|kopie|final|v\d+)$", "", name)
    return re.sub(r"[^a-z0-9]+", "", name)


def find_notebooks(folder: Path, exercises: dict[str, Exercise]) -> tuple[dict[str, Path], dict[str, str]]:
    """Which file of a student's folder is which course notebook.

    A notebook holding grade ids of a course notebook is that notebook, whatever its name; a file
    that holds none (or cannot be read) is matched on its name, ignoring case, punctuation and
    suffixes such as `` (1)`` or ``-copy``. Two candidates: the newest file wins. Returns the
    matches and a note per notebook explaining a match that was not exact."""
    candidates: dict[str, list[tuple[Path, str]]] = {}
    files = [p for p in sorted(Path(folder).rglob("*.ipynb"))
             if not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    for path in files:
        matched = None
        try:
            text = path.read_text(encoding="utf-8")
            overlap = {name: sum(f'"{grade_id}"' in text for grade_id in exercise.ids)
                       for name, exercise in exercises.items()}
            best = max(overlap, key=overlap.get)
            if overlap[best] > 0:
                matched, how = best, "its grade cells"
        except (OSError, UnicodeDecodeError):
            pass
        if matched is None:
            normal = {_normal(name): name for name in exercises}
            key = _normal(path.stem)
            close = difflib.get_close_matches(key, list(normal), n=1, cutoff=0.85)
            if key in normal:
                matched, how = normal[key], "its name"
            elif close:
                matched, how = normal[close[0]], "a close name"
        if matched is not None:
            candidates.setdefault(matched, []).append((path, how))
    chosen, notes = {}, {}
    for name, found in candidates.items():
        found.sort(key=lambda item: (item[0].stat().st_mtime, str(item[0])), reverse=True)
        path, how = found[0]
        chosen[name] = path
        relative = path.relative_to(folder).as_posix()
        if relative != f"{name}.ipynb":
            notes[name] = f"graded {relative!r} (matched by {how})"
        if len(found) > 1:
            others = ", ".join(repr(p.relative_to(folder).as_posix()) for p, _ in found[1:])
            notes[name] = f"graded {relative!r}, the newest of {len(found)} files for this notebook (also {others})"
    return chosen, notes


def resolve_duplicates(notebook: nbformat.NotebookNode, order: list[str]) -> list[str]:
    """Keep one cell per nbgrader grade id (the copy pasted in JupyterLab loses its nbgrader metadata).

    The cell kept is the one in the original position: the one whose preceding nbgrader cell is the
    one the source notebook has before it (``order``: grade ids in source order); failing that, the
    first. Returns a note for each id that was duplicated."""
    positions: dict[str, list[int]] = {}
    for index, cell in enumerate(notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            positions.setdefault(grade_id, []).append(index)
    notes = []
    for grade_id, indices in positions.items():
        if len(indices) < 2:
            continue
        expected = order.index(grade_id) if grade_id in order else -1
        previous = order[expected - 1] if expected > 0 else None

        def preceding(index: int, grade_id: str = grade_id) -> str | None:
            for earlier in range(index - 1, -1, -1):
                other = notebook.cells[earlier].metadata.get("nbgrader", {}).get("grade_id")
                if other and other != grade_id:
                    return other
            return None

        keep = next((i for i in indices if preceding(i) == previous), indices[0])
        for index in indices:
            if index != keep:
                del notebook.cells[index].metadata["nbgrader"]
        copies = ", ".join(str(i) for i in indices if i != keep)
        notes.append(f"cell {grade_id!r} appears {len(indices)} times (a pasted copy): graded the one in its "
                     f"original position (cell {keep}); cell {copies} ran as ordinary code")
    return notes


# --------------------------------------------------------------------------- one notebook, one working copy

def _launcher(memory_gb: float | None) -> list[str]:
    if memory_gb and sys.platform.startswith("linux"):
        limit = int(memory_gb * 1024 ** 3)
        code = (f"import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
                "os.execv(sys.executable, [sys.executable, '-m', 'nbgrader'] + sys.argv[1:])")
        return [sys.executable, "-c", code]
    return [sys.executable, "-m", "nbgrader"]


def _last_error(log: Path) -> str:
    """``: <the last exception line>`` of a log's last section (nbgrader's traceback), or nothing."""
    try:
        section = log.read_text(encoding="utf-8", errors="replace").rsplit("\n===== ", 1)[-1]
    except OSError:
        return ""
    errors = re.findall(r"^\s*((?:\w+\.)*\w*(?:Error|Exception)\w*: .+)$", section, flags=re.MULTILINE)
    errors = [e for e in errors if "see the the above traceback" not in e and "see the above traceback" not in e]
    return f": {errors[-1].strip()[:200]}" if errors else ""


def _cell_reason(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        printed = [line for o in cell.get("outputs", []) if o.get("output_type") == "stream"
                   for line in str(o.get("text", "")).splitlines() if line.strip()]
        return "partial credit" + (f": {printed[-1].strip()[:200]}" if printed else "")
    error = errors[0]
    name = error.get("ename", "error")
    if name in _PLAIN_REASONS:
        return _PLAIN_REASONS[name]
    value = [line.strip() for line in str(error.get("evalue", "")).strip().splitlines() if line.strip()]
    if value and value[0].startswith(("Not equal to tolerance", "Arrays are not")) and len(value) > 1:
        return f"{name}: {value[1][:160]} ({value[0][:80]})"      # numpy.testing: its err_msg is the 2nd line
    if value:
        return f"{name}: {value[0][:200]}"
    lines = [_ANSI.sub("", line) for entry in error.get("traceback", []) for line in str(entry).splitlines()]
    failing = [re.sub(r"^\d+\s+", "", line.split("---->", 1)[1].strip()) for line in lines if "---->" in line]
    return f"{name} at `{failing[-1][:160]}`" if failing else f"{name} (no message)"


def _prepare(exercise: Exercise, submission: Path, template: Path, quick: bool,
             outcome: Outcome) -> tuple[nbformat.NotebookNode | None, set]:
    """The student's notebook as it will be graded (pasted duplicates resolved, quick parameters),
    and the grade ids it holds; ``None`` when it cannot be read (the reason is in ``outcome``)."""
    name = exercise.name
    try:
        notebook = nbformat.read(submission, as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the student's problem
        outcome.reasons.append(f"unreadable notebook {submission.name!r} ({type(error).__name__}: "
                               f"{str(error).strip().splitlines()[0][:120] if str(error).strip() else ''})")
        return None, set()
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nbformat.read(
        template.parent / "source" / name / f"{name}.ipynb", as_version=4).cells]
    outcome.reasons += resolve_duplicates(notebook, [g for g in order if g])
    if quick:
        from course_lib.grading.check import with_quick_parameters
        try:
            notebook = with_quick_parameters(notebook)
        except ValueError:
            outcome.reasons.append("graded with the notebook's own parameters (its `parameters` cell is gone)")
    return notebook, {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}


def _run_autograde(work: Path, student: str, log: Path, remaining: float, memory_gb: float | None,
                   title: str) -> str | None:
    """One ``nbgrader autograde "*"`` in ``work`` (every assignment submitted there), in its own
    process group, killed with everything it started when it ends or runs out of time; returns why
    it failed, or None."""
    with open(log, "a", encoding="utf-8") as stream:
        stream.write(f"\n===== {title} =====\n")
        stream.flush()
        process = subprocess.Popen([*_launcher(memory_gb), "autograde", "*", f"--student={student}", "--force"],
                                   cwd=work, stdout=stream, stderr=subprocess.STDOUT, env=_environment(),
                                   start_new_session=True)
        killed = None
        try:
            code = process.wait(timeout=remaining)
            if code < 0:
                killed = f"the grading process was killed ({signal.Signals(-code).name})"
            elif code != 0:
                killed = f"nbgrader autograde failed (exit {code}{_last_error(log)})"
        except subprocess.TimeoutExpired:
            killed = "stopped: the student's time limit ran out"
        finally:
            if hasattr(os, "killpg"):
                try:
                    os.killpg(process.pid, signal.SIGKILL)   # the kernel and anything it started
                except (ProcessLookupError, PermissionError):
                    pass
            elif process.poll() is None:
                process.kill()            # Windows: no process groups; the kernel may outlive it
            process.wait()
    return killed


def _grade_student(exercises: dict[str, Exercise], files: dict[str, Path], student: str, template: Path, log: Path,
                   cell_timeout: int, deadline: float, memory_gb: float | None, quick: bool = False
                   ) -> dict[str, Outcome]:
    """Autograde all of one student's notebooks in one working copy with one ``nbgrader autograde``
    (one process, one gradebook session: the fixed cost of starting nbgrader and opening its database
    is paid once per student, not once per notebook). The points come from the autograded notebooks
    (or, for a notebook whose grading process died, from its progress file). When the process dies
    (a kernel that kills its parent, the time limit), the notebooks it had not reached are graded by
    a new process, so one notebook's crash costs only that notebook."""
    from nbgrader.utils import determine_grade, is_grade

    outcomes: dict[str, Outcome] = {}
    work = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        shutil.copy2(template, work / "gradebook.db")
        # the student's row, written directly: opening a Gradebook runs `alembic` (about 0.8 s) first
        connection = sqlite3.connect(work / "gradebook.db")
        with connection:
            connection.execute("INSERT INTO student (id) VALUES (?)", (student,))
        connection.close()
        (work / "progress").mkdir()
        imports = {name: exercise.imports for name, exercise in exercises.items()}
        (work / "nbgrader_config.py").write_text(
            "from course_lib.grading.nbgrader_setup import configure\n"
            f"configure(get_config(), {str(work)!r}, cell_timeout={int(cell_timeout)}, "
            f"progress_file={str(work / 'progress' / '{notebook}.json')!r}, "
            f"source_imports={json.dumps(imports)!r})\n", encoding="utf-8")
        keep = Path(tempfile.mkdtemp(prefix="course-grade-result-"))
        pending, present = [], {}
        for name, exercise in exercises.items():
            if name not in files:
                continue
            outcome = outcomes[name] = Outcome(dict.fromkeys(exercise.cells, 0.0))
            notebook, present[name] = _prepare(exercise, files[name], template, quick, outcome)
            if notebook is None:
                continue
            outcome.submitted = keep / f"{name}.submitted.ipynb"
            nbformat.write(notebook, outcome.submitted)
            pending.append(name)
        attempt = 0
        while pending:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                for name in pending:
                    outcomes[name].reasons.append("not run: the student's time limit ran out before this notebook")
                break
            staged = work / "submitted" / student
            if staged.exists():
                shutil.rmtree(staged)
            for name in pending:
                target = staged / name / f"{name}.ipynb"
                target.parent.mkdir(parents=True)
                shutil.copy2(outcomes[name].submitted, target)
            killed = _run_autograde(work, student, log, remaining, memory_gb,
                                    f"{', '.join(pending)} ({'run ' + str(attempt) if attempt > 1 else 'all notebooks'})")
            unreached = []
            for name in pending:
                exercise, outcome = exercises[name], outcomes[name]
                points = outcome.points
                autograded = work / "autograded" / student / name / f"{name}.ipynb"
                progress = work / "progress" / f"{name}.json"
                state = json.loads(progress.read_text()) if progress.exists() else None
                # nbgrader writes an unexecuted copy to autograded/ before running it: the file is the
                # result only when the guard finished the notebook and the file was written after that
                finished = bool(state and state.get("finished")) and autograded.exists()
                if finished and (killed is None or autograded.stat().st_mtime_ns >= progress.stat().st_mtime_ns):
                    graded = nbformat.read(autograded, as_version=4)
                    for cell in graded.cells:
                        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                        if cell.cell_type == "code" and grade_id in points and is_grade(cell):
                            score, _ = determine_grade(cell)
                            points[grade_id] = float(score or 0.0)
                            if points[grade_id] < exercise.cells[grade_id]:
                                outcome.reasons.append(f"{grade_id}: {_cell_reason(cell)}")
                    outcome.autograded = keep / f"{name}.autograded.ipynb"
                    shutil.copy2(autograded, outcome.autograded)
                elif state is None and killed is not None:
                    unreached.append(name)      # the process died before this notebook: grade it again
                else:
                    why = killed or "nbgrader autograde wrote no result"
                    where = f" in cell {state['cell']}" if state and state.get("cell") is not None else ""
                    for grade_id in exercise.cells:
                        earned = (state or {}).get("points", {}).get(grade_id)
                        if earned is not None:
                            points[grade_id] = float(earned)
                            if earned < exercise.cells[grade_id]:
                                reason = state.get("reasons", {}).get(grade_id) or "failed"
                                outcome.reasons.append(f"{grade_id}: {_PLAIN_REASONS.get(reason.split(':')[0], reason)}")
                        else:
                            outcome.reasons.append(f"{grade_id}: {why}{where} (log: {log.name})")
            if killed is not None and unreached == pending:     # nothing advanced: do not loop forever
                for name in unreached:
                    outcomes[name].reasons.append(f"not graded: {killed} (log: {log.name})")
                break
            pending = unreached
        for name, outcome in outcomes.items():
            if name in present and outcome.submitted is not None:
                for grade_id in exercises[name].cells:
                    if grade_id not in present[name]:
                        outcome.reasons.append(f"{grade_id}: the test cell was deleted from the submission")
                        outcome.points[grade_id] = 0.0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcomes


# --------------------------------------------------------------------------- a student, a class

def _fingerprint(files: dict[str, Path], solutions: Path, settings: dict) -> str:
    digest = hashlib.sha256(_STATE_VERSION.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(Path(solutions).glob("*.ipynb")):
        digest.update(path.read_bytes())
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(files[name].read_bytes())
    return digest.hexdigest()


def _record(course_dir: Path, student: str, outcomes: dict[str, Outcome], feedback: bool) -> None:
    """Write one student's graded notebooks into nbgrader's course directory and gradebook (main
    thread only): one gradebook session and one ``generate_feedback`` run for all of them."""
    from nbgrader.api import Gradebook, MissingEntry

    for name, outcome in outcomes.items():
        for step, path in (("submitted", outcome.submitted), ("autograded", outcome.autograded)):
            target = course_dir / step / student / name / f"{name}.ipynb"
            if target.parent.exists():
                shutil.rmtree(target.parent)
            if path is not None:
                target.parent.mkdir(parents=True)
                shutil.copy2(path, target)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        for name, outcome in outcomes.items():
            try:
                gradebook.remove_submission(name, student)     # re-grading replaces every earlier score
            except MissingEntry:
                pass
            if outcome.autograded is None:
                continue
            with warnings.catch_warnings():
                # nbgrader's own add_submission builds its objects before adding them to the session
                warnings.filterwarnings("ignore", message=".*not in session.*")
                submission = gradebook.add_submission(name, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in outcome.points:
                        grade.auto_score = outcome.points[grade.name]
                        grade.needs_manual_grade = False
        gradebook.db.commit()
    if feedback and any(outcome.autograded is not None for outcome in outcomes.values()):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config

        from course_lib.grading.nbgrader_setup import configure
        settings = Config()
        configure(settings, str(course_dir))
        with _quiet():      # "*": every assignment of the student in one run (nbgrader globs the assignment id)
            NbGraderAPI(CourseDirectory(config=settings), config=settings).generate_feedback("*", student)


def _unpack(archive: Path, target: Path) -> Path:
    """An LMS download: one top-level folder per student (``Alice Smith_1234_assignsubmission_file_``)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            parts = [p for p in Path(member.filename).parts if p not in ("", ".", "..")]
            if member.is_dir() or len(parts) < 2 or parts[0].startswith("__MACOSX"):
                continue
            student = re.sub(r"_\d+_assignsubmission_\w*$", "", parts[0]).strip()
            student = re.sub(r"[^\w.-]+", "_", student).strip("_") or "unknown"
            destination = target.joinpath(student, *parts[1:])
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(bundle.read(member))
    return target




def _table(rows: list[dict], exercises: dict[str, Exercise]) -> pd.DataFrame:
    columns = ["student", "notebook"] + [g for e in exercises.values() for g in e.cells] + ["total", "max", "reason"]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=columns)
    middle = [c for c in columns[2:-3] if c in table.columns]
    return table[["student", "notebook", *middle, "total", "max", "reason"]]


def grade_submissions(
    submissions: Path,
    solutions: Path = Path("solutions"),
    out: Path | None = None,
    cell_timeout: int = 120,
    student_timeout: int = 1800,
    show_progress: bool = True,
    course_dir: Path | None = None,
    workers: int | None = None,
    memory_limit_gb: float | None = 8.0,
    feedback: bool = True,
    force: bool = False,
    quick: bool = False,
) -> pd.DataFrame:
    """Autograde every student folder in ``submissions``; returns the grades table (also written
    to ``out/grades.csv`` after each student)."""
    submissions, solutions = Path(submissions).resolve(), Path(solutions).resolve()
    if not submissions.exists():
        raise FileNotFoundError(f"The submissions folder {submissions} does not exist.")
    out = Path(out).resolve() if out else submissions.parent / "grading"
    out.mkdir(parents=True, exist_ok=True)
    if submissions.is_file():
        if submissions.suffix.lower() != ".zip":
            raise ValueError(f"{submissions} is neither a folder nor a .zip download.")
        submissions = _unpack(submissions, out / "downloaded")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise ValueError(f"{submissions} holds no student folders (one folder per student, with their notebooks).")
    course_dir = Path(course_dir).resolve() if course_dir else out / "course"
    exercises = prepare_course(solutions, course_dir)
    template = out / ".template" / "gradebook.db"
    _template_gradebook(course_dir, template)
    for name in exercises:       # the working copies read the source order of the grade ids from here
        (template.parent / "source" / name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(course_dir / "source" / name / f"{name}.ipynb", template.parent / "source" / name)
    (out / "logs").mkdir(exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    state_path = out / ".grading-state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() and not force else {}
    settings = {"cell_timeout": cell_timeout, "student_timeout": student_timeout, "memory": memory_limit_gb,
                "quick": quick}
    rows: dict[str, list[dict]] = {}
    todo = []
    for student in students:
        files, notes = find_notebooks(submissions / student, exercises)
        fingerprint = _fingerprint(files, solutions, settings)
        if state.get(student, {}).get("fingerprint") == fingerprint:
            rows[student] = state[student]["rows"]
        else:
            todo.append((student, files, notes, fingerprint))
    workers = max(1, workers or os.cpu_count() or 1)

    def grade_student(student: str, files: dict[str, Path], notes: dict[str, str]) -> dict[str, Outcome]:
        log = out / "logs" / f"{student}.log"
        log.write_text(f"grading {student}\n", encoding="utf-8")
        deadline = time.monotonic() + student_timeout
        graded = _grade_student(exercises, files, student, template, log, cell_timeout, deadline,
                                memory_limit_gb, quick)
        outcomes = {}
        for name, exercise in exercises.items():
            if name not in graded:
                outcomes[name] = Outcome(dict.fromkeys(exercise.cells, 0.0), ["missing notebook"])
                continue
            outcomes[name] = graded[name]
            if name in notes:
                outcomes[name].reasons.insert(0, notes[name])
        return outcomes

    lock = threading.Lock()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_student, student, files, notes): (student, fingerprint, time.perf_counter())
                   for student, files, notes, fingerprint in todo}
        for future in concurrent.futures.as_completed(futures):
            student, fingerprint, started = futures[future]
            outcomes = future.result()
            with lock:
                _record(course_dir, student, outcomes, feedback)
                student_rows = []
                for name, outcome in outcomes.items():
                    exercise = exercises[name]
                    student_rows.append({"student": student, "notebook": name, **outcome.points,
                                         "total": sum(outcome.points.values()), "max": sum(exercise.cells.values()),
                                         "reason": "; ".join(outcome.reasons)})
                for outcome in outcomes.values():
                    for path in (outcome.autograded, outcome.submitted):
                        if path is not None:
                            shutil.rmtree(path.parent, ignore_errors=True)
                rows[student] = student_rows
                state[student] = {"fingerprint": fingerprint, "rows": student_rows}
                _write_feedback_page(out / "feedback", course_dir, student, student_rows)
                table = _table([r for s in sorted(rows) for r in rows[s]], exercises)
                write_text_atomically(out / "grades.csv", table.to_csv(index=False))
                write_text_atomically(state_path, json.dumps(state))
            if show_progress:
                print(f"graded {student} in {time.perf_counter() - started:.1f} s", flush=True)
    table = _table([r for s in sorted(rows) if s in students for r in rows[s]], exercises)
    write_text_atomically(out / "grades.csv", table.to_csv(index=False))
    return table


def _write_feedback_page(feedback_dir: Path, course_dir: Path, student: str, rows: list[dict]) -> None:
    target = feedback_dir / student
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    lines = [f"<!doctype html><meta charset='utf-8'><title>Feedback: {html.escape(student)}</title>",
             f"<h1>Feedback for {html.escape(student)}</h1>",
             "<table border=1 cellpadding=4><tr><th>notebook</th><th>points</th><th>note</th><th>annotated notebook</th></tr>"]
    for row in rows:
        source = course_dir / "feedback" / student / row["notebook"] / f"{row['notebook']}.html"
        link = "none"
        if source.exists():
            shutil.copy2(source, target / source.name)
            link = f"<a href='{html.escape(student)}/{html.escape(source.name)}'>{html.escape(source.name)}</a>"
        lines.append(f"<tr><td>{html.escape(row['notebook'])}</td><td>{row['total']:g} / {row['max']:g}</td>"
                     f"<td>{html.escape(row['reason'] or 'graded')}</td><td>{link}</td></tr>")
    lines.append("</table>")
    write_text_atomically(feedback_dir / f"{student}.html", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Autograde student submissions with nbgrader into grades.csv.")
    parser.add_argument("submissions", type=Path, help="folder with one subfolder of notebooks per student, or a .zip")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--course", type=Path, default=Path("course"), help="nbgrader's course directory")
    parser.add_argument("--out", type=Path, default=None, help="where grades.csv, logs/ and feedback/ go")
    parser.add_argument("--workers", type=int, default=None, help="students graded at once (default: the cores)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run")
    parser.add_argument("--student-timeout", type=int, default=1800, help="seconds one student's notebooks may run")
    parser.add_argument("--memory-limit", type=float, default=8.0, help="GiB of address space per notebook (Linux)")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader's feedback pages")
    parser.add_argument("--force", action="store_true", help="grade everyone again, even unchanged submissions")
    parser.add_argument("--quick", action="store_true",
                        help="run each notebook with its quick parameters (fewer epochs): the same test cells, "
                             "a fraction of the training time")
    arguments = parser.parse_args(argv)
    table = grade_submissions(arguments.submissions, arguments.solutions, arguments.out, arguments.cell_timeout,
                              arguments.student_timeout, course_dir=arguments.course, workers=arguments.workers,
                              memory_limit_gb=arguments.memory_limit or None, feedback=not arguments.no_feedback,
                              force=arguments.force, quick=arguments.quick)
    with pd.option_context("display.width", 250, "display.max_columns", 60, "display.max_colwidth", 90):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
