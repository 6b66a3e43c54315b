"""Numerical gradients, handed out with lessons 3-5 once lesson 1 (where students write
their own) has been graded. The grader's checks use the same module.
"""

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Central-difference gradient of a scalar function.

    f: takes an array shaped like ``x`` and returns a scalar.
    x: (any shape) float array; perturbed in place one entry at a time and restored.
    Returns an array shaped like ``x`` with ``(f(x + h e_i) - f(x - h e_i)) / 2h``.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"numerical_gradient needs a float array, got dtype {x.dtype}")
    grad = np.zeros_like(x, dtype=float)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x, dout, h: float = 1e-5):
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``, by central differences.

    This is what a layer's backward pass must return when the layer's output receives the
    upstream gradient ``dout``.
    f: array-valued function of ``x``; dout: same shape as ``f(x)``.
    Returns an array shaped like ``x``.
    """
    dout = np.asarray(dout, dtype=float)
    return numerical_gradient(lambda z: np.sum(np.asarray(f(z)) * dout), x, h)
