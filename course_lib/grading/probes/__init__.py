"""What the grader runs on a student's answers inside the sandbox: probes, never comparisons.

Grading splits every graded exercise in two (``course_lib.grading.judges`` holds the other half):

- a **probe** (here) runs in the student's sandboxed process. It takes the student's namespace (the
  functions and classes their notebook defines), calls the exercise's functions and classes on the
  grader's inputs and returns only **outputs**: a flat ``dict`` of NumPy arrays, numbers, booleans
  and strings. It holds no expected value and compares nothing.
- a **judge** runs in the grader's own process, which no student code ever reaches. It receives the
  outputs (read with ``numpy.load(allow_pickle=False)``: data, never objects), computes the expected
  values from the course library on the same inputs, and compares.

Whatever the student's code patches, hooks or reads inside its process can change only the outputs
it hands back, and the only outputs that earn points are the right ones.

A probe module (``nbNN.py``, one per notebook) declares ``PROBES: dict[str, Probe]`` keyed by the
grade id of the notebook's graded test cell. Input builders the judge needs too (seeded cases,
small synthetic data sets) live in the probe module and are imported by the judge. This package is
copied into the sandbox (``course_lib.grading`` is otherwise absent there), so it imports nothing of
``course_lib.grading`` outside ``probes``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Probe", "NOTEBOOKS", "probes_of", "encode", "decode", "to_numpy", "MAX_OUTPUT_BYTES", "ProbeError"]

NOTEBOOKS = {
    "00_data_and_evaluation": "nb00",
    "01_mlp_basics": "nb01",
    "02_autoencoders": "nb02",
    "03_ease_r": "nb03",
    "04_two_tower": "nb04",
    "05_graph_models": "nb05",
    "06_latent_factors": "nb06",
    "07_bpr": "nb07",
    "08_sequence_models": "nb08",
}

MAX_OUTPUT_BYTES = 64 * 1024 * 1024   # one exercise's outputs; more is refused unread


class ProbeError(Exception):
    """A probe could not record an output (a value that is not data)."""


@dataclass(frozen=True)
class Probe:
    """One graded exercise, sandbox side.

    ``names``: what the student's notebook must define (reported by name when missing).
    ``visible``: ``visible(namespace, inputs)`` runs the notebook's visible check (raises on failure
    outside a kernel, as ``course_lib.checks`` does); ``None`` for a challenge, whose visible check
    needs the notebook's own split.
    ``run``: ``run(namespace, inputs) -> dict`` the outputs.
    ``inputs``: the names of the arrays the judge sends (``Exercise.inputs`` in the judge).
    ``seconds``: how long ``visible`` and ``run`` together may take.
    """

    names: tuple[str, ...]
    run: Callable[[dict, Mapping[str, np.ndarray]], dict]
    visible: Callable[[dict, Mapping[str, np.ndarray]], Any] | None = None
    inputs: tuple[str, ...] = ()
    seconds: float = 60.0


def probes_of(notebook: str) -> dict[str, Probe]:
    """The probes of one notebook (its stem, ``00_data_and_evaluation``)."""
    import importlib

    if notebook not in NOTEBOOKS:
        raise KeyError(f"no probes for notebook {notebook!r}; the course's notebooks are {sorted(NOTEBOOKS)}")
    return importlib.import_module(f"{__name__}.{NOTEBOOKS[notebook]}").PROBES


def to_numpy(value: Any) -> np.ndarray:
    """An output as a plain NumPy array: tensors (PyTorch, TensorFlow) detached and copied to the
    CPU, sparse matrices made dense, lists and numbers converted. Objects that are not data raise."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):          # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a TensorFlow tensor
        value = value.numpy()
    elif hasattr(value, "toarray"):                                  # scipy.sparse
        value = value.toarray()
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(bool(value))
    if isinstance(value, str):
        return np.asarray(value, dtype=np.str_)
    array = np.asarray(value)
    if array.dtype == object:
        raise ProbeError(f"a {type(value).__name__} is not an array of numbers")
    return array


def encode(outputs: Mapping[str, Any]) -> bytes:
    """The outputs as the bytes of an ``.npz`` file (no pickled object)."""
    arrays = {}
    for key, value in outputs.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ProbeError(f"output name {key!r} is not an identifier")
        arrays[key] = to_numpy(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if len(data) > MAX_OUTPUT_BYTES:
        raise ProbeError(f"the outputs take {len(data):,} bytes, more than the {MAX_OUTPUT_BYTES:,} allowed")
    return data


def decode(data: bytes) -> dict[str, np.ndarray]:
    """Read outputs written by ``encode`` (or by anything else: nothing in them is executed)."""
    if len(data) > MAX_OUTPUT_BYTES:
        raise ProbeError(f"the outputs take {len(data):,} bytes, more than the {MAX_OUTPUT_BYTES:,} allowed")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def number(value: Any) -> float:
    """A scalar output as a float (NaN for something that is not one number)."""
    try:
        array = to_numpy(value)
    except (ProbeError, TypeError, ValueError):
        return math.nan
    if array.size != 1 or not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        return math.nan
    return float(array.reshape(()))
