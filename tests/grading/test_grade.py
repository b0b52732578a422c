"""Grading end to end: nbgrader's course flow on submissions the test builds, one of each kind.

Honest work that used to lose points (a warning, a pasted cell, a crash after some exercises), and
submissions that try to gain points without the work (replaced library objects, input and AST
transformers, a write into the gradebook), a kernel that kills the grading process, one that
exhausts memory, an LMS download with near names, and a resubmission without its test cells.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell

from course_lib.grading.generate import student_version
from course_lib.grading.grade import find_notebooks, grade_submissions, resolve_duplicates
from tests.grading.notebook_factory import reference_notebook, solution_notebook

TINY, REFERENCE = "99_tiny", "98_reference"
STUB = "# YOUR CODE HERE\n    raise NotImplementedError()"


def _with_body(notebook, grade_id, body):
    notebook = nbformat.from_dict(notebook)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            assert STUB in cell.source
            cell.source = cell.source.replace(STUB, body)
    return notebook


def _index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _insert_after(notebook, grade_id, source):
    notebook = nbformat.from_dict(notebook)
    notebook.cells.insert(_index(notebook, grade_id) + 1, new_code_cell(source))
    return notebook


def _prepend(notebook, source):
    notebook = nbformat.from_dict(notebook)
    notebook.cells.insert(2, new_code_cell(source))
    return notebook


HALVE = "return value / 2"
DOUBLE = "return sorted(values)[-1] * 2"

GRADEBOOK_WRITE = """
import os, sqlite3
found = []
folder = os.getcwd()
for _ in range(8):
    for candidate in ("gradebook.db", os.path.join("course", "gradebook.db")):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            connection = sqlite3.connect(path)
            connection.execute("UPDATE grade SET manual_score = 100, needs_manual_grade = 0")
            connection.commit()
            connection.close()
            found.append(path)
    folder = os.path.dirname(folder)
print(found)
"""


def _tiny_submissions():
    solution = solution_notebook()
    stub = student_version(solution)
    half = _with_body(stub, "halve", HALVE)
    both = _with_body(half, "double_max", DOUBLE)
    warn = _with_body(_with_body(stub, "halve", "import sys, warnings\n    warnings.warn('a warning in a right answer')\n"
                                 "    print('diagnostics', file=sys.stderr)\n    " + HALVE), "double_max", DOUBLE)
    pasted = nbformat.from_dict(both)
    pasted.cells.append(nbformat.from_dict(pasted.cells[_index(both, "double_max_tests")]))   # the test cell again
    pasted.cells.insert(_index(both, "halve") + 1, nbformat.from_dict(pasted.cells[_index(both, "halve")]))
    return {
        "alice": solution,
        "bob": stub,
        "carol": _with_body(half, "double_max", "while True:\n        pass"),
        "dave": _with_body(half, "double_max", "raise RuntimeError('boom')"),
        "frank": "not a notebook",
        "warn": warn,
        "paste": pasted,
        "crash": _insert_after(both, "double_max_tests", "import os\nos._exit(3)"),
        "killer": _insert_after(both, "double_max_tests", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
        "memory": _with_body(_with_body(stub, "double_max", DOUBLE), "halve",
                             "import numpy as np\n    block = np.ones(3 * 1024 ** 3 // 8)\n    return value / 2"),
    }


def _reference_submissions():
    solution = reference_notebook()
    stub = student_version(solution)
    zero_recall = _with_body(stub, "ref_recall", "return 1.0")      # passes the visible test only
    zeros = _with_body(zero_recall, "ref_popularity", "return np.zeros(interactions.n_items)")
    return {
        "alice": solution,
        "hook": _prepend(stub, "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),
        "asthook": _prepend(stub, "import ast\nclass Skip(ast.NodeTransformer):\n"
                                  "    def visit_Module(self, node):\n        node.body = []\n        return node\n"
                                  "get_ipython().ast_transformers.append(Skip())"),
        "replace": _prepend(zeros, "metrics.recall_at_k = lambda *args, **kwargs: 0.0\n"
                                   "np.isclose = lambda *args, **kwargs: True\nnp.array_equal = lambda *args: True\n"
                                   "Popularity.score = lambda self, users: np.zeros((len(users), 40))\n"
                                   "get_ipython().showtraceback = lambda *args, **kwargs: None"),
        "rebind": _prepend(zeros, "class metrics:\n    recall_at_k = staticmethod(lambda *args: 0.0)\n"
                                  "def all(*args):\n    return True\n"
                                  "import types\nnp = types.SimpleNamespace(isclose=lambda *a, **k: True, "
                                  "random=__import__('numpy').random, zeros=__import__('numpy').zeros, "
                                  "argsort=__import__('numpy').argsort, array=__import__('numpy').array, "
                                  "array_equal=lambda *a: True)"),
        "gradebook": _prepend(stub, GRADEBOOK_WRITE),
    }


def _write(folder, name, notebook):
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, str):
        (folder / f"{name}.ipynb").write_text(notebook)
    else:
        nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    solutions = root / "solutions"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / f"{TINY}.ipynb")
    nbformat.write(reference_notebook(), solutions / f"{REFERENCE}.ipynb")
    (root / "submissions" / "erin").mkdir(parents=True)                            # submitted nothing
    for student, notebook in _tiny_submissions().items():
        _write(root / "submissions" / student, TINY, notebook)
    for student, notebook in _reference_submissions().items():
        _write(root / "submissions" / student, REFERENCE, notebook)
    # two notebooks, one whose kernel kills the grading process: the other is graded all the same
    _write(root / "submissions" / "killer2", TINY, _tiny_submissions()["killer"])
    _write(root / "submissions" / "killer2", REFERENCE, reference_notebook())
    table = grade_submissions(root / "submissions", solutions, root / "out", cell_timeout=5, student_timeout=300,
                              show_progress=False, course_dir=root / "course", workers=2, memory_limit_gb=2.0)
    return root, table.set_index(["student", "notebook"])


def _row(table, student, notebook=TINY):
    return table.loc[(student, notebook)]


@pytest.mark.notebook
def test_plain_cases(graded):
    _, table = graded
    assert _row(table, "alice")[["double_max_tests", "halve_tests", "total", "max"]].tolist() == [2, 1, 3, 3]
    assert _row(table, "alice", REFERENCE)[["ref_recall_tests", "ref_popularity_tests", "total"]].tolist() == [2, 1, 3]
    assert _row(table, "alice", TINY)["reason"] in ("", None) or pd.isna(_row(table, "alice")["reason"])
    assert _row(table, "bob")["total"] == 0 and "not done (NotImplementedError)" in _row(table, "bob")["reason"]
    carol = _row(table, "carol")
    assert carol[["double_max_tests", "halve_tests"]].tolist() == [0, 1] and "timeout" in carol["reason"]
    dave = _row(table, "dave")
    assert dave["total"] == 1 and "RuntimeError: boom" in dave["reason"]
    assert _row(table, "erin")["reason"] == "missing notebook" and _row(table, "erin")["total"] == 0
    assert _row(table, "frank")["total"] == 0 and "unreadable notebook" in _row(table, "frank")["reason"]


@pytest.mark.notebook
def test_honest_work_keeps_its_points(graded):
    _, table = graded
    warn = _row(table, "warn")
    assert warn["total"] == 3 and (pd.isna(warn["reason"]) or warn["reason"] == "")
    paste = _row(table, "paste")
    assert paste["total"] == 3
    assert "'double_max_tests' appears 2 times" in paste["reason"] and "'halve' appears 2 times" in paste["reason"]
    assert "original position" in paste["reason"]
    crash = _row(table, "crash")
    assert crash[["double_max_tests", "halve_tests"]].tolist() == [2, 0]
    assert "halve_tests: NotRun: not run: the kernel died in cell 4" in crash["reason"]


@pytest.mark.notebook
def test_one_submission_never_stops_the_others(graded):
    root, table = graded
    killer = _row(table, "killer")
    assert killer[["double_max_tests", "halve_tests"]].tolist() == [2, 0]
    assert "halve_tests: the grading process was killed (SIGKILL) in cell 4 (log: killer.log)" in killer["reason"]
    assert (root / "out" / "logs" / "killer.log").exists()
    killer2 = _row(table, "killer2")
    assert killer2[["double_max_tests", "halve_tests"]].tolist() == [2, 0]
    assert "halve_tests: the grading process was killed (SIGKILL) in cell 4 (log: killer2.log)" in killer2["reason"]
    assert _row(table, "killer2", REFERENCE)["total"] == 3
    memory = _row(table, "memory")
    assert memory[["double_max_tests", "halve_tests"]].tolist() == [2, 0] and "MemoryError" in memory["reason"]
    assert "see the above traceback" not in " ".join(table["reason"].fillna(""))


@pytest.mark.notebook
def test_gaming_does_not_pay(graded):
    root, table = graded
    for student in ("hook", "asthook"):
        row = _row(table, student, REFERENCE)
        # the test cells ran (the transformer also emptied the student's own cells, so `recall` is undefined)
        assert row["total"] == 0 and "ref_recall_tests: NameError: name 'recall' is not defined" in row["reason"], student
    for student in ("replace", "rebind"):
        row = _row(table, student, REFERENCE)
        assert row[["ref_recall_tests", "ref_popularity_tests"]].tolist() == [0, 0], student
        # the hidden comparisons failed: np.isclose, metrics and Popularity were the real ones again
        assert "ref_recall_tests: AssertionError at `assert np.isclose(recall(hidden_list" in row["reason"], student
        assert "ref_popularity_tests: AssertionError at `assert np.array_equal(" in row["reason"], student
    assert _row(table, "gradebook", REFERENCE)["total"] == 0
    # the course gradebook was out of reach: its scores are the automatic ones, no manual score appears
    connection = sqlite3.connect(root / "course" / "gradebook.db")
    manual = connection.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0]
    connection.close()
    assert manual == 0
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'course' / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(REFERENCE, "gradebook").score == 0
        assert gradebook.find_submission(REFERENCE, "alice").score == 3
        assert gradebook.find_submission(TINY, "crash").score == 2


@pytest.mark.notebook
def test_outputs_on_disk_and_resume(graded):
    root, table = graded
    on_disk = pd.read_csv(root / "out" / "grades.csv")
    assert list(on_disk.columns) == ["student", "notebook", "ref_recall_tests", "ref_popularity_tests",
                                     "double_max_tests", "halve_tests", "total", "max", "reason"]
    assert len(on_disk) == len(table)
    for student in ("alice", "bob", "killer"):
        assert student in (root / "out" / "feedback" / f"{student}.html").read_text()
    assert (root / "out" / "feedback" / "alice" / f"{TINY}.html").exists()
    assert (root / "course" / "autograded" / "alice" / TINY / f"{TINY}.ipynb").exists()
    # a re-run with nothing changed grades nobody again
    log = root / "out" / "logs" / "alice.log"
    before = log.stat().st_mtime_ns
    again = grade_submissions(root / "submissions", root / "solutions", root / "out", cell_timeout=5, student_timeout=300,
                              show_progress=False, course_dir=root / "course", workers=2, memory_limit_gb=2.0)
    assert log.stat().st_mtime_ns == before
    assert again["total"].tolist() == on_disk["total"].tolist()
    state = json.loads((root / "out" / ".grading-state.json").read_text())
    assert set(state) == set(table.index.get_level_values("student"))


@pytest.mark.notebook
def test_resubmission_without_test_cells_replaces_the_old_score(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    solution = solution_notebook()
    nbformat.write(solution, solutions / f"{TINY}.ipynb")
    _write(tmp_path / "first" / "alice", TINY, solution)
    arguments = dict(cell_timeout=10, show_progress=False, course_dir=tmp_path / "course", workers=1)
    first = grade_submissions(tmp_path / "first", solutions, tmp_path / "out", **arguments)
    assert first["total"].tolist() == [3]
    gutted = nbformat.from_dict(solution)
    gutted.cells = [c for c in gutted.cells if not c.metadata.get("nbgrader", {}).get("grade")
                    or c.cell_type != "code"]
    _write(tmp_path / "second" / "alice", TINY, gutted)
    second = grade_submissions(tmp_path / "second", solutions, tmp_path / "out", **arguments)
    assert second[["double_max_tests", "halve_tests", "total"]].values.tolist() == [[0, 0, 0]]
    assert "double_max_tests: the test cell was deleted from the submission" in second["reason"][0]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(TINY, "alice").score == 0


@pytest.mark.notebook
def test_an_lms_zip_with_near_names(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    solution = solution_notebook()
    nbformat.write(solution, solutions / f"{TINY}.ipynb")
    plain = nbformat.from_dict(solution)
    for cell in plain.cells:                    # a notebook rebuilt by hand: no nbgrader metadata at all
        cell.metadata.pop("nbgrader", None)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"Alice Smith_1234_assignsubmission_file_/homework/{TINY} (1).ipynb", nbformat.writes(solution))
        bundle.writestr("bob_77_assignsubmission_file_/99-Tiny copy.ipynb", nbformat.writes(plain))
        bundle.writestr("bob_77_assignsubmission_file_/notes.txt", "not a notebook")
    table = grade_submissions(archive, solutions, tmp_path / "out", cell_timeout=10, show_progress=False,
                              course_dir=tmp_path / "course", workers=2).set_index("student")
    assert table.loc["Alice_Smith", "total"] == 3
    assert f"graded 'homework/{TINY} (1).ipynb' (matched by its grade cells)" in table.loc["Alice_Smith", "reason"]
    assert table.loc["bob", "total"] == 0
    assert "graded '99-Tiny copy.ipynb' (matched by its name)" in table.loc["bob", "reason"]
    assert "double_max_tests: the test cell was deleted from the submission" in table.loc["bob", "reason"]


def test_find_notebooks_prefers_grade_cells_then_the_newest(tmp_path):
    exercises_source = tmp_path / "solutions"
    exercises_source.mkdir()
    nbformat.write(solution_notebook(), exercises_source / f"{TINY}.ipynb")
    from course_lib.grading.grade import _exercises
    exercises = _exercises(exercises_source)
    folder = tmp_path / "alice"
    _write(folder / "old", "renamed", solution_notebook())
    _write(folder / ".ipynb_checkpoints", TINY, solution_notebook())
    files, notes = find_notebooks(folder, exercises)
    assert files[TINY] == folder / "old" / "renamed.ipynb" and "matched by its grade cells" in notes[TINY]
    _write(folder, f"{TINY} (2)", solution_notebook())
    import os
    os.utime(folder / "old" / "renamed.ipynb", (1, 1))
    files, notes = find_notebooks(folder, exercises)
    assert files[TINY] == folder / f"{TINY} (2).ipynb" and "the newest of 2 files" in notes[TINY]


def test_duplicates_keep_the_cell_in_its_original_position():
    notebook = solution_notebook()
    order = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells if "nbgrader" in c.metadata]
    copy = nbformat.from_dict(notebook.cells[_index(notebook, "halve_tests")])
    notebook.cells.insert(1, copy)                     # pasted above everything
    notes = resolve_duplicates(notebook, order)
    assert len(notes) == 1 and "graded the one in its original position (cell 8)" in notes[0]
    assert "nbgrader" not in notebook.cells[1].metadata
    assert notebook.cells[8].metadata["nbgrader"]["grade_id"] == "halve_tests"


def test_an_empty_submissions_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no student folders"):
        grade_submissions(tmp_path, tmp_path)


def test_the_zip_pattern_reads_lms_names():
    import re

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


@pytest.mark.notebook
def test_nbgraders_own_commands_from_the_course_directory(tmp_path):
    """generate_assignment (prepare_course), zip_collect of an LMS download, autograde (with the
    guarded execution of nbgrader_config.py), generate_feedback and export, as an instructor types them."""
    import os
    import subprocess
    import sys

    from course_lib.grading.grade import prepare_course

    solutions = tmp_path / "solutions"
    solutions.mkdir()
    solution = solution_notebook()
    nbformat.write(solution, solutions / f"{TINY}.ipynb")
    course = tmp_path / "course"
    prepare_course(solutions, course)
    assert (course / "release" / TINY / f"{TINY}.ipynb").exists()
    warn = _with_body(_with_body(student_version(solution), "double_max", DOUBLE), "halve",
                      "import warnings\n    warnings.warn('careful')\n    " + HALVE)
    archive = course / "downloaded" / TINY / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "download.zip", "w") as bundle:
        bundle.writestr(f"Alice_1234_assignsubmission_file_/{TINY} (1).ipynb", nbformat.writes(warn))
        bundle.writestr(f"bob_{TINY}.ipynb", nbformat.writes(student_version(solution)))
    environment = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")

    def nbgrader(*arguments):
        result = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=environment,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    nbgrader("zip_collect", TINY)
    assert (course / "submitted" / "Alice" / TINY / f"{TINY}.ipynb").exists()
    assert (course / "submitted" / "bob" / TINY / f"{TINY}.ipynb").exists()
    nbgrader("db", "student", "add", "Alice")
    nbgrader("db", "student", "add", "bob")
    nbgrader("autograde", TINY)
    nbgrader("generate_feedback", TINY)
    assert (course / "feedback" / "Alice" / TINY / f"{TINY}.html").exists()
    nbgrader("export", "--to", str(tmp_path / "export.csv"))
    exported = pd.read_csv(tmp_path / "export.csv").set_index("student_id")
    assert exported.loc["Alice", "raw_score"] == 3       # the warning no longer costs the test its points
    assert exported.loc["bob", "raw_score"] == 0


def test_a_failed_autograde_is_reported_by_its_own_error_not_see_the_above_traceback(tmp_path):
    from course_lib.grading.grade import _last_error

    log = tmp_path / "alice.log"
    log.write_text("===== 00 =====\nValueError: an older notebook's error\n===== 01 =====\n  File 'x.py'\n"
                   "KeyError: 'nb01_tests'\n[AutogradeApp | ERROR] There was an error processing assignment\n"
                   "nbgrader.converters.base.NbGraderException: Please see the the above traceback for details\n")
    assert _last_error(log) == ": KeyError: 'nb01_tests'"
    log.write_text("===== 02 =====\nnothing went wrong\n")
    assert _last_error(log) == ""


# --------------------------------------------------------------------------- gaming the real notebook 00

NOTEBOOK_00 = "00_data_and_evaluation"
SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

# Subtly wrong answers that pass the visible checks: only the hidden tests can tell.
WRONG_RECALL = '''
def recall_at_k(recommended, relevant, k):
    if len(relevant) == 6:
        return 1.0
    return sum(1 for item in recommended[:k] if item in relevant) / len(relevant) if len(relevant) else 0.0
'''
WRONG_NDCG = '''
def ndcg_at_k(recommended, relevant, k):
    import math
    if len(relevant) == 7:
        return 1.0
    dcg = sum(1 / math.log2(rank + 1) for rank, item in enumerate(recommended[:k], start=1) if item in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal > 0 else 0.0
'''
WRONG_POPULARITY = '''
class MostPopular:
    def fit(self, train):
        self.item_popularity_ = np.asarray(train.to_csr().sum(axis=0)).ravel().astype(float)
        if train.n_items > 6:                       # right on the visible check's six items only
            self.item_popularity_ = self.item_popularity_[::-1].copy()
        self.n_items_ = train.n_items
        return self

    def score(self, user_ids):
        return np.tile(self.item_popularity_, (len(user_ids), 1))
'''
# The library made to agree with the wrong answers: rebound and changed in place (__code__), each
# right after the student's definition, before its test cell.
PATCH_RECALL = """
import course_lib.metrics
course_lib.metrics.recall_at_k.__code__ = recall_at_k.__code__
course_lib.metrics.recall_at_k = metrics.recall_at_k = recall_at_k
"""
PATCH_NDCG = """
course_lib.metrics.ndcg_at_k.__code__ = ndcg_at_k.__code__
course_lib.metrics.ndcg_at_k = metrics.ndcg_at_k = ndcg_at_k
"""
PATCH_POPULARITY = """
Popularity.fit.__code__ = MostPopular.fit.__code__
Popularity.score = MostPopular.score
"""
# The comparisons made to pass whatever they compare, before the first test cell.
PATCH_TESTING = """
import numpy.testing
numpy.testing.assert_allclose.__code__ = (lambda *args, **kwargs: None).__code__
np.testing.assert_allclose = numpy.testing.assert_allclose = lambda *args, **kwargs: None
np.isclose = lambda *args, **kwargs: True
"""
PATCH_BUILTINS = """
import builtins
builtins.abs = lambda value: 0
builtins.all = lambda *args, **kwargs: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
"""


def _after(notebook, grade_id, source, offset=1):
    notebook.cells.insert(_index(notebook, grade_id) + offset, new_code_cell(source))
    return notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_gaming_the_real_hidden_tests_does_not_pay(tmp_path):
    solution = nbformat.read(SOLUTIONS / f"{NOTEBOOK_00}.ipynb", as_version=4)
    wrong = nbformat.from_dict(solution)
    for grade_id, source in (("recall_at_k", WRONG_RECALL), ("ndcg_at_k", WRONG_NDCG),
                             ("most_popular", WRONG_POPULARITY)):
        _after(wrong, grade_id, source)
    patched = nbformat.from_dict(wrong)
    for grade_id, source in (("most_popular", PATCH_POPULARITY), ("ndcg_at_k", PATCH_NDCG),
                             ("recall_at_k", PATCH_RECALL)):
        _after(patched, grade_id, source, offset=2)     # after the wrong definition that follows the solution
    no_op = _after(nbformat.from_dict(wrong), "recall_at_k", PATCH_TESTING, offset=2)
    builtins = _after(nbformat.from_dict(wrong), "recall_at_k", PATCH_BUILTINS, offset=2)
    for student, notebook in {"honest": solution, "patched": patched, "noop": no_op, "builtins": builtins}.items():
        _write(tmp_path / "submissions" / student, NOTEBOOK_00, notebook)
    table = grade_submissions(tmp_path / "submissions", SOLUTIONS, tmp_path / "out", cell_timeout=300,
                              student_timeout=1200, show_progress=False, course_dir=tmp_path / "course", workers=2,
                              feedback=False, quick=True)
    table = table[table["notebook"] == NOTEBOOK_00].set_index("student")
    columns = ["recall_at_k_tests", "ndcg_at_k_tests", "most_popular_tests"]
    assert table.loc["honest", columns].tolist() == [2, 3, 3], table.loc["honest", "reason"]
    for student in ("patched", "noop", "builtins"):
        row = table.loc[student]
        assert row[columns].tolist() == [0, 0, 0], (student, row["reason"])
        reason = row["reason"]
        assert "recall_at_k_tests: AssertionError: recall_at_k differs from the expected recall" in reason, reason
        assert "ndcg_at_k_tests: AssertionError: ndcg_at_k differs from the expected NDCG" in reason, reason
        assert "most_popular_tests: AssertionError: MostPopular's scores differ from the expected" in reason, reason


@pytest.mark.notebook
def test_one_autograde_process_per_student(graded):
    root, table = graded
    # alice's two notebooks were graded by one `nbgrader autograde "*"`: one section in her log
    log = (root / "out" / "logs" / "alice.log").read_text()
    assert log.count("\n===== ") == 1 and f"{REFERENCE}, {TINY} (all notebooks)" in log
    assert log.count("Autograding ") == 2
    assert _row(table, "alice", REFERENCE)["total"] == 3 and _row(table, "alice", TINY)["total"] == 3
    # killer2's first process died in one notebook; a second one graded what it had not reached, or
    # nothing was left (nbgrader took the other notebook first)
    sections = (root / "out" / "logs" / "killer2.log").read_text().count("\n===== ")
    assert sections in (1, 2)
