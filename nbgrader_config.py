"""nbgrader settings for the course. Paths are relative to this folder (the course root)."""

c = get_config()  # noqa: F821 -- injected by nbgrader when it loads this file

c.CourseDirectory.course_id = "backprop"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and counts as failed; every lesson's
# solution runs each cell in a few seconds.
c.Execute.timeout = 120
