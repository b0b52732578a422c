"""The framework-free half of the neural recommenders of notebooks 01 and 02.

The PyTorch and TensorFlow twins in ``course_lib/{torch,tf}/mlp.py`` and ``autoencoder.py`` only
hold their networks and a few primitives (one training step, the loss of a batch, a forward pass
in NumPy). Everything else lives here, once: argument checks, the epoch loop with its progress
bar, the batches (negatives, corruption masks, VAE noise are all drawn with NumPy), the
learning-rate schedules, the validation and the best checkpoint. So both twins see the very same
batches in the same order, and a parity test can compare them step by step.

Shapes: B batch, U users, I n_items, F item features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.base import check_interactions, minibatches, progress
from course_lib.data.interactions import Interactions
from course_lib.optim import OPTIMIZERS
from course_lib.sampling import sample_negatives
from course_lib.validation import check_choice, check_epochs, check_integer, check_integer_sequence, check_number

__all__ = ["OPTIMIZERS", "SCHEDULERS", "FoldIn", "learning_rate_at", "implicit_batches", "explicit_batches",
           "corrupt_profiles", "kl_beta", "NeuralTrainer"]

SCHEDULERS = (None, "step", "exponential", "cosine")


# ------------------------------------------------------------------ argument checks
# Thin names over course_lib.validation, the one set of rules (and message format) of the package.
def check_int(name: str, value: Any, minimum: int = 1) -> int:
    return check_integer(name, value, minimum=minimum)


def check_float(name: str, value: Any, low: float = 0.0, high: float = math.inf, high_open: bool = False,
                low_open: bool = False) -> float:
    return check_number(name, value, minimum=low, maximum=None if math.isinf(high) else high,
                        minimum_open=low_open, maximum_open=high_open)


def check_dims(name: str, dims: Any) -> tuple[int, ...]:
    return check_integer_sequence(name, dims, minimum=1)


# ------------------------------------------------------------------ schedules
def learning_rate_at(scheduler: str | None, learning_rate: float, epoch: int, epochs: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based) under a per-epoch schedule.

    ``None``: constant; ``"step"``: halved every ``max(1, epochs // 3)`` epochs (PyTorch's
    ``StepLR``); ``"exponential"``: times 0.9 each epoch (``ExponentialLR``); ``"cosine"``: from
    ``learning_rate`` down to 0 along half a cosine (``CosineAnnealingLR`` with ``T_max=epochs``).
    """
    if scheduler is None:
        return learning_rate
    if scheduler == "step":
        return learning_rate * 0.5 ** (epoch // max(1, epochs // 3))
    if scheduler == "exponential":
        return learning_rate * 0.9**epoch
    return learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))


def kl_beta(update: int, anneal_cap: float, anneal_steps: int) -> float:
    """KL annealing of Mult-VAE: beta grows linearly from 0 by ``1 / anneal_steps`` per update, up to ``anneal_cap``."""
    return min(anneal_cap, update / anneal_steps) if anneal_steps > 0 else anneal_cap


# ------------------------------------------------------------------ batches
def implicit_batches(positives: sp.csr_matrix, n_negatives: int, batch_size: int,
                     rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
    """One epoch of (user, item, label) batches: every positive once, ``n_negatives`` sampled negatives each.

    Negatives are items the user has no interaction with, drawn uniformly and afresh every epoch
    (``course_lib.sample_negatives``, vectorized).
    """
    users = np.repeat(np.arange(positives.shape[0]), np.diff(positives.indptr))            # (P,)
    items = positives.indices.astype(np.int64)                                               # (P,)
    negatives = sample_negatives(positives, users, n_negatives=n_negatives, seed=rng)        # (P, N)
    all_users = np.concatenate([users, np.repeat(users, n_negatives)])
    all_items = np.concatenate([items, negatives.ravel()])
    labels = np.concatenate([np.ones(len(users)), np.zeros(negatives.size)]).astype(np.float32)
    for rows in minibatches(len(all_users), batch_size, rng):
        yield {"users": all_users[rows], "items": all_items[rows], "labels": labels[rows]}


def explicit_batches(data: Interactions, batch_size: int, rng: np.random.Generator | None
                     ) -> Iterator[dict[str, np.ndarray]]:
    """(user, item, rating) batches over every rating once, shuffled when ``rng`` is given."""
    ratings = data.ratings.astype(np.float32)
    for rows in minibatches(len(data), batch_size, rng):
        yield {"users": data.users[rows], "items": data.items[rows], "ratings": ratings[rows]}


def corrupt_profiles(profiles: np.ndarray, drop_probability: float, rng: np.random.Generator,
                     switch_on_probability: float = 0.0) -> np.ndarray:
    """Denoising input: each observed item is dropped with ``drop_probability`` and the kept ones
    are scaled by ``1 / (1 - drop_probability)`` (inverted dropout, as ``nn.Dropout``).

    ``switch_on_probability`` also turns each *unobserved* item on (to 1) with that probability.
    A little of it is salt noise; much of it (the seed notebook's mask, which switched on 90% of
    the inputs) drowns the profile, and the model learns nothing personal.
    """
    keep = rng.random(profiles.shape) >= drop_probability                                    # (B, I)
    corrupted = profiles * keep / (1.0 - drop_probability)
    if switch_on_probability > 0:
        switched = (profiles == 0) & (rng.random(profiles.shape) < switch_on_probability)
        corrupted = np.where(switched, 1.0, corrupted)
    return corrupted.astype(np.float32)


# ------------------------------------------------------------------ strong generalization
class FoldIn:
    """Scores users from given profiles, for ``course_lib.evaluate``.

    ``FoldIn(model, profiles).score(user_ids)`` is ``model.score_profiles(profiles_csr[user_ids])``:
    held-out users (strong generalization) are scored from their fold-in interactions, or known
    users from a fuller profile than the one the model was trained on.
    """

    def __init__(self, model: Any, profiles: Interactions) -> None:
        check_interactions(profiles, "profiles")
        if profiles.n_items != model.n_items:
            raise ValueError(f"`profiles` has {profiles.n_items} items, the model {model.n_items}.")
        self.model, self.profiles = model, profiles.to_csr()

    def score(self, user_ids: Any) -> np.ndarray:
        from course_lib.base import check_user_ids

        user_ids = check_user_ids(user_ids, self.profiles.shape[0])
        return self.model.score_profiles(self.profiles[user_ids])


# ------------------------------------------------------------------ the epoch loop
class NeuralTrainer:
    """Mixin with the fit loop shared by every model of notebooks 01 and 02, in both frameworks.

    A subclass provides ``_check_arguments()``, ``_prepare(train)`` (data for the batches),
    ``_build(train)`` (network and optimizer), ``_epoch_batches(rng)``, ``_train_batch(batch)``
    returning the loss, ``_set_learning_rate(value)`` and, for validation, ``_validation_loss(data)``.
    The validation NDCG@10 uses ``course_lib.evaluate`` and the model's own ``score``.
    """

    epochs: int
    learning_rate: float
    scheduler: str | None
    keep_best: str | None
    patience: int | None
    show_progress: bool
    seed: int
    _validates_ranking = True  # False for rating models: validation by loss (MSE) only
    # The twins' TorchSteps / TFSteps give ``_check_device()``: an absent device is refused before
    # any state changes.

    def _fit_loop(self, train: Interactions, validation: Interactions | None, show_progress: bool | None = None) -> None:
        """The epochs; ``show_progress`` (fit's argument) overrides the constructor's when given."""
        check_choice("keep_best", self.keep_best, (None, "ndcg", "loss"))
        if self.patience is not None:
            check_int("patience", self.patience)
        if validation is not None:
            check_interactions(validation, "validation")
            if validation.shape != train.shape:
                raise ValueError(f"`validation` is {validation.shape}, `train` {train.shape}: split one Interactions.")
        elif self.keep_best is not None or self.patience is not None:
            raise ValueError(f"keep_best={self.keep_best!r} / patience={self.patience!r} need a `validation` set.")
        rng = np.random.default_rng(self.seed)
        self.history_ = {"loss": []}
        best, best_weights, since_best = -math.inf, None, 0
        bar = progress(range(self.epochs), self.show_progress if show_progress is None else show_progress,
                       type(self).__name__)
        for epoch in bar:
            self._set_learning_rate(learning_rate_at(self.scheduler, self.learning_rate, epoch, self.epochs))
            losses = [self._train_batch(batch) for batch in self._epoch_batches(rng)]
            self.history_["loss"].append(float(np.mean(losses)))
            if validation is None:
                continue
            self.history_.setdefault("validation_loss", []).append(self._validation_loss(validation))
            if self._validates_ranking and self.keep_best != "loss":
                self.history_.setdefault("validation_ndcg", []).append(self._validation_ndcg(train, validation))
            by_loss = self.keep_best == "loss" or not self._validates_ranking
            value = -self.history_["validation_loss"][-1] if by_loss else self.history_["validation_ndcg"][-1]
            if value > best:
                best, since_best = value, 0
                self.best_epoch_ = epoch + 1
                if self.keep_best is not None:
                    best_weights = self.get_weights()
            else:
                since_best += 1
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses):.4f}", best_epoch=self.best_epoch_)
            if self.patience is not None and since_best >= self.patience:
                break
        if best_weights is not None:
            self.set_weights(best_weights)

    def _validation_ndcg(self, train: Interactions, validation: Interactions) -> float:
        from course_lib.evaluation import evaluate

        return float(evaluate(self, train, validation, cutoffs=10, beyond_accuracy=False)["ndcg"].iloc[0])

    def _scores_in_chunks(self, forward: Callable[[np.ndarray, np.ndarray], np.ndarray], user_ids: np.ndarray,
                          n_items: int, chunk_pairs: int = 262_144) -> np.ndarray:
        """``forward(users, items)`` over every (user, item) pair, a bounded number of pairs at a time."""
        scores = np.empty((len(user_ids), n_items), dtype=np.float32)
        per_chunk = max(1, chunk_pairs // n_items)
        items = np.arange(n_items)
        for start in range(0, len(user_ids), per_chunk):
            users = user_ids[start:start + per_chunk]
            flat = forward(np.repeat(users, n_items), np.tile(items, len(users)))               # (U * I,)
            scores[start:start + len(users)] = flat.reshape(len(users), n_items)
        return scores


def _bce_from_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy, computed stably from logits (as the frameworks do)."""
    return float(np.mean(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))))


# ------------------------------------------------------------------ the recommenders' shared halves
class _NCFBase(NeuralTrainer):
    """Arguments, checks, batches, scoring and validation of the NCF models; the twins add the network."""

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32, 16), dropout: float = 0.0,
                 l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-3,
                 scheduler: str | None = None, epochs: int = 10, batch_size: int = 2048,
                 keep_best: str | None = None, patience: int | None = None, seed: int = 0,
                 device: Any = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.hidden_dims, self.dropout = embedding_dim, hidden_dims, dropout
        self.l1, self.l2, self.optimizer, self.learning_rate, self.scheduler = l1, l2, optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.seed, self.device, self.show_progress = seed, device, show_progress

    def _check_arguments(self) -> None:
        check_int("embedding_dim", self.embedding_dim)
        self.hidden_dims_ = check_dims("hidden_dims", self.hidden_dims)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("l1", self.l1)
        check_float("l2", self.l2)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("learning_rate", self.learning_rate, low_open=True)
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        check_epochs(self.epochs)
        check_int("batch_size", self.batch_size)
        check_int("seed", self.seed, 0)

    def score(self, user_ids: Any) -> np.ndarray:
        """Scores of every item for each user, (len(user_ids), n_items): logits (implicit) or ratings (explicit)."""
        user_ids = self._user_ids(user_ids)
        return self._scores_in_chunks(self._forward_numpy, user_ids, self.n_items_)


class ExplicitNCFBase(_NCFBase):
    """Rating regression: the network predicts a rating, trained with MSE (plus the optional penalty)."""

    _validates_ranking = False

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32), dropout: float = 0.0,
                 l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-3,
                 scheduler: str | None = None, epochs: int = 10, batch_size: int = 1024,
                 keep_best: str | None = None, patience: int | None = None, seed: int = 0,
                 device: Any = None, show_progress: bool = True) -> None:
        super().__init__(embedding_dim, hidden_dims, dropout, l1, l2, optimizer, learning_rate, scheduler, epochs,
                         batch_size, keep_best, patience, seed, device, show_progress)

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> ExplicitNCFBase:
        """Fit on the ratings of ``train``; with ``validation`` (ratings too) record the validation MSE
        per epoch, keep the best epoch (``keep_best="loss"``) and stop after ``patience`` bad epochs."""
        self._check_arguments()
        check_choice("keep_best", self.keep_best, (None, "loss"))
        self._check_device()
        train = self._start_fit(train)
        for name, part in (("train", train), ("validation", validation)):
            if part is not None and part.ratings is None:
                raise ValueError(f"`{name}` has no ratings: an explicit model regresses ratings.")
        self.global_mean_ = float(train.ratings.mean())
        self.rating_range_ = (float(train.ratings.min()), float(train.ratings.max()))
        self._train_data = train
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return explicit_batches(self._train_data, self.batch_size, rng)

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Predicted ratings of the pairs ``(user_ids[k], item_ids[k])``, clipped to the training range."""
        from course_lib.base import check_item_ids

        user_ids, item_ids = self._user_ids(user_ids), check_item_ids(item_ids, self.n_items_)
        if len(user_ids) != len(item_ids):
            raise ValueError(f"`user_ids` has {len(user_ids)} entries but `item_ids` {len(item_ids)}: give pairs.")
        raw = np.concatenate([self._forward_numpy(user_ids[s:s + 65536], item_ids[s:s + 65536])
                              for s in range(0, len(user_ids), 65536)] or [np.zeros(0, np.float32)])
        return np.clip(raw, *self.rating_range_)

    def _validation_loss(self, validation: Interactions) -> float:
        predictions = self._forward_numpy(validation.users, validation.items)
        return float(np.mean((predictions - validation.ratings) ** 2))


class ImplicitNCFBase(_NCFBase):
    """Implicit feedback: each interaction is a positive, ``n_negatives`` sampled items per positive are
    negatives, and the network's logit is trained with binary cross-entropy (He et al. 2017)."""

    def __init__(self, embedding_dim: int = 32, hidden_dims: Sequence[int] = (64, 32, 16), dropout: float = 0.0,
                 n_negatives: int = 4, l1: float = 0.0, l2: float = 0.0, optimizer: str = "adam",
                 learning_rate: float = 1e-3, scheduler: str | None = None, epochs: int = 10,
                 batch_size: int = 2048, keep_best: str | None = None, patience: int | None = None,
                 seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        super().__init__(embedding_dim, hidden_dims, dropout, l1, l2, optimizer, learning_rate, scheduler, epochs,
                         batch_size, keep_best, patience, seed, device, show_progress)
        self.n_negatives = n_negatives

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> ImplicitNCFBase:
        """Fit on the interactions of ``train`` (every one a positive); with ``validation`` record the
        validation loss and NDCG@10 per epoch, keep the best epoch (``keep_best="ndcg"`` or
        ``"loss"``) and stop after ``patience`` epochs without improvement."""
        self._check_arguments()
        check_int("n_negatives", self.n_negatives)
        self._check_device()
        train = self._start_fit(train)
        self._positives = train.to_csr()
        self._prepare_features(train)
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _prepare_features(self, train: Interactions) -> None:
        """Hook for the hybrid model (item side features)."""

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return implicit_batches(self._positives, self.n_negatives, self.batch_size, rng)

    def _validation_loss(self, validation: Interactions) -> float:
        """BCE on the validation positives and as many fixed negatives (drawn once, outside train and validation)."""
        if getattr(self, "_validation_pairs", (None,))[0] is not validation:
            seen = (self._positives + validation.to_csr()).tocsr()
            negatives = sample_negatives(seen, validation.users, 1, seed=self.seed)[:, 0]
            pairs = (np.concatenate([validation.users, validation.users]), np.concatenate([validation.items, negatives]),
                     np.concatenate([np.ones(len(validation)), np.zeros(len(validation))]))
            self._validation_pairs = (validation, *pairs)
        _, users, items, labels = self._validation_pairs
        return _bce_from_logits(self._forward_numpy(users, items), labels)


class HybridFeaturesMixin:
    """Item side features for the hybrid NeuMF: ``item_features`` if given, else ``train.item_features``."""

    item_features: Any

    def _prepare_features(self, train: Interactions) -> None:
        features = self.item_features if self.item_features is not None else train.item_features
        if features is None:
            raise ValueError("HybridNeuMF needs item features: pass `item_features=` (n_items, F) or use data "
                             "that carries them (`data.item_features`, the genres of MovieLens).")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) != train.n_items or not np.isfinite(features).all():
            raise ValueError(f"`item_features` must be a finite (n_items={train.n_items}, F) matrix, "
                             f"got shape {features.shape}.")
        self.item_features_ = features


# ------------------------------------------------------------------ autoencoders
class AutoencoderBase(NeuralTrainer):
    """Autoencoders of user profiles (the rows of the binary user-item matrix).

    The twins add the network (``_build``) and ``_train_batch`` / ``_forward_numpy`` (logits of
    profiles); this half draws the batches: the rows, their corruption and the VAE's noise.
    """

    _likelihood = "multinomial"
    _variational = False

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5, l2: float = 0.0,
                 optimizer: str = "adam", learning_rate: float = 1e-3, scheduler: str | None = None,
                 epochs: int = 20, batch_size: int = 128, keep_best: str | None = None,
                 patience: int | None = None, seed: int = 0, device: Any = None, show_progress: bool = True) -> None:
        self.hidden_dim, self.latent_dim, self.dropout, self.l2 = hidden_dim, latent_dim, dropout, l2
        self.optimizer, self.learning_rate, self.scheduler = optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.seed, self.device, self.show_progress = seed, device, show_progress

    def _check_arguments(self) -> None:
        check_int("hidden_dim", self.hidden_dim)
        check_int("latent_dim", self.latent_dim)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("l2", self.l2)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("learning_rate", self.learning_rate, low_open=True)
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        check_epochs(self.epochs)
        check_int("batch_size", self.batch_size)
        check_int("seed", self.seed, 0)
        if self._variational:
            check_float("anneal_cap", self.anneal_cap)
            check_int("anneal_steps", self.anneal_steps, 0)
        if hasattr(self, "switch_on"):
            check_float("switch_on", self.switch_on, 0.0, 1.0)

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> AutoencoderBase:
        """Fit on the user rows of ``train``; with ``validation`` (held-out interactions of the same
        users) record the validation NDCG@10 per epoch, keep the best epoch (``keep_best="ndcg"``)
        and stop after ``patience`` epochs without improvement."""
        self._check_arguments()
        self._check_device()
        train = self._start_fit(train)
        self.profiles_ = train.to_csr().astype(np.float32)
        self._active_users = np.flatnonzero(np.diff(self.profiles_.indptr) > 0)
        self.n_updates_ = 0
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _corrupt(self, profiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return corrupt_profiles(profiles, self.dropout, rng)

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        for rows in minibatches(len(self._active_users), self.batch_size, rng):
            profiles = self.profiles_[self._active_users[rows]].toarray()                       # (B, I)
            batch = {"profiles": profiles, "inputs": self._corrupt(profiles, rng)}
            if self._variational:
                batch["epsilon"] = rng.standard_normal((len(rows), self.latent_dim)).astype(np.float32)  # (B, Z)
                batch["beta"] = np.float32(kl_beta(self.n_updates_, self.anneal_cap, self.anneal_steps))
            self.n_updates_ += 1
            yield batch

    def score(self, user_ids: Any) -> np.ndarray:
        """Scores (logits) of every item for each user, from the user's training profile."""
        user_ids = self._user_ids(user_ids)
        return self.score_profiles(self.profiles_[user_ids])

    def score_profiles(self, profiles: Any) -> np.ndarray:
        """Scores (logits) of every item for each row of ``profiles`` (a (U, n_items) sparse or dense
        binary matrix): the reconstruction of each profile, without corruption (the VAE uses its mean)."""
        self._check_fitted()
        if profiles.ndim != 2 or profiles.shape[1] != self.n_items_:
            raise ValueError(f"`profiles` must be (n_users, n_items={self.n_items_}), got shape {profiles.shape}.")
        dense = profiles.toarray() if sp.issparse(profiles) else np.asarray(profiles)
        return np.concatenate([self._forward_numpy(dense[s:s + 1024].astype(np.float32))
                               for s in range(0, len(dense), 1024)] or [np.zeros((0, self.n_items_), np.float32)])

    def fold_in(self, profiles: Interactions) -> FoldIn:
        """An object with ``score(user_ids)`` that scores users from ``profiles`` (for ``evaluate``)."""
        return FoldIn(self, profiles)

    def _validation_loss(self, validation: Interactions) -> float:
        """Multinomial negative log-likelihood of the validation items, per validation user."""
        held_out = validation.to_csr()
        users = np.flatnonzero(np.diff(held_out.indptr) > 0)
        logits = self.score_profiles(self.profiles_[users]).astype(np.float64)                # (U, I)
        log_softmax = logits - logits.max(1, keepdims=True)
        log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
        return float(-np.asarray(held_out[users].multiply(log_softmax).sum(1)).mean())


class DenoisingMixin:
    """The plain denoising autoencoder's corruption: dropout of observed items, plus optional switch-on noise."""

    switch_on: float

    def _corrupt(self, profiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return corrupt_profiles(profiles, self.dropout, rng, self.switch_on)
