"""The wheel stands alone: built from the checkout, it holds course_lib with its LICENSE and
py.typed, and installed into a fresh venv (without the repository on the path) it loads the
synthetic data set, splits it, fits Popularity and evaluates it."""

from __future__ import annotations

import subprocess
import zipfile

import pytest

from tests.isolated_env import ROOT, build_wheel, clean_env, isolated_venv

SCRIPT = """
import sys
import course_lib
assert not any(p and (p == {root!r} or p.startswith({root!r} + "/")) for p in sys.path), sys.path
print("FILE", course_lib.__file__)
data = course_lib.load_dataset("synthetic")
train, test = course_lib.random_split(data, test_fraction=0.2, seed=42)
model = course_lib.Popularity().fit(train)
table = course_lib.evaluate(model, train, test, cutoffs=(10,))
print("NDCG", float(table["ndcg"].iloc[0]))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("dist"))


def test_the_wheel_holds_the_package_its_license_and_py_typed(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "course_lib/__init__.py" in names and "course_lib/py.typed" in names
    assert "course_lib/grading/colab_cell.py" in names and "course_lib/colab.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names
    assert not [n for n in names if n.startswith(("tests/", "solutions/", "notebooks/", "bench/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    assert "Requires-Python: >=3.11" in metadata


@pytest.mark.slow
def test_the_installed_wheel_runs_without_the_repository(tmp_path, wheel):
    python = isolated_venv(tmp_path)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True,
                   env=clean_env(), cwd=tmp_path)
    result = subprocess.run([str(python), "-c", SCRIPT.format(root=str(ROOT))], capture_output=True, text=True,
                            cwd=tmp_path, env=clean_env(MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(("FILE", "NDCG")))
    assert lines["FILE"].startswith(str(tmp_path / "venv")), lines["FILE"]
    assert 0.0 < float(lines["NDCG"]) <= 1.0
