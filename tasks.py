#!/usr/bin/env python3
"""The course's commands, in plain Python so they run the same on Linux, macOS and Windows.

    python tasks.py lab            install into .venv (the locked versions) and open JupyterLab on notebooks/
    python tasks.py test           install, lint, then the whole suite: unit tests and every solution notebook
    python tasks.py unit           install, then the unit tests only
    python tasks.py lint           ruff check (the same as the pre-commit hook)
    python tasks.py student        regenerate notebooks/ from solutions/ and stamp the Colab address
    python tasks.py check-notebooks
    python tasks.py browser-test   the student notebooks in JupyterLab in headless Chromium (tests/browser; installs
                                   Debian's Chromium with apt-get when there is none)
    python tasks.py grade DIR|DOWNLOAD.zip [--out OUT] [--workers N] [--force] ...  (course-grade's options;
                                   installs bubblewrap, the grading sandbox, with apt-get when there is none)
    python tasks.py course         copy solutions/ into nbgrader's course directory course/, generate_assignment each
    python tasks.py instructor-lab JupyterLab on course/ with nbgrader's formgrader and create-assignment tools
    python tasks.py bench [--dataset ml-1m]
    python tasks.py colab-check    Python 3.13 with Google Colab's versions: install as the notebooks' setup cell does, test
    python tasks.py lock           regenerate requirements-lock.txt from pyproject.toml (pip-compile)
    python tasks.py install        only the install step

The Makefile calls this script (`make lab` is `python3 tasks.py lab`), so there is one implementation.
Needs only Python 3.11 or newer; it creates `.venv` itself. On Linux, `--torch-cpu` or TORCH_CPU=1 in
the environment (the variable `make` reads too: `TORCH_CPU=1 make lab` and `TORCH_CPU=1 python3
tasks.py lab` do the same; COURSE_TORCH_CPU=1 is accepted as well) installs the CPU build of PyTorch
from PyTorch's own package index instead of PyPI's CUDA build. Use it with the first install, or add
`--reinstall`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements-lock.txt"
LOCK_CONSTRAINTS = ROOT / "requirements-lock.in"
COLAB_VERSIONS = ROOT / "requirements-colab.txt"
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
COLAB_VENV = Path(os.environ.get("COLAB_VENV", ROOT / ".venv-colab"))
# The kernelspec earlier installs registered in .venv beside ipykernel's own `python3`: the same
# interpreter twice in JupyterLab's Launcher. The notebooks ask for `python3`; install removes it.
STALE_KERNEL = "course-recsys"
# TORCH_CPU is the name the Makefile and README use; COURSE_TORCH_CPU, tasks.py's earlier name, still works.
TORCH_CPU_VARIABLES = ("TORCH_CPU", "COURSE_TORCH_CPU")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYTEST_NOTEBOOK_ARGS = ["--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600"]
LINT_PATHS = ["course_lib", "tests", "bench", "solutions", "notebooks", "tasks.py"]
# JupyterLab driven in Chromium: `browser-test` runs them, `test` and `unit` leave them out (they need a browser).
BROWSER_TESTS = "tests/browser"
# The tests of `colab-check`: everything but what needs the grading tools (nbgrader is not on Colab) and the
# browser (Playwright and Chromium are not on Colab).
COLAB_TEST_ARGS = ["tests", "--ignore=tests/grading", "--ignore=tests/test_notebooks.py", "--ignore=tests/browser"]


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(command: list, **kwargs) -> None:
    """Run a command, echoed first; stop with its exit status when it fails."""
    printable = " ".join(str(part) for part in command)
    print(f"+ {printable}", flush=True)
    completed = subprocess.run([str(part) for part in command], **kwargs)
    if completed.returncode != 0:
        raise SystemExit(completed.returncode)


def _fingerprint(torch_cpu: bool) -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(f"torch_cpu={torch_cpu}".encode())
    return digest.hexdigest()


def locked_version(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", LOCK.read_text(), flags=re.MULTILINE)
    if not match:
        raise SystemExit(f"{LOCK.name} has no line {name}==...")
    return match.group(1)


def wants_torch_cpu(flag: bool) -> bool:
    """``--torch-cpu``, or TORCH_CPU (or COURSE_TORCH_CPU) set to anything but empty or 0, as `make` reads it."""
    chosen = flag or any(os.environ.get(name, "") not in ("", "0") for name in TORCH_CPU_VARIABLES)
    if chosen and not sys.platform.startswith("linux"):
        print("--torch-cpu only matters on Linux (PyPI's macOS and Windows wheels of PyTorch are already CPU builds).")
        return False
    return chosen


def remove_stale_kernel(venv: Path) -> None:
    """Remove the ``course-recsys`` kernelspec an earlier install registered in ``venv``: JupyterLab's
    Launcher then shows one kernel for the course, ``python3`` (ipykernel's own, this same venv)."""
    stale = venv / "share" / "jupyter" / "kernels" / STALE_KERNEL
    if stale.is_dir():
        shutil.rmtree(stale)
        print(f"Removed the kernel {STALE_KERNEL!r} of an earlier install: the notebooks use `python3`, the same .venv.")


def install(torch_cpu: bool = False, reinstall: bool = False) -> Path:
    """Create .venv, install the locked versions and the course package (Jupyter's `python3` kernel,
    which ipykernel installs, is this venv when JupyterLab runs from it).

    Skipped when the lock, pyproject.toml and the options are those of the last install."""
    python = venv_python(VENV)
    remove_stale_kernel(VENV)
    stamp = VENV / ".installed"
    fingerprint = _fingerprint(torch_cpu)
    if not reinstall and python.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        return python
    if not python.exists():
        if sys.version_info < (3, 11):  # noqa: UP036 (tasks.py runs under whatever Python the user has)
            raise SystemExit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]} ({sys.executable}).")
        run([sys.executable, "-m", "venv", VENV])
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24"])
    if torch_cpu:
        # The locked version's CPU build, by its exact name (2.13.0+cpu): pip replaces a CUDA build already there.
        run([python, "-m", "pip", "install", "--quiet", f"torch=={locked_version('torch')}+cpu",
             "--extra-index-url", TORCH_CPU_INDEX])
    run([python, "-m", "pip", "install", "--quiet", "-r", LOCK])
    # The course package itself, editable and without dependencies: the lock already holds them all.
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT])
    stamp.write_text(fingerprint + "\n")
    return python


def lint(python: Path) -> None:
    run([python, "-m", "ruff", "check", *LINT_PATHS], cwd=ROOT)


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra)
    return env


STUDENT_LAB_CONFIG = ROOT / "course" / "student-lab"


def student_lab_env() -> dict:
    """The environment of the students' JupyterLab: nbgrader's instructor extensions (formgrader, create
    assignment, course and assignment lists) switched off by the config folder course/student-lab,
    for this command only (JUPYTER_CONFIG_PATH; nothing is changed in the venv)."""
    extra = os.environ.get("JUPYTER_CONFIG_PATH", "")
    path = os.pathsep.join([str(STUDENT_LAB_CONFIG), *([extra] if extra else [])])
    return _env(MPLBACKEND="module://matplotlib_inline.backend_inline", JUPYTER_CONFIG_PATH=path)


def lab(python: Path, folder: str = "notebooks", instructor: bool = False) -> None:
    arguments = [python, "-m", "jupyter", "lab", folder]
    if hasattr(os, "getuid") and os.getuid() == 0:
        arguments.append("--allow-root")  # JupyterLab refuses to run as root (containers, CI) unless told to
    env = _env(MPLBACKEND="module://matplotlib_inline.backend_inline") if instructor else student_lab_env()
    run(arguments, cwd=ROOT, env=env)


def test(python: Path, pytest_args: list[str]) -> None:
    lint(python)
    ensure_bubblewrap()
    # Unit tests and the notebooks in one pytest run, so the closing line counts everything.
    run([python, "-m", "pytest", "tests", "solutions", *PYTEST_NOTEBOOK_ARGS, f"--ignore={BROWSER_TESTS}", "-p",
         "no:cacheprovider", "-q", "-rs", *pytest_args], cwd=ROOT, env=_env())


def chromium() -> str | None:
    return os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def apt_install(package: str, found: bool, purpose: str) -> None:
    """A Debian package (``package``) installed with apt-get, as root or through sudo, unless ``found``.
    Elsewhere it says what to do; what needs it then says so itself."""
    if found:
        return
    apt = shutil.which("apt-get")
    root = hasattr(os, "getuid") and os.getuid() == 0
    sudo = [] if root else (["sudo"] if shutil.which("sudo") else None)
    if not sys.platform.startswith("linux") or apt is None or sudo is None:
        print(f"{package} is not installed: install it (Debian/Ubuntu: apt-get install {package}) {purpose}.",
              flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([*sudo, apt, "update", "-qq"], [*sudo, apt, "install", "-y", "-qq", package]):
        print(f"+ {' '.join(command)}", flush=True)
        if subprocess.run(command, env=env).returncode != 0:
            print(f"Installing {package} failed.", flush=True)
            return


def ensure_chromium() -> None:
    """Debian's Chromium for the browser tests (Playwright's own browser download is not used). Where it
    cannot be installed the tests skip, or fail where COURSE_BROWSER_REQUIRED=1 (CI)."""
    apt_install("chromium", bool(chromium()), "or set COURSE_CHROMIUM to a Chromium or Chrome executable")


def ensure_bubblewrap() -> None:
    """bubblewrap, the sandbox each student's code is graded in (course_lib.grading.sandbox); Linux only.
    Without it grading refuses to run (unless --no-sandbox) and its tests fail."""
    if sys.platform.startswith("linux"):
        apt_install("bubblewrap", bool(shutil.which("bwrap")), "to grade submissions in a sandbox")


def browser_test(python: Path, pytest_args: list[str]) -> None:
    import time

    ensure_chromium()
    started = time.perf_counter()
    try:
        run([python, "-m", "pytest", BROWSER_TESTS, "-p", "no:cacheprovider", "-q", "-rs", "--durations=0",
             *pytest_args], cwd=ROOT, env=_env())
    finally:
        print(f"browser-test took {time.perf_counter() - started:.0f} s", flush=True)


def lock() -> None:
    """Regenerate the lock from pyproject.toml (every extra), with pip-compile in the course venv."""
    python = venv_python(VENV)
    if not python.exists():
        raise SystemExit("No .venv yet: run `python tasks.py install` first (pip-compile is in the dev extra).")
    run([python, "-m", "piptools", "compile", "--quiet", *[f"--extra={e}" for e in ("torch", "tf", "lab", "grading", "dev")],
         "--strip-extras", "--allow-unsafe",
         "--no-emit-find-links", "--no-emit-index-url", "--constraint", LOCK_CONSTRAINTS.name,
         "--output-file", LOCK.name, "pyproject.toml"], cwd=ROOT)
    # The CPU build's local label is dropped (see requirements-lock.in): PyPI's torch 2.13.0 satisfies the line too.
    text = LOCK.read_text()
    LOCK.write_text(re.sub(r"^(torch==[^+\s]+)\+cpu$", r"\1", text, flags=re.MULTILINE))


# --- Python 3.13 with Google Colab's versions ------------------------------------------------------------------


def _python313() -> str:
    candidate = os.environ.get("COLAB_PYTHON")
    if candidate:
        return candidate
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "which", "python"], capture_output=True, text=True,
                               env={**os.environ, "PYENV_VERSION": os.environ.get("COLAB_PYENV_VERSION", "3.13.0")})
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    version = os.environ.get("COLAB_PYENV_VERSION", "3.13.0")
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate_path in (pyenv_root / "versions" / version / "bin" / "python",
                           pyenv_root / "versions" / version / "python.exe"):
        if candidate_path.exists():
            return str(candidate_path)
    for name in ("python3.13", "py"):
        path = shutil.which(name)
        if path:
            return path if name != "py" else f"{path} -3.13"
    raise SystemExit("colab-check needs CPython 3.13: set COLAB_PYTHON=/path/to/python3.13 "
                     "(or install it with pyenv: `pyenv install 3.13.0`).")


def colab_versions() -> dict[str, str]:
    """The versions Colab ships, from requirements-colab.txt (name -> version)."""
    versions = {}
    for line in COLAB_VERSIONS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            versions[name.strip().lower()] = version.strip()
    return versions


def installed_versions(python: Path) -> dict[str, str]:
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            check=True)
    return {entry["name"].lower().replace("_", "-"): entry["version"] for entry in json.loads(listed.stdout)}


def setup_cell_source() -> str:
    """The Colab setup cell of the first student notebook, as committed."""
    first = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    source = json.loads(first.read_text(encoding="utf-8"))["cells"][0]["source"]
    return "".join(source) if isinstance(source, list) else source


def setup_cell_for(source: str) -> str:
    """The setup cell as committed, but installing from ``source`` (a folder, a wheel, a repository).

    The committed cell must be the one `make student` stamps from pyproject.toml; the cell run is then the
    one it stamps for ``source``: the same code, another address (course_lib.grading.colab_cell needs
    only the standard library, so this runs under whatever Python runs tasks.py)."""
    from course_lib.grading.colab_cell import course_address
    from course_lib.grading.colab_cell import setup_cell_source as stamped

    if setup_cell_source() != stamped(course_address(ROOT / "pyproject.toml")):
        raise SystemExit("The notebooks' setup cell is not the one pyproject.toml gives: run `make student`.")
    return stamped(source)


def colab_check(source: str | None, extra_wheels: list[str], pytest_args: list[str], keep: bool) -> None:
    """Build .venv-colab with CPython 3.13 and Colab's versions, install course_lib the way the notebooks'
    setup cell does on Colab, check with pip that no Colab version changed, and run the tests there."""
    import time

    started = time.perf_counter()
    python = venv_python(COLAB_VENV)
    if COLAB_VENV.exists() and not keep:
        shutil.rmtree(COLAB_VENV)
    if not python.exists():
        run([*_python313().split(), "-m", "venv", COLAB_VENV])
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24"])
    # Colab's own versions, then the test tools under a constraint that they change none of them.
    run([python, "-m", "pip", "install", "--quiet", "-r", COLAB_VERSIONS, *extra_wheels])
    with tempfile.TemporaryDirectory() as scratch:
        pins = Path(scratch) / "installed.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v in installed_versions(python).items() if n != "pip"))
        run([python, "-m", "pip", "install", "--quiet", "-c", pins, "pytest", "pytest-xdist", "hypothesis", "pyyaml",
             "setuptools>=77"])  # setuptools: the wheel tests build without isolation
    before = installed_versions(python)
    # The setup cell, run as on Colab: a stand-in google.colab module, course_lib not importable.
    with tempfile.TemporaryDirectory() as scratch:
        standin = Path(scratch) / "standin"
        (standin / "google" / "colab").mkdir(parents=True)
        (standin / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s module."""\n')
        cell = setup_cell_for(source or str(ROOT))
        script = Path(scratch) / "setup_cell.py"
        script.write_text("import google.colab  # Colab imports it at kernel start\n" + cell + "\n")
        run([python, script], cwd=scratch, env={**os.environ, "PYTHONPATH": str(standin)})
    after = installed_versions(python)
    print("\nColab's versions after the setup cell (pip list):")
    changed = []
    for name, version in colab_versions().items():
        now = after.get(name)
        print(f"  {name}=={version}: {'unchanged' if now == version else f'NOW {now}'}")
        if now != version:
            changed.append(name)
    added = sorted(set(after) - set(before))
    other = sorted(n for n in before if n in after and before[n] != after[n])
    print(f"  added by the setup cell: {', '.join(f'{n}=={after[n]}' for n in added) or 'nothing'}")
    print(f"  other packages changed: {', '.join(other) or 'none'}")
    if changed or other:
        raise SystemExit(f"The setup cell replaced preinstalled packages: {', '.join(changed + other)}")
    run([python, "-m", "pytest", *COLAB_TEST_ARGS, "-p", "no:cacheprovider", "-q", "-rs", *pytest_args], cwd=ROOT,
        env=_env())
    print(f"colab-check took {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["install", "lab", "test", "unit", "lint", "student", "check-notebooks", "grade",
                                         "bench", "colab-check", "lock", "course", "instructor-lab",
                                         "browser-test"])
    parser.add_argument("--torch-cpu", action="store_true", help="Linux: PyTorch's CPU build (PyTorch's index)")
    parser.add_argument("--reinstall", action="store_true", help="install again even if nothing changed")
    parser.add_argument("--dataset", help="bench: the data set (default ml-100k)")
    parser.add_argument("--out", help="grade: the output folder")
    parser.add_argument("--source", help="colab-check: what the setup cell installs (default: this folder)")
    parser.add_argument("--keep", action="store_true", help="colab-check: reuse .venv-colab as it is")
    parser.add_argument("--with", dest="extra_wheels", action="append", default=[],
                        help="colab-check: also install this requirement with Colab's versions (e.g. torch==2.11.0)")
    parser.add_argument("rest", nargs="*", help="grade: the submissions folder; test/unit/browser-test: extra pytest arguments")
    arguments, unknown = parser.parse_known_args(argv)
    rest = arguments.rest + unknown
    task = arguments.task
    if task == "lock":
        lock()
        return 0
    if task == "colab-check":
        colab_check(arguments.source, arguments.extra_wheels, rest, arguments.keep)
        return 0
    python = install(wants_torch_cpu(arguments.torch_cpu), arguments.reinstall)
    if task == "lint":
        lint(python)
    elif task == "lab":
        lab(python)
    elif task == "instructor-lab":
        run([python, "-m", "course_lib.grading.course"], cwd=ROOT)
        lab(python, "course", instructor=True)
    elif task == "course":
        run([python, "-m", "course_lib.grading.course"], cwd=ROOT)
    elif task == "test":
        test(python, rest)
    elif task == "unit":
        ensure_bubblewrap()
        run([python, "-m", "pytest", "tests", f"--ignore={BROWSER_TESTS}", "-q", "-rs", *rest], cwd=ROOT, env=_env())
    elif task == "browser-test":
        browser_test(python, rest)
    elif task == "student":
        run([python, "-m", "course_lib.grading.generate", "solutions", "notebooks"], cwd=ROOT)
    elif task == "check-notebooks":
        run([python, "-m", "pytest", "tests/test_notebooks.py", "solutions", *PYTEST_NOTEBOOK_ARGS, "-p",
             "no:cacheprovider", "-q", "-rs", *rest], cwd=ROOT, env=_env())
    elif task == "grade":
        if not rest:
            print("usage: python tasks.py grade DIR [--out OUT]   (one folder per student, or an LMS .zip)",
                  file=sys.stderr)
            return 2
        ensure_bubblewrap()
        run([python, "-m", "course_lib.grading.grade", *rest, *(["--out", arguments.out] if arguments.out else [])],
            cwd=ROOT)
    elif task == "bench":
        run([python, "bench/run_all.py", *(["--dataset", arguments.dataset] if arguments.dataset else [])], cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
