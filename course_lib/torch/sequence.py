"""Next-item models over padded item sequences. Twin: course_lib/tf/sequence.py.

A sequence holds item ids + 1, left-padded with 0 (``padding_idx=0``). Each network returns the
logits of the next item at every position, so one sequence of L items gives up to L - 1 training
examples; ``score`` keeps the last position. Cross-entropy over all I items (no sampling).

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

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.sequence_base import SelfAttentionBase, SequenceRecommenderBase
from course_lib.torch.training import SeededDropout, TorchSteps, default_init, make_generator

__all__ = ["MeanPooling", "GRURecommender", "SelfAttention", "MeanPoolingNet", "GRUNet", "SelfAttentionNet",
           "causal_mask"]


def causal_mask(sequences: Tensor) -> Tensor:
    """(B, L, L) True where position i may attend to position j: j <= i and j is an item.
    Every position also sees itself, so a padding row never attends to nothing (no NaN)."""
    length = sequences.shape[1]
    past = torch.ones(length, length, dtype=torch.bool, device=sequences.device).tril()  # (L, L)
    items = (sequences > 0)[:, None, :]                                                 # (B, 1, L)
    itself = torch.eye(length, dtype=torch.bool, device=sequences.device)               # (L, L)
    return (past & items) | itself                                                       # (B, L, L)


class MeanPoolingNet(nn.Module):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = nn.Embedding(n_items + 1, embedding_dim, padding_idx=0)
        self.output = nn.Linear(embedding_dim, n_items)
        default_init(self, make_generator(seed))  # torch's default distributions, from the network's own seed

    def forward(self, sequences: Tensor) -> Tensor:
        mask = (sequences > 0).unsqueeze(-1).float()               # (B, L, 1)
        running_sum = self.item_embeddings(sequences).cumsum(1)    # (B, L, D), padding rows are 0
        seen = mask.cumsum(1).clamp(min=1.0)                       # (B, L, 1) items so far
        return self.output(running_sum / seen)                     # (B, L, I)


class GRUNet(nn.Module):
    def __init__(self, n_items: int, embedding_dim: int, seed: int = 0) -> None:
        super().__init__()
        self.item_embeddings = nn.Embedding(n_items + 1, embedding_dim, padding_idx=0)
        self.gru = nn.GRU(embedding_dim, embedding_dim, batch_first=True)
        self.output = nn.Linear(embedding_dim, n_items)
        default_init(self, make_generator(seed))

    def forward(self, sequences: Tensor) -> Tensor:
        states, _ = self.gru(self.item_embeddings(sequences))     # (B, L, D)
        return self.output(states)                                 # (B, L, I)


class Block(nn.Module):
    """Pre-norm transformer block: causal multi-head attention, then a position-wise MLP."""

    def __init__(self, embedding_dim: int, n_heads: int, dropout: float, generator: torch.Generator) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.attention_norm = nn.LayerNorm(embedding_dim, eps=1e-6)
        self.query, self.key, self.value, self.mix = (nn.Linear(embedding_dim, embedding_dim) for _ in range(4))
        self.mlp_norm = nn.LayerNorm(embedding_dim, eps=1e-6)
        self.hidden, self.back = nn.Linear(embedding_dim, embedding_dim), nn.Linear(embedding_dim, embedding_dim)
        self.dropout = SeededDropout(dropout, generator)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        batch, length, dim = x.shape
        h = self.attention_norm(x)
        q, k, v = (f(h).view(batch, length, self.n_heads, -1).transpose(1, 2)       # (B, K, L, D/K)
                   for f in (self.query, self.key, self.value))
        weights = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])                  # (B, K, L, L)
        weights = weights.masked_fill(~mask[:, None], float("-inf")).softmax(-1)
        attended = (self.dropout(weights) @ v).transpose(1, 2).reshape(batch, length, dim)  # (B, L, D)
        x = x + self.dropout(self.mix(attended))
        return x + self.dropout(self.back(F.relu(self.hidden(self.mlp_norm(x)))))    # (B, L, D)


class SelfAttentionNet(nn.Module):
    def __init__(self, n_items: int, embedding_dim: int, max_length: int, n_blocks: int, n_heads: int,
                 dropout: float, seed: int = 0) -> None:
        super().__init__()
        masks = make_generator(seed + 1)  # the dropout masks' own stream
        self.item_embeddings = nn.Embedding(n_items + 1, embedding_dim, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_length, embedding_dim)
        self.blocks = nn.ModuleList(Block(embedding_dim, n_heads, dropout, masks) for _ in range(n_blocks))
        self.final_norm = nn.LayerNorm(embedding_dim, eps=1e-6)
        self.dropout = SeededDropout(dropout, masks)
        self.output = nn.Linear(embedding_dim, n_items)
        generator = make_generator(seed)
        default_init(self, generator)
        # Small embeddings (SASRec starts small too): the blocks learn faster than from N(0, 1).
        nn.init.normal_(self.item_embeddings.weight, std=0.1, generator=generator)
        nn.init.normal_(self.position_embeddings.weight, std=0.02, generator=generator)
        with torch.no_grad():
            self.item_embeddings.weight[0] = 0.0

    def forward(self, sequences: Tensor) -> Tensor:
        positions = torch.arange(sequences.shape[1], device=sequences.device)        # (L,)
        x = self.item_embeddings(sequences) + self.position_embeddings(positions)     # (B, L, D)
        x = self.dropout(x) * (sequences > 0).unsqueeze(-1)                           # padding stays 0
        mask = causal_mask(sequences)                                                 # (B, L, L)
        for block in self.blocks:
            x = block(x, mask)
        return self.output(self.final_norm(x))                                        # (B, L, I)


class _TorchSequence(TorchSteps):
    """The PyTorch step of the next-item models: the loss of a batch, the penalty, the last logits."""

    def _batch_loss(self, batch: dict[str, Any], training: bool) -> Tensor:
        sequences = self._tensor(batch["sequences"])
        inputs, targets = sequences[:, :-1], sequences[:, 1:]                   # (B, L-1) each
        logits = self.network_(inputs)                                           # (B, L-1, I)
        keep = (inputs > 0) & (targets > 0)                                      # a real item read and one to predict
        return F.cross_entropy(logits[keep], targets[keep] - 1)                  # mean over predictions

    def _penalty(self) -> Tensor:
        """``l2 / 2 * sum(w^2)``: its gradient ``l2 * w`` is torch's coupled ``weight_decay=l2``."""
        if not self.l2:
            return torch.zeros((), device=self.device_)
        return 0.5 * self.l2 * sum(parameter.square().sum() for parameter in self.network_.parameters())

    def _last_logits(self, sequences: Any) -> Any:
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(sequences))[:, -1].cpu().numpy()  # (N, I)


class MeanPooling(SequenceRecommenderBase, _TorchSequence):
    """Next item from the mean of the embeddings of the items seen so far (order ignored)."""

    def _network(self, train: Any) -> nn.Module:
        return MeanPoolingNet(self.n_items_, self.embedding_dim, self.seed)


class GRURecommender(SequenceRecommenderBase, _TorchSequence):
    """Next item from the state of a GRU run over the item embeddings (Hidasi et al. 2016)."""

    def _network(self, train: Any) -> nn.Module:
        return GRUNet(self.n_items_, self.embedding_dim, self.seed)


class SelfAttention(SelfAttentionBase, _TorchSequence):
    """SASRec (Kang and McAuley 2018): ``n_blocks`` causal self-attention blocks over item plus
    positional embeddings; position t sees only items 1..t."""

    def _network(self, train: Any) -> nn.Module:
        return SelfAttentionNet(self.n_items_, self.embedding_dim, self.max_length_, self.n_blocks, self.n_heads,
                                self.dropout, self.seed)
