"""The one validating table reader that every native format goes through.

A format declares its files as :class:`TableLayout` values (separator, columns, which columns are
whole numbers, numbers or required text, header, quoting, encoding); :func:`read_table` reads one
file into a DataFrame with those columns and types, or raises an error that names the file, the
line and the column. pandas' C parser does the reading (fast enough for MovieLens 20M); when it
fails, or its result does not pass the checks, :mod:`~course_lib.data.parsers.lines` reads the
file again line by line to find and name the first bad line.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data.parsers.lines import advice, first_bad_line, split_line

__all__ = ["TableLayout", "read_table"]


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

    Notes
    -----
    A file with ``texts`` columns is checked line by line even when pandas reads it without
    complaint: pandas fills a missing trailing field with an empty value, which a text column may
    hold, so a short line would leave no trace (these are the small metadata files).
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
    FileNotFoundError
        When ``path`` is not a file; the message names it.
    ValueError
        When the file is empty or malformed; the message names the file and the 1-based number of
        the first bad line (wrong number of fields, a non-numeric id or rating, a missing value,
        bytes that are not valid text in the file's encoding), and the column where there is one.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{path} {what}. {advice(layout)}")
    needs_bytes = len(layout.separator) > 1 or layout.fallback_encoding is not None
    data = path.read_bytes() if needs_bytes else None
    if (data is not None and not data.strip()) or (data is None and path.stat().st_size == 0):
        raise ValueError(f"{path} is empty. {advice(layout)}")
    encoding = layout.encoding
    if layout.fallback_encoding is not None and data is not None:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            encoding = layout.fallback_encoding

    header = _read_header(path, layout, encoding) if layout.header else None
    if layout.texts:  # see the class docstring
        _require_data_lines(path, layout, first_bad_line(path, layout, encoding, header))
    try:
        frame = _read_with_pandas(path, data, layout, encoding, header)
        failure = None if _frame_is_valid(frame, layout) else "its values do not pass the checks"
    except (ValueError, OverflowError, pd.errors.ParserWarning) as error:
        # ParserError, EmptyDataError and UnicodeDecodeError are all ValueErrors.
        failure = str(error)
    if failure is not None:
        _require_data_lines(path, layout, first_bad_line(path, layout, encoding, header))
        # pandas failed but every line looks right: report pandas' own words with the file name.
        raise ValueError(f"{path} could not be read ({failure}). {advice(layout)}")
    _require_data_lines(path, layout, len(frame))
    return frame


def _require_data_lines(path: Path, layout: TableLayout, n_data_lines: int) -> None:
    if n_data_lines == 0:
        what = "holds a header but no data lines" if layout.header else "is empty (it holds only blank lines)"
        raise ValueError(f"{path} {what}. {advice(layout)}")


def _read_header(path: Path, layout: TableLayout, encoding: str) -> list[str]:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        first_line = handle.readline()
    fields = [field.strip().lstrip("\ufeff") for field in split_line(first_line, layout)]
    missing = [column for column in layout.columns if column not in fields]
    if missing:
        raise ValueError(
            f"{path}, line 1 (the header): the column(s) {', '.join(repr(c) for c in missing)} are missing; "
            f"the header has {fields}. {advice(layout)}"
        )
    return fields


def _single_char_separator(data: bytes) -> str | None:
    # pandas' C parser takes one-character separators only; "::" becomes a character the file
    # does not contain, which is several times faster than the Python engine with sep="::".
    for candidate in ("\t", "\x1f", "\x1e", "\x1d"):
        if candidate.encode() not in data:
            return candidate
    return None


def _column_dtypes(layout: TableLayout, used: list[str]) -> dict[str, object]:
    dtypes: dict[str, object] = {}
    for column in used:
        if column in layout.integers:
            dtypes[column] = np.int64
        elif column in layout.floats:
            dtypes[column] = np.float32
        elif column in layout.required or column in layout.texts:
            dtypes[column] = str
    return dtypes


def _read_with_pandas(
    path: Path, data: bytes | None, layout: TableLayout, encoding: str, header: list[str] | None
) -> pd.DataFrame:
    separator, engine = layout.separator, "c"
    if len(separator) > 1:
        assert data is not None
        replacement = _single_char_separator(data)
        if replacement is None:
            engine = "python"
        else:
            data, separator = data.replace(separator.encode(), replacement.encode()), replacement
    names = list(header) if header is not None else list(layout.columns)
    used = [column for column in layout.columns + layout.optional if column in names]
    dtypes = _column_dtypes(layout, used)
    with warnings.catch_warnings():
        # With index_col=False pandas drops surplus fields of the first line with only a warning.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        frame = pd.read_csv(
            path if data is None else io.BytesIO(data),
            sep=separator,
            header=0 if header is not None else None,
            names=names,
            index_col=False,
            dtype=dtypes,
            engine=engine,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL if layout.quoted else csv.QUOTE_NONE,
            keep_default_na=False,  # a title "NA" or "None" is a title, not a missing value
            na_values=[""],
            skip_blank_lines=True,
        )
    if frame.shape[1] != len(names):
        raise ValueError(f"expected {len(names)} fields, found {frame.shape[1]}")
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
