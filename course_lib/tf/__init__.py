"""TensorFlow / Keras 3 twins of the course's neural models (``course_lib.torch`` holds the PyTorch ones).

Importing this package imports TensorFlow, and seeds it with the seed of the last
``course_lib.seed_everything`` call if there was one.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of notebooks

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib.seeding import current_seed  # noqa: E402

if current_seed() is not None:
    keras.utils.set_random_seed(current_seed())

from course_lib.tf.training import TFRecommender, get_device  # noqa: E402

__all__ = ["TFRecommender", "get_device", "tf", "keras"]
