"""The course's own answers to the exercises whose result a later cell uses, and the choice between
the student's answer and the reference: a notebook runs to the end whatever state an exercise is in.

    train_with = checks.yours_or_reference(train_one_epoch)

returns the student's function or class when its check passed in this kernel, and the reference
otherwise, and says which in one line. Only exercises a later cell calls have a reference here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["yours_or_reference"]


def _train_one_epoch(model: Any, loader: Any, loss_fn: Any, optimizer: Any) -> float:
    """One pass over ``loader`` in training mode; the mean batch loss (notebook 01, exercise 1)."""
    model.train()
    losses = []
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def _latent_factor_net() -> type:
    """mu + b_u + b_i + p_u . q_i with the exercise's signature (notebook 06, exercise 1)."""
    from torch import nn

    class LatentFactorNet(nn.Module):
        def __init__(self, n_users: int, n_items: int, embedding_dim: int, global_mean: float) -> None:
            super().__init__()
            self.global_mean = float(global_mean)
            self.user_factors = nn.Embedding(n_users, embedding_dim)
            self.item_factors = nn.Embedding(n_items, embedding_dim)
            self.user_bias = nn.Embedding(n_users, 1)
            self.item_bias = nn.Embedding(n_items, 1)
            for table in (self.user_factors, self.item_factors):
                nn.init.normal_(table.weight, std=0.1)
            for table in (self.user_bias, self.item_bias):
                nn.init.zeros_(table.weight)

        def forward(self, user_ids: Any, item_ids: Any) -> Any:
            match = (self.user_factors(user_ids) * self.item_factors(item_ids)).sum(-1)          # (B,)
            return self.global_mean + self.user_bias(user_ids)[:, 0] + self.item_bias(item_ids)[:, 0] + match

    return LatentFactorNet


def _train_rating_network(network: Any, train: Any, test: Any, epochs: int, learning_rate: float, batch_size: int,
                          weight_decay: float) -> dict:
    """Minibatch Adam on the squared error, the RMSE of both whole sets after each epoch (notebook 06, exercise 2)."""
    import torch

    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    users, items = torch.as_tensor(train.users), torch.as_tensor(train.items)
    ratings = torch.as_tensor(train.ratings, dtype=torch.float32)

    def rmse(part: Any) -> float:
        network.eval()
        with torch.no_grad():
            errors = network(torch.as_tensor(part.users), torch.as_tensor(part.items)) - torch.as_tensor(part.ratings)
            return float(errors.pow(2).mean().sqrt())

    history: dict[str, list[float]] = {"train_rmse": [], "test_rmse": []}
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(ratings))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad()
            ((network(users[rows], items[rows]) - ratings[rows]) ** 2).mean().backward()
            optimizer.step()
        history["train_rmse"].append(rmse(train))
        history["test_rmse"].append(rmse(test))
    return history


_REFERENCES: dict[str, Callable[[], Any]] = {
    "train_one_epoch": lambda: _train_one_epoch,
    "LatentFactorNet": _latent_factor_net,
    "train_rating_network": lambda: _train_rating_network,
}


def yours_or_reference(answer: Any) -> Any:
    """The student's ``answer`` when its check passed in this kernel, else the course's reference."""
    from course_lib.checks._display import _OUTCOMES, PASSED

    name = getattr(answer, "__name__", None)
    if name not in _REFERENCES:
        raise ValueError(f"there is no reference for {name!r}; references exist for {sorted(_REFERENCES)}.")
    latest = [outcome.status for outcome in _OUTCOMES if outcome.exercise == name]
    if latest and latest[-1] == PASSED:
        print(f"Using your {name} (its check passed).")
        return answer
    state = {"failed": "has not passed its check yet", "not-done": "is not done yet"}.get(
        latest[-1] if latest else "", "has not been checked yet")
    print(f"Your {name} {state}: this cell uses the course's reference {name} instead.")
    return _REFERENCES[name]()
