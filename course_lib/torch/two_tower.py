"""Two-tower models. Twin: course_lib/tf/two_tower.py.

Letters: B batch, E id embedding size, F feature embedding size, H hidden width, D output size,
G genres, U users scored at once, I n_items.

1. ``ConcatMLP``: [p_u ; q_i] -> MLP -> one logit (He et al., "Neural Collaborative Filtering", WWW 2017, its MLP part).
2. ``TwoTowerMLP``: tower(p_u) * tower(q_i) -> Linear -> one logit.
   Both learn pointwise: positives against sampled negatives with binary cross-entropy.
3. ``TwoTowerRetrieval``: towers over ids *and* side features, a dot product, and an in-batch
   sampled softmax with the logQ correction (Yi et al., "Sampling-Bias-Corrected Neural Modeling
   for Large Corpus Item Recommendations", RecSys 2019); it can score items known only by features.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_negatives
from course_lib.side_features import FeatureEncoder
from course_lib.torch.training import (
    TorchRecommender,
    build_network,
    default_init,
    get_device,
    make_optimizer,
    minibatches,
    progress,
)
from course_lib.validation import (
    argument_error,
    check_choice,
    check_epochs,
    check_integer,
    check_integer_sequence,
    check_number,
)

__all__ = ["Tower", "in_batch_softmax_loss", "ConcatMLPNet", "TwoTowerMLPNet", "TwoTowerRetrievalNet",
           "ConcatMLP", "TwoTowerMLP", "TwoTowerRetrieval"]


class Tower(nn.Module):
    """Linear + ReLU for each hidden width, then a linear output layer (no activation).

    ``init``: ``"he"`` (weights N(0, 2 / fan_in), keeps the variance through ReLUs), ``"normal"``
    (N(0, 1): too large, the usual way to kill a narrow network) or ``"default"`` (PyTorch's
    ``nn.Linear`` default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in the twin).
    """

    def __init__(self, input_dim: int, hidden_dims: tuple[int, ...], output_dim: int, init: str = "he",
                 seed: int = 0, output_relu: bool = False) -> None:
        super().__init__()
        self.output_relu = output_relu
        widths = [input_dim, *hidden_dims, output_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        generator = torch.Generator().manual_seed(seed)
        if init == "default":  # PyTorch's distributions, from the tower's own generator
            default_init(self.linears, generator)
        with torch.no_grad():
            for linear in self.linears:
                if init == "he":
                    linear.weight.normal_(0.0, (2.0 / linear.in_features) ** 0.5, generator=generator)
                elif init == "normal":
                    linear.weight.normal_(0.0, 1.0, generator=generator)
                if init != "default":
                    linear.bias.zero_()

    def forward(self, inputs: Tensor) -> Tensor:
        hidden = inputs                                           # (B, input_dim)
        for linear in self.linears[:-1]:
            hidden = torch.relu(linear(hidden))                   # (B, H)
        outputs = self.linears[-1](hidden)                        # (B, output_dim)
        return torch.relu(outputs) if self.output_relu else outputs


def in_batch_softmax_loss(user_vectors: Tensor, item_vectors: Tensor, log_q: Tensor | None = None,
                          temperature: float = 1.0) -> Tensor:
    """Row b's positive is item b; the other items of the batch are its negatives.

    ``logits[b, c] = <u_b, v_c> / temperature - log q_c``: popular items appear as negatives more
    often than uniform sampling would make them, and subtracting ``log q`` undoes that bias.
    """
    logits = user_vectors @ item_vectors.T / temperature           # (B, B)
    if log_q is not None:
        logits = logits - log_q[None, :]                           # one correction per column (item)
    labels = torch.arange(len(logits), device=logits.device)       # (B,) the diagonal
    return nn.functional.cross_entropy(logits, labels)


class ConcatMLPNet(nn.Module):
    """[p_u ; q_i] (B, 2E) -> MLP -> logit (B,)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.user_embeddings = nn.Parameter(0.1 * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(0.1 * torch.randn(n_items, embedding_dim, generator=generator))
        self.mlp = Tower(2 * embedding_dim, tuple(hidden_dims), 1, init, seed + 1)

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        pairs = torch.cat([self.user_embeddings[user_ids], self.item_embeddings[item_ids]], -1)  # (B, 2E)
        return self.mlp(pairs)[:, 0]                                                             # (B,)


class TwoTowerMLPNet(nn.Module):
    """tower(p_u) * tower(q_i) (B, D) -> Linear -> logit (B,); ``tower_dims`` ends with D."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, tower_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        scale = 1.0 if init == "normal" else 0.1
        self.user_embeddings = nn.Parameter(scale * torch.randn(n_users, embedding_dim, generator=generator))
        self.item_embeddings = nn.Parameter(scale * torch.randn(n_items, embedding_dim, generator=generator))
        *hidden, output = tower_dims
        self.user_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 1, output_relu=False)
        self.item_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 2, output_relu=False)
        self.output = nn.Linear(output, 1)
        with torch.no_grad():
            self.output.weight.fill_(1.0)  # starts as a plain dot product of the two towers
            self.output.bias.zero_()

    def forward(self, user_ids: Tensor, item_ids: Tensor) -> Tensor:
        users = self.user_tower(self.user_embeddings[user_ids])    # (B, D)
        items = self.item_tower(self.item_embeddings[item_ids])    # (B, D)
        return self.output(users * items)[:, 0]                    # (B,)

    def all_scores(self, user_ids: Tensor) -> Tensor:
        users = self.user_tower(self.user_embeddings[user_ids])    # (U, D)
        items = self.item_tower(self.item_embeddings)              # (I, D)
        return (users * self.output.weight) @ items.T + self.output.bias  # (U, I)


class TwoTowerRetrievalNet(nn.Module):
    """User tower over [id ; age ; gender ; occupation], item tower over [id ; genres ; year]; both end in D.

    The item id table has one extra last row, the *unknown item*: training swaps some ids for it
    (id dropout), so the item tower also learns to encode an item from its features alone.
    """

    def __init__(self, n_users: int, n_items: int, user_cardinalities: tuple[int, int, int], n_genres: int,
                 n_year_codes: int, embedding_dim: int = 64, feature_dim: int = 16, hidden_dim: int = 128,
                 output_dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)

        def table(rows: int, columns: int) -> nn.Parameter:
            return nn.Parameter(0.1 * torch.randn(rows, columns, generator=generator))

        self.user_id_embeddings = table(n_users, embedding_dim)
        self.age_embeddings, self.gender_embeddings, self.occupation_embeddings = (
            table(n, feature_dim) for n in user_cardinalities)
        self.item_id_embeddings = table(n_items + 1, embedding_dim)
        self.genre_embeddings = table(max(n_genres, 1), feature_dim)
        self.year_embeddings = table(n_year_codes, feature_dim)
        self.user_tower = Tower(embedding_dim + 3 * feature_dim, (hidden_dim,), output_dim, "he", seed + 1)
        self.item_tower = Tower(embedding_dim + 2 * feature_dim, (hidden_dim,), output_dim, "he", seed + 2)

    def encode_users(self, user_ids: Tensor, user_codes: Tensor) -> Tensor:
        parts = [self.user_id_embeddings[user_ids],                           # (B, E)
                 self.age_embeddings[user_codes[:, 0]],                       # (B, F)
                 self.gender_embeddings[user_codes[:, 1]],                    # (B, F)
                 self.occupation_embeddings[user_codes[:, 2]]]                # (B, F)
        return self.user_tower(torch.cat(parts, -1))                          # (B, D)

    def encode_items(self, item_ids: Tensor, genres: Tensor, year_codes: Tensor) -> Tensor:
        n_genres = genres.sum(-1, keepdim=True).clamp(min=1.0)                # (B, 1)
        parts = [self.item_id_embeddings[item_ids],                           # (B, E)
                 genres[:, :len(self.genre_embeddings)] @ self.genre_embeddings / n_genres,  # (B, F) mean of genres
                 self.year_embeddings[year_codes]]                            # (B, F)
        return self.item_tower(torch.cat(parts, -1))                          # (B, D)


def _positive_int(model: Any, *names: str) -> None:
    for name in names:
        if name == "epochs":
            check_epochs(model.epochs)  # 0 means no training, as in every model
        elif name == "seed":
            check_integer(name, model.seed, minimum=0)
        else:
            check_integer(name, getattr(model, name), minimum=1)


def _positive_number(model: Any, *names: str) -> None:
    for name in names:
        check_number(name, getattr(model, name), minimum=0.0, minimum_open=True)


def _widths(name: str, values: Any) -> tuple[int, ...]:
    widths = check_integer_sequence(name, values, minimum=1)
    if not widths:
        raise argument_error(name, "a non-empty sequence of positive integers", values)
    return widths


class _Pointwise(TorchRecommender):
    """Shared loop of the pointwise models: each epoch, every training pair (label 1) and
    ``n_negatives`` sampled unseen items per pair (label 0), binary cross-entropy, Adam."""

    _description = ""

    def __init__(self, embedding_dim: int = 32, hidden_dims: tuple[int, ...] = (64, 32), n_negatives: int = 4,
                 epochs: int = 10, batch_size: int = 2048, learning_rate: float = 0.003, init: str = "he",
                 seed: int = 0, device: str | None = None) -> None:
        self.embedding_dim, self.hidden_dims, self.n_negatives = embedding_dim, hidden_dims, n_negatives
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.init, self.seed, self.device = init, seed, device

    def _build(self) -> nn.Module:  # pragma: no cover - interface
        raise NotImplementedError

    def fit(self, train: Interactions, show_progress: bool = True) -> _Pointwise:
        """Learn from ``train``; ``history_["loss"]`` holds the mean loss of each epoch."""
        _positive_int(self, "embedding_dim", "n_negatives", "epochs", "batch_size", "seed")
        _positive_number(self, "learning_rate")
        _widths("hidden_dims", self.hidden_dims)
        check_choice("init", self.init, ("he", "normal", "default"))
        device = get_device(self.device)  # before any state changes
        train = self._start_fit(train)
        self.device_ = device
        self.network_ = build_network(self._build, self.device_)
        self.optimizer_ = make_optimizer("adam", self.network_.parameters(), self.learning_rate)
        rng = np.random.default_rng(self.seed)
        matrix = train.to_csr()
        users, items = train.users.astype(np.int64), train.items.astype(np.int64)
        self.history_ = {"loss": [], "seconds": []}
        started = time.perf_counter()
        for _ in progress(range(self.epochs), show_progress, self._description):
            negatives = sample_negatives(matrix, users, self.n_negatives, seed=rng)       # (N, n_negatives)
            all_users = self._tensor(np.concatenate([users, np.repeat(users, self.n_negatives)]))
            all_items = self._tensor(np.concatenate([items, negatives.ravel()]))
            labels = self._tensor(np.repeat([1.0, 0.0], [len(users), negatives.size]), torch.float32)
            total = 0.0
            for rows in minibatches(len(all_users), self.batch_size, rng):
                rows = self._tensor(rows)
                loss = self._step(all_users[rows], all_items[rows], labels[rows])
                total += float(loss) * len(rows)
            self.history_["loss"].append(total / len(all_users))
            self.history_["seconds"].append(time.perf_counter() - started)
        return self

    def _loss(self, users: Tensor, items: Tensor, labels: Tensor) -> Tensor:
        return nn.functional.binary_cross_entropy_with_logits(self.network_(users, items), labels)

    def _step(self, users: Tensor, items: Tensor, labels: Tensor) -> Tensor:
        loss = self._loss(users, items, labels)
        self.optimizer_.zero_grad()
        loss.backward()
        self.optimizer_.step()
        return loss.detach()

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer (Adam) on one batch, in ``loss_on_batch``'s form;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        users, items, labels = batch
        return float(self._step(self._tensor(users), self._tensor(items), self._tensor(labels, torch.float32)))

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """Binary cross-entropy of one batch of (users, items, labels)."""
        self._check_fitted()
        users, items, labels = batch
        with torch.no_grad():
            return float(self._loss(self._tensor(users), self._tensor(items), self._tensor(labels, torch.float32)))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        users, items, labels = batch
        loss = self._loss(self._tensor(users), self._tensor(items), self._tensor(labels, torch.float32))
        self.network_.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                parameter -= learning_rate * parameter.grad

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """The probability of an interaction, ``sigmoid(logit)``, for pairs of (user, item)."""
        from course_lib.base import check_item_ids

        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        with torch.no_grad():
            return torch.sigmoid(self.network_(self._tensor(user_ids), self._tensor(item_ids))).cpu().numpy()


class ConcatMLP(_Pointwise):
    """Variant 1: user and item embeddings concatenated into an MLP that outputs one logit.

    Parameters: ``embedding_dim`` E, ``hidden_dims`` of the MLP, ``n_negatives`` per positive,
    ``epochs``, ``batch_size``, ``learning_rate`` (Adam), ``init`` of the MLP ("he", "normal",
    "default"), ``seed``, ``device``.
    """

    _description = "ConcatMLP (PyTorch)"

    def _build(self) -> nn.Module:
        return ConcatMLPNet(self.n_users_, self.n_items_, self.embedding_dim, _widths("hidden_dims", self.hidden_dims),
                            self.init, self.seed)

    def score(self, user_ids: Any, chunk_pairs: int = 1 << 17) -> np.ndarray:
        """The MLP must see every (user, item) pair: users go through in chunks of ``chunk_pairs`` pairs."""
        user_ids = self._user_ids(user_ids)
        n_items, step = self.n_items_, max(1, chunk_pairs // self.n_items_)
        items = torch.arange(n_items, device=self.device_)
        parts = []
        with torch.no_grad():
            for start in range(0, len(user_ids), step):
                users = self._tensor(user_ids[start:start + step])                      # (U,)
                logits = self.network_(users.repeat_interleave(n_items), items.repeat(len(users)))  # (U * I,)
                parts.append(logits.reshape(len(users), n_items).cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, n_items), np.float32)


class TwoTowerMLP(_Pointwise):
    """Variant 2: a tower per side over its embedding, merged by an element-wise product and a final layer.

    Parameters as ``ConcatMLP``; ``hidden_dims`` are the tower's widths, the last one is D.
    ``init="normal"`` with narrow towers reproduces the collapse shown in notebook 04.
    """

    _description = "TwoTowerMLP (PyTorch)"

    def _build(self) -> nn.Module:
        return TwoTowerMLPNet(self.n_users_, self.n_items_, self.embedding_dim,
                              _widths("hidden_dims", self.hidden_dims), self.init, self.seed)

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        with torch.no_grad():
            return self.network_.all_scores(self._tensor(user_ids)).cpu().numpy()


class TwoTowerRetrieval(TorchRecommender):
    """Feature towers, a dot product, an in-batch softmax with the logQ correction.

    Parameters
    ----------
    embedding_dim, feature_dim, hidden_dim, output_dim: E, F, H and D of the towers.
    temperature: divides the dot products before the softmax (smaller: sharper).
    logq_correction: subtract ``log q_i`` (the share of training interactions of item i) from the logits.
    item_id_dropout: the share of training items whose id is replaced by the unknown id, so that
        the item tower learns to work from features alone (cold start).
    epochs, batch_size, learning_rate, seed, device: the training loop (Adam); B is the number of
        in-batch negatives plus one.

    Scoring is brute force: every item's vector once, then one matrix product per batch of users.
    """

    def __init__(self, embedding_dim: int = 32, feature_dim: int = 8, hidden_dim: int = 128, output_dim: int = 64,
                 temperature: float = 0.1, logq_correction: bool = True, item_id_dropout: float = 0.2,
                 epochs: int = 5, batch_size: int = 1024, learning_rate: float = 0.005, seed: int = 0,
                 device: str | None = None) -> None:
        self.embedding_dim, self.feature_dim, self.hidden_dim, self.output_dim = (
            embedding_dim, feature_dim, hidden_dim, output_dim)
        self.temperature, self.logq_correction, self.item_id_dropout = temperature, logq_correction, item_id_dropout
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.seed, self.device = seed, device

    def _prepare(self, train: Interactions) -> None:
        _positive_int(self, "embedding_dim", "feature_dim", "hidden_dim", "output_dim", "epochs", "batch_size", "seed")
        _positive_number(self, "temperature", "learning_rate")
        check_number("item_id_dropout", self.item_id_dropout, 0.0, 1.0, maximum_open=True)
        if self.batch_size < 2:
            raise argument_error("batch_size", "at least 2", self.batch_size,
                                 "The other items of a batch are the negatives.")
        self.encoder_ = FeatureEncoder().fit(train)
        self.user_codes_ = self.encoder_.encode_users(train)                    # (n_users, 3)
        genres, self.year_codes_ = self.encoder_.encode_items(train)           # (n_items, G), (n_items,)
        self.genres_ = genres if genres.shape[1] else np.zeros((train.n_items, 1), np.float32)
        counts = np.bincount(train.items, minlength=train.n_items)
        self.log_q_ = np.log(np.maximum(counts, 1) / len(train)).astype(np.float32)  # (n_items,)

    def _network_arguments(self) -> dict[str, Any]:
        return dict(user_cardinalities=self.encoder_.user_cardinalities, n_genres=self.genres_.shape[1],
                    n_year_codes=self.encoder_.n_year_codes, embedding_dim=self.embedding_dim,
                    feature_dim=self.feature_dim, hidden_dim=self.hidden_dim, output_dim=self.output_dim,
                    seed=self.seed)

    def _batches(self, train: Interactions, rng: np.random.Generator):
        """(users, item ids as the tower sees them, positives) per batch; dropped ids become n_items."""
        for rows in minibatches(len(train), self.batch_size, rng):
            users, items = train.users[rows].astype(np.int64), train.items[rows].astype(np.int64)
            shown = np.where(rng.random(len(rows)) < self.item_id_dropout, self.n_items_, items)
            yield users, shown, items

    def fit(self, train: Interactions, show_progress: bool = True) -> TwoTowerRetrieval:
        """Learn from ``train``; ``history_["loss"]`` holds the mean loss of each epoch."""
        device = get_device(self.device)  # before any state changes
        train = self._start_fit(train)
        self._prepare(train)
        self.device_ = device
        self.network_ = build_network(lambda: TwoTowerRetrievalNet(self.n_users_, self.n_items_, **self._network_arguments()),
                                      self.device_)
        self._tables = (self._tensor(self.user_codes_), self._tensor(self.genres_, torch.float32),
                        self._tensor(self.year_codes_), self._tensor(self.log_q_, torch.float32))
        self.optimizer_ = make_optimizer("adam", self.network_.parameters(), self.learning_rate)
        rng = np.random.default_rng(self.seed)
        self.history_ = {"loss": [], "seconds": []}
        started = time.perf_counter()
        for _ in progress(range(self.epochs), show_progress, "TwoTowerRetrieval (PyTorch)"):
            total, count = 0.0, 0
            for batch in self._batches(train, rng):
                if len(batch[0]) < 2:
                    continue
                total, count = total + self._update(batch) * len(batch[0]), count + len(batch[0])
            self.history_["loss"].append(total / max(count, 1))
            self.history_["seconds"].append(time.perf_counter() - started)
        return self

    def _loss(self, batch: tuple[Any, Any, Any]) -> Tensor:
        users, shown, items = (self._tensor(a) for a in batch)                 # (B,) each
        user_codes, genres, year_codes, log_q = self._tables
        user_vectors = self.network_.encode_users(users, user_codes[users])                        # (B, D)
        item_vectors = self.network_.encode_items(shown, genres[items], year_codes[items])         # (B, D)
        return in_batch_softmax_loss(user_vectors, item_vectors, log_q[items] if self.logq_correction else None,
                                     self.temperature)

    def _update(self, batch: tuple[Any, Any, Any]) -> float:
        loss = self._loss(batch)
        self.optimizer_.zero_grad()
        loss.backward()
        self.optimizer_.step()
        return float(loss.detach())

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer (Adam) on one batch, in ``loss_on_batch``'s form;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        return self._update(batch)

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """The in-batch softmax loss of one batch of (users, shown item ids, item ids)."""
        self._check_fitted()
        with torch.no_grad():
            return float(self._loss(batch))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        loss = self._loss(batch)
        self.network_.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                if parameter.grad is not None:
                    parameter -= learning_rate * parameter.grad

    def user_vectors(self, user_ids: Any) -> np.ndarray:
        """The user tower's output, (len(user_ids), D)."""
        user_ids = self._user_ids(user_ids)
        with torch.no_grad():
            users = self._tensor(user_ids)
            return self.network_.encode_users(users, self._tables[0][users]).cpu().numpy()

    def item_vectors(self, item_ids: Any = None, drop_ids: bool = False) -> np.ndarray:
        """The item tower's output, (len(item_ids), D), all items by default; ``drop_ids`` encodes
        each item from its features alone, as if it were new."""
        from course_lib.base import check_item_ids

        self._check_fitted()
        item_ids = np.arange(self.n_items_) if item_ids is None else check_item_ids(item_ids, self.n_items_)
        with torch.no_grad():
            items = self._tensor(item_ids)
            shown = torch.full_like(items, self.n_items_) if drop_ids else items
            return self.network_.encode_items(shown, self._tables[1][items], self._tables[2][items]).cpu().numpy()

    def score(self, user_ids: Any) -> np.ndarray:
        return self.user_vectors(user_ids) @ self.item_vectors().T             # (U, I) brute force

    def score_new_items(self, genres: Any, years: Any, user_ids: Any = None) -> np.ndarray:
        """Scores of items known only by their features: ``genres`` (N, G) 0/1 rows in the order of
        ``data.item_features`` and release ``years`` (N,). Returns (len(user_ids), N), all users by default."""
        self._check_fitted()
        genres, year_codes = self.encoder_.encode_new_items(genres, years)
        if genres.shape[1] == 0:
            genres = np.zeros((len(genres), 1), np.float32)
        user_ids = np.arange(self.n_users_) if user_ids is None else user_ids
        with torch.no_grad():
            shown = torch.full((len(genres),), self.n_items_, dtype=torch.long, device=self.device_)
            items = self.network_.encode_items(shown, self._tensor(genres, torch.float32), self._tensor(year_codes))
        return self.user_vectors(user_ids) @ items.cpu().numpy().T             # (U, N)
