"""Warnings never cost points: stderr output becomes a note before nbgrader scores a cell.

nbgrader (``utils.determine_grade``) gives 0 to a test cell with *any* ``stderr`` stream
output, as if it had raised. A correct solution that triggers a ``UserWarning`` (``torch.tensor``
on a tensor), a ``FutureWarning`` printed inside ``torch.func`` or a library's
``DeprecationWarning`` would lose the whole cell, and which warnings appear changes with library
versions. Failures reach nbgrader as ``error`` outputs (tracebacks, including a check's
``AssertionError``, a cell timeout's ``KeyboardInterrupt`` and a memory cap's ``MemoryError``),
never as a stderr stream, so the stream carries no grading signal: :class:`StderrAsNote` turns it
into a stdout note, right after execution and before ``SaveAutoGrades``, and errors still score 0.

``nbgrader_config.py`` installs it with :func:`autograde_preprocessors`.
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
