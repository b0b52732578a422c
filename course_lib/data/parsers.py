"""Readers for the native files of the real data sets (MovieLens, goodbooks-10k).

Each reader takes the folder that holds one data set's files, exactly as its archive unpacks
them, and returns an :class:`~course_lib.data.interactions.Interactions` with contiguous ids,
item metadata (title, ``|``-joined genres, year), a multi-hot genre matrix where the set has
genres, and user metadata where the set has it.

Reading is done by pandas' C parser, which is fast enough for MovieLens 20M. The C parser reports
problems badly (no file name, and a row number that skips blank lines), so whenever it fails, or
its result does not pass the checks, the file is scanned again line by line in Python to find the
first bad line and to name it in plain words. Small metadata files are always scanned that way,
because a missing trailing field leaves no trace in what pandas returns.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data.interactions import DEFAULT_DUPLICATES, Interactions

__all__ = [
    "ML_100K_GENRES",
    "parse_goodbooks_10k",
    "parse_movielens_100k",
    "parse_movielens_1m",
    "parse_movielens_10m",
    "parse_movielens_csv",
    "read_table",
    "TableLayout",
]

# The 19 genre flags of u.item, in file order (documented in the ML-100K README and u.genre).
ML_100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)

# Code books from the ML-1M README: users.dat stores these as integer codes.
ML_1M_AGE_GROUPS: dict[int, str] = {
    1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+",
}
ML_1M_OCCUPATIONS: tuple[str, ...] = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)

# MovieLens marks a movie without genres with this pseudo-genre; it is not a genre.
_NO_GENRES = "(no genres listed)"
# A trailing "(1995)" in a title, also "(2007-)" or "(2007-2013)" for series in the newer sets.
_TITLE_YEAR = r"\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$"


@dataclass(frozen=True)
class TableLayout:
    """How one native file is laid out, and what a well-formed line must hold.

    Parameters
    ----------
    separator:
        Field separator; ``"::"`` (two characters) is allowed.
    columns:
        Without a header: the name of every field, in order (their number is the field count a
        line must have). With a header: the columns that must appear in it.
    integers, floats:
        Columns that must hold a whole number / a finite number on every line.
    required:
        Text columns that may not be empty.
    texts:
        Further columns kept as text, never guessed to be numbers (zip codes keep their leading 0).
    optional:
        With a header only: further columns read when the header has them.
    header:
        Whether line 1 holds the column names.
    quoted:
        Whether fields may be quoted (CSV, so a title may hold the separator).
    encoding, fallback_encoding:
        The text encoding; the fallback is used when the whole file is not valid in the first.
    layout:
        How a line should look, in words, for error messages.
    scan_every_line:
        Check every line in Python even when pandas reads the file without complaint (small files).
    """

    separator: str
    columns: tuple[str, ...]
    integers: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    header: bool = False
    quoted: bool = False
    encoding: str = "utf-8"
    fallback_encoding: str | None = None
    layout: str = ""
    scan_every_line: bool = False


class _BadLine(Exception):
    def __init__(self, line_number: int, problem: str, text: str = "") -> None:
        super().__init__(problem)
        self.line_number = line_number
        self.problem = problem
        self.text = text


# ---------------------------------------------------------------------------- reading tables
def read_table(path: str | Path, layout: TableLayout) -> pd.DataFrame:
    """Read one native file into a DataFrame whose columns are named as in ``layout``.

    Parameters
    ----------
    path:
        The file.
    layout:
        Its layout (separator, columns, which columns must be numbers or non-empty).

    Returns
    -------
    pandas.DataFrame
        Integer columns as int64, float columns as float32, text columns as strings; blank lines
        are skipped.

    Raises
    ------
    ValueError
        When the file is malformed; the message names the file and the 1-based number of the first
        bad line (wrong number of fields, a non-numeric id or rating, a missing value).
    """
    path = Path(path)
    needs_bytes = len(layout.separator) > 1 or layout.fallback_encoding is not None or layout.scan_every_line
    data = path.read_bytes() if needs_bytes else None
    encoding = layout.encoding
    if layout.fallback_encoding is not None and data is not None:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            encoding = layout.fallback_encoding
    if (data is not None and not data.strip()) or (data is None and path.stat().st_size == 0):
        raise ValueError(f"{path} is empty. {_advice(layout)}")

    header_fields = _read_header(path, layout, encoding) if layout.header else None
    if layout.scan_every_line:
        _raise_on_first_bad_line(path, layout, encoding, header_fields, failure=None, always=True)

    failure: BaseException | None = None
    frame: pd.DataFrame | None = None
    try:
        frame = _read_with_pandas(path, data, layout, encoding, header_fields)
        if not _frame_is_valid(frame, layout):
            frame = None
    except (ValueError, OverflowError, pd.errors.ParserWarning) as error:
        # ParserError, EmptyDataError and UnicodeDecodeError are all ValueErrors.
        failure = error
        frame = None
    if frame is None:
        _raise_on_first_bad_line(path, layout, encoding, header_fields, failure=failure, always=False)
    if len(frame) == 0:
        raise ValueError(f"{path} holds no data lines. {_advice(layout)}")
    return frame


def _advice(layout: TableLayout) -> str:
    shape = f"Each line should hold {layout.layout}. " if layout.layout else ""
    return shape + "The file may be damaged or cut short: fix it, or delete the folder and download the data set again."


def _read_header(path: Path, layout: TableLayout, encoding: str) -> list[str]:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        first_line = handle.readline()
    fields = _split(first_line, layout)
    fields = [field.strip().lstrip("\ufeff") for field in fields]
    missing = [column for column in layout.columns if column not in fields]
    if missing:
        raise ValueError(
            f"{path}, line 1 (the header): the column(s) {', '.join(repr(c) for c in missing)} are missing; "
            f"the header has {fields}. {_advice(layout)}"
        )
    return fields


def _split(line: str, layout: TableLayout) -> list[str]:
    line = line.rstrip("\r\n")
    if layout.quoted:
        return next(csv.reader([line], delimiter=layout.separator), [])
    return line.split(layout.separator)


def _single_char_separator(data: bytes) -> str | None:
    # pandas' C parser takes one-character separators only; "::" becomes a character the file
    # does not contain, which is several times faster than the Python engine with sep="::".
    for candidate in ("\t", "\x1f", "\x1e", "\x1d"):
        if candidate.encode() not in data:
            return candidate
    return None


def _read_with_pandas(
    path: Path, data: bytes | None, layout: TableLayout, encoding: str, header_fields: list[str] | None
) -> pd.DataFrame:
    separator = layout.separator
    source: str | Path | io.BytesIO = path
    engine = "c"
    if len(separator) > 1:
        assert data is not None
        replacement = _single_char_separator(data)
        if replacement is None:
            engine = "python"
        else:
            data = data.replace(separator.encode(), replacement.encode())
            separator = replacement
    if data is not None:
        source = io.BytesIO(data)

    if header_fields is not None:
        names: Sequence[str] = header_fields
        used = [c for c in layout.columns + layout.optional if c in header_fields]
    else:
        names = layout.columns
        used = list(layout.columns)
    dtypes: dict[str | int, object] = {}
    for column in used:
        key: str | int = column if header_fields is not None else names.index(column)
        if column in layout.integers:
            dtypes[key] = np.int64
        elif column in layout.floats:
            dtypes[key] = np.float32
        elif column in layout.required or column in layout.texts:
            dtypes[key] = str
    with warnings.catch_warnings():
        # With index_col=False pandas drops surplus fields of the first line with only a warning.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        frame = pd.read_csv(
            source,
            sep=separator,
            header=0 if header_fields is not None else None,
            index_col=False,
            dtype=dtypes,
            engine=engine,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL if layout.quoted else csv.QUOTE_NONE,
            keep_default_na=False,  # a title "NA" or "None" is a title, not a missing value
            na_values=[""],
            skip_blank_lines=True,
        )
    if header_fields is None:
        if frame.shape[1] != len(layout.columns):
            raise ValueError(f"expected {len(layout.columns)} fields, found {frame.shape[1]}")
        frame.columns = list(layout.columns)
    else:
        frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return frame


def _frame_is_valid(frame: pd.DataFrame, layout: TableLayout) -> bool:
    for column in layout.integers:
        if column in frame and frame[column].dtype.kind not in "iu":
            return False
    for column in layout.floats:
        if column in frame and not np.isfinite(frame[column].to_numpy(dtype=np.float64)).all():
            return False
    for column in layout.required:
        if column in frame and frame[column].isna().any():
            return False
    return True


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                yield line_number, raw.decode(encoding)
            except UnicodeDecodeError:
                raise _BadLine(line_number, f"holds bytes that are not valid {encoding} text") from None


def _records(path: Path, layout: TableLayout, encoding: str) -> Iterator[tuple[int, list[str], str]]:
    """(first line number, fields, text) for every non-blank record of the file."""
    if not layout.quoted:
        for line_number, text in _decoded_lines(path, encoding):
            if text.strip():
                yield line_number, text.rstrip("\r\n").split(layout.separator), text
        return
    # A quoted field may span lines: csv.reader counts the lines it consumed.
    numbered = _decoded_lines(path, encoding)
    current = {"line": 0, "text": ""}

    def lines() -> Iterator[str]:
        for line_number, text in numbered:
            current["line"], current["text"] = line_number, text
            yield text

    reader = csv.reader(lines(), delimiter=layout.separator)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _BadLine(current["line"], f"cannot be read as CSV ({error})", current["text"]) from None
        if fields and any(field.strip() for field in fields):
            yield start, fields, current["text"]
        start = reader.line_num + 1


def _check_record(fields: list[str], names: Sequence[str], layout: TableLayout) -> str | None:
    if len(fields) != len(names):
        return f"has {len(fields)} fields where {len(names)} are expected"
    for position, name in enumerate(names):
        value = fields[position].strip()
        if name in layout.integers:
            if not value:
                return f"has no value in column '{name}'"
            try:
                int(value)
            except ValueError:
                try:
                    number = float(value)
                except ValueError:
                    number = math.nan
                if not (math.isfinite(number) and number == round(number)):
                    return f"has {value!r} in column '{name}', which should be a whole number"
        elif name in layout.floats:
            if not value:
                return f"has no value in column '{name}'"
            try:
                number = float(value)
            except ValueError:
                return f"has {value!r} in column '{name}', which should be a number"
            if not math.isfinite(number):
                return f"has {value!r} in column '{name}', which should be a finite number"
        elif name in layout.required and not value:
            return f"has no value in column '{name}'"
    return None


def _raise_on_first_bad_line(
    path: Path,
    layout: TableLayout,
    encoding: str,
    header_fields: list[str] | None,
    failure: BaseException | None,
    always: bool,
) -> None:
    """Raise a ValueError naming the first bad line; with ``always`` return quietly if none is bad."""
    names: Sequence[str] = header_fields if header_fields is not None else layout.columns
    skip_header = header_fields is not None
    try:
        for line_number, fields, text in _records(path, layout, encoding):
            if skip_header:
                skip_header = False
                continue
            problem = _check_record(fields, names, layout)
            if problem is not None:
                raise _BadLine(line_number, problem, text)
    except _BadLine as bad:
        shown = bad.text.rstrip("\r\n")
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        line = f"\n  line {bad.line_number} reads: {shown!r}" if shown else ""
        raise ValueError(
            f"{path}, line {bad.line_number}: this line {bad.problem}.{line}\n  {_advice(layout)}"
        ) from None
    if always:
        return
    if skip_header:
        raise ValueError(f"{path} holds a header but no data lines. {_advice(layout)}")
    # pandas failed but every line looks right: report pandas' own words with the file name.
    reason = f" ({failure})" if failure is not None else ""
    raise ValueError(f"{path} could not be read{reason}. {_advice(layout)}")


# ------------------------------------------------------------------------- assembling results
def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Raw ids sorted ascending, so contiguous id order follows raw id order.
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _years_from_titles(titles: pd.Series) -> pd.Series:
    return titles.astype(str).str.extract(_TITLE_YEAR, expand=False).astype("float64")


def _multi_hot(genre_strings: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Multi-hot matrix of ``|``-joined genre strings and the (sorted) genre names."""
    split = genre_strings.fillna("").astype(str).str.split("|")
    names = sorted({g.strip() for genres in split for g in genres if g.strip() and g.strip() != _NO_GENRES})
    column_of = {name: position for position, name in enumerate(names)}
    matrix = np.zeros((len(genre_strings), len(names)), dtype=np.float32)
    for row, genres in enumerate(split):
        for genre in genres:
            position = column_of.get(genre.strip())
            if position is not None:
                matrix[row, position] = 1.0
    return matrix, names


def _clean_genre_string(genre_strings: pd.Series) -> pd.Series:
    cleaned = genre_strings.fillna("").astype(str).str.strip()
    return cleaned.mask(cleaned == _NO_GENRES, "")


def _assemble(
    name: str,
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    timestamps: np.ndarray | None,
    items_table: pd.DataFrame,
    genre_names: list[str] | None,
    genre_matrix: np.ndarray | None,
    users_table: pd.DataFrame | None = None,
    duplicates: str = DEFAULT_DUPLICATES,
) -> Interactions:
    """Map raw ids to contiguous ids and align the metadata with them.

    ``items_table`` has one row per raw item id (column ``raw_item_id``) with at least ``title``,
    ``genres`` and ``year``; ``genre_matrix`` is aligned with its rows. Items that appear only in
    the metadata are dropped, items without metadata get an empty row.
    """
    user_codes, raw_user_ids = _factorize(users)
    item_codes, raw_item_ids = _factorize(items)

    # The first row wins when a metadata file lists an id twice.
    keep = ~items_table["raw_item_id"].duplicated(keep="first").to_numpy()
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
    if genre_matrix is not None and genre_names is not None:
        item_features = np.zeros((len(raw_item_ids), len(genre_names)), dtype=np.float32)
        item_features[found] = genre_matrix[keep][position_of_item[found]]
        item_metadata.attrs["genres"] = list(genre_names)

    user_metadata = None
    if users_table is not None:
        users_table = users_table.loc[~users_table["raw_user_id"].duplicated(keep="first")].reset_index(drop=True)
        position_of_user = pd.Index(users_table["raw_user_id"]).get_indexer(raw_user_ids)
        user_metadata = users_table.reindex(position_of_user).reset_index(drop=True)
        user_metadata["raw_user_id"] = raw_user_ids

    return Interactions(
        users=user_codes,
        items=item_codes,
        ratings=np.asarray(ratings, dtype=np.float32),
        timestamps=None if timestamps is None else np.asarray(timestamps, dtype=np.int64),
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


# ------------------------------------------------------------------------------ the formats
_DAT_RATINGS = ("user", "item", "rating", "timestamp")


def parse_movielens_100k(folder: str | Path, name: str = "ml-100k", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read MovieLens 100K from ``u.data``, ``u.item`` and (when present) ``u.user``.

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-100k/`` of the official archive).
    name:
        The name given to the result.

    Returns
    -------
    Interactions
        Ratings 1-5 with timestamps, item metadata with 19 genres, user metadata (age, gender,
        occupation, zip code) when ``u.user`` is there.
    """
    folder = Path(folder)
    ratings = read_table(
        folder / "u.data",
        TableLayout(
            separator="\t", columns=_DAT_RATINGS, integers=("user", "item", "timestamp"), floats=("rating",),
            encoding="latin-1", layout="user id, item id, rating and timestamp, separated by tabs",
        ),
    )
    item_columns = ("raw_item_id", "title", "release_date", "video_release_date", "imdb_url") + ML_100K_GENRES
    items = read_table(
        folder / "u.item",
        TableLayout(
            separator="|", columns=item_columns, integers=("raw_item_id",) + ML_100K_GENRES,
            texts=("title", "release_date", "video_release_date", "imdb_url"), encoding="latin-1",
            layout="24 fields separated by '|': movie id|title|release date|video release date|IMDb URL|"
            "19 genre flags (0 or 1)",
            scan_every_line=True,
        ),
    )
    genre_matrix = items[list(ML_100K_GENRES)].to_numpy(dtype=np.float32)
    genre_array = np.array(ML_100K_GENRES, dtype=object)
    items_table = pd.DataFrame(
        {
            "raw_item_id": items["raw_item_id"].to_numpy(),
            "title": items["title"].astype(str),
            "genres": ["|".join(genre_array[row > 0]) for row in genre_matrix],
            "release_date": items["release_date"].astype(str),
            "imdb_url": items["imdb_url"].astype(str),
        }
    )
    years = _years_from_titles(items_table["title"])
    release_years = items_table["release_date"].str.extract(r"(\d{4})\s*$", expand=False).astype("float64")
    items_table["year"] = years.fillna(release_years)

    users_table = None
    if (folder / "u.user").exists():
        users = read_table(
            folder / "u.user",
            TableLayout(
                separator="|", columns=("raw_user_id", "age", "gender", "occupation", "zip_code"),
                integers=("raw_user_id", "age"), texts=("gender", "occupation", "zip_code"), encoding="latin-1",
                layout="5 fields separated by '|': user id|age|gender|occupation|zip code",
                scan_every_line=True,
            ),
        )
        users_table = users.astype({"gender": str, "occupation": str, "zip_code": str})
    return _assemble(
        name, ratings["user"].to_numpy(), ratings["item"].to_numpy(), ratings["rating"].to_numpy(),
        ratings["timestamp"].to_numpy(), items_table, list(ML_100K_GENRES), genre_matrix, users_table, duplicates=duplicates)


def _read_dat_ratings(path: Path, encoding: str) -> pd.DataFrame:
    return read_table(
        path,
        TableLayout(
            separator="::", columns=_DAT_RATINGS, integers=("user", "item", "timestamp"), floats=("rating",),
            encoding=encoding, layout="UserID::MovieID::Rating::Timestamp",
        ),
    )


def _read_dat_movies(path: Path, encoding: str, fallback_encoding: str | None) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    movies = read_table(
        path,
        TableLayout(
            separator="::", columns=("raw_item_id", "title", "genres"), integers=("raw_item_id",),
            required=("title", "genres"), encoding=encoding, fallback_encoding=fallback_encoding,
            layout="MovieID::Title::Genres, the genres separated by '|'", scan_every_line=True,
        ),
    )
    return _movies_table(movies)


def _movies_table(movies: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    genres = _clean_genre_string(movies["genres"])
    matrix, names = _multi_hot(genres)
    table = pd.DataFrame(
        {
            "raw_item_id": movies["raw_item_id"].to_numpy(),
            "title": movies["title"].astype(str),
            "genres": genres.to_numpy(),
        }
    )
    table["year"] = _years_from_titles(table["title"]).to_numpy()
    return table, matrix, names


def parse_movielens_1m(folder: str | Path, name: str = "ml-1m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read MovieLens 1M from ``ratings.dat``, ``movies.dat`` and (when present) ``users.dat``.

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-1m/`` of the official archive); ``::``-separated,
        latin-1 text.
    name:
        The name given to the result.

    Returns
    -------
    Interactions
        Ratings 1-5 with timestamps, item metadata and genres, user metadata (gender, age code and
        group, occupation code and name, zip code) when ``users.dat`` is there.
    """
    folder = Path(folder)
    ratings = _read_dat_ratings(folder / "ratings.dat", "latin-1")
    items_table, matrix, genre_names = _read_dat_movies(folder / "movies.dat", "latin-1", None)
    users_table = None
    if (folder / "users.dat").exists():
        users = read_table(
            folder / "users.dat",
            TableLayout(
                separator="::", columns=("raw_user_id", "gender", "age", "occupation_code", "zip_code"),
                integers=("raw_user_id", "age", "occupation_code"), texts=("gender", "zip_code"),
                encoding="latin-1",
                layout="UserID::Gender::Age::Occupation::Zip-code", scan_every_line=True,
            ),
        )
        codes = users["occupation_code"].to_numpy()
        occupations = np.array(ML_1M_OCCUPATIONS, dtype=object)
        known = (codes >= 0) & (codes < len(occupations))
        users_table = pd.DataFrame(
            {
                "raw_user_id": users["raw_user_id"].to_numpy(),
                "age": users["age"].to_numpy(),
                "age_group": users["age"].map(ML_1M_AGE_GROUPS).astype(str).to_numpy(),
                "gender": users["gender"].astype(str).to_numpy(),
                "occupation": pd.array(np.where(known, occupations[np.clip(codes, 0, len(occupations) - 1)], None),
                                       dtype="str"),
                "occupation_code": codes,
                "zip_code": users["zip_code"].astype(str).to_numpy(),
            }
        )
    return _assemble(
        name, ratings["user"].to_numpy(), ratings["item"].to_numpy(), ratings["rating"].to_numpy(),
        ratings["timestamp"].to_numpy(), items_table, genre_names, matrix, users_table, duplicates=duplicates)


def parse_movielens_10m(folder: str | Path, name: str = "ml-10m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read MovieLens 10M from ``ratings.dat`` and ``movies.dat`` (``::``-separated, half stars).

    Parameters
    ----------
    folder:
        The folder holding the files (``ml-10M100K/`` of the official archive).
    name:
        The name given to the result.

    Returns
    -------
    Interactions
        Ratings 0.5-5 with timestamps, item metadata and genres; the set has no user metadata.
    """
    folder = Path(folder)
    ratings = _read_dat_ratings(folder / "ratings.dat", "utf-8")
    # The 10M movie titles are UTF-8; fall back to latin-1 rather than fail on a stray byte.
    items_table, matrix, genre_names = _read_dat_movies(folder / "movies.dat", "utf-8", "latin-1")
    return _assemble(
        name, ratings["user"].to_numpy(), ratings["item"].to_numpy(), ratings["rating"].to_numpy(),
        ratings["timestamp"].to_numpy(), items_table, genre_names, matrix, duplicates=duplicates)


def parse_movielens_csv(folder: str | Path, name: str = "ml-20m", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read the CSV MovieLens sets (ml-20m, ml-latest-small) from ``ratings.csv`` and ``movies.csv``.

    Parameters
    ----------
    folder:
        The folder holding the files; ``ratings.csv`` has the header
        ``userId,movieId,rating,timestamp`` and ``movies.csv`` the header ``movieId,title,genres``
        (titles holding commas are quoted).
    name:
        The name given to the result.

    Returns
    -------
    Interactions
        Ratings 0.5-5 with timestamps, item metadata and genres.
    """
    folder = Path(folder)
    ratings = read_table(
        folder / "ratings.csv",
        TableLayout(
            separator=",", columns=("userId", "movieId", "rating", "timestamp"),
            integers=("userId", "movieId", "timestamp"), floats=("rating",), header=True, quoted=True,
            layout="userId,movieId,rating,timestamp",
        ),
    )
    movies = read_table(
        folder / "movies.csv",
        TableLayout(
            separator=",", columns=("movieId", "title", "genres"), integers=("movieId",),
            required=("title", "genres"), header=True, quoted=True, fallback_encoding="latin-1",
            layout='movieId,title,genres (a title holding a comma in double quotes, genres separated by "|")',
            scan_every_line=True,
        ),
    )
    items_table, matrix, genre_names = _movies_table(movies.rename(columns={"movieId": "raw_item_id"}))
    return _assemble(
        name, ratings["userId"].to_numpy(), ratings["movieId"].to_numpy(), ratings["rating"].to_numpy(),
        ratings["timestamp"].to_numpy(), items_table, genre_names, matrix, duplicates=duplicates)


def parse_goodbooks_10k(folder: str | Path, name: str = "goodbooks-10k", duplicates: str = DEFAULT_DUPLICATES) -> Interactions:
    """Read goodbooks-10k from ``ratings.csv`` and ``books.csv``.

    Parameters
    ----------
    folder:
        The folder holding the files; ``ratings.csv`` has the columns ``user_id,book_id,rating``
        (no timestamps) and ``books.csv`` at least ``book_id`` and ``title``.
    name:
        The name given to the result.

    Returns
    -------
    Interactions
        Ratings 1-5 without timestamps; item metadata with title, empty genres (the set has none),
        the year from ``original_publication_year`` and the authors when ``books.csv`` has them.
        ``item_features`` is None.
    """
    folder = Path(folder)
    ratings = read_table(
        folder / "ratings.csv",
        TableLayout(
            separator=",", columns=("user_id", "book_id", "rating"), integers=("user_id", "book_id"),
            floats=("rating",), header=True, quoted=True, layout="user_id,book_id,rating",
        ),
    )
    books = read_table(
        folder / "books.csv",
        TableLayout(
            separator=",", columns=("book_id", "title"), integers=("book_id",), texts=("title", "authors"),
            optional=("authors", "original_publication_year"), header=True, quoted=True,
            fallback_encoding="latin-1", layout="book_id,...,title,... (fields holding commas in double quotes)",
            scan_every_line=True,
        ),
    )
    items_table = pd.DataFrame(
        {
            "raw_item_id": books["book_id"].to_numpy(),
            "title": books["title"].astype(str).to_numpy(),
            "genres": "",
        }
    )
    if "original_publication_year" in books:
        items_table["year"] = pd.to_numeric(books["original_publication_year"], errors="coerce").to_numpy()
    else:
        items_table["year"] = np.nan
    if "authors" in books:
        items_table["authors"] = books["authors"].astype(str).to_numpy()
    return _assemble(
        name, ratings["user_id"].to_numpy(), ratings["book_id"].to_numpy(), ratings["rating"].to_numpy(),
        None, items_table, None, None, duplicates=duplicates)
