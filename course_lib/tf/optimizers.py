"""The TensorFlow optimizers of the course: Keras optimizers that apply PyTorch's updates, built
from the one table of ``course_lib.optim``. Twin: course_lib/torch/optimizers.py."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from course_lib.optim import optimizer_settings

__all__ = ["make_optimizer", "TorchAdam", "TorchRMSprop", "TorchAdagrad"]

ops = keras.ops


def _dense(gradient: Any, dtype: Any) -> tf.Tensor:
    """The gradient as a dense tensor, as PyTorch has it. A gather's gradient is ``IndexedSlices``
    with one slice per occurrence; Keras squares those slices one by one, so a row seen twice in a
    batch would add g1^2 + g2^2 to Adam's v where PyTorch adds (g1 + g2)^2."""
    return tf.cast(tf.convert_to_tensor(gradient), dtype)


class TorchAdam(keras.optimizers.Adam):
    """Keras' Adam with PyTorch's epsilon: ``w -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)``.

    Keras adds its epsilon to the uncorrected ``sqrt(v)``, which is PyTorch's epsilon scaled by
    ``sqrt(1 - b2^t)`` (1/32 at the first step): the same number would not be the same optimizer.
    The gradient is made dense first (see ``_dense``), as in the PyTorch twin.
    """

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = _dense(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, variable.dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, variable.dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(correction_2)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction_1), denominator))


class TorchRMSprop(keras.optimizers.RMSprop):
    """Keras' RMSprop with PyTorch's epsilon, added to ``sqrt(v)`` (Keras adds it under the root):
    ``v = rho v + (1 - rho) g^2; w -= lr * g / (sqrt(v) + eps)``."""

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = _dense(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(self.rho, velocity), ops.multiply(1 - self.rho, ops.square(gradient))))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient), ops.add(ops.sqrt(velocity), self.epsilon)))


class TorchAdagrad(keras.optimizers.Adagrad):
    """Keras' Adagrad with PyTorch's epsilon, added to ``sqrt(s)`` (Keras adds it under the root):
    ``s = s + g^2; w -= lr * g / (sqrt(s) + eps)``."""

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = _dense(gradient, variable.dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, ops.square(gradient))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient), ops.add(ops.sqrt(accumulator), self.epsilon)))


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The optimizer ``name`` of ``course_lib.optim`` (adam, sgd, adagrad, rmsprop), applying the
    same update as the PyTorch twin's ``make_optimizer`` from the same table of hyperparameters."""
    settings = optimizer_settings(name)
    if name == "adam":
        return TorchAdam(learning_rate=learning_rate, beta_1=settings["beta_1"], beta_2=settings["beta_2"],
                         epsilon=settings["epsilon"])
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=settings["momentum"])
    if name == "adagrad":
        return TorchAdagrad(learning_rate=learning_rate, initial_accumulator_value=settings["initial_accumulator"],
                            epsilon=settings["epsilon"])
    if settings["momentum"]:  # pragma: no cover - the table says 0; TorchRMSprop does not implement momentum
        raise NotImplementedError("RMSprop with momentum")
    return TorchRMSprop(learning_rate=learning_rate, rho=settings["rho"], epsilon=settings["epsilon"])
