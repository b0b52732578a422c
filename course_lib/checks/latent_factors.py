"""Checks for the exercises of notebook 06 (latent factor models): the network and the training loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks._common import _call, _expect_tensor, _fail, _quiet
from course_lib.data.interactions import Interactions

__all__ = ["check_latent_factor_net", "check_rmse_training"]


def _build(name: str, factory: Callable, *args: Any) -> Any:
    return _call(name, factory, *args, what=f"{getattr(factory, '__name__', 'the class')}(...)",
                 inputs=f"(n_users, n_items, embedding_dim, global_mean) = {args!r}")


def _forward(name: str, network: Any, users: Any, items: Any) -> Any:
    return _call(name, network, users, items, what="forward",
                 inputs=f"user_ids={users.tolist()}, item_ids={items.tolist()}")


def _check_initialization(name: str, network_class: type) -> None:
    """The initialization the exercise asks for, read from a fresh network before anything changes it."""
    import torch

    torch.manual_seed(3)
    network = _build(name, network_class, 400, 300, 16, 3.5)
    tables = {tuple(p.shape): p.detach() for p in network.parameters()}
    factors = [tables.get((400, 16)), tables.get((300, 16))]
    biases = [tables.get((400, 1)), tables.get((300, 1))]
    if any(t is None for t in factors) or any(t is None for t in biases):
        return  # the parameter count below names what is missing
    for table in biases:
        if float(table.abs().max()) > 1e-8:
            _fail(name, "the biases should start at 0 (nn.init.zeros_): before training, every user and item is "
                        "average, and the prediction is the global mean.")
    for table in factors:
        std = float(table.std())
        if abs(std - 1.0) < 0.1:
            _fail(name, "the factors start with standard deviation 1 (nn.Embedding's default): start them small, "
                        "nn.init.normal_(weight, std=0.1), so that the first predictions stay near the mean.")
        if not 0.08 < std < 0.12 or abs(float(table.mean())) > 0.02:
            _fail(name, f"the factors start with mean {float(table.mean()):.3f} and standard deviation {std:.3f}; "
                        "the exercise asks for nn.init.normal_(weight, std=0.1) (mean 0).")


def check_latent_factor_net(network_class: type) -> None:
    """Check ``network_class(n_users, n_items, embedding_dim, global_mean)``: an ``nn.Module`` whose
    ``forward(user_ids, item_ids)`` returns ``mu + b_u + b_i + p_u . q_i`` of shape (B,)."""
    import torch

    name = "LatentFactorNet"
    n_users, n_items, dim, mean = 7, 5, 3, 3.5
    torch.manual_seed(0)
    network = _build(name, network_class, n_users, n_items, dim, mean)
    if not isinstance(network, torch.nn.Module):
        _fail(name, f"it should be a torch.nn.Module, got {type(network).__name__}: subclass nn.Module and call "
                    "super().__init__() first.")
    users, items = torch.tensor([0, 1, 6, 3]), torch.tensor([0, 4, 2, 2])
    output = _forward(name, network, users, items)
    _expect_tensor(name, output, None, "4 (user, item) pairs", label="forward's output")
    shape = tuple(output.shape)
    if shape == (4, 1):
        _fail(name, "it returns shape (B, 1); return one number per pair, shape (B,): squeeze the bias columns.")
    if shape == (4, dim):
        _fail(name, f"it returns shape {shape}: sum the product of the user and item factors over the last "
                    "dimension to get a dot product.")
    if shape != (4,):
        _fail(name, f"for 4 (user, item) pairs it returns shape {shape}; expected (4,).")
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
    _check_initialization(name, network_class)
    if not output.requires_grad:
        _fail(name, "the prediction carries no gradient: compute it with torch operations on the tables (no "
                    "torch.no_grad(), .detach() or NumPy in forward).")
    output.sum().backward()
    silent = [key for key, p in network.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    if silent:
        _fail(name, f"no gradient reaches {silent}: the prediction should use every table.")
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

    def fit() -> Any:
        for _ in range(400):
            optimizer.zero_grad()
            loss = ((network(users, items) - target) ** 2).mean()
            loss.backward()
            optimizer.step()
        return loss

    loss = _call(name, fit, what="training it on a small problem", inputs="all 35 pairs, 400 Adam steps")
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


def _train_with_spy(name: str, train_function: Callable, seed: int, epochs: int, batch_size: int) -> tuple:
    """Train the reference network, wrapped in a spy and handed over in eval mode, with every global
    generator seeded with ``seed``; returns (network, spy, history, train, test)."""
    import torch

    from course_lib.checks._common import _seed_globals
    from course_lib.checks._training_spy import SpyNetwork, TrainingSpy
    from course_lib.torch.latent_factor import LatentFactorNet

    train, test = _tiny_ratings(0)
    torch.manual_seed(0)
    network = SpyNetwork(LatentFactorNet(train.n_users, train.n_items, float(train.ratings.mean()), 4, 0.1))
    network.eval()  # as after an evaluation: the loop must switch to training mode itself
    _seed_globals(seed)
    inputs = (f"a network in eval mode, {len(train.ratings)} training and {len(test.ratings)} test ratings, "
              f"epochs={epochs}, learning_rate=0.05, batch_size={batch_size}, weight_decay=0")
    with TrainingSpy(network) as spy:
        history = _call(name, train_function, network, train, test, epochs, 0.05, batch_size, 0.0, inputs=inputs)
    return network, spy, history, train, test


def _epoch_orders(spy: Any, n_items: int, n_batches: int) -> list[list[int]]:
    """The (user, item) keys of the training batches, one list per epoch."""
    forwards = spy.training_forwards()
    epochs = []
    for start in range(0, len(forwards), n_batches):
        keys: list[int] = []
        for event in forwards[start:start + n_batches]:
            users, items = event[4][0], event[4][1]
            keys.extend(int(u) * n_items + int(i) for u, i in zip(users, items, strict=True))
        epochs.append(keys)
    return epochs


def check_rmse_training(train_function: Callable) -> None:
    """Check ``train_function(network, train, test, epochs, learning_rate, batch_size, weight_decay)``:
    minibatch training of a rating network that returns ``{"train_rmse": [...], "test_rmse": [...]}``,
    one value per epoch, each the RMSE on the whole set after that epoch.

    In order: a history dict with one finite value per epoch; training mode; the number and size of
    the batches; one reset of the gradients per step; every rating once per epoch, in a new order
    every epoch, the same order under the same seed and another under another seed; the RMSE falls;
    the history holds the RMSE of the whole sets after each epoch."""
    import torch

    name = "train_rating_network"
    epochs, batch_size = 6, 64
    network, spy, history, train, test = _train_with_spy(name, train_function, 0, epochs, batch_size)
    if not isinstance(history, dict) or not {"train_rmse", "test_rmse"} <= set(history):
        _fail(name, f"it should return a dict with the lists 'train_rmse' and 'test_rmse', got {history!r:.200}.")
    for key in ("train_rmse", "test_rmse"):
        try:
            values = np.asarray([float(v) for v in history[key]])
        except (TypeError, ValueError, RuntimeError):
            _fail(name, f"history['{key}'] should be a list of numbers (use .item() on a one-element tensor), got "
                        f"{history[key]!r:.120}.")
        if len(values) != epochs:
            _fail(name, f"history['{key}'] has {len(values)} values for {epochs} epochs: append one per epoch.")
        if not np.all(np.isfinite(values)):
            _fail(name, f"history['{key}'] holds NaN or infinite values: {values.tolist()}.")
    trained = spy.training_forwards()
    if not trained or spy.count("step") == 0:
        _fail(name, "the network did not train: for each batch compute the loss, call loss.backward() and "
                    "optimizer.step().")
    if not all(event[2] for event in trained):
        _fail(name, "the network was in evaluation mode while it trained (the check hands it over after "
                    "network.eval(), as after an evaluation): call network.train() before the updates, so that "
                    "layers such as dropout behave as in training.")
    n_ratings = len(train.ratings)
    n_batches = -(-n_ratings // batch_size)
    expected_sizes = [batch_size] * (n_ratings // batch_size) + ([n_ratings % batch_size] if n_ratings % batch_size
                                                                 else [])
    sizes = [event[1] for event in trained]
    if len(sizes) != epochs * n_batches or sizes[:n_batches] != expected_sizes:
        first = sizes[:min(len(sizes), n_batches + 2)]
        _fail(name, f"with {n_ratings} training ratings, batch_size={batch_size} and {epochs} epochs, expect "
                    f"{n_batches} batches per epoch ({len(expected_sizes) - 1} of {batch_size} and one of "
                    f"{expected_sizes[-1]}), {epochs * n_batches} in all; the network trained on {len(sizes)} "
                    f"batches, the first of sizes {first}. Cut the shuffled ratings into consecutive slices of "
                    "batch_size, the last one shorter, and take one step per slice.")
    step_hint = spy.step_problem(epochs * n_batches, "once, before the loop")
    if step_hint:
        _fail(name, step_hint)
    all_keys = sorted(int(u) * train.n_items + int(i) for u, i in zip(train.users, train.items, strict=True))
    data_order = [int(u) * train.n_items + int(i) for u, i in zip(train.users, train.items, strict=True)]
    orders = _epoch_orders(spy, train.n_items, n_batches)
    for epoch, order in enumerate(orders):
        if sorted(order) != all_keys:
            _fail(name, f"in epoch {epoch + 1} some training ratings were used more than once and others never: "
                        "shuffle with a permutation of all ratings (torch.randperm), not with draws with "
                        "replacement, and go through all of it.")
    if orders[0] == data_order:
        _fail(name, "the ratings come in the order of the data set: shuffle them at the start of each epoch "
                    "(torch.randperm(n)), so that the batches differ from epoch to epoch.")
    if all(order == orders[0] for order in orders[1:]):
        _fail(name, "every epoch sees the ratings in the same order: draw a new permutation at the start of "
                    "each epoch, not once before the loop.")
    same_seed = _epoch_orders(_train_with_spy(name, train_function, 0, 1, batch_size)[1], train.n_items, n_batches)
    if same_seed[0] != orders[0]:
        _fail(name, "with the same seed the ratings came in another order: draw the permutation from the seeded "
                    "generators (torch.randperm, or the NumPy generator), not from an unseeded source.")
    other_seed = _epoch_orders(_train_with_spy(name, train_function, 1, 1, batch_size)[1], train.n_items, n_batches)
    if other_seed[0] == orders[0]:
        _fail(name, "with another seed the ratings came in the same order: the shuffle does not depend on the "
                    "seed (a generator with a fixed seed of its own?). Use torch.randperm.")
    grad_evaluations = [event for event in spy.events if event[0] == "forward" and event[3]
                        and event[1] in (len(test.ratings), n_ratings) and event not in trained]
    if grad_evaluations:
        _fail(name, "the RMSE after each epoch is computed with gradients on: predict the whole sets under "
                    "torch.no_grad(), which saves the memory of a graph that no backward pass will use.")
    inner = network.inner

    def rmse_of(part: Interactions) -> float:
        with torch.no_grad(), _quiet():
            predictions = inner(torch.as_tensor(np.array(part.users)), torch.as_tensor(np.array(part.items))).numpy()
        return float(np.sqrt(np.mean((predictions - part.ratings) ** 2)))

    torch.manual_seed(0)
    from course_lib.torch.latent_factor import LatentFactorNet

    untrained = LatentFactorNet(train.n_users, train.n_items, float(train.ratings.mean()), 4, 0.1)
    with torch.no_grad():
        predictions = untrained(torch.as_tensor(np.array(train.users)), torch.as_tensor(np.array(train.items))).numpy()
    before = float(np.sqrt(np.mean((predictions - train.ratings) ** 2)))
    after_train, after_test = rmse_of(train), rmse_of(test)
    if after_train > 0.9 * before:
        direction = (f"rose from {before:.3f} to {after_train:.3f}" if after_train > before
                     else f"fell only from {before:.3f} to {after_train:.3f}")
        _fail(name, f"in {epochs} epochs the training RMSE {direction}: is the loss the mean squared error of the "
                    "batch's predictions against its ratings, and the optimizer built on network.parameters()?")
    last_train, last_test = float(history["train_rmse"][-1]), float(history["test_rmse"][-1])
    if np.isclose(last_test, after_test**2, atol=1e-3) or np.isclose(last_train, after_train**2, atol=1e-3):
        _fail(name, "the history holds the mean squared error: take its square root to report the RMSE.")
    if np.isclose(last_test, after_train, atol=1e-3) and np.isclose(last_train, after_test, atol=1e-3):
        _fail(name, "the two lists are swapped: 'train_rmse' is measured on train, 'test_rmse' on test.")
    if not np.isclose(last_test, after_test, atol=1e-3):
        _fail(name, f"the last history['test_rmse'] is {last_test:.4f} but the trained network's RMSE on the test "
                    f"set is {after_test:.4f}: after each epoch, predict the whole test set (under torch.no_grad()) "
                    "and take the RMSE.")
    if not np.isclose(last_train, after_train, atol=1e-3):
        _fail(name, f"the last history['train_rmse'] is {last_train:.4f} but the trained network's RMSE on the "
                    f"training set is {after_train:.4f}: measure it after the epoch, on the whole training set "
                    "(a running mean of the batch losses lags behind the model).")
    print(f"{name}: training mode, {n_batches} batches per epoch, one reset per step, a new order every epoch "
          "under the seed, and the RMSE of the whole sets after each epoch.")
