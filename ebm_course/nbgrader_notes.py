"""Warnings never cost points: stderr output becomes a note before nbgrader scores a cell.

nbgrader (``utils.determine_grade``) gives 0 to a test cell with *any* ``stderr`` stream
output, as if it had raised. A correct solution that triggers a ``UserWarning`` (``torch.tensor``
on a tensor), a ``FutureWarning`` printed inside ``torch.func`` or a library's
``DeprecationWarning`` would lose the whole cell, and which warnings appear changes with library
versions. Failures reach nbgrader as ``error`` outputs (tracebacks, including a check's
``AssertionError``, a cell timeout's ``KeyboardInterrupt`` and a memory cap's ``MemoryError``),
never as a stderr stream, so the stream carries no grading signal: :class:`StderrAsNote` turns it
into a stdout note, right after execution and before ``SaveAutoGrades``, and errors still score 0.

The course's ``nbgrader_config.py`` installs it for autograding (:func:`autograde_preprocessors`)
and both it and the student's ``nbgrader_config.py`` (the release's) for validation
(:func:`validate_with_notes`): the Validate button must agree with the grade, and nbgrader's
``Validator`` scores a warning cell as failed just as autograde does. This module lives in the
student edition for that reason; nothing else in the package imports it (it needs nbgrader).
"""

from __future__ import annotations

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

NOTE = "[note: written to stderr; warnings cost no points]\n"


class StderrAsNote(NbGraderPreprocessor):
    """Rename every code cell's ``stderr`` stream output to ``stdout``, prefixed with
    :data:`NOTE` so that the student sees it in the feedback as a note, not a failure."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = NOTE + output.get("text", "")
        return cell, resources


def autograde_preprocessors() -> list:
    """nbgrader's autograde preprocessors with :class:`StderrAsNote` right after ``Execute``."""
    from nbgrader.converters.autograde import Autograde

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if StderrAsNote not in steps:
        steps.insert(steps.index(Execute) + 1, StderrAsNote)
    return steps


def validate_with_notes() -> None:
    """Make nbgrader's ``Validator`` (``nbgrader validate`` and the Validate button) turn stderr
    into notes too. Its preprocessors are not a configurable trait, so the default list of the
    class is extended (once) before the validator is built, which ``nbgrader_config.py`` runs."""
    from nbgrader.validator import Validator

    trait = Validator.class_traits()["preprocessors"]
    steps = list(trait.default())
    if StderrAsNote not in steps:
        steps.insert(steps.index(Execute) + 1, StderrAsNote)
        trait.default_value = steps
