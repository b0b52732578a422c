"""Checks for the exercises of notebook 04 (two-tower models), written in PyTorch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks._common import _call, _expect_tensor, _fail

__all__ = ["check_tower", "check_in_batch_softmax_loss"]


# ------------------------------------------------------------------- the tower
def check_tower(tower_class: Callable[..., Any]) -> None:
    """Check a student's ``Tower(input_dim, hidden_dims, output_dim)`` ``nn.Module``: Linear + ReLU
    per hidden width, a linear output layer, He-initialized weights and zero biases."""
    import torch
    from torch import nn

    name = "Tower"
    torch.manual_seed(0)
    tower = _call(name, tower_class, 6, (16, 8), 4, what="Tower(...)",
                  inputs="input_dim=6, hidden_dims=(16, 8), output_dim=4")
    if not isinstance(tower, nn.Module):
        _fail(name, f"Tower(...) should build an nn.Module, got {type(tower).__name__}.")
    big = _call(name, tower_class, 512, (512,), 512, what="Tower(...)",
                inputs="input_dim=512, hidden_dims=(512,), output_dim=512")
    inputs = torch.randn(64, 6)
    outputs = _call(name, tower, inputs, what="forward", inputs="a (64, 6) batch")
    _expect_tensor(name, outputs, (64, 4), "a batch of 64 inputs of size 6 (output_dim=4)", label="forward's output")
    linears = [m for m in tower.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 3:
        _fail(name, f"with hidden_dims=(16, 8) the tower needs 3 nn.Linear layers (6->16, 16->8, 8->4), "
                    f"found {len(linears)}. Are the layers kept in an nn.ModuleList or nn.Sequential, so "
                    "PyTorch sees them?")
    widths = [(m.in_features, m.out_features) for m in linears]
    if widths != [(6, 16), (16, 8), (8, 4)]:
        _fail(name, f"the layers should map 6->16, 16->8, 8->4, got {widths}.")
    _check_initialization(name, big)  # a tower built for this only: nothing has run on it or changed it
    with torch.no_grad():
        plus, minus, zero = (_call(name, tower, batch, what="forward", inputs="a (64, 6) batch")
                             for batch in (inputs, -inputs, torch.zeros_like(inputs)))
    if (plus >= 0).all() and (minus >= 0).all():
        _fail(name, "every output is >= 0: is there a ReLU after the last layer? The output layer stays "
                    "linear, so that dot products of two towers can be negative (and no unit dies there).")
    if torch.allclose(plus + minus, 2 * zero, atol=1e-5):
        _fail(name, "the tower is a linear (affine) function of its input: put a ReLU after each hidden layer.")
    outputs.sum().backward()
    silent = [key for key, p in tower.named_parameters() if p.grad is None]
    if silent:
        _fail(name, f"no gradient reaches {silent}: every layer should take part in forward.")
    print(f"{name}: all checks passed (shapes, layers, ReLUs, linear output, He initialization).")


def _check_initialization(name: str, big: object) -> None:
    from torch import nn

    for linear in [m for m in big.modules() if isinstance(m, nn.Linear)]:
        std, target = float(linear.weight.detach().std()), (2.0 / linear.in_features) ** 0.5
        if abs(std - 1.0) < 0.1:
            _fail(name, "the weights have standard deviation 1 (nn.init.normal_ with its defaults): far too "
                        "large; this is the initialization that makes a narrow two-tower model collapse. "
                        "Use He initialization, std = sqrt(2 / fan_in).")
        if not 0.85 * target < std < 1.15 * target:
            _fail(name, f"a 512->512 layer's weights have standard deviation {std:.4f}; He initialization gives "
                        f"sqrt(2 / 512) = {target:.4f} (nn.init.kaiming_normal_ with nonlinearity='relu', "
                        "or normal_ with that std). PyTorch's default is smaller.")
        if linear.bias is not None and float(linear.bias.detach().abs().max()) > 1e-6:
            _fail(name, "the biases should start at zero (nn.init.zeros_).")


# ---------------------------------------------------- the in-batch softmax loss
def _reference_loss(users: Any, items: Any, log_q: Any, temperature: float) -> float:
    logits = users @ items.T / temperature - log_q[None, :]
    shifted = logits - logits.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(shifted).sum(1)) - np.diag(shifted)))


def check_in_batch_softmax_loss(loss_function: Callable[..., Any]) -> None:
    """Check a student's ``in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature)``."""
    import torch

    name = "in_batch_softmax_loss"
    rng = np.random.default_rng(7)
    users = rng.normal(size=(6, 4)).astype(np.float32)
    items = rng.normal(size=(6, 4)).astype(np.float32)
    log_q = np.log(rng.dirichlet(np.ones(6) * 0.5)).astype(np.float32)
    temperature = 0.5
    user_tensor, item_tensor = torch.tensor(users, requires_grad=True), torch.tensor(items, requires_grad=True)
    inputs = "6 user vectors and 6 item vectors of size 4, log_q of 6 items, temperature=0.5"
    value = _call(name, loss_function, user_tensor, item_tensor, torch.tensor(log_q), temperature, inputs=inputs)
    _expect_tensor(name, value, None, inputs, scalar=True, label="the loss")
    if not value.requires_grad:
        _fail(name, "the loss carries no gradient: compute it with torch operations on the vectors (no .item(), "
                    "NumPy or .detach() on the way), or the towers cannot learn from it.")
    value.backward()
    if user_tensor.grad is None or item_tensor.grad is None:
        _fail(name, "the gradient does not reach both the user and the item vectors.")
    got = float(value.detach())
    expected = _reference_loss(users, items, log_q, temperature)
    if np.isclose(got, expected, atol=1e-4):
        print(f"{name}: all checks passed (loss {got:.4f}).")
        return
    candidates = {
        "no_correction": _reference_loss(users, items, np.zeros_like(log_q), temperature),
        "added": _reference_loss(users, items, -log_q, temperature),
        "no_temperature": _reference_loss(users, items, log_q, 1.0),
        "times_temperature": _reference_loss(users, items, log_q, 1.0 / temperature),
        "sum": 6 * expected,
        "transposed": _reference_loss(items, users, log_q, temperature),
        "transposed_after": _reference_loss(items, users, np.zeros_like(log_q), temperature),
    }
    hints = {
        "no_correction": "it looks like the log-popularity correction is missing, or subtracted along the wrong "
                         "axis (log_q[:, None] shifts each row by a constant, which a softmax ignores): it belongs "
                         "to the items, the columns: logits - log_q[None, :].",
        "added": "the correction has the wrong sign: popular items are over-sampled as negatives, so their logits "
                 "are lowered by log_q (logits - log_q), not raised.",
        "no_temperature": "the temperature is ignored: divide the dot products by it.",
        "times_temperature": "the dot products are multiplied by the temperature: divide by it.",
        "sum": "you summed the losses of the batch: take their mean.",
        "transposed": "the softmax runs over the wrong axis: each row (a user) is a softmax over the items of the "
                      "batch (the columns), with its positive on the diagonal.",
    }
    hints["transposed_after"] = hints["transposed"]
    for key, candidate in candidates.items():
        if np.isfinite(candidate) and np.isclose(got, candidate, atol=1e-4):
            _fail(name, hints[key])
    _fail(name, f"on a test batch the loss should be {expected:.4f}, you returned {got:.4f}. Row u of the "
                "logits scores user u against every item of the batch: the dot product divided by the "
                "temperature, minus the item's log q; the label of row u is its own item, u.")
