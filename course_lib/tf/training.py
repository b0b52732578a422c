"""What every TensorFlow recommender of the course shares: device choice, the weights as NumPy
under the PyTorch twin's names and the framework's step that the shared loop
(course_lib/training_loop.py) calls. Twin: course_lib/torch/training.py. The layers' weight names
are in course_lib/tf/layers.py, the optimizers in course_lib/tf/optimizers.py (both re-exported here)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.base import Recommender, minibatches, progress
from course_lib.tf.layers import dense_weights
from course_lib.tf.optimizers import TorchAdagrad, TorchAdam, TorchRMSprop, make_optimizer
from course_lib.validation import check_weights, device_unavailable, parse_device

__all__ = ["get_device", "TFRecommender", "minibatches", "progress", "make_optimizer", "dense_weights",
           "TorchAdam", "TorchRMSprop", "TorchAdagrad"]

def get_device(device: str | None = None) -> str:
    """A TensorFlow device string: ``device`` if given, else the first GPU, else the CPU.

    The spellings are those of ``course_lib.validation.parse_device`` (the same in both
    frameworks: "cpu", "gpu", "GPU:1", "/GPU:0", "/device:GPU:0", "cuda"); an unknown spelling or
    a device that is absent gives one short ValueError ("mps" is PyTorch's only).
    """
    if device is not None:
        kind, index = parse_device(device)
        if kind == "mps":
            raise device_unavailable(device, "TensorFlow", "no Apple MPS device (MPS is PyTorch's)")
        if kind == "gpu":
            found = len(tf.config.list_physical_devices("GPU"))
            if found <= index:
                raise device_unavailable(device, "TensorFlow", "no GPU" if not found else f"only {found} GPU(s)")
        return f"/{kind.upper()}:{index}"
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


class TFRecommender(Recommender):
    """Base of the TensorFlow recommenders: a ``network_`` (a ``keras.Model``) built on ``device_``.

    Subclasses implement ``_weight_map()``: a dict from the PyTorch twin's ``state_dict`` name to
    ``(variable, transpose)``; ``transpose`` is True for Dense kernels, which Keras stores as
    (in, out) where ``nn.Linear`` stores (out, in). ``get_weights()`` then returns exactly the
    PyTorch twin's keys and shapes.
    """

    framework = "(TensorFlow)"  # for progress bars and messages

    network_: keras.Model
    device_: str

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:  # pragma: no cover - interface
        raise NotImplementedError

    def get_weights(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        weights = {}
        for name, (variable, transpose) in self._weight_map().items():
            value = np.asarray(variable.numpy()).copy()
            weights[name] = value.T if transpose else value
        return weights

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights (as ``get_weights`` returns them, the PyTorch twin's keys and shapes).

        Every key, shape and value is checked before any variable is assigned, so a refused dict
        leaves the model as it was."""
        self._check_fitted()
        mapping = self._weight_map()
        expected = {name: tuple(variable.shape)[::-1] if transpose else tuple(variable.shape)
                    for name, (variable, transpose) in mapping.items()}
        checked = check_weights(weights, expected, type(self).__name__)
        for name, (variable, transpose) in mapping.items():
            value = checked[name].T if transpose else checked[name]
            variable.assign(value.astype(variable.dtype))


class TFSteps(TFRecommender):
    """The TensorFlow primitives the shared loop calls: build, one optimizer step, a plain SGD step, losses.

    A subclass gives ``_network(train)`` (a keras.Model with ``weight_map()``), ``_dummy_batch()``
    and ``_batch_loss(batch, training)``; batches are dicts of tensors. ``optimizer_step``, the
    same in both frameworks, is ``TrainingLoop``'s.
    """

    def _check_device(self) -> None:
        get_device(self.device)

    def _build(self, train: Any) -> None:
        self.device_ = get_device(self.device)
        with tf.device(self.device_):
            self.network_ = self._network(train)
            self._batch_loss(self._as_tensors(self._dummy_batch()), training=False)  # creates the weights
            self._start_from_initial_weights()  # the weights both twins start from, drawn with NumPy from self.seed
            self.optimizer_ = make_optimizer(self.optimizer, self.learning_rate)  # the PyTorch twin's update
            self.optimizer_.build(self.network_.trainable_variables)
        self._step = tf.function(self._step_eager, reduce_retracing=True)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        return self.network_.weight_map()

    @staticmethod
    def _as_tensors(batch: dict[str, np.ndarray]) -> dict[str, tf.Tensor]:
        return {key: tf.convert_to_tensor(value) for key, value in batch.items()}

    def _penalty(self) -> tf.Tensor:
        penalty = tf.zeros(())
        for variable in self.network_.trainable_variables:
            if self.l2:
                penalty += self.l2 * tf.reduce_sum(tf.square(variable))
            if getattr(self, "l1", 0.0):
                penalty += self.l1 * tf.reduce_sum(tf.abs(variable))
        return penalty

    def _set_learning_rate(self, value: float) -> None:
        self.optimizer_.learning_rate.assign(value)

    def _step_eager(self, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self._batch_loss(batch, training=True) + self._penalty()
        variables = self.network_.trainable_variables
        self.optimizer_.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    def _train_batch(self, batch: dict[str, np.ndarray]) -> tuple[float, int]:
        """One step of the model's optimizer; (the batch's loss before the step, its size)."""
        with tf.device(self.device_):
            return float(self._step(self._as_tensors(batch))), len(next(iter(batch.values())))

    def loss_on_batch(self, batch: dict[str, np.ndarray]) -> float:
        """The training loss (penalty included) of one batch, with dropout off."""
        with tf.device(self.device_):
            return float(self._batch_loss(self._as_tensors(batch), training=False) + self._penalty())

    def sgd_step(self, batch: dict[str, np.ndarray], learning_rate: float) -> float:
        """One plain gradient step ``w <- w - learning_rate * grad`` on one batch (for parity tests)."""
        with tf.device(self.device_), tf.GradientTape() as tape:
            loss = self._batch_loss(self._as_tensors(batch), training=True) + self._penalty()
        variables = self.network_.trainable_variables
        for variable, gradient in zip(variables, tape.gradient(loss, variables), strict=True):
            if gradient is not None:
                variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))
        return float(loss)
