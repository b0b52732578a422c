"""The grader's half of every graded exercise: expected values and comparisons, outside the student's process.

A judge module (``nbNN.py``, one per notebook) declares ``JUDGES: dict[str, Judge]`` keyed by grade
id, the twin of the probe module's ``PROBES`` (``course_lib.grading.probes``). A judge receives the
probe's outputs as plain NumPy arrays and raises ``Failed`` with a message for the student: the
symptom (which input, what came back, which property failed), never an expected value, never the
test's source. The expected values are computed here from the course library on the probe's own
inputs (the probe module's builders), in a process no student code runs in.

``run_here(grade_id, namespace)`` runs probe and judge in the current process: the hidden test cell
of a solution notebook calls it (instructors, nbval), with the same outputs round trip as the
sandbox. The grader (``course_lib.grading.grade``) runs the probe in the sandbox instead.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from course_lib.grading.probes import NOTEBOOKS, Probe, decode, encode, probes_of

__all__ = ["Failed", "Judge", "Context", "exercises", "judge", "run_here", "expect_close", "expect",
           "expect_shape", "expect_in_time"]


# One judge at a time: a judge's reference may seed and draw from process-wide generators (NumPy's,
# PyTorch's), which the grader's worker threads would otherwise interleave.
JUDGING = threading.RLock()


class Failed(AssertionError):
    """An answer failed a hidden test; the message is shown to the student."""


@dataclass(frozen=True)
class Judge:
    """``check(outputs, context)`` raises ``Failed``; ``inputs(context) -> dict`` of arrays the probe
    receives (the grader's training part of a challenge), or ``None``."""

    check: Callable[[Mapping[str, np.ndarray], Context], None]
    inputs: Callable[[Context], dict[str, np.ndarray]] | None = None


class Context:
    """What judges share within one grading run: data sets loaded once, reference values cached."""

    def __init__(self, dataset: str = "ml-100k"):
        self.dataset = dataset
        self._cache: dict = {}

    def cached(self, key, compute: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def loaded_data_name(self) -> str | None:
        """The name of the data set ``data()`` loaded (``synthetic (stand-in for ...)`` when it fell back),
        or ``None`` when no judge needed it."""
        data = self._cache.get(("data", self.dataset))
        return None if data is None else str(getattr(data, "name", self.dataset))

    def data(self):
        """The notebooks' data set (MovieLens 100K, or the synthetic stand-in where it is absent)."""
        import warnings

        import course_lib

        def load():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return course_lib.load_dataset(self.dataset, fallback="synthetic")
        return self.cached(("data", self.dataset), load)


@functools.cache
def _judges_of(notebook: str) -> dict[str, Judge]:
    return importlib.import_module(f"{__name__}.{NOTEBOOKS[notebook]}").JUDGES


def exercises(notebook: str) -> dict[str, tuple[Probe, Judge]]:
    """grade id -> (probe, judge) of one notebook, in the notebook's order."""
    probes, judges = probes_of(notebook), _judges_of(notebook)
    if set(probes) != set(judges):
        raise RuntimeError(f"{notebook}: probes {sorted(probes)} and judges {sorted(judges)} differ")
    return {grade_id: (probes[grade_id], judges[grade_id]) for grade_id in probes}


def notebook_of(grade_id: str) -> str:
    for notebook in NOTEBOOKS:
        if grade_id in probes_of(notebook):
            return notebook
    raise KeyError(f"no graded exercise has the grade id {grade_id!r}")


def judge(notebook: str, grade_id: str, outputs: Mapping[str, np.ndarray], context: Context) -> float:
    """The share of the exercise's points the outputs earn (1.0 for a check that returns nothing;
    a challenge with partial credit returns less); raises ``Failed`` when they earn none."""
    _, rule = exercises(notebook)[grade_id]
    try:
        with JUDGING:
            share = rule.check(outputs, context)
        return 1.0 if share is None else min(1.0, max(0.0, float(share)))
    except Failed:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as error:
        # outputs of the wrong kind (a missing key, a string for a number): the answer's fault
        raise Failed(f"the answer's outputs could not be read ({type(error).__name__}: {error})") from None


def run_here(grade_id: str, namespace: dict, dataset: str | None = None, points: float | None = None) -> float | None:
    """Probe and judge one exercise in this process (a solution notebook's hidden test cell): raises
    ``Failed`` for no points; returns the points earned when they are partial (nbgrader reads a
    number a test cell returns as its score; give ``points``, the cell's), else ``None``."""
    notebook = notebook_of(grade_id)
    probe, rule = exercises(notebook)[grade_id]
    context = Context(dataset or namespace.get("DATASET", "ml-100k"))
    inputs = rule.inputs(context) if rule.inputs else {}
    outputs = decode(encode(probe.run(namespace, inputs)))
    share = judge(notebook, grade_id, outputs, context)
    if share >= 1.0:
        return None
    return share * points if points is not None else share


# --------------------------------------------------------------------------- comparisons that name the symptom

def _show(value) -> str:
    array = np.asarray(value)
    text = np.array2string(array, precision=4, threshold=12, edgeitems=3) if array.ndim else repr(array.item())
    return text if len(text) < 200 else text[:200] + " ..."


def expect(condition, message: str) -> None:
    if not bool(condition):
        raise Failed(message)


def expect_in_time(outputs, name: str, seconds: float, what: str) -> None:
    """A challenge's fit and scoring (``what``) finished within ``seconds`` (the probe's ``timed_out``
    and ``seconds`` outputs)."""
    expect(not bool(outputs["timed_out"]), f"{name}: {what} did not finish within {seconds:g} s; it was stopped")
    expect(float(outputs["seconds"]) <= seconds,
           f"{name}: fit and score took {float(outputs['seconds']):.0f} s, more than the {seconds:g} s allowed")


def expect_shape(value, shape: tuple, what: str) -> np.ndarray:
    array = np.asarray(value)
    expect(array.shape == tuple(shape), f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array


def expect_close(actual, expected, what: str, rtol: float = 1e-7, atol: float = 1e-9,
                 describe: Callable[[int], str] | None = None) -> None:
    """``actual`` equals ``expected`` within the tolerance; otherwise say on how many of the grader's
    cases it differs and show the first one's input (``describe(index)``) and what came back."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    expect(actual.shape == expected.shape,
           f"{what}: got {actual.size} value(s) of shape {actual.shape}, expected shape {expected.shape}")
    if not (np.issubdtype(actual.dtype, np.number) or actual.dtype == bool):
        raise Failed(f"{what}: got values of type {actual.dtype}, expected numbers")
    actual = actual.astype(np.float64)
    good = np.isclose(actual, expected, rtol=rtol, atol=atol)
    if good.all():
        return
    wrong = np.flatnonzero(~good.reshape(-1))
    first = int(wrong[0])
    where = f" (first: {describe(first)}, which returned {_show(actual.reshape(-1)[first])})" if describe else ""
    total = good.size
    raise Failed(f"{what}: wrong on {len(wrong)} of the grader's {total} value(s){where}")
