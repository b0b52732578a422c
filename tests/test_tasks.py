"""tasks.py, the one implementation behind the Makefile, and the Colab profile it tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course_lib.grading.colab_cell import setup_cell_source
from tests.isolated_env import ROOT

sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

COLAB = {"numpy": "2.1.3", "scipy": "1.16.3", "pandas": "2.2.3", "matplotlib": "3.10.0", "scikit-learn": "1.6.1",
         "seaborn": "0.13.2", "tensorflow": "2.20.0", "keras": "3.13.2"}


def test_help_names_every_task():
    out = subprocess.run([sys.executable, str(ROOT / "tasks.py"), "--help"], capture_output=True, text=True,
                         check=True).stdout
    for task in ("lab", "test", "student", "check-notebooks", "grade", "bench", "lint", "colab-check", "lock", "course",
                 "instructor-lab"):
        assert task in out


def test_grade_without_a_folder_says_how_to_call_it(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(tasks, "install", lambda *a, **k: Path(sys.executable))
    monkeypatch.setattr(tasks, "run", lambda command, **kwargs: ran.append(command))
    assert tasks.main(["grade"]) == 2
    assert "usage: python tasks.py grade DIR" in capsys.readouterr().err and ran == []
    assert tasks.main(["grade", "subs", "--out", "o"]) == 0
    assert ran == [[Path(sys.executable), "-m", "course_lib.grading.grade", "subs", "--out", "o"]]


def test_test_runs_lint_then_the_whole_suite(monkeypatch):
    ran = []
    monkeypatch.setattr(tasks, "install", lambda *a, **k: Path(sys.executable))
    monkeypatch.setattr(tasks, "run", lambda command, **kwargs: ran.append([str(c) for c in command]))
    tasks.main(["test", "-x"])
    assert ran[0][1:4] == ["-m", "ruff", "check"]
    assert ran[1][1:6] == ["-m", "pytest", "tests", "solutions", "--nbval-lax"] and ran[1][-1] == "-x"


def test_the_colab_profile_has_colabs_versions():
    assert {k: v for k, v in tasks.colab_versions().items() if k in COLAB} == COLAB


def test_colabs_versions_are_inside_every_range_and_are_the_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for extra in ("tf", "lab") for r in project["optional-dependencies"][extra]]
    requirements = {canonicalize_name(Requirement(r).name): Requirement(r) for r in lines}
    for name, version in tasks.colab_versions().items():
        if name in requirements:
            specifier = requirements[name].specifier
            assert specifier.contains(version), f"Colab's {name} {version} is outside {specifier}"
            lower = [s.version for s in specifier if s.operator == ">="]
            assert lower == [version], f"{name}: the lower bound should be the tested Colab version {version}"


def test_colab_check_runs_the_committed_cell_with_another_address(monkeypatch):
    wheel = "/tmp/course_lib-0.2.0-py3-none-any.whl"
    cell = tasks.setup_cell_for(wheel)
    assert cell == setup_cell_source(wheel)
    assert f'"--no-deps", "{wheel}"], check=True)' in cell
    # A committed cell that `make student` would not stamp: colab-check says so rather than test another cell.
    monkeypatch.setattr(tasks, "setup_cell_source", lambda: "print('an old cell')")
    with pytest.raises(SystemExit, match="make student"):
        tasks.setup_cell_for(wheel)


@pytest.mark.parametrize("environment, flag, chosen", [
    ({}, False, False),
    ({}, True, True),
    ({"TORCH_CPU": "1"}, False, True),          # the name the Makefile and README use
    ({"COURSE_TORCH_CPU": "1"}, False, True),   # tasks.py's earlier name, still accepted
    ({"TORCH_CPU": "0"}, False, False),          # as make reads it: 0 or empty is off
    ({"TORCH_CPU": ""}, False, False),
    ({"COURSE_TORCH_CPU": "0"}, False, False),
    ({"TORCH_CPU": "yes"}, False, True),
])
def test_wants_torch_cpu_reads_the_makefiles_variable_and_the_old_name(monkeypatch, environment, flag, chosen):
    for name in tasks.TORCH_CPU_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", "linux")
    assert tasks.wants_torch_cpu(flag) is chosen
    monkeypatch.setattr(sys, "platform", "darwin")
    assert tasks.wants_torch_cpu(flag) is False


def test_torch_cpu_in_the_environment_reaches_install_without_make(monkeypatch):
    # `TORCH_CPU=1 python3 tasks.py lab` used to install PyPI's CUDA build: tasks.py read only COURSE_TORCH_CPU.
    chosen = []
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("COURSE_TORCH_CPU", raising=False)
    monkeypatch.setenv("TORCH_CPU", "1")
    monkeypatch.setattr(tasks, "install", lambda torch_cpu, reinstall: chosen.append(torch_cpu) or Path(sys.executable))
    monkeypatch.setattr(tasks, "run", lambda command, **kwargs: None)
    tasks.main(["lint"])
    assert chosen == [True]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
@pytest.mark.parametrize("value, flag", [("1", True), ("0", False), ("", False)])
def test_make_reads_the_same_variable(value, flag):
    env = {k: v for k, v in os.environ.items() if k not in tasks.TORCH_CPU_VARIABLES}
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**env, "TORCH_CPU": value}).stdout
    assert ("--torch-cpu" in out) is flag, out


def test_install_registers_no_second_kernel_and_removes_the_old_one(monkeypatch, tmp_path):
    venv = tmp_path / "venv"
    stale = venv / "share" / "jupyter" / "kernels" / "course-recsys"
    stale.mkdir(parents=True)
    (stale / "kernel.json").write_text("{}")
    python3 = venv / "share" / "jupyter" / "kernels" / "python3"
    python3.mkdir()
    ran = []
    monkeypatch.setattr(tasks, "VENV", venv)
    monkeypatch.setattr(tasks, "run", lambda command, **kwargs: ran.append([str(c) for c in command]))
    monkeypatch.setattr(tasks, "venv_python", lambda v: v / "bin" / "python")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").write_text("")
    tasks.install()
    assert not stale.exists() and python3.is_dir()
    assert ran and not any("ipykernel" in command for command in ran)
    assert (venv / ".installed").exists()


def test_locked_version_reads_the_lock():
    assert tasks.locked_version("torch") == "2.13.0"
    with pytest.raises(SystemExit, match="no line"):
        tasks.locked_version("no-such-package")


def test_the_student_lab_hides_nbgraders_instructor_tools_and_the_instructor_lab_shows_them():
    # JupyterLab (the lab extra) and nbgrader (the grading extra): not in the Colab profile.
    pytest.importorskip("jupyterlab_server")
    pytest.importorskip("nbgrader")
    probe = ("import json\n"
             "from jupyter_core.paths import jupyter_config_path\n"
             "from jupyter_server.extension.config import ExtensionConfigManager\n"
             "from jupyterlab_server.config import get_page_config\n"
             "enabled = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()\n"
             "labconfig = [p + '/labconfig' for p in jupyter_config_path()]\n"
             "page = get_page_config(labconfig, None, None)\n"
             "disabled = page.get('disabledExtensions', [])\n"
             "disabled = [k for k, v in disabled.items() if v] if isinstance(disabled, dict) else list(disabled)\n"
             "print(json.dumps({'server': {k: v for k, v in enabled.items() if 'nbgrader' in k},"
             " 'disabled': disabled}))\n")
    import json

    def extensions(env):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
        return json.loads(out.strip().splitlines()[-1])

    student = extensions(tasks.student_lab_env())
    assert student["server"] and not any(student["server"].values())          # formgrader & co. off
    assert "@jupyter/nbgrader" in student["disabled"]                          # the lab toolbar and menus off
    instructor = extensions(tasks._env())
    assert instructor["server"].get("nbgrader.server_extensions.formgrader") is True
    assert "@jupyter/nbgrader" not in instructor["disabled"]
