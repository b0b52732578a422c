"""Randomness of the probes of notebooks 01 to 04: the grader seeds the generators its own inputs (and the
student's layers) draw from, and leaves the caller's global generators as they were.

A probe run by ``run_here`` runs in an instructor's kernel: seeding NumPy's, Python's or torch's global
generator there would change every later cell, so each seeded block runs inside ``kept_global_states``.
The judge rebuilds the same inputs with the same seeds (the builders of the probe modules).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from course_lib.checks._common import _global_states, _set_global_states

__all__ = ["kept_global_states", "torch_seeded", "seed_other_globals"]


@contextlib.contextmanager
def kept_global_states() -> Iterator[None]:
    """NumPy's, Python's and (once imported) torch's global generators are restored on exit."""
    import torch  # noqa: F401 - imported first, so that its generator is among the states kept

    saved = _global_states()
    try:
        yield
    finally:
        _set_global_states(saved)


@contextlib.contextmanager
def torch_seeded(seed: int) -> Iterator[None]:
    """torch's global generator seeded with ``seed`` inside, every global generator restored on exit."""
    import torch

    with kept_global_states():
        torch.manual_seed(seed)
        yield


def seed_other_globals(seed: int) -> None:
    """Seed NumPy's and Python's global generators (inside ``kept_global_states``): an answer that must draw
    from another source (its ``rng`` argument, torch's generator) gives the same result whatever they hold."""
    import random

    import numpy as np

    np.random.seed(seed)  # noqa: NPY002 - the global streams, seeded on purpose to catch their use
    random.seed(seed)
