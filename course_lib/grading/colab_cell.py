"""The Colab setup cell that opens every notebook, and the README's "Open in Colab" badges.

The course's source address is written once, as ``Source`` under ``[project.urls]`` in
pyproject.toml. ``make student`` (``python -m course_lib.grading.generate``) stamps it into the
first cell of every solution and student notebook and into the README's badges.

The cell does nothing outside Colab, and says so in its first line, which is all a student sees of it:
Colab shows that line as the title of a form (``cellView: form``) and JupyterLab shows it in place of
the folded source (``jupyter.source_hidden``). On Colab, when ``course_lib`` is not importable, it runs
``pip install --no-deps <address>`` (course_lib alone: Colab's torch, TensorFlow, Keras, numpy,
pandas and Jupyter packages are never touched), then ``python -m course_lib.colab``, which
installs only the requirements that are missing, under constraints that pin every installed
distribution (see course_lib/colab.py for why this rather than a plain install).
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["SETUP_CELL_ID", "SETUP_CELL_METADATA", "course_address", "install_spec", "pip_command",
           "setup_cell_source", "stamp_setup_cell", "colab_badges", "stamp_readme", "KERNELSPEC"]

SETUP_CELL_ID = "colab-setup"
# The first line: Colab shows it as the cell's title (the code folded away, `cellView: form`);
# JupyterLab shows it in place of the folded source (`jupyter.source_hidden`).
TITLE = "# @title Google Colab only: installs course_lib there. Does nothing anywhere else."
# Folded in JupyterLab and shown as a form (its title only) on Colab; the tag marks it for nbgrader and tools.
SETUP_CELL_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": [SETUP_CELL_ID]}
# `python3` is the kernel Colab runs (no "unknown runtime" warning). Elsewhere Jupyter resolves it
# to the environment it runs from: .venv under `make lab`, the current interpreter under nbval
# (--nbval-current-env) and under grading (course-grade runs nbgrader from the course venv).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Printed on Colab, only by a cell stamped while pyproject.toml had no address.
NO_ADDRESS = ("course_lib is not installed and this copy of the notebook has no address to install it from "
              "(the course's pyproject.toml sets none): ask your instructor for the course's Colab link.")
_BADGES = re.compile(r"(<!-- colab-badges:start -->\n)(.*?)(<!-- colab-badges:end -->)", re.DOTALL)
_GITHUB = re.compile(r"^https?://github\.com/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?/?$")


def course_address(pyproject: Path) -> str | None:
    """``[project.urls] Source`` of ``pyproject`` (None when unset or empty)."""
    project = tomllib.loads(Path(pyproject).read_text(encoding="utf-8")).get("project", {})
    address = str(project.get("urls", {}).get("Source", "")).strip()
    return address or None


def install_spec(address: str | None) -> str:
    """What pip installs: a repository page becomes ``git+<url>``; a wheel, an archive, a
    ``git+`` URL or a local path is used as it is."""
    if not address:
        return ""
    if address.startswith(("git+", "file:")) or address.endswith((".whl", ".zip", ".tar.gz")):
        return address
    if re.match(r"^https?://", address):
        return "git+" + address.rstrip("/")
    return address  # a local folder or file


def pip_command(address: str | None) -> list[str]:
    """The setup cell's first command, after ``sys.executable``: course_lib alone (``--no-deps``)."""
    return ["-m", "pip", "install", "-q", "--no-deps", install_spec(address)]


def setup_cell_source(address: str | None) -> str:
    """The cell: on Colab, when course_lib is not importable, ``pip install --no-deps <address>`` then
    ``python -m course_lib.colab`` (only the missing requirements); elsewhere nothing. Without an
    address it prints NO_ADDRESS on Colab instead."""
    condition = 'if "google.colab" in sys.modules and importlib.util.find_spec("course_lib") is None:'
    if not install_spec(address):
        return "\n".join([TITLE, "import importlib.util", "import sys", "", condition, f"    print({NO_ADDRESS!r})"])
    pip = ", ".join(["sys.executable", *(json.dumps(part) for part in pip_command(address))])
    return "\n".join([
        TITLE,
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        condition,
        f"    subprocess.run([{pip}], check=True)",
        '    subprocess.run([sys.executable, "-m", "course_lib.colab"], check=True)  # only what Colab lacks',
        "    importlib.invalidate_caches()",
    ])


def stamp_setup_cell(notebook: nbformat.NotebookNode, address: str | None) -> nbformat.NotebookNode:
    """``notebook`` (modified in place) with the setup cell first and the ``python3`` kernelspec."""
    import nbformat  # here, not at the top: tasks.py's colab-check imports this module without nbformat

    source = setup_cell_source(address)
    cells = notebook.cells
    if cells and cells[0].get("id") == SETUP_CELL_ID:
        cell = cells[0]
        if cell.source != source:
            cell.source, cell.outputs, cell.execution_count = source, [], None
    else:
        if any(c.get("id") == SETUP_CELL_ID for c in cells):
            raise ValueError(f"The cell with id {SETUP_CELL_ID!r} must be the first one.")
        cell = nbformat.v4.new_code_cell(source)
        cell.id = SETUP_CELL_ID
        cells.insert(0, cell)
    # Never graded, never part of an exercise: no nbgrader metadata. The timestamps that executing
    # the notebook records stay, so stamping an executed solution changes nothing.
    kept = {"execution": cell.metadata["execution"]} if "execution" in cell.metadata else {}
    cell.metadata = nbformat.from_dict({**kept, **copy.deepcopy(SETUP_CELL_METADATA)})
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.nbformat_minor = max(notebook.get("nbformat_minor", 5), 5)  # cell ids
    return notebook


def colab_badges(address: str | None, names: list[str], branch: str = "main") -> str:
    """The README lines between the colab-badges markers."""
    match = _GITHUB.match(address or "")
    if not match:
        reason = ("No course address is set" if not address else f"The course address {address} is not a GitHub "
                  "repository page, which is what Colab opens notebooks from")
        return (f"{reason}: set `Source` under `[project.urls]` in pyproject.toml to the course's GitHub "
                "repository and run `make student` to get an \"Open in Colab\" link for each notebook here.\n")
    base = f"https://colab.research.google.com/github/{match['owner']}/{match['repo']}/blob/{branch}/notebooks"
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return "".join(f"- [![Open In Colab]({badge})]({base}/{name}) `{name}`\n" for name in names)


def stamp_readme(readme: Path, address: str | None, names: list[str]) -> bool:
    """Rewrite the badge block of ``readme``; True when the file changed."""
    text = Path(readme).read_text(encoding="utf-8")
    if not _BADGES.search(text):
        raise ValueError(f"{readme} has no '<!-- colab-badges:start -->' ... '<!-- colab-badges:end -->' block.")
    updated = _BADGES.sub(lambda m: m.group(1) + colab_badges(address, names) + m.group(3), text, count=1)
    if updated == text:
        return False
    Path(readme).write_text(updated, encoding="utf-8")
    return True
