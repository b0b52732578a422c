"""What the notebooks' Colab setup cell runs after ``pip install --no-deps <course address>``.

    python -m course_lib.colab

Installs only the requirements of ``course_lib`` that are missing, under a constraint file that
pins every distribution already installed at its installed version: pip can add packages but
cannot upgrade, downgrade or replace Colab's torch, TensorFlow, Keras, numpy, pandas or Jupyter
packages (if a missing package needed that, pip stops with a conflict instead). Installed
packages outside course_lib's ranges are reported and left as they are.

Standard library only (plus ``packaging``, which pip and matplotlib bring): it runs in an
environment whose dependencies are not known yet.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

__all__ = ["base_requirements", "installed_distributions", "plan", "install_missing", "main"]

DISTRIBUTION = "course-lib"


def _packaging():
    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pip always vendors it
        from pip._vendor.packaging.requirements import Requirement
        from pip._vendor.packaging.utils import canonicalize_name
    return Requirement, canonicalize_name


def base_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """The requirements of ``distribution`` without extras, markers evaluated for this interpreter."""
    Requirement, _ = _packaging()
    declared = metadata.requires(distribution)
    if declared is None:
        raise RuntimeError(f"{distribution} is installed without dependency metadata; reinstall it.")
    kept = []
    for line in declared:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            kept.append(line)
    return kept


def installed_distributions() -> dict[str, str]:
    """Every installed distribution (canonical name -> version), the first one on sys.path winning."""
    _, canonicalize_name = _packaging()
    found: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), distribution.version)
    return found


def _valid_version(version: str) -> bool:
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        from pip._vendor.packaging.version import InvalidVersion, Version
    try:
        Version(version)
    except InvalidVersion:
        return False  # pip could not read such a constraint; the package is left alone anyway
    return True


def plan(requirements: list[str], installed: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """``(missing, outside)``: requirements with no installed distribution, and one line for each
    installed distribution whose version is outside the requirement's range (left as is)."""
    Requirement, canonicalize_name = _packaging()
    missing, outside = [], []
    for line in requirements:
        requirement = Requirement(line)
        version = installed.get(canonicalize_name(requirement.name))
        if version is None:
            missing.append(line)
        elif requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            outside.append(f"{requirement.name} {version} is installed; course_lib is tested with "
                           f"{requirement.specifier} (left as it is)")
    return missing, outside


def install_missing(requirements: list[str] | None = None, installed: Mapping[str, str] | None = None,
                    runner: Callable[[list[str]], object] | None = None) -> list[str]:
    """Install the missing base requirements, pinning everything installed; returns the pip command
    run (empty when nothing was missing)."""
    requirements = base_requirements() if requirements is None else requirements
    installed = installed_distributions() if installed is None else installed
    missing, outside = plan(requirements, installed)
    for line in outside:
        print(f"course_lib: note: {line}")
    if not missing:
        print("course_lib: every dependency is already installed; nothing else changed.")
        return []
    runner = runner or (lambda command: subprocess.run(command, check=True))
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch) / "installed-versions.txt"
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(installed.items())
                                       if name not in ("pip", DISTRIBUTION) and _valid_version(version)))
        command = [sys.executable, "-m", "pip", "install", "--constraint", str(constraints), *missing]
        print(f"course_lib: installing what is missing: {' '.join(missing)}")
        runner(command)
    return command


def main(argv: list[str] | None = None) -> int:
    install_missing()
    return 0


if __name__ == "__main__":
    sys.exit(main())
