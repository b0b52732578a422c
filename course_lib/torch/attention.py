"""Causal self-attention over padded item sequences: the network of SASRec (Kang and McAuley,
"Self-Attentive Sequential Recommendation", ICDM 2018). Twin: course_lib/tf/attention.py.

``SelfAttentionNet`` returns the next-item logits at every position; position t attends only to
the items at positions 1..t. Its recommender, ``SelfAttention``, is in course_lib/torch/sequence.py.

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.torch.layers import SeededDropout, default_init, make_generator

__all__ = ["causal_mask", "Block", "SelfAttentionNet"]


def causal_mask(sequences: Tensor) -> Tensor:
    """(B, L, L) True where position i may attend to position j: j <= i and j is an item.
    Every position also sees itself, so a padding row never attends to nothing (no NaN)."""
    length = sequences.shape[1]
    past = torch.ones(length, length, dtype=torch.bool, device=sequences.device).tril()  # (L, L)
    items = (sequences > 0)[:, None, :]                                                 # (B, 1, L)
    itself = torch.eye(length, dtype=torch.bool, device=sequences.device)               # (L, L)
    return (past & items) | itself                                                       # (B, L, L)


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
