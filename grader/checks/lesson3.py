"""Checks for lesson 3: a 2-3-1 tanh network with logistic cross-entropy on ring data.

The network is ``G = X U^T + b, H = tanh(G), z = H W + c, p = sigmoid(z)``, with parameters
U (3, 2), b (3,), W (3,), c (scalar), and the cost is the mean logistic cross-entropy of the
logits z. The student's ``backward(dz, cache)`` reads only ``cache["X"], ["G"], ["H"], ["W"]``,
so each backward check hands it a correct cache and a correct upstream gradient: a bug in
forward or in the loss never hides (or fakes) a bug in backward.
"""

import autograd
import autograd.numpy as anp
import numpy as np

from course.datasets import as_generator, ring
from course.gradient_check import (
    GRADIENT_TOL,
    assert_gradients_close_normwise,
    normwise_gradient_mismatches,
    rel_error,
)
from grader.checks.common import (
    Calibration,
    as_tuple,
    describe_arguments,
    rng_for,
    student_crash,
)
from grader.checks.mistakes import activation_derivative_mistakes, propagate_mistakes

HIDDEN_UNITS = 3
CACHE_KEYS = ("X", "G", "H", "W")
# Whole-array relative error: float32 rounding (~1e-7) must pass, a bug (>1e-2) must not.
GRAD_TOL = VALUE_RTOL = VALUE_ATOL = GRADIENT_TOL

# Training as in the lesson. Weights start at normal(0, INIT_SCALE): on the lesson's ring, 0 of
# 400 starts at 0.5 and 2 of 400 at scale 1 ended above a loss of 0.05, in a poor local minimum.
INIT_SCALE = 0.5
STEP_SIZE = 1.0
ITERATIONS = 1000
TRAIN_POINTS = 500
TEST_POINTS = 1000
# The reference clears these on every calibration seed (see calibrate and tests/test_lesson3.py).
MIN_TEST_ACCURACY = 0.95
MAX_TRAIN_LOSS = 0.05


def init_params(rng, scale: float = INIT_SCALE) -> dict:
    """U (3, 2) and W (3,) drawn from normal(0, scale); b (3,) and c start at zero."""
    rng = as_generator(rng)
    return {"U": rng.normal(scale=scale, size=(HIDDEN_UNITS, 2)), "b": np.zeros(HIDDEN_UNITS),
            "W": rng.normal(scale=scale, size=HIDDEN_UNITS), "c": 0.0}


def reference_logits(params, X):
    """z: (N,) logits of the 2-3-1 network for X: (N, 2)."""
    return anp.dot(anp.tanh(anp.dot(X, params["U"].T) + params["b"]), params["W"]) + params["c"]


def reference_cost(z, y):
    """Mean logistic cross-entropy of logits z: (N,) against labels y: (N,) in {0, 1}."""
    return anp.mean(anp.logaddexp(0.0, z) - y * z)


def _random_params(rng) -> dict:
    """Parameters away from zero, so every gradient has a clear direction."""
    return {"U": rng.normal(size=(HIDDEN_UNITS, 2)), "b": rng.normal(size=HIDDEN_UNITS),
            "W": rng.normal(size=HIDDEN_UNITS), "c": float(rng.normal())}


def _random_batch(rng, n: int):
    """X: (n, 2) points spread over the ring's square, y: (n,) int labels."""
    return rng.uniform(-5.0, 5.0, size=(n, 2)), rng.integers(0, 2, size=n)


def _copy(params: dict) -> dict:
    return {name: np.copy(value) for name, value in params.items()}


class _Cache(dict):
    """The cache forward documents; reading any other key fails with a message that says so."""

    def __missing__(self, key):
        raise AssertionError(f"backward read cache[{key!r}], but forward's cache holds only "
                             f"{', '.join(CACHE_KEYS)} (see forward's docstring)")


def _reference_cache(params, X) -> _Cache:
    G = np.dot(X, params["U"].T) + params["b"]
    return _Cache(X=X.copy(), G=G, H=np.tanh(G), W=np.copy(params["W"]))


def _call(fn, what, names, *args, **kwargs):
    """fn(*args, **kwargs) for a student's function. A crash becomes a message naming the
    call and the shapes it was given, not a traceback into this module.

    what: e.g. "forward(X, params)"; names: the positional arguments' names.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        raise student_crash(error, what, describe_arguments(
            [*names, *kwargs], [*args, *kwargs.values()])) from None


def _close(got, want) -> bool:
    return np.shape(got) == np.shape(want) and bool(
        np.allclose(got, want, rtol=VALUE_RTOL, atol=VALUE_ATOL))


def _logit_mistakes(params, X) -> dict:
    """description -> the logits z a common slip in forward gives, to name it."""
    U, b, W, c = params["U"], params["b"], params["W"], params["c"]
    G = X @ U.T + b
    z = np.tanh(G) @ W + c
    return {
        "forward returned the probabilities p = sigmoid(z); it should return the logits z":
            0.5 * (1.0 + np.tanh(0.5 * z)),
        "the output bias c is missing from z = H W + c": z - c,
        "the hidden bias b is missing from G = X U^T + b": np.tanh(X @ U.T) @ W + c,
        "the activation is missing: z was computed from G instead of H = tanh(G)": G @ W + c,
        "a sigmoid was used where the hidden layer's tanh belongs":
            0.5 * (1.0 + np.tanh(0.5 * G)) @ W + c,
    }


def check_forward(forward):
    """forward(X, params) returns the logits and the documented cache, at fresh inputs."""
    rng = rng_for("lesson3_forward")
    for n in (1, 6, 40):
        params = _random_params(rng)
        X, _ = _random_batch(rng, n)
        where = f"on {n} fresh random points"
        z, cache = as_tuple(_call(forward, "forward(X, params)", ("X", "params"), X.copy(),
                                  _copy(params)), 2, "forward(X, params)")
        expected_z = reference_logits(params, X)
        if np.shape(z) != (n,):
            raise AssertionError(f"forward: z has shape {np.shape(z)} {where}; expected "
                                 f"({n},), one logit per point")
        if not _close(z, expected_z):
            named = [what for what, wrong in _logit_mistakes(params, X).items()
                     if _close(z, wrong)]
            raise AssertionError(f"forward: the logits z are wrong {where} (relative error "
                                 f"{rel_error(z, expected_z):.2e})"
                                 + (f"; {named[0]}" if named else ""))
        if not isinstance(cache, dict) or set(CACHE_KEYS) - set(cache):
            raise AssertionError(f"forward: the cache should be a dict with keys "
                                 f"{', '.join(CACHE_KEYS)}; got {cache!r:.80}")
        expected = _reference_cache(params, X)
        for key in CACHE_KEYS:
            if not _close(cache[key], expected[key]):
                hint = ""
                if key == "G" and _close(cache[key], expected["H"]):
                    hint = ": it holds H, so G was overwritten (an in-place tanh?)"
                elif key == "G" and _close(cache[key], X @ params["U"].T):
                    # Saturated units can hide this slip from z; G still shows it.
                    hint = "; the hidden bias b is missing from G = X U^T + b"
                raise AssertionError(f"forward: cache[{key!r}] is wrong {where} "
                                     f"(shape {np.shape(cache[key])}){hint}")


def _finite(value) -> bool:
    return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))


def _cost_and_dz(logistic_cross_entropy, z, y, where):
    """The student's (loss, dz), which must both be finite."""
    loss, dz = as_tuple(_call(logistic_cross_entropy, "logistic_cross_entropy(z, y)",
                              ("z", "y"), z.copy(), y.copy()), 2, "logistic_cross_entropy(z, y)")
    if not (_finite(loss) and _finite(dz)):
        raise AssertionError(f"logistic_cross_entropy returned nan or inf {where} "
                             f"(loss {'finite' if _finite(loss) else 'not finite'}, "
                             f"dz {'finite' if _finite(dz) else 'not finite'}): compute the "
                             "loss from z in the stable form")
    return loss, dz


def check_logistic_cross_entropy(logistic_cross_entropy):
    """logistic_cross_entropy(z, y) returns the mean cost and dcost/dz at moderate logits."""
    rng = rng_for("lesson3_loss")
    for n in (1, 7, 200):
        z = rng.normal(scale=3.0, size=n)
        y = rng.integers(0, 2, size=n)
        where = f"for {n} fresh logits between {z.min():.2f} and {z.max():.2f}"
        loss, dz = _cost_and_dz(logistic_cross_entropy, z, y, where)
        assert_gradients_close_normwise(
            {"loss": loss, "dz": dz},
            {"loss": reference_cost(z, y), "dz": autograd.grad(reference_cost)(z, y)},
            tol=GRAD_TOL, context=where, alternatives={"loss": _loss_mistakes(z, y)})


def _loss_mistakes(z, y) -> dict:
    """description -> the loss a slip in the stable form gives, to name it."""
    softplus_tail = np.log1p(np.exp(-np.abs(z)))
    return {
        "the max(z, 0) term of the stable form is missing":
            np.mean(-y * z + softplus_tail),
        "the log(1 + e^-|z|) term of the stable form is missing":
            np.mean(np.maximum(z, 0.0) - y * z),
        "the sign of the y z term is flipped: L = max(z, 0) - y z + log(1 + e^-|z|)":
            np.mean(np.maximum(z, 0.0) + y * z + softplus_tail),
        "the loss is summed over the points, not averaged: divide it by N":
            np.sum(np.maximum(z, 0.0) - y * z + softplus_tail),
    }


def check_large_logits(logistic_cross_entropy):
    """Logits of size 500 to 1000 give a finite loss and dz, and the right loss.

    One point at a time, so that the mean and the 1/N in dz, which check_logistic_cross_entropy
    judges, cannot cost these points as well.
    """
    rng = rng_for("lesson3_large_logits")
    z = rng.choice([-1.0, 1.0], size=12) * rng.uniform(500.0, 1000.0, size=12)
    y = np.tile([0, 1], 6)
    for z_i, y_i in zip(z, y):
        where = f"for the single logit z = {z_i:.1f} with label {y_i}"
        loss, _ = _cost_and_dz(logistic_cross_entropy, np.array([z_i]), np.array([y_i]), where)
        expected = float(reference_cost(np.array([z_i]), np.array([y_i])))
        if not np.isclose(float(loss), expected, rtol=VALUE_RTOL, atol=VALUE_ATOL):
            raise AssertionError(f"logistic_cross_entropy gives the loss {float(loss):.6g} "
                                 f"{where}; the stable form gives {expected:.6g}")
    z = np.concatenate([rng.uniform(-1000.0, 1000.0, size=30), rng.normal(size=10)])
    _cost_and_dz(logistic_cross_entropy, z, rng.integers(0, 2, size=40),
                 "for 40 logits mixing sizes up to 1000 with small ones")


# Several points first: with one, a sum over the wrong axis gives the right shape of one
# number, and the message could not say which axis was summed.
BACKWARD_SIZES = (8, 60, 1)


def _backward_problem(rng, n: int):
    """Fresh params, data, a correct cache and an arbitrary upstream gradient dz."""
    params = _random_params(rng)
    X, _ = _random_batch(rng, n)
    dz = rng.normal(size=n)
    expected = autograd.grad(lambda p: anp.sum(reference_logits(p, X) * dz))(params)
    return params, X, dz, expected


def _student_backward(backward, dz, params, X):
    cache = _reference_cache(params, X)
    try:
        grads = _call(backward, "backward(dz, cache)", ("dz", "cache"), dz.copy(), cache)
    except AssertionError as error:
        if "KeyError" not in str(error):
            raise
        raise AssertionError(f"{error}\nforward's cache holds only {', '.join(CACHE_KEYS)}: "
                             "backward must work from these (see forward's docstring)"
                             ) from None
    if not isinstance(grads, dict):
        raise AssertionError(f"backward should return a dict of gradients keyed U, b, W, c; "
                             f"got {type(grads).__name__}")
    return grads


def check_output_layer_gradients(backward):
    """backward(dz, cache) returns the right dW and dc, given a correct dz and cache."""
    rng = rng_for("lesson3_output_layer")
    for n in BACKWARD_SIZES:
        params, X, dz, expected = _backward_problem(rng, n)
        cache = _reference_cache(params, X)
        grads = _student_backward(backward, dz, params, X)
        assert_gradients_close_normwise(
            grads, {"W": expected["W"], "c": expected["c"]}, tol=GRAD_TOL,
            context=f"for the output layer (dW, dc) of backward on {n} fresh random points, "
                    "given the correct dz and cache",
            alternatives={"W": {"dW was computed from the pre-activations G instead of the "
                                "activations H = tanh(G)": cache["G"].T @ dz}})


def _hidden_layer_mistakes(dz, cache) -> dict:
    """gradient name -> {description: dU or db after a common slip}, for the diagnosis."""
    X, G, W = cache["X"], cache["G"], cache["W"]

    def from_local_derivative(local):
        dG = np.outer(dz, W) * local
        return {"U": dG.T @ X, "b": dG.sum(axis=0)}

    mistakes = propagate_mistakes(activation_derivative_mistakes("tanh", G),
                                  from_local_derivative)
    without_W = np.outer(dz, np.ones_like(W)) * (1.0 - np.tanh(G) ** 2)
    forgot_W = "dH is missing the factor W: the chain from z back to H runs through W"
    mistakes["U"][forgot_W] = without_W.T @ X
    mistakes["b"][forgot_W] = without_W.sum(axis=0)
    return mistakes


def check_hidden_layer_gradients(backward):
    """backward(dz, cache) returns the right dU and db, given a correct dz and cache."""
    rng = rng_for("lesson3_hidden_layer")
    for n in BACKWARD_SIZES:
        params, X, dz, expected = _backward_problem(rng, n)
        grads = _student_backward(backward, dz, params, X)
        assert_gradients_close_normwise(
            grads, {"U": expected["U"], "b": expected["b"]}, tol=GRAD_TOL,
            context=f"for the hidden layer (dU, db) of backward on {n} fresh random points, "
                    "given the correct dz and cache",
            alternatives=_hidden_layer_mistakes(dz, _reference_cache(params, X)))


def training_problem(rng):
    """Training ring, starting parameters and held-out ring points, all from ``rng``."""
    rng = as_generator(rng)
    X, y = ring(rng, TRAIN_POINTS)
    params = init_params(rng)
    X_test, y_test = ring(rng, TEST_POINTS)
    return X, y, params, X_test, y_test


def train_reference(X, y, params, step_size: float = STEP_SIZE,
                    iterations: int = ITERATIONS) -> dict:
    """Gradient descent with the hand-derived gradients (vectorised numpy, for calibration)."""
    U, b, W, c = (np.array(params[name], dtype=float) for name in ("U", "b", "W", "c"))
    n = len(y)
    for _step in range(iterations):
        H = np.tanh(X @ U.T + b)
        dz = (0.5 * (1.0 + np.tanh(0.5 * (H @ W + c))) - y) / n
        dG = np.outer(dz, W) * (1.0 - H * H)
        U -= step_size * (dG.T @ X)
        b -= step_size * dG.sum(axis=0)
        W -= step_size * (H.T @ dz)
        c -= step_size * dz.sum()
    return {"U": U, "b": b, "W": W, "c": c}


def evaluate(params, X, y, X_test, y_test) -> tuple[float, float]:
    """(training cost, held-out accuracy) of trained parameters."""
    loss = float(reference_cost(reference_logits(params, X), y))
    accuracy = float(np.mean((reference_logits(params, X_test) > 0) == (y_test == 1)))
    return loss, accuracy


def _as_float_params(params) -> dict:
    if not isinstance(params, dict) or set(params) != {"U", "b", "W", "c"}:
        raise AssertionError(f"gradient_descent should return (params, losses) with params a "
                             f"dict keyed U, b, W, c; got {params!r:.80}")
    shapes = {"U": (HIDDEN_UNITS, 2), "b": (HIDDEN_UNITS,), "W": (HIDDEN_UNITS,), "c": ()}
    for name, shape in shapes.items():
        if np.shape(params[name]) != shape:
            raise AssertionError(f"gradient_descent returned params[{name!r}] of shape "
                                 f"{np.shape(params[name])}; expected {shape}")
    return {name: np.asarray(value, dtype=float) for name, value in params.items()}


def _backprop_mistakes(X, y, params) -> dict:
    """backward's slips, as backprop's gradients of the cost would show them."""
    cache = _reference_cache(params, X)
    dz = autograd.grad(reference_cost)(reference_logits(params, X), y)
    mistakes = _hidden_layer_mistakes(dz, cache)
    mistakes["W"] = {"dW was computed from the pre-activations G instead of the activations "
                     "H = tanh(G)": cache["G"].T @ dz}
    return mistakes


# Every loss function of the course returns (loss, grads), in this order.
SWAPPED = ("backprop returned (grads, loss): it should return (loss, grads), the order of "
           "every loss function in the course")


def _swapped(result) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict)


def _first_wrong_gradient(backprop, X, y, params) -> str:
    """Where backprop's gradients at the starting point go wrong, or '' if they are right."""
    try:
        result = as_tuple(backprop(X.copy(), y.copy(), _copy(params)), 2, "backprop")
    except Exception as error:  # any failure is the student's to see
        # The grader's StudentCodeError already reads "KindOfError: message".
        kind = type(error).__name__
        text = str(error) if kind == "StudentCodeError" else f"{kind}: {error}"
        return f"; backprop fails at the starting point ({text})"
    if _swapped(result):
        return f"; {SWAPPED}"
    _, grads = result
    expected = autograd.grad(lambda p: reference_cost(reference_logits(p, X), y))(params)
    if not isinstance(grads, dict):
        return f"; backprop returns {type(grads).__name__} where a dict of gradients belongs"
    # In the order backprop computes them, so the first problem is the first wrong gradient.
    problems = normwise_gradient_mismatches(grads, {name: expected[name] for name in "cWbU"},
                                          tol=GRAD_TOL,
                                          alternatives=_backprop_mistakes(X, y, params))
    if problems:
        return f"; the first wrong gradient of backprop at the starting point is {problems[0]}"
    return ""


# A short run judges the loop itself: a step size and a number of steps other than the
# lesson's (so ignoring either shows), and parameters where every gradient is clearly nonzero.
SHORT_STEP_SIZE = 0.3
SHORT_ITERATIONS = 4
SHORT_POINTS = 60


def _reference_gradients(X, y, params) -> dict:
    return autograd.grad(lambda p: reference_cost(reference_logits(p, X), y))(params)


def reference_descent(X, y, params, step_size, iterations, sign=-1.0, frozen=(),
                      stale=False) -> dict:
    """The parameters after ``iterations`` updates ``p <- p + sign * step_size * grad``.

    With a slip: sign=+1 climbs, ``frozen`` names are never updated, ``stale`` reuses the
    first gradients.
    """
    params = {name: np.array(value, dtype=float) for name, value in params.items()}
    grads = _reference_gradients(X, y, params)
    for _step in range(iterations):
        if not stale:
            grads = _reference_gradients(X, y, params)
        params = {name: value if name in frozen else value + sign * step_size * grads[name]
                  for name, value in params.items()}
    return params


def _descent_mistakes(X, y, params, step_size, iterations) -> dict:
    """parameter name -> {description: its value after a slip in the loop}, for the diagnosis."""
    slips = {
        f"step_size is ignored: the parameters moved as with step_size = 1, not "
        f"step_size = {step_size}":
            reference_descent(X, y, params, 1.0, iterations),
        "the parameters moved along the gradient, not against it (gradient ascent): "
        "the update is p - step_size * grad":
            reference_descent(X, y, params, step_size, iterations, sign=1.0),
        "stale gradients: they were computed once, before the loop, and reused at every "
        "step; compute them at the current parameters in each step":
            reference_descent(X, y, params, step_size, iterations, stale=True),
    }
    for name in params:
        slips[f"params[{name!r}] is never updated: update every parameter"] = (
            reference_descent(X, y, params, step_size, iterations, frozen=(name,)))
    return {name: {what: wrong[name] for what, wrong in slips.items()} for name in params}


def _short_problem(rng):
    """A fresh ring of SHORT_POINTS points and starting parameters with nonzero biases."""
    X, y = ring(rng, SHORT_POINTS)
    params = init_params(rng)
    params["b"] = rng.normal(scale=0.5, size=HIDDEN_UNITS)
    params["c"] = float(rng.normal(scale=0.5))
    return X, y, params


def _student_loss_at(backprop, X, y, params) -> float:
    result = as_tuple(_call(backprop, "backprop(X, y, params)", ("X", "y", "params"),
                            X.copy(), y.copy(), _copy(params)), 2, "backprop(X, y, params)")
    if _swapped(result):
        raise AssertionError(SWAPPED)
    return float(result[0])


def _one_hint(separator: str, problems: list[str]) -> str:
    """The problem lines, with a diagnosis they all share said once, after them."""
    hints = {problem.partition("; ")[2] for problem in problems}
    if len(hints) != 1 or not next(iter(hints)):
        return separator.join(problems)
    lines = [problem.partition("; ")[0] for problem in problems]
    return separator.join(lines) + f"\n{next(iter(hints))}"


def _backprop_note(backprop, X, y, params) -> str:
    """On a line of its own: backprop's first wrong gradient at ``params``, if any."""
    found = _first_wrong_gradient(backprop, X, y, params)
    if not found:
        return ""
    return ("\n" + found.removeprefix("; ") + "\n(backprop joins forward, "
            "logistic_cross_entropy and backward: fix first those their own checks find wrong)")


def _check_params_kept(call, params, start):
    """params: the dict handed to gradient_descent, as it is after the call."""
    changed = [name for name in start if not (
        isinstance(params.get(name), np.ndarray | float | int | np.generic)
        and np.shape(params[name]) == np.shape(start[name])
        and np.array_equal(params[name], start[name]))]
    if changed or set(params) != set(start):
        which = ", ".join(changed) or "its keys"
        raise AssertionError(f"{call} changed the caller's params ({which}): the docstring "
                             "promises to leave them unchanged; update copies (np.copy of "
                             "each array), not the arrays passed in")


def _check_losses(call, where, losses, backprop, X, y, start):
    """losses[k] is the loss before update k: backprop's loss after k correct updates.

    Judged against the student's own backprop, so a wrong loss (which the loss checks judge)
    costs nothing here; only when and how often the loop records it.
    """
    def loss_after(updates):
        return _student_loss_at(backprop, X, y,
                                reference_descent(X, y, start, SHORT_STEP_SIZE, updates))

    got = np.asarray([float(loss) for loss in losses])
    before = np.array([loss_after(k) for k in range(SHORT_ITERATIONS)])
    if np.allclose(got, before, rtol=VALUE_RTOL, atol=VALUE_ATOL):
        return
    after = np.append(before[1:], loss_after(SHORT_ITERATIONS))
    hint = ("; each loss is the loss after its update: record it before the update, as the "
            "docstring says" if np.allclose(got, after, rtol=VALUE_RTOL, atol=VALUE_ATOL)
            else "")
    raise AssertionError(f"{call} {where} returned the losses {np.round(got, 6).tolist()}, "
                         f"but backprop gives {np.round(before, 6).tolist()} before each "
                         f"update{hint}")


def _loss_and_grads(backprop, X, y):
    """The function the lesson hands gradient_descent, ``lambda p: backprop(X, y, p)``, with
    the student's backprop."""
    return lambda params: backprop(X.copy(), y.copy(), params)


def _check_short_run(gradient_descent, backprop, rng):
    """The docstring's promises on a short run: the caller's params unchanged, step_size and
    iterations obeyed, and one loss per step, recorded before its update."""
    X, y, start = _short_problem(rng)
    params = _copy(start)
    call = (f"gradient_descent(lambda p: backprop(X, y, p), params, {SHORT_STEP_SIZE}, "
            f"{SHORT_ITERATIONS})")
    where = f"on a fresh ring of {SHORT_POINTS} points"
    try:
        result = _call(gradient_descent, call,
                       ("loss_and_grads", "params", "step_size", "iterations"),
                       _loss_and_grads(backprop, X, y), params, SHORT_STEP_SIZE,
                       SHORT_ITERATIONS)
    except AssertionError as error:  # a crash: say whether backprop is where it comes from
        raise AssertionError(f"{error}" + _backprop_note(backprop, X, y, start)) from None
    _check_params_kept(call, params, start)
    trained, losses = as_tuple(result, 2, call)
    try:
        trained = _as_float_params(trained)
    except AssertionError as error:
        raise AssertionError(f"{error}" + _backprop_note(backprop, X, y, start)) from None
    try:
        count = len(losses)
    except TypeError:
        raise AssertionError(f"{call} should return (params, losses) with losses a list; got "
                             f"{type(losses).__name__}") from None
    if count != SHORT_ITERATIONS:
        hint = ": it ignores iterations" if count == ITERATIONS else ""
        raise AssertionError(f"{call} returned {count} losses; expected {SHORT_ITERATIONS}, "
                             f"one per step{hint}")
    expected = reference_descent(X, y, start, SHORT_STEP_SIZE, SHORT_ITERATIONS)
    problems = normwise_gradient_mismatches(
        trained, {name: expected[name] for name in "cWbU"}, tol=GRAD_TOL,
        alternatives=_descent_mistakes(X, y, start, SHORT_STEP_SIZE, SHORT_ITERATIONS))
    if problems:
        raise AssertionError(f"{call} {where} returned the wrong parameters:\n  "
                             + _one_hint("\n  ", problems)
                             + _backprop_note(backprop, X, y, start))
    _check_losses(call, where, losses, backprop, X, y, start)


def check_training(gradient_descent, backprop):
    """gradient_descent keeps its docstring's promises on a short run, then trains a fresh
    ring to a low cost and a high held-out accuracy with the student's backprop."""
    rng = rng_for("lesson3_training")
    X, y, params, X_test, y_test = training_problem(rng)
    _check_short_run(gradient_descent, backprop, rng)
    call = (f"gradient_descent(lambda p: backprop(X, y, p), params, {STEP_SIZE}, "
            f"{ITERATIONS})")
    try:
        result = gradient_descent(_loss_and_grads(backprop, X, y), _copy(params), STEP_SIZE,
                                  ITERATIONS)
    except Exception as error:
        raise AssertionError(f"gradient_descent failed on a fresh ring of {TRAIN_POINTS} points "
                             f"({type(error).__name__}: {error})"
                             + _first_wrong_gradient(backprop, X, y, params)) from None
    trained, _ = as_tuple(result, 2, call)
    trained = _as_float_params(trained)
    loss, accuracy = evaluate(trained, X, y, X_test, y_test)
    if not (loss <= MAX_TRAIN_LOSS and accuracy >= MIN_TEST_ACCURACY):
        raise AssertionError(
            f"after {ITERATIONS} steps of size {STEP_SIZE} on a fresh ring of {TRAIN_POINTS} "
            f"points, the cost is {loss:.3f} (needs <= {MAX_TRAIN_LOSS}) and the accuracy on "
            f"{TEST_POINTS} held-out points is {accuracy:.3f} (needs >= {MIN_TEST_ACCURACY})"
            + _first_wrong_gradient(backprop, X, y, params))


def calibrate(seeds=range(50)) -> list[Calibration]:
    """Training loss and held-out accuracy of the reference, on the seeds and the grading
    seed: both must pass for every one."""
    results = {}
    for seed in [*seeds, "grading"]:
        rng = rng_for("lesson3_training") if seed == "grading" else seed
        X, y, params, X_test, y_test = training_problem(rng)
        results[seed] = evaluate(train_reference(X, y, params), X, y, X_test, y_test)
    return [
        Calibration.over("training loss", {s: r[0] for s, r in results.items()},
                         MAX_TRAIN_LOSS, upper_bound=True),
        Calibration.over("held-out accuracy", {s: r[1] for s, r in results.items()},
                         MIN_TEST_ACCURACY),
    ]
