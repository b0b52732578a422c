"""Next-item models over padded item sequences. Twin: course_lib/torch/sequence.py.

A sequence holds item ids + 1, left-padded with 0. Keras' ``mask_zero=True`` only *marks* the
padding (``compute_mask``); unlike PyTorch's ``padding_idx=0`` it does not keep row 0 at zero, so
the networks multiply the looked-up vectors by that mask: padding then adds nothing and row 0
gets no gradient, as in PyTorch. Each network returns the next-item logits at every position.

- ``MeanPooling``: the mean of the item embeddings seen so far (CBOW-like; Mikolov et al. 2013).
- ``GRURecommender``: a GRU over the embeddings (GRU4Rec, Hidasi et al., ICLR 2016).
- ``SelfAttention``: causal self-attention blocks with positional embeddings (SASRec,
  Kang and McAuley, ICDM 2018).

The framework-free half (arguments, batches, scoring's padding, validation, the parity tests'
primitives) is course_lib/sequence_base.py, the loop course_lib/training_loop.py.

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.sequence_base import SelfAttentionBase, SequenceRecommenderBase
from course_lib.tf.training import TFSteps, dense_weights

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


class _TFSequence(TFSteps):
    """The TensorFlow step of the next-item models: the loss of a batch, the penalty, the last logits."""

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {"sequences": np.ones((1, self.max_length_ + 1), np.int64)}

    def _build(self, train: Any) -> None:
        super()._build(train)
        table = self.network_.item_embeddings.embeddings
        table.assign(tf.tensor_scatter_nd_update(table, [[0]], tf.zeros((1, table.shape[1]))))  # as padding_idx

    def _batch_loss(self, batch: dict[str, tf.Tensor], training: bool) -> tf.Tensor:
        sequences = batch["sequences"]
        inputs, targets = sequences[:, :-1], sequences[:, 1:]                      # (B, L-1) each
        logits = self.network_(inputs, training=training)                          # (B, L-1, I)
        keep = (inputs > 0) & (targets > 0)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.boolean_mask(targets, keep) - 1, logits=tf.boolean_mask(logits, keep)))

    def _penalty(self) -> tf.Tensor:
        """``l2 / 2 * sum(w^2)``: its gradient ``l2 * w`` is torch's coupled ``weight_decay=l2``."""
        squares = [tf.reduce_sum(tf.square(variable)) for variable in self.network_.trainable_variables]
        return 0.5 * self.l2 * tf.add_n(squares) if self.l2 else tf.zeros(())

    def _last_logits(self, sequences: np.ndarray) -> np.ndarray:
        with tf.device(self.device_):
            return self.network_(tf.constant(sequences), training=False)[:, -1].numpy()  # (N, I)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        entries = {"item_embeddings.weight": (network.item_embeddings.embeddings, False)}
        entries.update(dense_weights(network.output_layer, "output"))
        return entries


class MeanPooling(SequenceRecommenderBase, _TFSequence):
    """Next item from the mean of the embeddings of the items seen so far (order ignored)."""

    def _network(self, train: Any) -> keras.Model:
        return MeanPoolingNet(self.n_items_, self.embedding_dim, self.seed)


class GRURecommender(SequenceRecommenderBase, _TFSequence):
    """Next item from the state of a GRU run over the item embeddings (Hidasi et al. 2016)."""

    def _network(self, train: Any) -> keras.Model:
        return GRUNet(self.n_items_, self.embedding_dim, self.seed)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        cell = self.network_.gru.cell
        return {**super()._weight_map(),
                "gru.weight_ih_l0": (_GRUWeight(cell.kernel), False),
                "gru.weight_hh_l0": (_GRUWeight(cell.recurrent_kernel), False),
                "gru.bias_ih_l0": (_GRUWeight(cell.bias, 0), False),
                "gru.bias_hh_l0": (_GRUWeight(cell.bias, 1), False)}


class SelfAttention(SelfAttentionBase, _TFSequence):
    """SASRec (Kang and McAuley 2018): ``n_blocks`` causal self-attention blocks over item plus
    positional embeddings; position t sees only items 1..t."""

    def _network(self, train: Any) -> keras.Model:
        return SelfAttentionNet(self.n_items_, self.embedding_dim, self.max_length_, self.n_blocks, self.n_heads,
                                self.dropout, self.seed)

    def _weight_map(self) -> dict[str, tuple[Any, bool]]:
        network = self.network_
        norms = {"final_norm": network.final_norm}
        entries = {**super()._weight_map(), "position_embeddings.weight": (network.position_embeddings.embeddings, False)}
        for b, block in enumerate(network.blocks):
            norms.update({f"blocks.{b}.{name}": getattr(block, name) for name in ("attention_norm", "mlp_norm")})
            for name in ("query", "key", "value", "mix", "hidden", "back"):
                entries.update(dense_weights(getattr(block, name), f"blocks.{b}.{name}"))
        for prefix, norm in norms.items():
            entries.update({f"{prefix}.weight": (norm.gamma, False), f"{prefix}.bias": (norm.beta, False)})
        return entries
