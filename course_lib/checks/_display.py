"""How a check shows its result in a notebook, and how grading still gives 0 to a failed one.

In a Jupyter kernel (JupyterLab, Colab, VS Code, nbclient) a public check never raises for an
unsolved or wrong exercise: it shows one box, the status first, then the input it tried and the
hint, then (when the student's code raised) the lines of the student's own code the error went
through, never a frame of the checks themselves. The notebook goes on, so *Run All* reaches the
end: the cells after an exercise use the library's reference, not the student's answer.

Outside a kernel (a script, pytest) a check raises as before (``ExerciseHint`` or the stub's
``NotImplementedError``).

Grading. Every graded test cell of a source notebook starts its hidden tests with
``checks.assert_passed()``, which raises the failure of any check that ran in the same cell
(``NotImplementedError`` for a stub, ``ExerciseHint`` with the hint otherwise), or an error when no
check ran there at all. Hidden tests are stripped from the student notebooks and restored by
nbgrader from its gradebook when it grades, so the line that turns a shown failure into zero points
is one the student never has and cannot edit or skip. No environment variable or flag decides it.
"""

from __future__ import annotations

import contextlib
import html
import io
import linecache
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from course_lib.checks._common import ExerciseHint
from course_lib.progress import in_kernel
from course_lib.progress import ipython_shell as _shell

__all__ = ["CheckOutcome", "assert_passed", "in_kernel", "run_check", "render_text", "render_html"]

PASSED, FAILED, NOT_DONE = "passed", "failed", "not-done"
_HEADLINES = {PASSED: "passed", FAILED: "not right yet", NOT_DONE: "not done yet"}
_MARKS = {PASSED: "✓", FAILED: "✗", NOT_DONE: "…"}
_COLOURS = {PASSED: "#1a7f37", FAILED: "#cf222e", NOT_DONE: "#9a6700"}
_NOT_DONE_TEXT = ("Write your code in place of `raise NotImplementedError()` in the exercise cell above, run that "
                  "cell, then run this one again. The rest of the notebook runs without it.")
_TRIED_PREFIX = re.compile(r"^(?P<name>[A-Za-z_][\w.]*(?:\(\))?): ")


@dataclass
class CheckOutcome:
    """What one check call found: ``status`` is passed, failed or not-done."""

    exercise: str
    status: str
    hint: str = ""
    tried: str = ""
    printed: str = ""
    where: list[str] = field(default_factory=list)
    error: BaseException | None = None
    cell: int | None = None


# Outcomes of the checks run in this process, with the cell (IPython execution count) they ran in.
_OUTCOMES: list[CheckOutcome] = []


def _current_cell() -> int | None:
    shell = _shell()
    return getattr(shell, "execution_count", None) if shell is not None else None


# ----------------------------------------------------------------------------- the student's frames
def _cell_label(filename: str) -> str | None:
    """``Cell In[5]`` for a notebook cell's code, None for a file of a library."""
    shell = _shell()
    names = getattr(getattr(shell, "compile", None), "_filename_map", {}) if shell is not None else {}
    if filename in names:
        return f"Cell In[{names[filename]}]"
    if filename.startswith("<ipython-input-") or re.search(r"ipykernel_\d+[/\\]\d+\.py$", filename):
        return "a notebook cell"
    return None


def _is_checks_frame(filename: str) -> bool:
    return re.search(r"course_lib[/\\]checks[/\\]", filename) is not None


def _student_frames(error: BaseException | None) -> tuple[list[str], bool]:
    """The frames of ``error`` in the student's cells (and the library call that raised, when the
    error came from inside a library), as lines; and whether the innermost frame is the student's."""
    if error is None or error.__traceback__ is None:
        return [], False
    frames = traceback.extract_tb(error.__traceback__)
    lines: list[str] = []
    innermost_is_student = bool(frames) and _cell_label(frames[-1].filename) is not None
    for frame in frames:
        label = _cell_label(frame.filename)
        if label is None:
            continue
        source = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
        lines.append(f"{label}, line {frame.lineno}, in {frame.name}")
        if source:
            lines.append(f"    {source}")
    if lines and not innermost_is_student and not _is_checks_frame(frames[-1].filename):
        last = frames[-1]
        library = re.split(r"site-packages[/\\]|dist-packages[/\\]|lib[/\\]python\d\.\d+[/\\]", last.filename)[-1]
        lines.append(f"  which raised inside {library}, line {last.lineno}, in {last.name}")
    return lines, innermost_is_student


# ----------------------------------------------------------------------------- running a check
def _exercise_name(check: Callable, args: tuple) -> str:
    subject = args[0] if args else None
    name = getattr(subject, "__name__", None)
    return name if isinstance(name, str) else check.__name__.removeprefix("check_")


def _outcome_of(exercise: str, error: BaseException, tried: str) -> CheckOutcome:
    if isinstance(error, NotImplementedError):
        frames, by_student = _student_frames(error)
        if by_student:  # the stub's own `raise NotImplementedError()`
            return CheckOutcome(exercise, NOT_DONE, hint=_NOT_DONE_TEXT, error=error)
        # raised inside a library the student's code called: their mistake, not an unsolved exercise
        return CheckOutcome(exercise, FAILED, hint=f"your code raised NotImplementedError: {error}".rstrip(": "),
                            tried=tried, where=frames, error=error)
    if isinstance(error, ExerciseHint):
        message = str(error)
        match = _TRIED_PREFIX.match(message)
        hint = message[match.end():] if match else message
        cause = error.__cause__ or error.__context__
        frames, _ = _student_frames(cause) if cause is not None and not isinstance(cause, ExerciseHint) else ([], False)
        return CheckOutcome(exercise, FAILED, hint=hint, tried=tried, where=frames, error=error)
    frames, _ = _student_frames(error)
    hint = (f"the check could not test your answer: {type(error).__name__}: {error}. Look at what your code "
            "returns (its type and shape) for the input below.")
    return CheckOutcome(exercise, FAILED, hint=hint, tried=tried, where=frames, error=error)


def run_check(check: Callable, args: tuple, kwargs: dict) -> Any:
    """Run ``check`` as a notebook's check cell does (see the module docstring)."""
    from course_lib.checks import _common

    if not in_kernel():
        return check(*args, **kwargs)
    exercise = _exercise_name(check, args)
    printed = io.StringIO()
    _common._LAST_CALL.clear()
    result = None
    try:
        with contextlib.redirect_stdout(printed):
            result = check(*args, **kwargs)
        outcome = CheckOutcome(exercise, PASSED)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - any failure is shown, never raised, in a kernel
        tried = _common._LAST_CALL.get("described", "")
        outcome = _outcome_of(exercise, error, tried)
    outcome.printed = printed.getvalue().strip()
    outcome.cell = _current_cell()
    _OUTCOMES.append(outcome)
    del _OUTCOMES[:-200]
    _show(outcome)
    return result if outcome.status == PASSED else None


# ----------------------------------------------------------------------------- showing it
def render_text(outcome: CheckOutcome) -> str:
    """The plain-text box: the status line, the input, the hint, the student's frames, their prints."""
    lines = [f"{_MARKS[outcome.status]} {outcome.exercise}: {_HEADLINES[outcome.status]}"]
    if outcome.status == PASSED:
        if outcome.printed:
            lines.append(outcome.printed)
        return "\n".join(lines)
    if outcome.tried:
        lines.append(f"Tried: {outcome.tried}")
    lines.append(("Hint: " if outcome.status == FAILED else "") + outcome.hint)
    if outcome.where:
        lines.append("Where, in your code:")
        lines.extend(f"  {line}" for line in outcome.where)
    if outcome.printed:
        lines.append("Printed while checking:")
        lines.append(outcome.printed)
    return "\n".join(lines)


def render_html(outcome: CheckOutcome) -> str:
    """The same box in HTML: the status line in colour, the rest as preformatted text."""
    colour = _COLOURS[outcome.status]
    head, _, rest = render_text(outcome).partition("\n")
    return (f'<div class="course-check" data-status="{outcome.status}" data-exercise="{html.escape(outcome.exercise)}"'
            f' style="border-left:6px solid {colour};padding:4px 10px;margin:2px 0;white-space:pre-wrap;'
            f'font-family:var(--jp-code-font-family, monospace);font-size:var(--jp-code-font-size, 13px)">'
            f'<div style="font-weight:bold;color:{colour}">{html.escape(head)}</div>'
            f'<div>{html.escape(rest)}</div></div>')


def _show(outcome: CheckOutcome) -> None:
    from IPython.display import display

    display({"text/plain": render_text(outcome), "text/html": render_html(outcome)}, raw=True)


# ----------------------------------------------------------------------------- grading
def assert_passed() -> None:
    """Raise when a check that ran in this cell did not pass (the first line of a graded cell's hidden tests).

    A stub raises ``NotImplementedError``, a wrong answer ``ExerciseHint`` with its hint, and a cell
    in which no check ran at all ``ExerciseHint`` too: the visible check is part of the grade.
    """
    __tracebackhide__ = True
    if not in_kernel():
        return  # outside a kernel the checks raise themselves
    cell = _current_cell()
    here = [outcome for outcome in _OUTCOMES if outcome.cell == cell]
    if not here:
        raise ExerciseHint("no exercise check ran in this cell, so the exercise cannot be graded.") from None
    for outcome in here:
        if outcome.status == NOT_DONE:
            raise NotImplementedError(f"{outcome.exercise}: not done yet") from None
        if outcome.status == FAILED:
            raise ExerciseHint(f"{outcome.exercise}: {outcome.hint}") from None
