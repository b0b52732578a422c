"""Next-item models over padded item sequences. Twin: course_lib/torch/sequence.py.

A sequence holds item ids + 1, left-padded with 0. Keras' ``mask_zero=True`` only *marks* the
padding (``compute_mask``); unlike PyTorch's ``padding_idx=0`` it does not keep row 0 at zero, so
the networks multiply the looked-up vectors by that mask: padding then adds nothing and row 0
gets no gradient, as in PyTorch. Each network returns the next-item logits at every position.

- ``MeanPooling``: the mean of the item embeddings seen so far (CBOW-like; Mikolov et al. 2013).
- ``GRURecommender``: a GRU over the embeddings (GRU4Rec, Hidasi et al., ICLR 2016).
- ``SelfAttention``: causal self-attention blocks with positional embeddings (SASRec,
  Kang and McAuley, ICDM 2018).

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.sequences import (
    SequenceData,
    check_model_arguments,
    check_sequences,
    check_train,
    evaluate_next_item,
    pad_or_cut,
)
from course_lib.tf.training import TFRecommender, dense_weights, get_device, make_optimizer, minibatches, progress

__all__ = ["MeanPooling", "GRURecommender", "SelfAttention", "MeanPoolingNet", "GRUNet", "SelfAttentionNet",
           "causal_mask"]


def causal_mask(sequences: tf.Tensor) -> tf.Tensor:
    """(B, L, L) True where position i may attend to position j: j <= i and j is an item.
    Every position also sees itself, so a padding row never attends to nothing (no NaN)."""
    length = tf.shape(sequences)[1]
    past = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)      # (L, L) lower triangle
    items = (sequences > 0)[:, None, :]                                          # (B, 1, L)
    itself = tf.cast(tf.eye(length), tf.bool)                                    # (L, L)
    return (past & items) | itself                                               # (B, L, L)


def _uniform(fan_in: int, seed: int) -> keras.initializers.Initializer:
    """PyTorch's default for nn.Linear and nn.GRU: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return keras.initializers.RandomUniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), seed=seed)


def _dense(units: int, fan_in: int, seed: int) -> keras.layers.Dense:
    return keras.layers.Dense(units, kernel_initializer=_uniform(fan_in, seed), bias_initializer=_uniform(fan_in, seed + 1))


def _embedding(rows: int, dim: int, std: float, seed: int, mask_zero: bool = True) -> keras.layers.Embedding:
    initializer = keras.initializers.RandomNormal(stddev=std, seed=seed)  # one seed per table
    return keras.layers.Embedding(rows, dim, embeddings_initializer=initializer, mask_zero=mask_zero)


def _embed(table: keras.layers.Embedding, sequences: tf.Tensor) -> tf.Tensor:
    mask = tf.cast(table.compute_mask(sequences), tf.float32)[..., None]  # (B, L, 1), 0 at padding
    return table(sequences) * mask                                        # (B, L, D)


class MeanPoolingNet(keras.Model):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = _embedding(n_items + 1, embedding_dim, 1.0, seed)
        self.output_layer = _dense(n_items, embedding_dim, seed + 1)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        running_sum = tf.cumsum(_embed(self.item_embeddings, sequences), axis=1)       # (B, L, D)
        seen = tf.cumsum(tf.cast(sequences > 0, tf.float32), axis=1)[..., None]        # (B, L, 1)
        return self.output_layer(running_sum / tf.maximum(seen, 1.0))                   # (B, L, I)


class GRUNet(keras.Model):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = _embedding(n_items + 1, embedding_dim, 1.0, seed)
        # reset_after=True is PyTorch's GRU: the reset gate multiplies (W_hn h + b_hn).
        self.gru = keras.layers.GRU(embedding_dim, return_sequences=True, reset_after=True,
                                    kernel_initializer=_uniform(embedding_dim, seed + 1),
                                    recurrent_initializer=_uniform(embedding_dim, seed + 2),
                                    bias_initializer=_uniform(embedding_dim, seed + 3))
        self.output_layer = _dense(n_items, embedding_dim, seed + 4)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        states = self.gru(_embed(self.item_embeddings, sequences))   # (B, L, D), no Keras mask: as PyTorch
        return self.output_layer(states)                              # (B, L, I)


class Block(keras.layers.Layer):
    """Pre-norm transformer block: causal multi-head attention, then a position-wise MLP."""

    def __init__(self, embedding_dim: int, n_heads: int, dropout: float, seed: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.query, self.key, self.value, self.mix = (_dense(embedding_dim, embedding_dim, seed + 2 * i)
                                                      for i in range(4))
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.hidden = _dense(embedding_dim, embedding_dim, seed + 8)
        self.back = _dense(embedding_dim, embedding_dim, seed + 10)
        self.dropout = keras.layers.Dropout(dropout, seed=seed + 12)

    def call(self, x: tf.Tensor, mask: tf.Tensor, training: bool = False) -> tf.Tensor:
        batch, length, dim = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        h = self.attention_norm(x)

        def heads(t: tf.Tensor) -> tf.Tensor:
            return tf.transpose(tf.reshape(t, (batch, length, self.n_heads, dim // self.n_heads)), (0, 2, 1, 3))

        q, k, v = heads(self.query(h)), heads(self.key(h)), heads(self.value(h))     # (B, K, L, D/K)
        weights = tf.matmul(q, k, transpose_b=True) / math.sqrt(dim // self.n_heads)  # (B, K, L, L)
        weights = tf.nn.softmax(tf.where(mask[:, None], weights, -np.inf), axis=-1)
        attended = tf.matmul(self.dropout(weights, training=training), v)             # (B, K, L, D/K)
        attended = tf.reshape(tf.transpose(attended, (0, 2, 1, 3)), (batch, length, dim))
        x = x + self.dropout(self.mix(attended), training=training)
        hidden = self.back(tf.nn.relu(self.hidden(self.mlp_norm(x))))
        return x + self.dropout(hidden, training=training)                             # (B, L, D)


class SelfAttentionNet(keras.Model):
    def __init__(self, n_items: int, embedding_dim: int, max_length: int, n_blocks: int, n_heads: int,
                 dropout: float, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = _embedding(n_items + 1, embedding_dim, 0.1, seed)
        self.position_embeddings = _embedding(max_length, embedding_dim, 0.02, seed + 1, mask_zero=False)
        self.blocks = [Block(embedding_dim, n_heads, dropout, seed + 100 * (b + 1)) for b in range(n_blocks)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout = keras.layers.Dropout(dropout, seed=seed + 2)
        self.output_layer = _dense(n_items, embedding_dim, seed + 3)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        positions = self.position_embeddings(tf.range(tf.shape(sequences)[1]))        # (L, D)
        x = self.item_embeddings(sequences) + positions[None]                          # (B, L, D)
        x = self.dropout(x, training=training) * tf.cast(sequences > 0, tf.float32)[..., None]
        mask = causal_mask(sequences)                                                  # (B, L, L)
        for block in self.blocks:
            x = block(x, mask, training=training)
        return self.output_layer(self.final_norm(x))                                   # (B, L, I)


class _GRUWeight:
    """A Keras GRU weight under PyTorch's name and layout. PyTorch stacks the gates (r, z, n) in
    rows of (3H, D); Keras stacks (z, r, h) in columns of (D, 3H), biases as rows of (2, 3H)."""

    def __init__(self, variable: Any, bias_row: int | None = None) -> None:
        self.variable, self.bias_row = variable, bias_row
        self.dtype = "float32"

    @staticmethod
    def _swap(value: np.ndarray) -> np.ndarray:  # (r, z, n) <-> (z, r, n) along axis 0, its own inverse
        third = value.shape[0] // 3
        return np.concatenate([value[third:2 * third], value[:third], value[2 * third:]])

    def numpy(self) -> np.ndarray:
        value = np.asarray(self.variable.numpy())
        return self._swap(value.T if self.bias_row is None else value[self.bias_row])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.numpy().shape

    def assign(self, value: np.ndarray) -> None:
        if self.bias_row is None:
            self.variable.assign(self._swap(value).T)
        else:
            full = np.asarray(self.variable.numpy()).copy()
            full[self.bias_row] = self._swap(value)
            self.variable.assign(full)


class _SequenceRecommender(TFRecommender):
    """Shared fit / score of the next-item recommenders (``SequenceData`` in, NumPy out)."""

    def __init__(self, embedding_dim: int = 64, epochs: int = 4, batch_size: int = 512, learning_rate: float = 1e-2,
                 weight_decay: float = 0.0, seed: int = 0, device: Any = None) -> None:
        self.embedding_dim = embedding_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device

    def _build(self) -> keras.Model:  # pragma: no cover - interface
        raise NotImplementedError

    def fit(self, train: SequenceData, validation: SequenceData | None = None,
            show_progress: bool = True) -> _SequenceRecommender:
        """Train with Adam on the cross-entropy of every next item; ``history_`` holds the loss
        per epoch and, given ``validation``, its MRR."""
        check_train(train)
        check_model_arguments(self)
        get_device(self.device)  # an absent device is refused before any state changes
        self.n_items_, self.max_length_ = train.n_items, train.sequences.shape[1] - 1
        sequences = check_sequences(train.sequences, self.n_items_)
        self.device_ = get_device(self.device)
        with tf.device(self.device_):
            self.network_ = self._build()
            self.network_(tf.constant(sequences[:1, 1:]))  # create the variables
            table = self.network_.item_embeddings.embeddings
            table.assign(tf.tensor_scatter_nd_update(table, [[0]], tf.zeros((1, table.shape[1]))))  # as padding_idx
            self.optimizer_ = make_optimizer("adam", self.learning_rate)  # the PyTorch twin's Adam (course_lib.optim)
            step = tf.function(self._train_step, reduce_retracing=True)
            rng = np.random.default_rng(self.seed)
            self.history_: dict[str, list[float]] = {"loss": []}
            if validation is not None:
                self.history_["validation_mrr"] = []
            for _ in progress(range(self.epochs), show_progress, type(self).__name__):
                total, count = 0.0, 0
                for rows in minibatches(len(sequences), self.batch_size, rng):
                    loss = step(tf.constant(sequences[rows]))
                    total, count = total + float(loss) * len(rows), count + len(rows)
                self.history_["loss"].append(total / count)
                if validation is not None:
                    self.history_["validation_mrr"].append(evaluate_next_item(self, validation)["mrr"])
        return self

    def _loss(self, sequences: tf.Tensor, training: bool) -> tf.Tensor:
        inputs, targets = sequences[:, :-1], sequences[:, 1:]                      # (B, L-1) each
        logits = self.network_(inputs, training=training)                          # (B, L-1, I)
        keep = (inputs > 0) & (targets > 0)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.boolean_mask(targets, keep) - 1, logits=tf.boolean_mask(logits, keep)))

    def _gradients(self, sequences: tf.Tensor, training: bool) -> tuple[tf.Tensor, list]:
        variables = self.network_.trainable_variables
        with tf.GradientTape() as tape:
            loss = self._loss(sequences, training)
        gradients = tape.gradient(loss, variables)
        # L2 added to the gradient, as torch.optim.Adam(weight_decay=...) does (Keras' is decoupled).
        gradients = [tf.convert_to_tensor(g) + self.weight_decay * v for g, v in zip(gradients, variables, strict=True)]
        return loss, gradients

    def _train_step(self, sequences: tf.Tensor) -> tf.Tensor:
        loss, gradients = self._gradients(sequences, training=True)
        self.optimizer_.apply_gradients(zip(gradients, self.network_.trainable_variables, strict=True))
        return loss

    def optimizer_step(self, sequences: Any) -> float:
        """One step of the model's own optimizer (Adam, with ``weight_decay``) on ``sequences``;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._train_step(tf.constant(check_sequences(sequences, self.n_items_))))

    def loss_on_batch(self, sequences: Any) -> float:
        """The training loss on ``sequences`` (N, L): inputs all columns but the last, targets shifted by one."""
        self._check_fitted()
        with tf.device(self.device_):
            return float(self._loss(tf.constant(check_sequences(sequences, self.n_items_)), training=False))

    def sgd_step(self, sequences: Any, learning_rate: float) -> None:
        """One plain gradient step on ``sequences``, without dropout (for the parity tests)."""
        self._check_fitted()
        with tf.device(self.device_):
            _, gradients = self._gradients(tf.constant(check_sequences(sequences, self.n_items_)), training=False)
            for variable, gradient in zip(self.network_.trainable_variables, gradients, strict=True):
                variable.assign_sub(learning_rate * gradient)

    def score(self, sequences: Any) -> np.ndarray:
        """(N, I) scores of the next item after each padded sequence (item ids + 1, 0 = padding)."""
        self._check_fitted()
        sequences = pad_or_cut(check_sequences(sequences, self.n_items_), self.max_length_)
        with tf.device(self.device_):
            return self.network_(tf.constant(sequences), training=False)[:, -1].numpy()  # (N, I)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        entries = {"item_embeddings.weight": (network.item_embeddings.embeddings, False)}
        entries.update(dense_weights(network.output_layer, "output"))
        return entries


class MeanPooling(_SequenceRecommender):
    """Next item from the mean of the embeddings of the items seen so far (order ignored)."""

    def _build(self) -> keras.Model:
        return MeanPoolingNet(self.n_items_, self.embedding_dim, self.seed)


class GRURecommender(_SequenceRecommender):
    """Next item from the state of a GRU run over the item embeddings (Hidasi et al. 2016)."""

    def _build(self) -> keras.Model:
        return GRUNet(self.n_items_, self.embedding_dim, self.seed)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        cell = self.network_.gru.cell
        return {**super()._weight_map(),
                "gru.weight_ih_l0": (_GRUWeight(cell.kernel), False),
                "gru.weight_hh_l0": (_GRUWeight(cell.recurrent_kernel), False),
                "gru.bias_ih_l0": (_GRUWeight(cell.bias, 0), False),
                "gru.bias_hh_l0": (_GRUWeight(cell.bias, 1), False)}


class SelfAttention(_SequenceRecommender):
    """SASRec (Kang and McAuley 2018): ``n_blocks`` causal self-attention blocks over item plus
    positional embeddings; position t sees only items 1..t."""

    def __init__(self, embedding_dim: int = 64, n_blocks: int = 1, n_heads: int = 1, dropout: float = 0.0,
                 epochs: int = 4, batch_size: int = 512, learning_rate: float = 1e-2, weight_decay: float = 0.0,
                 seed: int = 0, device: Any = None) -> None:
        super().__init__(embedding_dim, epochs, batch_size, learning_rate, weight_decay, seed, device)
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout

    def _build(self) -> keras.Model:
        return SelfAttentionNet(self.n_items_, self.embedding_dim, self.max_length_, self.n_blocks, self.n_heads,
                                self.dropout, self.seed)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        entries = {**super()._weight_map(), "position_embeddings.weight": (network.position_embeddings.embeddings, False)}
        for b, block in enumerate(network.blocks):
            for name in ("attention_norm", "mlp_norm"):
                norm = getattr(block, name)
                entries[f"blocks.{b}.{name}.weight"] = (norm.gamma, False)
                entries[f"blocks.{b}.{name}.bias"] = (norm.beta, False)
            for name in ("query", "key", "value", "mix", "hidden", "back"):
                entries.update(dense_weights(getattr(block, name), f"blocks.{b}.{name}"))
        entries["final_norm.weight"] = (network.final_norm.gamma, False)
        entries["final_norm.bias"] = (network.final_norm.beta, False)
        return entries
