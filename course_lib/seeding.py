"""`seed_everything`: one call that makes a notebook repeatable."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

__all__ = ["seed_everything", "current_seed"]

_seed: int | None = None


def current_seed() -> int | None:
    """The seed of the last ``seed_everything`` call, or None."""
    return _seed


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python's ``random``, NumPy, PyTorch and TensorFlow.

    Frameworks that are already imported are seeded now; ``course_lib.torch`` and
    ``course_lib.tf`` seed their framework with this seed when they are imported later, so the
    order of imports in a notebook does not matter. Importing ``course_lib`` never imports a
    framework by itself.

    Parameters
    ----------
    seed:
        A non-negative integer below 2**32.
    deterministic:
        Also ask the frameworks for deterministic kernels where they offer them (slower on GPU,
        no effect on CPU speed for the models of this course).

    Returns
    -------
    int
        The seed, so that ``seed = seed_everything(42)`` reads naturally.
    """
    global _seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"`seed` must be an integer from 0 to 2**32 - 1, got {seed!r}.")
    seed = int(seed)
    _seed = seed
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses, e.g. DataLoader workers
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is what students call
    if "torch" in sys.modules:
        _seed_torch(seed, deterministic)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        _seed_tensorflow(seed, deterministic)
    return seed


def _seed_torch(seed: int, deterministic: bool) -> None:
    import torch

    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if hasattr(torch.backends, "cudnn"):
            torch.backends.cudnn.benchmark = False


def _seed_tensorflow(seed: int, deterministic: bool) -> None:
    if "tensorflow" not in sys.modules:
        return
    import tensorflow as tf

    tf.random.set_seed(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # pragma: no cover - keras ships with tensorflow 2.21
        pass
    if deterministic:
        tf.config.experimental.enable_op_determinism()
