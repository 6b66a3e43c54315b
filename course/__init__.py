"""Helpers shared by the backpropagation lessons.

Modules, one job each:

- ``course.datasets``       -- toy data sets (spiral, ring, Gaussian clusters, XOR) and CSV I/O
- ``course.gradient_check`` -- numerical gradients and relative errors
- ``course.plotting``       -- decision boundaries, training curves, predictions vs truth
- ``course.tracebacks``     -- failing checks show their message, not the course's frames
- ``grader.handouts.mlp``            -- the lesson-4 network, given to students in lesson 5

Instructor only (students never need to read these):

- ``grader.checks``         -- the hidden checks behind the graded cells, and the references
                               they compare with (e.g. ``grader.checks.layers`` for lesson 5)
- ``grader.instructor``     -- release, the demo class, class grading, validity scripts
"""

from course import tracebacks

tracebacks.install()
