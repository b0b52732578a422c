"""EASE^R (Steck, WWW 2019) solved with PyTorch's linear algebra on its device. Twin: course_lib/tf/ease.py.

Shapes: U n_users, I n_items, B users in a batch.

The same model as ``course_lib.closed_form.EASE``: ``P = (X^T X + lambda I)^-1``,
``B = I - P / diag(P)``. The Gram matrix ``X^T X`` is a sparse product computed by SciPy (cheap);
the (I, I) inverse, the O(I^3) part, runs on ``device``: a GPU inverts a catalogue of 20,000
items in seconds.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.closed_form import (
    EASE_DENSE_COPIES,
    _check_positive,
    check_dense_memory,
    check_ease_inverse,
    check_ease_system,
    ease_inputs,
)
from course_lib.data.interactions import Interactions
from course_lib.torch.training import TorchRecommender, get_device
from course_lib.validation import singular_system_error

__all__ = ["EASENet", "EASE", "ease_weights"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def ease_weights(gram: Tensor, l2: float) -> Tensor:
    """EASE's (I, I) weights from the (I, I) Gram matrix, on the Gram matrix's device."""
    regularized = gram + l2 * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    try:
        inverse = torch.linalg.inv(regularized)                            # P, (I, I)
    except torch.linalg.LinAlgError as error:
        raise singular_system_error(l2, gram.shape[0], str(error).splitlines()[0]) from error
    check_ease_inverse(torch.diagonal(inverse).cpu().numpy(), bool(torch.isfinite(inverse).all()), l2)
    weights = inverse / -torch.diagonal(inverse)[None, :]                  # column j divided by -P_jj
    weights.fill_diagonal_(0.0)
    return weights


class EASENet(nn.Module):
    """The linear item-item autoencoder: ``scores = x_u B``. ``B`` is a buffer, set in closed form."""

    def __init__(self, n_items: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("item_weights", torch.zeros(n_items, n_items, dtype=dtype))

    def forward(self, user_items: Tensor) -> Tensor:
        return user_items @ self.item_weights                              # (B, I)


class EASE(TorchRecommender):
    """EASE^R with the inverse computed by ``torch.linalg.inv`` on ``device``.

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
        name = np.dtype(self.dtype).name if not isinstance(self.dtype, torch.dtype) else str(self.dtype)[6:]
        if name not in _DTYPES:
            raise ValueError(f"`dtype` must be float32 or float64, got dtype={self.dtype!r}.")
        device = get_device(self.device)
        train = self._start_fit(train)
        self.device_ = device
        if self.device_.type == "mps" and name == "float64":  # Apple's GPU has no float64
            warnings.warn("Apple MPS has no float64: EASE computes in float32 on it (dtype='float32').", stacklevel=2)
            name = "float32"
        if self.device_.type == "cuda" and self.max_memory_bytes is None:
            check_dense_memory(train.n_items, name, torch.cuda.mem_get_info(self.device_)[0], where="the GPU")
            self.memory_bytes_ = check_dense_memory(train.n_items, name, None, copies=1, where="host memory")
        else:  # the NumPy Gram matrix and the framework's matrices share one memory
            self.memory_bytes_ = check_dense_memory(train.n_items, name, self.max_memory_bytes,
                                                    copies=EASE_DENSE_COPIES + 1)
        self.user_items_, gram = ease_inputs(train, self.normalize_rows, self.normalize_columns, name)
        check_ease_system(gram, float(self.l2), name)
        self.network_ = EASENet(train.n_items, _DTYPES[name]).to(self.device_)
        with torch.no_grad():
            self.network_.item_weights.copy_(ease_weights(torch.as_tensor(gram, dtype=_DTYPES[name], device=self.device_),
                                                          float(self.l2)))
        return self

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        rows = self._tensor(self.user_items_[user_ids].toarray(), dtype=self.network_.item_weights.dtype)
        with torch.no_grad():
            return self.network_(rows).cpu().numpy()                       # (B, I)
