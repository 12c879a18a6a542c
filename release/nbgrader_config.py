# nbgrader's settings for a student's copy of the course: `nbgrader validate` (the Validate
# button) reads them. Validation runs each notebook as the grader does, in the short `grade`
# profile.
c = get_config()  # noqa: F821  (provided by nbgrader)
c.CourseDirectory.course_id = "ebm_course"
c.Execute.timeout = 120
