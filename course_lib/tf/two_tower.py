"""Two-tower models. Twin: course_lib/torch/two_tower.py.

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

import keras
import numpy as np
import tensorflow as tf

from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_negatives
from course_lib.side_features import FeatureEncoder
from course_lib.tf.training import TFRecommender, dense_weights, get_device, make_optimizer, minibatches, progress
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


def _table(rows: int, columns: int, std: float, seed: int, name: str, owner: keras.Model) -> tf.Variable:
    # One initializer per table with its own seed: a shared one can give identical tables.
    return owner.add_weight(shape=(rows, columns), name=name,
                            initializer=keras.initializers.RandomNormal(stddev=std, seed=seed))


class Tower(keras.Model):
    """Dense + ReLU for each hidden width, then a linear output layer (no activation).

    ``init``: ``"he"`` (weights N(0, 2 / fan_in), keeps the variance through ReLUs), ``"normal"``
    (N(0, 1): too large, the usual way to kill a narrow network) or ``"default"`` (PyTorch's
    ``nn.Linear`` default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in the twin).
    """

    def __init__(self, input_dim: int, hidden_dims: tuple[int, ...], output_dim: int, init: str = "he",
                 seed: int = 0, output_relu: bool = False) -> None:
        super().__init__()
        self.output_relu = output_relu
        widths = [input_dim, *hidden_dims, output_dim]
        self.linears = []
        for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            if init == "he":
                kernel = keras.initializers.RandomNormal(stddev=(2.0 / fan_in) ** 0.5, seed=seed + index)
            elif init == "normal":
                kernel = keras.initializers.RandomNormal(stddev=1.0, seed=seed + index)
            else:
                bound = 1.0 / fan_in ** 0.5
                kernel = keras.initializers.RandomUniform(-bound, bound, seed=seed + index)
            bias = (keras.initializers.RandomUniform(-1.0 / fan_in ** 0.5, 1.0 / fan_in ** 0.5, seed=seed + 100 + index)
                    if init == "default" else "zeros")
            dense = keras.layers.Dense(fan_out, kernel_initializer=kernel, bias_initializer=bias)
            dense.build((None, fan_in))  # the variables exist at once, so weights can be set before a call
            self.linears.append(dense)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        hidden = inputs                                           # (B, input_dim)
        for dense in self.linears[:-1]:
            hidden = tf.nn.relu(dense(hidden))                    # (B, H)
        outputs = self.linears[-1](hidden)                        # (B, output_dim)
        return tf.nn.relu(outputs) if self.output_relu else outputs

    def weight_map(self, prefix: str) -> dict[str, tuple[Any, bool]]:
        entries: dict[str, tuple[Any, bool]] = {}
        for index, dense in enumerate(self.linears):
            entries.update(dense_weights(dense, f"{prefix}.linears.{index}"))
        return entries


def in_batch_softmax_loss(user_vectors: tf.Tensor, item_vectors: tf.Tensor, log_q: tf.Tensor | None = None,
                          temperature: float = 1.0) -> tf.Tensor:
    """Row b's positive is item b; the other items of the batch are its negatives.

    ``logits[b, c] = <u_b, v_c> / temperature - log q_c``: popular items appear as negatives more
    often than uniform sampling would make them, and subtracting ``log q`` undoes that bias.
    """
    logits = tf.matmul(user_vectors, item_vectors, transpose_b=True) / temperature  # (B, B)
    if log_q is not None:
        logits = logits - log_q[None, :]                                            # one correction per column
    labels = tf.range(tf.shape(logits)[0])                                          # (B,) the diagonal
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


class ConcatMLPNet(keras.Model):
    """[p_u ; q_i] (B, 2E) -> MLP -> logit (B,)."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, hidden_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        self.user_embeddings = _table(n_users, embedding_dim, 0.1, seed, "user_embeddings", self)
        self.item_embeddings = _table(n_items, embedding_dim, 0.1, seed + 1000, "item_embeddings", self)
        self.mlp = Tower(2 * embedding_dim, tuple(hidden_dims), 1, init, seed + 1)

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        pairs = tf.concat([tf.gather(self.user_embeddings, user_ids),
                           tf.gather(self.item_embeddings, item_ids)], -1)    # (B, 2E)
        return self.mlp(pairs)[:, 0]                                         # (B,)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False),
                **self.mlp.weight_map("mlp")}


class TwoTowerMLPNet(keras.Model):
    """tower(p_u) * tower(q_i) (B, D) -> Dense -> logit (B,); ``tower_dims`` ends with D."""

    def __init__(self, n_users: int, n_items: int, embedding_dim: int, tower_dims: tuple[int, ...],
                 init: str = "he", seed: int = 0) -> None:
        super().__init__()
        scale = 1.0 if init == "normal" else 0.1
        self.user_embeddings = _table(n_users, embedding_dim, scale, seed, "user_embeddings", self)
        self.item_embeddings = _table(n_items, embedding_dim, scale, seed + 1000, "item_embeddings", self)
        *hidden, output = tower_dims
        self.user_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 1)
        self.item_tower = Tower(embedding_dim, tuple(hidden), output, init, seed + 2)
        # starts as a plain dot product of the two towers
        self.output_layer = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
        self.output_layer.build((None, output))

    def call(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        users = self.user_tower(tf.gather(self.user_embeddings, user_ids))    # (B, D)
        items = self.item_tower(tf.gather(self.item_embeddings, item_ids))    # (B, D)
        return self.output_layer(users * items)[:, 0]                        # (B,)

    def all_scores(self, user_ids: tf.Tensor) -> tf.Tensor:
        users = self.user_tower(tf.gather(self.user_embeddings, user_ids))    # (U, D)
        items = self.item_tower(self.item_embeddings)                        # (I, D)
        weighted = users * self.output_layer.kernel[:, 0]                    # (U, D)
        return tf.matmul(weighted, items, transpose_b=True) + self.output_layer.bias  # (U, I)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {"user_embeddings": (self.user_embeddings, False), "item_embeddings": (self.item_embeddings, False),
                **self.user_tower.weight_map("user_tower"), **self.item_tower.weight_map("item_tower"),
                **dense_weights(self.output_layer, "output")}


class TwoTowerRetrievalNet(keras.Model):
    """User tower over [id ; age ; gender ; occupation], item tower over [id ; genres ; year]; both end in D.

    The item id table has one extra last row, the *unknown item*: training swaps some ids for it
    (id dropout), so the item tower also learns to encode an item from its features alone.
    """

    _TABLES = ("user_id_embeddings", "age_embeddings", "gender_embeddings", "occupation_embeddings",
               "item_id_embeddings", "genre_embeddings", "year_embeddings")

    def __init__(self, n_users: int, n_items: int, user_cardinalities: tuple[int, int, int], n_genres: int,
                 n_year_codes: int, embedding_dim: int = 64, feature_dim: int = 16, hidden_dim: int = 128,
                 output_dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        shapes = [(n_users, embedding_dim), *((n, feature_dim) for n in user_cardinalities),
                  (n_items + 1, embedding_dim), (max(n_genres, 1), feature_dim), (n_year_codes, feature_dim)]
        for index, (name, (rows, columns)) in enumerate(zip(self._TABLES, shapes, strict=True)):
            setattr(self, name, _table(rows, columns, 0.1, seed + 1000 * (index + 1), name, self))
        self.user_tower = Tower(embedding_dim + 3 * feature_dim, (hidden_dim,), output_dim, "he", seed + 1)
        self.item_tower = Tower(embedding_dim + 2 * feature_dim, (hidden_dim,), output_dim, "he", seed + 2)

    def encode_users(self, user_ids: tf.Tensor, user_codes: tf.Tensor) -> tf.Tensor:
        parts = [tf.gather(self.user_id_embeddings, user_ids),                 # (B, E)
                 tf.gather(self.age_embeddings, user_codes[:, 0]),             # (B, F)
                 tf.gather(self.gender_embeddings, user_codes[:, 1]),          # (B, F)
                 tf.gather(self.occupation_embeddings, user_codes[:, 2])]      # (B, F)
        return self.user_tower(tf.concat(parts, -1))                           # (B, D)

    def encode_items(self, item_ids: tf.Tensor, genres: tf.Tensor, year_codes: tf.Tensor) -> tf.Tensor:
        n_genres = tf.maximum(tf.reduce_sum(genres, -1, keepdims=True), 1.0)  # (B, 1)
        parts = [tf.gather(self.item_id_embeddings, item_ids),                 # (B, E)
                 tf.matmul(genres, self.genre_embeddings) / n_genres,          # (B, F) mean of genres
                 tf.gather(self.year_embeddings, year_codes)]                  # (B, F)
        return self.item_tower(tf.concat(parts, -1))                           # (B, D)

    def weight_map(self) -> dict[str, tuple[Any, bool]]:
        return {**{name: (getattr(self, name), False) for name in self._TABLES},
                **self.user_tower.weight_map("user_tower"), **self.item_tower.weight_map("item_tower")}


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


def _ids(values: Any) -> tf.Tensor:
    return tf.constant(np.asarray(values), tf.int64)


def _plain_sgd(variables: list, gradients: list, learning_rate: float) -> None:
    for variable, gradient in zip(variables, gradients, strict=True):
        if gradient is not None:
            variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))


class _Pointwise(TFRecommender):
    """Shared loop of the pointwise models: each epoch, every training pair (label 1) and
    ``n_negatives`` sampled unseen items per pair (label 0), binary cross-entropy, Adam."""

    _description = ""

    def __init__(self, embedding_dim: int = 32, hidden_dims: tuple[int, ...] = (64, 32), n_negatives: int = 4,
                 epochs: int = 10, batch_size: int = 2048, learning_rate: float = 0.003, init: str = "he",
                 seed: int = 0, device: str | None = None) -> None:
        self.embedding_dim, self.hidden_dims, self.n_negatives = embedding_dim, hidden_dims, n_negatives
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.init, self.seed, self.device = init, seed, device

    def _build(self) -> keras.Model:  # pragma: no cover - interface
        raise NotImplementedError

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        return self.network_.weight_map()

    def fit(self, train: Interactions, show_progress: bool = True) -> _Pointwise:
        """Learn from ``train``; ``history_["loss"]`` holds the mean loss of each epoch."""
        _positive_int(self, "embedding_dim", "n_negatives", "epochs", "batch_size", "seed")
        _positive_number(self, "learning_rate")
        _widths("hidden_dims", self.hidden_dims)
        check_choice("init", self.init, ("he", "normal", "default"))
        device = get_device(self.device)  # before any state changes
        train = self._start_fit(train)
        self.device_ = device
        with tf.device(self.device_):
            self.network_ = self._build()
            self.optimizer_ = make_optimizer("adam", self.learning_rate)  # the PyTorch twin's Adam (course_lib.optim)
            step = tf.function(self._step, reduce_retracing=True)
            rng = np.random.default_rng(self.seed)
            matrix = train.to_csr()
            users, items = train.users.astype(np.int64), train.items.astype(np.int64)
            self.history_ = {"loss": [], "seconds": []}
            started = time.perf_counter()
            for _ in progress(range(self.epochs), show_progress, self._description):
                negatives = sample_negatives(matrix, users, self.n_negatives, seed=rng)   # (N, n_negatives)
                all_users = np.concatenate([users, np.repeat(users, self.n_negatives)])
                all_items = np.concatenate([items, negatives.ravel()])
                labels = np.repeat(np.float32([1.0, 0.0]), [len(users), negatives.size])
                total = 0.0
                for rows in minibatches(len(all_users), self.batch_size, rng):
                    loss = step(_ids(all_users[rows]), _ids(all_items[rows]), tf.constant(labels[rows]))
                    total += float(loss) * len(rows)
                self.history_["loss"].append(total / len(all_users))
                self.history_["seconds"].append(time.perf_counter() - started)
        return self

    def _loss(self, users: tf.Tensor, items: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        logits = self.network_(users, items)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def _step(self, users: tf.Tensor, items: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self._loss(users, items, labels)
        variables = self.network_.trainable_variables
        self.optimizer_.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer (Adam) on one batch, in ``loss_on_batch``'s form;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        users, items, labels = batch
        with tf.device(self.device_):
            return float(self._step(_ids(users), _ids(items), tf.constant(np.asarray(labels, np.float32))))

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """Binary cross-entropy of one batch of (users, items, labels)."""
        self._check_fitted()
        users, items, labels = batch
        return float(self._loss(_ids(users), _ids(items), tf.constant(np.asarray(labels, np.float32))))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        users, items, labels = batch
        variables = self.network_.trainable_variables
        with tf.GradientTape() as tape:
            loss = self._loss(_ids(users), _ids(items), tf.constant(np.asarray(labels, np.float32)))
        _plain_sgd(variables, tape.gradient(loss, variables), learning_rate)

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """The probability of an interaction, ``sigmoid(logit)``, for pairs of (user, item)."""
        from course_lib.base import check_item_ids

        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        with tf.device(self.device_):
            return tf.sigmoid(self.network_(_ids(user_ids), _ids(item_ids))).numpy()


class ConcatMLP(_Pointwise):
    """Variant 1: user and item embeddings concatenated into an MLP that outputs one logit.

    Parameters: ``embedding_dim`` E, ``hidden_dims`` of the MLP, ``n_negatives`` per positive,
    ``epochs``, ``batch_size``, ``learning_rate`` (Adam), ``init`` of the MLP ("he", "normal",
    "default"), ``seed``, ``device``.
    """

    _description = "ConcatMLP (TensorFlow)"

    def _build(self) -> keras.Model:
        return ConcatMLPNet(self.n_users_, self.n_items_, self.embedding_dim, _widths("hidden_dims", self.hidden_dims),
                            self.init, self.seed)

    def score(self, user_ids: Any, chunk_pairs: int = 1 << 17) -> np.ndarray:
        """The MLP must see every (user, item) pair: users go through in chunks of ``chunk_pairs`` pairs."""
        user_ids = self._user_ids(user_ids)
        n_items, step = self.n_items_, max(1, chunk_pairs // self.n_items_)
        items = tf.range(n_items, dtype=tf.int64)
        parts = []
        with tf.device(self.device_):
            for start in range(0, len(user_ids), step):
                users = _ids(user_ids[start:start + step])                                    # (U,)
                logits = self.network_(tf.repeat(users, n_items), tf.tile(items, [len(users)]))  # (U * I,)
                parts.append(tf.reshape(logits, (len(users), n_items)).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, n_items), np.float32)


class TwoTowerMLP(_Pointwise):
    """Variant 2: a tower per side over its embedding, merged by an element-wise product and a final layer.

    Parameters as ``ConcatMLP``; ``hidden_dims`` are the tower's widths, the last one is D.
    ``init="normal"`` with narrow towers reproduces the collapse shown in notebook 04.
    """

    _description = "TwoTowerMLP (TensorFlow)"

    def _build(self) -> keras.Model:
        return TwoTowerMLPNet(self.n_users_, self.n_items_, self.embedding_dim,
                              _widths("hidden_dims", self.hidden_dims), self.init, self.seed)

    def score(self, user_ids: Any) -> np.ndarray:
        user_ids = self._user_ids(user_ids)
        with tf.device(self.device_):
            return self.network_.all_scores(_ids(user_ids)).numpy()


class TwoTowerRetrieval(TFRecommender):
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

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        return self.network_.weight_map()

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
        with tf.device(self.device_):
            self.network_ = TwoTowerRetrievalNet(
                self.n_users_, self.n_items_, user_cardinalities=self.encoder_.user_cardinalities,
                n_genres=self.genres_.shape[1], n_year_codes=self.encoder_.n_year_codes,
                embedding_dim=self.embedding_dim, feature_dim=self.feature_dim, hidden_dim=self.hidden_dim,
                output_dim=self.output_dim, seed=self.seed)
            self._tables = (tf.constant(self.user_codes_), tf.constant(self.genres_), tf.constant(self.year_codes_),
                            tf.constant(self.log_q_))
            self.optimizer_ = make_optimizer("adam", self.learning_rate)  # the PyTorch twin's Adam (course_lib.optim)
            step = tf.function(self._step, reduce_retracing=True)
            rng = np.random.default_rng(self.seed)
            self.history_ = {"loss": [], "seconds": []}
            started = time.perf_counter()
            for _ in progress(range(self.epochs), show_progress, "TwoTowerRetrieval (TensorFlow)"):
                total, count = 0.0, 0
                for users, shown, items in self._batches(train, rng):
                    if len(users) < 2:
                        continue
                    loss = step(_ids(users), _ids(shown), _ids(items))
                    total, count = total + float(loss) * len(users), count + len(users)
                self.history_["loss"].append(total / max(count, 1))
                self.history_["seconds"].append(time.perf_counter() - started)
        return self

    def _loss(self, users: tf.Tensor, shown: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        user_codes, genres, year_codes, log_q = self._tables
        user_vectors = self.network_.encode_users(users, tf.gather(user_codes, users))                  # (B, D)
        item_vectors = self.network_.encode_items(shown, tf.gather(genres, items), tf.gather(year_codes, items))
        return in_batch_softmax_loss(user_vectors, item_vectors,
                                     tf.gather(log_q, items) if self.logq_correction else None, self.temperature)

    def _step(self, users: tf.Tensor, shown: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self._loss(users, shown, items)
        variables = self.network_.trainable_variables
        self.optimizer_.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    def optimizer_step(self, batch: tuple[Any, Any, Any]) -> float:
        """One step of the model's own optimizer (Adam) on one batch, in ``loss_on_batch``'s form;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._step(*(_ids(a) for a in batch)))

    def loss_on_batch(self, batch: tuple[Any, Any, Any]) -> float:
        """The in-batch softmax loss of one batch of (users, shown item ids, item ids)."""
        self._check_fitted()
        return float(self._loss(*(_ids(a) for a in batch)))

    def sgd_step(self, batch: tuple[Any, Any, Any], learning_rate: float) -> None:
        """One plain gradient step on one batch (the parity tests compare it across frameworks)."""
        self._check_fitted()
        variables = self.network_.trainable_variables
        with tf.GradientTape() as tape:
            loss = self._loss(*(_ids(a) for a in batch))
        _plain_sgd(variables, tape.gradient(loss, variables), learning_rate)

    def user_vectors(self, user_ids: Any) -> np.ndarray:
        """The user tower's output, (len(user_ids), D)."""
        user_ids = self._user_ids(user_ids)
        with tf.device(self.device_):
            users = _ids(user_ids)
            return self.network_.encode_users(users, tf.gather(self._tables[0], users)).numpy()

    def item_vectors(self, item_ids: Any = None, drop_ids: bool = False) -> np.ndarray:
        """The item tower's output, (len(item_ids), D), all items by default; ``drop_ids`` encodes
        each item from its features alone, as if it were new."""
        from course_lib.base import check_item_ids

        self._check_fitted()
        item_ids = np.arange(self.n_items_) if item_ids is None else check_item_ids(item_ids, self.n_items_)
        with tf.device(self.device_):
            items = _ids(item_ids)
            shown = tf.fill(tf.shape(items), tf.constant(self.n_items_, tf.int64)) if drop_ids else items
            return self.network_.encode_items(shown, tf.gather(self._tables[1], items),
                                              tf.gather(self._tables[2], items)).numpy()

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
        with tf.device(self.device_):
            shown = tf.fill((len(genres),), tf.constant(self.n_items_, tf.int64))
            items = self.network_.encode_items(shown, tf.constant(genres), _ids(year_codes))
        return self.user_vectors(user_ids) @ items.numpy().T                   # (U, N)
