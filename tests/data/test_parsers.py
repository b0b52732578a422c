"""The one validating table reader (`course_lib.data.parsers.table.read_table`) and its errors.

Every file here is a handful of invented lines the test writes itself. The second half runs the
same classes of damage over every layout the native formats declare, so a format added later is
under the same checks as soon as it is declared.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib.data import parsers
from course_lib.data.parsers import TableLayout, goodbooks, movielens, read_table

SIMPLE = TableLayout(
    separator="\t",
    columns=("user", "item", "rating", "note"),
    integers=("user", "item"),
    floats=("rating",),
    texts=("note",),
    layout="user, item, rating and note, separated by tabs",
)
DOUBLE_COLON = TableLayout(
    separator="::",
    columns=("id", "title", "genres"),
    integers=("id",),
    required=("title", "genres"),
)
CSV = TableLayout(
    separator=",",
    columns=("id", "title"),
    integers=("id",),
    texts=("title", "extra"),
    optional=("extra",),
    header=True,
    quoted=True,
    fallback_encoding="latin-1",
)


def write(tmp_path: Path, content: str | bytes, name: str = "table.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
    return path


def error_of(path: Path, layout: TableLayout, kind: type[Exception] = ValueError) -> str:
    with pytest.raises(kind) as caught:
        read_table(path, layout)
    message = str(caught.value)
    assert str(path) in message, f"the message should name the file: {message}"
    return message


# ----------------------------------------------------------------------------- what is read
def test_types_blank_lines_and_text_that_looks_like_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "3\t10\t4.5\t007\n\n1\t20\t1\tNA\n")
    frame = read_table(path, SIMPLE)
    assert list(frame.columns) == ["user", "item", "rating", "note"]
    assert frame["user"].dtype == np.int64 and frame["rating"].dtype == np.float32
    assert frame["note"].tolist() == ["007", "NA"], "text is never guessed to be a number or a missing value"
    np.testing.assert_array_equal(frame["item"], [10, 20])


def test_double_colon_separator_and_the_python_engine_fallback(tmp_path: Path) -> None:
    path = write(tmp_path, "1::A: Title (1999)::Drama|Comedy\n2::Tabbed\tTitle::Action\n")
    frame = read_table(path, DOUBLE_COLON)
    assert frame["title"].tolist() == ["A: Title (1999)", "Tabbed\tTitle"]
    # Every stand-in character for "::" present: pandas' Python engine reads it.
    path = write(tmp_path, "1::a\t\x1f\x1e\x1d b::Drama\n", "all.txt")
    assert read_table(path, DOUBLE_COLON)["title"].tolist() == ["a\t\x1f\x1e\x1d b"]


def test_csv_header_quotes_bom_optional_columns_and_fallback_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, '\ufeffid,title,extra\n5,"Comma, Inside",x\n6,"Two\nLines",y\n')
    frame = read_table(path, CSV)
    assert frame["title"].tolist() == ["Comma, Inside", "Two\nLines"] and frame["extra"].tolist() == ["x", "y"]
    path = write(tmp_path, b"id,title\n5,Caf\xe9\n", "latin.csv")
    assert read_table(path, CSV)["title"].tolist() == ["Caf\u00e9"]


# -------------------------------------------------------------------------------- the errors
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1\t2\t3\tok\n1\t2\t3\tok\textra\n", 2, "5 fields where 4 are expected"),
        ("1\t2\t3\tok\textra\n", 1, "5 fields where 4 are expected"),  # pandas only warns on line 1
        ("1\t2\t3\tok\n1\t2\t3\n", 2, "3 fields where 4 are expected"),
        ("1\t2\t3\tok\n\n\n1\t2\n", 4, "2 fields"),  # blank lines still count
    ],
)
def test_wrong_number_of_fields_names_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    message = error_of(write(tmp_path, text), SIMPLE)
    assert f"line {line}:" in message and words in message
    assert "Each line should hold user, item, rating and note" in message


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("1\t2\t3\tok\nuser7\t2\t3\tok\n", "user", "'user7' in column 'user', which should be a whole number"),
        ("1\t2\t3\tok\n1\t2.5\t3\tok\n", "item", "'2.5' in column 'item', which should be a whole number"),
        ("1\t2\t3\tok\n1\t\t3\tok\n", "item", "no value in column 'item'"),
        ("1\t2\t3\tok\n1\t2\tfive\tok\n", "rating", "'five' in column 'rating', which should be a number"),
        ("1\t2\t3\tok\n1\t2\tnan\tok\n", "rating", "should be a finite number"),
        ("1\t2\t3\tok\n1\t2\tinf\tok\n", "rating", "should be a finite number"),
        ("1\t2\t3\tok\n1\t99999999999999999999\t3\tok\n", "item", "too large for 64 bits"),
    ],
)
def test_bad_value_names_file_line_and_column(tmp_path: Path, text: str, column: str, words: str) -> None:
    message = error_of(write(tmp_path, text), SIMPLE)
    assert "line 2:" in message and f"column '{column}'" in message and words in message
    assert "line 2 reads:" in message


def test_whole_numbers_written_with_a_zero_fraction_are_accepted(tmp_path: Path) -> None:
    assert read_table(write(tmp_path, "1.0\t2\t3\tok\n"), SIMPLE)["user"].tolist() == [1]


def test_required_text_may_not_be_empty(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "1::Title::Drama\n2::::Drama\n"), DOUBLE_COLON)
    assert "line 2:" in message and "no value in column 'title'" in message


@pytest.mark.parametrize("layout", [SIMPLE, DOUBLE_COLON], ids=["tab", "double-colon"])
def test_bytes_that_are_not_valid_text_name_the_line(tmp_path: Path, layout: TableLayout) -> None:
    good = "1\t2\t3\tok\n" if layout is SIMPLE else "1::Title::Drama\n"
    bad = b"1\t2\t3\tcaf\xe9\n" if layout is SIMPLE else b"2::Caf\xe9::Drama\n"
    message = error_of(write(tmp_path, good.encode() * 2 + bad), layout)
    assert "line 3:" in message and "not valid utf-8 text" in message


def test_undecodable_header_is_named(tmp_path: Path) -> None:
    layout = dataclasses.replace(CSV, fallback_encoding=None)
    message = error_of(write(tmp_path, b"id,title\xff\n1,a\n"), layout)
    assert "line 1 (the header)" in message and "'title'" in message


@pytest.mark.parametrize("layout", [SIMPLE, DOUBLE_COLON, CSV], ids=["tab", "double-colon", "csv"])
@pytest.mark.parametrize(("content", "words"), [("", "is empty"), ("\n  \n\n", "is empty")])
def test_empty_files(tmp_path: Path, layout: TableLayout, content: str, words: str) -> None:
    assert words in error_of(write(tmp_path, content), layout)


def test_header_without_data_lines(tmp_path: Path) -> None:
    assert "holds a header but no data lines" in error_of(write(tmp_path, "id,title\n\n"), CSV)


def test_header_missing_a_column(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "id,name\n1,a\n"), CSV)
    assert "line 1 (the header)" in message and "'title'" in message and "'name'" in message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "does not exist" in error_of(tmp_path / "absent.dat", SIMPLE, FileNotFoundError)
    assert "is a folder, not a file" in error_of(tmp_path, SIMPLE, FileNotFoundError)


@pytest.mark.parametrize("text", ['id,title\n1,"never closed\n2,b\n', 'id,title\n0,a\n\n1,"never closed\n'])
def test_a_quote_never_closed_names_the_line_that_opens_it(tmp_path: Path, text: str) -> None:
    message = error_of(write(tmp_path, text), CSV)
    line = text.count("\n", 0, text.index('"')) + 1
    assert f"line {line}: this line opens a quoted field that is never closed" in message


def test_quotes_inside_fields_are_text(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, 'id,title\n1,a"b\n2,"x""y"\n'), CSV)
    assert frame["title"].tolist() == ['a"b', 'x"y']


# ------------------------------------------------------- every declared format, the same checks
DECLARED = {
    f"{module.__name__.rsplit('.', 1)[-1]}.{name}": layout
    for module in (movielens, goodbooks)
    for name, layout in vars(module).items()
    if isinstance(layout, TableLayout)
}


def _good_fields(layout: TableLayout, names: tuple[str, ...]) -> list[str]:
    return ["7" if n in layout.integers else "3.5" if n in layout.floats else f"text {n}" for n in names]


def _file(layout: TableLayout, rows: list[list[str]]) -> bytes:
    names = layout.columns + layout.optional
    lines = [layout.separator.join(names)] if layout.header else []
    lines += [layout.separator.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode(layout.encoding)


def test_every_format_is_declared() -> None:
    assert len(DECLARED) == 12, sorted(DECLARED)


@pytest.mark.parametrize("layout", DECLARED.values(), ids=DECLARED.keys())
def test_every_declared_layout_reads_a_good_file_and_names_each_kind_of_damage(
    tmp_path: Path, layout: TableLayout
) -> None:
    names = layout.columns + (layout.optional if layout.header else ())
    good = _good_fields(layout, names)
    first_data_line = 2 if layout.header else 1
    frame = read_table(write(tmp_path, _file(layout, [good, good]), "good"), layout)
    assert len(frame) == 2 and set(layout.columns) <= set(frame.columns)

    damaged = {
        "one field short": (good[:-1], "fields where"),
        "one field more": (good + ["9"], "fields where"),
    }

    def replaced(column: str, value: str) -> list[str]:
        return [value if name == column else field for name, field in zip(names, good, strict=True)]

    integer = next(n for n in names if n in layout.integers)
    damaged["letters in an id"] = (replaced(integer, "x7"), f"'x7' in column '{integer}'")
    damaged["an empty id"] = (replaced(integer, ""), f"no value in column '{integer}'")
    for column in layout.floats:
        damaged[f"{column} not a number"] = (replaced(column, "many"), f"'many' in column '{column}'")
    for column in layout.floats + layout.required:
        damaged[f"empty {column}"] = (replaced(column, ""), f"no value in column '{column}'")
    for case, (fields, words) in damaged.items():
        path = write(tmp_path, _file(layout, [good, fields, good]), case.replace(" ", "_"))
        message = error_of(path, layout)
        assert f"line {first_data_line + 1}:" in message and words in message, (case, message)

    # A latin-1 byte (0xE9, "é") in a text field, or after an id where the layout has no text.
    texts = [n for n in names if n in layout.texts + layout.required]
    column = texts[0] if texts else integer
    line = layout.separator.join(replaced(column, "\x00")).encode().replace(b"\x00", b"caf\xe9" if texts else b"7\xe9")
    undecodable = write(tmp_path, _file(layout, [good]) + line + b"\n", "undecodable")
    if layout.encoding == "utf-8" and layout.fallback_encoding is None:
        assert f"line {first_data_line + 1}: this line holds bytes that are not valid utf-8" in error_of(
            undecodable, layout
        )
    elif texts:  # latin-1, or a utf-8 file that falls back to latin-1 as a whole
        assert read_table(undecodable, layout)[column].tolist() == [good[names.index(column)], "caf\u00e9"]
    else:
        assert f"'7\u00e9' in column '{integer}'" in error_of(undecodable, layout)
    assert "is empty" in error_of(write(tmp_path, b"", "empty"), layout)
    assert "does not exist" in error_of(tmp_path / "absent", layout, FileNotFoundError)


def test_the_public_names_stay_importable() -> None:
    for name in parsers.__all__:
        assert getattr(parsers, name) is not None
    assert callable(parsers.parse_movielens_100k) and isinstance(parsers.ML_100K_GENRES, tuple)
    assert isinstance(read_table(Path(__file__), TableLayout(separator="\x00", columns=("line",))), pd.DataFrame)
