"""What of a student's notebook the grader runs, and which of its cells is which exercise's.

The grader never re-runs a notebook: each answer is a function or class, so it runs only the
**definitions** of the student's code cells (``definitions``): top-level imports, ``def``,
``class``, and assignments of literal values (``SEED = 42``, ``HIDDEN = (64, 32)``), in the
notebook's order, each cell on its own. Training loops, plots and prints are not run.

``match_cells`` finds the course's graded cells in a submission: by nbgrader's ``grade_id``, then
(where a front end such as Colab or VS Code dropped the cell metadata) by the cell's ``id``, then by
the locked source of the cell (its visible check), and reports how each was found.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Definitions", "definitions", "match_cells", "Match", "find_notebooks"]

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Definitions:
    """The runnable definitions of one code cell: ``index`` in the notebook, ``source`` (Python), and
    ``problem`` (a syntax error that keeps the cell from running, in words) or ``None``."""

    index: int
    source: str
    problem: str | None = None


def _python(source: str) -> str:
    """IPython syntax (``%magic``, ``!shell``, ``x?``) as the Python it stands for."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept(statement: ast.stmt) -> bool:
    if isinstance(statement, _KEPT):
        return True
    if isinstance(statement, ast.Assign):
        return all(isinstance(target, ast.Name) for target in statement.targets) and _literal(statement.value)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.value is not None and _literal(statement.value)
    if isinstance(statement, (ast.Try, ast.If)):          # `try: import x / except ImportError: ...`
        bodies = [statement.body, statement.orelse] + [h.body for h in getattr(statement, "handlers", [])]
        inner = [s for body in bodies for s in body]
        return bool(inner) and all(_kept(s) or isinstance(s, ast.Pass) for s in inner) and (
            isinstance(statement, ast.Try) or _literal(statement.test))
    return False


def definitions(notebook: nbformat.NotebookNode, skip: set[int] = frozenset()) -> list[Definitions]:
    """The definitions of every code cell of ``notebook`` (but the cells in ``skip``), in order."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or index in skip:
            continue
        text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        try:
            tree = ast.parse(_python(text))
        except SyntaxError as error:
            found.append(Definitions(index, "", f"a syntax error on line {error.lineno} of cell {index}: {error.msg}"))
            continue
        except Exception as error:  # noqa: BLE001 - IPython's transformer on text it cannot read
            found.append(Definitions(index, "", f"cell {index} could not be read ({type(error).__name__}: {error})"))
            continue
        kept = [statement for statement in tree.body if _kept(statement)]
        if kept:
            found.append(Definitions(index, ast.unparse(ast.Module(body=kept, type_ignores=[]))))
    return found


# --------------------------------------------------------------------------- matching the graded cells

@dataclass
class Match:
    grade_id: str
    index: int | None      # the cell's position in the submission, None when it is not there
    how: str               # "grade id", "cell id", "its source", or "missing"


def _text(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines[0] if lines else ""


def match_cells(submission: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[Match]:
    """Where each graded cell of ``release`` (the notebook the students got) is in ``submission``."""
    wanted = [(cell, cell.metadata["nbgrader"]["grade_id"]) for cell in release.cells
              if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"]
    by_grade, by_id, by_source = {}, {}, {}
    for index, cell in enumerate(submission.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and grade_id not in by_grade:
            by_grade[grade_id] = index
        if cell.get("id") and cell["id"] not in by_id:
            by_id[cell["id"]] = index
        if cell.cell_type == "code":
            by_source.setdefault(_first_line(_text(cell)), []).append(index)
    matches, used = [], set()
    for cell, grade_id in wanted:
        index, how = by_grade.get(grade_id), "grade id"
        if index is None and cell.get("id") in by_id and by_id[cell["id"]] not in used:
            index, how = by_id[cell["id"]], "cell id"
        if index is None:
            line = _first_line(_text(cell))
            spare = [i for i in by_source.get(line, []) if i not in used] if line else []
            if spare:
                index, how = spare[0], "its source"
        if index is None:
            how = "missing"
        else:
            used.add(index)
        matches.append(Match(grade_id, index, how))
    return matches


# --------------------------------------------------------------------------- finding a student's notebooks

def _normal(name: str) -> str:
    name = re.sub(r"\s*\(\d+\)$", "", name.lower())              # "x (1)" from browsers and LMSs
    name = re.sub(r"[-_ ]*(copy|kopie|final|v\d+)$", "", name)
    return re.sub(r"[^a-z0-9]+", "", name)


def find_notebooks(folder: Path, exercises: dict) -> tuple[dict[str, Path], dict[str, str]]:
    """Which file of a student's folder is which course notebook.

    A notebook holding grade ids of a course notebook is that notebook, whatever its name; a file
    that holds none (or cannot be read) is matched on its name, ignoring case, punctuation and
    suffixes such as `` (1)`` or ``-copy``. Two candidates: the newest file wins. Returns the
    matches and a note per notebook explaining a match that was not exact."""
    candidates: dict[str, list[tuple[Path, str]]] = {}
    files = [p for p in sorted(Path(folder).rglob("*.ipynb"))
             if not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    for path in files:
        matched = None
        try:
            text = path.read_text(encoding="utf-8")
            overlap = {name: sum(f'"{grade_id}"' in text for grade_id in exercise.ids)
                       for name, exercise in exercises.items()}
            best = max(overlap, key=overlap.get)
            if overlap[best] > 0:
                matched, how = best, "its grade cells"
        except (OSError, UnicodeDecodeError):
            pass
        if matched is None:
            normal = {_normal(name): name for name in exercises}
            key = _normal(path.stem)
            close = difflib.get_close_matches(key, list(normal), n=1, cutoff=0.85)
            if key in normal:
                matched, how = normal[key], "its name"
            elif close:
                matched, how = normal[close[0]], "a close name"
        if matched is not None:
            candidates.setdefault(matched, []).append((path, how))
    chosen, notes = {}, {}
    for name, found in candidates.items():
        found.sort(key=lambda item: (item[0].stat().st_mtime, str(item[0])), reverse=True)
        path, how = found[0]
        chosen[name] = path
        relative = path.relative_to(folder).as_posix()
        if relative != f"{name}.ipynb":
            notes[name] = f"graded {relative!r} (matched by {how})"
        if len(found) > 1:
            others = ", ".join(repr(p.relative_to(folder).as_posix()) for p, _ in found[1:])
            notes[name] = f"graded {relative!r}, the newest of {len(found)} files for this notebook (also {others})"
    return chosen, notes
