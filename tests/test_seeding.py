"""seed_everything: repeatable random streams, argument checks, and a framework-free import."""
# The legacy global NumPy API (np.random.rand ...) is what seed_everything seeds, so it is used here on purpose.
# ruff: noqa: NPY002

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from course_lib.seeding import current_seed, seed_everything


@pytest.fixture(autouse=True)
def _restore_hash_seed(monkeypatch):
    # seed_everything sets PYTHONHASHSEED; let monkeypatch put the old value back afterwards
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)


def _draw() -> tuple:
    return (
        [random.random() for _ in range(3)],
        random.randint(0, 10**9),
        np.random.rand(4).tolist(),
        np.random.randint(0, 10**9, size=3).tolist(),
        np.random.permutation(10).tolist(),
    )


def test_python_and_numpy_are_repeatable():
    assert seed_everything(123) == 123
    first = _draw()
    assert seed_everything(123) == 123
    second = _draw()
    assert first == second
    seed_everything(124)
    assert _draw() != first
    assert current_seed() == 124


def test_numpy_integer_seed_and_deterministic_flag():
    assert seed_everything(np.int64(7), deterministic=False) == 7
    assert isinstance(seed_everything(np.uint32(7), deterministic=False), int)
    a = np.random.rand(3)
    seed_everything(7, deterministic=False)
    np.testing.assert_array_equal(np.random.rand(3), a)


@pytest.mark.parametrize("seed", [-1, 2**32, "3", True, 3.0, None])
def test_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(seed)


def test_extreme_valid_seeds():
    assert seed_everything(0) == 0
    assert seed_everything(2**32 - 1) == 2**32 - 1


def test_torch_is_repeatable():
    torch = pytest.importorskip("torch")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        seed_everything(5)
        first = (torch.rand(4), torch.randn(2, 3), torch.randint(0, 100, (5,)), np.random.rand(2))
        seed_everything(5)
        second = (torch.rand(4), torch.randn(2, 3), torch.randint(0, 100, (5,)), np.random.rand(2))
        for a, b in zip(first[:3], second[:3], strict=True):
            assert torch.equal(a, b)
        np.testing.assert_array_equal(first[3], second[3])
        seed_everything(6)
        assert not torch.equal(torch.rand(4), first[0])
    finally:
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)


def test_tensorflow_is_repeatable():
    tf = pytest.importorskip("tensorflow")
    # deterministic=False: enable_op_determinism cannot be undone and would leak into other tests
    seed_everything(9, deterministic=False)
    first = tf.random.uniform((5,)).numpy()
    first_normal = tf.random.normal((2, 2)).numpy()
    seed_everything(9, deterministic=False)
    np.testing.assert_array_equal(tf.random.uniform((5,)).numpy(), first)
    np.testing.assert_array_equal(tf.random.normal((2, 2)).numpy(), first_normal)
    seed_everything(10, deterministic=False)
    assert not np.array_equal(tf.random.uniform((5,)).numpy(), first)


def test_import_course_lib_imports_no_framework():
    code = textwrap.dedent("""
        import sys
        import course_lib
        course_lib.Interactions
        course_lib.evaluate
        course_lib.metrics
        course_lib.seed_everything(1)
        loaded = sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules)
        print("LOADED:" + ",".join(loaded))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED:"
