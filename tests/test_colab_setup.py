"""The Colab setup cell that opens every notebook, and course_lib.colab which it runs.

Outside Colab the cell changes nothing and prints nothing, and its first line says so. With a
stand-in ``google.colab`` module and no ``course_lib`` importable it runs exactly
``pip install --no-deps <address>`` and then ``python -m course_lib.colab``, which installs only
missing requirements under constraints that pin everything installed; these tests run it for real
against a local wheel, in a fresh venv, with pip's index switched off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from course_lib import colab
from course_lib.grading.colab_cell import (
    KERNELSPEC,
    NO_ADDRESS,
    SETUP_CELL_ID,
    SETUP_CELL_METADATA,
    colab_badges,
    course_address,
    install_spec,
    pip_command,
    setup_cell_source,
    stamp_readme,
    stamp_setup_cell,
)
from tests.isolated_env import ROOT, build_wheel, clean_env, isolated_venv

NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.ipynb"))


# --- every notebook starts with the current cell --------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_every_notebook_starts_with_the_stamped_setup_cell(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "code" and first.get("id") == SETUP_CELL_ID
    assert first.source == setup_cell_source(course_address(ROOT / "pyproject.toml")), "run `make student`"
    assert "nbgrader" not in first.metadata, "the setup cell must never be graded"
    assert {k: v for k, v in first.metadata.items() if k != "execution"} == SETUP_CELL_METADATA, "folded"
    assert sum(c.get("id") == SETUP_CELL_ID for c in notebook.cells) == 1
    assert notebook.metadata["kernelspec"] == KERNELSPEC


def test_readme_badges_are_stamped_from_pyproject():
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert colab_badges(course_address(ROOT / "pyproject.toml"), names) in text, "run `make student`"


# --- the address ------------------------------------------------------------------------------------------------


def test_course_address_is_read_from_project_urls(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nSource = "https://github.com/a/b"\n')
    assert course_address(pyproject) == "https://github.com/a/b"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nHomepage = "https://example.org"\n')
    assert course_address(pyproject) is None


@pytest.mark.parametrize("address, spec", [
    ("https://github.com/a/b", "git+https://github.com/a/b"),
    ("https://github.com/a/b/", "git+https://github.com/a/b"),
    ("git+https://gitlab.com/a/b@v0.2.0", "git+https://gitlab.com/a/b@v0.2.0"),
    ("https://example.org/course_lib-0.2.0-py3-none-any.whl", "https://example.org/course_lib-0.2.0-py3-none-any.whl"),
    ("/content/course", "/content/course"),
    (None, ""),
])
def test_install_spec(address, spec):
    assert install_spec(address) == spec


def test_badges_link_each_notebook_on_colab():
    text = colab_badges("https://github.com/owner/course", ["00_a.ipynb", "01_b.ipynb"])
    assert "https://colab.research.google.com/github/owner/course/blob/main/notebooks/00_a.ipynb" in text
    assert text.count("colab-badge.svg") == 2
    assert "No course address is set" in colab_badges(None, ["00_a.ipynb"])
    assert "not a GitHub repository page" in colab_badges("https://example.org/x.whl", ["00_a.ipynb"])


def test_stamp_readme_rewrites_only_the_block_and_says_when_it_is_missing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- colab-badges:start -->\nold\n<!-- colab-badges:end -->\nafter\n")
    assert stamp_readme(readme, "https://github.com/o/r", ["00_a.ipynb"])
    assert stamp_readme(readme, "https://github.com/o/r", ["00_a.ipynb"]) is False
    text = readme.read_text()
    assert text.startswith("# T\n") and text.endswith("after\n") and "old" not in text
    readme.write_text("# no block\n")
    with pytest.raises(ValueError, match="colab-badges"):
        stamp_readme(readme, None, [])


def test_stamping_replaces_the_cell_in_place_and_keeps_the_rest():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
    stamp_setup_cell(notebook, None)
    stamp_setup_cell(notebook, "https://github.com/o/r")
    assert [c.cell_type for c in notebook.cells] == ["code", "markdown"]
    assert "git+https://github.com/o/r" in notebook.cells[0].source
    # Folded: JupyterLab shows its first line only, Colab its title (a form); tagged for the tools.
    assert notebook.cells[0].metadata == {"cellView": "form", "jupyter": {"source_hidden": True},
                                          "tags": ["colab-setup"]}
    nbformat.validate(notebook)
    misplaced = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), notebook.cells[0]])
    with pytest.raises(ValueError, match="first"):
        stamp_setup_cell(misplaced, None)


# --- what a student reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["https://github.com/o/r", None], ids=["address", "no-address"])
def test_the_cell_says_first_that_it_is_for_colab_only_and_shows_nothing_to_fill_in(address):
    source = setup_cell_source(address)
    first, *rest = source.splitlines()
    # Colab's form title (`# @title`), and the line JupyterLab shows in place of the folded source.
    assert first == "# @title Google Colab only: installs course_lib there. Does nothing anywhere else."
    assert len(source.splitlines()) <= 9
    assert not any(line.lstrip().startswith("#") for line in rest), "no other comment (no 'stamped by ...')"
    for word in ("raise", "Error", "COURSE_LIB_SOURCE", "stamped", "make student"):
        assert word not in source
    # Nothing outside the Colab branch but the imports it needs.
    top_level = [line for line in rest if line and not line.startswith(" ")]
    assert top_level[-1].startswith('if "google.colab" in sys.modules')
    assert all(line.startswith("import ") for line in top_level[:-1])


def test_the_pip_command_is_the_one_the_cell_has_always_run():
    assert pip_command("https://github.com/o/r") == ["-m", "pip", "install", "-q", "--no-deps",
                                                     "git+https://github.com/o/r"]
    assert ('subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", '
            '"git+https://github.com/o/r"], check=True)') in setup_cell_source("https://github.com/o/r")


# --- the cell in a real IPython shell ----------------------------------------------------------------------------

_IPYTHON = '''
import importlib.util, json, subprocess, sys, types
source, colab, log = json.loads(sys.argv[1])
if colab:
    sys.modules["google.colab"] = types.ModuleType("google.colab")
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "course_lib" else real(name, *a)  # not installed
calls = []
subprocess.run = lambda command, **kwargs: calls.append([str(part) for part in command])
from IPython.core.interactiveshell import InteractiveShell
result = InteractiveShell.instance().run_cell(source, store_history=True)
with open(log, "w") as stream:
    json.dump({"success": result.success, "calls": calls, "executable": sys.executable}, stream)
'''


def _run_in_ipython(tmp_path: Path, source: str, *, colab: bool) -> tuple[dict, str, str]:
    """Run ``source`` as a cell of an IPython shell (course_lib made not importable, subprocess.run
    recorded, not run); returns what it recorded, and the shell's stdout and stderr."""
    log = tmp_path / "result.json"
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", _IPYTHON, json.dumps([source, colab, str(log)])],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(log.read_text()), done.stdout, done.stderr


@pytest.mark.parametrize("address", ["https://github.com/o/r", None], ids=["address", "no-address"])
def test_outside_colab_the_cell_prints_nothing_and_raises_nothing_in_ipython(tmp_path, address):
    pytest.importorskip("IPython")
    recorded, out, err = _run_in_ipython(tmp_path, setup_cell_source(address), colab=False)
    assert recorded["success"] and recorded["calls"] == []
    assert out == "" and err == ""


def test_on_colab_the_cell_runs_pip_then_course_lib_colab_in_ipython(tmp_path):
    pytest.importorskip("IPython")
    recorded, out, err = _run_in_ipython(tmp_path, setup_cell_source("https://example.org/fake-course_lib.whl"),
                                         colab=True)
    python = recorded["executable"]
    assert recorded["success"] and (out, err) == ("", "")
    assert recorded["calls"] == [[python, "-m", "pip", "install", "-q", "--no-deps",
                                  "https://example.org/fake-course_lib.whl"],
                                 [python, "-m", "course_lib.colab"]]


def test_on_colab_without_an_address_the_cell_prints_the_message_and_runs_nothing_in_ipython(tmp_path):
    pytest.importorskip("IPython")
    recorded, out, err = _run_in_ipython(tmp_path, setup_cell_source(None), colab=True)
    assert recorded["success"] and recorded["calls"] == []
    assert out == NO_ADDRESS + "\n" and err == ""


# --- running the cell in this process: what it would run ------------------------------------------------------


def _run_cell(monkeypatch, source: str, *, colab: bool, course_lib_importable: bool) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append(list(command)))
    if colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if not course_lib_importable:
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "course_lib" else real(name, *a))
    exec(compile(source, "<setup cell>", "exec"), {})
    return calls


def test_outside_colab_the_cell_runs_nothing(monkeypatch):
    before = set(sys.modules)
    assert _run_cell(monkeypatch, setup_cell_source("https://github.com/o/r"), colab=False,
                     course_lib_importable=False) == []
    assert set(sys.modules) - before <= {"importlib.util", "subprocess", "sys"}


def test_on_colab_with_course_lib_already_there_the_cell_runs_nothing(monkeypatch):
    assert _run_cell(monkeypatch, setup_cell_source("https://github.com/o/r"), colab=True,
                     course_lib_importable=True) == []


def test_on_colab_the_cell_installs_course_lib_alone_then_what_is_missing(monkeypatch):
    calls = _run_cell(monkeypatch, setup_cell_source("https://github.com/o/r"), colab=True,
                      course_lib_importable=False)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps", "git+https://github.com/o/r"],
                     [sys.executable, "-m", "course_lib.colab"]]


@pytest.mark.parametrize("colab", [True, False], ids=["colab", "elsewhere"])
@pytest.mark.parametrize("address", ["https://github.com/o/r", "", None], ids=["address", "empty", "none"])
def test_the_no_address_message_is_printed_on_colab_only_and_only_without_an_address(monkeypatch, capsys, colab,
                                                                                   address):
    calls = _run_cell(monkeypatch, setup_cell_source(address), colab=colab, course_lib_importable=False)
    out = capsys.readouterr().out
    assert out == (NO_ADDRESS + "\n" if colab and not address else "")
    assert calls == ([[sys.executable, "-m", "pip", "install", "-q", "--no-deps", "git+https://github.com/o/r"],
                      [sys.executable, "-m", "course_lib.colab"]] if colab and address else [])
    assert NO_ADDRESS.count(". ") == 0 and NO_ADDRESS.endswith("."), "one sentence"


# --- course_lib.colab: only what is missing, nothing replaced ---------------------------------------------------


def test_plan_finds_missing_and_out_of_range_requirements():
    missing, outside = colab.plan(["numpy>=2.1.3,<3", "tqdm>=4.67.3", "Pooch>=1.9", "requests>=2.32.4"],
                                  {"numpy": "1.26.4", "pooch": "1.9.0", "requests": "2.32.4"})
    assert missing == ["tqdm>=4.67.3"]
    assert len(outside) == 1 and outside[0].startswith("numpy 1.26.4 is installed")


def test_install_missing_pins_everything_installed(tmp_path):
    seen = {}

    def runner(command):
        constraint = Path(command[command.index("--constraint") + 1])
        seen["command"], seen["constraints"] = command, constraint.read_text().splitlines()

    command = colab.install_missing(["numpy>=2.1.3", "tqdm>=4.67.3"],
                                    {"numpy": "2.1.3", "torch": "2.11.0+cpu", "pip": "24.1.2", "odd": "not a version"},
                                    runner=runner)
    assert command == seen["command"]
    assert command[:4] == [sys.executable, "-m", "pip", "install"] and command[-1] == "tqdm>=4.67.3"
    assert seen["constraints"] == ["numpy==2.1.3", "torch==2.11.0+cpu"]


def test_install_missing_runs_nothing_when_everything_is_there(capsys):
    assert colab.install_missing(["numpy>=2"], {"numpy": "2.4.6"}, runner=lambda c: pytest.fail("ran pip")) == []
    assert "nothing else changed" in capsys.readouterr().out


def test_base_requirements_are_the_ranges_without_extras():
    requirements = colab.base_requirements()
    names = {r.split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in requirements}
    assert {"numpy", "pandas", "scipy", "matplotlib"} <= names
    assert not names & {"torch", "tensorflow", "keras", "jupyterlab", "nbgrader", "pytest"}


# --- the real thing: a fresh venv, a stand-in google.colab, a local wheel, no index ---------------------------

_RECORDER = '''
import json, os, subprocess
_real = subprocess.run
def _recording_run(command, *args, **kwargs):
    with open(os.environ["SETUP_CELL_LOG"], "a") as log:
        log.write(json.dumps([str(part) for part in command]) + "\\n")
    return _real(command, *args, **kwargs)
subprocess.run = _recording_run
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def _fake_wheel(tmp: Path, name: str, version: str) -> Path:
    """A wheel for a package that course_lib requires, built here (so pip needs no index)."""
    source = tmp / f"fake-{name}"
    (source / name).mkdir(parents=True)
    (source / name / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (source / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n[tool.setuptools]\npackages = ["{name}"]\n')
    out = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
                    str(out), str(source)], check=True, cwd=tmp)
    return out


def _run_as_on_colab(python: Path, tmp: Path, source: str, **env: str) -> tuple[list[list[str]], str]:
    standin = tmp / "standin"
    (standin / "google" / "colab").mkdir(parents=True)
    (standin / "google" / "colab" / "__init__.py").write_text("")
    (standin / "sitecustomize.py").write_text(_RECORDER)
    log = tmp / "commands.jsonl"
    cell = tmp / "cell.py"
    cell.write_text("import google.colab\n" + setup_cell_source(source) + "\n")
    result = subprocess.run([str(python), str(cell)], capture_output=True, text=True, cwd=tmp,
                            env=clean_env(PYTHONPATH=str(standin), SETUP_CELL_LOG=str(log), **env))
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    # Only the interpreter's own commands (pip itself runs helpers such as `uname` while it works).
    commands = [c for c in commands if Path(c[0]).name.startswith("python")]
    return commands, result.stdout + result.stderr


def _listing(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                         check=True, env=clean_env()).stdout
    return {d["name"].lower(): d["version"] for d in json.loads(out)}


def _importable(python: Path, tmp: Path) -> str:
    return subprocess.run([str(python), "-c", "import course_lib, sys; print(course_lib.__file__)"],
                          capture_output=True, text=True, cwd=tmp, env=clean_env()).stdout.strip()


@pytest.mark.slow
def test_on_a_stand_in_colab_the_cell_installs_the_wheel_and_nothing_else(tmp_path, wheel):
    python = isolated_venv(tmp_path)
    assert _importable(python, tmp_path) == "", "course_lib must not be importable before the cell runs"
    before = _listing(python)
    commands, output = _run_as_on_colab(python, tmp_path, str(wheel))
    assert commands[0][1:] == ["-m", "pip", "install", "-q", "--no-deps", str(wheel)]
    assert commands[1][1:] == ["-m", "course_lib.colab"]
    assert len(commands) == 2, f"nothing else should run (every requirement is installed): {commands}"
    assert "nothing else changed" in output
    after = _listing(python)
    assert {k: v for k, v in after.items() if k != "course-lib"} == before
    assert after["course-lib"] == __import__("course_lib").__version__
    assert str(tmp_path / "venv") in _importable(python, tmp_path)
    # Run again: course_lib is importable now, so the cell does nothing.
    (tmp_path / "commands.jsonl").unlink()
    (tmp_path / "standin").rename(tmp_path / "standin-1")
    again, _ = _run_as_on_colab(python, tmp_path, str(wheel))
    assert again == []


@pytest.mark.slow
def test_on_a_stand_in_colab_a_missing_requirement_is_installed_under_constraints(tmp_path, wheel):
    python = isolated_venv(tmp_path, exclude=("tqdm",))
    before = _listing(python)
    assert "tqdm" not in before
    wheels = _fake_wheel(tmp_path, "tqdm", "4.99.0")
    commands, output = _run_as_on_colab(python, tmp_path, str(wheel), PIP_FIND_LINKS=str(wheels))
    assert [c[1:4] for c in commands] == [["-m", "pip", "install"], ["-m", "course_lib.colab"],
                                          ["-m", "pip", "install"]]
    install = commands[2]
    assert install[4] == "--constraint" and install[6:] == ["tqdm<5,>=4.67.3"], install
    after = _listing(python)
    assert after.pop("tqdm") == "4.99.0" and after.pop("course-lib")
    assert after == before, "the setup cell changed an installed package"
