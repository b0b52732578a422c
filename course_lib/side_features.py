"""Side features of users and items as integer codes and multi-hot rows, for feature towers.

Framework-free: the two-tower twins (``course_lib/torch/two_tower.py``, ``course_lib/tf/two_tower.py``)
both call it, so they see the very same inputs. Code 0 of every categorical feature means
*unknown* (a missing value, a category never seen at fit time), so a new user or item always
has a valid code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from course_lib.data.interactions import Interactions

__all__ = ["FeatureEncoder", "AGE_EDGES", "YEAR_EDGES"]

AGE_EDGES = (18, 25, 35, 45, 50, 56)  # MovieLens 1M's age groups
YEAR_EDGES = (1940, 1960, 1970, 1980, 1985, 1990, 1993, 1995, 1996, 1997, 1998)  # most films are recent


def _buckets(values: Any, edges: tuple[int, ...]) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    codes = np.digitize(values, edges) + 1  # 1 .. len(edges) + 1
    return np.where(np.isfinite(values), codes, 0).astype(np.int64)


@dataclass
class FeatureEncoder:
    """Learns the categories of the side features of one data set and encodes users and items.

    User features: age group, gender, occupation (``data.user_metadata``). Item features: the
    genre multi-hot rows (``data.item_features``) and a release-year group
    (``data.item_metadata["year"]``). A data set without them gets one constant code per column.
    """

    genders: list[str] = field(default_factory=list)
    occupations: list[str] = field(default_factory=list)
    n_genres: int = 0

    def fit(self, data: Interactions) -> FeatureEncoder:
        users = data.user_metadata
        if users is not None and "gender" in users:
            self.genders = sorted(users["gender"].dropna().astype(str).unique().tolist())
        if users is not None and "occupation" in users:
            self.occupations = sorted(users["occupation"].dropna().astype(str).unique().tolist())
        self.n_genres = 0 if data.item_features is None else int(np.asarray(data.item_features).shape[1])
        return self

    @property
    def user_cardinalities(self) -> tuple[int, int, int]:
        """Codes per user column (age, gender, occupation), the unknown code 0 included."""
        return len(AGE_EDGES) + 2, len(self.genders) + 1, len(self.occupations) + 1

    @property
    def n_year_codes(self) -> int:
        return len(YEAR_EDGES) + 2

    @staticmethod
    def _codes(values: pd.Series, categories: list[str]) -> np.ndarray:
        lookup = {category: code for code, category in enumerate(categories, start=1)}
        return np.array([lookup.get(str(v), 0) for v in values], dtype=np.int64)

    def encode_users(self, data: Interactions) -> np.ndarray:
        """(n_users, 3) int64: age group, gender and occupation codes of every user."""
        users = data.user_metadata
        codes = np.zeros((data.n_users, 3), dtype=np.int64)
        if users is not None:
            if "age" in users:
                codes[:, 0] = _buckets(users["age"].to_numpy(dtype=np.float64), AGE_EDGES)
            if "gender" in users:
                codes[:, 1] = self._codes(users["gender"], self.genders)
            if "occupation" in users:
                codes[:, 2] = self._codes(users["occupation"], self.occupations)
        return codes

    def encode_items(self, data: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """``genres`` (n_items, G) float32 multi-hot and ``years`` (n_items,) int64 year codes."""
        genres = (np.zeros((data.n_items, self.n_genres), dtype=np.float32) if data.item_features is None
                  else np.asarray(data.item_features, dtype=np.float32))
        metadata = data.item_metadata
        years = (metadata["year"].to_numpy(dtype=np.float64) if metadata is not None and "year" in metadata
                 else np.full(data.n_items, np.nan))
        return genres, self.encode_new_items(genres, years)[1]

    def encode_new_items(self, genres: Any, years: Any) -> tuple[np.ndarray, np.ndarray]:
        """Encode items given only by their features: genres (N, G) 0/1 and release years (N,), NaN if unknown."""
        genres = np.atleast_2d(np.asarray(genres, dtype=np.float32))
        if genres.shape[1] != self.n_genres:
            raise ValueError(f"`genres` must have {self.n_genres} columns (one per genre), got shape {genres.shape}.")
        years = np.atleast_1d(np.asarray(years, dtype=np.float64))
        if len(years) != len(genres):
            raise ValueError(f"{len(genres)} rows of genres but {len(years)} years: give one year per item.")
        return genres, _buckets(years, YEAR_EDGES)
