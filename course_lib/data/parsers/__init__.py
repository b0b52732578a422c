"""Readers for the native files of the real data sets (MovieLens, goodbooks-10k).

Each reader takes the folder that holds one data set's files, exactly as its archive unpacks
them, and returns an :class:`~course_lib.data.interactions.Interactions` with contiguous ids,
item metadata (title, ``|``-joined genres, year), a multi-hot genre matrix where the set has
genres, and user metadata where the set has it.

- :mod:`.table`: the one validating table reader (:func:`read_table`, :class:`TableLayout`) that
  every format goes through; :mod:`.lines` finds and names the first bad line of a file;
- :mod:`.movielens`, :mod:`.goodbooks`: each file declared as a ``TableLayout``, and what is
  specific to the set;
- :mod:`.assemble`: raw ids to contiguous ids, metadata aligned with them.
"""

from course_lib.data.parsers.goodbooks import parse_goodbooks_10k
from course_lib.data.parsers.movielens import (
    ML_1M_AGE_GROUPS,
    ML_1M_OCCUPATIONS,
    ML_100K_GENRES,
    parse_movielens_1m,
    parse_movielens_10m,
    parse_movielens_100k,
    parse_movielens_csv,
)
from course_lib.data.parsers.table import TableLayout, read_table

__all__ = [
    "ML_100K_GENRES",
    "ML_1M_AGE_GROUPS",
    "ML_1M_OCCUPATIONS",
    "TableLayout",
    "parse_goodbooks_10k",
    "parse_movielens_1m",
    "parse_movielens_10m",
    "parse_movielens_100k",
    "parse_movielens_csv",
    "read_table",
]
