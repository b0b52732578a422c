"""Notebook 01's graded exercises, sandbox side: the training loop, the negative sampler and NeuMF's network.

Every input is the grader's own (seeded), never the notebook's data: a small classification problem
in a seeded DataLoader for the loop, seeded synthetic interactions for the sampler, fixed ids and
seeded weights for the network.
"""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy
from course_lib.grading.probes._rng import kept_global_states, seed_other_globals, torch_seeded

# --------------------------------------------------------------------------- train_one_epoch

LINEAR_EPOCHS = 5
DROPOUT_MASK_SEED = 77     # torch's global generator before the dropout model's epoch (its masks)


def loop_loader():
    """75 examples of 4 features in 3 classes, shuffled by the loader's own seeded generator, in batches
    of 16 (the last of 11: the mean of the batch losses is not the mean over examples)."""
    import torch

    generator = torch.Generator().manual_seed(31)
    features = torch.randn(75, 4, generator=generator)
    labels = (features[:, 0] > 0.4).long() + (features[:, 1] + features[:, 2] > 0).long()     # 0, 1 or 2
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features, labels), batch_size=16,
                                       shuffle=True, generator=torch.Generator().manual_seed(32))


def linear_case():
    """The hidden test's first case: nn.Linear(4, 3), SGD(lr=0.1), cross-entropy (weights seeded)."""
    import torch
    from torch import nn

    with torch_seeded(41):
        network = nn.Linear(4, 3)
    return network, loop_loader(), nn.CrossEntropyLoss(), torch.optim.SGD(network.parameters(), lr=0.1)


def dropout_case():
    """A network with dropout handed over in evaluation mode (as after an evaluation), SGD(lr=0.1)."""
    import torch
    from torch import nn

    with torch_seeded(42):
        network = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)).eval()
    return network, loop_loader(), nn.CrossEntropyLoss(), torch.optim.SGD(network.parameters(), lr=0.1)


def parameters(network) -> np.ndarray:
    return np.concatenate([to_numpy(p).ravel() for p in network.parameters()]).astype(np.float64)


def train_linear(train_one_epoch) -> tuple[list, np.ndarray]:
    """The values ``train_one_epoch`` returns over 5 epochs of ``linear_case``, and the weights after them."""
    network, loader, loss_fn, optimizer = linear_case()
    with kept_global_states():
        values = [train_one_epoch(network, loader, loss_fn, optimizer) for _ in range(LINEAR_EPOCHS)]
    return values, parameters(network)


def train_dropout(train_one_epoch) -> tuple[object, bool, np.ndarray]:
    """One epoch of ``dropout_case`` (the masks seeded): the value returned, the mode the network is left
    in, and its weights after the epoch."""
    network, loader, loss_fn, optimizer = dropout_case()
    with torch_seeded(DROPOUT_MASK_SEED):
        value = train_one_epoch(network, loader, loss_fn, optimizer)
    return value, bool(network.training), parameters(network)


def _training_loop(namespace, inputs):
    train_one_epoch = namespace["train_one_epoch"]
    values, weights = train_linear(train_one_epoch)
    value, training, dropout_weights = train_dropout(train_one_epoch)
    return {"losses": np.array([number(v) for v in values]), "weights": weights,
            "losses_are_float": all(isinstance(v, float) for v in values),
            "dropout_value": number(value), "dropout_is_float": isinstance(value, float),
            "dropout_type": type(value).__name__, "dropout_training": training, "dropout_weights": dropout_weights}


# --------------------------------------------------------------------------- sample_negatives

def sampler_data():
    """A seeded synthetic training matrix (users x items, CSR), as the notebook's ``train.to_csr()``."""
    return course_lib.make_synthetic(n_users=120, n_items=90, mean_per_user=20, min_per_user=4, seed=17).to_csr()


SAMPLER_STEP = 3          # the first case asks for every third user
EDGE_ITEMS = 30
EDGE_UNSEEN = (5, 29)     # the only items user 1 of the edge matrix has not seen: the last one among them
EDGE_USERS = np.repeat([0, 1, 2], [1500, 100, 1500])   # about 100 draws per unseen item of users 0 and 2


def edge_matrix():
    """3 users x 30 items: user 0 saw items 0 and 1, user 1 every item but 5 and 29 (the last one), user 2
    none (CSR, float32)."""
    from scipy import sparse

    dense = np.zeros((3, EDGE_ITEMS), dtype=np.float32)
    dense[0, :2] = 1
    dense[1] = 1
    dense[1, list(EDGE_UNSEEN)] = 0
    return sparse.csr_matrix(dense)


def _negatives(sample, matrix, users, n_negatives, seed):
    return to_numpy(sample(matrix, users, n_negatives, np.random.default_rng(seed)))


def _sampler(namespace, inputs):
    sample = namespace["sample_negatives"]
    matrix = sampler_data()
    every = np.arange(matrix.shape[0])
    outputs = {"draws": _negatives(sample, matrix, every[::SAMPLER_STEP].copy(), 4, 3)}
    with kept_global_states():
        seed_other_globals(1)       # other global seeds: the draws must come from rng alone
        outputs["first"] = _negatives(sample, matrix, every.copy(), 2, 8)
        seed_other_globals(2)
        outputs["second"] = _negatives(sample, matrix, every.copy(), 2, 8)
        seed_other_globals(1)
        outputs["other"] = _negatives(sample, matrix, every.copy(), 2, 9)
    outputs["edge"] = _negatives(sample, edge_matrix(), EDGE_USERS.copy(), 2, 5)
    return outputs


# --------------------------------------------------------------------------- NeuMFNet

# (n_users, n_items, embedding_dim, hidden_dims, users, items) of the hidden tests
NEUMF_CASES = (
    (5, 9, 4, (6, 3), [0, 4, 2], [8, 0, 3]),
    (6, 7, 5, (8,), [0, 5, 3, 3], [6, 0, 1, 1]),
    (6, 7, 5, (16, 8, 4), [0, 5, 3, 3], [6, 0, 1, 1]),
)


def weight_key(case: int, name: str) -> str:
    """The output name of weight ``name`` (``layers.0.weight``) of case ``case``."""
    return f"c{case}_w_" + name.replace(".", "__")


def seeded_weights(network, case: int) -> None:
    """Give every weight of ``network`` seeded values (a network left at zeros tells nothing)."""
    import torch

    generator = torch.Generator().manual_seed(300 + case)
    with torch.no_grad():
        for _, parameter in network.named_parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.7)


def _neumf(namespace, inputs):
    import torch
    from torch import nn

    network_class = namespace["NeuMFNet"]
    outputs = {}
    for case, (n_users, n_items, dim, hidden, users, items) in enumerate(NEUMF_CASES):
        with torch_seeded(200 + case):
            network = network_class(n_users, n_items, dim, hidden)
        outputs[f"c{case}_embeddings"] = sum(isinstance(m, nn.Embedding) for m in network.modules())
        seeded_weights(network, case)
        named = list(network.named_parameters())
        outputs[f"c{case}_names"] = ",".join(name for name, _ in named)
        for name, parameter in named:
            outputs[weight_key(case, name)] = to_numpy(parameter).astype(np.float64)
        network.train()
        with kept_global_states():
            logits = network(torch.tensor(users), torch.tensor(items))
        outputs[f"c{case}_logits"] = to_numpy(logits).astype(np.float64)
        outputs[f"c{case}_backward"] = ""
        try:
            logits.sum().backward()
        except (RuntimeError, AttributeError, TypeError) as error:
            outputs[f"c{case}_backward"] = f"{type(error).__name__}: {error}"[:300]
        outputs[f"c{case}_grad_norms"] = np.array(
            [np.nan if p.grad is None else float(p.grad.detach().double().norm()) for _, p in named])
    return outputs


PROBES = {
    "nb01_train_one_epoch_tests": Probe(("train_one_epoch",), _training_loop, seconds=20,
                                        visible=lambda ns, inputs: checks.check_training_loop(ns["train_one_epoch"])),
    "nb01_sample_negatives_tests": Probe(("sample_negatives",), _sampler, seconds=30,
                                         visible=lambda ns, inputs: checks.check_negative_sampler(
                                             ns["sample_negatives"])),
    "nb01_neumf_network_tests": Probe(("NeuMFNet",), _neumf, seconds=20,
                                      visible=lambda ns, inputs: checks.check_neumf_network(ns["NeuMFNet"])),
}
