"""The framework-free half of the autoencoders of notebook 02 (denoising AE, Mult-DAE, Mult-VAE).

The twins in ``course_lib/{torch,tf}/autoencoder.py`` add the networks and one framework step;
the batches (rows, corruption, the VAE's noise), scoring, fold-in and validation are here, and
the loop is ``course_lib.training_loop``. Shapes: B batch, U users, I n_items, Z latent_dim.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from course_lib.base import check_interactions, minibatches
from course_lib.batches import corrupt_profiles, kl_beta
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, torch_uniform
from course_lib.ncf_base import check_float, check_int
from course_lib.training_loop import TrainingLoop, check_validation_split

__all__ = ["AutoencoderBase", "DenoisingMixin", "FoldIn"]


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


class AutoencoderBase(TrainingLoop):
    """Autoencoders of user profiles (the rows of the binary user-item matrix).

    The twins add the network (``_build``) and ``_train_batch`` / ``_forward_numpy`` (logits of
    profiles); this half draws the batches: the rows, their corruption and the VAE's noise.
    """

    _likelihood = "multinomial"
    _variational = False

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5, l2: float = 0.0,
                 optimizer: str = "adam", learning_rate: float = 1e-3, scheduler: str | None = None,
                 epochs: int = 20, batch_size: int = 128, keep_best: str | None = None,
                 patience: int | None = None, validation_metric: str | None = None, seed: int = 0,
                 device: Any = None, show_progress: bool = True) -> None:
        self.hidden_dim, self.latent_dim, self.dropout, self.l2 = hidden_dim, latent_dim, dropout, l2
        self.optimizer, self.learning_rate, self.scheduler = optimizer, learning_rate, scheduler
        self.epochs, self.batch_size, self.keep_best, self.patience = epochs, batch_size, keep_best, patience
        self.validation_metric, self.seed, self.device, self.show_progress = validation_metric, seed, device, show_progress

    def _check_arguments(self) -> None:
        check_int("hidden_dim", self.hidden_dim)
        check_int("latent_dim", self.latent_dim)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        if self._variational:
            check_float("anneal_cap", self.anneal_cap)
            check_int("anneal_steps", self.anneal_steps, 0)
        if hasattr(self, "switch_on"):
            check_float("switch_on", self.switch_on, 0.0, 1.0)

    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> AutoencoderBase:
        """Fit on the user rows of ``train``; with ``validation`` (held-out interactions of the same
        users) record ``validation_metric`` (NDCG@10 by default) per epoch, keep the best epoch (``keep_best="metric"``)
        and stop after ``patience`` epochs without improvement."""
        self._check_arguments()
        self._check_loop_arguments(validation)
        self._check_device()
        check_validation_split(check_interactions(train), validation)  # before any state changes
        train = self._start_fit(train)
        self.profiles_ = train.to_csr().astype(np.float32)
        self._active_users = np.flatnonzero(np.diff(self.profiles_.indptr) > 0)
        self.n_updates_ = 0
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """PyTorch's ``nn.Linear`` default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        Measured on ML-100K (Mult-DAE, notebook 02's recipe, seeds 42, 1, 2): NDCG@10 0.386, 0.384,
        0.382 against 0.374, 0.371, 0.387 with Glorot weights and zero biases."""
        return [("*", torch_uniform())]

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
