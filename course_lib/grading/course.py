"""Bring nbgrader's course directory up to date with the solution notebooks.

    python -m course_lib.grading.course [solutions] [course]      (what ``make course`` runs)

Copies ``solutions/NN_name.ipynb`` to ``course/source/NN_name/NN_name.ipynb`` (a copy, not a link,
so it works the same on Windows) and runs ``nbgrader generate_assignment NN_name`` for each notebook
whose source changed: the gradebook records its grade cells and ``course/release/NN_name/`` holds
nbgrader's release version, the same notebook as ``notebooks/NN_name.ipynb`` (``make student`` runs
nbgrader's preprocessors in the same order; ``make check-notebooks`` compares the two).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.grading.grade import prepare_course

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Update nbgrader's course directory from the solution notebooks.")
    parser.add_argument("solutions", type=Path, nargs="?", default=Path("solutions"))
    parser.add_argument("course", type=Path, nargs="?", default=Path("course"))
    arguments = parser.parse_args(argv)
    exercises = prepare_course(arguments.solutions, arguments.course)
    for name, exercise in exercises.items():
        print(f"{name}: {len(exercise.cells)} test cells, {sum(exercise.cells.values()):g} points "
              f"(source/{name}/{name}.ipynb, release/{name}/{name}.ipynb)")
    print(f"nbgrader course directory: {arguments.course.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
