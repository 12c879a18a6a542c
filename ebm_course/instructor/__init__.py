"""The course machinery, instructor-only: the student edition of ``ebm_course`` omits it.

``reference`` (the graded parts, written once), ``authoring`` (notebooks from ``course/src``),
``release`` (nbgrader's student notebooks + the student edition), ``build`` (``make course``),
``grading`` (hidden checks and the grading kernel's limits), ``grade_loop`` (``ebm-course grade``),
``cli`` (the ``ebm-course`` command) and ``paths``. The science the students use (models,
samplers, training modules, evaluation, data, plots) is the rest of ``ebm_course``, which never
imports from here. Design notes: ``docs/design.md``.
"""
