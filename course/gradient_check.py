"""Comparisons that turn gradients into checks with a message: relative errors, the common
mistakes a wrong gradient shows (transposed, sign flipped, off by a factor), and asserts.

Numerical gradients are not here: lesson 1 asks students to write one, and later lessons
receive it with their release (``numerical.py`` beside the notebook).
"""

from collections.abc import Callable, Mapping

import numpy as np

# The relative error a correct analytic gradient stays under, visible and hidden checks
# alike. float32 keeps about 7 significant digits (machine epsilon 1.2e-7) and the few dozen
# operations of a backward pass lose one or two more, so a float32 computation returned as
# float64 lands around 1e-7..1e-6; every mistake the course catalogues is off by 1e-2 or
# more. (Numerical differences are judged separately: their error is set by the step h.)
GRADIENT_TOL = 1e-5


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    0 means identical; around 1e-7 or below is what a correct backward pass reaches in
    float64 against central differences; above 1e-3 is almost certainly a bug.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


def fingerprint(got: np.ndarray, expected: np.ndarray, tol: float = 1e-4, *,
                alternatives: Mapping[str, np.ndarray] | None = None) -> str | None:
    """Name a common mistake that turns ``expected`` into ``got``, or return None.

    From the two arrays alone it recognises: nan or inf (an overflowing exp, a log of 0), all
    zeros, the sign flipped, off by a constant factor (a missing 1/N, a factor 2 too many),
    transposed, the right values in the wrong order or the wrong shape, per-example gradients
    never summed over the batch, and a bias gradient summed over the wrong axis (or over
    every axis).
    alternatives: description -> what ``got`` would be after a mistake that only the caller
    can compute, because it needs context such as the weights or the pre-activations (see
    ``regularisation_mistakes`` and ``activation_derivative_mistakes``). They are tried first,
    being the more specific explanation.
    Only the kind of mistake is reported, never the expected values. Arrays are compared
    whole (see ``_same``), so float32 rounding in near-zero entries does not hide a match.
    """
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    finite = bool(np.all(np.isfinite(got)))
    for description, wrong in (alternatives or {}).items():
        wrong = np.asarray(wrong, dtype=float)
        if finite and wrong.shape == got.shape and _same(got, wrong, tol):
            return description
    if not finite:
        return ("nan or inf usually come from an exp that overflowed (subtract the maximum "
                "before exponentiating) or from the log of 0")
    if got.shape != expected.shape:
        return _shape_mistake(got, expected, tol)
    if not np.any(expected):
        return None
    if not np.any(got):
        return "it is all zeros: a gradient never computed, or never accumulated?"
    return _scale_mistake(got, expected, tol) or (
        "it is the transpose of the right gradient"
        if got.ndim == 2 and got.shape[0] == got.shape[1] and _same(got.T, expected, tol)
        else None) or (
        "it has the right values in the wrong order: entries swapped, or indices mixed up?"
        if got.size > 1 and _same(np.sort(got, axis=None), np.sort(expected, axis=None), tol)
        else None)


def _same(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """``a`` equals ``b`` up to ``tol`` relative to their size, as whole arrays.

    Elementwise relative error would make an entry that happens to be near zero decide,
    and a float32 answer would then match no mistake at all.
    """
    return bool(np.linalg.norm(a - b) <= tol * max(np.linalg.norm(a) + np.linalg.norm(b),
                                                       1e-12))


def _scale_mistake(got: np.ndarray, expected: np.ndarray, tol: float) -> str | None:
    """The sign flipped and/or a constant factor off (same shapes, expected not all zero)."""
    if _same(got, -expected, tol):
        return "the sign is flipped"
    scale = float(np.sum(got * expected) / np.sum(expected * expected))
    if abs(scale) <= 1e-12 or not _same(got, scale * expected, tol):
        return None
    if abs(abs(scale) - 1) < 0.05:
        # Within a few percent of the right size: no factor is missing; say nothing
        # rather than "it is 1.02 times the right value".
        return "the sign is flipped" if scale < 0 else None
    if expected.size == 1 and not _whole_ratio(abs(scale)):
        # Any two numbers differ by some factor: only a whole one (2, 1/3) means anything.
        return None
    sign = "the sign is flipped and " if scale < 0 else ""
    if abs(scale) > 1:
        return (f"{sign}it is {abs(scale):.4g} times too large: a missing division "
                "(e.g. by the batch size N), or a factor counted twice?")
    return (f"{sign}it is {abs(scale):.4g} times the right value: an extra division "
            "(e.g. by N twice), or a missing factor?")


def _whole_ratio(scale: float) -> bool:
    """``scale`` or ``1 / scale`` is a whole number, up to rounding."""
    big = max(scale, 1 / scale)
    return abs(big - round(big)) < 1e-6 * big


def _shape_mistake(got: np.ndarray, expected: np.ndarray, tol: float) -> str | None:
    """Recognise a gradient of the wrong shape: transposed, reshaped, or summed wrongly."""
    if got.ndim == 2 and got.T.shape == expected.shape and _same(got.T, expected, tol):
        return "it is the transpose of the right gradient"
    if got.size == expected.size and expected.size > 1 and _same(
            got.reshape(expected.shape), expected, tol):
        return ("it has the right values in the wrong shape: a reshape, or a keepdims=True "
                "that should not be there?")
    if got.ndim == expected.ndim + 1 and got.shape[1:] == expected.shape:
        if _same(got.sum(axis=0), expected, tol) or expected.ndim == 1:
            return ("it holds one gradient per example, not summed over the first axis "
                    "(the batch)")
    if expected.size > 1 and got.size == 1:
        return "it is a single number: summed over every axis instead of the batch axis only?"
    if expected.ndim == 1 and got.ndim == 1:
        return (f"it has {got.size} entries where {expected.size} are expected: "
                "a bias gradient summed over the wrong axis?")
    return None


def gradient_mismatches(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    tol: float = 1e-6,
    alternatives: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    error: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> list[str]:
    """Describe every gradient in ``expected`` that ``got`` misses, misshapes or gets wrong.

    got, expected: name -> array, ``expected`` in the order backprop computes them (dscores,
    dW2, db2, dhidden, dW1, db1), so the first line returned is the first wrong gradient.
    alternatives: name -> {description: what that gradient would be after a mistake only the
    caller can build} (see ``regularisation_mistakes``), passed on to ``fingerprint``.
    error: how far apart two arrays are; ``rel_error`` (elementwise) unless given.
    Returns one human-readable line per problem (empty if all agree within ``tol``), with
    the common mistake it looks like where ``fingerprint`` recognises one.
    """
    error = error or rel_error
    alternatives = alternatives or {}
    if not isinstance(got, Mapping):
        # A tuple or an array where a dict of named gradients belongs: say so plainly rather
        # than fail with an AttributeError inside this function.
        return [f"expected a dict of gradients with keys {list(expected)}, got "
                f"{type(got).__name__}"]
    problems = []
    for name, want in expected.items():
        if got.get(name) is None:
            problems.append(f"{name}: missing (got keys {sorted(got)})")
            continue
        have = np.asarray(got[name], dtype=float)
        want = np.asarray(want, dtype=float)
        if have.shape != want.shape:
            problem = f"{name}: shape {have.shape}, expected {want.shape}"
        elif not np.all(np.isfinite(have)):
            problem = f"{name}: contains nan or inf"
        else:
            err = error(have, want)
            if err <= tol:
                continue
            problem = f"{name}: relative error {err:.2e} (tolerance {tol:.0e})"
        hint = fingerprint(have, want, alternatives=alternatives.get(name))
        problems.append(problem + (f"; {hint}" if hint else ""))
    return problems


def _fail_with(problems: list[str], context: str) -> None:
    """Raise one AssertionError listing every problem, if there are any."""
    if problems:
        where = f" {context}" if context else ""
        raise AssertionError(f"gradient check failed{where}:\n  " + "\n  ".join(problems))


def assert_gradients_close(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    tol: float = 1e-6,
    context: str = "",
    alternatives: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> None:
    """Raise ``AssertionError`` naming each wrong gradient and how far off it is.

    context: where the gradients were taken (e.g. "at a fresh random point"), for the message.
    alternatives: as for ``gradient_mismatches``.
    """
    _fail_with(gradient_mismatches(got, expected, tol, alternatives), context)


# --- Mistakes that need context ----------------------------------------------------------
# fingerprint() sees only (got, expected). A missing regularisation term can only be
# recognised by a check that knows the weights: it builds what each slip would produce and
# passes them as ``alternatives``.


def regularisation_mistakes(expected: np.ndarray, reg_gradient: np.ndarray,
                            ) -> dict[str, np.ndarray]:
    """What a weight gradient looks like with the usual slips in its regularisation term.

    expected: the right gradient of the regularised loss; reg_gradient: the regularisation
    term's share of it (``reg * W`` for ``0.5 * reg * sum(W**2)``). Returns
    description -> the wrong gradient, for ``fingerprint(..., alternatives=...)``.
    """
    expected = np.asarray(expected, dtype=float)
    reg_gradient = np.asarray(reg_gradient, dtype=float)
    return {
        "the regularisation term's gradient is missing": expected - reg_gradient,
        "the regularisation term's gradient is counted twice (or has an extra factor 2)":
            expected + reg_gradient,
        "the regularisation term's gradient is half what it should be (the 2 of d(W^2)/dW?)":
            expected - 0.5 * reg_gradient,
        "the regularisation term's gradient has the wrong sign": expected - 2 * reg_gradient,
    }


# --- Whole-array comparison --------------------------------------------------------------
# rel_error is elementwise, so an entry that happens to lie near zero turns harmless float32
# rounding (about 1e-7 of the terms summed into it) into a large relative error. Gradients
# with many entries, or a float32 answer, are better compared as whole arrays.


def norm_rel_error(a, b, eps: float = 1e-12) -> float:
    """Relative error of whole arrays, ``||a - b|| / max(||a|| + ||b||, eps)`` (Frobenius).

    About 1e-16 for float64 rounding, 1e-7 for float32 and 1e-2 or more for a bug.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), eps))


def normwise_gradient_mismatches(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    tol: float = 1e-5,
    alternatives: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> list[str]:
    """``gradient_mismatches`` with the whole-array ``norm_rel_error`` (float32-safe)."""
    return gradient_mismatches(got, expected, tol, alternatives, error=norm_rel_error)


def assert_gradients_close_normwise(
    got: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    tol: float = 1e-5,
    context: str = "",
    alternatives: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> None:
    """``assert_gradients_close`` with whole-array relative errors (float32-safe)."""
    _fail_with(normwise_gradient_mismatches(got, expected, tol, alternatives), context)


def assert_values(what: str, got, expected, tol: float = 1e-8) -> None:
    """Compare named values at a point the student can see; the message shows both.

    what: e.g. "grad_product(-2, 5)"; got, expected: name -> number or array.
    """
    for name, want in expected.items():
        have = got.get(name) if isinstance(got, dict) else None
        if have is None or np.shape(have) != np.shape(want) or not np.allclose(
            have, want, rtol=tol, atol=tol
        ):
            raise AssertionError(f"{what}: {name} should be {want!r}, got {have!r}")
