"""Generate the student notebooks in ``notebooks/`` from the solution notebooks in ``solutions/``.

    python -m course_lib.grading.generate solutions notebooks     (what ``make student`` runs)

Uses nbgrader's own preprocessors, in the order of ``nbgrader generate_assignment``: solution
regions become ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, hidden tests and outputs
are removed, checksums are recomputed. The gradebook step (SaveCells) is left to the grading
run. Output is written atomically and only when it changes, so running twice changes nothing.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

__all__ = ["student_version", "generate", "stamp_solutions", "write_if_changed", "write_text_atomically", "KERNELSPEC"]

from course_lib.grading.colab_cell import KERNELSPEC, course_address, stamp_readme, stamp_setup_cell

# Notebook-level metadata kept in the student copy; everything else (widgets state, execution
# timestamps, editor settings) is dropped so the file only changes when the content does.
_KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info", "course")  # course: quick_parameters
# jupyter (source_hidden) and cellView (Colab's form view): the setup cell stays folded in the student copy.
_KEPT_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable", "jupyter", "cellView")


def _language_info(solution: nbformat.NotebookNode) -> dict:
    """The solution's ``language_info``: all of what ipykernel reported when the solutions were executed
    (name, version, mimetype, codemirror_mode, ...), not just ``{"name": "python"}``.

    JupyterLab writes the kernel's ``language_info`` into a notebook's metadata as soon as the kernel
    starts, and marks the notebook modified unless the value is already there, equal key for key. With
    the name alone, an untouched student notebook was "modified" on open: closing it asked to save, and
    autosave rewrote the file (``git status`` dirty). With the full value of the course's Python (the
    one the solutions ran under) it opens clean there; another Python version still differs in
    ``version``. Taken from the solution, not from the Python running this, so ``make student`` writes
    the same files on every machine."""
    info = solution.metadata.get("language_info") or {}
    return copy.deepcopy(dict(info)) if info.get("name") else {"name": "python"}


def _pipeline():
    return [
        LockCells(),
        ClearSolutions(),
        ClearOutput(),
        CheckCellMetadata(),
        ComputeChecksums(),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ComputeChecksums(),
        CheckCellMetadata(),
    ]


def student_version(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook for one solution notebook (the input is not modified)."""
    notebook = copy.deepcopy(solution)
    resources: dict = {"language": "python", "nbgrader": {"notebook": "", "assignment": ""}}
    for preprocessor in _pipeline():
        notebook, resources = preprocessor.preprocess(notebook, resources)
    notebook.metadata = nbformat.NotebookNode(
        {key: notebook.metadata[key] for key in _KEPT_NOTEBOOK_METADATA if key in notebook.metadata}
    )
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = _language_info(solution)
    for cell in notebook.cells:
        cell.metadata = nbformat.NotebookNode(
            {key: cell.metadata[key] for key in _KEPT_CELL_METADATA if key in cell.metadata}
        )
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
    nbformat.validate(notebook)
    return notebook


def write_if_changed(notebook: nbformat.NotebookNode, path: Path) -> bool:
    """Write ``notebook`` to ``path`` atomically, unless the file already holds exactly this."""
    text = nbformat.writes(notebook) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, text)
    return True


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder: readers see the old
    file or the new one, never half of it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def generate(solutions: Path, notebooks: Path) -> list[Path]:
    """Regenerate every ``notebooks/NN_*.ipynb`` from ``solutions/``; returns the files written."""
    sources = sorted(Path(solutions).glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"No solution notebooks (*.ipynb) in {solutions}.")
    written = []
    for source in sources:
        student = student_version(nbformat.read(source, as_version=4))
        target = Path(notebooks) / source.name
        if write_if_changed(student, target):
            written.append(target)
    return written


def stamp_solutions(solutions: Path, address: str | None) -> list[Path]:
    """Put the Colab setup cell (with ``address``) first in every solution notebook and give it the
    ``python3`` kernelspec; returns the files written. Outputs of the other cells are kept."""
    written = []
    for path in sorted(Path(solutions).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        stamp_setup_cell(notebook, address)
        if write_if_changed(notebook, path):
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate student notebooks from solution notebooks.")
    parser.add_argument("solutions", type=Path, nargs="?", default=Path("solutions"))
    parser.add_argument("notebooks", type=Path, nargs="?", default=Path("notebooks"))
    parser.add_argument("--pyproject", type=Path, default=None,
                        help="where [project.urls] Source is read (default: pyproject.toml beside solutions/)")
    parser.add_argument("--readme", type=Path, default=None,
                        help="README whose Colab badges are stamped (default: README.md beside solutions/)")
    arguments = parser.parse_args(argv)
    root = arguments.solutions.resolve().parent
    pyproject = arguments.pyproject or root / "pyproject.toml"
    address = course_address(pyproject) if pyproject.exists() else None
    written = stamp_solutions(arguments.solutions, address)
    written += generate(arguments.solutions, arguments.notebooks)
    readme = arguments.readme or root / "README.md"
    if readme.exists() and stamp_readme(readme, address, sorted(p.name for p in arguments.notebooks.glob("*.ipynb"))):
        written.append(readme)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) changed." if written else "Notebooks and README already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
