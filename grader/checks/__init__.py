"""The checks behind the lessons' graded cells.

A notebook's test cell calls one function from ``grader.checks.<lesson>``; the function
draws fresh random inputs (never the notebook's), compares the student's result with an
independent reference (``autograd`` or a closed form) and raises ``AssertionError`` with a
message that names what is wrong and by how much, never the reference values themselves.
Keeping the checks here, rather than in hidden cells, keeps reference code out of the
feedback students receive and lets one check serve the notebook, the tests and the
calibration scripts.
"""
