"""nbgrader settings for the course. Paths are relative to this folder (the course root)."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from course.instructor.feedback import HideCheckDetails

c = get_config()  # noqa: F821 -- injected by nbgrader when it loads this file

c.CourseDirectory.course_id = "backprop"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and counts as failed; every lesson's
# solution runs each cell in a few seconds.
c.Execute.timeout = 120
# nbclient skips cells tagged "skip-execution"; a student who tags a test cell so would pass
# it unexecuted. No cell of this course is ever meant to be skipped.
c.Execute.skip_cells_with_tag = "never-skip-a-graded-cell"

# Feedback shows check names, messages and numbers, never the checks themselves: hidden test
# blocks are cleared (nbgrader #917, #1363) and tracebacks cut to the student's own frames
# plus the error message (course/instructor/feedback.py). HideCheckDetails must run before
# ClearHiddenTests: it recognises hidden-test cells by the marker that one removes.
c.GenerateFeedback.preprocessors = [
    GetGrades, HideCheckDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor,
]
