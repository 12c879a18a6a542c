"""Hidden autograder checks (instructor-only: the student edition omits this package).

A hidden test cell calls one ``check_*`` function with the student's object. The check compares it
with the reference implementation in ``ebm_course`` on cases kept here, out of the notebook text,
so nbgrader's feedback HTML tells a student what failed without publishing the cases.

Every check grades its part in isolation (reference model, reference sampler around the student's
piece) and raises ``AssertionError`` with a message that says what was expected.
The checks of an assignment live in its unit (``instructor/assignments/<unit>/checks/``); this
package holds what they share: the assertions (:mod:`.common`), the time and memory limits of a
check and of the grading kernel (:mod:`.limits`), and the autograde step that keeps warnings from
costing points (:mod:`ebm_course.nbgrader_notes`).
"""
