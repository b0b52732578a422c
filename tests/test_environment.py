"""The pins students get from conda (environment.yml) are the pins of pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", requirement)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def _environment_requirements() -> list[str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip: section"
    return [r for r in pip_sections[0] if not r.startswith("-e")]


def test_every_pyproject_dependency_is_pinned_exactly():
    requirements = _pyproject_requirements()
    unpinned = [r for r in requirements if "==" not in r]
    assert not unpinned, f"pyproject.toml has unpinned dependencies: {unpinned}"


def test_environment_yml_names_the_same_versions_as_pyproject():
    from_pyproject = _pins(_pyproject_requirements())
    from_environment = _pins(_environment_requirements())
    unparsed = [r for r in _environment_requirements() if not _pins([r])]
    assert not unparsed, f"environment.yml lines that are not exact pins: {unparsed}"
    assert from_environment == from_pyproject, (
        "environment.yml and pyproject.toml disagree:\n"
        + "\n".join(
            f"  {name}: pyproject {from_pyproject.get(name)!r}, environment.yml {from_environment.get(name)!r}"
            for name in sorted(set(from_pyproject) | set(from_environment))
            if from_pyproject.get(name) != from_environment.get(name)
        )
    )


def test_environment_yml_installs_the_course_package_itself():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section


@pytest.mark.parametrize("name, version", sorted(_pins(_pyproject_requirements()).items()))
def test_installed_version_matches_pin(name, version):
    installed = metadata.version(name)
    # torch's CPU wheels carry a local tag: 2.13.0+cpu satisfies ==2.13.0.
    assert installed.split("+")[0] == version, f"{name} {installed} is installed but pyproject.toml pins {version}"
