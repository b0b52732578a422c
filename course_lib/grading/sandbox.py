"""The sandbox a student's code runs in when it is graded: bubblewrap (``bwrap``) namespaces on Linux.

The student's process sees, read-only, only what Python needs (``/usr``, the interpreter and the
grading environment's packages) and the *student edition* of the course library (``course_lib``
without ``course_lib.grading`` but its probes); read-write only its own job folder, a private
``/tmp`` and nothing else. It has no network (its own network namespace), no other process in sight
(its own PID namespace; when it ends, everything it started ends with it: no daemon survives), a new
session (no terminal to inject into), no capabilities, a cleared environment, and limits on memory
(``RLIMIT_AS``), processes (``RLIMIT_NPROC``, and a ``pids`` cgroup when the grader runs as root,
whom ``RLIMIT_NPROC`` does not bind), file size (``RLIMIT_FSIZE``) and time (killed by the grader).
Not visible there: the course source and ``solutions/``, the gradebook, other submissions, the
instructor's home, the connection files of any kernel (no kernel is started at all).

``find_sandbox()`` returns the sandbox or raises ``SandboxUnavailable`` with what to install; the
grader runs student code unsandboxed only when the instructor passes ``--no-sandbox``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Limits", "Sandbox", "SandboxUnavailable", "find_sandbox", "student_library", "Run"]

JOB = "/job"            # the job folder inside the sandbox
LIBRARY = "/course"     # the student edition of course_lib inside the sandbox


class SandboxUnavailable(RuntimeError):
    """No sandbox can run here; the message says what to install or pass."""


@dataclass(frozen=True)
class Limits:
    memory_gb: float = 8.0
    processes: int = 64
    file_mb: int = 256
    seconds: float = 300.0          # wall clock for one notebook's exercises (the grader kills it after)
    tmp_mb: int = 512               # the private /tmp (memory-backed)


@dataclass
class Run:
    returncode: int | None
    seconds: float
    timed_out: bool
    output: str = ""


def student_library(target: Path) -> Path:
    """Copy ``course_lib`` into ``target/course_lib`` as the sandbox sees it: without the grader
    (``course_lib.grading`` keeps only its empty ``__init__`` and the probes). Returns ``target``."""
    import course_lib

    source = Path(course_lib.__file__).resolve().parent
    destination = Path(target) / "course_lib"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source, destination, ignore=ignore)
    grading = destination / "grading"
    shutil.rmtree(grading)
    grading.mkdir()
    (grading / "__init__.py").write_text('"""The student edition: the grader itself is absent."""\n', encoding="utf-8")
    shutil.copytree(source / "grading" / "probes", grading / "probes", ignore=ignore)
    for path in [Path(target), *Path(target).rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Path(target)


def _mounts() -> list[str]:
    """bwrap arguments for the system's read-only parts: /usr and its symlinked or real neighbours,
    the interpreter's prefix and the environment's own (a venv)."""
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime"):
        path = Path("/etc") / name
        if path.exists():
            arguments += ["--ro-bind", str(path), str(path)]
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.prefix),
                Path(sysconfig.get_paths()["purelib"]).resolve()}
    for prefix in sorted(prefixes, key=lambda p: len(p.parts)):
        if not str(prefix).startswith("/usr/") and prefix.exists():
            arguments += ["--ro-bind", str(prefix), str(prefix)]
    return arguments


def _pids_cgroup(limit: int) -> Path | None:
    """A ``pids`` cgroup limited to ``limit`` processes, when this process may make one (root)."""
    if os.geteuid() != 0:
        return None
    name = f"course-grade-{uuid.uuid4().hex[:12]}"
    for parent in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        control = parent / ("pids.max" if parent.name == "pids" else "cgroup.controllers")
        if parent.name != "pids" and (not control.exists() or "pids" not in control.read_text()):
            continue
        try:
            group = parent / name
            group.mkdir()
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            continue
    return None


@dataclass
class Sandbox:
    """How student code runs: ``kind`` is ``"bwrap"`` or ``"none"`` (``--no-sandbox``)."""

    kind: str
    bwrap: str | None = None
    limits: Limits = field(default_factory=Limits)

    def describe(self) -> str:
        if self.kind == "none":
            return "NO SANDBOX (--no-sandbox): student code runs as you and can read and change your files"
        return f"bubblewrap ({self.bwrap}): read-only system, no network, own PID namespace, limits {self.limits}"

    def command(self, job: Path, library: Path, argv: list[str]) -> list[str]:
        environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "TMPDIR": "/tmp",
                       "PYTHONPATH": LIBRARY, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
                       "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "OPENBLAS_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_LIB_GRADING": "1",
                       "LANG": "C.UTF-8"}
        if self.kind == "none":
            return ["env", "-i", *(f"{k}={v.replace(LIBRARY, str(library)).replace(JOB, str(job))}"
                                   for k, v in environment.items()), *[a.replace(JOB, str(job)) for a in argv]]
        arguments = [self.bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
                     "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                     "--clearenv", *_mounts(), "--ro-bind", str(library), LIBRARY,
                     "--bind", str(job), JOB, "--proc", "/proc", "--dev", "/dev",
                     "--size", str(self.limits.tmp_mb * 1024 ** 2), "--tmpfs", "/tmp",
                     "--dir", "/tmp/home", "--chdir", JOB]
        for key, value in environment.items():
            arguments += ["--setenv", key, value]
        return arguments + ["--", *argv]

    def run(self, job: Path, library: Path, argv: list[str], seconds: float) -> Run:
        """Run ``argv`` (paths under ``/job`` and ``/course`` as the sandbox sees them) and wait at
        most ``seconds``; everything it started is killed when it ends or runs out of time."""
        group = _pids_cgroup(self.limits.processes * 4) if self.kind == "bwrap" else None

        def enter_group():
            if group is not None:
                (group / "cgroup.procs").write_text(str(os.getpid()))

        started = time.perf_counter()
        log = Path(job) / ".sandbox.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(self.command(job, library, argv), stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=enter_group)
            timed_out = False
            try:
                process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill(process, group)
        text = log.read_bytes()[-4000:].decode("utf-8", "replace")
        return Run(process.returncode, time.perf_counter() - started, timed_out, text)


def _kill(process: subprocess.Popen, group: Path | None) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if group is not None:
        for _ in range(50):
            try:
                pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not pids:
                break
            time.sleep(0.02)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    if group is not None:
        try:
            group.rmdir()
        except OSError:
            pass


_INSTALL = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
            "bubblewrap`; Arch: `sudo pacman -S bubblewrap`)")


def find_sandbox(no_sandbox: bool = False, limits: Limits | None = None) -> Sandbox:
    """The sandbox to grade with; raises ``SandboxUnavailable`` when none works here."""
    limits = limits or Limits()
    if no_sandbox:
        return Sandbox("none", None, limits)
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(
            f"Grading runs each student's code in a bubblewrap sandbox, which needs Linux; this is {sys.platform}. "
            "Grade on a Linux machine or in a Linux container (Docker Desktop runs one on macOS and Windows: "
            "README, Grading), or pass --no-sandbox to run the students' code as yourself (unsafe).")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"Grading runs each student's code in a sandbox and bubblewrap (`bwrap`) is not "
                                 f"installed: {_INSTALL}, or pass --no-sandbox to run the students' code as "
                                 "yourself (unsafe).")
    sandbox = Sandbox("bwrap", bwrap, limits)
    with tempfile.TemporaryDirectory(prefix="course-sandbox-check-") as folder:
        job = Path(folder) / "job"
        job.mkdir()
        library = Path(folder) / "lib"
        library.mkdir()
        run = sandbox.run(job, library, [sys.executable, "-c", "print('sandbox works')"], 60)
        if run.returncode != 0 or "sandbox works" not in run.output:
            raise SandboxUnavailable(
                f"bubblewrap is installed but cannot start a sandbox here ({run.output.strip()[-300:] or run.returncode}). "
                "Unprivileged user namespaces may be disabled (`sysctl kernel.unprivileged_userns_clone=1`, or "
                "Ubuntu's AppArmor rule `kernel.apparmor_restrict_unprivileged_userns=0`); or pass --no-sandbox "
                "to run the students' code as yourself (unsafe).")
    return sandbox
