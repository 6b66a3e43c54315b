"""Helpers shared by the backpropagation lessons.

Modules, one job each:

- ``course.datasets``       -- toy data sets (spiral, ring, Gaussian clusters, XOR) and CSV I/O
- ``course.gradient_check`` -- numerical gradients and relative errors
- ``course.plotting``       -- decision boundaries, training curves, predictions vs truth
- ``course.checks``         -- the checks behind the notebooks' graded cells
- ``course.instructor``     -- building submissions, the demo class, grading helpers
"""
