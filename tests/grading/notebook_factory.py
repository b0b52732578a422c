"""A small nbgrader source notebook with every kind of cell, for the grading tests."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def _meta(**fields):
    return {"nbgrader": {"schema_version": 3, "task": False, "locked": False, "solution": False,
                         "grade": False, **fields}}


SOLUTION_BODY = "    return sorted(values)[-1] * 2"
HIDDEN_LINE = "assert double_max([-5, -2]) == -4"


def solution_notebook():
    cells = [
        new_markdown_cell("# Tiny exercise\nA markdown cell."),
        new_code_cell("import numpy as np\nHELPER = 3", outputs=[new_output("stream", name="stdout", text="noise\n")],
                      execution_count=1),
        new_code_cell(
            "def double_max(values):\n    \"\"\"Twice the largest value.\"\"\"\n    ### BEGIN SOLUTION\n"
            f"{SOLUTION_BODY}\n    ### END SOLUTION\n",
            metadata=_meta(solution=True, grade_id="double_max"),
        ),
        new_code_cell(
            "assert double_max([1, 2, 3]) == 6\nprint('double_max: checks passed.')\n"
            f"### BEGIN HIDDEN TESTS\n{HIDDEN_LINE}\n### END HIDDEN TESTS\n",
            metadata=_meta(grade=True, locked=True, points=2, grade_id="double_max_tests"),
            outputs=[new_output("stream", name="stdout", text="double_max: checks passed.\n")],
            execution_count=2,
        ),
        new_markdown_cell("Explain in one sentence.\n\n=== BEGIN MARK SCHEME ===\nAny answer.\n=== END MARK SCHEME ===",
                          metadata=_meta(grade=True, solution=True, points=1, grade_id="explain")),
        new_markdown_cell("A read-only cell.", metadata=_meta(locked=True, grade_id="read_only")),
        new_code_cell(
            "def halve(value):\n    ### BEGIN SOLUTION\n    return value / 2\n    ### END SOLUTION\n",
            metadata=_meta(solution=True, grade_id="halve"),
        ),
        new_code_cell("assert halve(8) == 4\n### BEGIN HIDDEN TESTS\nassert halve(-2) == -1\n### END HIDDEN TESTS\n",
                      metadata=_meta(grade=True, locked=True, points=1, grade_id="halve_tests")),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"},
                                               "widgets": {"state": {}}})
