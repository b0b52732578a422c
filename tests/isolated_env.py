"""A fresh venv that sees this environment's packages but not course_lib, and the course wheel.

``isolated_venv(tmp, exclude=...)`` makes a venv (no pip of its own) whose site-packages holds a
``.pth`` line pointing at a *view* of the current site-packages: a folder of symlinks to every entry
except course_lib (its package, dist-info and editable hooks) and the distributions named in
``exclude``. Installing into that venv never touches the current environment, nothing is downloaded,
and ``import course_lib`` fails there until something installs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_COURSE = re.compile(r"^(course_lib|__editable__[._]course_lib|course_lib-[^/]*\.(dist|egg)-info)", re.IGNORECASE)


def _distribution_entries(site: Path, name: str) -> set[str]:
    """The top-level names a distribution owns in ``site`` (its dist-info and its RECORD's roots)."""
    normalized = re.sub(r"[-_.]+", "_", name).lower()
    owned = set()
    for info in site.glob("*.dist-info"):
        if re.sub(r"[-_.]+", "_", info.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower() == normalized:
            owned.add(info.name)
            record = info / "RECORD"
            if record.exists():
                for line in record.read_text().splitlines():
                    top = line.split(",", 1)[0].split("/", 1)[0]
                    if top and not top.startswith(".."):
                        owned.add(top)
    if not owned:
        raise LookupError(f"{name} is not installed in {site}")
    return owned


def isolated_venv(tmp: Path, exclude: tuple[str, ...] = ()) -> Path:
    """Create the venv in ``tmp / 'venv'``; returns its python."""
    site = Path(sysconfig.get_paths()["purelib"])
    skipped = set()
    for name in exclude:
        skipped |= _distribution_entries(site, name)
    view = tmp / "site-view"
    view.mkdir(parents=True)
    for entry in site.iterdir():
        if _COURSE.match(entry.name) or entry.name in skipped or entry.suffix == ".pth" or entry.name == "__pycache__":
            continue
        (view / entry.name).symlink_to(entry)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    (target / "zz_site_view.pth").write_text(f"{view}\n")
    return python


def build_wheel(out: Path) -> Path:
    """The course's wheel, built from this checkout without network (no build isolation)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, cwd=out)
    wheels = sorted(out.glob("course_lib-*.whl"))
    assert len(wheels) == 1, f"expected one course_lib wheel in {out}, found {wheels}"
    return wheels[0]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for the isolated venv: no PYTHONPATH, no pip index (nothing is downloaded)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    env.update(extra)
    return env
