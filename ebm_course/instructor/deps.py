"""The declared lower bounds of the project's dependencies, as pip constraints.

``make test-lowest`` installs the project into a second environment with every direct dependency
at the lowest version ``pyproject.toml`` allows (``name==v`` for each ``name>=floor``, v the
lowest release at or above the floor that the package index offers;
transitive dependencies resolve freely, as ``uv``'s ``--resolution lowest-direct`` does) and runs
the fast tier there: a floor that the code has outgrown fails there, not on a student's machine.
Plain pip, so the index configuration pip already has (an offline mirror) is the one used.

    python -m ebm_course.instructor.deps [--extras dev] > constraints.txt
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from .paths import ROOT


def floors(pyproject: Path = ROOT / "pyproject.toml", extras: tuple[str, ...] = ("dev",)
           ) -> dict[str, str]:
    """``{name: lowest version}`` of every direct dependency (and of ``extras``) with a
    ``>=`` bound; a dependency without one has no floor to test."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    out = {}
    for line in requirements:
        requirement = Requirement(line)
        lows = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if lows:
            out[requirement.name] = str(max(Version(v) for v in lows))
    return out


def available(name: str) -> list[Version]:
    """The versions of ``name`` the configured package index offers (``pip index versions``:
    the same index, mirror included, that ``pip install`` uses); [] when it cannot say."""
    import subprocess

    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name,
                          "--disable-pip-version-check"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.strip().startswith("Available versions:"):
            return [Version(v.strip()) for v in line.split(":", 1)[1].split(",") if v.strip()]
    return []


def lowest(name: str, floor: str) -> str:
    """The lowest version of ``name`` at or above ``floor`` that the index offers (a floor
    written ``>=2.3`` is met by 2.3.1 when no 2.3.0 was released); ``floor`` itself when the
    index cannot say."""
    candidates = [v for v in available(name) if v >= Version(floor) and not v.is_prerelease]
    return str(min(candidates)) if candidates else floor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="dev", help="comma-separated extras (default dev)")
    args = parser.parse_args(argv)
    extras = tuple(e for e in args.extras.split(",") if e)
    for name, version in sorted(floors(extras=extras).items()):
        print(f"{name}=={lowest(name, version)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
