"""course_lib: the reference implementations the course notebooks import.

Importing ``course_lib`` is cheap and framework-free: it imports neither torch nor tensorflow.
The PyTorch twins live in ``course_lib.torch`` and the TensorFlow twins in ``course_lib.tf``.
Names below load their module on first use (PEP 562), so ``import course_lib`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_EXPORTS = {
    "Interactions": "course_lib.data.interactions",
    "load_dataset": "course_lib.data.datasets",
    "available_datasets": "course_lib.data.datasets",
    "DatasetNotFoundError": "course_lib.data.datasets",
    "make_synthetic": "course_lib.data.synthetic",
    "random_split": "course_lib.splits",
    "per_user_split": "course_lib.splits",
    "leave_last_out": "course_lib.splits",
    "temporal_split": "course_lib.splits",
    "user_split": "course_lib.splits",
    "sample_negatives": "course_lib.sampling",
    "sample_triplets": "course_lib.sampling",
    "evaluate": "course_lib.evaluation",
    "Random": "course_lib.baselines",
    "Popularity": "course_lib.baselines",
    "ItemKNN": "course_lib.baselines",
    "seed_everything": "course_lib.seeding",
}

__all__ = sorted(_EXPORTS) + ["metrics", "plots", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in ("metrics", "plots", "splits", "sampling", "evaluation", "baselines", "data"):
        return importlib.import_module(f"course_lib.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
