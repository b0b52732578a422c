"""Notebook 04's graded exercises, sandbox side: the MLP tower and the in-batch softmax loss.

The inputs are the grader's: seeded input batches for the towers (whose weights are the student's
own initialization, recorded so that the judge recomputes the forward pass on them), and the seeded
tensors of the former hidden test for the loss.
"""

from __future__ import annotations

import numpy as np

from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy
from course_lib.grading.probes._rng import kept_global_states, torch_seeded

# --------------------------------------------------------------------------- Tower

# (input_dim, hidden_dims, output_dim, batch) of the hidden tests, and the visible check's shape
TOWER_CASES = ((10, (32,), 3, 7), (10, (), 3, 5), (8, (16, 16, 16), 2, 4), (6, (16, 8), 4, 64))
INIT_CASE = (512, (512,), 512)


def tower_inputs(case: int):
    """The seeded input batch of tower case ``case``."""
    import torch

    input_dim, _, _, batch = TOWER_CASES[case]
    return torch.randn(batch, input_dim, generator=torch.Generator().manual_seed(500 + case)) * 2


def _linears(tower):
    from torch import nn

    return [m for m in tower.modules() if isinstance(m, nn.Linear)]


def _tower(namespace, inputs):
    tower_class = namespace["Tower"]
    outputs = {}
    for case, (input_dim, hidden, output_dim, _) in enumerate(TOWER_CASES):
        with torch_seeded(400 + case):
            tower = tower_class(input_dim, hidden, output_dim)
        outputs[f"c{case}_parameters"] = sum(p.numel() for p in tower.parameters())
        linears = _linears(tower)
        outputs[f"c{case}_widths"] = np.array([(m.in_features, m.out_features) for m in linears],
                                              dtype=np.int64).reshape(-1, 2)
        for index, linear in enumerate(linears):
            outputs[f"c{case}_weight_{index}"] = to_numpy(linear.weight).astype(np.float64)
            outputs[f"c{case}_bias_{index}"] = (np.zeros(linear.out_features) if linear.bias is None
                                                else to_numpy(linear.bias).astype(np.float64))
        with kept_global_states():
            result = tower(tower_inputs(case))
        outputs[f"c{case}_output"] = to_numpy(result).astype(np.float64)
        outputs[f"c{case}_backward"] = ""
        try:
            result.sum().backward()
        except (RuntimeError, AttributeError, TypeError) as error:
            outputs[f"c{case}_backward"] = f"{type(error).__name__}: {error}"[:300]
        for part in ("weight", "bias"):   # the gradient norms of every layer's weights and biases (NaN: none)
            tensors = [getattr(linear, part) for linear in linears]
            outputs[f"c{case}_{part}_grad_norms"] = np.array(
                [np.nan if t is None or t.grad is None else float(t.grad.detach().double().norm()) for t in tensors])
    with torch_seeded(450):
        big = tower_class(*INIT_CASE)
    linears = _linears(big)
    outputs["init_fan_in"] = np.array([m.in_features for m in linears], dtype=np.int64)
    outputs["init_std"] = np.array([float(m.weight.detach().double().std()) for m in linears])
    outputs["init_bias"] = np.array([0.0 if m.bias is None else float(m.bias.detach().abs().max()) for m in linears])
    return outputs


# --------------------------------------------------------------------------- in_batch_softmax_loss

SMALL_TEMPERATURE, BIG_TEMPERATURE = 0.2, 0.05


def loss_inputs():
    """The former hidden test's tensors, in its order: users, items (9, 4) and log q (9,), then users,
    items (256, 16) and log q (256,)."""
    import torch

    generator = torch.Generator().manual_seed(5)
    users = torch.randn(9, 4, generator=generator)
    items = torch.randn(9, 4, generator=generator)
    log_q = torch.log(torch.rand(9, generator=generator) / 9)
    big_users = torch.randn(256, 16, generator=generator)
    big_items = torch.randn(256, 16, generator=generator)
    big_log_q = torch.log(torch.rand(256, generator=generator) / 256)
    return users, items, log_q, big_users, big_items, big_log_q


def loss_gradients(loss, users, items, log_q, temperature) -> tuple[float, np.ndarray, np.ndarray, str]:
    """``loss`` on vectors that track their gradient: the value, the gradients of the user and of the item
    vectors (NaN where none arrives), and the backward pass's error ('' when none)."""
    users, items = users.detach().clone().requires_grad_(), items.detach().clone().requires_grad_()
    value = loss(users, items, log_q.clone(), temperature)
    error_text = ""
    try:
        value.backward()
    except (RuntimeError, AttributeError, TypeError) as error:
        error_text = f"{type(error).__name__}: {error}"[:300]
    gradients = [np.full(tuple(t.shape), np.nan) if t.grad is None else to_numpy(t.grad).astype(np.float64)
                 for t in (users, items)]
    return number(value), gradients[0], gradients[1], error_text


def _in_batch(namespace, inputs):
    loss = namespace["in_batch_softmax_loss"]
    users, items, log_q, big_users, big_items, big_log_q = loss_inputs()
    outputs = {}
    with kept_global_states():
        outputs["small"] = number(loss(users.clone(), items.clone(), log_q.clone(), SMALL_TEMPERATURE))
        outputs["big"] = number(loss(big_users, big_items, big_log_q, BIG_TEMPERATURE))
        outputs["one"] = number(loss(users[:1].clone(), items[:1].clone(), log_q[:1].clone(), SMALL_TEMPERATURE))
        (_, outputs["user_gradient"], outputs["item_gradient"],
         outputs["backward"]) = loss_gradients(loss, users, items, log_q, SMALL_TEMPERATURE)
    return outputs


PROBES = {
    "nb04_tower_tests": Probe(("Tower",), _tower, seconds=20,
                              visible=lambda ns, inputs: checks.check_tower(ns["Tower"])),
    "nb04_in_batch_softmax_tests": Probe(("in_batch_softmax_loss",), _in_batch, seconds=20,
                                         visible=lambda ns, inputs: checks.check_in_batch_softmax_loss(
                                             ns["in_batch_softmax_loss"])),
}
