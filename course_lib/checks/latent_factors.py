"""Checks for the exercises of notebook 06 (latent factor models): the network and the training loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks._common import _fail
from course_lib.data.interactions import Interactions

__all__ = ["check_latent_factor_net", "check_rmse_training"]


def _build(name: str, factory: Callable, *args: Any) -> Any:
    try:
        return factory(*args)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        _fail(name, f"creating it with {args!r} raised {type(error).__name__}: {error}")
    return None


def _forward(name: str, network: Any, users: Any, items: Any) -> Any:
    try:
        return network(users, items)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001
        _fail(name, f"network(user_ids, item_ids) raised {type(error).__name__}: {error}")
    return None


def check_latent_factor_net(network_class: type) -> None:
    """Check ``network_class(n_users, n_items, embedding_dim, global_mean)``: an ``nn.Module`` whose
    ``forward(user_ids, item_ids)`` returns ``mu + b_u + b_i + p_u . q_i`` of shape (B,)."""
    import torch

    name = "latent factor network"
    n_users, n_items, dim, mean = 7, 5, 3, 3.5
    torch.manual_seed(0)
    network = _build(name, network_class, n_users, n_items, dim, mean)
    if not isinstance(network, torch.nn.Module):
        _fail(name, f"it should be a torch.nn.Module, got {type(network).__name__}: subclass nn.Module and call "
                    "super().__init__() first.")
    n_parameters = sum(p.numel() for p in network.parameters())
    factors, biases = (n_users + n_items) * dim, n_users + n_items
    if n_parameters == factors:
        _fail(name, "it has the user and item factors but no biases: add one learned bias per user and per item "
                    "(an nn.Embedding(n, 1) each).")
    if n_parameters == biases:
        _fail(name, "it has biases but no latent factors: add nn.Embedding(n_users, embedding_dim) and "
                    "nn.Embedding(n_items, embedding_dim).")
    if n_parameters == factors + biases + 1:
        _fail(name, "the global mean is a learned parameter: keep it fixed (a plain float attribute or a buffer).")
    if n_parameters != factors + biases:
        _fail(name, f"it has {n_parameters} learned numbers; with {n_users} users, {n_items} items and "
                    f"embedding_dim={dim} expect (users + items) x (embedding_dim + 1) = {factors + biases}.")
    users, items = torch.tensor([0, 1, 6, 3]), torch.tensor([0, 4, 2, 2])
    output = _forward(name, network, users, items)
    shape = tuple(output.shape)
    if shape == (4, 1):
        _fail(name, "it returns shape (B, 1); return one number per pair, shape (B,): squeeze the bias columns.")
    if shape == (4, dim):
        _fail(name, f"it returns shape {shape}: sum the product of the user and item factors over the last "
                    "dimension to get a dot product.")
    if shape != (4,):
        _fail(name, f"for 4 (user, item) pairs it returns shape {shape}; expected (4,).")
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        zeroed = _forward(name, network, users, items)
    if torch.allclose(zeroed, torch.zeros(4)):
        _fail(name, "with all parameters at 0 it predicts 0: add the global mean, so that an untrained model "
                    "predicts the average rating.")
    if not torch.allclose(zeroed, torch.full((4,), mean)):
        _fail(name, f"with all parameters at 0 it should predict the global mean {mean}, got {zeroed.tolist()}.")
    _check_fits_a_biased_rank_one_model(name, network, n_users, n_items, mean)
    print(f"{name}: all checks passed.")


def _check_fits_a_biased_rank_one_model(name: str, network: Any, n_users: int, n_items: int, mean: float) -> None:
    import torch

    rng = np.random.default_rng(0)
    u, v = rng.normal(size=n_users), rng.normal(size=n_items)
    user_bias, item_bias = rng.normal(scale=0.5, size=n_users), rng.normal(scale=0.5, size=n_items)
    ratings = mean + user_bias[:, None] + item_bias[None, :] + np.outer(u, v)  # every pair
    users = torch.as_tensor(np.repeat(np.arange(n_users), n_items))
    items = torch.as_tensor(np.tile(np.arange(n_items), n_users))
    target = torch.as_tensor(ratings.ravel(), dtype=torch.float32)
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(std=0.1)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        loss = ((network(users, items) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    if loss.item() ** 0.5 > 0.1:
        _fail(name, f"trained on ratings made of a global mean, biases and a dot product, it still has an RMSE of "
                    f"{loss.item() ** 0.5:.3f}: check that the prediction is mu + b_u + b_i + p_u . q_i, with "
                    "the user's rows looked up by user_ids and the item's by item_ids.")


def _tiny_ratings(seed: int) -> tuple[Interactions, Interactions]:
    rng = np.random.default_rng(seed)
    n_users, n_items = 40, 30
    u, v = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    users = np.repeat(np.arange(n_users), n_items)
    items = np.tile(np.arange(n_items), n_users)
    ratings = np.clip(3.5 + (u @ v.T).ravel() + rng.normal(scale=0.3, size=len(users)), 1, 5)
    test = rng.random(len(users)) < 0.2
    data = Interactions(users=users, items=items, ratings=ratings, n_users=n_users, n_items=n_items)
    return data.subset(~test), data.subset(test)


def check_rmse_training(train_function: Callable) -> None:
    """Check ``train_function(network, train, test, epochs, learning_rate, batch_size, weight_decay)``:
    minibatch training of a rating network that returns ``{"train_rmse": [...], "test_rmse": [...]}``,
    one value per epoch, each the RMSE on the whole set after that epoch."""
    import torch

    from course_lib.torch.latent_factor import LatentFactorNet

    name = "training loop"
    train, test = _tiny_ratings(0)
    torch.manual_seed(0)
    network = LatentFactorNet(train.n_users, train.n_items, float(train.ratings.mean()), 4, 0.1)
    epochs = 6

    def rmse_of(part: Interactions) -> float:
        with torch.no_grad():
            predictions = network(torch.as_tensor(np.array(part.users)), torch.as_tensor(np.array(part.items))).numpy()
        return float(np.sqrt(np.mean((predictions - part.ratings) ** 2)))

    before = rmse_of(train)
    args = (network, train, test, epochs, 0.05, 64, 0.0)
    try:
        history = train_function(*args)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001
        _fail(name, f"calling it on a small rating set raised {type(error).__name__}: {error}")
    if not isinstance(history, dict) or not {"train_rmse", "test_rmse"} <= set(history):
        _fail(name, f"it should return a dict with the lists 'train_rmse' and 'test_rmse', got {history!r:.200}.")
    for key in ("train_rmse", "test_rmse"):
        values = np.asarray([float(v) for v in history[key]])
        if len(values) != epochs:
            _fail(name, f"history['{key}'] has {len(values)} values for {epochs} epochs: append one per epoch.")
        if not np.all(np.isfinite(values)):
            _fail(name, f"history['{key}'] holds NaN or infinite values: {values.tolist()}.")
    after_train, after_test = rmse_of(train), rmse_of(test)
    if after_train > 0.9 * before:
        _fail(name, f"the training RMSE went from {before:.3f} to only {after_train:.3f}: is the optimizer built "
                    "on network.parameters(), and do you call zero_grad(), backward() and step() on each batch?")
    last_train, last_test = float(history["train_rmse"][-1]), float(history["test_rmse"][-1])
    if np.isclose(last_test, after_test**2, atol=1e-3) or np.isclose(last_train, after_train**2, atol=1e-3):
        _fail(name, "the history holds the mean squared error: take its square root to report the RMSE.")
    if not np.isclose(last_test, after_test, atol=1e-3):
        _fail(name, f"the last history['test_rmse'] is {last_test:.4f} but the trained network's RMSE on the test "
                    f"set is {after_test:.4f}: after each epoch, predict the whole test set (under torch.no_grad()) "
                    "and take the RMSE.")
    if not np.isclose(last_train, after_train, atol=1e-3):
        _fail(name, f"the last history['train_rmse'] is {last_train:.4f} but the trained network's RMSE on the "
                    f"training set is {after_train:.4f}: measure it after the epoch, on the whole training set "
                    "(a running mean of the batch losses lags behind the model).")
    print(f"{name}: all checks passed.")
