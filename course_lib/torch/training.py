"""What every PyTorch recommender of the course shares: device choice, the weights as NumPy,
mini-batches and the progress bar. Twin: course_lib/tf/training.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.base import Recommender, minibatches, progress

__all__ = ["get_device", "TorchRecommender", "minibatches", "progress"]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA, then Apple MPS, then the CPU.

    A device that is asked for but absent gives a ValueError that says which are available.
    """
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for, but PyTorch sees no CUDA GPU here; use device='cpu'.")
        if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device='mps' was asked for, but Apple MPS is not available here; use device='cpu'.")
        return device
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
        self._check_fitted()
        own = self.network_.state_dict()
        missing, unknown = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
        if missing or unknown:
            raise ValueError(f"Weights do not match this {type(self).__name__}: missing {missing}, unknown {unknown}.")
        for name, value in weights.items():
            if tuple(np.shape(value)) != tuple(own[name].shape):
                raise ValueError(f"Weight {name!r} has shape {np.shape(value)}, expected {tuple(own[name].shape)}.")
        self.network_.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=own[k].dtype, device=own[k].device) for k, v in weights.items()})

    def _tensor(self, values: Any, dtype: torch.dtype = torch.long) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values), dtype=dtype, device=self.device_)
