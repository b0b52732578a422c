"""What every PyTorch recommender of the course shares: device choice, the weights as NumPy,
mini-batches and the progress bar. Twin: course_lib/tf/training.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.base import Recommender, minibatches, progress
from course_lib.validation import check_weights, device_unavailable, parse_device

__all__ = ["get_device", "TorchRecommender", "minibatches", "progress"]


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
