"""EASE^R (Steck, WWW 2019) solved with TensorFlow's linear algebra on its device. Twin: course_lib/torch/ease.py.

Shapes: U n_users, I n_items, B users in a batch.

The same model as ``course_lib.closed_form.EASE``: ``P = (X^T X + lambda I)^-1``,
``B = I - P / diag(P)``. The Gram matrix ``X^T X`` is a sparse product computed by SciPy (cheap);
the (I, I) inverse, the O(I^3) part, runs on ``device``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.closed_form import (
    EASE_DENSE_COPIES,
    _check_positive,
    check_dense_memory,
    check_ease_inverse,
    check_ease_system,
    ease_inputs,
)
from course_lib.data.interactions import Interactions
from course_lib.tf.training import TFRecommender, get_device
from course_lib.validation import singular_system_error

__all__ = ["EASENet", "EASE", "ease_weights"]


def ease_weights(gram: tf.Tensor, l2: float) -> tf.Tensor:
    """EASE's (I, I) weights from the (I, I) Gram matrix, on the current device."""
    regularized = gram + l2 * tf.eye(tf.shape(gram)[0], dtype=gram.dtype)
    try:
        inverse = tf.linalg.inv(regularized)                               # P, (I, I)
    except tf.errors.InvalidArgumentError as error:                        # "Input is not invertible."
        raise singular_system_error(l2, int(gram.shape[0]), error.message.splitlines()[0]) from error
    check_ease_inverse(tf.linalg.diag_part(inverse).numpy(), bool(tf.reduce_all(tf.math.is_finite(inverse))),
                       l2)
    weights = inverse / -tf.linalg.diag_part(inverse)[None, :]             # column j divided by -P_jj
    return tf.linalg.set_diag(weights, tf.zeros(tf.shape(gram)[0], dtype=gram.dtype))


class EASENet(keras.Model):
    """The linear item-item autoencoder: ``scores = x_u B``. ``B`` is set in closed form, not trained."""

    def __init__(self, n_items: int, dtype: str) -> None:
        super().__init__(dtype=dtype)  # else Keras casts float64 inputs to float32
        self.item_weights = self.add_weight(shape=(n_items, n_items), initializer="zeros", dtype=dtype,
                                            trainable=False, name="item_weights")

    def call(self, user_items: tf.Tensor) -> tf.Tensor:
        return tf.matmul(user_items, self.item_weights)                    # (B, I)


class EASE(TFRecommender):
    """EASE^R with the inverse computed by ``tf.linalg.inv`` on ``device``.

    Same arguments as ``course_lib.closed_form.EASE`` plus ``device``; ``dtype`` is "float64"
    (default, what the parity with NumPy uses) or "float32".
    """

    def __init__(self, l2: float = 500.0, normalize_rows: bool = False, normalize_columns: bool = False,
                 dtype: Any = "float64", max_memory_bytes: int | None = None, device: Any = None) -> None:
        self.l2 = l2
        self.normalize_rows = normalize_rows
        self.normalize_columns = normalize_columns
        self.dtype = dtype
        self.max_memory_bytes = max_memory_bytes
        self.device = device

    def fit(self, train: Interactions) -> EASE:
        _check_positive("l2", self.l2)
        name = self.dtype.name if isinstance(self.dtype, tf.dtypes.DType) else np.dtype(self.dtype).name
        if name not in ("float32", "float64"):
            raise ValueError(f"`dtype` must be float32 or float64, got dtype={self.dtype!r}.")
        device = get_device(self.device)
        train = self._start_fit(train)
        self.device_ = device
        # TensorFlow reports no free GPU memory: the check covers the host, where the Gram matrix lives.
        self.memory_bytes_ = check_dense_memory(train.n_items, name, self.max_memory_bytes,
                                                copies=EASE_DENSE_COPIES + 1)
        self.user_items_, gram = ease_inputs(train, self.normalize_rows, self.normalize_columns, name)
        check_ease_system(gram, float(self.l2), name)
        with tf.device(self.device_):
            self.network_ = EASENet(train.n_items, name)
            self.network_.item_weights.assign(ease_weights(tf.constant(gram), float(self.l2)))
        return self

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"item_weights": (self.network_.item_weights, False)}

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        with tf.device(self.device_):
            rows = tf.constant(self.user_items_[user_ids].toarray())
            return self.network_(rows).numpy()                             # (B, I)
