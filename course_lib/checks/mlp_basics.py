"""Checks for the exercises of notebook 01 (MLP basics and neural collaborative filtering).

The checks import torch inside the functions, so importing ``course_lib.checks`` stays light.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.checks._common import _call, _fail

__all__ = ["check_training_loop", "check_neumf_network", "check_negative_sampler"]


# ------------------------------------------------------------------ the training loop (Part A)
def _loop_setup(seed: int = 0) -> tuple[Any, Any, Any, Any]:
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(64, 4, generator=generator)
    labels = (features[:, 0] + features[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features, labels), batch_size=16, shuffle=False)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5)


def _reference_epoch(model: Any, loader: Any, loss_fn: Any, optimizer: Any, zero_grad: bool = True) -> float:
    model.train()
    losses = []
    for inputs, targets in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def _parameters(model: Any) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def check_training_loop(train_one_epoch: Callable[..., float]) -> None:
    """Check ``train_one_epoch(model, loader, loss_fn, optimizer) -> mean batch loss`` (PyTorch)."""
    name = "train_one_epoch"
    model, loader, loss_fn, optimizer = _loop_setup()
    before = _parameters(model)
    got = _call(name, train_one_epoch, model, loader, loss_fn, optimizer)
    after = _parameters(model)
    reference = _loop_setup()
    expected = _reference_epoch(*reference)
    no_reset = _loop_setup()
    _reference_epoch(*no_reset, zero_grad=False)
    if np.allclose(before, after):
        _fail(name, "the weights did not change. Each batch needs loss.backward() (gradients) and "
                    "optimizer.step() (the update).")
    if not np.allclose(after, _parameters(reference[0]), atol=1e-6):
        if np.allclose(after, _parameters(no_reset[0]), atol=1e-6):
            _fail(name, "the gradients add up from batch to batch: call optimizer.zero_grad() before each "
                        "backward pass.")
        _fail(name, "after one epoch the weights differ from the reference loop: for every batch, reset the "
                    "gradients, compute the loss of model(inputs) against the targets, backward, step.")
    try:
        value = float(got)
    except (TypeError, ValueError):
        _fail(name, f"it should return the mean batch loss as a float, got {got!r} (type {type(got).__name__}). "
                    "Use loss.item() to get a number out of a tensor.")
    if np.isclose(value, expected * len(loader)):
        _fail(name, f"you returned {value:.4f}, the sum of the batch losses; return their mean.")
    if not np.isclose(value, expected, rtol=1e-5):
        _fail(name, f"you returned {value:.4f}; the mean of the batch losses of this epoch is {expected:.4f}. "
                    "Collect loss.item() of every batch and average them.")
    print(f"{name}: the weights and the returned loss match the reference loop.")


# ------------------------------------------------------------------ the NeuMF network
def check_neumf_network(network_class: type) -> None:
    """Check a student's ``NeuMFNet(n_users, n_items, embedding_dim, hidden_dims)`` (PyTorch): its
    weights must load into the reference ``course_lib.torch.mlp.NeuMFNet`` and give the same logits."""
    import torch

    from course_lib.torch.mlp import NeuMFNet

    name = "NeuMFNet"
    n_users, n_items, dim, hidden = 7, 11, 6, (8, 4)
    try:
        torch.manual_seed(0)
        student = network_class(n_users, n_items, dim, hidden)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001
        _fail(name, f"NeuMFNet(n_users=7, n_items=11, embedding_dim=6, hidden_dims=(8, 4)) raised "
                    f"{type(error).__name__}: {error}")
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
    with torch.no_grad():
        for p in list(student.parameters()):
            p.mul_(40.0)  # bigger weights: every mistake shows in the logits
        reference.load_state_dict({k: student.state_dict()[k] for k in expected_keys})
        student.eval()
        reference.eval()
        got = _call(name, student, users, items)
        expected = reference(users, items)
    got = torch.as_tensor(got)
    if tuple(got.shape) == (5, 1):
        _fail(name, "forward returns shape (B, 1); squeeze the last axis to return one logit per pair, shape (B,).")
    if tuple(got.shape) != (5,):
        _fail(name, f"forward returned shape {tuple(got.shape)} for 5 (user, item) pairs; expected (5,).")
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
    print(f"{name}: same weights, same logits as the reference NeuMF.")


# ------------------------------------------------------------------ the negative sampler
def _sampler_matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(7)
    dense = rng.random((40, 30)) < 0.3
    dense[0] = False
    dense[0, :2] = True  # user 0 has seen items 0 and 1 only
    dense[1] = True
    dense[1, 29] = False  # user 1 has one unseen item: 29
    return sp.csr_matrix(dense.astype(np.float32))


def check_negative_sampler(sample_negatives: Callable[..., np.ndarray]) -> None:
    """Check ``sample_negatives(positives_csr, user_ids, n_negatives, rng) -> (len(user_ids), n_negatives)``."""
    name = "sample_negatives"
    matrix = _sampler_matrix()
    user_ids = np.repeat(np.arange(40), 50)
    started = time.perf_counter()
    got = _call(name, sample_negatives, matrix, user_ids, 3, np.random.default_rng(0))
    seconds = time.perf_counter() - started
    got = np.asarray(got)
    if got.shape == (len(user_ids) * 3,):
        _fail(name, f"it returned a flat array of {got.size} items; return one row per user id and one column "
                    f"per negative: shape (len(user_ids), n_negatives) = ({len(user_ids)}, 3).")
    if got.shape == (len(user_ids),) or got.shape == (len(user_ids), 1):
        _fail(name, "it returned one negative per user id: draw n_negatives of them.")
    if got.shape != (len(user_ids), 3):
        _fail(name, f"it returned shape {got.shape}; expected (len(user_ids), n_negatives) = ({len(user_ids)}, 3).")
    if got.dtype.kind not in "iu":
        _fail(name, f"it returned dtype {got.dtype}; item ids are integers.")
    if got.min() < 0 or got.max() >= matrix.shape[1]:
        _fail(name, f"it returned item ids from {got.min()} to {got.max()}; the items are 0 to {matrix.shape[1] - 1}.")
    seen = np.asarray(matrix[np.repeat(user_ids, 3), got.ravel()]).ravel() > 0
    if seen.any():
        _fail(name, f"{seen.mean():.0%} of the negatives are items the user interacted with (positives). Test the "
                    "draws against the user's row and redraw the ones that are positives.")
    if not np.all(got[user_ids == 1] == 29):
        _fail(name, "user 1 has a single unseen item (29): every negative of user 1 must be 29.")
    counts = np.bincount(got[user_ids == 0].ravel(), minlength=30)[2:]  # 28 unseen items, 150 draws
    if (counts == 0).sum() > 12 or counts.max() > 30:
        _fail(name, "the negatives of user 0 are far from uniform over the 28 items they have not seen: "
                    "draw uniformly among the unseen items.")
    again = np.asarray(_call(name, sample_negatives, matrix, user_ids, 3, np.random.default_rng(1)))
    if np.array_equal(again, got):
        _fail(name, "two different generators gave the same negatives: draw with the `rng` you are given.")
    if seconds > 5:
        _fail(name, f"it took {seconds:.1f} s for 6,000 draws: vectorize (draw all candidates at once, test them "
                    "with one array operation) rather than looping in Python.")
    print(f"{name}: right shape, no positives, uniform over unseen items ({seconds * 1000:.0f} ms).")
