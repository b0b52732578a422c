"""The batches of the neural recommenders, drawn with NumPy so that both twins of a pair see the same ones.

Implicit (user, item, label) batches with sampled negatives, explicit (user, item, rating)
batches, the denoising autoencoders' corruption and the VAE's KL annealing. Shapes: B batch, I n_items.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from course_lib.base import minibatches
from course_lib.data.interactions import Interactions
from course_lib.sampling import sample_negatives

__all__ = ["implicit_batches", "explicit_batches", "corrupt_profiles", "kl_beta"]


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


def kl_beta(update: int, anneal_cap: float, anneal_steps: int) -> float:
    """KL annealing of Mult-VAE: beta grows linearly from 0 by ``1 / anneal_steps`` per update, up to ``anneal_cap``."""
    return min(anneal_cap, update / anneal_steps) if anneal_steps > 0 else anneal_cap
