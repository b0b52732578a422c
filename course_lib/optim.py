"""The optimizers of the course: one table, one meaning for each name in every model and both frameworks.

Each name means PyTorch's optimizer with PyTorch's default hyperparameters; the TensorFlow twins
build a Keras optimizer that applies the same update (``course_lib/tf/optimizers.py``), and the
PyTorch twins build ``torch.optim`` from the same table (``course_lib/torch/optimizers.py``).
Framework-free: this module imports neither torch nor tensorflow.

=========  ===========================================================================================
name       update of a weight w with gradient g at step t (learning rate lr)
=========  ===========================================================================================
adam       m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
           w -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)        b1 0.9, b2 0.999, eps 1e-8
sgd        w -= lr * g  (plain SGD, momentum 0: the NCF and BPR papers' SGD)
adagrad    s = s + g^2 (s starts at 0);  w -= lr * g / (sqrt(s) + eps)                  eps 1e-10
rmsprop    v = rho v + (1 - rho) g^2 (v starts at 0);  w -= lr * g / (sqrt(v) + eps)   rho 0.99, eps 1e-8
=========  ===========================================================================================

Keras' own defaults differ (Adam epsilon 1e-7 added to the uncorrected sqrt(v), RMSprop rho 0.9
with epsilon inside the square root, Adagrad's accumulator starting at 0.1), which is why the
TensorFlow twins never use them. An L2 weight is never a decoupled weight decay (AdamW, or
Keras' ``weight_decay``): it is a penalty in the model's loss, in both frameworks alike (the
sequence models' ``l2`` is the penalty ``l2 / 2 * sum(w^2)``, whose gradient ``l2 * w`` is what
``torch.optim``'s ``weight_decay=l2`` adds before the update).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from course_lib.validation import check_choice

__all__ = ["OPTIMIZERS", "OPTIMIZER_SETTINGS", "optimizer_settings"]

OPTIMIZER_SETTINGS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType({
    "adam": MappingProxyType({"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}),
    "sgd": MappingProxyType({"momentum": 0.0}),
    "adagrad": MappingProxyType({"initial_accumulator": 0.0, "epsilon": 1e-10}),
    "rmsprop": MappingProxyType({"rho": 0.99, "epsilon": 1e-8, "momentum": 0.0}),
})
OPTIMIZERS = tuple(OPTIMIZER_SETTINGS)


def optimizer_settings(name: str, argument: str = "optimizer") -> dict[str, Any]:
    """The hyperparameters of optimizer ``name`` (a copy); an unknown name is a ValueError naming ``argument``."""
    check_choice(argument, name, OPTIMIZERS)
    return dict(OPTIMIZER_SETTINGS[name])
