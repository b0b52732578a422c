"""Namespaces built the way the grader builds them: the definitions of a notebook's code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat

from course_lib.grading.submission import definitions

ROOT = Path(__file__).resolve().parents[2]


def namespace_of(notebook: str, folder: str = "solutions", replace: dict[str, str] | None = None) -> dict:
    """Run the definitions of ``folder/notebook.ipynb`` (a solution by default) in a fresh namespace;
    ``replace`` maps a name to the source of a wrong answer run after them (a student's mistake)."""
    book = nbformat.read(ROOT / folder / f"{notebook}.ipynb", as_version=4)
    namespace: dict = {"__name__": "__main__"}
    for found in definitions(book):
        exec(compile(found.source, f"<cell {found.index}>", "exec"), namespace)  # noqa: S102 - our own notebooks
    for source in (replace or {}).values():
        exec(compile(source, "<answer>", "exec"), namespace)  # noqa: S102
    return namespace
