"""Notebook 04's hidden tests, judged in the grader: the MLP tower and the in-batch softmax loss."""

from __future__ import annotations

import numpy as np

from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_shape
from course_lib.grading.probes.nb04 import (
    BIG_TEMPERATURE,
    INIT_CASE,
    SMALL_TEMPERATURE,
    TOWER_CASES,
    loss_gradients,
    loss_inputs,
    tower_inputs,
)

# --------------------------------------------------------------------------- Tower


def _reference_tower(weights, biases, inputs, relu_last: bool = False, relu_hidden: bool = True):
    """The tower's forward pass on the student's own weights (float64), with the gradients of its sum."""
    import torch

    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    biases = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in biases]
    hidden = inputs.double()
    for index, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
        hidden = hidden @ weight.T + bias
        last = index == len(weights) - 1
        if (relu_hidden and not last) or (relu_last and last):
            hidden = torch.relu(hidden)
    hidden.sum().backward()
    return (hidden.detach().numpy(), np.array([float(w.grad.norm()) for w in weights]),
            np.array([float(b.grad.norm()) for b in biases]))


def _tower_case(outputs, case: int) -> None:
    input_dim, hidden, output_dim, batch = TOWER_CASES[case]
    what = f"Tower({input_dim}, {hidden}, {output_dim})"
    chain = [input_dim, *hidden, output_dim]
    widths = [tuple(map(int, pair)) for pair in np.asarray(outputs[f"c{case}_widths"]).reshape(-1, 2)]
    expect(widths == list(zip(chain[:-1], chain[1:], strict=True)),
           f"{what}: its nn.Linear layers map {widths} (in the order they were registered); the tower chains "
           "input_dim, the hidden widths and output_dim, one nn.Linear each (kept in an nn.ModuleList or "
           "nn.Sequential)")
    count = int(outputs[f"c{case}_parameters"])
    expect(count == sum(a * b + b for a, b in widths), f"{what} has {count} parameters, not those of its nn.Linear "
                                                       "layers alone (a weight matrix and a bias each, no other "
                                                       "weights)")
    output = expect_shape(outputs[f"c{case}_output"], (batch, output_dim), f"{what} on a ({batch}, {input_dim}) batch")
    weights = [np.asarray(outputs[f"c{case}_weight_{i}"]) for i in range(len(widths))]
    biases = [np.asarray(outputs[f"c{case}_bias_{i}"]) for i in range(len(widths))]
    inputs = tower_inputs(case)
    expected, weight_norms, bias_norms = _reference_tower(weights, biases, inputs)
    if not np.allclose(output, expected, rtol=1e-4, atol=1e-5):
        if np.allclose(output, _reference_tower(weights, biases, inputs, relu_last=True)[0], rtol=1e-4, atol=1e-5):
            raise Failed(f"{what}: the output passes through a ReLU; the output layer stays linear, so that dot "
                         "products of two towers can be negative")
        if hidden and np.allclose(output, _reference_tower(weights, biases, inputs, relu_hidden=False)[0], rtol=1e-4,
                                  atol=1e-5):
            raise Failed(f"{what}: the tower is a linear (affine) function of its input: put a ReLU after each "
                         "hidden layer")
        expect_close(output, expected, f"{what}: with its own weights, the outputs on a seeded ({batch}, {input_dim}) "
                     "batch (Linear + ReLU per hidden width, then a linear output layer)", rtol=1e-4, atol=1e-5,
                     describe=lambda i: f"row {i // output_dim}, column {i % output_dim}")
    backward = str(outputs[f"c{case}_backward"])
    expect(not backward, f"{what}: forward(...).sum().backward() raised {backward}")
    for part, norms in (("weight", weight_norms), ("bias", bias_norms)):
        given = np.asarray(outputs[f"c{case}_{part}_grad_norms"], dtype=np.float64)
        silent = [index for index, value in enumerate(given) if np.isnan(value)]
        expect(not silent, f"{what}: after forward(...).sum().backward() no gradient reaches the {part} of layer(s) "
                           f"{silent}: every layer takes part in forward")
        expect_close(given, norms, f"{what}: the gradient norms of the layers' {part}s after forward(...).sum()"
                     ".backward()", rtol=1e-3, atol=1e-5, describe=lambda i, part=part: f"the {part} of layer {i}")


def _initialization(outputs) -> None:
    what = f"Tower{INIT_CASE}"
    fan_in = np.asarray(outputs["init_fan_in"])
    stds = np.asarray(outputs["init_std"], dtype=np.float64)
    expect(len(fan_in) == len(INIT_CASE[1]) + 1 and len(stds) == len(fan_in), f"{what}: {len(fan_in)} nn.Linear layers")
    for index, (fan, std) in enumerate(zip(fan_in, stds, strict=True)):
        target = (2.0 / float(fan)) ** 0.5
        expect(0.85 * target < std < 1.15 * target,
               f"{what}: the weights of layer {index} have standard deviation {std:.4f}, not He initialization's, "
               "sqrt(2 / fan_in) (nn.init.kaiming_normal_ with nonlinearity='relu')")
    biases = np.asarray(outputs["init_bias"], dtype=np.float64)
    expect((biases <= 1e-6).all(), f"{what}: the biases do not start at zero (largest: {biases.max():.4g}); use "
                                   "nn.init.zeros_")


def _tower(outputs, context):
    for case in range(len(TOWER_CASES)):
        _tower_case(outputs, case)
    _initialization(outputs)


# --------------------------------------------------------------------------- in_batch_softmax_loss

_SMALL = (f"in_batch_softmax_loss(9 user and 9 item vectors of size 4, log_q of 9 items, "
          f"temperature={SMALL_TEMPERATURE})")
_BIG = (f"in_batch_softmax_loss(256 user and 256 item vectors of size 16, log_q of 256 items, "
        f"temperature={BIG_TEMPERATURE})")


def _in_batch(outputs, context):
    import torch

    from course_lib.torch.two_tower import in_batch_softmax_loss

    users, items, log_q, big_users, big_items, big_log_q = loss_inputs()
    with torch.no_grad():
        small = float(in_batch_softmax_loss(users, items, log_q, SMALL_TEMPERATURE))
        big = float(in_batch_softmax_loss(big_users, big_items, big_log_q, BIG_TEMPERATURE))
    got = float(outputs["small"])
    expect(np.isfinite(got), f"{_SMALL} returned {got}, not one finite number")
    if not np.isclose(got, small, rtol=1e-4, atol=1e-5):
        with torch.no_grad():
            wrong = {
                "the log-popularity correction is missing, or subtracted along the wrong axis (it belongs to the "
                "items, the columns: logits - log_q[None, :])": in_batch_softmax_loss(users, items, None,
                                                                                      SMALL_TEMPERATURE),
                "the correction has the wrong sign: logits - log_q, not + log_q": in_batch_softmax_loss(
                    users, items, -log_q, SMALL_TEMPERATURE),
                "the temperature is ignored: divide the dot products by it": in_batch_softmax_loss(users, items, log_q,
                                                                                                   1.0),
                "the dot products are multiplied by the temperature: divide by it": in_batch_softmax_loss(
                    users, items, log_q, 1 / SMALL_TEMPERATURE),
                "the losses of the batch are summed: take their mean": 9 * in_batch_softmax_loss(
                    users, items, log_q, SMALL_TEMPERATURE),
                "the softmax runs over the users: each row (a user) is a softmax over the items of the batch": (
                    in_batch_softmax_loss(items, users, log_q, SMALL_TEMPERATURE)),
            }
        for hint, value in wrong.items():
            if np.isclose(got, float(value), rtol=1e-4, atol=1e-5):
                raise Failed(f"{_SMALL}: {hint}")
        expect_close(got, small, _SMALL, rtol=1e-4, atol=1e-5, describe=lambda i: "the grader's seeded batch")
    expect_close(outputs["big"], big, _BIG, rtol=1e-4, atol=1e-5, describe=lambda i: "the grader's seeded batch")
    expect_close(outputs["one"], 0.0, "in_batch_softmax_loss(1 user and 1 item vector of size 4, log_q of 1 item, "
                 f"temperature={SMALL_TEMPERATURE}): a batch of one, its own item the only one", rtol=0, atol=1e-6,
                 describe=lambda i: "a batch of one")
    backward = str(outputs["backward"])
    expect(not backward, f"{_SMALL}: backward() on the loss raised {backward}; compute it with torch operations (no "
                         ".item(), NumPy or .detach())")
    _, user_gradient, item_gradient, _ = loss_gradients(in_batch_softmax_loss, users, items, log_q, SMALL_TEMPERATURE)
    for key, name, expected in (("user_gradient", "user", user_gradient), ("item_gradient", "item", item_gradient)):
        given = np.asarray(outputs[key])
        expect(given.shape == expected.shape and not np.isnan(given).any(),
               f"{_SMALL}: no gradient reaches the {name} vectors")
        expect_close(given, expected, f"{_SMALL}: the gradient of the loss with respect to the {name} vectors",
                     rtol=1e-4, atol=1e-6)


JUDGES = {
    "nb04_tower_tests": Judge(_tower),
    "nb04_in_batch_softmax_tests": Judge(_in_batch),
}
