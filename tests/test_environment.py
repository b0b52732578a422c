"""The dependencies: ranges in pyproject.toml, one lock (requirements-lock.txt) that every install
uses (make / tasks.py, environment.yml, CI), and the lock satisfying every range."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        assert match, f"{LOCK.name}: a line that is not name==version: {line!r}"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for every dependency and every extra, without the self-reference of `all`."""
    found = [("dependencies", Requirement(r)) for r in PROJECT["dependencies"]]
    for extra, lines in PROJECT["optional-dependencies"].items():
        found += [(f"extra {extra}", Requirement(r)) for r in lines if canonicalize_name(Requirement(r).name) != "course-lib"]
    return found


def test_no_exact_pins_left_in_pyproject():
    pinned = [f"{where}: {r}" for where, r in _requirements() if any(s.operator in ("==", "===") for s in r.specifier)]
    assert not pinned, f"pyproject.toml should give ranges (the lock pins): {pinned}"


def test_every_dependency_has_a_lower_bound():
    unbounded = [f"{where}: {r}" for where, r in _requirements() if not any(s.operator in (">=", ">") for s in r.specifier)]
    assert not unbounded, f"dependencies without a lower bound (the oldest tested version): {unbounded}"


def test_the_extras_are_those_the_readme_names():
    assert set(PROJECT["optional-dependencies"]) == {"torch", "tf", "lab", "grading", "dev", "all"}
    everything = Requirement(PROJECT["optional-dependencies"]["all"][0])
    assert everything.extras == {"torch", "tf", "lab", "grading", "dev"}


def test_framework_and_jupyter_packages_are_not_core_dependencies():
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert not core & {"torch", "tensorflow", "keras", "jupyterlab", "ipykernel", "ipywidgets", "nbgrader"}


def test_requires_python_has_no_upper_cap():
    assert PROJECT["requires-python"] == ">=3.11"


def test_the_lock_satisfies_every_range():
    locked = _locked()
    problems = []
    for where, requirement in _requirements():
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} ({where}) is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"the lock has {requirement.name}=={version}, outside {where}'s {requirement}")
    assert not problems, "run `python tasks.py lock`:\n" + "\n".join(problems)


def test_the_lock_keeps_torch_at_the_version_of_the_committed_outputs():
    assert _locked()["torch"] == "2.13.0"  # without +cpu: PyPI's build satisfies it as well


def test_the_lock_says_how_it_was_made_and_for_which_python():
    header = LOCK.read_text().split("\n\n", 1)[0]
    assert "pip-compile" in header and all(f"--extra={e}" in header for e in ("torch", "tf", "lab", "grading", "dev")) and "pyproject.toml" in header
    assert "Python 3.11" in header


def test_environment_yml_installs_the_lock_with_the_lock_python():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["-r requirements-lock.txt", "-e ."]]
    pythons = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    python = re.search(r"Python (\d+\.\d+)", LOCK.read_text()).group(1)
    assert pythons == [f"python={python}"]


def test_every_way_to_install_uses_the_lock():
    tasks = (ROOT / "tasks.py").read_text()
    assert re.search(r'"-r", LOCK\]', tasks) and '"--no-deps", "-e", ROOT' in tasks
    makefile = (ROOT / "Makefile").read_text()
    recipes = [line.strip() for line in makefile.splitlines() if line.startswith("\t")]
    for target in ("lab", "test", "install", "student"):
        assert f"$(TASKS) {target}" in recipes, f"make {target} should call tasks.py"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_version_is_written_in_one_place():
    import course_lib

    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert metadata.version("course-lib") == course_lib.__version__
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == course_lib.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.MULTILINE).group(1) == course_lib.__version__


def test_pre_commit_runs_the_locked_ruff_on_the_paths_of_make_lint():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = [r for r in config["repos"] if "ruff" in r["repo"]]
    assert repo["rev"] == f"v{_locked()['ruff']}"
    assert [h["id"] for h in repo["hooks"]] == ["ruff"]


def _in_course_venv() -> bool:
    return Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()


@pytest.mark.skipif(not _in_course_venv(), reason="not the course's .venv (the lock is installed only there)")
@pytest.mark.parametrize("name, version", sorted(_locked().items()))
def test_installed_version_is_the_locked_one(name, version):
    installed = metadata.version(name)
    # torch's CPU wheels carry a local tag: 2.13.0+cpu is the locked 2.13.0.
    assert installed.split("+")[0] == version, f"{name} {installed} is installed but the lock has {version}"


def test_the_python3_kernel_is_this_environment():
    """Notebooks name the `python3` kernel (what Colab knows); here it must start this interpreter."""
    kernelspec = pytest.importorskip("jupyter_client.kernelspec")
    spec = kernelspec.KernelSpecManager().get_kernel_spec("python3")
    executable = spec.argv[0]
    # jupyter_client starts `python` / `python3` as the interpreter Jupyter itself runs in.
    assert executable in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}") or \
        Path(executable).resolve() == Path(sys.executable).resolve(), spec.argv
