"""nbgrader's course directory and gradebook: where the grader's scores land.

``prepare_course`` copies ``solutions/NN.ipynb`` to ``course/source/NN/NN.ipynb`` and runs nbgrader's
``generate_assignment`` for each changed notebook, so the gradebook knows every graded cell.
``record`` writes one student's results the way ``nbgrader autograde`` would: ``submitted/`` (their
file), ``autograded/`` (their notebook with each graded cell showing its result instead of the hidden
tests), automatic scores in ``gradebook.db``, and ``nbgrader generate_feedback``'s pages. The
formgrader, ``generate_feedback``, ``release_feedback`` and ``export`` then work as in any nbgrader
course. Hidden tests never reach ``autograded/`` or the feedback: a graded cell shows the visible
check the student had, and a line with its points and the reason.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Exercise", "course_exercises", "prepare_course", "record", "release_notebook", "quiet"]


@dataclass
class Exercise:
    """One course notebook: its graded cells (grade id -> points), in the notebook's order."""

    name: str
    cells: dict[str, float]
    ids: set[str]


def course_exercises(solutions: Path) -> dict[str, Exercise]:
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
            exercises[path.stem] = Exercise(path.stem, cells, ids)
    if not exercises:
        raise ValueError(f"No solution notebook in {solutions} has autograded cells: nothing to grade.")
    return exercises


CONFIG_TEMPLATE = '''\
"""nbgrader's configuration for this course directory (written by course-grade; edit freely)."""
import os

from course_lib.grading.nbgrader_setup import configure

c = get_config()  # noqa: F821 - provided by nbgrader
configure(c, os.path.dirname(os.path.abspath(__file__)))
'''


class quiet:
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


def _api(course_dir: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from course_lib.grading.nbgrader_setup import configure

    settings = Config()
    configure(settings, str(course_dir))
    return NbGraderAPI(CourseDirectory(config=settings), config=settings)


def prepare_course(solutions: Path, course_dir: Path) -> dict[str, Exercise]:
    """Copy ``solutions/NN.ipynb`` to ``course_dir/source/NN/NN.ipynb`` and run nbgrader's
    ``generate_assignment`` for every notebook whose source changed; returns the exercises."""
    solutions, course_dir = Path(solutions).resolve(), Path(course_dir).resolve()
    # nbgrader runs `alembic` by name: the tools of this Python's environment must be on PATH
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    exercises = course_exercises(solutions)
    course_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / "exchange").mkdir(exist_ok=True)        # nbgrader_setup's Exchange.root
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
        api = _api(course_dir)
        for name in stale:
            with quiet():
                result = api.generate_assignment(name, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result['log']}\n{result.get('error')}")
    return exercises


def release_notebook(course_dir: Path, name: str) -> nbformat.NotebookNode:
    """The notebook the students got (nbgrader's release version)."""
    return nbformat.read(Path(course_dir) / "release" / name / f"{name}.ipynb", as_version=4)


def _result_text(result) -> str:
    mark = {"passed": "✓", "not-done": "…"}.get(result.status, "✗")
    line = f"{mark} {result.grade_id}: {result.earned:g} / {result.points:g} points"
    return line + (f"\n{result.reason}" if result.reason else "\n passed the grader's tests") + "\n"


def autograded_notebook(submitted: Path | None, release: nbformat.NotebookNode, grade) -> nbformat.NotebookNode:
    """The student's notebook with each graded cell as the student had it (its visible check, never
    the hidden tests) and its result as the cell's only output."""
    notebook = None
    if submitted is not None:
        try:
            notebook = nbformat.read(str(submitted), as_version=4)
        except Exception:  # noqa: BLE001 - unreadable: start from the release
            notebook = None
    if notebook is None:
        notebook = nbformat.from_dict(nbformat.from_dict(release))
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = []
    graded = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in release.cells
              if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"}
    placed = {}
    for match in grade.matches if grade is not None else []:
        if match.index is not None and match.grade_id in graded:
            placed[match.grade_id] = match.index
    # nbgrader metadata only as the release has it, once per grade id: a student's own (a cell of
    # theirs claiming a grade id, a pasted copy) never reaches nbgrader's feedback or formgrader
    known = {cell.metadata["nbgrader"]["grade_id"] for cell in release.cells
             if cell.metadata.get("nbgrader", {}).get("grade_id")}
    seen = set()
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if (grade_id not in known or grade_id in seen or (grade_id in graded and placed.get(grade_id) != index)):
            del cell.metadata["nbgrader"]
        else:
            seen.add(grade_id)
    for grade_id, source in graded.items():
        result = grade.results.get(grade_id) if grade is not None else None
        if grade_id in placed:
            cell = notebook.cells[placed[grade_id]]
        else:
            cell = nbformat.v4.new_code_cell()
            notebook.cells.append(cell)
        cell.cell_type = "code"
        cell.source = source.source
        cell.metadata["nbgrader"] = dict(source.metadata["nbgrader"])
        cell.execution_count = None
        text = _result_text(result) if result is not None else f"✗ {grade_id}: not graded\n"
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return notebook


def record(course_dir: Path, student: str, grades: dict, submitted: dict[str, Path], exercises: dict[str, Exercise],
           feedback: bool = True) -> None:
    """Write one student's results into nbgrader's course directory and gradebook (one thread at a
    time): submitted and autograded notebooks, automatic scores, and nbgrader's feedback pages."""
    from nbgrader.api import Gradebook, MissingEntry

    course_dir = Path(course_dir)
    for name in exercises:
        for step in ("submitted", "autograded"):
            target = course_dir / step / student / name
            if target.exists():
                shutil.rmtree(target)
        if name not in grades:
            continue
        release = release_notebook(course_dir, name)
        target = course_dir / "submitted" / student / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        if submitted.get(name) is not None:
            shutil.copyfile(submitted[name], target)
        notebook = autograded_notebook(submitted.get(name), release, grades[name])
        target = course_dir / "autograded" / student / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, str(target))
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        for name in exercises:
            try:
                gradebook.remove_submission(name, student)     # re-grading replaces every earlier score
            except MissingEntry:
                pass
            if name not in grades:
                continue
            with warnings.catch_warnings():
                # nbgrader's own add_submission builds its objects before adding them to the session
                warnings.filterwarnings("ignore", message=".*not in session.*")
                submission = gradebook.add_submission(name, student)
            results = grades[name].results
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in results:
                        grade.auto_score = results[grade.name].earned
                        grade.needs_manual_grade = False
        gradebook.db.commit()
    if feedback and grades:
        with quiet():      # "*": every assignment of the student in one run (nbgrader globs the assignment id)
            _api(course_dir).generate_feedback("*", student)
