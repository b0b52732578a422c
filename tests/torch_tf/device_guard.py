"""Catch tensors that course_lib makes without saying on which device.

On a machine with only a CPU every tensor lands on the CPU, so a model that forgets
``device=self.device_`` works here and breaks on the first GPU. ``DeviceGuard`` is a
``TorchFunctionMode`` that records every tensor factory call (``torch.zeros``, ``torch.arange``,
``torch.as_tensor``, ...) made from course_lib's own code without a ``device`` argument, so a CPU
test can fail where a GPU run would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

PACKAGE = str(Path(__file__).resolve().parents[2] / "course_lib")

FACTORIES = {
    torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.rand, torch.randn, torch.randint,
    torch.randperm, torch.eye, torch.linspace, torch.tensor, torch.as_tensor, torch.sparse_coo_tensor,
    torch.sparse_csr_tensor, torch.from_numpy, torch.normal,
}


class DeviceGuard(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.offences: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            frame = sys._getframe(1)
            while frame is not None:
                filename = frame.f_code.co_filename
                if filename.startswith(PACKAGE):
                    self.offences.append(f"{func.__name__} without device= at {filename}:{frame.f_lineno}")
                    break
                frame = frame.f_back
        return func(*args, **kwargs)
