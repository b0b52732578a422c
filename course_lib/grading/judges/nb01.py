"""Notebook 01's hidden tests, judged in the grader: the training loop, the negative sampler, NeuMF's network."""

from __future__ import annotations

import numpy as np

from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_shape
from course_lib.grading.probes.nb01 import (
    DROPOUT_MASK_SEED,
    EDGE_ITEMS,
    EDGE_UNSEEN,
    EDGE_USERS,
    LINEAR_EPOCHS,
    NEUMF_CASES,
    SAMPLER_STEP,
    edge_matrix,
    loop_loader,
    sampler_data,
    train_dropout,
    train_linear,
    weight_key,
)

# --------------------------------------------------------------------------- train_one_epoch

_LINEAR = (f"train_one_epoch on nn.Linear(4, 3), a DataLoader of 75 examples in batches of 16, CrossEntropyLoss "
           f"and SGD(lr=0.1), {LINEAR_EPOCHS} epochs")
_DROPOUT = ("train_one_epoch on a network with nn.Dropout(0.5) handed over in evaluation mode (model.eval()), "
            "one epoch")


def _reference_loop():
    from course_lib.checks._references import _train_one_epoch

    values, weights = train_linear(_train_one_epoch)
    _, _, dropout_weights = train_dropout(_train_one_epoch)
    return np.array(values, dtype=np.float64), weights, dropout_weights


def _training_loop(outputs, context):
    losses = expect_shape(outputs["losses"], (LINEAR_EPOCHS,), f"the values returned by {_LINEAR}")
    expect(np.isfinite(losses).all(), f"{_LINEAR}: it returned {np.round(losses, 4).tolist()}, not one finite "
                                      "number per epoch (return the mean batch loss as a float)")
    expect(losses[-1] < losses[0], f"{_LINEAR}: the loss of the last epoch ({losses[-1]:.4f}) is not below the "
                                   f"first's ({losses[0]:.4f}): the model does not learn")
    expect(bool(outputs["dropout_is_float"]) and bool(outputs["losses_are_float"]),
           f"{_DROPOUT}: it returned a {outputs['dropout_type']}; return the mean batch loss as a Python float "
           "(loss.item() gives the number of a one-element tensor)")
    expect(np.isfinite(float(outputs["dropout_value"])), f"{_DROPOUT}: it returned {float(outputs['dropout_value'])}, "
                                                        "not a finite number")
    expect(bool(outputs["dropout_training"]), f"{_DROPOUT}: the network was left in evaluation mode; switch it to "
                                              "training mode (model.train()) at the start of the epoch")
    reference_losses, reference_weights, reference_dropout = _reference_loop()
    expect_close(outputs["weights"], reference_weights, f"{_LINEAR}: the weights after the last epoch", rtol=1e-4,
                 atol=1e-5)
    if np.allclose(losses, reference_losses * len(loop_loader()), rtol=1e-4):
        raise Failed(f"{_LINEAR}: the values returned are the sums of the batch losses of each epoch; return their "
                     "mean")
    expect_close(losses, reference_losses, f"{_LINEAR}: the value returned (the mean of the epoch's batch losses)",
                 rtol=1e-4, atol=1e-6, describe=lambda i: f"epoch {i + 1}")
    expect_close(outputs["dropout_weights"], reference_dropout,
                 f"{_DROPOUT} (torch.manual_seed({DROPOUT_MASK_SEED}) before it): the weights after the epoch; was "
                 "the network in training mode (dropout on) for every batch?", rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- sample_negatives

def _negatives(outputs, key: str, matrix, users: np.ndarray, n_negatives: int, what: str) -> np.ndarray:
    draws = expect_shape(outputs[key], (len(users), n_negatives), what)
    expect(np.issubdtype(draws.dtype, np.integer), f"{what}: the item ids are of type {draws.dtype}, expected "
                                                   "integers (usable as indices)")
    n_items = matrix.shape[1]
    expect(draws.min() >= 0 and draws.max() < n_items,
           f"{what}: item ids from {draws.min()} to {draws.max()}, outside 0 .. n_items - 1 = {n_items - 1}")
    dense = matrix.toarray() > 0
    seen = dense[np.repeat(users, n_negatives), draws.ravel()]
    if seen.any():
        if not dense[np.tile(users, n_negatives), draws.ravel()].any():
            raise Failed(f"{what}: row k of the result does not belong to user_ids[k] (the negatives avoid the "
                         "positives of other users): repeat each user id n_negatives times (np.repeat), not the "
                         "whole list (np.tile)")
        raise Failed(f"{what}: {seen.mean():.1%} of the negatives are items the user interacted with")
    return draws


def _sampler(outputs, context):
    matrix = sampler_data()
    n_users = matrix.shape[0]
    every = np.arange(n_users)
    _negatives(outputs, "draws", matrix, every[::SAMPLER_STEP], 4,
               f"sample_negatives(a {n_users} x {matrix.shape[1]} training matrix, every third user, 4, "
               "np.random.default_rng(3))")
    what = f"sample_negatives(the same matrix, all {n_users} users, 2, np.random.default_rng(8))"
    first = _negatives(outputs, "first", matrix, every, 2, what)
    second = np.asarray(outputs["second"])
    expect(second.shape == first.shape and np.array_equal(first, second),
           f"{what}, called twice with other seeds of np.random in between: the two results differ; draw from "
           "the rng argument only (not np.random, random or torch)")
    other = _negatives(outputs, "other", matrix, every, 2, what.replace("default_rng(8)", "default_rng(9)"))
    expect(not np.array_equal(first, other), f"{what}: np.random.default_rng(9) gave the same negatives as "
                                             "default_rng(8); draw them from the rng argument")
    edge = _negatives(outputs, "edge", edge_matrix(), EDGE_USERS, 2,
                      f"sample_negatives(a 3 x {EDGE_ITEMS} matrix, {len(EDGE_USERS)} user ids, 2, "
                      "np.random.default_rng(5))")
    user_one = edge[EDGE_USERS == 1].ravel()
    missing = sorted(set(EDGE_UNSEEN) - set(user_one.tolist()))
    expect(not missing, f"user 1 of a 3 x {EDGE_ITEMS} matrix has seen every item but {list(EDGE_UNSEEN)}; in "
                        f"{user_one.size} draws item(s) {missing} never came back: every item from 0 to n_items - 1 "
                        "must be reachable (rng.integers(low, high) excludes high)")
    for user, unseen in ((0, EDGE_ITEMS - 2), (2, EDGE_ITEMS)):
        draws = edge[EDGE_USERS == user].ravel()
        counts = np.bincount(draws, minlength=EDGE_ITEMS)[EDGE_ITEMS - unseen:]
        mean = draws.size / unseen
        expect(counts.min() > 0.5 * mean and counts.max() < 1.5 * mean,
               f"user {user} of a 3 x {EDGE_ITEMS} matrix has {unseen} unseen items; in {draws.size} draws they came "
               f"back between {counts.min()} and {counts.max()} times each: the negatives are not uniform over the "
               "unseen items")


# --------------------------------------------------------------------------- NeuMFNet

def _neumf(outputs, context):
    import torch

    from course_lib.torch.mlp import NeuMFNet

    for case, (n_users, n_items, dim, hidden, users, items) in enumerate(NEUMF_CASES):
        what = f"NeuMFNet({n_users}, {n_items}, {dim}, {hidden}) on users {users} and items {items}"
        logits = np.asarray(outputs[f"c{case}_logits"])
        expect(logits.shape != (len(users), 1), f"{what}: forward returns shape {logits.shape}; squeeze the last "
                                                "axis to return one logit per pair")
        expect_shape(logits, (len(users),), f"{what}: forward's output")
        tables = int(outputs[f"c{case}_embeddings"])
        expect(tables == 4, f"{what}: {tables} nn.Embedding table(s); NeuMF has four (gmf_user, gmf_item, "
                            "mlp_user, mlp_item)")
        names = str(outputs[f"c{case}_names"]).split(",")
        backward = str(outputs[f"c{case}_backward"])
        expect(not backward, f"{what}: forward(...).sum().backward() raised {backward}: compute the logits with "
                             "torch operations on the layers (no torch.no_grad(), .detach() or NumPy in forward)")
        norms = np.asarray(outputs[f"c{case}_grad_norms"], dtype=np.float64)
        silent = [name for name, norm in zip(names, norms, strict=True) if np.isnan(norm)]
        expect(not silent, f"{what}: after forward(...).sum().backward() no gradient reached {silent}: every "
                           "table and layer takes part in forward")
        reference = NeuMFNet(n_users, n_items, dim, hidden)
        wanted = dict(reference.named_parameters())
        missing = sorted(set(wanted) - set(names))
        expect(not missing, f"{what}: the weights {missing} are missing; use the attribute names of the exercise: "
                            "gmf_user, gmf_item, mlp_user, mlp_item, layers (an nn.ModuleList of nn.Linear), output")
        with torch.no_grad():
            for name, parameter in wanted.items():
                given = np.asarray(outputs[weight_key(case, name)])
                expect(given.shape == tuple(parameter.shape),
                       f"{what}: {name} has shape {given.shape}, not the shape NeuMF's architecture gives it (the "
                       "MLP tower starts from the concatenated embeddings, the output layer takes [GMF, last layer])")
                parameter.copy_(torch.as_tensor(given))
        reference.train()
        expected = reference(torch.tensor(users), torch.tensor(items))
        plain = expected.detach().double().numpy()
        if not np.allclose(logits, plain, rtol=1e-4, atol=1e-4):
            if np.allclose(logits, 1 / (1 + np.exp(-plain)), rtol=1e-4, atol=1e-5):
                raise Failed(f"{what}: forward applies a sigmoid; return the logit (BCEWithLogitsLoss applies the "
                             "sigmoid itself)")
            raise Failed(f"{what}: with its own weights the network's logits differ from NeuMF's: GMF is the "
                         "element-wise product of gmf_user and gmf_item, MLP the concatenation of mlp_user and "
                         "mlp_item through Linear + ReLU layers, the output one linear layer on [GMF, MLP]")
        expected.sum().backward()
        reference_norms = np.array([float(wanted[name].grad.double().norm()) for name in names if name in wanted])
        given_norms = np.array([norm for name, norm in zip(names, norms, strict=True) if name in wanted])
        expect_close(given_norms, reference_norms, f"{what}: the gradient norms of the weights after "
                     "forward(...).sum().backward()", rtol=1e-4, atol=1e-6,
                     describe=lambda i, names=[n for n in names if n in wanted]: f"the gradient of {names[i]}")


JUDGES = {
    "nb01_train_one_epoch_tests": Judge(_training_loop),
    "nb01_sample_negatives_tests": Judge(_sampler),
    "nb01_neumf_network_tests": Judge(_neumf),
}
