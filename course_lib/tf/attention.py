"""Causal self-attention over padded item sequences: the network of SASRec (Kang and McAuley,
"Self-Attentive Sequential Recommendation", ICDM 2018). Twin: course_lib/torch/attention.py.

``SelfAttentionNet`` returns the next-item logits at every position; position t attends only to
the items at positions 1..t. Its recommender, ``SelfAttention``, is in course_lib/tf/sequence.py.
Row 0 of the item table is padding: the input is multiplied by the padding mask, as in PyTorch.

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from course_lib.tf.layers import normal_embedding, torch_linear

__all__ = ["causal_mask", "Block", "SelfAttentionNet"]


def causal_mask(sequences: tf.Tensor) -> tf.Tensor:
    """(B, L, L) True where position i may attend to position j: j <= i and j is an item.
    Every position also sees itself, so a padding row never attends to nothing (no NaN)."""
    length = tf.shape(sequences)[1]
    past = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)      # (L, L) lower triangle
    items = (sequences > 0)[:, None, :]                                          # (B, 1, L)
    itself = tf.cast(tf.eye(length), tf.bool)                                    # (L, L)
    return (past & items) | itself                                               # (B, L, L)


class Block(keras.layers.Layer):
    """Pre-norm transformer block: causal multi-head attention, then a position-wise MLP."""

    def __init__(self, embedding_dim: int, n_heads: int, dropout: float, seed: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.query, self.key, self.value, self.mix = (torch_linear(embedding_dim, embedding_dim, seed + 2 * i)
                                                      for i in range(4))
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.hidden = torch_linear(embedding_dim, embedding_dim, seed + 8)
        self.back = torch_linear(embedding_dim, embedding_dim, seed + 10)
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
        self.item_embeddings = normal_embedding(n_items + 1, embedding_dim, 0.1, seed, mask_zero=True)
        self.position_embeddings = normal_embedding(max_length, embedding_dim, 0.02, seed + 1)
        self.blocks = [Block(embedding_dim, n_heads, dropout, seed + 100 * (b + 1)) for b in range(n_blocks)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout = keras.layers.Dropout(dropout, seed=seed + 2)
        self.output_layer = torch_linear(n_items, embedding_dim, seed + 3)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        positions = self.position_embeddings(tf.range(tf.shape(sequences)[1]))        # (L, D)
        x = self.item_embeddings(sequences) + positions[None]                          # (B, L, D)
        x = self.dropout(x, training=training) * tf.cast(sequences > 0, tf.float32)[..., None]
        mask = causal_mask(sequences)                                                  # (B, L, L)
        for block in self.blocks:
            x = block(x, mask, training=training)
        return self.output_layer(self.final_norm(x))                                   # (B, L, I)
