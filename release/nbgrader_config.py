# nbgrader's settings for a student's copy of the course: `nbgrader validate` (the Validate
# button) reads them. Validation runs each notebook as the grader does, in the short `grade`
# profile.
c = get_config()  # noqa: F821  (provided by nbgrader)
c.CourseDirectory.course_id = "ebm_course"
c.Execute.timeout = 120

# Warnings cost no points when graded, so Validate must not mark them either.
try:
    from ebm_course.nbgrader_notes import validate_with_notes
except ImportError:  # the course package is not installed here: Validate as nbgrader does
    pass
else:
    validate_with_notes()
