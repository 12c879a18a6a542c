"""Hidden autograder checks (instructor-only: the student edition omits this package).

A hidden test cell calls one ``check_*`` function with the student's object. The check compares it
with the reference implementation in ``ebm_course`` on cases kept here, out of the notebook text,
so nbgrader's feedback HTML tells a student what failed without publishing the cases.

Every check grades its part in isolation (reference model, reference sampler around the student's
piece) and raises ``AssertionError`` with a message that says what was expected.
One module per assignment; the shared assertions live in :mod:`ebm_course.instructor.grading.common`.
"""
