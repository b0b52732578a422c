"""A MovieLens-shaped synthetic data set: the stand-in used when the real files are absent.

``make_synthetic()`` draws about 100,000 ratings by 943 users of 1,682 "movies", the shape of
MovieLens 100K, from a small latent model, so that the numbers a notebook shows look familiar
and every model in the course has something to learn:

* **items** belong to clusters, each tied to a primary genre (a few per genre); an item's
  latent factor is its cluster's centre plus noise, and its genres (multi-hot, 18 MovieLens
  genres) are the cluster's genre plus the cluster's usual companion genres;
* **users** like a few clusters (a sparse Dirichlet mixture); their taste vector is the mixture
  of those clusters' centres, nudged by age;
* **which items a user rates**: a Gumbel-top-k draw over ``popularity + taste . item_factor``,
  that is, a Plackett-Luce sample without replacement, so popular items are rated often (a
  long tail with a Gini near MovieLens 100K's) yet each user's items follow their taste;
  as in MovieLens, every item is rated at least once (where the sizes allow);
* **how many**: at least ``min_per_user``, long-tailed (a Gamma draw), ``mean_per_user`` on
  average, so the total is exactly ``round(n_users * mean_per_user)``;
* **ratings**: the same affinity plus user and item biases and noise, mapped to 1..5 by
  quantiles so that the rating distribution is MovieLens 100K's;
* **timestamps**: seconds in a seven-month window (Sept 1997 to April 1998, as MovieLens 100K);
  most users rate in one sitting, some come back over weeks; within a user, items come in
  runs of the same cluster (a user binges one kind of film, then moves on), so the next item
  is predictable from the last ones and a sequence model can beat popularity.

Everything is vectorized NumPy; the default size takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_lib.data.interactions import Interactions

__all__ = ["make_synthetic", "GENRES"]

#: The 18 MovieLens genres (MovieLens 100K also has "unknown", on two items).
GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip

# How many MovieLens 100K items carry each genre (in GENRES order): the weights of primary genres.
_GENRE_WEIGHTS = np.array(
    [251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247, 101, 251, 71, 27], dtype=np.float64
)
# Genres that older users like a little more (+1) or less (-1) than younger ones.
_AGE_GENRE_TILT = np.array([0, 0, -1, -1, 0, 0, 1, 1, 0, 1, -1, 1, 1, 0, -1, 0, 1, 1], dtype=np.float64)

_RATING_SHARES = np.array([0.061, 0.114, 0.271, 0.342, 0.212])  # MovieLens 100K's 1..5 stars
_WINDOW_START = 874_713_600  # 1997-09-20 00:00 UTC
_WINDOW_END = 893_289_600  # 1998-04-23 00:00 UTC

_OCCUPATIONS = (
    "student", "other", "educator", "administrator", "engineer", "programmer", "librarian",
    "writer", "executive", "scientist", "artist", "technician", "marketing", "entertainment",
    "healthcare", "retired", "lawyer", "salesman", "none", "homemaker", "doctor",
)  # fmt: skip
_OCCUPATION_SHARES = np.array(
    [208, 111, 101, 84, 71, 70, 54, 48, 34, 33, 30, 29, 28, 19, 17, 15, 13, 13, 10, 7, 7], dtype=np.float64
)

# Model constants, tuned so that the default data set resembles MovieLens 100K (see the tests).
_CLUSTERS_PER_GENRE = 3
_POPULARITY_SCALE = 1.7  # std of the log-popularity of items: sets the Gini of item popularity
_TASTE_SCALE = 5.0  # weight of taste . item_factor in the choice of items: the personal signal
_USER_CLUSTERS_ALPHA = 0.05  # Dirichlet concentration: small means each user likes few clusters
_COUNT_SHAPE = 0.7  # Gamma shape of the per-user counts above the minimum: below 1, long-tailed
_STRAY_SHARE = 0.1  # share of a user's items placed at random in time, outside their cluster's run
_RUN_ORDER_NOISE = 0.3  # 0: runs strictly in release order; 1: runs in random order
_RATING_AFFINITY = 3.0  # weight of the (standardized) affinity in a rating
_ITEM_QUALITY_NOISE = 0.8  # std of item quality beyond what popularity says
_RATING_NOISE = 2.0  # std of the rating noise, in the units of the latent rating
_ONE_SESSION_SHARE = 0.6  # users who rate everything in one sitting


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {value}.")
    return int(value)


def _per_user_counts(rng: np.random.Generator, n_users: int, n_items: int, total: int, min_per_user: int) -> np.ndarray:
    """Long-tailed counts, each in [min_per_user, n_items], summing exactly to ``total``."""
    weights = rng.gamma(_COUNT_SHAPE, 1.0, size=n_users) + 1e-9
    capacity = float(n_items - min_per_user)
    extra = np.zeros(n_users)
    capped = np.zeros(n_users, dtype=bool)
    remaining = float(total - n_users * min_per_user)
    # Water-filling: share the extra in proportion to the weights; users who would exceed the
    # catalogue are capped and the rest shared again (a few rounds at most, never one per user).
    while remaining > 0:
        free = ~capped
        share = np.zeros(n_users)
        share[free] = weights[free] / weights[free].sum() * remaining
        over = free & (share > capacity)
        if not over.any():
            extra[free] = share[free]
            break
        extra[over] = capacity
        capped |= over
        remaining = float(total - n_users * min_per_user) - extra[capped].sum()
    counts = np.floor(extra).astype(np.int64)
    # Largest remainders get the last units, so the total is exact.
    missing = int(total - n_users * min_per_user - counts.sum())
    if missing > 0:
        fraction = np.where(counts < capacity, extra - counts, -1.0)
        counts[np.argsort(-fraction, kind="stable")[:missing]] += 1
    return counts + min_per_user


def make_synthetic(
    n_users: int = 943,
    n_items: int = 1682,
    mean_per_user: float = 106.045,
    min_per_user: int = 20,
    n_factors: int = 16,
    seed: int = 0,
    name: str = "synthetic",
) -> Interactions:
    """A MovieLens-100K-shaped data set drawn from a latent model; deterministic for a seed.

    Parameters
    ----------
    n_users, n_items:
        Catalogue sizes (MovieLens 100K: 943 users, 1,682 items).
    mean_per_user:
        Average number of interactions per user; the total is ``round(n_users * mean_per_user)``
        (the default gives exactly 100,000).
    min_per_user:
        Every user has at least this many interactions (MovieLens keeps users with 20 or more).
    n_factors:
        Dimension of the latent taste and item vectors the data are drawn from.
    seed:
        The same seed gives identical arrays; another seed gives another data set.
    name:
        The label ``describe()`` prints.

    Returns
    -------
    Interactions
        ``users``, ``items``, ``ratings`` (1..5), ``timestamps`` (int64 seconds, one strictly
        increasing sequence per user), ``item_features`` (multi-hot genres, shape
        (n_items, 18)), ``item_metadata`` (``raw_item_id``, ``title``, ``genres`` joined by ``|``,
        ``year``, and ``cluster``, the hidden cluster each item was drawn from; the genre names in
        ``item_metadata.attrs["genres"]``) and ``user_metadata`` (``raw_user_id``, ``age``,
        ``gender``, ``occupation``), the columns the MovieLens loaders give.

    Examples
    --------
    >>> data = make_synthetic(seed=0)
    >>> len(data), data.n_users, data.n_items
    (100000, 943, 1682)
    """
    _check_arguments(n_users, n_items, mean_per_user, min_per_user, n_factors, seed)
    n_users, n_items, min_per_user, n_factors = int(n_users), int(n_items), int(min_per_user), int(n_factors)
    # One generator, drawn from in a fixed order: the steps below must keep their order (and each
    # its own order of draws), or every seed gives another data set (tests/data pins digests).
    rng = np.random.default_rng(seed)
    items = _draw_items(rng, n_items, n_factors)
    users = _draw_users(rng, n_users, n_factors, items)
    user_bias = rng.normal(0.0, 0.45, size=n_users)
    item_quality = 0.5 * items.popularity_z + rng.normal(0.0, _ITEM_QUALITY_NOISE, size=n_items)

    total = int(round(n_users * mean_per_user))
    counts = _per_user_counts(rng, n_users, n_items, total, min_per_user)
    user_ids, item_ids, affinity = _draw_interactions(rng, counts, users.tastes, items)
    _rate_every_item(rng, user_ids, item_ids, affinity, users.tastes, items.factors)
    ratings = _draw_ratings(rng, affinity, user_bias[user_ids] + item_quality[item_ids])

    order = _order_in_time(rng, n_users, user_ids, item_ids, items)
    item_ids, ratings = item_ids[order], ratings[order]
    timestamps = _draw_timestamps(rng, counts)
    return Interactions(
        users=user_ids,
        items=item_ids,
        ratings=ratings,
        timestamps=timestamps,
        n_users=n_users,
        n_items=n_items,
        raw_user_ids=np.arange(n_users),
        raw_item_ids=np.arange(n_items),
        item_metadata=_item_metadata(items),
        user_metadata=_user_metadata(users),
        item_features=items.genres,
        name=name,
    )


def _check_arguments(
    n_users: object, n_items: object, mean_per_user: object, min_per_user: object, n_factors: object, seed: object
) -> None:
    _check_int("n_users", n_users, 1)
    n_items = _check_int("n_items", n_items, 1)
    min_per_user = _check_int("min_per_user", min_per_user, 1)
    _check_int("n_factors", n_factors, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer, got {seed!r}.")
    if min_per_user > n_items:
        raise ValueError(
            f"`min_per_user`={min_per_user} is larger than `n_items`={n_items}: a user cannot rate "
            "more distinct items than there are."
        )
    if isinstance(mean_per_user, bool) or not isinstance(mean_per_user, (int, float, np.integer, np.floating)):
        raise ValueError(f"`mean_per_user` must be a number, got {mean_per_user!r}.")
    if not np.isfinite(mean_per_user) or not min_per_user <= mean_per_user <= n_items:
        raise ValueError(
            f"`mean_per_user` must lie between `min_per_user`={min_per_user} and `n_items`={n_items}, "
            f"got {mean_per_user!r}."
        )


# ------------------------------------------------------------------------------ the latent model
@dataclass(frozen=True)
class _Items:
    cluster_genre: np.ndarray  # (C,) the primary genre of each cluster
    centres: np.ndarray  # (C, F) cluster centres in the latent space
    cluster_weights: np.ndarray  # (C,) share of items in each cluster
    cluster: np.ndarray  # (I,) the cluster each item was drawn from
    factors: np.ndarray  # (I, F)
    genres: np.ndarray  # (I, G) multi-hot, float32
    popularity_z: np.ndarray  # (I,) standard normal: log-popularity before scaling
    years: np.ndarray  # (I,) int64 release years


@dataclass(frozen=True)
class _Users:
    ages: np.ndarray  # (U,) int64
    genders: np.ndarray  # (U,) "M" or "F"
    occupations: np.ndarray  # (U,)
    tastes: np.ndarray  # (U, F)


def _draw_items(rng: np.random.Generator, n_items: int, n_factors: int) -> _Items:
    """Clusters tied to genres, item factors around the cluster centres, genres, popularity, years."""
    n_genres = len(GENRES)
    n_clusters = n_genres * _CLUSTERS_PER_GENRE
    cluster_genre = np.repeat(np.arange(n_genres), _CLUSTERS_PER_GENRE)
    genre_vectors = rng.normal(size=(n_genres, n_factors))
    # Each cluster has one or two companion genres (Drama with Romance, Action with Adventure ...).
    # Common genres are common companions too (Drama is MovieLens' most frequent secondary genre).
    companion_chance = np.minimum(1.2 * _GENRE_WEIGHTS / _GENRE_WEIGHTS.sum(), 0.5)
    companion = rng.random((n_clusters, n_genres)) < companion_chance
    companion[np.arange(n_clusters), cluster_genre] = False
    centres = (
        genre_vectors[cluster_genre] + 0.5 * companion @ genre_vectors + 0.8 * rng.normal(size=(n_clusters, n_factors))
    )
    cluster_weights = _GENRE_WEIGHTS[cluster_genre] / _GENRE_WEIGHTS[cluster_genre].sum()
    item_cluster = rng.choice(n_clusters, size=n_items, p=cluster_weights)
    item_factors = centres[item_cluster] + 0.6 * rng.normal(size=(n_items, n_factors))
    item_factors /= np.sqrt(n_factors)  # so that taste . factor stays O(1) whatever n_factors

    genres = np.zeros((n_items, n_genres), dtype=np.float32)
    genres[np.arange(n_items), cluster_genre[item_cluster]] = 1.0
    genres[companion[item_cluster] & (rng.random((n_items, n_genres)) < 0.55)] = 1.0
    genres[rng.random((n_items, n_genres)) < 0.012] = 1.0  # the odd extra genre

    popularity_z = rng.normal(size=n_items)
    # Mostly recent releases, with a tail of classics back to the 1920s.
    recent = rng.random(n_items) < 0.78
    age_in_years = np.where(recent, rng.exponential(2.0, n_items), 4.0 + rng.exponential(22.0, n_items))
    years = 1998 - np.minimum(np.round(age_in_years), 76).astype(np.int64)
    return _Items(cluster_genre, centres, cluster_weights, item_cluster, item_factors, genres, popularity_z, years)


def _draw_users(rng: np.random.Generator, n_users: int, n_factors: int, items: _Items) -> _Users:
    """Demographics, then a taste vector: a sparse mixture of cluster centres nudged by age."""
    ages = np.clip(np.round(rng.gamma(7.5, 4.5, size=n_users)), 7, 73).astype(np.int64)
    genders = np.where(rng.random(n_users) < 0.71, "M", "F")
    occupations = np.asarray(_OCCUPATIONS)[
        rng.choice(len(_OCCUPATIONS), size=n_users, p=_OCCUPATION_SHARES / _OCCUPATION_SHARES.sum())
    ]
    n_clusters = len(items.cluster_genre)
    age_tilt = np.exp(0.5 * np.outer((ages - 34.0) / 12.0, _AGE_GENRE_TILT[items.cluster_genre]))
    # Sparse Dirichlet (normalized Gammas): each user likes a handful of clusters.
    cluster_likes = rng.gamma(_USER_CLUSTERS_ALPHA * n_clusters * items.cluster_weights * age_tilt + 1e-3)
    cluster_likes /= np.maximum(cluster_likes.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)
    tastes = cluster_likes @ items.centres + 0.3 * rng.normal(size=(n_users, n_factors))
    tastes /= np.sqrt(n_factors)
    return _Users(ages, genders, occupations, tastes)


# ---------------------------------------------------------------------------- the interactions
def _draw_interactions(
    rng: np.random.Generator, counts: np.ndarray, tastes: np.ndarray, items: _Items
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which items each user rates: a Gumbel-top-k (Plackett-Luce) draw without replacement.

    Returns the user ids (sorted), the item ids and the affinity ``taste . item_factor`` of each row.
    """
    n_users, n_items = len(counts), len(items.factors)
    total = int(counts.sum())
    log_popularity = _POPULARITY_SCALE * items.popularity_z
    users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    chosen_items = np.empty(total, dtype=np.int64)
    affinity = np.empty(total, dtype=np.float64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    chunk = max(1, 4_000_000 // n_items)  # users per block: bounds memory at any size
    for first in range(0, n_users, chunk):
        last = min(first + chunk, n_users)
        block_affinity = tastes[first:last] @ items.factors.T  # (block users, I)
        keys = log_popularity + _TASTE_SCALE * block_affinity + rng.gumbel(size=block_affinity.shape)
        order = np.argsort(-keys, axis=1)
        taken = np.arange(n_items) < counts[first:last, None]  # the top counts[u] of each row
        block_rows = np.nonzero(taken)[0]
        chosen = order[taken]
        chosen_items[offsets[first] : offsets[last]] = chosen
        affinity[offsets[first] : offsets[last]] = block_affinity[block_rows, chosen]
    return users, chosen_items, affinity


def _rate_every_item(
    rng: np.random.Generator,
    users: np.ndarray,
    items: np.ndarray,
    affinity: np.ndarray,
    tastes: np.ndarray,
    item_factors: np.ndarray,
) -> None:
    """MovieLens lists only movies someone rated: give each never-chosen item one row (in place).

    The row is taken from an item rated more often than there are such items, so that item keeps
    some; nothing changes when the sizes do not allow it.
    """
    item_counts = np.bincount(items, minlength=len(item_factors))
    unrated = np.flatnonzero(item_counts == 0)
    donors = np.flatnonzero(item_counts[items] > len(unrated))
    if 0 < len(unrated) <= len(donors):
        rows = rng.choice(donors, size=len(unrated), replace=False)
        items[rows] = unrated
        affinity[rows] = np.einsum("rf,rf->r", tastes[users[rows]], item_factors[unrated])


def _draw_ratings(rng: np.random.Generator, affinity: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """The standardized affinity plus user and item biases and noise, cut into 1..5 by quantiles."""
    spread = affinity.std() if affinity.std() > 0 else 1.0
    latent = (
        _RATING_AFFINITY * (affinity - affinity.mean()) / spread
        + biases
        + rng.normal(0.0, _RATING_NOISE, size=len(affinity))
    )
    thresholds = np.quantile(latent, np.cumsum(_RATING_SHARES)[:-1])
    return (1 + np.searchsorted(thresholds, latent, side="right")).astype(np.float32)


def _order_in_time(
    rng: np.random.Generator, n_users: int, users: np.ndarray, items: np.ndarray, catalogue: _Items
) -> np.ndarray:
    """The permutation that puts each user's rows in time order: runs of one cluster at a time.

    Clusters come in a random order per user; within a run, items come roughly in order of
    release (a user catches up on a kind of film); a few stray rows land anywhere.
    """
    n_clusters = len(catalogue.cluster_genre)
    run_position = rng.random((n_users, n_clusters)).argsort(axis=1).argsort(axis=1)
    release_order = (catalogue.years - 1920 + rng.random(len(catalogue.years))) / 80.0  # (I,) in [0, 1)
    position = run_position[users, catalogue.cluster[items]] + (
        (1 - _RUN_ORDER_NOISE) * release_order[items] + _RUN_ORDER_NOISE * rng.random(len(users))
    )
    stray = rng.random(len(users)) < _STRAY_SHARE
    position[stray] = rng.random(int(stray.sum())) * n_clusters
    return np.lexsort((position, users))


def _draw_timestamps(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Seconds for rows sorted by user and time: gaps of seconds within a sitting, days between."""
    n_users, total = len(counts), int(counts.sum())
    users = np.repeat(np.arange(n_users), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    one_session = rng.random(n_users) < _ONE_SESSION_SHARE
    gaps = 1.0 + rng.exponential(25.0, size=total)
    breaks = ~one_session[users] & (rng.random(total) < 0.05)
    gaps[breaks] += rng.exponential(8 * 86_400.0, size=int(breaks.sum()))
    gaps[offsets[:-1]] = 0.0  # the first item of each user starts the clock
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[offsets[:-1]], counts)  # seconds since the user's first rating
    span = elapsed[offsets[1:] - 1]  # (U,)
    window = float(_WINDOW_END - _WINDOW_START)
    # Users whose sittings would overrun the window are squeezed into it (the few equal seconds
    # this can make are then pushed apart).
    squeeze = np.minimum(1.0, 0.95 * window / np.maximum(span, 1.0))
    elapsed *= squeeze[users]
    span *= squeeze
    starts = _WINDOW_START + rng.random(n_users) * (window - span)
    timestamps = np.floor(starts[users] + elapsed).astype(np.int64)
    return _strictly_increasing_per_user(timestamps, offsets)


# ------------------------------------------------------------------------------- the metadata
def _item_metadata(items: _Items) -> pd.DataFrame:
    """The columns of the real MovieLens loaders, so that code written for one runs on the other."""
    n_items = len(items.years)
    # Strings built column-wise (a loop over the 18 genres, not over items).
    genre_strings = pd.Series("", index=np.arange(n_items), dtype=object)
    for genre_index, genre in enumerate(GENRES):
        genre_strings += np.where(items.genres[:, genre_index] > 0, "|" + genre, "")
    years = pd.Series(items.years).astype(str)
    titles = "Synthetic movie " + pd.Series(np.arange(n_items)).astype(str) + " (" + years + ")"
    metadata = pd.DataFrame(
        {
            "raw_item_id": np.arange(n_items),
            "title": titles.to_numpy(dtype=object),
            "genres": genre_strings.str.slice(1).to_numpy(dtype=object),
            "year": items.years.astype(np.float64),  # float, as in the loaders (a real title may lack a year)
            "cluster": items.cluster,  # the hidden cluster the item was drawn from (for plots)
        }
    )
    metadata.attrs["genres"] = list(GENRES)
    return metadata


def _user_metadata(users: _Users) -> pd.DataFrame:
    n_users = len(users.ages)
    return pd.DataFrame(
        {"raw_user_id": np.arange(n_users), "age": users.ages, "gender": users.genders, "occupation": users.occupations}
    )


def _strictly_increasing_per_user(timestamps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Raise equal or decreasing seconds within each user's run so the order is strict."""
    counts = np.diff(offsets)
    position = np.arange(len(timestamps)) - np.repeat(offsets[:-1], counts)
    # t[k] - k is non-decreasing exactly when t is strictly increasing; a running max per user
    # (made global by adding a large per-user offset) restores that.
    shifted = timestamps - position
    user_index = np.repeat(np.arange(len(counts)), counts)
    big = np.int64(4 * 10**9)
    shifted = np.maximum.accumulate(shifted + user_index * big) - user_index * big
    return shifted + position
