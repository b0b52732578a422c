"""The MovieLens formats: 100K (tab and ``|``), 1M and 10M (``::``), and the CSV sets (20M, latest).

Each file is declared once as a :class:`~course_lib.data.parsers.table.TableLayout`; the readers
below only add what is truly specific to a set (100K's genre flags and release dates, 1M's code
books for age and occupation).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data.interactions import DEFAULT_DUPLICATES, Interactions
from course_lib.data.parsers.assemble import assemble, movies_table, years_from_titles
from course_lib.data.parsers.table import TableLayout, read_table

# The 19 genre flags of u.item, in file order (documented in the ML-100K README and u.genre).
ML_100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip

# Code books from the ML-1M README: users.dat stores these as integer codes.
ML_1M_AGE_GROUPS: dict[int, str] = {
    1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+",
}  # fmt: skip
ML_1M_OCCUPATIONS: tuple[str, ...] = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip

_RATINGS = ("user", "item", "rating", "timestamp")
_RATING_TYPES = {"integers": ("user", "item", "timestamp"), "floats": ("rating",)}
_100K_TEXTS = ("title", "release_date", "video_release_date", "imdb_url")

# ---------------------------------------------------------------------------- the declarations
ML_100K_RATINGS = TableLayout(
    separator="\t", columns=_RATINGS, **_RATING_TYPES, encoding="latin-1",
    layout="user id, item id, rating and timestamp, separated by tabs",
)  # fmt: skip
ML_100K_ITEMS = TableLayout(
    separator="|", columns=("raw_item_id",) + _100K_TEXTS + ML_100K_GENRES, integers=("raw_item_id",) + ML_100K_GENRES,
    texts=_100K_TEXTS, encoding="latin-1",
    layout="24 fields separated by '|': movie id|title|release date|video release date|IMDb URL|19 genre flags (0 or 1)",
)  # fmt: skip
ML_100K_USERS = TableLayout(
    separator="|", columns=("raw_user_id", "age", "gender", "occupation", "zip_code"), integers=("raw_user_id", "age"),
    texts=("gender", "occupation", "zip_code"), encoding="latin-1",
    layout="5 fields separated by '|': user id|age|gender|occupation|zip code",
)  # fmt: skip
ML_1M_RATINGS = TableLayout(
    separator="::", columns=_RATINGS, **_RATING_TYPES, encoding="latin-1", layout="UserID::MovieID::Rating::Timestamp"
)  # fmt: skip
ML_1M_MOVIES = TableLayout(
    separator="::", columns=("raw_item_id", "title", "genres"), integers=("raw_item_id",), required=("title", "genres"),
    encoding="latin-1", layout="MovieID::Title::Genres, the genres separated by '|'",
)  # fmt: skip
ML_1M_USERS = TableLayout(
    separator="::", columns=("raw_user_id", "gender", "age", "occupation_code", "zip_code"),
    integers=("raw_user_id", "age", "occupation_code"), texts=("gender", "zip_code"), encoding="latin-1",
    layout="UserID::Gender::Age::Occupation::Zip-code",
)  # fmt: skip
# 10M is UTF-8; its titles fall back to latin-1 rather than fail on a stray byte.
ML_10M_RATINGS = replace(ML_1M_RATINGS, encoding="utf-8")
ML_10M_MOVIES = replace(ML_1M_MOVIES, encoding="utf-8", fallback_encoding="latin-1")
ML_CSV_RATINGS = TableLayout(
    separator=",", columns=("userId", "movieId", "rating", "timestamp"), integers=("userId", "movieId", "timestamp"),
    floats=("rating",), header=True, quoted=True, layout="userId,movieId,rating,timestamp",
)  # fmt: skip
ML_CSV_MOVIES = TableLayout(
    separator=",", columns=("movieId", "title", "genres"), integers=("movieId",), required=("title", "genres"),
    header=True, quoted=True, fallback_encoding="latin-1",
    layout='movieId,title,genres (a title holding a comma in double quotes, genres separated by "|")',
)  # fmt: skip


# -------------------------------------------------------------------------------- the readers
def parse_movielens_100k(
    folder: str | Path, name: str = "ml-100k", duplicates: str = DEFAULT_DUPLICATES
) -> Interactions:
    """Read MovieLens 100K from ``u.data``, ``u.item`` and (when present) ``u.user``.

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-100k/`` of the official archive).
    name:
        The name given to the result.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.

    Returns
    -------
    Interactions
        Ratings 1-5 with timestamps, item metadata with 19 genres, user metadata (age, gender,
        occupation, zip code) when ``u.user`` is there.
    """
    folder = Path(folder)
    ratings = read_table(folder / "u.data", ML_100K_RATINGS)
    items = read_table(folder / "u.item", ML_100K_ITEMS)
    genre_matrix = items[list(ML_100K_GENRES)].to_numpy(dtype=np.float32)
    genre_names = np.array(ML_100K_GENRES, dtype=object)
    items_table = pd.DataFrame(
        {
            "raw_item_id": items["raw_item_id"].to_numpy(),
            "title": items["title"].astype(str),
            "genres": ["|".join(genre_names[row > 0]) for row in genre_matrix],
            "release_date": items["release_date"].astype(str),
            "imdb_url": items["imdb_url"].astype(str),
        }
    )
    # A title without "(year)" takes the year of its release date ("01-Jan-1995").
    release_years = items_table["release_date"].str.extract(r"(\d{4})\s*$", expand=False).astype("float64")
    items_table["year"] = years_from_titles(items_table["title"]).fillna(release_years)
    users = read_table(folder / "u.user", ML_100K_USERS) if (folder / "u.user").exists() else None
    genres = (list(ML_100K_GENRES), genre_matrix)
    return assemble(name, ratings, items_table, genres, users, duplicates=duplicates)


def parse_movielens_1m(folder: str | Path, name: str = "ml-1m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read MovieLens 1M from ``ratings.dat``, ``movies.dat`` and (when present) ``users.dat``.

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-1m/`` of the official archive; ``::``-separated latin-1 text).
    name:
        The name given to the result.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.

    Returns
    -------
    Interactions
        Ratings 1-5 with timestamps, item metadata and genres, user metadata (gender, age code and
        group, occupation code and name, zip code) when ``users.dat`` is there.
    """
    folder = Path(folder)
    ratings = read_table(folder / "ratings.dat", ML_1M_RATINGS)
    items_table, matrix, genre_names = movies_table(read_table(folder / "movies.dat", ML_1M_MOVIES))
    users_table = None
    if (folder / "users.dat").exists():
        users_table = _decode_1m_users(read_table(folder / "users.dat", ML_1M_USERS))
    return assemble(name, ratings, items_table, (genre_names, matrix), users_table, duplicates=duplicates)


def _decode_1m_users(users: pd.DataFrame) -> pd.DataFrame:
    """users.dat with its age and occupation codes spelled out (an unknown code gives a missing name)."""
    codes = users["occupation_code"].to_numpy()
    occupations = np.array(ML_1M_OCCUPATIONS, dtype=object)
    known = (codes >= 0) & (codes < len(occupations))
    names = np.where(known, occupations[np.clip(codes, 0, len(occupations) - 1)], None)
    return pd.DataFrame(
        {
            "raw_user_id": users["raw_user_id"].to_numpy(),
            "age": users["age"].to_numpy(),
            "age_group": users["age"].map(ML_1M_AGE_GROUPS).astype(str).to_numpy(),
            "gender": users["gender"].astype(str).to_numpy(),
            "occupation": pd.array(names, dtype="str"),
            "occupation_code": codes,
            "zip_code": users["zip_code"].astype(str).to_numpy(),
        }
    )


def parse_movielens_10m(folder: str | Path, name: str = "ml-10m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read MovieLens 10M from ``ratings.dat`` and ``movies.dat`` (``::``-separated, half stars).

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-10M100K/`` of the official archive).
    name:
        The name given to the result.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.

    Returns
    -------
    Interactions
        Ratings 0.5-5 with timestamps, item metadata and genres; the set has no user metadata.
    """
    folder = Path(folder)
    ratings = read_table(folder / "ratings.dat", ML_10M_RATINGS)
    items_table, matrix, genre_names = movies_table(read_table(folder / "movies.dat", ML_10M_MOVIES))
    return assemble(name, ratings, items_table, (genre_names, matrix), None, duplicates=duplicates)


def parse_movielens_csv(folder: str | Path, name: str = "ml-20m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read the CSV MovieLens sets (ml-20m, ml-latest-small) from ``ratings.csv`` and ``movies.csv``.

    Parameters
    ----------
    folder:
        The folder holding the files (``ratings.csv`` with the header ``userId,movieId,rating,timestamp``,
        ``movies.csv`` with the header ``movieId,title,genres``, titles holding commas quoted).
    name:
        The name given to the result.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.

    Returns
    -------
    Interactions
        Ratings 0.5-5 with timestamps, item metadata and genres.
    """
    folder = Path(folder)
    ratings = read_table(folder / "ratings.csv", ML_CSV_RATINGS)
    ratings = ratings.rename(columns={"userId": "user", "movieId": "item"})
    movies = read_table(folder / "movies.csv", ML_CSV_MOVIES).rename(columns={"movieId": "raw_item_id"})
    items_table, matrix, genre_names = movies_table(movies)
    return assemble(name, ratings, items_table, (genre_names, matrix), None, duplicates=duplicates)
