"""nbgrader settings of the course (DESIGN.md): sources in course/, student versions in release/."""

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "ebm_course"
import os

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "course"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Notebook sources (course/src/*.py) are authoring files, not an assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*", "src"]

# Autograde runs with NBGRADER_EXECUTION set, which selects the `grade` profile: tiny training.
# A cell gets 120 s (nbgrader's default is 30 s); a cell that runs longer is interrupted and
# the notebook continues, so a hanging submission loses that test's points, not the run.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"

# A student who deletes a graded cell gets it back, with its tests, at autograde time.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
