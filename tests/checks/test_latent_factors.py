"""The checks of notebook 06 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")
nn = torch.nn

NOTEBOOK = "06_latent_factors"


# ------------------------------------------------------------------ the network
def _network(biases=True, learned_mean=False, init="small", bias_init="zeros", squeeze=True, add_mean=True,
             dot=True, returns=True):
    class Network(nn.Module):
        def __init__(self, n_users, n_items, embedding_dim, global_mean):
            super().__init__()
            self.global_mean = nn.Parameter(torch.tensor(float(global_mean))) if learned_mean else float(global_mean)
            self.user_factors = nn.Embedding(n_users, embedding_dim)
            self.item_factors = nn.Embedding(n_items, embedding_dim)
            if init == "small":
                nn.init.normal_(self.user_factors.weight, std=0.1)
                nn.init.normal_(self.item_factors.weight, std=0.1)
            if biases:
                self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
                if bias_init == "zeros":
                    nn.init.zeros_(self.user_bias.weight)
                    nn.init.zeros_(self.item_bias.weight)

        def forward(self, user_ids, item_ids):
            product = self.user_factors(user_ids) * self.item_factors(item_ids)
            prediction = product.sum(-1, keepdim=not squeeze) if dot else product
            if biases:
                user_bias, item_bias = self.user_bias(user_ids), self.item_bias(item_ids)
                if squeeze:
                    user_bias, item_bias = user_bias.squeeze(-1), item_bias.squeeze(-1)
                prediction = prediction + user_bias + item_bias
            if add_mean:
                prediction = prediction + self.global_mean
            return prediction if returns else None

    return Network


# ------------------------------------------------------------------ the training loop
def _training(train_mode=True, shuffle="each_epoch", batch="size", zero_grad="before", sign=1.0, record="rmse",
              evaluate_with_grad=False, returns=True, generator_seed=None):
    def train_rating_network(network, train, test, epochs, learning_rate, batch_size, weight_decay):
        optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
        users, items = torch.as_tensor(train.users), torch.as_tensor(train.items)
        ratings = torch.as_tensor(train.ratings, dtype=torch.float32)
        history = {"train_rmse": [], "test_rmse": []}
        size = batch_size if batch == "size" else len(ratings)
        generator = torch.Generator().manual_seed(generator_seed) if generator_seed is not None else None

        def rmse_on(part):
            context = torch.enable_grad() if evaluate_with_grad else torch.no_grad()
            with context:
                predictions = network(torch.as_tensor(part.users), torch.as_tensor(part.items))
                return ((predictions - torch.as_tensor(part.ratings)) ** 2).mean().sqrt().item()

        fixed = torch.randperm(len(ratings))
        if zero_grad == "once":
            optimizer.zero_grad()
        for _ in range(epochs):
            if train_mode:
                network.train()
            order = {"each_epoch": lambda: torch.randperm(len(ratings), generator=generator),
                     "none": lambda: torch.arange(len(ratings)), "once": lambda: fixed,
                     "with_replacement": lambda: torch.randint(len(ratings), (len(ratings),))}[shuffle]()
            batch_losses = []
            for start in range(0, len(order), size):
                chosen = order[start:start + size]
                loss = sign * ((network(users[chosen], items[chosen]) - ratings[chosen]) ** 2).mean()
                if zero_grad == "before":
                    optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                batch_losses.append(loss.item())
            if record == "rmse":
                history["train_rmse"].append(rmse_on(train))
                history["test_rmse"].append(rmse_on(test))
            elif record == "mse":
                history["train_rmse"].append(rmse_on(train) ** 2)
                history["test_rmse"].append(rmse_on(test) ** 2)
            else:  # the running mean of the batch losses
                history["train_rmse"].append(float(np.sqrt(np.mean(batch_losses))))
                history["test_rmse"].append(rmse_on(test))
        return history if returns else None

    return train_rating_network


MISTAKES = [
    ("network: forward without return", "check_latent_factor_net", _network(returns=False), "did you forget `return`"),
    ("network: no biases", "check_latent_factor_net", _network(biases=False), "no biases"),
    ("network: learned global mean", "check_latent_factor_net", _network(learned_mean=True), "keep it fixed"),
    ("network: default factor init", "check_latent_factor_net", _network(init="default"), "standard deviation 1"),
    ("network: biases not at 0", "check_latent_factor_net", _network(bias_init="default"),
     "biases should start at 0"),
    ("network: (B, 1)", "check_latent_factor_net", _network(squeeze=False), "squeeze"),
    ("network: no global mean", "check_latent_factor_net", _network(add_mean=False), "add the global mean"),
    ("network: no dot product", "check_latent_factor_net", _network(dot=False, biases=False), "sum the product"),
    ("training: forgotten return", "check_rmse_training", _training(returns=False), "did you forget `return`"),
    ("training: no network.train()", "check_rmse_training", _training(train_mode=False), "evaluation mode"),
    ("training: not shuffled", "check_rmse_training", _training(shuffle="none"), "order of the data set"),
    ("training: shuffled once", "check_rmse_training", _training(shuffle="once"), "same order"),
    ("training: with replacement", "check_rmse_training", _training(shuffle="with_replacement"), "more than once"),
    ("training: its own seed", "check_rmse_training", _training(generator_seed=5), "another seed"),
    ("training: batch_size ignored", "check_rmse_training", _training(batch="all"), "batches per epoch"),
    ("training: no zero_grad", "check_rmse_training", _training(zero_grad="never"), "gradients add up"),
    ("training: zero_grad once", "check_rmse_training", _training(zero_grad="once"), "once, before the loop"),
    ("training: gradient ascent", "check_rmse_training", _training(sign=-1.0), "training RMSE rose from"),
    ("training: MSE recorded", "check_rmse_training", _training(record="mse"), "square root"),
    ("training: running mean", "check_rmse_training", _training(record="running"), "running mean"),
    ("training: evaluation with gradients", "check_rmse_training", _training(evaluate_with_grad=True),
     "torch.no_grad()"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


def test_checks_accept_the_notebook_answers(capsys):
    checks.check_latent_factor_net(solution(NOTEBOOK, "LatentFactorNet"))
    checks.check_latent_factor_net(_network())
    checks.check_rmse_training(solution(NOTEBOOK, "train_rating_network"))
    checks.check_rmse_training(_training())
    assert capsys.readouterr().out.count("passed") == 2
