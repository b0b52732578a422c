"""Exercise checks: the functions the visible test cells of the notebooks call.

A check runs the student's function or class on small inputs and compares it with the reference
in ``course_lib``. When something is off it raises an ``AssertionError`` (an ``ExerciseHint``)
whose message is a hint that names the likely mistake, never the solution code; when all is well
it prints one short line. In a Jupyter kernel the public checks of this package show a box
instead of raising (passed, not right yet with the hint, or not done yet), so *Run All* reaches
the end of a notebook; graded cells turn a shown failure into zero points with
:func:`assert_passed` (see ``_display.py``).

One module per notebook (``data_and_evaluation.py`` for 00, ...); every public ``check_*``
function of every module is available here, as ``course_lib.checks.check_recall_at_k``.
Importing this package imports no framework: a check that needs torch or TensorFlow imports it
inside the function.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from course_lib.checks._common import ExerciseHint, _global_states, _set_global_states
from course_lib.checks._display import assert_passed, run_check
from course_lib.checks._references import yours_or_reference

__all__ = ["ExerciseHint", "assert_passed", "yours_or_reference"]


def _keeps_random_state(check: Callable) -> Callable:
    """The check seeds and draws from the global generators (NumPy, random, torch) for its own
    inputs; the notebook's streams are left as they were, so running a check changes no later cell."""

    @functools.wraps(check)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        saved = _global_states()
        try:
            return run_check(check, args, kwargs)
        finally:
            _set_global_states(saved)

    return wrapped


for _module_info in pkgutil.iter_modules(__path__):
    if _module_info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_module_info.name}")
    for _name in getattr(_module, "__all__", []):
        if _name.startswith("check_"):
            globals()[_name] = _keeps_random_state(getattr(_module, _name))
            __all__.append(_name)
