"""make test-lowest: the declared floors, as pip constraints."""

from __future__ import annotations

from ebm_course.instructor import deps


def test_floors_read_every_lower_bound_and_only_those(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["torch>=2.14.1,<3", '
                         '"numpy>=1.24", "fontpkg-cardo", "b>=1.2,>=1.10"]\n'
                         '[project.optional-dependencies]\ndev = ["pytest>=8"]\n'
                         'docs = ["sphinx>=7"]\n')
    assert deps.floors(pyproject) == {"torch": "2.14.1", "numpy": "1.24", "b": "1.10",
                                      "pytest": "8"}
    assert deps.floors(pyproject, extras=()) == {"torch": "2.14.1", "numpy": "1.24", "b": "1.10"}


def test_the_project_declares_a_floor_for_each_library_it_imports():
    """Every direct dependency the package imports has a floor make test-lowest can pin."""
    floors = deps.floors()
    for name in ("torch", "torchvision", "pytorch-lightning", "numpy", "matplotlib", "arviz",
                 "scikit-learn", "nbgrader"):
        assert name in floors, name
