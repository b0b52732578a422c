"""TensorFlow / Keras 3 twins of the course's neural models (``course_lib.torch`` holds the PyTorch ones).

Importing this package imports TensorFlow, and seeds it with the seed of the last
``course_lib.seed_everything`` call if there was one.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# TensorFlow's C++ log: 3 keeps only fatal lines, so a laptop without a GPU does not print
# "E0000 ... failed call to cuInit: CUDA error" in red under the first cell that trains a model.
# Python exceptions are not affected. Set the variable yourself before this import to see more
# (then nothing below is filtered either).
_LEVEL_CHOSEN = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Lines TensorFlow 2.21 writes straight to the process's stderr while it is imported, before its
# log level is read: they say oneDNN is on and that no CUDA driver was found, nothing to act on.
# (TensorFlow 2.20 writes them as "2026-11-30 11:16:14.205917: I external/.../cudart_stub.cc:31] ...").
_START_UP_CHATTER = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)"
                               r"|^([IW]\d{4} [\d:.]+ +\d+ |\d{4}-\d\d-\d\d [\d:.]+: [IW] \S*?)"
                               r"(port|cudart_stub|cpu_feature_guard)\.cc:\d+\]")


def _passed_on(printed: str) -> str:
    """What of TensorFlow's import-time stderr is shown: every line but the known start-up chatter."""
    return "".join(line for line in printed.splitlines(keepends=True) if not _START_UP_CHATTER.search(line))


def _import_tensorflow():
    """Import TensorFlow and Keras with the start-up chatter filtered out of stderr (file descriptor 2,
    which Jupyter shows under the cell); any other line TensorFlow prints is passed on."""
    saved = None
    if not _LEVEL_CHOSEN:  # the user chose TensorFlow's log level: show what it prints
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no file descriptor 2 to redirect
            pass
    if saved is None:
        import keras
        import tensorflow
        return keras, tensorflow
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import keras
            import tensorflow
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            shown = _passed_on(caught.read().decode("utf-8", errors="replace"))
            if shown:
                print(shown, end="", file=sys.stderr)
    return keras, tensorflow


keras, tf = _import_tensorflow()

from course_lib.seeding import current_seed  # noqa: E402

if current_seed() is not None:
    keras.utils.set_random_seed(current_seed())

from course_lib.tf.training import TFRecommender, get_device  # noqa: E402

__all__ = ["TFRecommender", "get_device", "tf", "keras"]
