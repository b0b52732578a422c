"""`Interactions`, the one data container every part of the course takes.

Parallel NumPy arrays of user ids, item ids and (optionally) ratings and timestamps, with the
catalogue sizes and the maps back to the raw ids of the source data set. Everything else in
``course_lib`` (splits, samplers, metrics, models) reads this object.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["Interactions", "DUPLICATE_POLICIES", "DEFAULT_DUPLICATES"]

#: What ``Interactions(duplicates=...)`` may do with repeated (user, item) rows.
DUPLICATE_POLICIES = ("error", "first", "last", "sum", "mean")
#: The default, "last": the latest interaction of a pair is kept (the latest by timestamp when
#: there are timestamps, else the last row), and a warning gives the count. Reasons: for ratings
#: the latest one is the user's current opinion (MovieLens lets users re-rate); for implicit
#: feedback every "keep" policy gives the same binary matrix; it is what ``to_csr`` always kept,
#: so no result on duplicate-free data (all the course's data sets) moves; and a refusal by
#: default would stop every real click log at its first cell, where the warning names the count
#: and the choices. Pass ``duplicates="error"`` to refuse, ``"sum"`` to count repeated clicks.
DEFAULT_DUPLICATES = "last"


def _first_rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"rows {shown}{more}"


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: the container never shares a writable array with its caller."""
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _as_id_array(values: Any, column: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"`{column}` must be one-dimensional, got shape {array.shape}.")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            raise ValueError(f"`{column}` must hold whole numbers; non-integer values at {_first_rows(bad)}.")
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iu":
        if array.size == 0:
            return np.zeros(0, dtype=np.int64)
        raise ValueError(
            f"`{column}` must hold integer ids, got dtype {array.dtype}. "
            "Map raw ids to 0..n-1 first, for example with Interactions.from_dataframe."
        )
    array = array.astype(np.int64, copy=False)
    negative = array < 0
    if negative.any():
        raise ValueError(f"`{column}` must be non-negative; negative ids at {_first_rows(negative)}.")
    return array


@dataclass(eq=False)
class Interactions:
    """User-item interactions as parallel arrays.

    Parameters
    ----------
    users, items:
        Contiguous integer ids, ``0 <= users < n_users`` and ``0 <= items < n_items``.
    ratings:
        Optional explicit feedback, one float per interaction (no NaN).
    timestamps:
        Optional integer timestamps (seconds since the epoch for the real data sets).
    n_users, n_items:
        Catalogue sizes; inferred as ``max id + 1`` when not given. Keep them when you take a
        subset, so that a split's train and test parts index the same matrix.
    raw_user_ids, raw_item_ids:
        The source data set's ids: ``raw_item_ids[i]`` is the raw id of contiguous item ``i``.
    item_metadata:
        Optional DataFrame with one row per contiguous item id (``title``, ``genres`` ...).
    user_metadata:
        Optional DataFrame with one row per contiguous user id (``age``, ``gender`` ...).
    item_features:
        Optional dense matrix (n_items, F), for example multi-hot genres.
    name:
        A label shown by ``describe()`` and in plots.
    duplicates:
        What to do with repeated (user, item) rows, one of ``DUPLICATE_POLICIES``:
        ``"error"`` refuses them (naming the pairs and rows); ``"first"`` / ``"last"`` keep the
        earliest / latest (by timestamp when there are timestamps, else by row order); ``"sum"``
        and ``"mean"`` keep one row whose rating is the sum / mean of the pair's ratings (without
        ratings, ``"sum"`` makes the ratings the counts of each pair) and whose timestamp is the
        latest. Every merge warns with the count. The default is ``"last"`` (see
        ``DEFAULT_DUPLICATES`` for why). After construction every (user, item) pair is unique,
        so ``len()`` counts pairs and a split can never put one pair on both sides.

    The arrays ``users``, ``items``, ``ratings``, ``timestamps`` and ``item_features`` are
    read-only copies, and ``to_csr()`` returns a read-only matrix: writing to them raises
    instead of silently changing every later model fitted on this data (``.copy()`` them first).
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    n_users: int | None = None
    n_items: int | None = None
    raw_user_ids: np.ndarray | None = None
    raw_item_ids: np.ndarray | None = None
    item_metadata: pd.DataFrame | None = None
    user_metadata: pd.DataFrame | None = None
    item_features: np.ndarray | None = None
    name: str = "interactions"
    duplicates: str = DEFAULT_DUPLICATES
    _csr_cache: dict = field(default_factory=dict, repr=False, compare=False)
    _unique_pairs: bool = field(default=False, repr=False, compare=False)  # set by subset(): no check needed

    def __post_init__(self) -> None:
        self.users = _as_id_array(self.users, "users")
        self.items = _as_id_array(self.items, "items")
        n = len(self.users)
        if len(self.items) != n:
            raise ValueError(f"`users` has {n} entries but `items` has {len(self.items)}; they must be parallel.")
        if self.ratings is not None:
            ratings = np.asarray(self.ratings)
            if len(ratings) != n:
                raise ValueError(f"`ratings` has {len(ratings)} entries but there are {n} interactions.")
            if ratings.dtype.kind not in "iuf":
                raise ValueError(f"`ratings` must be numeric, got dtype {ratings.dtype}.")
            ratings = ratings.astype(np.float32, copy=False)
            bad = ~np.isfinite(ratings)
            if bad.any():
                raise ValueError(f"`ratings` holds NaN or infinite values at {_first_rows(bad)}.")
            self.ratings = ratings
        if self.timestamps is not None:
            timestamps = np.asarray(self.timestamps)
            if len(timestamps) != n:
                raise ValueError(f"`timestamps` has {len(timestamps)} entries but there are {n} interactions.")
            self.timestamps = _as_id_array(timestamps, "timestamps")
        self.n_users = self._check_size("n_users", self.n_users, self.users, "users")
        self.n_items = self._check_size("n_items", self.n_items, self.items, "items")
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"`duplicates` must be one of {', '.join(map(repr, DUPLICATE_POLICIES))}, "
                             f"got duplicates={self.duplicates!r}.")
        if not self._unique_pairs:
            self._merge_duplicates()
        self._unique_pairs = False
        self.users, self.items = _frozen(self.users), _frozen(self.items)
        if self.ratings is not None:
            self.ratings = _frozen(self.ratings)
        if self.timestamps is not None:
            self.timestamps = _frozen(self.timestamps)
        if self.item_features is not None:
            self.item_features = _frozen(self.item_features)
        if self.raw_user_ids is not None and len(self.raw_user_ids) != self.n_users:
            raise ValueError(f"`raw_user_ids` has {len(self.raw_user_ids)} entries, expected n_users={self.n_users}.")
        if self.raw_item_ids is not None and len(self.raw_item_ids) != self.n_items:
            raise ValueError(f"`raw_item_ids` has {len(self.raw_item_ids)} entries, expected n_items={self.n_items}.")
        if self.item_features is not None and len(self.item_features) != self.n_items:
            raise ValueError(
                f"`item_features` has {len(self.item_features)} rows, expected one per item (n_items={self.n_items})."
            )
        for label, frame, size in (("item_metadata", self.item_metadata, self.n_items),
                                   ("user_metadata", self.user_metadata, self.n_users)):
            if frame is not None and len(frame) != size:
                raise ValueError(f"`{label}` has {len(frame)} rows, expected {size}.")

    def _merge_duplicates(self) -> None:
        """Apply ``self.duplicates`` to repeated (user, item) rows (see the class docstring)."""
        n = len(self.users)
        if n < 2:
            return
        keys = self.users * np.int64(max(self.n_items, 1)) + self.items
        ordered = np.sort(keys)
        if not (ordered[1:] == ordered[:-1]).any():  # the usual case, decided by one sort
            return
        positions = np.arange(n)
        # By pair, then time (when known), then row: the first of a run is the earliest, the last the latest.
        sort_keys = (positions, keys) if self.timestamps is None else (positions, self.timestamps, keys)
        order = np.lexsort(sort_keys)
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        n_repeated = n - len(starts)
        if n_repeated == 0:
            return
        ends = np.r_[starts[1:], n] - 1
        if self.duplicates == "error":
            counts = np.diff(np.r_[starts, n])
            first = starts[counts > 1][:3]
            shown = "; ".join(
                f"(user {self.users[order[i]]}, item {self.items[order[i]]}) at rows "
                f"{', '.join(str(r) for r in np.sort(order[i:i + counts[np.searchsorted(starts, i)]])[:4])}"
                for i in first)
            raise ValueError(
                f"{n_repeated:,} rows repeat a (user, item) pair already present ({shown}"
                f"{' ...' if (counts > 1).sum() > 3 else ''}). Choose what to do with "
                "Interactions(..., duplicates='first' | 'last' | 'sum' | 'mean') (or load_dataset(..., duplicates=...))."
            )
        keep = order[starts] if self.duplicates == "first" else order[ends]
        ratings = None if self.ratings is None else np.asarray(self.ratings)[keep]
        if self.duplicates in ("sum", "mean"):
            counts = np.diff(np.r_[starts, n]).astype(np.float64)
            values = np.ones(n) if self.ratings is None else np.asarray(self.ratings, dtype=np.float64)[order]
            totals = np.add.reduceat(values, starts)
            if self.duplicates == "sum":
                ratings = totals.astype(np.float32)
            elif self.ratings is not None:
                ratings = (totals / counts).astype(np.float32)
        rows = np.argsort(keep, kind="stable")                               # the kept rows in their original order
        keep = keep[rows]
        self.users, self.items = self.users[keep], self.items[keep]
        self.ratings = None if ratings is None else ratings[rows]
        if self.timestamps is not None:
            self.timestamps = self.timestamps[keep]
        merged = {"first": "kept the earliest of each", "last": "kept the latest of each",
                  "sum": "summed the ratings (counted the rows, without ratings) of each",
                  "mean": "averaged the ratings of each"}[self.duplicates]
        warnings.warn(
            f"{self.name}: {n_repeated:,} of {n:,} rows repeat a (user, item) pair; duplicates={self.duplicates!r} "
            f"{merged} pair, leaving {len(keep):,} interactions. Pass duplicates='error' to refuse them, "
            "or 'first', 'last', 'sum' or 'mean' to choose.",
            UserWarning, stacklevel=4,
        )

    @staticmethod
    def _check_size(label: str, size: int | None, ids: np.ndarray, column: str) -> int:
        largest = int(ids.max()) + 1 if len(ids) else 0
        if size is None:
            return largest
        size = int(size)
        if size < largest:
            too_big = ids >= size
            raise ValueError(f"`{column}` has ids >= {label}={size} at {_first_rows(too_big)}.")
        return size

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.users)

    def __repr__(self) -> str:
        extras = [c for c in ("ratings", "timestamps") if getattr(self, c) is not None]
        return (
            f"Interactions(name={self.name!r}, n_users={self.n_users}, n_items={self.n_items}, "
            f"n_interactions={len(self)}, columns=users, items{''.join(', ' + e for e in extras)})"
        )

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    @property
    def density(self) -> float:
        cells = self.n_users * self.n_items
        return len(self) / cells if cells else 0.0

    def subset(self, rows: np.ndarray, name: str | None = None) -> Interactions:
        """The interactions at ``rows`` (a boolean mask or integer positions), same catalogue."""
        rows = np.asarray(rows)
        if rows.dtype == bool and len(rows) != len(self):
            raise ValueError(f"The boolean mask has {len(rows)} entries but there are {len(self)} interactions.")
        # A mask or distinct positions of unique pairs are unique pairs: no need to look again.
        unique = rows.dtype == bool or len(np.unique(rows)) == len(rows)
        return replace(
            self,
            users=self.users[rows],
            items=self.items[rows],
            ratings=None if self.ratings is None else self.ratings[rows],
            timestamps=None if self.timestamps is None else self.timestamps[rows],
            name=name or self.name,
            _csr_cache={},
            _unique_pairs=unique,
        )

    def copy(self) -> Interactions:
        return self.subset(np.arange(len(self)))

    # ---------------------------------------------------------- conversions
    def to_csr(self, binary: bool = True) -> sp.csr_matrix:
        """The (n_users, n_items) matrix: ones for ``binary=True``, else the ratings.

        Every (user, item) pair is unique (see ``duplicates``), so each row gives one entry. The
        result is cached and read-only: ``X.data *= 5`` raises. Take ``X.copy()`` to change it.
        """
        key = "binary" if binary or self.ratings is None else "ratings"
        if key not in self._csr_cache:
            values = np.ones(len(self), dtype=np.float32) if key == "binary" else self.ratings
            matrix = sp.csr_matrix((values, (self.users, self.items)), shape=self.shape, dtype=np.float32)
            matrix.sum_duplicates()  # sorts the indices; no pair repeats, so nothing is summed
            for array in (matrix.data, matrix.indices, matrix.indptr):
                array.flags.writeable = False
            self._csr_cache[key] = matrix
        return self._csr_cache[key]

    def to_dataframe(self, raw_ids: bool = False) -> pd.DataFrame:
        """One row per interaction: ``user``, ``item`` and ``rating`` / ``timestamp`` when present."""
        columns: dict[str, np.ndarray] = {"user": self.users, "item": self.items}
        if raw_ids and self.raw_user_ids is not None:
            columns["user"] = np.asarray(self.raw_user_ids)[self.users]
        if raw_ids and self.raw_item_ids is not None:
            columns["item"] = np.asarray(self.raw_item_ids)[self.items]
        if self.ratings is not None:
            columns["rating"] = self.ratings
        if self.timestamps is not None:
            columns["timestamp"] = self.timestamps
        return pd.DataFrame(columns)

    @classmethod
    def from_dataframe(
        cls,
        frame: pd.DataFrame,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str | None = "rating",
        timestamp_col: str | None = "timestamp",
        name: str = "interactions",
        **kwargs: Any,
    ) -> Interactions:
        """Build from a DataFrame of raw ids, mapping them to contiguous ids (sorted raw order)."""
        for column in (user_col, item_col):
            if column not in frame.columns:
                raise ValueError(f"Column {column!r} is missing; the DataFrame has {list(frame.columns)}.")
            missing = frame[column].isna().to_numpy()
            if missing.any():
                raise ValueError(f"Column {column!r} has missing ids at {_first_rows(missing)}.")
        user_codes, raw_users = pd.factorize(frame[user_col], sort=True)
        item_codes, raw_items = pd.factorize(frame[item_col], sort=True)
        ratings = None
        if rating_col is not None and rating_col in frame.columns:
            ratings = pd.to_numeric(frame[rating_col], errors="coerce").to_numpy(dtype=np.float64)
            bad = np.isnan(ratings)
            if bad.any():
                raise ValueError(f"Column {rating_col!r} has missing or non-numeric ratings at {_first_rows(bad)}.")
        timestamps = None
        if timestamp_col is not None and timestamp_col in frame.columns:
            timestamps = frame[timestamp_col].to_numpy()
        return cls(
            users=user_codes,
            items=item_codes,
            ratings=ratings,
            timestamps=timestamps,
            raw_user_ids=np.asarray(raw_users),
            raw_item_ids=np.asarray(raw_items),
            name=name,
            **kwargs,
        )

    def to_sequences(self, max_length: int | None = None, min_length: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Each user's items in time order, left-padded with 0 (item ids are shifted by +1).

        Returns ``(user_ids, sequences)``: ``sequences[k]`` is the history of ``user_ids[k]`` as
        an (L,) row whose last entry is the most recent item, ``item + 1``; 0 is padding (use it as
        ``padding_idx``). With ``max_length`` only the last ``max_length`` items are kept.
        """
        if self.timestamps is None:
            raise ValueError("to_sequences needs timestamps; this Interactions has none.")
        if max_length is not None and max_length < 1:
            raise ValueError(f"`max_length` must be at least 1, got {max_length}.")
        order = np.lexsort((self.items, self.timestamps, self.users))
        users, items = self.users[order], self.items[order]
        counts = np.bincount(users, minlength=self.n_users)
        keep_users = np.flatnonzero(counts >= max(min_length, 1))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.arange(len(users)) - starts[users]          # 0 .. count-1 within a user
        from_end = counts[users] - 1 - position                     # 0 for the most recent
        length = int(counts.max()) if max_length is None else int(max_length)
        length = max(length, 1)
        keep = (from_end < length) & (counts[users] >= max(min_length, 1))
        row_of_user = np.full(self.n_users, -1)
        row_of_user[keep_users] = np.arange(len(keep_users))
        sequences = np.zeros((len(keep_users), length), dtype=np.int64)
        sequences[row_of_user[users[keep]], length - 1 - from_end[keep]] = items[keep] + 1
        return keep_users, sequences

    # ------------------------------------------------------------ statistics
    def statistics(self) -> dict[str, float]:
        """The numbers ``describe()`` prints, as a dict."""
        per_user = np.bincount(self.users, minlength=self.n_users)
        per_item = np.bincount(self.items, minlength=self.n_items)
        stats: dict[str, float] = {
            "users": self.n_users,
            "items": self.n_items,
            "interactions": len(self),
            "density": self.density,
            "per_user_min": int(per_user.min()) if self.n_users else 0,
            "per_user_mean": float(per_user.mean()) if self.n_users else 0.0,
            "per_user_max": int(per_user.max()) if self.n_users else 0,
            "per_item_min": int(per_item.min()) if self.n_items else 0,
            "per_item_mean": float(per_item.mean()) if self.n_items else 0.0,
            "per_item_max": int(per_item.max()) if self.n_items else 0,
            "gini_item_popularity": gini(per_item),
        }
        if self.ratings is not None and len(self):
            stats["rating_min"] = float(self.ratings.min())
            stats["rating_max"] = float(self.ratings.max())
            stats["rating_mean"] = float(self.ratings.mean())
        return stats

    def describe(self, show: bool = True) -> pd.Series:
        """Print (and return) the statistics a course shows about a data set."""
        stats = self.statistics()
        if show:
            lines = [
                f"{self.name}",
                f"  users         {stats['users']:>10,}",
                f"  items         {stats['items']:>10,}",
                f"  interactions  {stats['interactions']:>10,}",
                f"  density       {stats['density']:>10.4%}",
                f"  per user      min {stats['per_user_min']:,}  mean {stats['per_user_mean']:.1f}"
                f"  max {stats['per_user_max']:,}",
                f"  per item      min {stats['per_item_min']:,}  mean {stats['per_item_mean']:.1f}"
                f"  max {stats['per_item_max']:,}",
                f"  Gini of item popularity {stats['gini_item_popularity']:.3f}"
                "  (0: every item equally popular, 1: one item has everything)",
            ]
            if "rating_min" in stats:
                lines.append(
                    f"  ratings       {stats['rating_min']:g} to {stats['rating_max']:g}, mean {stats['rating_mean']:.2f}"
                )
            print("\n".join(lines))
        return pd.Series(stats, name=self.name)


def gini(values: np.ndarray) -> float:
    """Gini index of non-negative values: 0 when all equal, close to 1 when one holds everything."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    n = len(values)
    total = values.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * ranks - n - 1) @ values / (n * total))
