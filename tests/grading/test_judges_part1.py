"""Probes and judges of notebooks 01 to 04: the solutions pass, the stubs are not done, the mistakes students
make fail, and no failure message shows an expected value."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from course_lib.grading.judges import Failed, exercises, notebook_of, run_here
from course_lib.grading.probes import decode, encode
from tests.grading.judge_helpers import namespace_of

GRADE_IDS = {
    "nb01_train_one_epoch_tests": "01_mlp_basics",
    "nb01_sample_negatives_tests": "01_mlp_basics",
    "nb01_neumf_network_tests": "01_mlp_basics",
    "nb02_corruption_and_loss_tests": "02_autoencoders",
    "nb02_vae_terms_tests": "02_autoencoders",
    "nb03_ease_fit_tests": "03_ease_r",
    "nb04_tower_tests": "04_two_tower",
    "nb04_in_batch_softmax_tests": "04_two_tower",
}

# --------------------------------------------------------------------------- the mistakes, as students write them

_LOOP = '''
def train_one_epoch(model, loader, loss_fn, optimizer):
{body}
'''

_NEUMF = '''
class NeuMFNet(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, hidden_dims):
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, embedding_dim)
        self.gmf_item = nn.Embedding(n_items, embedding_dim)
        self.mlp_user = nn.Embedding(n_users, embedding_dim)
        self.mlp_item = nn.Embedding(n_items, embedding_dim)
        dims = [2 * embedding_dim, *hidden_dims]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.output = nn.Linear(embedding_dim + hidden_dims[-1], 1)

    def forward(self, users, items):
        gmf = self.gmf_user(users) * self.gmf_item(items)
        x = torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=-1)
        for layer in self.layers:
            x = {activation}
        return {result}
'''

_TOWER = '''
class Tower(nn.Module):
    def __init__(self, input_dim, hidden_dims, output_dim):
        super().__init__()
        widths = [input_dim, *hidden_dims, output_dim]
        self.linears = {container}(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        for linear in self.linears:
            {init}
            nn.init.zeros_(linear.bias)

    def forward(self, inputs):
        hidden = inputs
        for linear in self.linears[:-1]:
            hidden = {hidden}
        return {last}
'''


def _loop(body: str) -> str:
    return _LOOP.format(body=body)


def _neumf(activation: str = "torch.relu(layer(x))",
           result: str = "self.output(torch.cat([gmf, x], dim=-1)).squeeze(-1)") -> str:
    return _NEUMF.format(activation=activation, result=result)


def _tower(container: str = "nn.ModuleList", init: str = "nn.init.kaiming_normal_(linear.weight, nonlinearity='relu')",
           hidden: str = "torch.relu(linear(hidden))", last: str = "self.linears[-1](hidden)") -> str:
    return _TOWER.format(container=container, init=init, hidden=hidden, last=last)


_GOOD_LOOP_START = '''    model.train()
    losses = []
    for inputs, targets in loader:
'''

_SAMPLER = '''
def sample_negatives(positives, user_ids, n_negatives, rng):
    users = {repeat}(np.asarray(user_ids), n_negatives)
    items = {draw}
    pending = np.flatnonzero(np.asarray(positives[users, items]).ravel() > 0)
    while len(pending):
        items[pending] = rng.integers(0, {high}, size=len(pending))
        still = np.asarray(positives[users[pending], items[pending]]).ravel() > 0
        pending = pending[still]
    return items.reshape(len(user_ids), n_negatives)
'''


def _sampler(repeat: str = "np.repeat", draw: str = "rng.integers(0, positives.shape[1], size=len(users))",
             high: str = "positives.shape[1]") -> str:
    return _SAMPLER.format(repeat=repeat, draw=draw, high=high)


_EASE = '''
def ease_fit(X, l2):
    gram = {gram}
    gram = gram + {l2}
    P = np.linalg.inv(gram)
    B = {divide}
    {diagonal}
    return B
'''


def _ease(gram: str = "X.T @ X", l2: str = "l2 * np.eye(gram.shape[0])", divide: str = "-P / np.diag(P)[None, :]",
          diagonal: str = "np.fill_diagonal(B, 0.0)") -> str:
    return _EASE.format(gram=gram, l2=l2, divide=divide, diagonal=diagonal)


WRONG: dict[str, dict[str, tuple[str, str]]] = {
    "nb01_train_one_epoch_tests": {
        "stays in eval mode": ("train_one_epoch", _loop('''    losses = []
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))''')),
        "gradients pile up (no zero_grad)": ("train_one_epoch", _loop(_GOOD_LOOP_START + '''        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))''')),
        "zero_grad between backward and step": ("train_one_epoch", _loop(_GOOD_LOOP_START + '''        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))''')),
        "returns the sum": ("train_one_epoch", _loop(_GOOD_LOOP_START + '''        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.sum(losses))''')),
        "returns a tensor": ("train_one_epoch", _loop(_GOOD_LOOP_START + '''        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses).mean()''')),
        "mean over examples, not batches": ("train_one_epoch", _loop(_GOOD_LOOP_START + '''        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item() * len(targets))
    return float(np.sum(losses) / len(loader.dataset))''')),
    },
    "nb01_sample_negatives_tests": {
        "no rejection of positives": ("sample_negatives", '''
def sample_negatives(positives, user_ids, n_negatives, rng):
    return rng.integers(0, positives.shape[1], size=(len(user_ids), n_negatives))
'''),
        "np.tile instead of np.repeat": ("sample_negatives", _sampler(repeat="np.tile")),
        "global np.random": ("sample_negatives", _sampler(
            draw="np.random.randint(0, positives.shape[1], size=len(users))")),
        "a fixed seed inside": ("sample_negatives", _sampler().replace(
            "    users = ", "    rng = np.random.default_rng(0)\n    users = ")),
        "last item unreachable": ("sample_negatives", _sampler(
            draw="rng.integers(0, positives.shape[1] - 1, size=len(users))", high="positives.shape[1] - 1")),
        "float item ids": ("sample_negatives", _sampler().replace(
            "return items.reshape", "return items.astype(float).reshape")),
    },
    "nb01_neumf_network_tests": {
        "sigmoid on the output": ("NeuMFNet", _neumf(
            result="torch.sigmoid(self.output(torch.cat([gmf, x], dim=-1)).squeeze(-1))")),
        "no ReLU in the MLP tower": ("NeuMFNet", _neumf(activation="layer(x)")),
        "shape (B, 1)": ("NeuMFNet", _neumf(result="self.output(torch.cat([gmf, x], dim=-1))")),
        "detached output": ("NeuMFNet", _neumf(
            result="self.output(torch.cat([gmf, x], dim=-1)).squeeze(-1).detach()")),
        "GMF branch left out of the output": ("NeuMFNet", _neumf(
            result="self.output(torch.cat([torch.zeros_like(gmf), x], dim=-1)).squeeze(-1)")),
    },
    "nb02_corruption_and_loss_tests": {
        "keeps with the drop probability": ("corrupt", '''
def corrupt(profiles, drop_probability):
    keep = (torch.rand_like(profiles) < drop_probability).float()
    return profiles * keep / (1 - drop_probability)
'''),
        "no rescaling": ("corrupt", '''
def corrupt(profiles, drop_probability):
    return profiles * (torch.rand_like(profiles) >= drop_probability).float()
'''),
        "changes its input in place": ("corrupt", '''
def corrupt(profiles, drop_probability):
    profiles *= (torch.rand_like(profiles) >= drop_probability).float() / (1 - drop_probability)
    return profiles
'''),
        "NumPy's global generator": ("corrupt", '''
def corrupt(profiles, drop_probability):
    keep = torch.tensor(np.random.rand(*profiles.shape) >= drop_probability).float()
    return profiles * keep / (1 - drop_probability)
'''),
        "softmax over the users": ("multinomial_nll", '''
def multinomial_nll(logits, profiles):
    return -(F.log_softmax(logits, dim=0) * profiles).sum(-1).mean()
'''),
        "the log-likelihood (sign)": ("multinomial_nll", '''
def multinomial_nll(logits, profiles):
    return (F.log_softmax(logits, dim=-1) * profiles).sum(-1).mean()
'''),
        "unstable log of softmax": ("multinomial_nll", '''
def multinomial_nll(logits, profiles):
    probabilities = logits.exp() / logits.exp().sum(-1, keepdim=True)
    return -(torch.log(probabilities) * profiles).sum(-1).mean()
'''),
        "a float, no gradient": ("multinomial_nll", '''
def multinomial_nll(logits, profiles):
    return -(F.log_softmax(logits, dim=-1) * profiles).sum(-1).mean().item()
'''),
        "summed over the users": ("multinomial_nll", '''
def multinomial_nll(logits, profiles):
    return -(F.log_softmax(logits, dim=-1) * profiles).sum()
'''),
    },
    "nb02_vae_terms_tests": {
        "scaled by the variance": ("reparameterize", '''
def reparameterize(mean, log_variance, epsilon):
    return mean + torch.exp(log_variance) * epsilon
'''),
        "fresh noise inside": ("reparameterize", '''
def reparameterize(mean, log_variance, epsilon):
    return mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
'''),
        "detached z": ("reparameterize", '''
def reparameterize(mean, log_variance, epsilon):
    return (mean + torch.exp(0.5 * log_variance) * epsilon).detach()
'''),
        "the factor 1/2 missing": ("kl_divergence", '''
def kl_divergence(mean, log_variance):
    return (log_variance.exp() + mean.square() - 1 - log_variance).sum(-1).mean()
'''),
        "averaged over the latent dimensions": ("kl_divergence", '''
def kl_divergence(mean, log_variance):
    return (0.5 * (log_variance.exp() + mean.square() - 1 - log_variance)).mean()
'''),
        "the sign flipped": ("kl_divergence", '''
def kl_divergence(mean, log_variance):
    return (-0.5 * (log_variance.exp() + mean.square() - 1 - log_variance)).sum(-1).mean()
'''),
        "the -1 missing": ("kl_divergence", '''
def kl_divergence(mean, log_variance):
    return (0.5 * (log_variance.exp() + mean.square() - log_variance)).sum(-1).mean()
'''),
        "log_variance taken as the variance": ("kl_divergence", '''
def kl_divergence(mean, log_variance):
    return (0.5 * (log_variance + mean.square() - 1 - torch.log(log_variance.abs() + 1e-12))).sum(-1).mean()
'''),
    },
    "nb03_ease_fit_tests": {
        "rows divided by the diagonal": ("ease_fit", _ease(divide="-P / np.diag(P)[:, None]")),
        "the diagonal left at -1": ("ease_fit", _ease(diagonal="pass")),
        "lambda on every entry": ("ease_fit", _ease(l2="l2")),
        "users x users Gram matrix": ("ease_fit", _ease(gram="X @ X.T")),
        "ridge without the constraint": ("ease_fit", _ease(divide="P @ (X.T @ X)", diagonal="pass")),
    },
    "nb04_tower_tests": {
        "ReLU after the output layer": ("Tower", _tower(last="torch.relu(self.linears[-1](hidden))")),
        "no ReLU": ("Tower", _tower(hidden="linear(hidden)")),
        "PyTorch's default initialization": ("Tower", _tower(init="pass")),
        "N(0, 1) initialization": ("Tower", _tower(init="nn.init.normal_(linear.weight)")),
        "layers in a plain list": ("Tower", _tower(container="list")),
        "hidden widths ignored": ("Tower", _tower().replace("[input_dim, *hidden_dims, output_dim]",
                                                            "[input_dim, output_dim]")),
    },
    "nb04_in_batch_softmax_tests": {
        "no logQ correction": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)))
'''),
        "correction added": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature + log_q[None, :]
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)))
'''),
        "correction on the rows": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature - log_q[:, None]
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)))
'''),
        "summed": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature - log_q[None, :]
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)), reduction="sum")
'''),
        "temperature multiplied": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T * temperature - log_q[None, :]
    return nn.functional.cross_entropy(logits, torch.arange(len(logits)))
'''),
        "softmax over the users": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature - log_q[None, :]
    return nn.functional.cross_entropy(logits.T, torch.arange(len(logits)))
'''),
        "no gradient (NumPy)": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = user_vectors @ item_vectors.T / temperature - log_q[None, :]
    return torch.tensor(nn.functional.cross_entropy(logits, torch.arange(len(logits))).item())
'''),
    },
}

# Right answers written otherwise than the solutions: they pass too.
RIGHT: dict[str, tuple[str, str]] = {
    "nb01_train_one_epoch_tests": ("train_one_epoch", '''
def train_one_epoch(model, loader, loss_fn, optimizer):
    model.train(True)
    total, batches = 0.0, 0
    for features, labels in loader:
        model.zero_grad()
        loss = loss_fn(model(features), labels)
        loss.backward()
        optimizer.step()
        total += float(loss.detach())
        batches += 1
    return total / batches
'''),
    "nb01_sample_negatives_tests": ("sample_negatives", '''
def sample_negatives(positives, user_ids, n_negatives, rng):
    result = np.empty((len(user_ids), n_negatives), dtype=np.int64)
    for row, user in enumerate(user_ids):
        unseen = np.setdiff1d(np.arange(positives.shape[1]), positives[user].indices)
        result[row] = rng.choice(unseen, size=n_negatives)
    return result
'''),
    "nb01_neumf_network_tests": ("NeuMFNet", '''
class NeuMFNet(nn.Module):
    def __init__(self, n_users, n_items, embedding_dim, hidden_dims):
        super().__init__()
        self.gmf_user, self.gmf_item = nn.Embedding(n_users, embedding_dim), nn.Embedding(n_items, embedding_dim)
        self.mlp_user, self.mlp_item = nn.Embedding(n_users, embedding_dim), nn.Embedding(n_items, embedding_dim)
        self.layers = nn.ModuleList()
        width = 2 * embedding_dim
        for hidden in hidden_dims:
            self.layers.append(nn.Linear(width, hidden))
            width = hidden
        self.output = nn.Linear(embedding_dim + width, 1)

    def forward(self, users, items):
        x = torch.cat((self.mlp_user(users), self.mlp_item(items)), 1)
        for layer in self.layers:
            x = nn.functional.relu(layer(x))
        return self.output(torch.cat((torch.mul(self.gmf_user(users), self.gmf_item(items)), x), 1))[:, 0]
'''),
    "nb02_corruption_and_loss_tests": ("corrupt", '''
def corrupt(profiles, drop_probability):
    return profiles * torch.bernoulli(torch.full_like(profiles, 1 - drop_probability)) / (1 - drop_probability)


def multinomial_nll(logits, profiles):
    return -torch.mean(torch.sum(profiles * (logits - torch.logsumexp(logits, dim=1, keepdim=True)), dim=1))
'''),
    "nb02_vae_terms_tests": ("kl_divergence", '''
def reparameterize(mean, log_variance, epsilon):
    return epsilon * log_variance.mul(0.5).exp() + mean


def kl_divergence(mean, log_variance):
    return torch.mean(-0.5 * torch.sum(1 + log_variance - mean ** 2 - torch.exp(log_variance), dim=1))
'''),
    "nb03_ease_fit_tests": ("ease_fit", '''
def ease_fit(X, l2):
    G = X.T.dot(X)
    G[np.diag_indices(G.shape[0])] += l2
    P = np.linalg.solve(G, np.eye(G.shape[0]))
    B = np.eye(G.shape[0]) - P / np.diag(P)
    B[np.diag_indices(G.shape[0])] = 0
    return B
'''),
    "nb04_tower_tests": ("Tower", '''
class Tower(nn.Module):
    def __init__(self, input_dim, hidden_dims, output_dim):
        super().__init__()
        layers, width = [], input_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, output_dim))
        self.network = nn.Sequential(*layers)
        for module in self.network:
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=(2 / module.in_features) ** 0.5)
                nn.init.zeros_(module.bias)

    def forward(self, inputs):
        return self.network(inputs)
'''),
    "nb04_in_batch_softmax_tests": ("in_batch_softmax_loss", '''
def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature):
    logits = torch.einsum("bd,cd->bc", user_vectors, item_vectors) / temperature - log_q.unsqueeze(0)
    return (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
'''),
}

CASES = [(grade_id, mistake) for grade_id, mistakes in WRONG.items() for mistake in mistakes]


@functools.cache
def _solution(notebook: str) -> dict:
    return namespace_of(notebook)


@functools.cache
def _expected_texts(grade_id: str) -> tuple[str, ...]:
    """The solution's outputs (the library's answers on the grader's inputs), as a message could print them."""
    probe, _ = exercises(GRADE_IDS[grade_id])[grade_id]
    outputs = decode(encode(probe.run(_solution(GRADE_IDS[grade_id]), {})))
    texts = set()
    for key, value in outputs.items():
        if not np.issubdtype(value.dtype, np.floating) or any(part in key for part in _OWN_WEIGHTS):
            continue
        for number in value.ravel()[:400]:
            number = float(number)
            if not math.isfinite(number) or abs(number) < 1e-3 or number == round(number):
                continue
            texts |= {f"{number:.5g}", f"{number:.6g}", f"{number:.8g}", repr(number)}
            if abs(number) >= 1:       # four decimals: five digits at least, no chance match of a small number
                texts.add(f"{number:.4f}")
    return tuple(sorted(texts))


# outputs that are the answer's own weights (the judge's inputs, not its expected values)
_OWN_WEIGHTS = ("_w_", "_weight_", "_bias_")


def test_every_exercise_has_its_probe_judge_and_two_mistakes():
    for grade_id, notebook in GRADE_IDS.items():
        assert notebook_of(grade_id) == notebook
        assert grade_id in exercises(notebook)
        assert len(WRONG[grade_id]) >= 2, grade_id
    assert set(exercises("01_mlp_basics")) | set(exercises("02_autoencoders")) | set(exercises("03_ease_r")) | set(
        exercises("04_two_tower")) == set(GRADE_IDS)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_solution_passes(grade_id):
    run_here(grade_id, _solution(GRADE_IDS[grade_id]))


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_a_right_answer_written_otherwise_passes(grade_id):
    name, source = RIGHT[grade_id]
    run_here(grade_id, namespace_of(GRADE_IDS[grade_id], replace={name: source}))


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_stub_is_not_done(grade_id):
    with pytest.raises(NotImplementedError):
        run_here(grade_id, namespace_of(GRADE_IDS[grade_id], "notebooks"))


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_visible_check_takes_the_answer_from_the_namespace(grade_id):
    probe, _ = exercises(GRADE_IDS[grade_id])[grade_id]
    assert probe.names and all(name in _solution(GRADE_IDS[grade_id]) for name in probe.names)
    probe.visible(_solution(GRADE_IDS[grade_id]), {})
    with pytest.raises(NotImplementedError):
        probe.visible(namespace_of(GRADE_IDS[grade_id], "notebooks"), {})


@pytest.mark.parametrize(("grade_id", "mistake"), CASES, ids=[f"{g}-{m}" for g, m in CASES])
def test_a_mistake_fails_without_showing_the_expected_values(grade_id, mistake):
    name, source = WRONG[grade_id][mistake]
    namespace = namespace_of(GRADE_IDS[grade_id], replace={name: source})
    with pytest.raises(Failed) as failure:
        run_here(grade_id, namespace)
    message = str(failure.value)
    assert message
    shown = [text for text in _expected_texts(grade_id) if text in message]
    assert not shown, f"the message shows expected value(s) {shown}: {message}"


def test_the_expected_texts_are_not_empty_where_the_judge_compares_numbers():
    for grade_id in GRADE_IDS:
        if grade_id != "nb01_sample_negatives_tests":     # its outputs are item ids, judged by their properties
            assert len(_expected_texts(grade_id)) > 5, grade_id


def test_a_probe_leaves_the_global_generators_as_they_were():
    import torch

    namespace = _solution("02_autoencoders")
    np.random.seed(3)  # noqa: NPY002 - the caller's state, to compare
    torch.manual_seed(3)
    before = (np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())  # noqa: NPY002
    for grade_id in ("nb02_corruption_and_loss_tests", "nb02_vae_terms_tests"):
        run_here(grade_id, namespace)
    assert np.array_equal(np.random.get_state()[1], before[0])  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), before[1])
