"""PyTorch twins of the course's neural models (``course_lib.tf`` holds the TensorFlow ones).

Importing this package imports torch, and seeds it with the seed of the last
``course_lib.seed_everything`` call if there was one.
"""

from __future__ import annotations

import torch

from course_lib.seeding import current_seed

if current_seed() is not None:
    torch.manual_seed(current_seed())

from course_lib.torch.training import TorchRecommender, get_device  # noqa: E402

__all__ = ["TorchRecommender", "get_device"]
