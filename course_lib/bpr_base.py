"""The framework-free half of BPR matrix factorization (Rendle et al., UAI 2009), notebook 07.

The twins in ``course_lib/{torch,tf}/bpr.py`` add the network and its loss; arguments, the
triplet batches, scoring and the loop (``course_lib.training_loop``) are here, once.

For a triplet (u, i, j), i an item the user interacted with and j one they did not,
``x_uij = x_ui - x_uj`` with ``x_ui = <p_u, q_i> + b_i``; BPR minimizes, averaged over the triplets
of a batch, ``-log sigmoid(x_uij) + l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2)``.
``l2`` is that penalty IN THE LOSS, on the rows a batch touches (Rendle's lambda), not a decay
applied by the optimizer to every weight; both twins compute it in their ``triplet_loss``.

Shapes: B batch, D embedding_dim, U users scored at once, I n_items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from course_lib.base import _transactional, check_item_ids
from course_lib.data.interactions import Interactions
from course_lib.initializers import Initializer, normal, zeros
from course_lib.optim import OPTIMIZERS
from course_lib.sampling import sample_triplets
from course_lib.training_loop import TrainingLoop, check_validation_split
from course_lib.validation import check_choice, check_epochs, check_integer, check_number

__all__ = ["BPRMFBase", "triplet_batches"]


def triplet_batches(positives: Any, batch_size: int, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
    """One epoch of BPR triplets, one per training interaction in random order (``sample_triplets``),
    cut into consecutive batches of ``batch_size``: dicts of ``users``, ``positives``, ``negatives`` (B,)."""
    users, positives_, negatives = sample_triplets(positives, seed=rng)
    for start in range(0, len(users), batch_size):
        rows = slice(start, start + batch_size)
        yield {"users": users[rows], "positives": positives_[rows], "negatives": negatives[rows]}


class BPRMFBase(TrainingLoop):
    """BPR-MF trained on uniformly sampled triplets, one epoch = one triplet per training interaction.

    Parameters
    ----------
    embedding_dim: D, the number of latent factors.
    epochs: the most epochs to train (a ceiling when ``patience`` stops earlier).
    batch_size, learning_rate: the training loop (large batches keep an epoch fast on a CPU).
    l2: Rendle's lambda, a penalty in the loss: ``l2`` times the squared norms of the embeddings and
        biases of each triplet's user, positive and negative (see the module's docstring). Not an
        optimizer decay: the rows a batch does not touch are not shrunk.
    optimizer: any of ``course_lib.optim.OPTIMIZERS``; ``"adam"`` (default) converges in a few
        epochs, ``"sgd"`` is the paper's plain SGD.
    init_std: standard deviation of the initial embeddings (the item biases start at 0).
    scheduler, keep_best, patience, validation_metric: the loop's (``course_lib.training_loop``);
        with ``fit(train, validation=...)`` the model records ``validation_metric`` (NDCG@10 by
        default) after each epoch, ``keep_best="metric"`` restores the best epoch and ``patience``
        stops after that many epochs without improvement.
    seed, device, show_progress: randomness (weights and triplets), the framework's device (default:
        the GPU if any) and the progress bar.

    Reference: S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme. BPR: Bayesian
    Personalized Ranking from Implicit Feedback. UAI 2009.
    """

    def __init__(self, embedding_dim: int = 64, epochs: int = 30, batch_size: int = 4096, learning_rate: float = 0.01,
                 l2: float = 0.01, optimizer: str = "adam", init_std: float = 0.1, seed: int = 0, device: Any = None,
                 scheduler: str | None = None, keep_best: str | None = None, patience: int | None = None,
                 validation_metric: str | None = None, show_progress: bool = True) -> None:
        self.embedding_dim, self.epochs, self.batch_size = embedding_dim, epochs, batch_size
        self.learning_rate, self.l2, self.optimizer, self.init_std = learning_rate, l2, optimizer, init_std
        self.seed, self.device, self.scheduler, self.keep_best = seed, device, scheduler, keep_best
        self.patience, self.validation_metric, self.show_progress = patience, validation_metric, show_progress

    def _check_arguments(self) -> None:
        check_integer("embedding_dim", self.embedding_dim, minimum=1)
        check_epochs(self.epochs)
        check_integer("batch_size", self.batch_size, minimum=1)
        check_number("learning_rate", self.learning_rate, minimum=0.0, minimum_open=True)
        check_number("l2", self.l2, minimum=0.0)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("init_std", self.init_std, minimum=0.0, minimum_open=True)
        check_integer("seed", self.seed, minimum=0)

    @_transactional
    def fit(self, train: Interactions, validation: Interactions | None = None,
            show_progress: bool | None = None) -> BPRMFBase:
        """Learn from ``train`` (every interaction a positive); with ``validation`` (an Interactions
        over the same users and items) record ``validation_<metric>`` after each epoch.

        ``history_`` holds ``loss`` (BPR plus L2, mean per epoch), ``seconds`` (training time so far,
        without the validation), ``learning_rate`` and, with ``validation``, ``validation_ndcg@10``
        (or the chosen ``validation_metric``).
        """
        self._check_arguments()
        self._check_loop_arguments(validation)
        self._check_device()  # before any state changes
        train = self._start_fit(train)
        check_validation_split(train, validation)
        self._positives = train.to_csr()
        self._build(train)
        self._fit_loop(train, validation, show_progress)
        return self

    def _initializers(self) -> list[tuple[str, Initializer]]:
        """Embeddings N(0, init_std^2), item biases 0."""
        return [("item_bias", zeros()), ("*_embeddings", normal(self.init_std))]

    def _epoch_batches(self, rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        return triplet_batches(self._positives, self.batch_size, rng)

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        weights = self.get_weights()  # type: ignore[attr-defined]
        return weights["user_embeddings"], weights["item_embeddings"], weights["item_bias"]

    def score(self, user_ids: Any) -> np.ndarray:
        """``x_ui`` of every item for each user: (len(user_ids), n_items)."""
        user_ids = self._user_ids(user_ids)  # type: ignore[attr-defined]
        users, items, bias = self._tables()
        return (users[user_ids] @ items.T + bias).astype(np.float32)                      # (U, I)

    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """``x_ui`` for pairs of (user, item)."""
        user_ids = self._user_ids(user_ids)  # type: ignore[attr-defined]
        item_ids = check_item_ids(item_ids, self.n_items_)  # type: ignore[attr-defined]
        if len(user_ids) != len(item_ids):
            raise ValueError(f"{len(user_ids)} user ids but {len(item_ids)} item ids: pass one of each per pair.")
        users, items, bias = self._tables()
        return ((users[user_ids] * items[item_ids]).sum(-1) + bias[item_ids]).astype(np.float32)  # (B,)
