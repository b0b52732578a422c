"""Next-item models over padded item sequences. Twin: course_lib/torch/sequence.py.

A sequence holds item ids + 1, left-padded with 0. Keras' ``mask_zero=True`` only *marks* the
padding (``compute_mask``); unlike PyTorch's ``padding_idx=0`` it does not keep row 0 at zero, so
the networks multiply the looked-up vectors by that mask: padding then adds nothing and row 0
gets no gradient, as in PyTorch. Each network returns the next-item logits at every position.

- ``MeanPooling``: the mean of the item embeddings seen so far (CBOW-like; Mikolov et al. 2013).
- ``GRURecommender``: a GRU over the embeddings (GRU4Rec, Hidasi et al., ICLR 2016).
- ``SelfAttention``: causal self-attention blocks with positional embeddings (SASRec,
  Kang and McAuley, ICDM 2018); its network is in course_lib/tf/attention.py.

The framework-free half (arguments, batches, scoring's padding, validation, the parity tests'
primitives) is course_lib/sequence_base.py, the loop course_lib/training_loop.py.

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib.sequence_base import SelfAttentionBase, SequenceRecommenderBase
from course_lib.tf.attention import SelfAttentionNet, causal_mask
from course_lib.tf.layers import GRUWeight, dense_weights, masked_lookup, normal_embedding, torch_linear, torch_uniform
from course_lib.tf.training import TFSteps

__all__ = ["MeanPooling", "GRURecommender", "SelfAttention", "MeanPoolingNet", "GRUNet", "SelfAttentionNet",
           "causal_mask"]


class MeanPoolingNet(keras.Model):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = normal_embedding(n_items + 1, embedding_dim, 1.0, seed, mask_zero=True)
        self.output_layer = torch_linear(n_items, embedding_dim, seed + 1)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        running_sum = tf.cumsum(masked_lookup(self.item_embeddings, sequences), axis=1)  # (B, L, D)
        seen = tf.cumsum(tf.cast(sequences > 0, tf.float32), axis=1)[..., None]          # (B, L, 1)
        return self.output_layer(running_sum / tf.maximum(seen, 1.0))                     # (B, L, I)


class GRUNet(keras.Model):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = normal_embedding(n_items + 1, embedding_dim, 1.0, seed, mask_zero=True)
        # reset_after=True is PyTorch's GRU: the reset gate multiplies (W_hn h + b_hn).
        self.gru = keras.layers.GRU(embedding_dim, return_sequences=True, reset_after=True,
                                    kernel_initializer=torch_uniform(embedding_dim, seed + 1),
                                    recurrent_initializer=torch_uniform(embedding_dim, seed + 2),
                                    bias_initializer=torch_uniform(embedding_dim, seed + 3))
        self.output_layer = torch_linear(n_items, embedding_dim, seed + 4)

    def call(self, sequences: tf.Tensor, training: bool = False) -> tf.Tensor:
        states = self.gru(masked_lookup(self.item_embeddings, sequences))  # (B, L, D), no Keras mask: as PyTorch
        return self.output_layer(states)                                   # (B, L, I)


class _TFSequence(TFSteps):
    """The TensorFlow step of the next-item models: the loss of a batch, the penalty, the last logits."""

    def _dummy_batch(self) -> dict[str, np.ndarray]:
        return {"sequences": np.ones((1, self.max_length_ + 1), np.int64)}

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
                "gru.weight_ih_l0": (GRUWeight(cell.kernel), False),
                "gru.weight_hh_l0": (GRUWeight(cell.recurrent_kernel), False),
                "gru.bias_ih_l0": (GRUWeight(cell.bias, 0), False),
                "gru.bias_hh_l0": (GRUWeight(cell.bias, 1), False)}


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
