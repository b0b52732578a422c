"""What every PyTorch recommender of the course shares: device choice, the weights as NumPy and
the framework's step that the shared loop (course_lib/training_loop.py) calls. Twin:
course_lib/tf/training.py. The seeded layers are in course_lib/torch/layers.py, the optimizers in
course_lib/torch/optimizers.py (both re-exported here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.base import Recommender, minibatches, progress
from course_lib.torch.layers import SeededDropout, build_network, default_init, make_generator
from course_lib.torch.optimizers import make_optimizer
from course_lib.validation import check_weights, device_unavailable, parse_device

__all__ = ["get_device", "TorchRecommender", "minibatches", "progress", "make_optimizer",
           "make_generator", "build_network", "default_init", "SeededDropout"]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA, then Apple MPS, then the CPU.

    The spellings are those of ``course_lib.validation.parse_device`` (the same in both
    frameworks: "cpu", "cuda", "cuda:1", "gpu", "mps", "/GPU:0"); an unknown spelling or a device
    that is absent gives one short ValueError.
    """
    if device is not None:
        kind, index = parse_device(device)
        if kind == "gpu":
            found = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if found <= index:
                raise device_unavailable(device, "PyTorch", "no CUDA GPU" if not found else f"only {found} CUDA GPU(s)")
            return torch.device("cuda", index)
        if kind == "mps":
            if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()) or index > 0:
                raise device_unavailable(device, "PyTorch", "no Apple MPS device (MPS is not available)")
            return torch.device("mps")
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class TorchRecommender(Recommender):
    """Base of the PyTorch recommenders: a ``network_`` (an ``nn.Module``) on ``device_``.

    ``get_weights()`` returns the network's ``state_dict`` as NumPy arrays; the TensorFlow twin
    returns the same keys with the same shapes, so one set of weights can be loaded into both.
    """

    framework = "(PyTorch)"  # for progress bars and messages

    network_: nn.Module
    device_: torch.device

    def get_weights(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {name: value.detach().cpu().numpy().copy() for name, value in self.network_.state_dict().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights (as ``get_weights`` returns them); every key, shape and value is checked
        before any is assigned, so a refused dict leaves the model as it was."""
        self._check_fitted()
        own = self.network_.state_dict()
        checked = check_weights(weights, {name: tuple(value.shape) for name, value in own.items()},
                                type(self).__name__)
        self.network_.load_state_dict({k: torch.tensor(v, dtype=own[k].dtype, device=own[k].device)
                                       for k, v in checked.items()})

    def _tensor(self, values: Any, dtype: torch.dtype = torch.long) -> torch.Tensor:
        array = np.asarray(values)
        if not array.flags.writeable:  # the data's arrays are read-only; torch wants to own a writable one
            array = array.copy()
        return torch.as_tensor(array, dtype=dtype, device=self.device_)


class TorchSteps(TorchRecommender):
    """The PyTorch primitives the shared loop calls: build, one optimizer step, a plain SGD step, losses.

    A subclass gives ``_network(train)`` and ``_batch_loss(batch, training)``; ``optimizer_step``,
    the same in both frameworks, is ``TrainingLoop``'s.
    """

    def _check_device(self) -> None:
        get_device(self.device)

    def _build(self, train: Any) -> None:
        self.device_ = get_device(self.device)
        self.network_ = build_network(lambda: self._network(train), self.device_)
        self._start_from_initial_weights()  # the weights both twins start from, drawn with NumPy from self.seed
        self.optimizer_ = make_optimizer(self.optimizer, self.network_.parameters(), self.learning_rate)

    def _penalty(self) -> torch.Tensor:
        l1 = getattr(self, "l1", 0.0)
        penalty = torch.zeros((), device=self.device_)
        for parameter in self.network_.parameters():
            if self.l2:
                penalty = penalty + self.l2 * parameter.square().sum()
            if l1:
                penalty = penalty + l1 * parameter.abs().sum()
        return penalty

    def _set_learning_rate(self, value: float) -> None:
        for group in self.optimizer_.param_groups:
            group["lr"] = value

    def _train_batch(self, batch: dict[str, np.ndarray]) -> tuple[float, int]:
        """One step of the model's optimizer; (the batch's loss before the step, its size)."""
        self.network_.train()
        self.optimizer_.zero_grad()
        loss = self._batch_loss(batch, training=True) + self._penalty()
        loss.backward()
        self.optimizer_.step()
        return float(loss.detach()), len(next(iter(batch.values())))

    def loss_on_batch(self, batch: dict[str, np.ndarray]) -> float:
        """The training loss (penalty included) of one batch, with dropout off."""
        self.network_.eval()
        with torch.no_grad():
            return float(self._batch_loss(batch, training=False) + self._penalty())

    def sgd_step(self, batch: dict[str, np.ndarray], learning_rate: float) -> float:
        """One plain gradient step ``w <- w - learning_rate * grad`` on one batch (for parity tests)."""
        self.network_.train()
        self.network_.zero_grad()
        loss = self._batch_loss(batch, training=True) + self._penalty()
        loss.backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                if parameter.grad is not None:
                    parameter -= learning_rate * parameter.grad
        return float(loss.detach())
