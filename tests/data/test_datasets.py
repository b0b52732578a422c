"""Tests of `course_lib.data.datasets`: native-format readers, malformed files, downloads.

Every file read here is written by the test itself from a handful of invented rows: no real data
set is copied into the tests (MovieLens may not be redistributed). Only the last test reads the
real MovieLens 100K, when this machine has it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import socket
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from course_lib.data import datasets
from course_lib.data.datasets import (
    REGISTRY,
    DatasetNotFoundError,
    available_datasets,
    load_dataset,
)
from course_lib.data.interactions import Interactions

# ----------------------------------------------------------------------------- invented files
# Raw ids are deliberately not contiguous and not in sorted order in the files.
ML_100K_FILES = {
    "u.data": (
        "3\t20\t4\t881250949\n"
        "1\t10\t5\t881250950\n"
        "1\t20\t3\t881250951\n"
        "7\t30\t1\t881250952\n"
        "3\t10\t2\t881250953\n"
    ),
    "u.item": (
        "10|Café Olé (1996)|01-Jan-1996||http://example.org/cafe|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0\n"
        "20|Les Misérables, The (1995)|01-Jan-1995||http://example.org/les|0|1|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
        "30|Untitled Thing|04-Jul-1994|||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
        "40|Never Rated (1990)|01-Jan-1990|||0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n"
    ),
    "u.user": (
        "1|24|M|technician|85711\n"
        "3|53|F|other|94043\n"
        "7|23|M|writer|02138\n"
        "9|30|F|artist|00000\n"
    ),
}

ML_1M_FILES = {
    "ratings.dat": (
        "5::20::4::978300760\n"
        "2::10::5::978300761\n"
        "2::30::1::978300762\n"
        "5::10::3::978300763\n"
    ),
    "movies.dat": (
        "10::Amélie (2001)::Comedy|Romance\n"
        "20::Heat, The (1995)::Action|Crime|Thriller\n"
        "30::Señor Nobody::Drama\n"
        "99::Only In Metadata (1980)::Western\n"
    ),
    "users.dat": (
        "2::F::1::10::48067\n"
        "5::M::56::16::07072\n"
    ),
}

ML_10M_FILES = {
    "ratings.dat": (
        "1::122::4.5::838985046\n"
        "1::185::0.5::838983525\n"
        "4::122::3::838983421\n"
    ),
    "movies.dat": (
        "122::Boomerang (1992)::Comedy|Romance\n"
        "185::Net, The (1995)::Action|Crime|Thriller\n"
    ),
}

ML_CSV_FILES = {
    "ratings.csv": (
        "userId,movieId,rating,timestamp\n"
        "1,31,2.5,1260759144\n"
        "1,1029,3.0,1260759179\n"
        "7,31,4.5,1260759185\n"
        "7,1061,0.5,1260759205\n"
    ),
    "movies.csv": (
        "movieId,title,genres\n"
        '31,"American President, The (1995)",Comedy|Drama|Romance\n'
        '1029,"A ""Quoted"" Dumbo (1941)",Animation|Children|Drama|Musical\n'
        "1061,Sleepers (1996),Thriller\n"
        "5000,Unrated Film (2003),(no genres listed)\n"
        "6000,Series Thing (2007-2013),(no genres listed)\n"
    ),
}

GOODBOOKS_FILES = {
    "ratings.csv": (
        "user_id,book_id,rating\n"
        "1,258,5\n"
        "2,4081,4\n"
        "2,258,3\n"
    ),
    "books.csv": (
        "book_id,goodreads_book_id,authors,original_publication_year,title,average_rating\n"
        '258,1,"Author One, Author Two",1997.0,"A Book, With Commas",4.1\n'
        "4081,2,Solo Author,,Plain Title,3.9\n"
        "9999,3,Nobody,2001.0,Never Rated,3.0\n"
    ),
}

ENCODINGS = {"ml-100k": "latin-1", "ml-1m": "latin-1"}


def write_files(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in files.items():
        # newline="" keeps "\n": the line numbers asserted below are those of the text above.
        with open(folder / file_name, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
    return folder


def load_cut(name: str, **kwargs) -> Interactions:
    """The invented files are a few rows: a deliberate cut, which must be asked for and warns."""
    with pytest.warns(UserWarning, match=r"partial=True.*not the published"):
        return load_dataset(name, download=False, partial=True, **kwargs)


def assert_contiguous(data: Interactions) -> None:
    assert data.users.min() == 0 and data.users.max() == data.n_users - 1
    assert data.items.min() == 0 and data.items.max() == data.n_items - 1
    assert len(np.unique(data.users)) == data.n_users
    assert len(np.unique(data.items)) == data.n_items
    assert np.all(np.diff(data.raw_user_ids) > 0), "raw user ids must be sorted"
    assert np.all(np.diff(data.raw_item_ids) > 0), "raw item ids must be sorted"
    assert data.ratings.dtype == np.float32
    assert len(data.item_metadata) == data.n_items
    assert list(data.item_metadata["raw_item_id"]) == list(data.raw_item_ids)


def raw_triples(data: Interactions) -> set[tuple[int, int, float]]:
    return {
        (int(u), int(i), float(r))
        for u, i, r in zip(data.raw_user_ids[data.users], data.raw_item_ids[data.items], data.ratings, strict=True)
    }


# ---------------------------------------------------------------------------------- loaders
def test_available_datasets_lists_every_name() -> None:
    assert available_datasets() == [
        "ml-100k", "ml-1m", "ml-latest-small", "ml-10m", "ml-20m", "goodbooks-10k", "synthetic", "synthetic-ml-1m",
    ]


def test_synthetic_ml_1m_has_the_shape_of_ml_1m_and_keeps_its_arguments() -> None:
    data = load_dataset("Synthetic_ML-1M")
    assert (data.n_users, data.n_items, len(data)) == (6_040, 3_706, 1_000_209)
    assert data.name == "synthetic-ml-1m"
    smaller = load_dataset("synthetic-ml-1m", n_users=100, mean_per_user=30, n_items=200)
    assert (smaller.n_users, smaller.n_items, len(smaller)) == (100, 200, 3_000)


def test_registry_entries_are_complete() -> None:
    for name, info in REGISTRY.items():
        assert info.name == name
        assert info.url.startswith("https://") and info.url.endswith(".zip")
        algorithm, _, digest = info.known_hash.partition(":")
        assert {"md5": 32, "sha256": 64}[algorithm] == len(digest)
        assert info.files and callable(info.parser)
    assert REGISTRY["ml-100k"].known_hash == "md5:0e33842e24a9c977be4e0107933c0723"
    assert REGISTRY["ml-1m"].known_hash == "md5:c4d9eecfca2ab87c1945afe126590906"


def test_ml_100k_native_files(tmp_path: Path) -> None:
    write_files(tmp_path / "ml-100k", ML_100K_FILES, "latin-1")
    data = load_cut("ml-100k", data_dir=tmp_path)

    assert data.name == "ml-100k"
    assert (data.n_users, data.n_items, len(data)) == (3, 3, 5)
    assert_contiguous(data)
    assert list(data.raw_user_ids) == [1, 3, 7]
    assert list(data.raw_item_ids) == [10, 20, 30]  # item 40 is only in u.item: dropped
    # The first line "3 20 4 ..." is user 1 (raw 3), item 1 (raw 20).
    assert (data.users[0], data.items[0], data.ratings[0]) == (1, 1, 4.0)
    assert data.timestamps.dtype == np.int64
    assert list(data.timestamps) == [881250949, 881250950, 881250951, 881250952, 881250953]
    assert raw_triples(data) == {(3, 20, 4.0), (1, 10, 5.0), (1, 20, 3.0), (7, 30, 1.0), (3, 10, 2.0)}

    metadata = data.item_metadata
    assert list(metadata["title"]) == ["Café Olé (1996)", "Les Misérables, The (1995)", "Untitled Thing"]
    assert list(metadata["genres"]) == ["Comedy|Romance", "Action|Drama", "unknown"]
    assert list(metadata["year"]) == [1996.0, 1995.0, 1994.0]  # the last from the release date
    genres = metadata.attrs["genres"]
    assert len(genres) == 19 and genres[0] == "unknown" and genres[-1] == "Western"
    assert data.item_features.shape == (3, 19) and data.item_features.dtype == np.float32
    assert data.item_features[0, genres.index("Comedy")] == 1.0
    assert data.item_features[0, genres.index("Romance")] == 1.0
    assert data.item_features.sum() == 5.0

    users = data.user_metadata
    assert len(users) == 3  # user 9 never rated
    assert list(users["raw_user_id"]) == [1, 3, 7]
    assert list(users["age"]) == [24, 53, 23]
    assert list(users["gender"]) == ["M", "F", "M"]
    assert list(users["occupation"]) == ["technician", "other", "writer"]
    assert list(users["zip_code"]) == ["85711", "94043", "02138"]  # text: the leading 0 stays


def test_ml_100k_without_u_user_has_no_user_metadata(tmp_path: Path) -> None:
    files = {k: v for k, v in ML_100K_FILES.items() if k != "u.user"}
    write_files(tmp_path / "ml-100k", files, "latin-1")
    data = load_cut("ml-100k", data_dir=tmp_path)
    assert data.user_metadata is None and len(data) == 5


def test_ml_1m_native_files(tmp_path: Path) -> None:
    write_files(tmp_path / "ml-1m", ML_1M_FILES, "latin-1")
    data = load_cut("ml-1m", data_dir=tmp_path)

    assert (data.n_users, data.n_items, len(data)) == (2, 3, 4)
    assert_contiguous(data)
    assert list(data.raw_user_ids) == [2, 5]
    assert list(data.raw_item_ids) == [10, 20, 30]
    assert raw_triples(data) == {(5, 20, 4.0), (2, 10, 5.0), (2, 30, 1.0), (5, 10, 3.0)}
    assert list(data.timestamps) == [978300760, 978300761, 978300762, 978300763]
    metadata = data.item_metadata
    assert list(metadata["title"]) == ["Amélie (2001)", "Heat, The (1995)", "Señor Nobody"]
    assert list(metadata["genres"]) == ["Comedy|Romance", "Action|Crime|Thriller", "Drama"]
    assert metadata["year"].iloc[0] == 2001.0 and np.isnan(metadata["year"].iloc[2])
    # Genre names come from the whole movies.dat, sorted; "Western" only belongs to an unrated film.
    assert metadata.attrs["genres"] == ["Action", "Comedy", "Crime", "Drama", "Romance", "Thriller", "Western"]
    assert data.item_features.shape == (3, 7)
    assert data.item_features.sum(axis=1).tolist() == [2.0, 3.0, 1.0]
    users = data.user_metadata
    assert list(users["gender"]) == ["F", "M"]
    assert list(users["age"]) == [1, 56]
    assert list(users["age_group"]) == ["Under 18", "56+"]
    assert list(users["occupation"]) == ["K-12 student", "self-employed"]
    assert list(users["zip_code"]) == ["48067", "07072"]


def test_ml_10m_read_from_archive_folder_name(tmp_path: Path) -> None:
    write_files(tmp_path / "ml-10M100K", ML_10M_FILES)
    data = load_cut("ml-10m", data_dir=tmp_path)
    assert data.name == "ml-10m"
    assert (data.n_users, data.n_items, len(data)) == (2, 2, 3)
    assert_contiguous(data)
    assert raw_triples(data) == {(1, 122, 4.5), (1, 185, 0.5), (4, 122, 3.0)}
    assert list(data.item_metadata["title"]) == ["Boomerang (1992)", "Net, The (1995)"]
    assert list(data.item_metadata["year"]) == [1992.0, 1995.0]
    assert data.item_features.shape == (2, 5)
    assert data.user_metadata is None


@pytest.mark.parametrize("name", ["ml-20m", "ml-latest-small"])
def test_movielens_csv_sets(tmp_path: Path, name: str) -> None:
    write_files(tmp_path / name, ML_CSV_FILES)
    data = load_cut(name, data_dir=tmp_path)
    assert data.name == name
    assert (data.n_users, data.n_items, len(data)) == (2, 3, 4)
    assert_contiguous(data)
    assert raw_triples(data) == {(1, 31, 2.5), (1, 1029, 3.0), (7, 31, 4.5), (7, 1061, 0.5)}
    assert list(data.timestamps) == [1260759144, 1260759179, 1260759185, 1260759205]
    metadata = data.item_metadata
    assert list(metadata["title"]) == ["American President, The (1995)", 'A "Quoted" Dumbo (1941)', "Sleepers (1996)"]
    assert list(metadata["year"]) == [1995.0, 1941.0, 1996.0]
    assert metadata.attrs["genres"] == ["Animation", "Children", "Comedy", "Drama", "Musical", "Romance", "Thriller"]
    assert data.item_features.sum(axis=1).tolist() == [3.0, 4.0, 1.0]


def test_no_genres_listed_and_series_years(tmp_path: Path) -> None:
    files = dict(ML_CSV_FILES)
    files["ratings.csv"] += "9,5000,4.0,1260759300\n9,6000,4.0,1260759301\n"
    write_files(tmp_path / "ml-20m", files)
    data = load_cut("ml-20m", data_dir=tmp_path)
    metadata = data.item_metadata.set_index("raw_item_id")
    assert metadata.loc[5000, "genres"] == "" and metadata.loc[6000, "year"] == 2007.0
    assert "(no genres listed)" not in metadata.attrs["genres"]
    assert data.item_features[list(data.raw_item_ids).index(5000)].sum() == 0.0


def test_goodbooks_10k(tmp_path: Path) -> None:
    write_files(tmp_path / "goodbooks-10k", GOODBOOKS_FILES)
    data = load_cut("goodbooks-10k", data_dir=tmp_path)
    assert (data.n_users, data.n_items, len(data)) == (2, 2, 3)
    assert_contiguous(data)
    assert data.timestamps is None and data.item_features is None
    assert raw_triples(data) == {(1, 258, 5.0), (2, 4081, 4.0), (2, 258, 3.0)}
    metadata = data.item_metadata
    assert list(metadata["title"]) == ["A Book, With Commas", "Plain Title"]
    assert list(metadata["genres"]) == ["", ""]
    assert metadata["year"].iloc[0] == 1997.0 and np.isnan(metadata["year"].iloc[1])
    assert metadata["authors"].iloc[0] == "Author One, Author Two"


def test_data_dir_may_be_the_set_folder_itself_and_env_variable(tmp_path: Path, monkeypatch) -> None:
    folder = write_files(tmp_path / "ml-100k", ML_100K_FILES, "latin-1")
    assert len(load_cut("ml-100k", data_dir=folder)) == 5
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "root"))
    write_files(tmp_path / "root" / "ml-100k", ML_100K_FILES, "latin-1")
    assert load_cut("ML_100K").n_items == 3


# ------------------------------------------------------------------------ malformed files
# (data set, folder, files, encoding, file to damage, its damaged text, line, words in the message)
MALFORMED = [
    ("ml-100k", "u.data", "1\t10\t5\t881250950\n3\t20\t4\t881250949\t7\n", 2, "5 fields"),
    ("ml-100k", "u.data", "1\t10\t5\t881250950\n3\t20\tfour\t881250949\n", 2, "'four'"),
    ("ml-100k", "u.data", "1\t10\t5\t881250950\n3\t20\t4\n", 2, "3 fields"),
    ("ml-100k", "u.data", "1\t10\t5\t881250950\n\n3\t\t4\t881250949\n", 3, "no value in column 'item'"),
    ("ml-100k", "u.data", "x\t10\t5\t881250950\n", 1, "'x'"),
    ("ml-100k", "u.item", ML_100K_FILES["u.item"].replace("|0|0|0|1\n", "|0|0|1\n", 1), 4, "23 fields"),
    ("ml-100k", "u.item", "ten|Title (1990)|01-Jan-1990|||" + "0|" * 18 + "0\n", 1, "'ten'"),
    ("ml-100k", "u.user", "1|24|M|technician|85711\n3|53|F|other\n", 2, "4 fields"),
    ("ml-1m", "ratings.dat", "2::10::5::978300761\n2::30::five::978300762\n", 2, "'five'"),
    ("ml-1m", "ratings.dat", "2::10::5::978300761\n2::30::1::978300762\n5::10::3\n", 3, "3 fields"),
    ("ml-1m", "movies.dat", "10::Amélie (2001)::Comedy\nabc::Heat (1995)::Action\n", 2, "'abc'"),
    ("ml-1m", "movies.dat", "10::Amélie (2001)::\n", 1, "no value in column 'genres'"),
    ("ml-1m", "users.dat", "2::F::1::10::48067\n5::M::old::16::70072\n", 2, "'old'"),
    ("ml-10m", "ratings.dat", "1::122::4.5::838985046\n1::185::::838983525\n", 2, "no value in column 'rating'"),
    ("ml-10m", "movies.dat", "122::Boomerang (1992)::Comedy::Extra\n", 1, "4 fields"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,x,5\n", 3, "'x'"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144,9\n", 2, "5 fields"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n7,31,4.5,\n", 3,
     "no value in column 'timestamp'"),
    ("ml-20m", "ratings.csv", "userId,movieId,rating\n1,31,2.5\n", 1, "'timestamp'"),
    ("ml-20m", "movies.csv", "movieId,title,genres\n31,Title (1995),Comedy\n1029,Dumbo, The (1941),Animation\n", 3,
     "4 fields"),
    # A quoted title spanning two lines: the bad record after it is still reported at its own line.
    ("ml-latest-small", "movies.csv",
     'movieId,title,genres\n31,"Two\nLines (1995)",Comedy\nabc,Dumbo (1941),Animation\n', 4, "'abc'"),
    ("goodbooks-10k", "ratings.csv", "user_id,book_id,rating\n1,258,5\n2,,4\n", 3, "no value in column 'book_id'"),
    ("goodbooks-10k", "books.csv", "book_id,title\n258,Fine\nbook,Broken\n", 3, "'book'"),
]
GOOD_FILES = {
    "ml-100k": ("ml-100k", ML_100K_FILES),
    "ml-1m": ("ml-1m", ML_1M_FILES),
    "ml-10m": ("ml-10M100K", ML_10M_FILES),
    "ml-20m": ("ml-20m", ML_CSV_FILES),
    "ml-latest-small": ("ml-latest-small", ML_CSV_FILES),
    "goodbooks-10k": ("goodbooks-10k", GOODBOOKS_FILES),
}


@pytest.mark.parametrize(("name", "file_name", "bad_text", "line", "words"), MALFORMED)
def test_malformed_file_names_file_and_line(
    tmp_path: Path, name: str, file_name: str, bad_text: str, line: int, words: str
) -> None:
    folder_name, files = GOOD_FILES[name]
    files = dict(files)
    files[file_name] = bad_text
    folder = write_files(tmp_path / folder_name, files, ENCODINGS.get(name, "utf-8"))
    with pytest.raises(ValueError) as caught:
        load_dataset(name, data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert str(folder / file_name) in message
    assert f"line {line}" in message
    assert words in message


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
def test_empty_ratings_file_is_an_error(tmp_path: Path, name: str) -> None:
    folder_name, files = GOOD_FILES[name]
    ratings_file = REGISTRY[name].files[0]
    files = dict(files)
    files[ratings_file] = files[ratings_file].splitlines(keepends=True)[0] if ratings_file.endswith(".csv") else ""
    write_files(tmp_path / folder_name, files, ENCODINGS.get(name, "utf-8"))
    with pytest.raises(ValueError, match=ratings_file):
        load_dataset(name, data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------- errors, fallback
def test_unknown_name_lists_available_names() -> None:
    with pytest.raises(ValueError, match="ml-100k.*synthetic") as caught:
        load_dataset("ml-1000k")
    assert "Did you mean" in str(caught.value)


def test_unknown_fallback_and_extra_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fallback"):
        load_dataset("ml-100k", data_dir=tmp_path, fallback="random")
    with pytest.raises(TypeError, match="synthetic"):
        load_dataset("ml-100k", data_dir=tmp_path, seed=3)


def test_absent_without_download_says_where_to_put_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("ml-1m", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert REGISTRY["ml-1m"].url in message
    assert str(tmp_path / "ml-1m") in message
    assert "ratings.dat" in message and "movies.dat" in message
    assert "download=False" in message and "fallback='synthetic'" in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_incomplete_folder_is_not_taken_as_the_set(tmp_path: Path) -> None:
    write_files(tmp_path / "ml-100k", {"u.data": ML_100K_FILES["u.data"]})
    with pytest.raises(DatasetNotFoundError, match="lacks u.item"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False)


def test_fallback_synthetic_warns_and_returns_stand_in(tmp_path: Path) -> None:
    pytest.importorskip("course_lib.data.synthetic", reason="course_lib.data.synthetic is not written yet")
    with pytest.warns(UserWarning, match="NOT") as caught:
        data = load_dataset("ml-100k", data_dir=tmp_path, download=False, fallback="synthetic")
    assert isinstance(data, Interactions)
    assert "synthetic" in data.name and "ml-100k" in data.name
    assert "SYNTHETIC" in str(caught[0].message)


def test_synthetic_passes_arguments_through() -> None:
    pytest.importorskip("course_lib.data.synthetic", reason="course_lib.data.synthetic is not written yet")
    small = load_dataset("synthetic", n_users=50, n_items=80, mean_per_user=30, seed=1)
    assert isinstance(small, Interactions) and small.shape == (50, 80)
    again = load_dataset("synthetic", n_users=50, n_items=80, mean_per_user=30, seed=1)
    assert np.array_equal(small.users, again.users) and np.array_equal(small.items, again.items)


# ---------------------------------------------------------------------------------- downloads
def _zip_of(files: dict[str, str], folder: str, encoding: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file_name, text in files.items():
            archive.writestr(f"{folder}/{file_name}", text.encode(encoding))
    return buffer.getvalue()


ARCHIVE = _zip_of(ML_100K_FILES, "ml-100k", "latin-1")
ARCHIVE_MD5 = "md5:" + hashlib.md5(ARCHIVE).hexdigest()


class ArchiveServer:
    """A real HTTP server on 127.0.0.1 serving ``payload`` at every path, counting requests.

    With ``cut_off=True`` it announces more bytes than it sends and closes the connection.
    """

    def __init__(self, payload: bytes, cut_off: bool = False) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                server.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(payload) + (10_000 if cut_off else 0)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2] if cut_off else payload)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/ml-100k.zip") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> ArchiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def bounded_downloads(monkeypatch):
    """Every download gives up after 5 s of silence, and every test asserts it ran quickly."""
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT_SECONDS", 5)
    monkeypatch.delenv("COURSE_LIB_MIRROR", raising=False)
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 30, "a download test took longer than 30 s"


def _serve_registry_entry(monkeypatch, url: str, known_hash: str = ARCHIVE_MD5) -> None:
    # The served archive is the invented one: its own published facts (5 ratings, 3 users, 3 items).
    published = dataclasses.replace(REGISTRY["ml-100k"].published, rows=5, users=3, items=3)
    entry = dataclasses.replace(REGISTRY["ml-100k"], url=url, known_hash=known_hash, published=published)
    monkeypatch.setitem(REGISTRY, "ml-100k", entry)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.network
def test_download_extracts_loads_and_is_not_repeated(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    root = tmp_path / "cache"
    with ArchiveServer(ARCHIVE) as server:
        _serve_registry_entry(monkeypatch, server.url())
        first = load_dataset("ml-100k", data_dir=root)
        second = load_dataset("ml-100k", data_dir=root)
    assert server.requests == ["/ml-100k.zip"]  # the second call found the files
    assert len(first) == len(second) == 5 and first.n_items == 3
    assert first.item_metadata["title"].iloc[0] == "Café Olé (1996)"
    # Only the finished folder is left: no zip, no temporary folder.
    assert sorted(p.name for p in root.iterdir()) == ["ml-100k"]
    assert sorted(p.name for p in (root / "ml-100k").iterdir()) == ["u.data", "u.item", "u.user"]


@pytest.mark.network
def test_mirror_environment_variable_replaces_base_url(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    with ArchiveServer(ARCHIVE) as server:
        # The official URL stays in the registry; only the hash is that of the test's archive.
        _serve_registry_entry(monkeypatch, REGISTRY["ml-100k"].url)
        monkeypatch.setenv("COURSE_LIB_MIRROR", server.url("/mirror/"))
        data = load_dataset("ml-100k", data_dir=tmp_path)
    assert server.requests == ["/mirror/ml-100k.zip"]
    assert len(data) == 5


@pytest.mark.network
def test_wrong_hash_leaves_nothing(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    root = tmp_path / "cache"
    with ArchiveServer(ARCHIVE) as server:
        _serve_registry_entry(monkeypatch, server.url(), known_hash="md5:" + "0" * 32)
        with pytest.raises(DatasetNotFoundError, match="checksum") as caught:
            load_dataset("ml-100k", data_dir=root)
    assert server.requests == ["/ml-100k.zip"]
    assert not root.exists()  # data_dir not even created: no <name> folder, no zip, no temporary leftovers
    assert server.url() in str(caught.value)


@pytest.mark.network
def test_cut_off_transfer_leaves_nothing(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    root = tmp_path / "cache"
    with ArchiveServer(ARCHIVE, cut_off=True) as server:
        _serve_registry_entry(monkeypatch, server.url())
        with pytest.raises(DatasetNotFoundError, match="cut off") as caught:
            load_dataset("ml-100k", data_dir=root)
    assert not root.exists()
    assert str(root / "ml-100k") in str(caught.value)


@pytest.mark.network
def test_offline_error_names_url_and_folder(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/ml-100k.zip"
    _serve_registry_entry(monkeypatch, url)
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("ml-100k", data_dir=tmp_path)
    message = str(caught.value)
    assert "could not be downloaded" in message and "could not connect" in message
    assert url in message
    assert str(tmp_path / "ml-100k") in message
    assert "u.data" in message and "fallback='synthetic'" in message
    assert caught.value.url == url and caught.value.folder == tmp_path / "ml-100k"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_offline_with_fallback_warns(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    pytest.importorskip("course_lib.data.synthetic", reason="course_lib.data.synthetic is not written yet")
    _serve_registry_entry(monkeypatch, f"http://127.0.0.1:{_closed_port()}/ml-100k.zip")
    with pytest.warns(UserWarning, match="NOT"):
        data = load_dataset("ml-100k", data_dir=tmp_path, fallback="synthetic")
    assert isinstance(data, Interactions) and "synthetic" in data.name


@pytest.mark.network
def test_interrupted_unpacking_leaves_nothing(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    import pooch

    def interrupted(self, fname, action, pooch):
        raise KeyboardInterrupt  # as if the student pressed Ctrl-C while the archive unpacks

    monkeypatch.setattr(pooch.Unzip, "__call__", interrupted)
    with ArchiveServer(ARCHIVE) as server:
        _serve_registry_entry(monkeypatch, server.url())
        with pytest.raises(KeyboardInterrupt):
            load_dataset("ml-100k", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_crash_leftovers_are_not_taken_as_the_set(tmp_path: Path) -> None:
    # What a killed process leaves: the temporary folder with a complete unpacked copy and the zip.
    leftover = tmp_path / ".ml-100k.download-abc123"
    write_files(leftover / "unpacked" / "ml-100k", ML_100K_FILES, "latin-1")
    (leftover / "ml-100k.zip").write_bytes(ARCHIVE[:100])
    with pytest.raises(DatasetNotFoundError):
        load_dataset("ml-100k", data_dir=tmp_path, download=False)


def test_existing_incomplete_folder_is_not_overwritten(tmp_path: Path, monkeypatch) -> None:
    write_files(tmp_path / "ml-100k", {"u.data": ML_100K_FILES["u.data"]})
    _serve_registry_entry(monkeypatch, f"http://127.0.0.1:{_closed_port()}/ml-100k.zip")
    with pytest.raises(DatasetNotFoundError, match="left untouched"):
        load_dataset("ml-100k", data_dir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "ml-100k").iterdir()) == ["u.data"]


# --------------------------------------------------------------------------- the real ML-100K
def _real_data_root() -> Path:
    from_environment = os.environ.get("COURSE_LIB_DATA", "").strip()
    if from_environment:
        return Path(from_environment)
    # The course's layout: the repository beside ../shared/data (DESIGN.md, "Datasets").
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def test_real_movielens_100k() -> None:
    root = _real_data_root()
    if not (root / "ml-100k" / "u.data").is_file():
        pytest.skip(f"The real MovieLens 100K is not on this machine: looked for {root / 'ml-100k' / 'u.data'} "
                    "($COURSE_LIB_DATA, else ../shared/data beside the repository).")
    data = load_dataset("ml-100k", data_dir=root, download=False)
    assert (data.n_users, data.n_items, len(data)) == (943, 1682, 100_000)
    assert_contiguous(data)
    assert set(np.unique(data.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.timestamps.min() > 8e8
    assert len(data.item_metadata.attrs["genres"]) == 19
    assert data.item_features.shape == (1682, 19)
    titles = data.item_metadata.set_index("raw_item_id")["title"]
    assert titles.loc[1] == "Toy Story (1995)"
    assert data.item_metadata["year"].notna().sum() >= 1680
    assert data.user_metadata is not None and len(data.user_metadata) == 943


# ----------------------------------------------------------------------- complete or refused
def _facts_of_the_invented_ml_100k(monkeypatch, **changes) -> None:
    """The registry entry of ml-100k with the published facts of the invented files (5 ratings)."""
    published = dataclasses.replace(REGISTRY["ml-100k"].published, **{"rows": 5, "users": 3, "items": 3, **changes})
    monkeypatch.setitem(REGISTRY, "ml-100k", dataclasses.replace(REGISTRY["ml-100k"], published=published))


def _write_ml_100k(folder: Path, ratings: str) -> Path:
    return write_files(folder, {**ML_100K_FILES, "u.data": ratings}, "latin-1")


def test_every_registered_set_knows_its_published_size_and_ranges() -> None:
    for name, info in REGISTRY.items():
        facts = info.published
        assert facts is not None and facts.rows > 0 and facts.users > 0 and facts.items > 0, name
        assert 0 < facts.rating_min < facts.rating_max and facts.rating_step > 0, name
    assert (REGISTRY["ml-100k"].published.rows, REGISTRY["ml-100k"].published.users,
            REGISTRY["ml-100k"].published.items) == (100_000, 943, 1_682)


def test_the_complete_invented_set_loads_without_a_word(tmp_path: Path, monkeypatch, recwarn) -> None:
    _facts_of_the_invented_ml_100k(monkeypatch)
    write_files(tmp_path / "ml-100k", ML_100K_FILES, "latin-1")
    assert len(load_dataset("ml-100k", data_dir=tmp_path, download=False)) == 5
    assert not recwarn.list


def test_a_file_cut_at_a_line_end_is_refused_naming_file_expected_and_found(tmp_path: Path, monkeypatch) -> None:
    _facts_of_the_invented_ml_100k(monkeypatch)
    cut = "".join(ML_100K_FILES["u.data"].splitlines(keepends=True)[:3])
    folder = _write_ml_100k(tmp_path / "ml-100k", cut)
    with pytest.raises(datasets.DatasetIntegrityError) as caught:
        load_dataset("ml-100k", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'u.data'} does not hold the published ml-100k")
    assert "expected 5 ratings by 3 users of 3 items, found 3 ratings by 2 users of 2 items" in message
    assert "partial=True" in message
    # the deliberate cut: asked for explicitly, and it warns
    with pytest.warns(UserWarning, match=r"partial=True.*holds 3 ratings by 2 users of 2 items, not the published"):
        data = load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True)
    assert len(data) == 3


def test_a_file_cut_inside_its_last_timestamp_is_refused_even_as_a_cut(tmp_path: Path, monkeypatch) -> None:
    _facts_of_the_invented_ml_100k(monkeypatch)
    folder = _write_ml_100k(tmp_path / "ml-100k", ML_100K_FILES["u.data"][:-7])  # "...\t881250953\n" -> "\t881"
    assert (folder / "u.data").read_text().endswith("\t881")
    for partial in (False, True):
        with pytest.raises(datasets.DatasetIntegrityError, match=r"u\.data: the timestamps of ml-100k lie from "
                                                                 r"1997-09-18 to 1998-04-24 .* \(found 881\)"):
            load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=partial)


def test_a_rating_outside_the_published_scale_is_refused(tmp_path: Path, monkeypatch) -> None:
    _facts_of_the_invented_ml_100k(monkeypatch)
    for bad, shown in (("50", "50"), ("3.5", "3.5"), ("0", "0")):
        _write_ml_100k(tmp_path / "ml-100k", ML_100K_FILES["u.data"].replace("7\t30\t1\t", f"7\t30\t{bad}\t"))
        with pytest.raises(datasets.DatasetIntegrityError, match=rf"the ratings of ml-100k are 1 to 5 in steps of 1, "
                                                                 rf"but 1 rating\(s\) are not \(found {shown}\)"):
            load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True)


def test_more_than_the_published_set_is_another_set_even_as_a_cut(tmp_path: Path, monkeypatch) -> None:
    _facts_of_the_invented_ml_100k(monkeypatch, rows=4)
    write_files(tmp_path / "ml-100k", ML_100K_FILES, "latin-1")
    with pytest.raises(datasets.DatasetIntegrityError, match="more than it holds"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True)


def test_another_sets_files_are_never_taken_for_the_set(tmp_path: Path) -> None:
    # ml-latest-small's kind of files at the top of data_dir: not taken as ml-20m (not its folder) ...
    write_files(tmp_path, ML_CSV_FILES)
    with pytest.raises(DatasetNotFoundError, match="not on this computer"):
        load_dataset("ml-20m", data_dir=tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError):
        load_dataset("ml-20m", data_dir=tmp_path / "ml-latest-small", download=False)
    # ... and in its folder, the published facts tell them apart: not 20,000,263 ratings
    write_files(tmp_path / "ml-20m", ML_CSV_FILES)
    with pytest.raises(datasets.DatasetIntegrityError, match=r"expected 20,000,263 ratings by 138,493 users of "
                                                             r"26,744 items, found 4 ratings by 2 users of 3 items"):
        load_dataset("ml-20m", data_dir=tmp_path, download=False)


def test_a_zip_lying_unzipped_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "ml-100k.zip").write_bytes(ARCHIVE)
    with pytest.raises(DatasetNotFoundError, match=r"The archive .*ml-100k\.zip is there but was never unzipped: "
                                                   r"unzip it inside"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError, match=rf"looked in {re.escape(str(tmp_path / 'ml-100k'))}\)"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False)


def test_duplicates_policy_reaches_the_loader(tmp_path: Path) -> None:
    repeated = ML_100K_FILES["u.data"] + "7\t30\t5\t881250960\n"  # user 7 rates item 30 again, later
    _write_ml_100k(tmp_path / "ml-100k", repeated)
    with pytest.raises(ValueError, match=r"1 rows repeat a \(user, item\) pair"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True, duplicates="error")
    with pytest.warns(UserWarning, match="duplicates='last'"), pytest.warns(UserWarning, match="partial=True"):
        data = load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True)
    assert len(data) == 5 and (7, 30, 5.0) in raw_triples(data)
    with pytest.raises(ValueError, match="`duplicates` must be one of"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False, duplicates="drop")


@pytest.mark.network
def test_a_mistyped_data_dir_is_not_created_by_a_failed_download(tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    _serve_registry_entry(monkeypatch, f"http://127.0.0.1:{_closed_port()}/ml-100k.zip")
    mistyped = tmp_path / "dtaa" / "sets"
    with pytest.raises(DatasetNotFoundError, match="could not connect"):
        load_dataset("ml-100k", data_dir=mistyped)
    assert not (tmp_path / "dtaa").exists()


@pytest.mark.network
def test_the_users_empty_folder_survives_a_failed_download_and_is_filled_by_a_good_one(
        tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    (tmp_path / "ml-100k").mkdir()
    _serve_registry_entry(monkeypatch, f"http://127.0.0.1:{_closed_port()}/ml-100k.zip")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("ml-100k", data_dir=tmp_path)
    assert (tmp_path / "ml-100k").is_dir()  # not removed
    with ArchiveServer(ARCHIVE) as server:
        _serve_registry_entry(monkeypatch, server.url())
        data = load_dataset("ml-100k", data_dir=tmp_path)
    assert len(data) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-100k"]


def test_half_of_the_real_movielens_100k_is_refused(tmp_path: Path) -> None:
    source = _real_data_root() / "ml-100k"
    if not (source / "u.data").is_file():
        pytest.skip(f"The real MovieLens 100K is not on this machine: looked for {source / 'u.data'}.")
    lines = (source / "u.data").read_bytes().splitlines(keepends=True)
    folder = tmp_path / "ml-100k"  # a cut copy, written here and removed with tmp_path: never committed
    folder.mkdir()
    (folder / "u.data").write_bytes(b"".join(lines[:50_000]))
    (folder / "u.item").write_bytes((source / "u.item").read_bytes())
    with pytest.raises(datasets.DatasetIntegrityError, match=r"expected 100,000 ratings by 943 users of 1,682 items, "
                                                             r"found 50,000 ratings"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False)
    (folder / "u.data").write_bytes(b"".join(lines[:-1]) + lines[-1][:-7])  # cut inside the last timestamp
    with pytest.raises(datasets.DatasetIntegrityError, match="timestamps"):
        load_dataset("ml-100k", data_dir=tmp_path, download=False, partial=True)


@pytest.mark.network
def test_a_failure_at_the_final_rename_gives_back_the_users_folder_and_creates_nothing(
        tmp_path: Path, monkeypatch, bounded_downloads) -> None:
    (tmp_path / "mine" / "ml-100k").mkdir(parents=True)

    def refused(source, destination):
        raise PermissionError(13, "Permission denied", str(destination))

    monkeypatch.setattr(datasets.os, "replace", refused)
    with ArchiveServer(ARCHIVE) as server:
        _serve_registry_entry(monkeypatch, server.url())
        with pytest.raises(DatasetNotFoundError, match="could not write the files"):
            load_dataset("ml-100k", data_dir=tmp_path / "mine")
        with pytest.raises(DatasetNotFoundError, match="could not write the files"):
            load_dataset("ml-100k", data_dir=tmp_path / "new" / "root")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["ml-100k"]  # empty, as the user made it
    assert not any((tmp_path / "mine" / "ml-100k").iterdir())
    assert not (tmp_path / "new").exists()
