"""Submissions that attack the grader, graded by the real grader in the real sandbox (bubblewrap).

Every attacker is a notebook 00 whose answers are stubs, and whose ``recall_at_k`` tries one way to
persist, to spy or to gain points (run when the grader probes it, inside the sandbox). Graded in one
run with two workers beside honest students and, after them, a stub and a wrong answer that must
get what they earned; then a second run must still give the stub 0. Afterwards nothing of the
repository, the environment or the instructor's home has changed and no process of theirs survives.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from course_lib.grading.grade import grade_submissions

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "00_data_and_evaluation"
TOKEN = "course-grader-attack-7f3a"        # in every attacker's command line and file, to look for afterwards

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")


def _with_recall(body: str) -> nbformat.NotebookNode:
    """The student notebook (stubs) with ``recall_at_k`` replaced by ``body`` (indented inside it)."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "def recall_at_k(" in cell.source:
            cell.source = ("def recall_at_k(ranked, relevant, k):\n    import os, sys, glob, signal, subprocess\n"
                           + textwrap.indent(textwrap.dedent(body), "    ")
                           + "\n    raise NotImplementedError()\n")
            return notebook
    raise AssertionError("notebook 00 has no recall_at_k cell")


def _attacks(paths: dict[str, Path]) -> dict[str, str]:
    site_dirs = sorted({sysconfig.get_paths()["purelib"], *__import__("site").getsitepackages()})
    home = Path.home()
    return {
        "a_site": f"""
            for folder in {site_dirs!r} + [p for p in sys.path if 'site-packages' in p]:
                for name, text in (('sitecustomize.py', 'import builtins; builtins.PWNED = 1  # {TOKEN}'),
                                   ('zz_{TOKEN}.pth', 'import builtins; builtins.PWNED = 1')):
                    try:
                        open(os.path.join(folder, name), 'w').write(text)
                    except OSError:
                        pass
        """,
        "a_home": f"""
            for path in ({str(home / ('.ipython/profile_default/startup/00-' + TOKEN + '.py'))!r},
                         {str(home / '.jupyter/nbgrader_config.py')!r}, {str(home / (TOKEN + '.txt'))!r},
                         os.path.expanduser('~/.ipython/profile_default/startup/00-x.py')):
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, 'w').write('# {TOKEN}')
                except OSError:
                    pass
        """,
        "a_library": f"""
            import course_lib.checks
            for path in (course_lib.checks.__file__, {str(ROOT / 'course_lib/checks/__init__.py')!r},
                         {str(ROOT / 'course_lib/grading/grade.py')!r}, {str(ROOT / 'course_lib/grading/autograde.py')!r},
                         {str(ROOT / 'course_lib/grading/judges/nb00.py')!r}):
                try:
                    open(path, 'a').write('\\n# {TOKEN}\\n')
                except OSError:
                    pass
        """,
        "a_course": f"""
            for path in ({str(ROOT / 'solutions' / (NOTEBOOK + '.ipynb'))!r}, {str(paths['gradebook'])!r},
                         {str(paths['course'] / 'source' / NOTEBOOK / (NOTEBOOK + '.ipynb'))!r}):
                try:
                    open(path, 'a').write('{TOKEN}')
                except OSError:
                    pass
        """,
        "a_kernelspec": f"""
            for path in glob.glob(sys.prefix + '/share/jupyter/kernels/*/kernel.json') + [
                    {str(Path(sys.prefix) / 'share/jupyter/kernels/python3/kernel.json')!r}]:
                try:
                    open(path, 'w').write('{{"argv": ["{TOKEN}"]}}')
                except OSError:
                    pass
        """,
        "a_daemon": f"""
            if not globals().get('_started'):
                globals()['_started'] = True
                code = "import time; time.sleep(60); open({str(paths['daemon_mark'])!r}, 'w').write('{TOKEN}')"
                subprocess.Popen([sys.executable, '-c', code, '{TOKEN}'], start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        import time
                        time.sleep(60)
                        open({str(paths['daemon_mark'])!r}, 'w').write('{TOKEN}')
                    os._exit(0)
        """,
        "a_classmates": f"""
            for path in glob.glob({str(paths['submissions'])!r} + '/*/*.ipynb'):
                try:
                    open(path, 'w').write('{TOKEN}')
                except OSError:
                    pass
        """,
        "a_killer": """
            for kill in (lambda: os.killpg(0, signal.SIGKILL), lambda: os.kill(-1, signal.SIGKILL),
                         lambda: os.kill(os.getppid(), signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
        """,
        "a_forge": f"""
            import json, numpy as np
            for grade_id in ('recall_at_k_tests', 'most_popular_tests'):
                json.dump({{'grade_id': grade_id, 'visible': 'passed', 'outputs': True, 'problems': {{}}}},
                          open('/job/results/' + grade_id + '.json', 'w'))
                np.savez('/job/results/' + grade_id + '.npz', values=np.full(64, 0.5), scores=np.ones((3, 30)))
            try:
                os.symlink({str(paths['gradebook'])!r}, '/job/results/ndcg_at_k_tests.json')
                os.symlink({str(paths['gradebook'])!r}, '/job/results/ndcg_at_k_tests.npz')
            except OSError:
                pass
            os._exit(0)
        """,
        "a_spy": f"""
            seen = []
            for folder in ('/', '/work', {str(ROOT)!r}, {str(paths['course'])!r}, {str(paths['submissions'])!r},
                           os.path.dirname(__import__('course_lib').__file__) + '/grading',
                           {os.environ.get('COURSE_LIB_DATA', '/nonexistent')!r}):
                try:
                    seen.append(folder + ': ' + ' '.join(sorted(os.listdir(folder))))
                except OSError as error:
                    seen.append(folder + ': ' + type(error).__name__)
            for path in ({str(paths['gradebook'])!r}, {str(ROOT / 'solutions' / (NOTEBOOK + '.ipynb'))!r},
                         {str(ROOT / 'course_lib/grading/judges/nb00.py')!r}):
                try:
                    seen.append(open(path, errors='replace').read(300))
                except OSError as error:
                    seen.append(path + ': ' + type(error).__name__)
            raise ValueError(' | '.join(seen))
        """,
        "a_patch": """
            import numpy as np, numpy.testing, course_lib.metrics
            np.isclose = lambda *a, **k: True
            np.allclose = lambda *a, **k: True
            numpy.testing.assert_allclose = lambda *a, **k: None
            course_lib.metrics.recall_at_k = lambda *a, **k: 0.5
            import builtins
            builtins.all = lambda *a: True
            return 0.5
        """,
        "a_stack": """
            import inspect
            for frame in inspect.stack():
                for value in frame.frame.f_locals.values():
                    if isinstance(value, (list, tuple)) and len(value) == 64:
                        return float(value[0]) if isinstance(value[0], float) else 0.5
            return 0.5
        """,
        "a_memory": """
            blocks = [bytearray(2 ** 30) for _ in range(64)]
        """,
        "a_forks": """
            import time
            count = 0
            try:
                while count < 5000:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(20)
                        os._exit(0)
                    count += 1
            except OSError:
                pass
            raise ValueError(f'forked {count} processes')
        """,
        "a_network": f"""
            import socket
            try:
                socket.create_connection(('127.0.0.1', {paths['port']}), timeout=2).sendall(b'{TOKEN}')
                raise ValueError('connected')
            except OSError as error:
                raise ValueError('network: ' + type(error).__name__)
        """,
        "a_disk": """
            try:
                with open('/job/big', 'wb') as handle:
                    for _ in range(2048):
                        handle.write(b'x' * 2 ** 20)
            except OSError as error:
                raise ValueError('disk: ' + type(error).__name__)
        """,
        "a_loop": """
            while True:
                try:
                    pass
                except BaseException:
                    pass
        """,
    }


def _honest_variants(solution: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    variants = {"honest": nbformat.from_dict(solution)}
    colab = nbformat.from_dict(solution)                     # a front end dropped every cell's metadata
    for cell in colab.cells:
        cell.metadata = {}
    variants["honest_colab"] = colab
    helper = nbformat.from_dict(solution)                    # a helper in another cell, prints, a warning,
    for index, cell in enumerate(helper.cells):              # a closed stdout and a syntax error elsewhere
        if cell.cell_type == "code" and "def recall_at_k(" in cell.source:
            cell.source = cell.source.replace("def recall_at_k(", "def _my_recall(")
            cell.source += ("\n\ndef recall_at_k(ranked, relevant, k):\n    import sys, warnings\n"
                            "    print('debug', ranked)\n    warnings.warn('just a warning')\n"
                            "    sys.stdout.close()\n    return _my_recall(ranked, relevant, k)\n")
            helper.cells.insert(index + 1, nbformat.v4.new_code_cell("this is not python ("))
            break
    variants["honest_helper"] = helper
    return variants


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.1)
    paths = {"submissions": root / "submissions", "course": root / "course", "gradebook": root / "course" / "gradebook.db",
             "daemon_mark": root / f"daemon-{TOKEN}.txt", "port": listener.getsockname()[1]}
    solution = nbformat.read(ROOT / "solutions" / f"{NOTEBOOK}.ipynb", as_version=4)
    students = {name: _with_recall(body) for name, body in _attacks(paths).items()}
    students.update(_honest_variants(solution))
    students["z_stub"] = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    wrong = nbformat.from_dict(solution)
    for cell in wrong.cells:
        if cell.cell_type == "code" and "def recall_at_k(" in cell.source:
            cell.source += "\n\ndef recall_at_k(ranked, relevant, k):\n    return len(set(ranked[:k]) & relevant) / k\n"
    students["z_wrong"] = wrong
    # a crash on the empty set, a NotImplementedError from a library call (a mistake, not a stub), and a
    # stub whose earlier cell switches the in-kernel grading line off in every way a cell can reach it
    students["z_crash"] = _with_recall("return len(set(ranked[:k]) & set(relevant)) / len(relevant)")
    students["z_library"] = _with_recall("import numbers\nreturn numbers.Complex.__add__(None, 1)")
    patched = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    patched.cells.insert(2, nbformat.v4.new_code_cell(
        "import course_lib.checks, course_lib.checks._display as display\n"
        "course_lib.checks.assert_passed = lambda: None\ndisplay.in_kernel = lambda: False\n"
        "class Sneaky:\n    course_lib.checks.check_recall_at_k = lambda *a, **k: None\n"))
    students["z_patched"] = patched
    # cells of the student's claiming grade ids: a new graded cell worth 100 points and a copy of a test cell
    fake = nbformat.read(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    claim = {"grade": True, "solution": False, "locked": True, "points": 100, "schema_version": 3}
    fake.cells.append(nbformat.v4.new_code_cell("print('bonus')", metadata={"nbgrader": {**claim, "grade_id": "bonus"}}))
    fake.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {**claim, "grade_id": "recall_at_k_tests"}}))
    students["z_fake_cells"] = fake
    # an answer that uses a variable another cell computes: the reason says why it is not there
    students["z_global"] = _with_recall("return len(set(ranked[:k]) & set(relevant)) / max(1, len(relevant)) * SCALE")
    students["z_global"].cells.insert(3, nbformat.v4.new_code_cell("SCALE = float(1)"))
    for name, notebook in students.items():
        (paths["submissions"] / name).mkdir(parents=True)
        nbformat.write(notebook, paths["submissions"] / name / f"{NOTEBOOK}.ipynb")
    solutions = root / "solutions"
    solutions.mkdir()
    (solutions / f"{NOTEBOOK}.ipynb").write_bytes((ROOT / "solutions" / f"{NOTEBOOK}.ipynb").read_bytes())
    watched = _watched(paths)
    before = {path: _digest(path) for path in watched}
    status = _git_status()
    honest_bytes = (paths["submissions"] / "honest" / f"{NOTEBOOK}.ipynb").read_bytes()
    arguments = dict(solutions=solutions, out=root / "out", show_progress=False, course_dir=paths["course"],
                     workers=2, memory_limit_gb=4.0, time_limit=40)
    table = grade_submissions(paths["submissions"], **arguments)
    before["gradebook-after-first-run"] = None
    connected = []
    try:
        while True:
            connected.append(listener.accept())
    except (TimeoutError, OSError):
        pass
    listener.close()
    processes = _processes_with(TOKEN)
    second = grade_submissions(paths["submissions"], force=True, **arguments)
    return {"table": table.set_index("student"), "second": second.set_index("student"), "paths": paths,
            "before": before, "after": {path: _digest(path) for path in watched}, "status": (status, _git_status()),
            "honest_bytes": honest_bytes, "connected": connected, "processes": processes, "root": root}


def _watched(paths) -> list[Path]:
    purelib = Path(sysconfig.get_paths()["purelib"])
    return [ROOT / "solutions" / f"{NOTEBOOK}.ipynb", *sorted((ROOT / "course_lib").rglob("*.py")),
            *sorted(Path(sys.prefix).glob("share/jupyter/kernels/*/kernel.json")),
            purelib / "sitecustomize.py", purelib / f"zz_{TOKEN}.pth",
            Path.home() / ".jupyter" / "nbgrader_config.py", Path.home() / f"{TOKEN}.txt",
            Path.home() / ".ipython" / "profile_default" / "startup" / f"00-{TOKEN}.py"]


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


def _processes_with(token: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if token in command:
                found.append(f"{entry.name}: {command[:120]}")
    return found


def test_no_attacker_gains_a_point(attacked):
    table = attacked["table"]
    attackers = [name for name in table.index if name.startswith("a_")]
    assert len(attackers) == 17
    assert table.loc[attackers, "total"].tolist() == [0.0] * len(attackers), table.loc[attackers, ["total", "reason"]]


def test_the_students_after_them_get_what_they_earned(attacked):
    for table in (attacked["table"], attacked["second"]):
        assert table.loc["z_stub", "total"] == 0 and "not done yet" in table.loc["z_stub", "reason"]
        assert table.loc["z_wrong", ["recall_at_k_tests", "ndcg_at_k_tests", "most_popular_tests"]].tolist() == [0, 3, 3]
        assert "precision" in table.loc["z_wrong", "reason"]
        for honest in ("honest", "honest_colab", "honest_helper"):
            assert table.loc[honest, "total"] == 8, table.loc[honest, "reason"]


def test_mistakes_are_named(attacked):
    table = attacked["table"]
    assert table.loc["z_crash", "recall_at_k_tests"] == 0 and "ZeroDivisionError" in table.loc["z_crash", "reason"]
    library = table.loc["z_library", "reason"].split("; ")[0]
    assert table.loc["z_library", "total"] == 0 and "not done" not in library and "NotImplementedError" in library
    assert table.loc["z_patched", "total"] == 0 and "not done yet" in table.loc["z_patched", "reason"]


def test_cells_claiming_grade_ids_change_nothing(attacked):
    table = attacked["table"]
    assert table.loc["z_fake_cells", "total"] == 0 and table.loc["z_fake_cells", "max"] == 8
    assert "bonus" not in table.columns
    assert (attacked["paths"]["course"] / "feedback" / "z_fake_cells" / NOTEBOOK / f"{NOTEBOOK}.html").exists()
    assert "NameError" in table.loc["z_global", "reason"] and "not its other cells" in table.loc["z_global", "reason"]


def test_honest_variants_are_reported(attacked):
    table = attacked["table"]
    assert "found by its source" in table.loc["honest_colab", "reason"] or \
           "found by cell id" in table.loc["honest_colab", "reason"]
    assert (attacked["paths"]["submissions"] / "honest" / f"{NOTEBOOK}.ipynb").read_bytes() == attacked["honest_bytes"]


def test_nothing_persists(attacked):
    changed = [str(path) for path in attacked["before"]
               if path != "gradebook-after-first-run" and attacked["before"][path] != attacked["after"][path]]
    assert changed == []
    assert attacked["status"][0] == attacked["status"][1]      # git status as it was
    assert not attacked["paths"]["daemon_mark"].exists()
    assert attacked["processes"] == [] and _processes_with(TOKEN) == []
    assert attacked["connected"] == []
    assert not list(attacked["root"].rglob(f"*{TOKEN}*"))


def test_what_the_sandbox_sees(attacked):
    spy = attacked["table"].loc["a_spy", "reason"]
    assert "ValueError" in spy
    # what it lists: the system, its own job, the student edition of the library (no judges), no course
    assert "/course/course_lib/grading: __init__.py probes |" in spy
    assert f"{attacked['paths']['course']}: FileNotFoundError" in spy
    assert f"{attacked['paths']['submissions']}: FileNotFoundError" in spy
    for secret in ("expect_close", "BEGIN HIDDEN", "SQLite format", "a_home", "honest"):
        assert secret not in spy, secret


def test_limits_hold(attacked):
    table = attacked["table"]
    forks = table.loc["a_forks", "reason"]
    assert "forked" in forks
    count = int(forks.split("forked ")[1].split()[0])
    assert count < 1100
    assert "disk: OSError" in table.loc["a_disk", "reason"] or "File too large" in table.loc["a_disk", "reason"] \
        or "disk:" in table.loc["a_disk", "reason"]
    assert "network: " in table.loc["a_network", "reason"] and "connected" not in table.loc["a_network", "reason"]
    assert "time" in table.loc["a_loop", "reason"]


def test_feedback_never_shows_hidden_tests(attacked):
    root = attacked["root"]
    pages = list((root / "out" / "feedback").rglob("*.html")) + list((attacked["paths"]["course"] / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN" not in text and "run_here" not in text and "hidden_expected" not in text, page
    autograded = attacked["paths"]["course"] / "autograded" / "z_wrong" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert "hidden test" in autograded.read_text() or "precision" in autograded.read_text()


def test_the_gradebook_holds_the_scores(attacked):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{attacked['paths']['gradebook']}") as gradebook:
        assert gradebook.find_submission(NOTEBOOK, "honest").score == 8
        assert gradebook.find_submission(NOTEBOOK, "a_forge").score == 0
        assert gradebook.find_submission(NOTEBOOK, "z_wrong").score == 6
    grades = pd.read_csv(attacked["root"] / "out" / "grades.csv")
    assert len(grades) == len(attacked["table"])
