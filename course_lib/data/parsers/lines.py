"""The line-by-line half of the table reader: find the first bad line of a file and name it.

pandas reads a well-formed file fast but says little when one is not (no file name, a row number
that skips blank lines, no column). This module reads the file again record by record in plain
Python and checks every field against the :class:`~course_lib.data.parsers.table.TableLayout`,
so that the error names the file, the 1-based line and the column, and quotes the line.
It is the truth of what a well-formed line is; pandas is only the fast path.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course_lib.data.parsers.table import TableLayout

_INT64_MAX = 2**63 - 1
# A quoted line is cut to this many characters in a message.
_SHOWN_CHARACTERS = 120


class BadLine(Exception):
    """The first bad line: its 1-based number, what is wrong with it, and its text."""

    def __init__(self, line_number: int, problem: str, text: str = "") -> None:
        super().__init__(problem)
        self.line_number = line_number
        self.problem = problem
        self.text = text


def advice(layout: TableLayout) -> str:
    """The end of every message: how a line should look, and what to do."""
    shape = f"Each line should hold {layout.layout}. " if layout.layout else ""
    return shape + "The file may be damaged or cut short: fix it, or delete the folder and download the data set again."


def split_line(line: str, layout: TableLayout) -> list[str]:
    """The fields of one line (a header, say), honouring quotes in CSV files."""
    line = line.rstrip("\r\n")
    if layout.quoted:
        return next(csv.reader([line], delimiter=layout.separator), [])
    return line.split(layout.separator)


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                yield line_number, raw.decode(encoding)
            except UnicodeDecodeError as error:
                problem = f"holds bytes that are not valid {encoding} text (byte {error.start + 1} of the line)"
                raise BadLine(line_number, problem, raw.decode(encoding, errors="replace")) from None


def records(path: Path, layout: TableLayout, encoding: str) -> Iterator[tuple[int, list[str], str]]:
    """(first line number, fields, text) for every non-blank record of the file, header included."""
    if not layout.quoted:
        for line_number, text in _decoded_lines(path, encoding):
            if text.strip():
                yield line_number, text.rstrip("\r\n").split(layout.separator), text
        return
    # A quoted field may span lines: csv.reader counts the lines it consumed.
    numbered = _decoded_lines(path, encoding)
    consumed: list[tuple[int, str]] = []  # the lines of the record being read

    def lines() -> Iterator[str]:
        for line_number, text in numbered:
            consumed.append((line_number, text))
            yield text

    reader = csv.reader(lines(), delimiter=layout.separator)
    start, last_record = 1, []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            _refuse_unclosed_quote(start - len(last_record), last_record, layout)
            return
        except csv.Error as error:
            raise BadLine(consumed[-1][0], f"cannot be read as CSV ({error})", consumed[-1][1]) from None
        last_record = [text for _, text in consumed]
        consumed.clear()
        if fields and any(field.strip() for field in fields):
            yield start, fields, last_record[-1]
        start = reader.line_num + 1


def _refuse_unclosed_quote(start: int, texts: list[str], layout: TableLayout) -> None:
    # The lenient reader takes a quote left open at the end of the file as a field running to
    # the end; pandas refuses it. A strict reading of the last record tells the two apart.
    try:
        for _ in csv.reader(texts, delimiter=layout.separator, strict=True):
            pass
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise BadLine(start, "opens a quoted field that is never closed", texts[0]) from None


def _whole_number(value: str) -> int | None:
    # pandas reads "3" and also "3.0" into an int64 column, so both are whole numbers here.
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number == round(number) else None


def check_fields(fields: Sequence[str], names: Sequence[str], layout: TableLayout) -> str | None:
    """What is wrong with one record's fields, in words; None when nothing is."""
    if len(fields) != len(names):
        return f"has {len(fields)} fields where {len(names)} are expected"
    for name, field in zip(names, fields, strict=True):
        value = field.strip()
        if name in layout.integers:
            if not value:
                return f"has no value in column '{name}'"
            number = _whole_number(value)
            if number is None:
                return f"has {value!r} in column '{name}', which should be a whole number"
            if abs(number) > _INT64_MAX:
                return f"has {value!r} in column '{name}', a whole number too large for 64 bits"
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


def first_bad_line(path: Path, layout: TableLayout, encoding: str, header: Sequence[str] | None) -> int:
    """Raise a ValueError naming the first bad line; return the number of data lines when none is bad.

    ``header`` is the column names read from line 1 (which is then skipped), or None when the file
    has no header and the names are ``layout.columns``.
    """
    names = header if header is not None else layout.columns
    skip_header = header is not None
    n_data_lines = 0
    try:
        for line_number, fields, text in records(path, layout, encoding):
            if skip_header:
                skip_header = False
                continue
            problem = check_fields(fields, names, layout)
            if problem is not None:
                raise BadLine(line_number, problem, text)
            n_data_lines += 1
    except BadLine as bad:
        shown = bad.text.rstrip("\r\n")
        if len(shown) > _SHOWN_CHARACTERS:
            shown = shown[: _SHOWN_CHARACTERS - 3] + "..."
        quoted = f"\n  line {bad.line_number} reads: {shown!r}" if shown else ""
        raise ValueError(
            f"{path}, line {bad.line_number}: this line {bad.problem}.{quoted}\n  {advice(layout)}"
        ) from None
    return n_data_lines
