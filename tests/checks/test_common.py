"""The harness every check uses: time limits that really stop a call, hints for None, wrong types
and the student's own exceptions, randomness taken only from the argument, and speed ratios."""

from __future__ import annotations

import signal
import threading
import time
import warnings

import numpy as np
import pytest

from course_lib.checks import ExerciseHint
from course_lib.checks import _common as common


def _endless(*args):
    total = 0
    while True:
        total += 1


def _endless_swallowing(*args):
    while True:
        try:
            time.sleep(0.01)
        except Exception:  # noqa: BLE001, S110 - a student's catch-all must not swallow the time limit
            pass


@pytest.mark.parametrize("function", [_endless, _endless_swallowing])
def test_a_call_that_never_returns_is_stopped_with_a_hint(function):
    started = time.monotonic()
    with pytest.raises(ExerciseHint, match="did not finish within 0.5 s") as raised:
        common._call("demo", function, 1, time_limit=0.5, timeout_hint="Can every item be drawn?")
    assert time.monotonic() - started < 3
    assert "Can every item be drawn?" in str(raised.value)


def test_the_time_limit_works_outside_the_main_thread_too():
    """Where SIGALRM cannot be used (Windows, or a thread), a trace function stops Python loops."""
    outcome = {}

    def run():
        try:
            common._call("demo", _endless, time_limit=0.5)
        except ExerciseHint as hint:
            outcome["hint"] = str(hint)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert "did not finish" in outcome["hint"]
    assert time.monotonic() - started < 5


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="no SIGALRM on this platform")
def test_an_outer_timer_is_given_back_what_it_had_left():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *args: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        common._call("demo", lambda: 1, time_limit=5)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired


def test_none_gets_the_forgotten_return_hint():
    with pytest.raises(ExerciseHint, match=r"returned None: did you forget `return`\?"):
        common._call("demo", lambda x: None, 3)
    assert common._call("demo", lambda x: None, 3, allow_none=True) is None


def test_the_students_exception_is_reported_as_theirs_with_the_input():
    def broken(values, k):
        return values[k]

    with pytest.raises(ExerciseHint) as raised:
        common._call("demo", broken, [1, 2], 5)
    message = str(raised.value)
    assert "your code raised IndexError: list index out of range" in message
    assert "[1, 2], 5" in message
    assert isinstance(raised.value.__cause__, IndexError)  # the student's traceback stays attached


def test_the_stub_error_passes_through():
    def stub():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        common._call("demo", stub)


def test_warnings_of_student_code_write_nothing(capfd):
    def noisy():
        warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
        return np.float64(1.0) / np.float64(0.0)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert common._call("demo", noisy) == np.inf
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("value, shape, kind, expected", [
    (None, (2,), None, "did you forget `return`"),
    ([1, 2, 3], (2,), None, "expected shape (2,)"),
    (np.array([0.5, 1.5]), (2,), "i", "integers"),
    ([[1], [2, 3]], (2,), None, "not a numeric array"),
])
def test_expect_array_names_what_is_wrong(value, shape, kind, expected):
    with pytest.raises(ExerciseHint, match=expected.replace("(", r"\(").replace(")", r"\)")):
        common._expect_array("demo", value, shape, "some input", kind=kind)


def test_expect_number_checks_type_finiteness_and_range():
    assert common._expect_number("demo", np.float32(0.25), "x", low=0, high=1) == 0.25
    for value, expected in ((None, "forget `return`"), ("0.5", "one number"), (np.nan, "finite"),
                            (1.5, "outside the range"), (np.ones(2), "shape")):
        with pytest.raises(ExerciseHint, match=expected):
            common._expect_number("demo", value, "x", low=0, high=1)


def _draws(source):
    def run(seed):
        rng = np.random.default_rng(seed)
        if source == "rng":
            return rng.integers(0, 100, 20)
        if source == "global":
            return np.random.randint(0, 100, 20)  # noqa: NPY002 - the mistake under test
        if source == "fixed":
            return np.random.default_rng(0).integers(0, 100, 20)
        return np.random.default_rng().integers(0, 100, 20)  # unseeded
    return run


@pytest.mark.parametrize("source, expected", [
    ("global", "global generator"),
    ("fixed", "two different seeds"),
    ("unseeded", "called twice with the same"),
])
def test_randomness_must_come_from_the_argument(source, expected):
    with pytest.raises(ExerciseHint, match=expected):
        common._check_rng_use("demo", _draws(source), np.array_equal)


def test_randomness_from_the_argument_passes_and_the_global_streams_are_kept():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    common._check_rng_use("demo", _draws("rng"), np.array_equal)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_speed_is_compared_with_the_reference_as_a_ratio():
    values = np.arange(200_000, dtype=float)

    def loop():
        return [v * 2 for v in values]

    with pytest.raises(ExerciseHint, match="Avoid the loop"):
        common._check_speed("demo", loop, lambda: values * 2, "200,000 numbers", ratio=5, floor=0.01,
                            hint="Avoid the loop.")
    common._check_speed("demo", lambda: values * 2.0, lambda: values * 2, "200,000 numbers", ratio=50, floor=0.05)


@pytest.mark.notebook
def test_the_time_limit_stops_an_endless_loop_in_a_jupyter_kernel():
    """Jupyter runs a cell in the kernel's main thread, where the SIGALRM timer (or, on Windows, the
    trace function) interrupts the student's loop: the cell ends with the hint, not never."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course_lib.checks import _common\n"
        "def endless():\n"
        "    while True:\n"
        "        pass\n"
        "_common._call('demo', endless, time_limit=1.0)")])
    started = time.monotonic()
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True).execute()
    errors = [o for o in notebook.cells[0].outputs if o.get("output_type") == "error"]
    assert [e.ename for e in errors] == ["ExerciseHint"]
    assert "did not finish within 1 s" in errors[0].evalue
    assert time.monotonic() - started < 50


def test_the_time_limit_starts_after_torch_lazy_imports():
    """A first optimizer step imports torch._dynamo (seconds on a laptop): interrupted by the limit, the
    half-made module would break torch for the rest of the kernel. It is imported before the clock starts."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    code = ("import sys, torch\nfrom course_lib.checks._common import _time_limit\n"
            "assert 'torch._dynamo' not in sys.modules\n"
            "with _time_limit(5.0):\n    assert 'torch._dynamo' in sys.modules\n"
            "p = torch.nn.Parameter(torch.ones(2)); opt = torch.optim.Adam([p])\n"
            "p.sum().backward(); opt.step(); print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
