"""The course's data sets: where they live, how they are downloaded, and how they are read.

``load_dataset(name)`` returns an :class:`~course_lib.data.interactions.Interactions` for one of
:func:`available_datasets`. A real data set is read from its own native files (as its archive
unpacks them), looked for in this order:

1. the ``data_dir`` argument,
2. the ``COURSE_LIB_DATA`` environment variable,
3. the user cache folder, ``pooch.os_cache("course_lib")``.

Inside that root folder a set lives in ``<root>/<name>/`` (for example ``<root>/ml-100k/u.data``);
the archive's own folder name is accepted too (``<root>/ml-10M100K/``).

When a set is absent it is downloaded from its official address with pooch, its published hash
checked, and unpacked atomically: the archive goes to a hidden temporary folder inside ``<root>``,
is unzipped there, and only the finished folder is renamed to ``<root>/<name>/``. A crash, a cut-off
transfer or a wrong hash therefore never leaves a half data set that a later call would take as
whole; the temporary folder is removed on every error.

No data set file is part of this package: MovieLens may not be redistributed.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from course_lib.data.interactions import DEFAULT_DUPLICATES, Interactions
from course_lib.data.parsers import (
    parse_goodbooks_10k,
    parse_movielens_1m,
    parse_movielens_10m,
    parse_movielens_100k,
    parse_movielens_csv,
)

__all__ = [
    "DATA_ENVIRONMENT_VARIABLE",
    "MIRROR_ENVIRONMENT_VARIABLE",
    "REGISTRY",
    "DatasetInfo",
    "DatasetIntegrityError",
    "DatasetNotFoundError",
    "PublishedFacts",
    "check_published",
    "available_datasets",
    "load_dataset",
]

DATA_ENVIRONMENT_VARIABLE = "COURSE_LIB_DATA"
MIRROR_ENVIRONMENT_VARIABLE = "COURSE_LIB_MIRROR"
SYNTHETIC = "synthetic"
# Synthetic sets of other shapes: name -> make_synthetic's arguments (the default shape is ML-100K's).
SYNTHETIC_SHAPES: dict[str, dict[str, Any]] = {
    SYNTHETIC: {},
    "synthetic-ml-1m": {"n_users": 6_040, "n_items": 3_706, "mean_per_user": 1_000_209 / 6_040,
                        "name": "synthetic-ml-1m"},  # MovieLens 1M's numbers of users, items and ratings
}
# Seconds pooch waits for the server to answer (connect, and between two chunks).
DOWNLOAD_TIMEOUT_SECONDS = 60
# A temporary download folder older than this is a leftover of a crash and is removed.
_STALE_DOWNLOAD_SECONDS = 24 * 3600


class DatasetNotFoundError(FileNotFoundError):
    """A real data set is neither on this computer nor downloadable.

    The message says why, where to download the set by hand, and which folder to unzip it into.

    Attributes
    ----------
    name:
        The data set's name.
    folder:
        The folder where the set's files are expected (``<root>/<name>/``).
    url:
        The address to download it from.
    reason:
        One line saying why it could not be had.
    """

    def __init__(self, message: str, *, name: str = "", folder: Path | None = None, url: str = "",
                 reason: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.folder = folder
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatasetIntegrityError(ValueError):
    """The files of a data set are not the published set: cut, changed, or another set's."""


@dataclass(frozen=True)
class PublishedFacts:
    """What the publisher says a complete copy holds; ``load_dataset`` checks every copy against it.

    ``rows`` counts the (user, item) ratings, ``users`` and ``items`` those that rate or are rated;
    ratings lie from ``rating_min`` to ``rating_max`` in steps of ``rating_step``; timestamps (when
    the set has them) from ``first_timestamp`` to ``last_timestamp`` (seconds, UTC; the published
    collection period, widened by a day on each side).
    """

    rows: int
    users: int
    items: int
    rating_min: float
    rating_max: float
    rating_step: float
    first_timestamp: int | None = None
    last_timestamp: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of the registry: where a real data set comes from and how it is read.

    Parameters
    ----------
    name:
        The name given to :func:`load_dataset`.
    url:
        The official address of the zip archive.
    known_hash:
        The published checksum of the archive, as pooch takes it (``"md5:..."``, ``"sha256:..."``).
    archive_folder:
        The folder inside the archive that holds the files (``""`` when they are at its top level).
    files:
        The files that must all be present for the set to count as installed.
    parser:
        ``parser(folder, name) -> Interactions``, reading the native files.
    optional_files:
        Files read when present (user metadata).
    description:
        A line for humans.
    published:
        The published size and value ranges (:class:`PublishedFacts`), checked at every load.
    """

    name: str
    url: str
    known_hash: str
    archive_folder: str
    files: tuple[str, ...]
    parser: Callable[..., Interactions]
    optional_files: tuple[str, ...] = ()
    description: str = ""
    published: PublishedFacts | None = None


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"

# Hashes: GroupLens publishes an MD5 beside each zip (<url>.md5). ml-latest-small is pinned by the
# SHA-256 that TensorFlow Datasets records for the same URL (tensorflow/datasets,
# tensorflow_datasets/url_checksums/movielens.txt: 978,202 bytes), because no MD5 sidecar value
# could be read here; goodbooks-10k publishes no hash, so it is pinned by the SHA-256 that Ludwig
# records for the v1.0 release zip (ludwig-ai/ludwig, ludwig/datasets/configs/goodbooks_books.yaml).
REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="ml-100k",
            url=_GROUPLENS + "ml-100k.zip",
            known_hash="md5:0e33842e24a9c977be4e0107933c0723",  # 4,924,029 bytes; GroupLens ml-100k.zip.md5
            archive_folder="ml-100k",
            files=("u.data", "u.item"),
            optional_files=("u.user",),
            parser=parse_movielens_100k,
            description="MovieLens 100K: 100,000 ratings (1-5) of 1,682 movies by 943 users, 1997-1998.",
            published=PublishedFacts(rows=100_000, users=943, items=1_682, rating_min=1, rating_max=5, rating_step=1,
                                     first_timestamp=874_540_800, last_timestamp=893_376_000),  # 1997-09-19 .. 1998-04-22 (README)
        ),
        DatasetInfo(
            name="ml-1m",
            url=_GROUPLENS + "ml-1m.zip",
            known_hash="md5:c4d9eecfca2ab87c1945afe126590906",  # GroupLens ml-1m.zip.md5
            archive_folder="ml-1m",
            files=("ratings.dat", "movies.dat"),
            optional_files=("users.dat",),
            parser=parse_movielens_1m,
            description="MovieLens 1M: 1,000,209 ratings (1-5) of 3,706 movies by 6,040 users, 2000-2003.",
            published=PublishedFacts(rows=1_000_209, users=6_040, items=3_706, rating_min=1, rating_max=5, rating_step=1,
                                     first_timestamp=946_598_400, last_timestamp=1_072_915_200),  # 2000 .. 2003 (README)
        ),
        DatasetInfo(
            name="ml-latest-small",
            url=_GROUPLENS + "ml-latest-small.zip",
            # SHA-256 recorded by TensorFlow Datasets (url_checksums/movielens.txt), 978,202 bytes.
            known_hash="sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            archive_folder="ml-latest-small",
            files=("ratings.csv", "movies.csv"),
            parser=parse_movielens_csv,
            description="MovieLens latest small (2018 release): 100,836 ratings (0.5-5) by 610 users.",
            published=PublishedFacts(rows=100_836, users=610, items=9_724, rating_min=0.5, rating_max=5, rating_step=0.5,
                                     first_timestamp=827_971_200, last_timestamp=1_537_920_000),  # 1996-03-29 .. 2018-09-24
        ),
        DatasetInfo(
            name="ml-10m",
            url=_GROUPLENS + "ml-10m.zip",
            known_hash="md5:ce571fd55effeba0271552578f2648bd",  # GroupLens ml-10m.zip.md5
            archive_folder="ml-10M100K",
            files=("ratings.dat", "movies.dat"),
            parser=parse_movielens_10m,
            description="MovieLens 10M: 10,000,054 ratings (0.5-5) of 10,677 movies by 69,878 users.",
            published=PublishedFacts(rows=10_000_054, users=69_878, items=10_677, rating_min=0.5, rating_max=5,
                                     rating_step=0.5, first_timestamp=789_523_200,
                                     last_timestamp=1_231_286_400),  # 1995-01-09 .. 2009-01-05 (README)
        ),
        DatasetInfo(
            name="ml-20m",
            url=_GROUPLENS + "ml-20m.zip",
            known_hash="md5:cd245b17a1ae2cc31bb14903e1204af3",  # GroupLens ml-20m.zip.md5
            archive_folder="ml-20m",
            files=("ratings.csv", "movies.csv"),
            parser=parse_movielens_csv,
            description="MovieLens 20M: 20,000,263 ratings (0.5-5) of 26,744 movies by 138,493 users.",
            published=PublishedFacts(rows=20_000_263, users=138_493, items=26_744, rating_min=0.5, rating_max=5,
                                     rating_step=0.5, first_timestamp=789_523_200,
                                     last_timestamp=1_427_932_800),  # 1995-01-09 .. 2015-03-31 (README)
        ),
        DatasetInfo(
            name="goodbooks-10k",
            url="https://github.com/zygmuntz/goodbooks-10k/releases/download/v1.0/goodbooks-10k.zip",
            # No published hash; SHA-256 as pinned by ludwig-ai/ludwig for this release zip.
            known_hash="sha256:261b97b56db61f3fb2ce5aadbb13704d30179fcc986c17ace665a0af9ed00731",
            archive_folder="",
            files=("ratings.csv", "books.csv"),
            parser=parse_goodbooks_10k,
            description="goodbooks-10k: about 6 million ratings (1-5) of 10,000 books, no timestamps.",
            published=PublishedFacts(rows=5_976_479, users=53_424, items=10_000, rating_min=1, rating_max=5,
                                     rating_step=1),  # README of zygmuntz/goodbooks-10k (no timestamps)
        ),
    )
}


def available_datasets() -> list[str]:
    """The names :func:`load_dataset` accepts: the real sets of the registry, then the synthetic ones
    (``"synthetic"``, ML-100K's shape, and ``"synthetic-ml-1m"``, ML-1M's)."""
    return list(REGISTRY) + list(SYNTHETIC_SHAPES)


# ------------------------------------------------------------------------------- locating files
def _data_root(data_dir: str | os.PathLike[str] | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_environment = os.environ.get(DATA_ENVIRONMENT_VARIABLE, "").strip()
    if from_environment:
        return Path(from_environment).expanduser()
    import pooch  # imported here: pooch is only needed for real data sets

    return Path(pooch.os_cache("course_lib"))


def _missing_files(folder: Path, info: DatasetInfo) -> list[str]:
    return [file_name for file_name in info.files if not (folder / file_name).is_file()]


def _own_folder_names(info: DatasetInfo) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in (info.name, info.archive_folder) if n))


def _candidate_folders(info: DatasetInfo, root: Path) -> list[Path]:
    """``<root>/<name>/``, ``<root>/<archive folder>/``, and ``root`` itself only when it is named so:
    a set is taken only from its own folder, never from another set's files lying in ``root``."""
    candidates = [root / folder_name for folder_name in _own_folder_names(info)]
    if root.name.lower() in {n.lower() for n in _own_folder_names(info)}:
        candidates.append(root)  # data_dir may point at the set's own folder
    return candidates


def _locate(info: DatasetInfo, root: Path) -> Path | None:
    for folder in _candidate_folders(info, root):
        if folder.is_dir() and not _missing_files(folder, info):
            return folder
    return None


def _source_url(info: DatasetInfo) -> str:
    mirror = os.environ.get(MIRROR_ENVIRONMENT_VARIABLE, "").strip()
    if not mirror:
        return info.url
    return mirror.rstrip("/") + "/" + _archive_file_name(info.url, info.name)


def _archive_file_name(url: str, name: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[-1] or f"{name}.zip"


# ---------------------------------------------------------------------------------- downloading
class _DownloadFailed(Exception):
    """Internal: the download or the unpacking failed; the message is one plain line."""


def _describe_failure(error: BaseException, url: str) -> str:
    import requests

    host = urlparse(url).netloc or url
    if isinstance(error, requests.exceptions.HTTPError):
        response = error.response
        status = f"HTTP {response.status_code} {response.reason}" if response is not None else str(error)
        return f"the server {host} answered {status}"
    if isinstance(error, requests.exceptions.Timeout):
        return f"the server {host} did not answer within {DOWNLOAD_TIMEOUT_SECONDS} seconds"
    if isinstance(error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return f"the transfer from {host} was cut off before the whole file arrived"
    if isinstance(error, requests.exceptions.ConnectionError):
        return f"could not connect to {host} (no network, or the server is down)"
    if isinstance(error, requests.exceptions.RequestException):
        return f"the download from {host} failed ({type(error).__name__})"
    if isinstance(error, zipfile.BadZipFile):
        return "the downloaded file is not a valid zip archive"
    if isinstance(error, ValueError) and "hash" in str(error).lower():
        return ("the downloaded file does not match the published checksum (damaged, cut off, or changed "
                "on the server), so it was deleted")
    if isinstance(error, OSError):
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        return f"could not write the files{where} ({error.strerror or error})"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}"[:300]


def _remove_stale_downloads(info: DatasetInfo, root: Path) -> None:
    now = time.time()
    for leftover in root.glob(f".{info.name}.download-*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_DOWNLOAD_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass


def _find_unpacked(extracted: Path, info: DatasetInfo) -> Path | None:
    candidates = [extracted / info.archive_folder] if info.archive_folder else []
    candidates += [extracted, extracted / info.name]
    candidates += sorted(p for p in extracted.iterdir() if p.is_dir()) if extracted.is_dir() else []
    for folder in candidates:
        if folder.is_dir() and not _missing_files(folder, info):
            return folder
    return None


def _download(info: DatasetInfo, root: Path, url: str) -> Path:
    """Download, check and unpack one set into ``root / info.name``; return that folder."""
    import pooch

    target = root / info.name
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        missing = ", ".join(_missing_files(target, info)) if target.is_dir() else "its files (it is a file)"
        raise _DownloadFailed(
            f"the folder {target} exists but lacks {missing}; it was left untouched (complete it, or delete "
            "it and try again)"
        )
    try:
        if root.is_dir():
            _remove_stale_downloads(info, root)
        # Inside root when it exists (same file system: the final rename is atomic, and a leftover
        # after a crash is never mistaken for the set, its name not being <name>); else in the
        # system's temporary folder, so that root is created only once the download succeeded.
        staging = Path(tempfile.mkdtemp(prefix=f".{info.name}.download-", dir=root if root.is_dir() else None))
    except OSError as error:
        raise _DownloadFailed(_describe_failure(error, url)) from error
    try:
        downloader = None
        if url.startswith(("http://", "https://")):
            downloader = pooch.HTTPDownloader(progressbar=True, timeout=DOWNLOAD_TIMEOUT_SECONDS)
        # pooch streams into a temporary file and moves it to its name only once the hash matched.
        pooch.retrieve(
            url,
            known_hash=info.known_hash,
            fname=_archive_file_name(url, info.name),
            path=staging,
            processor=pooch.Unzip(extract_dir="unpacked"),
            downloader=downloader,
            progressbar=True,
        )
        unpacked = _find_unpacked(staging / "unpacked", info)
        if unpacked is None:
            raise _DownloadFailed(f"the downloaded archive does not contain {', '.join(info.files)}")
        # Only now, with the whole set checked and unpacked, is anything of the user's touched.
        created = [p for p in (root, *root.parents) if not p.exists()][::-1]  # outermost first
        root.mkdir(parents=True, exist_ok=True)
        staging_extra, removed_empty = None, False
        try:
            if staging.parent != root:  # another file system, maybe: move next to the target first
                staging_extra = Path(tempfile.mkdtemp(prefix=f".{info.name}.download-", dir=root))
                unpacked = Path(shutil.move(str(unpacked), str(staging_extra / "set")))
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()  # the user's empty folder, replaced by the complete set at once
                removed_empty = True
            os.replace(unpacked, target)
        except BaseException:
            # Another process may have finished the same download a moment earlier; else undo.
            if not (target.is_dir() and not _missing_files(target, info)):
                if removed_empty and not target.exists():
                    target.mkdir()  # the user's folder back, as it was
                if staging_extra is not None:
                    shutil.rmtree(staging_extra, ignore_errors=True)
                for folder in reversed(created):  # the folders made for this download, innermost first
                    try:
                        folder.rmdir()
                    except OSError:
                        break
                raise
        finally:
            if staging_extra is not None:
                shutil.rmtree(staging_extra, ignore_errors=True)
        return target
    except _DownloadFailed:
        raise
    except Exception as error:
        raise _DownloadFailed(_describe_failure(error, url)) from error
    finally:
        # Also on KeyboardInterrupt: nothing half-done stays behind.
        shutil.rmtree(staging, ignore_errors=True)


def _not_found_error(info: DatasetInfo, root: Path, url: str, reason: str, tried_download: bool) -> DatasetNotFoundError:
    folder = root / info.name
    looked_in = ", ".join(str(p) for p in _candidate_folders(info, root))
    if tried_download:
        headline = f"The data set '{info.name}' is not on this computer and could not be downloaded: {reason}."
    else:
        headline = (f"The data set '{info.name}' is not on this computer (looked in {looked_in}), and "
                    f"{reason}.")
    optional = f" (and, if you like, {', '.join(info.optional_files)})" if info.optional_files else ""
    archive = _archive_file_name(url, info.name)
    lying = [p for p in (root / archive, folder / archive, root.parent / archive) if p.is_file()]
    if lying:
        headline += (f"\nThe archive {lying[0]} is there but was never unzipped: unzip it inside {root} "
                     f"(so that {folder}{os.sep} holds {', '.join(info.files)}) and load again.")
    if info.archive_folder == info.name:
        inside = f"\n     (unzipping {archive} inside {root} does exactly that)"
    elif info.archive_folder:
        inside = f"\n     (unzipping {archive} inside {root} gives {root / info.archive_folder}{os.sep}, which is found too)"
    else:
        inside = ""
    message = (
        f"{headline}\n"
        "To install it by hand:\n"
        f"  1. download {url}\n"
        f"  2. unzip it so that {', '.join(info.files)}{optional} lie directly in the folder\n"
        f"     {folder}{os.sep}{inside}\n"
        f"     (or give load_dataset(..., data_dir=...) or the {DATA_ENVIRONMENT_VARIABLE} environment variable the "
        f"folder that holds '{info.name}/').\n"
        f"Or go on without it: load_dataset('{info.name}', fallback='synthetic') returns a synthetic stand-in "
        "instead (its results are NOT results on the real data)."
    )
    return DatasetNotFoundError(message, name=info.name, folder=folder, url=url, reason=reason)


# ------------------------------------------------------------------------------- integrity
def _utc_day(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(int(seconds), datetime.UTC).strftime("%Y-%m-%d")


def check_published(info: DatasetInfo, data: Interactions, folder: Path, partial: bool = False) -> None:
    """Compare a loaded set with its :class:`PublishedFacts`; raise :class:`DatasetIntegrityError`.

    Values out of the published ranges are always refused (a rating of 50 on a 1-5 scale, a
    timestamp cut to 3 digits). The counts (rows, users, items) must equal the published ones,
    unless ``partial=True`` (a deliberate cut), which warns instead and still refuses more than
    the published counts (then the files are another set's).
    """
    facts = info.published
    if facts is None:
        return
    ratings_file = folder / info.files[0]
    if data.ratings is not None and len(data):
        ratings = data.ratings.astype(np.float64)
        steps = (ratings - facts.rating_min) / facts.rating_step
        bad = (ratings < facts.rating_min) | (ratings > facts.rating_max) | (np.abs(steps - np.round(steps)) > 1e-6)
        if bad.any():
            found = np.unique(ratings[bad])[:5]
            raise DatasetIntegrityError(
                f"{ratings_file}: the ratings of {info.name} are {facts.rating_min:g} to {facts.rating_max:g} in steps "
                f"of {facts.rating_step:g}, but {int(bad.sum()):,} rating(s) are not (found {', '.join(f'{v:g}' for v in found)}). "
                "The file is damaged or not this set's: delete its folder and load again to download it afresh."
            )
    if facts.first_timestamp is not None and data.timestamps is not None and len(data):
        bad = (data.timestamps < facts.first_timestamp) | (data.timestamps > facts.last_timestamp)
        if bad.any():
            found = data.timestamps[bad][:3]
            raise DatasetIntegrityError(
                f"{ratings_file}: the timestamps of {info.name} lie from {_utc_day(facts.first_timestamp)} to "
                f"{_utc_day(facts.last_timestamp)} ({facts.first_timestamp:,} to {facts.last_timestamp:,} s), but "
                f"{int(bad.sum()):,} do not (found {', '.join(str(v) for v in found)}): a file cut inside its last "
                "line, or damaged. Delete its folder and load again to download it afresh."
            )
    expected = (facts.rows, facts.users, facts.items)
    found = (len(data), data.n_users, data.n_items)
    if found == expected:
        return
    described = "{:,} ratings by {:,} users of {:,} items"
    too_many = any(f > e for f, e in zip(found, expected, strict=True))
    if not partial or too_many:
        advice = ("These are not the files of this set (more than it holds): another set's files?" if too_many else
                  "The file is incomplete (a cut download or copy?) or another set's: delete the folder and load "
                  "again to download it afresh, or, for a deliberate cut, pass load_dataset(..., partial=True).")
        raise DatasetIntegrityError(
            f"{ratings_file} does not hold the published {info.name}: expected {described.format(*expected)}, "
            f"found {described.format(*found)}. {advice}"
        )
    warnings.warn(
        f"load_dataset('{info.name}', partial=True): {ratings_file} holds {described.format(*found)}, not the "
        f"published {described.format(*expected)}. Results on this cut are not comparable with published ones.",
        UserWarning, stacklevel=3,
    )


# ---------------------------------------------------------------------------------- the loader
def _resolve_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key in REGISTRY or key in SYNTHETIC_SHAPES:
        return key
    names = available_datasets()
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown data set {name!r}.{hint} Available data sets: {', '.join(names)}.")


def _make_synthetic(**kwargs: Any) -> Interactions:
    from course_lib.data.synthetic import make_synthetic  # imported late: another module, optional here

    return make_synthetic(**kwargs)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    fallback: str | None = None,
    download: bool = True,
    duplicates: str = DEFAULT_DUPLICATES,
    partial: bool = False,
    **kwargs: Any,
) -> Interactions:
    """Load a data set by name as an :class:`Interactions`, downloading it once if needed.

    Parameters
    ----------
    name:
        One of :func:`available_datasets`: ``"ml-100k"``, ``"ml-1m"``, ``"ml-latest-small"``,
        ``"ml-10m"``, ``"ml-20m"``, ``"goodbooks-10k"``, ``"synthetic"`` (the shape of ML-100K) or
        ``"synthetic-ml-1m"`` (the shape of ML-1M: 6,040 users, 3,706 items, 1,000,209 ratings);
        case and ``_`` / ``-`` do not matter.
    data_dir:
        The root folder of the data sets; the set is looked for in ``<data_dir>/<name>/``, in the
        archive's own folder name (``<data_dir>/ml-10M100K/``), or in ``data_dir`` itself. When None,
        the environment variable ``COURSE_LIB_DATA`` is used, else the user cache folder
        ``pooch.os_cache("course_lib")``.
    fallback:
        None (default): raise :class:`DatasetNotFoundError` when a real set can be neither found
        nor downloaded. ``"synthetic"``: warn loudly and return the synthetic stand-in instead.
    download:
        Download the set from its official address when it is absent (default). With False,
        only local files are used.
    duplicates:
        What to do with repeated (user, item) rows: ``Interactions``' ``duplicates`` policy
        (``"error"``, ``"first"``, ``"last"`` (default), ``"sum"``, ``"mean"``). The published
        sets have none.
    partial:
        False (default): the files must hold exactly the published numbers of ratings, users and
        items (:class:`PublishedFacts`), else :class:`DatasetIntegrityError` names the file, what
        was expected and what was found. True: a deliberate cut (fewer rows) is accepted with a
        warning. Ratings and timestamps outside the published ranges are refused either way.
    **kwargs:
        Passed to :func:`course_lib.data.synthetic.make_synthetic` for ``name="synthetic"``
        (for example ``seed=1``); not allowed for real sets.

    Returns
    -------
    Interactions
        Contiguous user and item ids (raw ids sorted, maps in ``raw_user_ids`` / ``raw_item_ids``),
        ``ratings`` (float32), ``timestamps`` (int64) where the set has them, ``item_metadata``
        (``raw_item_id``, ``title``, ``genres`` joined by ``|``, ``year``; the genre names in
        ``item_metadata.attrs["genres"]``), ``item_features`` (multi-hot genres, float32) where the
        set has genres, ``user_metadata`` for ml-100k and ml-1m. Items that appear only in the
        metadata, never in the ratings, are left out.

    Raises
    ------
    ValueError
        For an unknown name or fallback, and for a malformed file (the message names the file and
        the line).
    DatasetIntegrityError
        (a ValueError) When the files do not match the published set (see ``partial``).
    DatasetNotFoundError
        When the set is absent and could not be downloaded (or ``download=False``); the message
        says why, where to download it by hand and which folder to unzip it into.

    Notes
    -----
    Downloads come from the address in :data:`REGISTRY` and are checked against the published
    hash. Set the environment variable ``COURSE_LIB_MIRROR`` to a base URL to download the same
    archive names from a mirror instead (``$COURSE_LIB_MIRROR/ml-100k.zip``); the hash is checked
    all the same. Tests replace a registry entry (``dataclasses.replace(REGISTRY[name], url=...,
    known_hash=...)``) to serve a tiny archive of their own.

    Examples
    --------
    >>> data = load_dataset("ml-100k", fallback="synthetic")  # doctest: +SKIP
    >>> data.describe()  # doctest: +SKIP
    """
    if fallback not in (None, SYNTHETIC):
        raise ValueError(f"`fallback` must be None or 'synthetic', got fallback={fallback!r}.")
    if not isinstance(partial, bool) or not isinstance(download, bool):
        raise ValueError(f"`partial` and `download` must be True or False, got partial={partial!r}, "
                         f"download={download!r}.")
    from course_lib.data.interactions import DUPLICATE_POLICIES

    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"`duplicates` must be one of {', '.join(map(repr, DUPLICATE_POLICIES))}, "
                         f"got duplicates={duplicates!r}.")
    key = _resolve_name(name)
    if key in SYNTHETIC_SHAPES:
        return _make_synthetic(**{**SYNTHETIC_SHAPES[key], **kwargs})
    if kwargs:
        raise TypeError(
            f"load_dataset('{key}') takes no extra arguments; {', '.join(sorted(kwargs))} "
            "are only for the 'synthetic' data set."
        )
    info = REGISTRY[key]
    root = _data_root(data_dir)
    try:
        folder = _locate(info, root)
        if folder is None:
            url = _source_url(info)
            if not download:
                incomplete = root / info.name
                reason = "download=False was given, so it was not downloaded"
                if incomplete.is_dir():
                    reason = (f"the folder {incomplete} lacks {', '.join(_missing_files(incomplete, info))}; "
                              "download=False was given, so it was not downloaded")
                raise _not_found_error(info, root, url, reason, tried_download=False)
            try:
                folder = _download(info, root, url)
            except _DownloadFailed as error:
                raise _not_found_error(info, root, url, str(error), tried_download=True) from error
    except DatasetNotFoundError as error:
        if fallback is None:
            raise
        warnings.warn(
            f"\n{'!' * 78}\nload_dataset('{key}'): the real data set is not available ({error.reason}).\n"
            "Returning the SYNTHETIC stand-in instead. Every result computed on it is NOT a "
            f"{key} result: do not report it as one.\n{'!' * 78}\n{error}",
            UserWarning,
            stacklevel=2,
        )
        stand_in = _make_synthetic()
        stand_in.name = f"synthetic (stand-in for {key})"
        return stand_in
    data = info.parser(folder, key, duplicates=duplicates)
    check_published(info, data, folder, partial)
    return data
