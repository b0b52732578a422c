"""Checks that the student notebooks are what the solutions say, and leak nothing.

    python -m course_lib.grading.check [solutions] [notebooks] [--no-execute]

- sync: each ``notebooks/NN.ipynb`` is exactly what ``make student`` generates from
  ``solutions/NN.ipynb``, and neither folder has a notebook the other lacks;
- leaks: no student notebook holds a solution or hidden-test marker, nor any line of solution
  code or hidden tests (lines that also appear outside those regions of the solution notebook,
  such as ``return self``, are shared context and do not count);
- graded cells: every graded test cell that calls a check starts its hidden tests with
  ``checks.assert_passed()`` (in a notebook a check shows its result instead of raising; that line,
  which students never see, turns a shown failure into zero points);
- execution: each student notebook runs top to bottom in a fresh kernel with no error at all (Run
  All reaches the end: a check of an unsolved exercise shows "not done yet" instead of raising).

``make check-notebooks`` runs these through pytest (tests/test_notebooks.py) together with nbval
over the solution notebooks.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from course_lib.grading.generate import student_version

__all__ = ["sync_problems", "leak_problems", "graded_cell_problems", "execute_student_notebook", "solution_lines",
           "with_quick_parameters", "check_outcomes", "MARKERS", "ASSERT_PASSED"]

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
ASSERT_PASSED = "checks.assert_passed()"
_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def sync_problems(solutions: Path, notebooks: Path) -> list[str]:
    """Differences between ``notebooks/`` and what ``make student`` would generate."""
    problems = []
    solution_names = {p.name for p in Path(solutions).glob("*.ipynb")}
    student_names = {p.name for p in Path(notebooks).glob("*.ipynb")}
    for name in sorted(student_names - solution_names):
        problems.append(f"notebooks/{name} has no solution notebook in solutions/ (delete it or add the solution).")
    for name in sorted(solution_names - student_names):
        problems.append(f"notebooks/{name} is missing: run `make student`.")
    for name in sorted(solution_names & student_names):
        expected = nbformat.writes(student_version(nbformat.read(Path(solutions) / name, as_version=4))) + "\n"
        actual = (Path(notebooks) / name).read_text(encoding="utf-8")
        if actual != expected:
            problems.append(f"notebooks/{name} differs from what `make student` generates from solutions/{name} "
                            "(edited by hand, or the solution changed): run `make student`.")
    return problems


def graded_cell_problems(solutions: Path) -> list[str]:
    """Graded test cells that call a check but do not start their hidden tests with ``checks.assert_passed()``."""
    problems = []
    for path in sorted(Path(solutions).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not nbgrader.get("grade") or "checks.check_" not in cell.source:
                continue
            hidden = cell.source.partition("### BEGIN HIDDEN TESTS\n")[2]
            first = next((line.strip() for line in hidden.splitlines() if line.strip()), "")
            if not first.startswith(ASSERT_PASSED):
                problems.append(f"{path.name}, cell {nbgrader.get('grade_id')}: the hidden tests must start with "
                                f"`{ASSERT_PASSED}`, or a stub or a wrong answer that the check shows as failed "
                                "would still get the points.")
    return problems


def check_outcomes(notebook: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    """(cell index, status, exercise) of every check box an executed notebook shows."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html", "")
            match = re.search(r'class="course-check" data-status="([\w-]+)" data-exercise="([^"]*)"', page)
            if match:
                found.append((index, match.group(1), match.group(2)))
    return found


def solution_lines(solution: nbformat.NotebookNode) -> set[str]:
    """The stripped lines that only the solution and hidden-test regions hold."""
    secret, public = set(), set()
    for cell in solution.cells:
        source = cell.source if cell.source.endswith("\n") else cell.source + "\n"
        for match in _REGION.finditer(source):
            secret.update(line.strip() for line in match.group(2).splitlines())
        outside = _REGION.sub("", source)
        public.update(line.strip() for line in outside.splitlines())
    # Blank lines, comments and lines the notebook shows elsewhere are not secrets.
    return {line for line in secret - public if line and not line.startswith("#") and len(line) >= 8}


def leak_problems(solutions: Path, notebooks: Path) -> list[str]:
    """Markers or solution lines found in student notebooks."""
    problems = []
    for student_path in sorted(Path(notebooks).glob("*.ipynb")):
        student = nbformat.read(student_path, as_version=4)
        solution_path = Path(solutions) / student_path.name
        secrets = solution_lines(nbformat.read(solution_path, as_version=4)) if solution_path.exists() else set()
        for index, cell in enumerate(student.cells):
            texts = [cell.source] + [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                                     for o in cell.get("outputs", [])]
            for text in texts:
                for marker in MARKERS:
                    if marker in text:
                        problems.append(f"{student_path}: cell {index} holds the marker {marker!r}.")
                for line in text.splitlines():
                    if line.strip() in secrets:
                        problems.append(f"{student_path}: cell {index} holds a line of the solution: {line.strip()!r}")
    return problems


def with_quick_parameters(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` that runs in quick mode: after the cell tagged ``parameters`` comes a
    cell setting ``QUICK = True`` and the values of ``metadata["course"]["quick_parameters"]``
    (fewer epochs, smaller sweeps). Tests use it to run notebooks fast; accuracy assertions
    that need full training sit under ``if not QUICK:``."""
    notebook = nbformat.from_dict(notebook)
    overrides = dict(notebook.metadata.get("course", {}).get("quick_parameters", {}))
    lines = ["QUICK = True"] + [f"{name} = {value!r}" for name, value in overrides.items()]
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.metadata.get("tags", []):
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(lines)))
            return notebook
    if overrides:
        raise ValueError("The notebook has quick_parameters but no cell tagged `parameters`.")
    return notebook


def execute_student_notebook(path: Path, timeout: int = 600, kernel_name: str | None = None,
                             quick: bool = False) -> nbformat.NotebookNode:
    """Run a student notebook top to bottom; no cell may raise (Run All must reach the end).

    Raises nbclient's ``CellExecutionError`` on the first error. Returns the executed notebook.
    ``quick=True`` runs it with its quick parameters (``with_quick_parameters``).
    """
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if quick:
        notebook = with_quick_parameters(notebook)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel_name or "python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    client.execute()
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check student notebooks against their solutions.")
    parser.add_argument("solutions", type=Path, nargs="?", default=Path("solutions"))
    parser.add_argument("notebooks", type=Path, nargs="?", default=Path("notebooks"))
    parser.add_argument("--no-execute", action="store_true", help="skip running the student notebooks")
    arguments = parser.parse_args(argv)
    problems = sync_problems(arguments.solutions, arguments.notebooks)
    problems += leak_problems(arguments.solutions, arguments.notebooks)
    problems += graded_cell_problems(arguments.solutions)
    if not arguments.no_execute:
        for path in sorted(arguments.notebooks.glob("*.ipynb")):
            try:
                execute_student_notebook(path)
                print(f"{path}: runs to the end")
            except Exception as error:  # noqa: BLE001 - report every notebook
                problems.append(f"{path}: {type(error).__name__}: {str(error).strip().splitlines()[-1][:200]}")
    for problem in problems:
        print(problem)
    print("Student notebooks: OK" if not problems else f"{len(problems)} problem(s).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
