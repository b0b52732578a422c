"""Every hint names what the exercise asks the student to write.

A check's messages start with an exercise name (``vectorized_triplets: ...``): the name of the
function or class the exercise cell defines, so that a student reads the name they wrote. For every
exercise cell of every solution notebook (nbgrader ``solution: true``), the names it defines are
collected, and the check cell after it (the visible part of the next graded cell) is read for its
``checks.check_*(Name, ...)`` calls. Each call must pass one of those names, and the check, given a
stub of that name that raises, must say so under that name; in its own source every name it gives
its messages must be that one too.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

import course_lib
from course_lib import checks, sequences
from tests.checks._hints import hint_of

SOLUTIONS = sorted((Path(__file__).resolve().parents[2] / "solutions").glob("*.ipynb"))
HIDDEN = "### BEGIN HIDDEN TESTS"


def _exercises() -> list[tuple[str, str, str, bool, set[str]]]:
    """(notebook, check, name passed, whether it is a class, names the exercise cell defines)."""
    found = []
    for path in SOLUTIONS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] != "code" or not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                continue
            tree = ast.parse("".join(cell["source"]))
            defined = {node.name: isinstance(node, ast.ClassDef) for node in tree.body
                       if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
            graded = next(c for c in cells[index + 1:] if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
            visible = "".join(graded["source"]).split(HIDDEN)[0]
            calls = [node for node in ast.walk(ast.parse(visible)) if isinstance(node, ast.Call)
                     and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("check_")]
            assert calls, f"{path.name}: the cell after the exercise defining {sorted(defined)} calls no check"
            for call in calls:
                passed = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
                found.append((path.stem, call.func.attr, passed, defined.get(passed, False), set(defined)))
    return found


EXERCISES = _exercises()


def test_every_exercise_has_a_check():
    assert len(EXERCISES) >= 20, EXERCISES


@pytest.mark.parametrize("notebook, check, name, is_class, defined", EXERCISES,
                         ids=[f"{e[0][:2]}-{e[2]}" for e in EXERCISES])
def test_the_check_is_given_what_the_exercise_defines(notebook, check, name, is_class, defined):
    assert name in defined, f"{notebook}: {check} is given {name!r}, but the exercise cell defines {sorted(defined)}"


def _stub(name: str, is_class: bool):
    def raises(*args, **kwargs):
        raise ValueError("the stub of a test")

    if is_class:
        return type(name, (), {"__init__": raises, "fit": raises, "score": raises, "forward": raises})
    raises.__name__ = raises.__qualname__ = name
    return raises


def _extra_arguments(check: str) -> tuple:
    """What the challenge checks take besides the class: a small train and test split."""
    data = course_lib.make_synthetic(n_users=60, n_items=40, mean_per_user=10, min_per_user=3, seed=1)
    if check == "check_top_k_challenge":
        return course_lib.random_split(data, test_fraction=0.2, seed=1)
    if check == "check_next_item_challenge":
        return sequences.sequence_split(data, max_length=5, test_fraction=0.2, seed=1)
    return ()


@pytest.mark.parametrize("notebook, check, name, is_class, defined", EXERCISES,
                         ids=[f"{e[0][:2]}-{e[2]}" for e in EXERCISES])
def test_the_hint_names_the_exercise(notebook, check, name, is_class, defined):
    stub, extra = _stub(name, is_class), _extra_arguments(check)
    try:
        message = hint_of(check, stub) if not extra else _hint_with(check, stub, extra)
    except ModuleNotFoundError as missing:   # a PyTorch exercise where torch is not installed (colab-check)
        pytest.skip(f"{check} needs {missing.name}")
    assert message is not None, f"{check} accepted a stub that raises"
    assert message.startswith(f"{name}: "), (f"{notebook} asks for {name}, but {check} says: {message[:120]}")


def _hint_with(check: str, stub, extra: tuple) -> str | None:
    try:
        getattr(checks, check)(stub, *extra)
    except checks.ExerciseHint as hint:
        return str(hint)
    return None


_MESSAGE_HELPERS = ("_fail", "_call", "_expect_array", "_expect_number", "_expect_tensor", "_as_float",
                    "_check_rng_use", "_check_speed", "_top_k_ndcg", "_challenge_mrr")


@pytest.mark.parametrize("notebook, check, name, is_class, defined", EXERCISES,
                         ids=[f"{e[0][:2]}-{e[2]}" for e in EXERCISES])
def test_the_check_source_gives_its_messages_that_name(notebook, check, name, is_class, defined):
    function = inspect.unwrap(getattr(checks, check))
    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(function)))
    names = {node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "name" for t in node.targets)
             and isinstance(node.value, ast.Constant)}
    names |= {node.args[0].value for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Name) and node.func.id in _MESSAGE_HELPERS
              and node.args and isinstance(node.args[0], ast.Constant)}
    assert names == {name}, f"{notebook} asks for {name}, but {check} names its messages {sorted(names)}"
