"""The framework-free half of the next-item recommenders of notebook 08 (MeanPooling, GRU, SASRec).

The twins in ``course_lib/{torch,tf}/sequence.py`` add the networks and one framework step; the
arguments, the checks, the batches (rows of the training sequences, drawn from the seed), the
padding of what ``score`` reads and validation are here, once, and the loop is
``course_lib.training_loop`` (task ``"sequence"``: ``validation_metric`` ``"mrr"``, the default, or
``"hit_rate@k"``, measured by ``evaluate_next_item`` on held-out ``SequenceData``).

The loss: a sequence of L items gives up to L - 1 next-item predictions (position t reads items
1..t and predicts item t + 1); the cross-entropy over all I items is averaged over every
prediction of a batch whose input and target are real items, plus ``l2 / 2 * sum(w^2)`` over every
weight. Shapes: B sequences in a batch, L positions, I n_items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from course_lib.base import _transactional, minibatches
from course_lib.initializers import Initializer, normal, ones, torch_uniform, zeros
from course_lib.optim import OPTIMIZERS
from course_lib.sequences import SequenceData, check_sequences, check_train, check_validation, pad_or_cut
from course_lib.training_loop import TrainingLoop
from course_lib.validation import argument_error, check_choice, check_epochs, check_integer, check_number

__all__ = ["SequenceRecommenderBase", "SelfAttentionBase", "check_model_arguments"]

def check_model_arguments(model: Any) -> None:
    """The ValueError naming the bad argument of a next-item recommender (both frameworks)."""
    check_integer("embedding_dim", model.embedding_dim, minimum=1)
    check_number("l2", model.l2, minimum=0.0)
    check_choice("optimizer", model.optimizer, OPTIMIZERS)
    check_number("learning_rate", model.learning_rate, minimum=0.0, minimum_open=True)
    check_epochs(model.epochs)
    check_integer("batch_size", model.batch_size, minimum=1)
    check_integer("seed", model.seed, minimum=0)
    if hasattr(model, "n_blocks"):
        check_integer("n_blocks", model.n_blocks, minimum=1)
        check_integer("n_heads", model.n_heads, minimum=1)
        if model.embedding_dim % model.n_heads:
            raise argument_error("n_heads", f"a divisor of embedding_dim={model.embedding_dim}", model.n_heads)
        check_number("dropout", model.dropout, 0.0, 1.0, maximum_open=True)


class SequenceRecommenderBase(TrainingLoop):
    """Arguments, checks, batches and scoring of the next-item models; the twins add the network.

    Parameters (the same, with the same defaults, in both frameworks): ``embedding_dim``, ``l2``
    (below), ``optimizer`` (any of ``course_lib.optim.OPTIMIZERS``), ``learning_rate``, ``scheduler``
    (None, step, exponential, cosine; per epoch), ``epochs`` (a ceiling with ``patience``),
    ``batch_size`` (sequences per step), ``keep_best`` (None or "metric": restore the epoch of best
    validation ``validation_metric``, "mrr" by default or "hit_rate@k"), ``patience``, ``seed``,
    ``device``, ``show_progress``.

    ``l2`` is coupled L2 regularization, exactly ``torch.optim.Adam(weight_decay=l2)``: the loss
    gains ``l2 / 2 * sum(w^2)`` over every weight, so ``l2 * w`` is added to each gradient before the
    optimizer's update (Adam's moments see it), not AdamW's decoupled decay. Mind the ``1/2``: this
    ``l2`` penalizes half as much as the same ``l2`` of the NCF and autoencoder models.

    A twin gives ``_network(train)``, ``_batch_loss(batch, training)`` on ``{"sequences": (B, L)}``
    batches, ``_last_logits(sequences)`` ((N, L) padded ids -> (N, I) logits of the last position)
    and ``_penalty()`` (``l2 / 2 * sum(w^2)``).
    """

    _task = "sequence"

    def __init__(self, embedding_dim: int = 64, l2: float = 0.0, optimizer: str = "adam",
                 learning_rate: float = 1e-2, scheduler: str | None = None, epochs: int = 4, batch_size: int = 512,
                 keep_best: str | None = None, patience: int | None = None, validation_metric: str | None = None,
                 seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.l2, self.optimizer, self.learning_rate = embedding_dim, l2, optimizer, learning_rate
        self.scheduler, self.epochs, self.batch_size, self.keep_best = scheduler, epochs, batch_size, keep_best
        self.patience, self.validation_metric, self.seed = patience, validation_metric, seed
        self.device, self.show_progress = device, show_progress

    @_transactional
    def fit(self, train: SequenceData, validation: SequenceData | None = None,
            show_progress: bool | None = None) -> SequenceRecommenderBase:
        """Train on every next item of the ``train`` sequences (at most ``epochs`` epochs).

        With ``validation`` (held-out ``SequenceData``, e.g. ``split_sequences(train)``) record
        ``validation_metric`` (MRR by default) after each epoch, restore the best epoch
        (``keep_best="metric"``) and stop after ``patience`` epochs without improvement.
        ``history_`` holds ``loss``, ``seconds``, ``learning_rate`` and ``validation_<metric>``.
        """
        check_train(train)
        check_validation(validation, train)
        check_model_arguments(self)
        self._check_loop_arguments(validation)
        self._check_device()  # type: ignore[attr-defined]  # an absent device is refused before any state changes
        self.n_items_, self.max_length_ = train.n_items, train.sequences.shape[1] - 1
        self._sequences = check_sequences(train.sequences, self.n_items_)
        self._build(train)  # type: ignore[attr-defined]  # weights and dropout masks drawn from self.seed
        self._fit_loop(train, validation, show_progress)
        return self

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """PyTorch's defaults: the item table N(0, 1) with the padding row (id 0) at 0; dense and GRU
        weights and biases U(-1/sqrt(n), 1/sqrt(n)) (``torch_uniform``)."""
        return [("item_embeddings.weight", normal(1.0, padding_row=0)), ("*", torch_uniform())]

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        for rows in minibatches(len(self._sequences), self.batch_size, rng):
            yield {"sequences": self._sequences[rows]}

    def _as_batch(self, sequences: Any) -> dict[str, np.ndarray]:
        if isinstance(sequences, dict):
            sequences = sequences["sequences"]
        return {"sequences": check_sequences(sequences, self.n_items_)}

    def score(self, sequences: Any) -> np.ndarray:
        """(N, I) scores of the next item after each padded sequence (item ids + 1, 0 = padding);
        longer sequences keep their last ``max_length_`` items, shorter ones are left-padded."""
        self._check_fitted()  # type: ignore[attr-defined]
        sequences = pad_or_cut(check_sequences(sequences, self.n_items_), self.max_length_)
        return self._last_logits(sequences)  # type: ignore[attr-defined]

    # The parity tests' primitives take a (B, L) array of sequences (or a {"sequences": ...} batch).
    def optimizer_step(self, sequences: Any) -> float:
        """One step of the model's own optimizer (penalty included, as in ``fit``) on ``sequences``;
        returns the loss before the step."""
        self._check_fitted()  # type: ignore[attr-defined]
        return super().optimizer_step(self._as_batch(sequences))  # type: ignore[misc]

    def loss_on_batch(self, sequences: Any) -> float:
        """The training loss (penalty included, dropout off) on ``sequences`` (N, L): inputs all
        columns but the last, targets shifted by one."""
        self._check_fitted()  # type: ignore[attr-defined]
        return super().loss_on_batch(self._as_batch(sequences))  # type: ignore[misc]

    def sgd_step(self, sequences: Any, learning_rate: float) -> float:
        """One plain gradient step ``w <- w - learning_rate * grad`` on ``sequences`` (for the parity tests)."""
        self._check_fitted()  # type: ignore[attr-defined]
        return super().sgd_step(self._as_batch(sequences), learning_rate)  # type: ignore[misc]


class SelfAttentionBase(SequenceRecommenderBase):
    """SASRec's arguments: ``n_blocks`` causal self-attention blocks of ``n_heads`` heads, ``dropout``."""

    def __init__(self, embedding_dim: int = 64, n_blocks: int = 1, n_heads: int = 1, dropout: float = 0.0,
                 l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-2, scheduler: str | None = None,
                 epochs: int = 4, batch_size: int = 512, keep_best: str | None = None, patience: int | None = None,
                 validation_metric: str | None = None, seed: int = 0, device: Any = None,
                 show_progress: bool = True) -> None:
        super().__init__(embedding_dim, l2, optimizer, learning_rate, scheduler, epochs, batch_size, keep_best,
                         patience, validation_metric, seed, device, show_progress)
        self.n_blocks, self.n_heads, self.dropout = n_blocks, n_heads, dropout

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """Small embeddings (SASRec starts small too: the blocks learn faster than from N(0, 1)): items
        N(0, 0.1^2) with the padding row at 0, positions N(0, 0.02^2); layer norms 1 and 0; the dense
        layers PyTorch's default."""
        return [("item_embeddings.weight", normal(0.1, padding_row=0)), ("position_embeddings.weight", normal(0.02)),
                ("*_norm.weight", ones()), ("*_norm.bias", zeros()), ("*", torch_uniform())]
