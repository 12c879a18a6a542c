"""The course machinery, instructor-only: the student edition of ``ebm_course`` omits it.

``assignments`` (one folder per assignment: notebook source, graded reference, given code,
hidden checks, wrong and correct variants, prose claims; and the registry every tool iterates),
``authoring`` (nbgrader source notebooks from the units), ``release`` (nbgrader's student
notebooks + the student edition), ``build`` (``make course``), ``grading`` (what every hidden
check shares: assertions, the grading kernel's limits, stderr as notes), ``claims`` (prose
numbers tied to results), ``grade_loop`` (``ebm-course grade``), ``cli`` (the ``ebm-course``
command) and ``paths``. The science the students use (models,
samplers, training modules, evaluation, data, plots) is the rest of ``ebm_course``, which never
imports from here. Design notes: ``docs/design.md``.
"""
