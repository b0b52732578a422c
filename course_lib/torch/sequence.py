"""Next-item models over padded item sequences. Twin: course_lib/tf/sequence.py.

A sequence holds item ids + 1, left-padded with 0 (``padding_idx=0``). Each network returns the
logits of the next item at every position, so one sequence of L items gives up to L - 1 training
examples; ``score`` keeps the last position. Cross-entropy over all I items (no sampling).

- ``MeanPooling``: the mean of the item embeddings seen so far (CBOW-like; Mikolov et al. 2013).
- ``GRURecommender``: a GRU over the embeddings (GRU4Rec, Hidasi et al., ICLR 2016).
- ``SelfAttention``: causal self-attention blocks with positional embeddings (SASRec,
  Kang and McAuley, ICDM 2018).

Shapes: B sequences in a batch, L positions, D embedding_dim, I n_items, K n_heads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib.sequences import (
    SequenceData,
    check_model_arguments,
    check_sequences,
    check_train,
    evaluate_next_item,
    pad_or_cut,
)
from course_lib.torch.training import (
    SeededDropout,
    TorchRecommender,
    build_network,
    default_init,
    get_device,
    make_generator,
    make_optimizer,
    minibatches,
    progress,
)

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


class _SequenceRecommender(TorchRecommender):
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

    def _build(self) -> nn.Module:  # pragma: no cover - interface
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
        self.network_ = build_network(self._build, self.device_)  # its weights and dropout masks drawn from self.seed
        self.optimizer_ = make_optimizer("adam", self.network_.parameters(), self.learning_rate, self.weight_decay)
        rng = np.random.default_rng(self.seed)
        self.history_: dict[str, list[float]] = {"loss": []}
        if validation is not None:
            self.history_["validation_mrr"] = []
        for _ in progress(range(self.epochs), show_progress, type(self).__name__):
            total, count = 0.0, 0
            for rows in minibatches(len(sequences), self.batch_size, rng):
                total, count = total + self._update(self._tensor(sequences[rows])) * len(rows), count + len(rows)
            self.history_["loss"].append(total / count)
            if validation is not None:
                self.history_["validation_mrr"].append(evaluate_next_item(self, validation)["mrr"])
        return self

    def _loss(self, sequences: Tensor) -> Tensor:
        inputs, targets = sequences[:, :-1], sequences[:, 1:]                   # (B, L-1) each
        logits = self.network_(inputs)                                           # (B, L-1, I)
        keep = (inputs > 0) & (targets > 0)                                      # a real item read and one to predict
        return F.cross_entropy(logits[keep], targets[keep] - 1)                  # mean over predictions

    def _update(self, sequences: Tensor) -> float:
        self.network_.train()
        loss = self._loss(sequences)
        self.optimizer_.zero_grad()
        loss.backward()
        self.optimizer_.step()
        return loss.item()

    def optimizer_step(self, sequences: Any) -> float:
        """One step of the model's own optimizer (Adam, with ``weight_decay``) on ``sequences``;
        returns the loss before the step. For the parity tests."""
        self._check_fitted()
        return self._update(self._tensor(check_sequences(sequences, self.n_items_)))

    def loss_on_batch(self, sequences: Any) -> float:
        """The training loss on ``sequences`` (N, L): inputs all columns but the last, targets shifted by one."""
        self._check_fitted()
        self.network_.eval()
        with torch.no_grad():
            return float(self._loss(self._tensor(check_sequences(sequences, self.n_items_))))

    def sgd_step(self, sequences: Any, learning_rate: float) -> None:
        """One plain gradient step on ``sequences``, without dropout (for the parity tests)."""
        self._check_fitted()
        self.network_.eval()
        self.network_.zero_grad()
        self._loss(self._tensor(check_sequences(sequences, self.n_items_))).backward()
        with torch.no_grad():
            for parameter in self.network_.parameters():
                if parameter.grad is not None:
                    parameter -= learning_rate * parameter.grad

    def score(self, sequences: Any) -> np.ndarray:
        """(N, I) scores of the next item after each padded sequence (item ids + 1, 0 = padding)."""
        self._check_fitted()
        sequences = pad_or_cut(check_sequences(sequences, self.n_items_), self.max_length_)
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(sequences))[:, -1].cpu().numpy()  # (N, I)


class MeanPooling(_SequenceRecommender):
    """Next item from the mean of the embeddings of the items seen so far (order ignored)."""

    def _build(self) -> nn.Module:
        return MeanPoolingNet(self.n_items_, self.embedding_dim, self.seed)


class GRURecommender(_SequenceRecommender):
    """Next item from the state of a GRU run over the item embeddings (Hidasi et al. 2016)."""

    def _build(self) -> nn.Module:
        return GRUNet(self.n_items_, self.embedding_dim, self.seed)


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

    def _build(self) -> nn.Module:
        return SelfAttentionNet(self.n_items_, self.embedding_dim, self.max_length_, self.n_blocks, self.n_heads,
                                self.dropout, self.seed)
