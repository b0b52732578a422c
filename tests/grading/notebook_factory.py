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


def reference_notebook():
    """A source notebook whose hidden tests compare with live ``course_lib`` objects (what a student
    could try to replace), with two exercises."""
    cells = [
        new_markdown_cell("# Exercises checked against the library"),
        new_code_cell("import numpy as np\nimport course_lib\nfrom course_lib import metrics\n"
                      "from course_lib.baselines import Popularity\n"
                      "data = course_lib.make_synthetic(n_users=30, n_items=40, mean_per_user=25, seed=1)"),
        new_code_cell(
            "def recall(ranked, relevant, k):\n    ### BEGIN SOLUTION\n"
            "    return len(set(list(ranked)[:k]) & set(relevant)) / len(relevant)\n    ### END SOLUTION\n",
            metadata=_meta(solution=True, grade_id="ref_recall"),
        ),
        new_code_cell(
            "assert recall([1, 2], {1}, 1) == 1.0\n### BEGIN HIDDEN TESTS\n"
            "hidden_rng = np.random.default_rng(0)\nfor _ in range(20):\n"
            "    hidden_list = hidden_rng.permutation(10)[:5].tolist()\n"
            "    hidden_relevant = set(hidden_rng.choice(10, size=3, replace=False).tolist())\n"
            "    assert np.isclose(recall(hidden_list, hidden_relevant, 3), "
            "metrics.recall_at_k(hidden_list, hidden_relevant, 3))\n### END HIDDEN TESTS\n",
            metadata=_meta(grade=True, locked=True, points=2, grade_id="ref_recall_tests"),
        ),
        new_code_cell(
            "def popularity_scores(interactions):\n    ### BEGIN SOLUTION\n"
            "    return np.bincount(interactions.items, minlength=interactions.n_items).astype(float)\n"
            "    ### END SOLUTION\n",
            metadata=_meta(solution=True, grade_id="ref_popularity"),
        ),
        new_code_cell(
            "### BEGIN HIDDEN TESTS\nhidden_mine = popularity_scores(data)\n"
            "hidden_theirs = Popularity().fit(data).score(np.array([0]))[0]\n"
            "assert np.array_equal(np.argsort(-hidden_mine, kind='stable'), np.argsort(-hidden_theirs, kind='stable'))\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta(grade=True, locked=True, points=1, grade_id="ref_popularity_tests"),
        ),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


CHECKED_SOLUTION = ("    hits = sum(1 for item in recommended[:k] if item in relevant)\n"
                    "    return hits / len(relevant) if relevant else 0.0")


def checked_notebook():
    """A source notebook graded only by a real check of ``course_lib.checks`` and its hidden
    ``checks.assert_passed()``: nothing else in the hidden tests calls the student's function."""
    cells = [
        new_markdown_cell("# An exercise graded by its check"),
        new_code_cell("from course_lib import checks"),
        new_code_cell(
            "def recall_at_k(recommended, relevant, k):\n    ### BEGIN SOLUTION\n"
            f"{CHECKED_SOLUTION}\n    ### END SOLUTION\n",
            metadata=_meta(solution=True, grade_id="checked_recall"),
        ),
        new_code_cell(
            "checks.check_recall_at_k(recall_at_k)\n### BEGIN HIDDEN TESTS\nchecks.assert_passed()\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta(grade=True, locked=True, points=2, grade_id="checked_recall_tests"),
        ),
        new_code_cell("print('the end of the notebook')"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})
