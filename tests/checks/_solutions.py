"""The reference answers of the exercises, read from the solution notebooks themselves.

``solution("01_mlp_basics", "sample_negatives")`` runs the notebook's solution cells (the cells
tagged as nbgrader solutions) in a fresh namespace with the imports the notebooks make, and
returns the named function or class: the tests check the checks against the very code the
notebook ships, not a copy.
"""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


@functools.cache
def _namespace(notebook: str) -> dict:
    import numpy as np

    namespace: dict = {"np": np}
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812
        from torch import nn

        namespace.update(torch=torch, nn=nn, F=F)
    except ImportError:
        pass
    path = SOLUTIONS / f"{notebook}.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, f"{path.name}:{cell.get('id')}", "exec"), namespace)  # noqa: S102
    return namespace


def solution(notebook: str, name: str):
    return _namespace(notebook)[name]


def solution_lines(notebook: str) -> set[str]:
    from course_lib.grading.check import solution_lines as lines

    return lines(nbformat.read(SOLUTIONS / f"{notebook}.ipynb", as_version=4))
