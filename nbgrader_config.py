"""nbgrader settings of the course (docs/design.md): sources in course/, student versions in release/."""

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "ebm_course"
import os

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "course"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Autograde runs with NBGRADER_EXECUTION set, which selects the `grade` profile: tiny training.
# A cell gets 120 s (nbgrader's default is 30 s); a cell that runs longer is interrupted
# (KeyboardInterrupt) and the notebook continues, so a hanging submission loses that test's
# points, not the run. Each hidden check has its own, shorter limits (60 s, +2 GiB: see
# ebm_course/instructor/grading/limits.py), so its message names the check that hung.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"  # whatever kernel the student's notebook names
# Every grading kernel caps its own private memory (EBM_COURSE_GRADE_MEMORY_MB, default 8192):
# a submission that allocates without bound gets MemoryError in that cell (and the memory back)
# instead of the OOM killer taking the kernel, and the whole notebook's points, with it.
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('ebm_course.instructor.grading.limits')"
    ".instructor.grading.limits.install_kernel_guard()"]

# A test cell's stderr (a warning, a library's notice) is turned into a stdout note before
# nbgrader scores the cell, which would otherwise give it 0; errors still score 0
# (ebm_course/nbgrader_notes.py); the same for `nbgrader validate`.
from ebm_course.nbgrader_notes import autograde_preprocessors, validate_with_notes  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
validate_with_notes()

# A student who deletes a graded cell gets it back, with its tests, at autograde time.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
