"""PyTorch twins of the course's neural models (``course_lib.tf`` holds the TensorFlow ones).

Importing this package imports torch, and seeds it with the seed of the last
``course_lib.seed_everything`` call if there was one.
"""

from __future__ import annotations

import os
import warnings

import torch

from course_lib.seeding import current_seed

# The notebooks run PyTorch and TensorFlow in one process, and their thread pools compete for
# the cores: on 2 cores notebook 04 took 204 s with PyTorch's default threads and 49 s with one.
# Half the cores (at most 4) is enough for the small models of the course; set
# COURSE_LIB_TORCH_THREADS to choose another number.
_threads = os.environ.get("COURSE_LIB_TORCH_THREADS")
torch.set_num_threads(int(_threads) if _threads else max(1, min(4, (os.cpu_count() or 2) // 2)))

# An Interactions' arrays are read-only on purpose (a write raises instead of silently changing
# every later model), and torch.as_tensor(train.users) warns about any read-only array. That
# warning would greet every student whose exercise does exactly that; the tensors made that way
# are read, never written in place, in the course.
warnings.filterwarnings("ignore", message=r"The given NumPy array is not writable", category=UserWarning)

if current_seed() is not None:
    torch.manual_seed(current_seed())

from course_lib.torch.training import TorchRecommender, get_device  # noqa: E402

__all__ = ["TorchRecommender", "get_device"]
