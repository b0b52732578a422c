"""Fixtures of the browser tests: JupyterLab started as `make lab` starts it, on a temporary copy of
the student notebooks, and headless Chromium driven by Playwright.

* ``lab``: a JupyterLab server for one test. The command and the environment are those of
  ``tasks.py lab`` (``tasks.student_lab_env()``, the folder ``notebooks``, ``--allow-root`` as root),
  plus ``--no-browser``, a random token and a free port on 127.0.0.1. It runs in a temporary copy of
  the checkout's ``notebooks/`` made a git repository (one commit), with a temporary HOME and
  JUPYTER_RUNTIME_DIR, so a test never changes the repository's files and can ask ``git status``.
* ``browser``: Debian's Chromium (``shutil.which("chromium")``, or COURSE_CHROMIUM), headless, once
  per session; ``page``: a fresh page of it for one test, closed afterwards.

Without Playwright or Chromium the tests are skipped with the reason, unless COURSE_BROWSER_REQUIRED=1
(set by .ci/run): then a browser that cannot start fails them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

REQUIRED = os.environ.get("COURSE_BROWSER_REQUIRED", "") not in ("", "0")
SERVER_START_TIMEOUT = 120.0


def _unavailable(reason: str) -> None:
    """Fail when the browser is required (CI), skip otherwise."""
    if REQUIRED:
        pytest.fail(f"{reason} (COURSE_BROWSER_REQUIRED is set: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def chromium_executable() -> str | None:
    return os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as error:
        _unavailable(f"Playwright is not installed ({error}): `python tasks.py install` installs the dev extra")
    executable = chromium_executable()
    if executable is None:
        _unavailable("no Chromium on PATH (Debian/Ubuntu: `apt-get install chromium`; or set COURSE_CHROMIUM)")
    manager = sync_playwright().start()
    try:
        try:
            launched = manager.chromium.launch(executable_path=executable, headless=True)
        except Error as error:
            _unavailable(f"Chromium ({executable}) did not start: {error}")
        yield launched
        launched.close()
    finally:
        manager.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.browser_call_failed = report.failed


@pytest.fixture
def page(browser, request, tmp_path):
    """A page of its own; when the test fails, a screenshot of it (its path is printed)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    if getattr(request.node, "browser_call_failed", False):
        folder = Path(os.environ.get("COURSE_BROWSER_ARTIFACTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{request.node.name.replace('/', '_')}.png"
        try:
            opened.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failed test: {shot}")
        except Exception as error:  # noqa: BLE001 - a screenshot is a help, never the failure
            print(f"\nno screenshot: {error}")
    context.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _git(repo: Path, *arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True, text=True).stdout


@dataclass
class Lab:
    """A running JupyterLab: its address, token and the temporary checkout it serves."""

    url: str
    token: str
    repo: Path          # the temporary git repository; JupyterLab's root is repo / "notebooks"
    log: Path
    process: subprocess.Popen

    @property
    def notebooks(self) -> Path:
        return self.repo / "notebooks"

    def tree_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def git_status(self) -> str:
        return _git(self.repo, "status", "--porcelain")

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """Every kernel of the server, as when JupyterLab is stopped and started again the next day."""
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _copy_checkout(target: Path) -> Path:
    """The student notebooks as committed in a fresh git repository (what a student's clone has)."""
    repo = target / "repo"
    shutil.copytree(ROOT / "notebooks", repo / "notebooks")
    for name in (".gitignore", ".gitattributes"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=browser-test", "-c", "user.email=browser-test@localhost", "-c", "commit.gpgsign=false",
         "commit", "-q", "-m", "notebooks as committed")
    return repo


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    repo = _copy_checkout(tmp_path)
    home = tmp_path / "home"
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    # A new user's JupyterLab asks in a pop-up whether to fetch Jupyter's news: answered "no" here
    # (the pop-up sits over the notebook's bottom-right corner; nothing else of the settings changes).
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}\n')
    port, token = _free_port(), secrets.token_hex(16)
    # tasks.py lab: `python -m jupyter lab notebooks` in the checkout, with student_lab_env().
    arguments = [sys.executable, "-m", "jupyter", "lab", "notebooks", "--no-browser", f"--ServerApp.token={token}",
                 "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        arguments.append("--allow-root")
    env = tasks.student_lab_env()
    env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(runtime))
    log = tmp_path / "jupyterlab.log"
    with open(log, "wb") as stream:
        process = subprocess.Popen(arguments, cwd=repo, env=env, stdout=stream, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Lab(url=url, token=token, repo=repo, log=log, process=process)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in {SERVER_START_TIMEOUT:.0f} s:\n{server.log_tail()}",
                            pytrace=False)
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
