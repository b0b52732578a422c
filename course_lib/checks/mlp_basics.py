"""Checks for the exercises of notebook 01 (MLP basics and neural collaborative filtering).

The checks import torch inside the functions, so importing ``course_lib.checks`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.checks._common import (
    _call,
    _check_rng_use,
    _check_speed,
    _expect_array,
    _expect_tensor,
    _fail,
)
from course_lib.checks._references import _train_one_epoch as _reference_epoch

__all__ = ["check_training_loop", "check_neumf_network", "check_negative_sampler"]


# ------------------------------------------------------------------ the training loop (Part A)
def _loop_setup(seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """A small classification problem on which a loop whose gradients pile up ends far from the reference."""
    import torch
    from torch import nn

    from course_lib.checks._training_spy import SpyNetwork

    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(70, 4, generator=generator)  # 70 = 4 batches of 16 and one of 6
    labels = (features[:, 0] + features[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features, labels), batch_size=16, shuffle=False)
    torch.manual_seed(seed)
    model = SpyNetwork(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    model.eval()  # handed over in evaluation mode, as after an evaluation: the loop must switch back
    return model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5)


def _parameters(model: Any) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def check_training_loop(train_one_epoch: Callable[..., float]) -> None:
    """Check ``train_one_epoch(model, loader, loss_fn, optimizer) -> mean batch loss`` (PyTorch).

    In order: the model is switched to training mode, called once per batch of the loader, each
    batch gets one backward pass, one step and one reset of the gradients before it, the weights
    end where the reference loop puts them, and the mean batch loss comes back as a float."""
    from course_lib.checks._training_spy import TrainingSpy

    name = "train_one_epoch"
    model, loader, loss_fn, optimizer = _loop_setup()
    before = _parameters(model)
    inputs = "a model in eval mode, a DataLoader of 70 examples in batches of 16, CrossEntropyLoss and SGD"
    with TrainingSpy(model) as spy:
        got = _call(name, train_one_epoch, model, loader, loss_fn, optimizer, inputs=inputs)
    after = _parameters(model)
    batch_sizes = [len(targets) for _, targets in loader]
    forwards = [event for event in spy.events if event[0] == "forward"]
    if not forwards:
        _fail(name, "the model was never called: compute model(inputs) for every batch of the loader.")
    if not all(event[2] for event in forwards):
        _fail(name, "the model was in evaluation mode while it trained (the check hands it over after "
                    "model.eval(), as after an evaluation): switch it to training mode (its train() method) before the "
                    "loop, so that layers "
                    "such as dropout behave as in training.")
    if spy.count("backward") == 0:
        _fail(name, "no gradient was computed: call loss.backward() on each batch's loss.")
    if spy.count("step") == 0:
        _fail(name, "the weights did not change: after loss.backward(), optimizer.step() applies the update.")
    trained = [event[1] for event in spy.training_forwards()]
    if trained != batch_sizes:
        _fail(name, f"the model trained on batches of sizes {trained}; the loader has {len(batch_sizes)} batches "
                    f"of sizes {batch_sizes}. One forward pass, backward pass and step per batch, over every batch "
                    "of the loader.")
    step_hint = spy.step_problem(len(batch_sizes), "once per epoch")
    if step_hint:
        _fail(name, step_hint)
    if np.allclose(before, after):
        _fail(name, "the weights did not change: is the optimizer's step taken after loss.backward()?")
    reference = _loop_setup()
    expected = _reference_epoch(*reference)
    if not np.allclose(after, _parameters(reference[0]), atol=1e-6):
        _fail(name, "after one epoch the weights differ from the reference loop: for every batch, reset the "
                    "gradients, compute the loss of model(inputs) against the targets, backward, step.")
    if hasattr(got, "detach") or (isinstance(got, np.ndarray) and got.ndim > 0):
        _fail(name, f"it returned a {type(got).__name__}; return the mean batch loss as a Python float "
                    "(loss.item() gives the number of a one-element tensor).")
    try:
        value = float(got)
    except (TypeError, ValueError):
        _fail(name, f"it should return the mean batch loss as a float, got {got!r:.80} (type {type(got).__name__}).")
    if np.isclose(value, expected * len(loader), rtol=1e-3):
        _fail(name, f"you returned {value:.4f}, the sum of the batch losses; return their mean.")
    if not np.isclose(value, expected, rtol=1e-5):
        _fail(name, f"you returned {value:.4f}; the mean of the batch losses of this epoch is {expected:.4f}. "
                    "Collect loss.item() of every batch and average them.")
    print(f"{name}: training mode, one reset, backward and step per batch, the reference's weights and mean loss.")


# ------------------------------------------------------------------ the NeuMF network
def check_neumf_network(network_class: type) -> None:
    """Check a student's ``NeuMFNet(n_users, n_items, embedding_dim, hidden_dims)`` (PyTorch): its
    weights must load into the reference ``course_lib.torch.mlp.NeuMFNet`` and give the same logits."""
    import torch

    from course_lib.torch.mlp import NeuMFNet

    name = "NeuMFNet"
    n_users, n_items, dim, hidden = 7, 11, 6, (8, 4)
    torch.manual_seed(0)
    student = _call(name, network_class, n_users, n_items, dim, hidden, what="NeuMFNet(...)",
                    inputs="n_users=7, n_items=11, embedding_dim=6, hidden_dims=(8, 4)")
    if not isinstance(student, torch.nn.Module):
        _fail(name, f"it should be a torch.nn.Module, got {type(student).__name__}.")
    reference = NeuMFNet(n_users, n_items, dim, hidden)
    own, expected_keys = student.state_dict(), reference.state_dict()
    embeddings = [m for m in student.modules() if isinstance(m, torch.nn.Embedding)]
    if len(embeddings) < 4:
        _fail(name, f"it has {len(embeddings)} embedding table(s). NeuMF gives the GMF branch and the MLP branch "
                    "their own user and item embeddings: four tables (gmf_user, gmf_item, mlp_user, mlp_item).")
    missing = sorted(set(expected_keys) - set(own))
    if missing:
        _fail(name, f"the weights {missing} are missing. Use the attribute names of the exercise: gmf_user, "
                    "gmf_item, mlp_user, mlp_item, layers (an nn.ModuleList of nn.Linear) and output.")
    output_in = own["output.weight"].shape[1]
    if output_in != dim + hidden[-1]:
        _fail(name, f"the output layer takes {output_in} inputs; it should take the GMF vector (embedding_dim = "
                    f"{dim}) concatenated with the last MLP layer ({hidden[-1]}): {dim + hidden[-1]}.")
    try:
        reference.load_state_dict({k: own[k] for k in expected_keys})
    except RuntimeError as error:
        _fail(name, f"its weights have other shapes than the reference: {str(error).splitlines()[-1].strip()}. "
                    "The MLP tower starts from the concatenated embeddings (2 * embedding_dim).")
    users, items = torch.tensor([0, 3, 6, 2, 5]), torch.tensor([1, 10, 4, 4, 0])
    inputs = f"users={users.tolist()}, items={items.tolist()}"
    student.train()
    trained_output = _call(name, student, users, items, inputs=inputs, what="forward")
    _expect_tensor(name, trained_output, None, inputs, label="forward's output")
    if tuple(trained_output.shape) == (5, 1):
        _fail(name, "forward returns shape (B, 1); squeeze the last axis to return one logit per pair, shape (B,).")
    if tuple(trained_output.shape) != (5,):
        _fail(name, f"forward returned shape {tuple(trained_output.shape)} for 5 (user, item) pairs; expected (5,).")
    if not trained_output.requires_grad:
        _fail(name, "the output carries no gradient: compute it with torch operations on the layers (no "
                    "torch.no_grad(), .detach() or NumPy in forward).")
    trained_output.sum().backward()
    silent = [key for key, p in student.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    if silent:
        _fail(name, f"no gradient reaches {silent}: every table and layer should take part in forward.")
    with torch.no_grad():
        for p in list(student.parameters()):
            p.mul_(40.0)  # bigger weights: every mistake shows in the logits
        reference.load_state_dict({k: student.state_dict()[k] for k in expected_keys})
        student.eval()
        reference.eval()
        got = _call(name, student, users, items, inputs=inputs, what="forward")
        expected = reference(users, items)
    if torch.allclose(got, torch.sigmoid(expected), atol=1e-5):
        _fail(name, "forward applies a sigmoid. Return the logit: BCEWithLogitsLoss applies the sigmoid itself, "
                    "more stably, and ranking needs no sigmoid.")
    if not torch.allclose(got, expected, atol=1e-4):
        with torch.no_grad():
            mlp = torch.cat([reference.mlp_user(users), reference.mlp_item(items)], -1)
            for layer in reference.layers:
                mlp = layer(mlp)
            linear_tower = reference.output(torch.cat([reference.gmf_user(users) * reference.gmf_item(items), mlp], -1))
        if torch.allclose(got, linear_tower.squeeze(-1), atol=1e-4):
            _fail(name, "the MLP tower has no non-linearity: apply a ReLU after each hidden layer.")
        _fail(name, "with the same weights your logits differ from the reference. GMF: the element-wise product "
                    "of gmf_user and gmf_item; MLP: the concatenation of mlp_user and mlp_item through the ReLU "
                    "layers; output: one linear layer on [GMF, MLP] concatenated.")
    print(f"{name}: four tables, gradients reach every weight, same weights give the reference's logits.")


# ------------------------------------------------------------------ the negative sampler
def _sampler_matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(7)
    dense = rng.random((40, 30)) < 0.3
    dense[0] = False
    dense[0, :2] = True  # user 0 has seen items 0 and 1 only
    dense[1] = True
    dense[1, 29] = False  # user 1 has one unseen item: 29, the last one
    return sp.csr_matrix(dense.astype(np.float32))


def _large_case() -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(11)
    dense = rng.random((2000, 3000)) < 0.03
    return sp.csr_matrix(dense.astype(np.float32)), rng.integers(0, 2000, size=50_000)


def _vectorized_negatives(matrix: sp.csr_matrix, user_ids: np.ndarray, n_negatives: int,
                          rng: np.random.Generator) -> np.ndarray:
    """What the exercise asks for, to time the student's code against (not shown to students)."""
    rows = np.repeat(user_ids, n_negatives)
    draws = rng.integers(0, matrix.shape[1], size=rows.size)
    redo = np.arange(rows.size)
    while redo.size:
        hit = np.asarray(matrix[rows[redo], draws[redo]]).ravel() > 0
        redo = redo[hit]
        draws[redo] = rng.integers(0, matrix.shape[1], size=redo.size)
    return draws.reshape(-1, n_negatives)


_LAST_ITEM_HINT = ("User 1 of the test matrix has a single item it has not seen, item 29, the last one: can your "
                   "draws produce every item id from 0 to n_items - 1 (rng.integers excludes its upper bound)?")


def check_negative_sampler(sample_negatives: Callable[..., np.ndarray]) -> None:
    """Check ``sample_negatives(positives_csr, user_ids, n_negatives, rng) -> (len(user_ids), n_negatives)``.

    In order: a result at all, its type, shape, dtype and range; no positive among the negatives,
    each row for its own user; every item reachable; uniform over the unseen items; randomness
    from ``rng`` only; and about as fast as a vectorized version on a large input."""
    name = "sample_negatives"
    matrix = _sampler_matrix()
    user_ids = np.repeat(np.arange(40), 50)
    inputs = "a 40 x 30 CSR matrix, 2,000 user ids, n_negatives=3"
    got = _call(name, sample_negatives, matrix, user_ids, 3, np.random.default_rng(0), inputs=inputs,
                timeout_hint=_LAST_ITEM_HINT)
    if type(got).__module__.startswith("numpy") and np.asarray(got).shape == (len(user_ids) * 3,):
        _fail(name, f"it returned a flat array of {np.asarray(got).size} items; return one row per user id and one "
                    f"column per negative: shape (len(user_ids), n_negatives) = ({len(user_ids)}, 3).")
    if np.asarray(got).shape in ((len(user_ids),), (len(user_ids), 1)):
        _fail(name, "it returned one negative per user id: draw n_negatives of them.")
    got = _expect_array(name, got, (len(user_ids), 3), inputs, kind="i", label="the array of negatives")
    if got.min() < 0 or got.max() >= matrix.shape[1]:
        _fail(name, f"it returned item ids from {got.min()} to {got.max()}; the items are 0 to {matrix.shape[1] - 1}.")
    dense = matrix.toarray() > 0
    seen = dense[np.repeat(user_ids, 3), got.ravel()]
    if seen.any():
        tiled = dense[np.tile(user_ids, 3), got.ravel()]
        if not tiled.any():
            _fail(name, "row k does not belong to user_ids[k]: the negatives avoid the positives of other users. "
                        "Repeat each user id n_negatives times in a row (np.repeat), not the whole list (np.tile), "
                        "before reshaping.")
        _fail(name, f"{seen.mean():.0%} of the negatives are items the user interacted with (positives). Test the "
                    "draws against the user's row and redraw the ones that are positives.")
    if not np.all(got[user_ids == 1] == 29):
        _fail(name, "user 1 has a single unseen item (29): every negative of user 1 must be 29.")
    counts = np.bincount(got[user_ids == 0].ravel(), minlength=30)[2:]  # 28 unseen items, 150 draws
    if counts[-1] == 0 and counts[:-1].min() > 0:
        _fail(name, "the last item (29) is never drawn for user 0: draw from 0 to n_items - 1 inclusive "
                    "(rng.integers(low, high) excludes high).")
    if (counts == 0).sum() > 12 or counts.max() > 30:
        _fail(name, "the negatives of user 0 are far from uniform over the 28 items they have not seen: "
                    "draw uniformly among the unseen items.")

    def run(seed: int) -> np.ndarray:
        return np.asarray(_call(name, sample_negatives, matrix, user_ids[:300], 3, np.random.default_rng(seed),
                                inputs=inputs.replace("2,000", "300")))

    _check_rng_use(name, run, np.array_equal, globals_named="np.random, random")
    big, big_users = _large_case()
    seconds = _check_speed(
        name, lambda: sample_negatives(big, big_users, 5, np.random.default_rng(0)),
        lambda: _vectorized_negatives(big, big_users, 5, np.random.default_rng(0)),
        "a 2,000 x 3,000 matrix with 50,000 user ids and n_negatives=5", ratio=15.0, floor=0.3,
        hint="Avoid the Python loop over users or draws: draw all candidates at once, test them with one array "
             "operation, redraw only the rejected ones.")
    large = np.asarray(_call(name, sample_negatives, big, big_users[:2000], 5, np.random.default_rng(3),
                             inputs="a 2,000 x 3,000 matrix, 2,000 user ids, n_negatives=5"))
    if large.shape != (2000, 5) or (big.toarray() > 0)[np.repeat(big_users[:2000], 5), large.ravel()].any():
        _fail(name, "on a larger matrix (2,000 x 3,000) some negatives are positives or the shape is wrong.")
    print(f"{name}: right shape, no positives, every item reachable, uniform, draws from rng only "
          f"({seconds * 1000:.0f} ms for 250,000 draws).")
