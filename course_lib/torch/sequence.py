"""Next-item models over padded item sequences. Twin: course_lib/tf/sequence.py.

A sequence holds item ids + 1, left-padded with 0 (``padding_idx=0``). Each network returns the
logits of the next item at every position, so one sequence of L items gives up to L - 1 training
examples; ``score`` keeps the last position. Cross-entropy over all I items (no sampling).

- ``MeanPooling``: the mean of the item embeddings seen so far (CBOW-like; Mikolov et al. 2013).
- ``GRURecommender``: a GRU over the embeddings (GRU4Rec, Hidasi et al., ICLR 2016).
- ``SelfAttention``: causal self-attention blocks with positional embeddings (SASRec,
  Kang and McAuley, ICDM 2018); its network is in course_lib/torch/attention.py.

The framework-free half (arguments, batches, scoring's padding, validation, the parity tests'
primitives) is course_lib/sequence_base.py, the loop course_lib/training_loop.py.

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.sequence_base import SelfAttentionBase, SequenceRecommenderBase
from course_lib.torch.attention import SelfAttentionNet, causal_mask
from course_lib.torch.layers import default_init, make_generator
from course_lib.torch.training import TorchSteps

__all__ = ["MeanPooling", "GRURecommender", "SelfAttention", "MeanPoolingNet", "GRUNet", "SelfAttentionNet",
           "causal_mask"]


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
