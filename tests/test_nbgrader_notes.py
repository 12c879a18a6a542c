"""Warnings cost no points, and the Validate button agrees with the grade."""

from __future__ import annotations

import nbformat
import pytest


def _notebook(path, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "warns", "locked": True, "points": 1,
                                 "schema_version": 3, "solution": False, "task": False}
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_validate_marks_a_warning_cell_as_passed_and_an_error_as_failed(tmp_path):
    from nbgrader.validator import Validator

    from ebm_course import nbgrader_notes

    trait = Validator.class_traits()["preprocessors"]
    before = trait.default_value
    warns = _notebook(tmp_path / "warns.ipynb", "import warnings\nwarnings.warn('old API')\n"
                      "print('passed')")
    fails = _notebook(tmp_path / "fails.ipynb", "assert 1 == 2, 'wrong'")
    try:
        assert "failed" in Validator().validate(str(warns))  # nbgrader alone: a warning fails
        nbgrader_notes.validate_with_notes()
        nbgrader_notes.validate_with_notes()  # twice: still one step
        assert list(trait.default()).count(nbgrader_notes.StderrAsNote) == 1
        assert "failed" not in Validator().validate(str(warns))
        assert "failed" in Validator().validate(str(fails))  # errors still fail
    finally:
        trait.default_value = before


def test_the_student_config_installs_it():
    from ebm_course.instructor.release import STUDENT_NBGRADER_CONFIG

    assert "validate_with_notes()" in STUDENT_NBGRADER_CONFIG
