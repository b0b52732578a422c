"""Notebook 06's graded exercises, sandbox side: the latent factor network and its training loop.

Every input is the grader's own: fixed ids and seeded weights for the network, a seeded MovieLens-shaped
synthetic data set (split 80/20) for the training loop, never the notebook's ``train`` / ``test``.
"""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy
from course_lib.grading.probes._rng import kept_global_states, torch_seeded

# --------------------------------------------------------------------------- LatentFactorNet

SMALL = (11, 9, 4, 3.0)                      # n_users, n_items, embedding_dim, global_mean
SMALL_USERS, SMALL_ITEMS = [0, 10, 5], [8, 0, 3]
BIG = (2000, 1500, 16, 3.5)
FORMULA_SEED = 5


def by_shape(parameters) -> list:
    """The parameters sorted by shape (those of one shape in their order): the order the seeded values of
    the formula case are drawn in."""
    return sorted(parameters, key=lambda parameter: tuple(parameter.shape))


def _shapes(parameters) -> np.ndarray:
    return np.array([str(tuple(int(n) for n in p.shape)) for p in parameters], dtype=np.str_)


def _latent_factor_net(namespace, inputs):
    import torch

    network_class = namespace["LatentFactorNet"]
    users, items = torch.tensor(SMALL_USERS), torch.tensor(SMALL_ITEMS)
    with torch_seeded(0):
        network = network_class(*SMALL)
        output = network(users, items)
        outputs = {"out_shape": np.asarray(tuple(output.shape), dtype=np.int64),
                   "out_requires_grad": bool(getattr(output, "requires_grad", False)),
                   "n_parameters": sum(int(p.numel()) for p in network.parameters())}
        # forward's formula, on seeded values of every table
        parameters = by_shape(network.parameters())
        outputs["shapes"] = _shapes(parameters)
        generator = torch.Generator().manual_seed(FORMULA_SEED)
        with torch.no_grad():
            for parameter in parameters:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
            outputs["formula"] = np.asarray(to_numpy(network(users, items)), dtype=np.float64)
    # the initialization asked for, read on a large fresh network
    with torch_seeded(1):
        big = by_shape(network_class(*BIG).parameters())
    outputs["big_shapes"] = _shapes(big)
    outputs["big_std"] = np.array([float(p.detach().double().std()) if p.numel() > 1 else 0.0 for p in big])
    outputs["big_absmax"] = np.array([float(p.detach().abs().max()) for p in big])
    return outputs


# --------------------------------------------------------------------------- train_rating_network

EPOCH_CASE = (1, 0.01, 4096, 0.0)           # epochs, learning_rate, batch_size, weight_decay
SMALL_CASE = (2, 0.01, 10_000, 0.0)          # a batch larger than the data set, two epochs
SMALL_RATINGS = 500


def rating_data():
    """A seeded MovieLens-shaped synthetic data set (100,000 ratings), split 80/20 at random."""
    data = course_lib.make_synthetic(seed=61)
    return course_lib.random_split(data, test_fraction=0.2, seed=61)


def reference_network(train):
    """The library's network the hidden test trains (its own seeded weights; nn.Embedding draws its first,
    overwritten, weights from torch's global generator, which is restored)."""
    from course_lib.torch.latent_factor import LatentFactorNet

    with kept_global_states():
        return LatentFactorNet(train.n_users, train.n_items, float(train.ratings.mean()), 4, 0.1)


def rmse(network, part) -> float:
    import torch

    with torch.no_grad():
        predictions = to_numpy(network(torch.as_tensor(np.array(part.users)), torch.as_tensor(np.array(part.items))))
    return float(np.sqrt(np.mean((np.asarray(predictions, dtype=np.float64) - part.ratings) ** 2)))


def _history(history, key: str) -> np.ndarray:
    try:
        return np.array([number(value) for value in history[key]], dtype=np.float64)
    except (TypeError, KeyError, IndexError, ValueError):
        return np.full(0, np.nan)


def _readable(history) -> bool:
    try:
        return all(not isinstance(history[key], (str, bytes)) and len(history[key]) >= 0
                   for key in ("train_rmse", "test_rmse"))
    except (TypeError, KeyError, IndexError):
        return False


def _rmse_training(namespace, inputs):
    train_rating_network = namespace["train_rating_network"]
    train, test = rating_data()
    outputs = {}
    network = reference_network(train)
    outputs["before_train"] = rmse(network, train)
    with torch_seeded(0):
        history = train_rating_network(network, train, test, *EPOCH_CASE)
    outputs["readable"] = _readable(history)
    outputs["epoch_train"], outputs["epoch_test"] = _history(history, "train_rmse"), _history(history, "test_rmse")
    outputs["after_train"], outputs["after_test"] = rmse(network, train), rmse(network, test)
    small = train.subset(np.arange(SMALL_RATINGS))
    network = reference_network(train)
    before = [to_numpy(p).copy() for p in network.parameters()]
    with torch_seeded(1):
        history = train_rating_network(network, small, test, *SMALL_CASE)
    outputs["small_readable"] = _readable(history)
    outputs["small_train"], outputs["small_test"] = _history(history, "train_rmse"), _history(history, "test_rmse")
    outputs["small_change"] = max(float(np.abs(to_numpy(p) - b).max()) for p, b in zip(network.parameters(), before, strict=True))
    return outputs


PROBES = {
    "nb06_latent_factor_net_tests": Probe(("LatentFactorNet",), _latent_factor_net, seconds=60,
                                          visible=lambda ns, inputs: checks.check_latent_factor_net(
                                              ns["LatentFactorNet"])),
    "nb06_rmse_training_tests": Probe(("train_rating_network",), _rmse_training, seconds=60,
                                      visible=lambda ns, inputs: checks.check_rmse_training(
                                          ns["train_rating_network"])),
}
