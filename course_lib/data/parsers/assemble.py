"""From the tables a format read to one :class:`~course_lib.data.interactions.Interactions`.

Every format ends here: raw ids become contiguous ids (in raw id order), the item and user
metadata are aligned with them, genres become a multi-hot matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data.interactions import Interactions

# MovieLens marks a movie without genres with this pseudo-genre; it is not a genre.
NO_GENRES = "(no genres listed)"
# A trailing "(1995)" in a title, also "(2007-)" or "(2007-2013)" for series in the newer sets.
_TITLE_YEAR = r"\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$"


def years_from_titles(titles: pd.Series) -> pd.Series:
    """The release year at the end of each title (float, NaN where a title has none)."""
    return titles.astype(str).str.extract(_TITLE_YEAR, expand=False).astype("float64")


def multi_hot(genre_strings: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Multi-hot matrix of ``|``-joined genre strings and the (sorted) genre names."""
    split = genre_strings.fillna("").astype(str).str.split("|")
    names = sorted({g.strip() for genres in split for g in genres if g.strip() and g.strip() != NO_GENRES})
    column_of = {name: position for position, name in enumerate(names)}
    matrix = np.zeros((len(genre_strings), len(names)), dtype=np.float32)
    for row, genres in enumerate(split):
        for genre in genres:
            position = column_of.get(genre.strip())
            if position is not None:
                matrix[row, position] = 1.0
    return matrix, names


def movies_table(movies: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Items table, genre matrix and genre names from ``raw_item_id``, ``title``, ``genres`` columns."""
    genres = movies["genres"].fillna("").astype(str).str.strip()
    genres = genres.mask(genres == NO_GENRES, "")
    matrix, names = multi_hot(genres)
    table = pd.DataFrame(
        {
            "raw_item_id": movies["raw_item_id"].to_numpy(),
            "title": movies["title"].astype(str),
            "genres": genres.to_numpy(),
        }
    )
    table["year"] = years_from_titles(table["title"]).to_numpy()
    return table, matrix, names


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Raw ids sorted ascending, so contiguous id order follows raw id order.
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _first_row_per_id(table: pd.DataFrame, id_column: str) -> np.ndarray:
    # The first row wins when a metadata file lists an id twice.
    return ~table[id_column].duplicated(keep="first").to_numpy()


def assemble(
    name: str,
    ratings: pd.DataFrame,
    items_table: pd.DataFrame,
    genres: tuple[list[str], np.ndarray] | None,
    users_table: pd.DataFrame | None,
    *,
    duplicates: str,
) -> Interactions:
    """Map raw ids to contiguous ids and align the metadata with them.

    Parameters
    ----------
    name:
        The name given to the result.
    ratings:
        Columns ``user``, ``item``, ``rating`` and, where the set has them, ``timestamp``.
    items_table:
        One row per raw item id (column ``raw_item_id``) with at least ``title``, ``genres`` and
        ``year``. Items that appear only here are dropped; rated items missing here get an empty row.
    genres:
        The genre names and the multi-hot matrix aligned with ``items_table``'s rows, or None.
    users_table:
        One row per raw user id (column ``raw_user_id``), or None.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.
    """
    user_codes, raw_user_ids = _factorize(ratings["user"].to_numpy())
    item_codes, raw_item_ids = _factorize(ratings["item"].to_numpy())

    keep = _first_row_per_id(items_table, "raw_item_id")
    items_table = items_table.loc[keep].reset_index(drop=True)
    position_of_item = pd.Index(items_table["raw_item_id"]).get_indexer(raw_item_ids)
    found = position_of_item >= 0
    item_metadata = items_table.reindex(position_of_item).reset_index(drop=True)
    item_metadata["raw_item_id"] = raw_item_ids
    item_metadata["genres"] = item_metadata["genres"].fillna("")
    item_metadata["year"] = item_metadata["year"].astype("float64")
    ordered = ["raw_item_id", "title", "genres", "year"]
    item_metadata = item_metadata[ordered + [c for c in item_metadata.columns if c not in ordered]]

    item_features = None
    if genres is not None:
        genre_names, genre_matrix = genres
        item_features = np.zeros((len(raw_item_ids), len(genre_names)), dtype=np.float32)
        item_features[found] = genre_matrix[keep][position_of_item[found]]
        item_metadata.attrs["genres"] = list(genre_names)

    user_metadata = None
    if users_table is not None:
        users_table = users_table.loc[_first_row_per_id(users_table, "raw_user_id")].reset_index(drop=True)
        position_of_user = pd.Index(users_table["raw_user_id"]).get_indexer(raw_user_ids)
        user_metadata = users_table.reindex(position_of_user).reset_index(drop=True)
        user_metadata["raw_user_id"] = raw_user_ids

    timestamps = ratings["timestamp"].to_numpy(dtype=np.int64) if "timestamp" in ratings else None
    return Interactions(
        users=user_codes,
        items=item_codes,
        ratings=ratings["rating"].to_numpy(dtype=np.float32),
        timestamps=timestamps,
        n_users=len(raw_user_ids),
        n_items=len(raw_item_ids),
        raw_user_ids=raw_user_ids,
        raw_item_ids=raw_item_ids,
        item_metadata=item_metadata,
        user_metadata=user_metadata,
        item_features=item_features,
        name=name,
        duplicates=duplicates,
    )
