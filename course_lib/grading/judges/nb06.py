"""Notebook 06's hidden tests, judged in the grader: the latent factor network and its training loop."""

from __future__ import annotations

import numpy as np

from course_lib.grading.judges import Failed, Judge, expect, expect_close
from course_lib.grading.probes.nb06 import (
    BIG,
    EPOCH_CASE,
    FORMULA_SEED,
    SMALL,
    SMALL_CASE,
    SMALL_ITEMS,
    SMALL_RATINGS,
    SMALL_USERS,
)

# --------------------------------------------------------------------------- LatentFactorNet

_SMALL = f"LatentFactorNet{SMALL}"
_BIG = f"LatentFactorNet{BIG}"
_PAIRS = f"user_ids={SMALL_USERS}, item_ids={SMALL_ITEMS}"


def table_shapes(n_users: int, n_items: int, dim: int) -> list[tuple[int, int]]:
    """The four tables, sorted by shape: both bias columns and both factor tables."""
    return sorted([(n_users, dim), (n_items, dim), (n_users, 1), (n_items, 1)])


def _tables_message(network: str, got) -> str:
    return (f"the learned tables of a fresh {network} have shapes {list(np.asarray(got).tolist())}: expect one "
            "factor table (n, embedding_dim) and one bias column (n, 1) for the users and for the items, nothing "
            "else learned (the global mean stays fixed)")


def _formula(shapes: list[tuple[int, int]]) -> np.ndarray:
    """mu + b_u + b_i + p_u . q_i with every table drawn as the probe draws it (sorted by shape)."""
    import torch

    n_users, n_items, dim, mean = SMALL
    generator = torch.Generator().manual_seed(FORMULA_SEED)
    tables = {shape: torch.randn(shape, generator=generator).double().numpy() for shape in shapes}
    users, items = np.array(SMALL_USERS), np.array(SMALL_ITEMS)
    return (mean + tables[(n_users, 1)][users, 0] + tables[(n_items, 1)][items, 0]
            + (tables[(n_users, dim)][users] * tables[(n_items, dim)][items]).sum(axis=1))


def _latent_factor_net(outputs, context):
    n_users, n_items, dim, _ = SMALL
    shape = tuple(int(n) for n in np.asarray(outputs["out_shape"]).ravel())
    if shape == (3, 1):
        raise Failed(f"{_SMALL} on {_PAIRS} returned shape (3, 1): return one number per pair, shape (B,) "
                     "(squeeze the bias columns)")
    expect(shape == (3,), f"{_SMALL} on {_PAIRS} returned shape {shape}: expect one prediction per pair, shape (B,)")
    small = table_shapes(n_users, n_items, dim)
    got_small = [str(s) for s in np.asarray(outputs["shapes"]).ravel().tolist()]
    expect(int(outputs["n_parameters"]) == (n_users + n_items) * (dim + 1) and got_small == [str(s) for s in small],
           _tables_message(_SMALL, got_small))
    big_users, big_items, big_dim, _ = BIG
    big = table_shapes(big_users, big_items, big_dim)
    got_big = [str(s) for s in np.asarray(outputs["big_shapes"]).ravel().tolist()]
    expect(got_big == [str(s) for s in big], _tables_message(_BIG, got_big))
    std, absmax = np.asarray(outputs["big_std"], dtype=np.float64), np.asarray(outputs["big_absmax"], dtype=np.float64)
    biases = [i for i, s in enumerate(big) if s[1] == 1]
    factors = [i for i, s in enumerate(big) if s[1] == big_dim]
    expect(all(absmax[i] == 0.0 for i in biases),
           f"the biases of a fresh {_BIG} are not all 0: start them at zero (nn.init.zeros_), so that an "
           "untrained network predicts the global mean")
    for i in factors:
        expect(0.09 < std[i] < 0.11,
               f"the factor table {big[i]} of a fresh {_BIG} has standard deviation {std[i]:.4f}: the exercise "
               "asks for nn.init.normal_(weight, std=0.1)")
    expect(bool(outputs["out_requires_grad"]),
           f"{_SMALL}'s prediction carries no gradient: compute it with torch operations on the tables (no "
           "torch.no_grad(), .detach() or NumPy in forward)")
    expect_close(outputs["formula"], _formula(small),
                 f"{_SMALL} with seeded values in every table, on {_PAIRS}: the prediction mu + b_u + b_i + p_u . q_i",
                 rtol=1e-5, atol=1e-5,
                 describe=lambda i: f"user {SMALL_USERS[i]}, item {SMALL_ITEMS[i]}")


# --------------------------------------------------------------------------- train_rating_network

def _case(case) -> str:
    epochs, learning_rate, batch_size, weight_decay = case
    return (f"epochs={epochs}, learning_rate={learning_rate}, batch_size={batch_size:,}, "
            f"weight_decay={weight_decay}")


_EPOCH = f"train_rating_network on 80,000 ratings of a synthetic data set ({_case(EPOCH_CASE)})"
_SMALL_RUN = f"train_rating_network on {SMALL_RATINGS} ratings, a batch larger than the data set ({_case(SMALL_CASE)})"


def _histories(outputs, prefix: str, epochs: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    expect(bool(outputs[f"{prefix}readable"]),
           f"{what}: it should return a dict with the lists 'train_rmse' and 'test_rmse'")
    key = prefix or "epoch_"
    lists = []
    for name in ("train", "test"):
        values = np.asarray(outputs[f"{key}{name}"], dtype=np.float64).ravel()
        expect(len(values) == epochs, f"{what}: history['{name}_rmse'] has {len(values)} value(s) for {epochs} "
                                      "epoch(s): append one per epoch")
        expect(np.isfinite(values).all(), f"{what}: history['{name}_rmse'] holds NaN, infinite or non-numeric "
                                          f"values ({values.tolist()})")
        lists.append(values)
    return lists[0], lists[1]


def _rmse_training(outputs, context):
    epochs = EPOCH_CASE[0]
    train_values, test_values = _histories(outputs, "", epochs, _EPOCH)
    after_train, after_test = float(outputs["after_train"]), float(outputs["after_test"])
    before = float(outputs["before_train"])
    expect(after_train < before and test_values[0] < 1.3,
           f"{_EPOCH}: the network did not learn (its training RMSE went from {before:.4f} to {after_train:.4f}, "
           f"history['test_rmse'] is {test_values[0]:.4f}): is the loss the mean squared error of the batch's "
           "predictions, minimized with loss.backward() and optimizer.step() after optimizer.zero_grad()?")
    last_train, last_test = train_values[-1], test_values[-1]
    if np.isclose(last_train, after_train ** 2, atol=1e-3) or np.isclose(last_test, after_test ** 2, atol=1e-3):
        raise Failed(f"{_EPOCH}: the history holds the mean squared error: take its square root to report the RMSE")
    if np.isclose(last_train, after_test, atol=1e-3) and np.isclose(last_test, after_train, atol=1e-3):
        raise Failed(f"{_EPOCH}: the two lists are swapped: 'train_rmse' is measured on train, 'test_rmse' on test")
    expect(np.isclose(last_test, after_test, atol=1e-3),
           f"{_EPOCH}: history['test_rmse'] holds {last_test:.4f}, which is not the RMSE of the trained network on the "
           "whole test set: after each epoch predict the whole test set (under torch.no_grad()) and take the RMSE")
    expect(np.isclose(last_train, after_train, atol=1e-3),
           f"{_EPOCH}: history['train_rmse'] holds {last_train:.4f}, which is not the RMSE of the trained network on "
           "the whole training set after the epoch (a running mean of the batch losses lags behind the model)")
    _histories(outputs, "small_", SMALL_CASE[0], _SMALL_RUN)
    expect(float(outputs["small_change"]) > 0,
           f"{_SMALL_RUN}: the network's weights did not change: the last batch, shorter than batch_size (here the "
           "only one), must be trained on too")


JUDGES = {
    "nb06_latent_factor_net_tests": Judge(_latent_factor_net),
    "nb06_rmse_training_tests": Judge(_rmse_training),
}
