"""The package's layout: twin files with identical names, short model files, framework-free modules
that import no framework, and every exported name of a twin module importable where users import it."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_lib"
TWIN_DIRECTORIES = {"torch": PACKAGE / "torch", "tf": PACKAGE / "tf"}
MAX_LINES = 180  # a file a reader can hold (issue 16, item 5)


def _stems(directory: Path) -> set[str]:
    return {path.stem for path in directory.glob("*.py")}


def test_torch_and_tf_hold_files_of_the_same_names():
    only_torch = _stems(TWIN_DIRECTORIES["torch"]) - _stems(TWIN_DIRECTORIES["tf"])
    only_tf = _stems(TWIN_DIRECTORIES["tf"]) - _stems(TWIN_DIRECTORIES["torch"])
    assert not only_torch and not only_tf, f"files without a twin: torch {sorted(only_torch)}, tf {sorted(only_tf)}"


@pytest.mark.parametrize("path", sorted(p for d in TWIN_DIRECTORIES.values() for p in d.glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_twin_files_are_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, (f"course_lib/{path.parent.name}/{path.name} has {lines} lines (at most {MAX_LINES}): "
                                "move what is framework-free to a framework-free module, or split it by what each part is")


def test_framework_free_modules_import_no_framework():
    modules = sorted(f"course_lib.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__")
    assert {"course_lib.ncf_base", "course_lib.sequence_base", "course_lib.training_loop", "course_lib.optim"} <= set(modules)
    code = textwrap.dedent(f"""
        import importlib, sys
        for name in {modules!r}:
            importlib.import_module(name)
        print("LOADED:" + ",".join(m for m in ("torch", "tensorflow", "keras") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED:", f"a framework-free module imports a framework: {result.stdout}"


@pytest.mark.parametrize("framework, package", [("torch", "torch"), ("tf", "tensorflow")])
def test_every_exported_name_resolves(framework, package):
    """A class or function that moved to another file stays importable where users import it
    (``from course_lib.torch.training import make_optimizer``, ``course_lib.tf.sequence.SelfAttentionNet``)."""
    pytest.importorskip(package)
    for stem in sorted(_stems(TWIN_DIRECTORIES[framework]) - {"__init__"}):
        module = importlib.import_module(f"course_lib.{framework}.{stem}")
        missing = [name for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
        assert not missing, f"course_lib.{framework}.{stem}.__all__ names what it lacks: {missing}"


def test_moved_names_are_the_same_objects_at_their_old_paths():
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    old_and_new = [("torch.training", "torch.optimizers", "make_optimizer"),
                   ("torch.training", "torch.layers", "SeededDropout"),
                   ("torch.training", "torch.layers", "default_init"),
                   ("torch.sequence", "torch.attention", "SelfAttentionNet"),
                   ("tf.training", "tf.optimizers", "TorchAdam"),
                   ("tf.training", "tf.layers", "dense_weights"),
                   ("tf.sequence", "tf.attention", "causal_mask")]
    for old, new, name in old_and_new:
        moved = getattr(importlib.import_module(f"course_lib.{new}"), name)
        assert getattr(importlib.import_module(f"course_lib.{old}"), name) is moved, f"course_lib.{old}.{name}"
