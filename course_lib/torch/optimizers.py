"""The PyTorch optimizers of the course, built from the one table of ``course_lib.optim``.
Twin: course_lib/tf/optimizers.py (Keras optimizers that apply the same updates)."""

from __future__ import annotations

from typing import Any

import torch

from course_lib.optim import optimizer_settings

__all__ = ["make_optimizer"]


def make_optimizer(name: str, parameters: Any, learning_rate: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimizer ``name`` of ``course_lib.optim`` (adam, sgd, adagrad, rmsprop) over ``parameters``.

    Its hyperparameters come from the one table the TensorFlow twins read too. ``weight_decay``
    is torch's coupled L2 (``weight_decay * w`` added to the gradient), not AdamW's decay.
    """
    settings = optimizer_settings(name)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, betas=(settings["beta_1"], settings["beta_2"]),
                                eps=settings["epsilon"], weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=settings["momentum"], weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(parameters, lr=learning_rate, lr_decay=0.0, eps=settings["epsilon"],
                                   initial_accumulator_value=settings["initial_accumulator"], weight_decay=weight_decay)
    return torch.optim.RMSprop(parameters, lr=learning_rate, alpha=settings["rho"], eps=settings["epsilon"],
                               momentum=settings["momentum"], weight_decay=weight_decay)
