"""What every exercise check shares: the hint exception and one harness for calls into student code.

Every call of a student's function goes through :func:`_call`, which

- runs it under a time limit (an endless loop becomes a hint instead of a cell that never ends);
- lets ``NotImplementedError`` (the stub of an unsolved exercise) and ``KeyboardInterrupt`` through;
- reports any other exception as the student's, with its type, its message and the input that
  triggered it (the original traceback stays attached, so the line in their code shows);
- silences warnings raised inside the call, so that a right answer writes nothing to stderr
  (nbgrader counts stderr output of a test cell as a failure);
- can reject a ``None`` result with "did you forget `return`?".

The results are then checked property by property (:func:`_expect_array`, :func:`_expect_tensor`,
:func:`_expect_number`, :func:`_check_rng_use`, :func:`_check_speed`) before any value is compared.

How the time limit interrupts a call that never returns
-------------------------------------------------------
A thread cannot be killed in Python, so the call runs in the caller's thread. On Linux and macOS,
in the main thread (where Jupyter runs cells and pytest runs tests), a ``SIGALRM`` timer
(``signal.setitimer``) raises an exception inside the student's code when the time is up; a timer
that was already armed (pytest-timeout, for instance) is re-armed afterwards with what was left
of it. Where there is no ``SIGALRM`` (Windows) or the check runs in another thread, a trace
function (``sys.settrace``) checks the clock on every line of Python the student's code executes
and raises there. That fallback interrupts any loop written in Python, but not one long call into
compiled code (a single huge NumPy or PyTorch operation), and it slows Python code a few times
while the call lasts; the speed comparisons below use a generous margin for that reason. The
interrupting exception derives from ``BaseException``, so ``except Exception`` in student code
does not swallow it.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["ExerciseHint", "DEFAULT_TIME_LIMIT", "_fail", "_call", "_as_float", "_describe", "_expect_array",
           "_expect_number", "_expect_tensor", "_check_rng_use", "_check_speed", "_quiet", "_time_limit"]

# Seconds a single call of student code may take in a check before it is stopped. Checks use
# small inputs, so a right answer takes well under a second even on a slow laptop.
DEFAULT_TIME_LIMIT = 20.0

_NO_RETURN = "your function returned None: did you forget `return`?"

# The input of the latest call of student code, for the box a failed check shows in a notebook
# (course_lib/checks/_display.py): {"described": "recall_at_k([1, 2], {2}, 1)"}.
_LAST_CALL: dict[str, str] = {}


class ExerciseHint(AssertionError):
    """An AssertionError whose message is meant for a student."""


class _TimeLimitExceeded(BaseException):  # noqa: N818 - not an error of the student's code itself
    """Raised inside student code when its time is up (BaseException: `except Exception` lets it through)."""


def _fail(exercise: str, message: str) -> None:
    raise ExerciseHint(f"{exercise}: {message}")


# ----------------------------------------------------------------------------- the time limit
def _warm_lazy_imports() -> None:
    """Import what PyTorch imports lazily on a first optimizer step (``torch._dynamo``, seconds on a
    laptop) before the clock starts: a time limit that interrupts an import leaves a half-made module
    behind, and every later use of torch in the kernel then fails with a circular-import error."""
    if "torch" in sys.modules:
        try:
            importlib.import_module("torch._dynamo")
        except Exception:  # noqa: BLE001 - an optional warm-up; the student's code reports its own errors
            pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ``_TimeLimitExceeded`` inside the body once ``seconds`` have passed (see the module doc)."""
    _warm_lazy_imports()
    if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
        armed = [True]

        def _handler(signum: int, frame: Any) -> None:
            if armed[0]:
                raise _TimeLimitExceeded()

        started = time.monotonic()
        previous_handler = signal.signal(signal.SIGALRM, _handler)
        previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
            if previous_delay > 0:  # give an outer timer (pytest-timeout, ...) back what it had left
                left = max(previous_delay - (time.monotonic() - started), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, previous_interval)
        return
    deadline = time.monotonic() + seconds
    previous_trace = sys.gettrace()

    def _tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _TimeLimitExceeded()
        return _tracer

    sys.settrace(_tracer)
    try:
        yield
    finally:
        sys.settrace(previous_trace)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warning printed (nbgrader reads stderr output of a graded cell as a failure)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


# ----------------------------------------------------------------------------- describing inputs
def _describe(value: Any) -> str:
    """A short description of an argument for a hint: small values in full, arrays by shape."""
    kind = type(value).__name__
    module = type(value).__module__
    if isinstance(value, np.ndarray):
        if value.size <= 12:
            return f"np.array({value.tolist()!r})"
        return f"a NumPy array of shape {value.shape} ({value.dtype})"
    if module.startswith("scipy.sparse"):
        return f"a SciPy sparse {value.shape[0]} x {value.shape[1]} matrix"
    if module.startswith("torch") and hasattr(value, "shape") and kind == "Tensor":
        if value.numel() <= 12:
            return f"torch.tensor({value.tolist()!r})"
        return f"a tensor of shape {tuple(value.shape)} ({str(value.dtype).replace('torch.', '')})"
    if isinstance(value, np.random.Generator):
        return "a NumPy Generator (rng)"
    if isinstance(value, (list, tuple, set)) and len(value) > 20:
        return f"a {kind} of {len(value)} elements"
    text = repr(value)
    return text if len(text) <= 120 else f"a {kind} ({text[:60]}...)"


def _describe_args(args: tuple) -> str:
    return "(" + ", ".join(_describe(a) for a in args) + ")"


# ----------------------------------------------------------------------------- calling student code
def _call(exercise: str, function: Callable, *args: Any, inputs: str | None = None,
          time_limit: float | None = None, timeout_hint: str = "", error_hints: dict | None = None,
          allow_none: bool = False, what: str = "your function", **kwargs: Any) -> Any:
    """Call ``function(*args, **kwargs)`` as student code (see the module docstring).

    ``inputs`` describes the arguments in the hint (default: a short form of ``args``);
    ``timeout_hint`` is added when the time limit is exceeded; ``error_hints`` maps exception
    types to an extra sentence; ``allow_none`` accepts ``None`` (for ``fit`` methods, say).
    """
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    described = inputs if inputs is not None else _describe_args(args)
    _LAST_CALL["described"] = described if inputs is not None else f"{getattr(function, '__name__', '')}{described}"
    try:
        with _quiet(), _time_limit(limit):
            result = function(*args, **kwargs)
    except (NotImplementedError, KeyboardInterrupt):
        raise
    except _TimeLimitExceeded:
        _fail(exercise, f"{what} did not finish within {limit:g} s for the input {described}; it was stopped. "
                        f"Is there a loop that never ends?{' ' + timeout_hint if timeout_hint else ''}")
    except ExerciseHint:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        extra = ""
        for error_type, hint in (error_hints or {}).items():
            if isinstance(error, error_type):
                extra = " " + hint
        raise ExerciseHint(f"{exercise}: your code raised {type(error).__name__}: {error} "
                           f"(called with {described}).{extra}") from error
    if result is None and not allow_none:
        _fail(exercise, f"{_NO_RETURN.replace('your function', what)} (called with {described})")
    return result


def _as_float(exercise: str, value: Any, args: Any) -> float:
    """One finite number from a student's result (``None`` gets the forgotten-return hint)."""
    return _expect_number(exercise, value, _describe_args(args) if isinstance(args, tuple) else str(args))


def _expect_number(exercise: str, value: Any, inputs: str, low: float | None = None,
                   high: float | None = None, what: str = "it") -> float:
    if value is None:
        _fail(exercise, f"{_NO_RETURN} (called with {inputs})")
    if hasattr(value, "numel") and value.numel() != 1:
        _fail(exercise, f"{what} should return one number, but for {inputs} it returned a tensor of shape "
                        f"{tuple(value.shape)}.")
    if isinstance(value, np.ndarray) and value.size != 1:
        _fail(exercise, f"{what} should return one number, but for {inputs} it returned an array of shape "
                        f"{value.shape}.")
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError("a string is not a number")
        with _quiet():
            number = float(value)
    except (TypeError, ValueError, RuntimeError):
        _fail(exercise, f"{what} should return one number, but for {inputs} it returned {value!r:.80} "
                        f"(type {type(value).__name__}).")
    if not np.isfinite(number):
        _fail(exercise, f"{what} returned {number} for {inputs}: the result should be a finite number.")
    if low is not None and number < low - 1e-9 or high is not None and number > high + 1e-9:
        _fail(exercise, f"{what} returned {number:.4f} for {inputs}, outside the range [{low}, {high}] this "
                        "quantity always lies in.")
    return number


def _expect_array(exercise: str, value: Any, shape: tuple, inputs: str, kind: str | None = None,
                  label: str = "the result") -> np.ndarray:
    """A NumPy array of the given shape (and dtype kind: 'i' integers, 'f' floats)."""
    if value is None:
        _fail(exercise, f"{_NO_RETURN} (called with {inputs})")
    if type(value).__module__.startswith("torch"):
        _fail(exercise, f"{label} is a torch tensor; this exercise works in NumPy: return a NumPy array.")
    if type(value).__module__.startswith("scipy.sparse") or isinstance(value, np.matrix):
        value = value.toarray() if hasattr(value, "toarray") else np.asarray(value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = np.empty(0, dtype=object)
    if array.dtype == object:
        _fail(exercise, f"{label} is not a numeric array (got {type(value).__name__} of objects): return a NumPy "
                        f"array of shape {shape}.")
    if array.shape != tuple(shape):
        _fail(exercise, f"{label} has shape {array.shape} for {inputs}; expected shape {tuple(shape)}.")
    if kind == "i" and array.dtype.kind not in "iu":
        _fail(exercise, f"{label} has dtype {array.dtype}; item and user ids are integers (an integer dtype such "
                        "as int64).")
    if kind == "f" and array.dtype.kind not in "fiub":
        _fail(exercise, f"{label} has dtype {array.dtype}; expected numbers (a float dtype).")
    return array


def _expect_tensor(exercise: str, value: Any, shape: tuple | None, inputs: str, scalar: bool = False,
                   label: str = "the result", floating: bool = True) -> Any:
    """A torch tensor (of the given shape, or one number when ``scalar``) that is float and finite."""
    import torch

    if value is None:
        _fail(exercise, f"{_NO_RETURN} (called with {inputs})")
    if not isinstance(value, torch.Tensor):
        extra = (" Use torch operations throughout and return the tensor (not .item(), not a NumPy array), so "
                 "that gradients can flow through it.")
        _fail(exercise, f"{label} should be a torch tensor, got {type(value).__name__}.{extra}")
    if scalar and value.numel() != 1:
        _fail(exercise, f"{label} should be one number (a 0-d tensor, the mean over the batch), got a tensor of "
                        f"shape {tuple(value.shape)} for {inputs}.")
    if not scalar and shape is not None and tuple(value.shape) != tuple(shape):
        _fail(exercise, f"{label} has shape {tuple(value.shape)} for {inputs}; expected {tuple(shape)}.")
    if floating and not value.is_floating_point():
        _fail(exercise, f"{label} has dtype {value.dtype}; expected a float tensor.")
    if floating and not bool(torch.isfinite(value.detach()).all()):
        _fail(exercise, f"{label} holds NaN or infinite values for {inputs}.")
    return value


# ----------------------------------------------------------------------------- randomness
def _global_states() -> tuple:
    states: list = [np.random.get_state(), random.getstate()]  # noqa: NPY002
    if "torch" in sys.modules:
        states.append(sys.modules["torch"].random.get_rng_state())
    return tuple(states)


def _set_global_states(states: tuple) -> None:
    np.random.set_state(states[0])  # noqa: NPY002 - restoring the global stream students may use
    random.setstate(states[1])
    if len(states) > 2:
        sys.modules["torch"].random.set_rng_state(states[2])


def _seed_globals(seed: int, torch_too: bool = True) -> None:
    np.random.seed(seed)  # noqa: NPY002 - seeding the global stream on purpose, to catch its use
    random.seed(seed)
    if torch_too and "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _check_rng_use(exercise: str, run: Callable[[int], Any], same: Callable[[Any, Any], bool],
                   source: str = "the `rng` argument", globals_named: str = "np.random, random or torch",
                   torch_is_source: bool = False) -> None:
    """``run(seed)`` calls the student's function with randomness ``source`` made from ``seed``.

    Passes when the result depends on that seed only: the same seed twice gives the same result
    whatever the global generators ({globals_named}) hold, and another seed gives another result.
    With ``torch_is_source`` the source is torch's global generator (seeded inside ``run``), so
    only NumPy's and Python's global generators are varied.
    """
    saved = _global_states()
    try:
        _seed_globals(101, torch_too=not torch_is_source)
        first = run(0)
        _seed_globals(202, torch_too=not torch_is_source)
        second = run(0)
        if not same(first, second):
            _seed_globals(101, torch_too=not torch_is_source)
            third = run(0)
            if same(first, third):
                _fail(exercise, f"the same seed for {source} gave different results when the global generators "
                                f"({globals_named}) were seeded differently: some draws come from a global "
                                f"generator. Draw every random number from {source}.")
            _fail(exercise, f"called twice with the same seed for {source}, it gave different results: something "
                            f"random is not seeded by {source} (a new generator without a seed, say).")
        _seed_globals(101, torch_too=not torch_is_source)
        other = run(1)
        if same(first, other):
            _fail(exercise, f"two different seeds for {source} gave the same result: use {source} for the draws "
                            "(not a generator of your own with a fixed seed).")
    finally:
        _set_global_states(saved)


def _check_speed(exercise: str, student: Callable[[], Any], reference: Callable[[], Any], inputs: str,
                 ratio: float = 25.0, floor: float = 1.0, hint: str = "") -> float:
    """Fail when ``student()`` takes more than ``ratio`` times the time of ``reference()`` (at least
    ``floor`` seconds) on the same input, measured now on this machine; returns the student's seconds."""
    with _quiet():
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            reference()
            timings.append(time.perf_counter() - started)
    reference_seconds = min(timings)
    limit = max(ratio * reference_seconds, floor)
    message = (f"on {inputs} it took more than {limit:.2f} s, over {ratio:g} times as long as a vectorized "
               f"version ({reference_seconds * 1000:.0f} ms on this machine). {hint}").rstrip()
    started = time.perf_counter()
    try:
        with _quiet(), _time_limit(limit):
            student()
    except _TimeLimitExceeded:
        _fail(exercise, message)
    except (NotImplementedError, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        raise ExerciseHint(f"{exercise}: your code raised {type(error).__name__}: {error} (called with "
                           f"{inputs}).") from error
    seconds = time.perf_counter() - started
    if seconds > limit:
        _fail(exercise, message)
    return seconds
