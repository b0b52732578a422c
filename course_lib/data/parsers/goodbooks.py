"""goodbooks-10k: ``ratings.csv`` (no timestamps) and ``books.csv`` (titles, authors, years)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data.interactions import DEFAULT_DUPLICATES, Interactions
from course_lib.data.parsers.assemble import assemble
from course_lib.data.parsers.table import TableLayout, read_table

GOODBOOKS_RATINGS = TableLayout(
    separator=",", columns=("user_id", "book_id", "rating"), integers=("user_id", "book_id"), floats=("rating",),
    header=True, quoted=True, layout="user_id,book_id,rating",
)  # fmt: skip
GOODBOOKS_BOOKS = TableLayout(
    separator=",", columns=("book_id", "title"), integers=("book_id",), texts=("title", "authors"),
    optional=("authors", "original_publication_year"), header=True, quoted=True, fallback_encoding="latin-1",
    layout="book_id,...,title,... (fields holding commas in double quotes)",
)  # fmt: skip


def parse_goodbooks_10k(
    folder: str | Path, name: str = "goodbooks-10k", duplicates: str = DEFAULT_DUPLICATES
) -> Interactions:
    """Read goodbooks-10k from ``ratings.csv`` and ``books.csv``.

    Parameters
    ----------
    folder:
        The folder holding the files; ``ratings.csv`` has the columns ``user_id,book_id,rating``
        (no timestamps) and ``books.csv`` at least ``book_id`` and ``title``.
    name:
        The name given to the result.
    duplicates:
        ``Interactions``' policy for repeated (user, item) rows.

    Returns
    -------
    Interactions
        Ratings 1-5 without timestamps; item metadata with title, empty genres (the set has none),
        the year from ``original_publication_year`` and the authors when ``books.csv`` has them.
        ``item_features`` is None.
    """
    folder = Path(folder)
    ratings = read_table(folder / "ratings.csv", GOODBOOKS_RATINGS).rename(
        columns={"user_id": "user", "book_id": "item"}
    )
    books = read_table(folder / "books.csv", GOODBOOKS_BOOKS)
    items_table = pd.DataFrame(
        {"raw_item_id": books["book_id"].to_numpy(), "title": books["title"].astype(str).to_numpy(), "genres": ""}
    )
    if "original_publication_year" in books:
        items_table["year"] = pd.to_numeric(books["original_publication_year"], errors="coerce").to_numpy()
    else:
        items_table["year"] = np.nan
    if "authors" in books:
        items_table["authors"] = books["authors"].astype(str).to_numpy()
    return assemble(name, ratings, items_table, None, None, duplicates=duplicates)
