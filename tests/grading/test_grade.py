"""The grader's plumbing, end to end on notebook 00: finding notebooks, LMS downloads, resuming,
re-grading, nbgrader's own commands afterwards, and the folders it refuses to write into.

(Attacks and the sandbox: test_sandbox_attacks.py; each exercise's judge: test_judges_*.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from course_lib.grading import grade as grade_module
from course_lib.grading.grade import MARKER, UnsafeOutput, grade_submissions
from course_lib.grading.gradebook import course_exercises
from course_lib.grading.sandbox import SandboxUnavailable
from course_lib.grading.submission import find_notebooks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "00_data_and_evaluation"
SOLUTION = ROOT / "solutions" / f"{NOTEBOOK}.ipynb"
STUB = ROOT / "notebooks" / f"{NOTEBOOK}.ipynb"


@pytest.fixture
def solutions(tmp_path):
    folder = tmp_path / "solutions"
    folder.mkdir()
    (folder / f"{NOTEBOOK}.ipynb").write_bytes(SOLUTION.read_bytes())
    return folder


def _student(root: Path, name: str, source: Path = SOLUTION, file: str = f"{NOTEBOOK}.ipynb") -> Path:
    target = root / name / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


def _grade(tmp_path, solutions, submissions=None, **settings):
    arguments = dict(out=tmp_path / "out", show_progress=False, course_dir=tmp_path / "course", workers=2,
                     time_limit=120)
    arguments.update(settings)
    return grade_submissions(submissions or tmp_path / "submissions", solutions, **arguments)


def test_an_lms_zip_with_near_names_and_lost_metadata(tmp_path, solutions):
    plain = nbformat.read(SOLUTION, as_version=4)
    for cell in plain.cells:                    # rebuilt by hand in another front end: no metadata, new ids
        cell.metadata = {}
        cell["id"] = os.urandom(4).hex()
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"Alice Smith_1234_assignsubmission_file_/homework/{NOTEBOOK} (1).ipynb",
                        SOLUTION.read_text(encoding="utf-8"))
        bundle.writestr("bob_77_assignsubmission_file_/00-Data_and_Evaluation copy.ipynb", nbformat.writes(plain))
        bundle.writestr("bob_77_assignsubmission_file_/notes.txt", "not a notebook")
    table = _grade(tmp_path, solutions, archive).set_index("student")
    assert table.loc["Alice_Smith", "total"] == 8
    assert f"graded 'homework/{NOTEBOOK} (1).ipynb' (matched by its grade cells)" in table.loc["Alice_Smith", "reason"]
    assert table.loc["bob", "total"] == 8, table.loc["bob", "reason"]
    assert "(matched by" in table.loc["bob", "reason"] and "found by its source" in table.loc["bob", "reason"]
    assert (tmp_path / "out" / "downloaded" / "bob").is_dir()


def test_find_notebooks_prefers_grade_cells_then_the_newest(tmp_path, solutions):
    exercises = course_exercises(solutions)
    folder = tmp_path / "alice"
    renamed = _student(folder, "old", file="renamed.ipynb")
    _student(folder, ".ipynb_checkpoints")
    files, notes = find_notebooks(folder, exercises)
    assert files[NOTEBOOK] == renamed and "matched by its grade cells" in notes[NOTEBOOK]
    newer = _student(tmp_path, "alice", file=f"{NOTEBOOK} (2).ipynb")
    os.utime(renamed, (1, 1))
    files, notes = find_notebooks(folder, exercises)
    assert files[NOTEBOOK] == newer and "the newest of 2 files" in notes[NOTEBOOK]


def test_resume_regrade_and_nbgraders_own_commands(tmp_path, solutions):
    submissions = tmp_path / "submissions"
    _student(submissions, "alice")
    _student(submissions, "bob", STUB)
    first = _grade(tmp_path, solutions).set_index("student")
    assert first["total"].to_dict() == {"alice": 8, "bob": 0}
    state = (tmp_path / "out" / ".grading-state.json").stat().st_mtime_ns
    again = _grade(tmp_path, solutions).set_index("student")           # nothing changed: nobody graded again
    assert again["total"].to_dict() == first["total"].to_dict()
    assert (tmp_path / "out" / ".grading-state.json").stat().st_mtime_ns == state
    _student(submissions, "alice", STUB)                               # a resubmission replaces the score
    assert _grade(tmp_path, solutions).set_index("student").loc["alice", "total"] == 0
    _student(submissions, "alice")
    assert _grade(tmp_path, solutions).set_index("student").loc["alice", "total"] == 8
    course = tmp_path / "course"
    environment = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")

    def nbgrader(*arguments):
        result = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=environment,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    nbgrader("generate_feedback", NOTEBOOK, "--force")
    page = (course / "feedback" / "bob" / NOTEBOOK / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    assert "not done yet" in page and "BEGIN HIDDEN" not in page and "run_here" not in page
    nbgrader("export", "--to", str(tmp_path / "export.csv"))
    exported = pd.read_csv(tmp_path / "export.csv").set_index("student_id")
    assert exported.loc["alice", "raw_score"] == 8 and exported.loc["bob", "raw_score"] == 0
    summary = (tmp_path / "out" / "feedback" / "bob.html").read_text(encoding="utf-8")
    assert "recall_at_k_tests" in summary and "not done yet" in summary and "hidden_expected" not in summary


def test_an_out_folder_it_did_not_write_is_refused(tmp_path, solutions):
    _student(tmp_path / "submissions", "alice")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "comments.md").write_text("my notes")
    (out / "grades.csv").write_text("another course's grades")
    with pytest.raises(UnsafeOutput, match="did not write"):
        _grade(tmp_path, solutions, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["comments.md", "grades.csv"]
    assert (out / "grades.csv").read_text() == "another course's grades"
    # a zip download into such a folder leaves its downloaded/ alone
    (out / "downloaded").mkdir()
    (out / "downloaded" / "keep.txt").write_text("keep")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"carol/{NOTEBOOK}.ipynb", SOLUTION.read_text(encoding="utf-8"))
    with pytest.raises(UnsafeOutput):
        _grade(tmp_path, solutions, archive, out=out)
    assert (out / "downloaded" / "keep.txt").read_text() == "keep"


@pytest.mark.parametrize("case", ["same", "out inside", "submissions inside", "library", "solutions", "repository"])
def test_submissions_that_are_outputs_or_the_course_are_refused(tmp_path, solutions, case):
    submissions = tmp_path / "submissions"
    _student(submissions, "alice")
    settings = {
        "same": dict(submissions=submissions, out=submissions),
        "out inside": dict(submissions=submissions, out=submissions / "grading"),
        "submissions inside": dict(submissions=tmp_path / "out" / "subs", out=tmp_path / "out"),
        "library": dict(submissions=ROOT / "course_lib"),
        "solutions": dict(submissions=ROOT / "solutions"),
        "repository": dict(submissions=ROOT),
    }[case]
    if case == "submissions inside":
        _student(tmp_path / "out" / "subs", "bob")
    with pytest.raises(UnsafeOutput):
        _grade(tmp_path, solutions, settings.pop("submissions"), **settings)
    assert not (tmp_path / "course").exists()


def test_no_sandbox_is_refused_not_skipped(tmp_path, solutions, monkeypatch):
    _student(tmp_path / "submissions", "alice")
    monkeypatch.setattr(grade_module, "find_sandbox", _missing_bwrap)
    with pytest.raises(SandboxUnavailable, match="bubblewrap.*--no-sandbox"):
        _grade(tmp_path, solutions)
    assert not (tmp_path / "out").exists() and not (tmp_path / "course").exists()
    assert grade_module.main([str(tmp_path / "submissions"), "--solutions", str(solutions), "--out",
                              str(tmp_path / "out"), "--course", str(tmp_path / "course")]) == 2


def _missing_bwrap(no_sandbox=False, limits=None):
    import shutil

    from course_lib.grading import sandbox
    original = shutil.which
    try:
        shutil.which = lambda name: None
        return sandbox.find_sandbox(no_sandbox, limits)
    finally:
        shutil.which = original


def test_no_sandbox_on_request_still_judges_outside(tmp_path, solutions):
    _student(tmp_path / "submissions", "alice")
    _student(tmp_path / "submissions", "bob", STUB)
    table = _grade(tmp_path, solutions, no_sandbox=True).set_index("student")
    assert table["total"].to_dict() == {"alice": 8, "bob": 0}


def test_an_empty_submissions_folder_is_an_error(tmp_path, solutions):
    (tmp_path / "submissions").mkdir()
    with pytest.raises(ValueError, match="no student folders"):
        _grade(tmp_path, solutions)


def test_the_zip_pattern_reads_lms_names():
    from course_lib.grading.nbgrader_setup import ZIP_PATTERN

    cases = {
        "/c/downloaded/03_ease_r/extracted/moodle/Alice Smith_1234_assignsubmission_file_/03_ease_r (1).ipynb": "Alice Smith",
        "/c/downloaded/03_ease_r/extracted/flat/alice_03_ease_r.ipynb": "alice",
        "/c/downloaded/03_ease_r/extracted/moodle/bob_77_assignsubmission_file_/hw/03_ease_r.ipynb": "bob",
        "C:\\c\\downloaded\\03_ease_r\\extracted\\download\\carol\\03_ease_r (2).ipynb": "carol",
    }
    for path, student in cases.items():
        match = re.match(ZIP_PATTERN, path)
        assert match and match["student_id"] == student and match["file_id"] == "03_ease_r", path
    assert re.match(ZIP_PATTERN, "/c/downloaded/03_ease_r/extracted/moodle/notes.txt") is None


def test_an_earlier_output_folder_is_reused(tmp_path, solutions):
    _student(tmp_path / "submissions", "alice")
    _grade(tmp_path, solutions)
    assert (tmp_path / "out" / MARKER).is_file()
    assert _grade(tmp_path, solutions, force=True)["total"].tolist() == [8]


def test_a_notebook_the_grader_cannot_handle_stops_nobody_else(tmp_path, solutions, monkeypatch):
    from course_lib.grading import autograde

    _student(tmp_path / "submissions", "alice")
    _student(tmp_path / "submissions", "bob")
    real = autograde.definitions

    def fragile(notebook, skip=frozenset()):
        if any("bob's own cell" in cell.source for cell in notebook.cells):
            raise RecursionError("maximum recursion depth exceeded")
        return real(notebook, skip)

    bob = tmp_path / "submissions" / "bob" / f"{NOTEBOOK}.ipynb"
    notebook = nbformat.read(bob, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("# bob's own cell"))
    nbformat.write(notebook, bob)
    monkeypatch.setattr(autograde, "definitions", fragile)
    table = _grade(tmp_path, solutions, no_sandbox=True).set_index("student")
    assert table.loc["alice", "total"] == 8
    assert table.loc["bob", "total"] == 0 and "could not grade this notebook (RecursionError" in table.loc["bob", "reason"]
