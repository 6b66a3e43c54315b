"""nbgrader settings for the course. Paths are relative to this folder (the course root)."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, ClearOutput, GetGrades
from nbgrader.validator import Validator

from grader.instructor.feedback import (
    FEEDBACK_TEMPLATE_FILE,
    MATHJAX_URL,
    TEMPLATE_FOLDERS,
    FeedbackExporter,
    HideCheckDetails,
)
from grader.instructor.grade_submission import autograde_preprocessors
from grader.instructor.late import LatePenalty
from grader.instructor.trusted import TrustedExecute

c = get_config()  # noqa: F821 -- injected by nbgrader when it loads this file

c.CourseDirectory.course_id = "backprop"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Late work (grader/instructor/late.py): 10% of the score off per day or part of a day late,
# judged by the time collect verified against the exchange. One due date per lesson (UTC);
# grade_class writes them into the gradebook. Set them for your term.
c.AssignLatePenalties.plugin_class = LatePenalty
c.LatePenalty.percent_per_day = 10
c.LatePenalty.due_dates = {
    "lesson1": "2027-02-05 17:00:00 UTC",
    "lesson2": "2027-02-19 17:00:00 UTC",
    "lesson3": "2027-03-05 17:00:00 UTC",
    "lesson4": "2027-03-19 17:00:00 UTC",
    "lesson5": "2027-04-02 17:00:00 UTC",
}
# Collected work comes from the exchange through grader/instructor/collect.py, not
# `nbgrader collect` (which follows symlinks and trusts the student's clock).

# A cell that runs longer than this is stopped and counts as failed; every lesson's
# solution runs each cell in a few seconds.
c.Execute.timeout = 120
# nbclient skips cells tagged "skip-execution"; a student who tags a test cell so would pass
# it unexecuted. No cell of this course is ever meant to be skipped.
c.Execute.skip_cells_with_tag = "never-skip-a-graded-cell"

# Hidden checks run in the grading process, never in the student's kernel, and decide each
# test cell's points (grader/instructor/trusted.py): autograde and validate execute
# notebooks with TrustedExecute. (Validator's list is not a configurable trait in nbgrader
# 0.9, so its default is replaced.)
c.Autograde.autograde_preprocessors = autograde_preprocessors()
Validator.class_traits()["preprocessors"].default_value = [
    CheckCellMetadata, ClearOutput, TrustedExecute,
]

# Feedback shows check names, messages and numbers, never the checks themselves: hidden test
# blocks are cleared (nbgrader #917, #1363) and tracebacks cut to the student's own frames
# plus the error message (grader/instructor/feedback.py). HideCheckDetails must run before
# ClearHiddenTests: it recognises hidden-test cells by the marker that one removes.
c.GenerateFeedback.preprocessors = [
    GetGrades, HideCheckDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor,
]

# Feedback never runs a student's content: scripts, event handlers and javascript: links in
# outputs and markdown are removed when the HTML is written.
c.HTMLExporter.sanitize_html = True
# ... and loads MathJax from the course's copy beside the pages (grade_class puts it there).
# Feedback has an exporter of its own: these settings on HTMLExporter would also replace the
# formgrader's template, and instructors could not open a submission to grade it.
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.mathjax_url = MATHJAX_URL
c.FeedbackExporter.template_file = FEEDBACK_TEMPLATE_FILE
c.FeedbackExporter.extra_template_basedirs = TEMPLATE_FOLDERS
