"""Numerical gradients and the comparisons that turn them into checks.

The lessons ask students to write a numerical gradient once (lesson 1); everything after
that uses this module, so a bug in a student's checker never hides a bug in their backprop.
"""

from collections.abc import Callable, Mapping

import numpy as np


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    0 means identical; around 1e-7 or below is what a correct backward pass reaches in
    float64 against central differences; above 1e-3 is almost certainly a bug.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


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


def fingerprint(got: np.ndarray, expected: np.ndarray, tol: float = 1e-4) -> str | None:
    """Name a common mistake that turns ``expected`` into ``got``, or return None.

    Recognises: transposed, sign flipped, off by a constant factor (a missing 1/N, say), and
    summed over the wrong axis (a bias gradient of the wrong length). Only the shape of the
    mistake is reported, never the expected values.
    """
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        if got.ndim == 2 and got.T.shape == expected.shape and rel_error(got.T, expected) < tol:
            return "it is the transpose of the right gradient"
        if expected.ndim == 1 and got.ndim == 1:
            return (f"it has {got.size} entries where {expected.size} are expected: "
                    "a bias gradient summed over the wrong axis?")
        return None
    if not np.any(expected):
        return None
    if rel_error(got, -expected) < tol:
        return "the sign is flipped"
    scale = float(np.sum(got * expected) / np.sum(expected * expected))
    if abs(scale) > 1e-12 and rel_error(got, scale * expected) < tol:
        if scale > 1:
            return (f"it is {scale:.4g} times too large: a missing division "
                    "(e.g. by the batch size N), or a factor counted twice?")
        return (f"it is {scale:.4g} times the right value: an extra division "
                "(e.g. by N twice), or a missing factor?")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and rel_error(got.T, expected) < tol:
        return "it is the transpose of the right gradient"
    return None


def gradient_mismatches(
    got: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], tol: float = 1e-6
) -> list[str]:
    """Describe every gradient in ``expected`` that ``got`` misses, misshapes or gets wrong.

    got, expected: name -> array. Returns one human-readable line per problem (empty if all
    gradients agree within ``tol`` relative error), in the order of ``expected``, with the
    common mistake it looks like where ``fingerprint`` recognises one.
    """
    problems = []
    for name, want in expected.items():
        if name not in got or got[name] is None:
            problems.append(f"{name}: missing (got keys {sorted(got)})")
            continue
        have = np.asarray(got[name], dtype=float)
        want = np.asarray(want, dtype=float)
        hint = fingerprint(have, want)
        if have.shape != want.shape:
            problem = f"{name}: shape {have.shape}, expected {want.shape}"
        elif not np.all(np.isfinite(have)):
            problem = f"{name}: contains nan or inf"
        else:
            err = rel_error(have, want)
            if err <= tol:
                continue
            problem = f"{name}: relative error {err:.2e} (tolerance {tol:.0e})"
        problems.append(problem + (f"; {hint}" if hint else ""))
    return problems


def assert_gradients_close(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    tol: float = 1e-6,
    context: str = "",
) -> None:
    """Raise ``AssertionError`` naming each wrong gradient and how far off it is.

    context: where the gradients were taken (e.g. "at a fresh random point"), for the message.
    """
    problems = gradient_mismatches(got, expected, tol)
    if problems:
        where = f" {context}" if context else ""
        raise AssertionError(f"gradient check failed{where}:\n  " + "\n  ".join(problems))
