"""Checks for lesson 2: softmax cross-entropy, linear and ReLU layers, two spiral classifiers.

Gradients are compared with ``autograd.grad`` of reference losses written here with
``autograd.numpy``, at fresh random parameters and data, as whole arrays (float32 answers
are correct; see ``course.gradient_check.norm_rel_error``). When a composed gradient is
wrong, each backward step is re-run on its own, fed the correct upstream gradient, so the
message names the first wrong one (dscores, dW2/db2, dhidden, dz, dW1/db1).

Beyond the values, the checks hold the functions to their docstrings: a layer's backward
pass must use the cache it is given (another forward call runs in between, as in a
network), gradient_descent must leave the starting params unchanged and record each loss
before its step, and every parameter (step_size, iterations, reg) is given a value at which
ignoring it shows. Where the value matches a usual slip, the message names it; a crash in
the student's code is reported with the call and the shapes it was given.

Accuracy checks train with the student's ``gradient_descent`` and loss on a fresh spiral
sample and score on another; ``calibrate`` runs the same procedure with the reference over
many seeds, which is how the thresholds below were chosen (tests/test_lesson2.py).
"""

from collections.abc import Callable

import autograd
import autograd.numpy as anp
import numpy as np

from course.datasets import spiral
from course.gradient_check import (
    GRADIENT_TOL,
    norm_rel_error,
    normwise_gradient_mismatches,
    regularisation_mistakes,
)
from grader.checks.common import (
    Calibration,
    as_tuple,
    describe_arguments,
    error_text,
    rng_for,
    student_crash,
)
from grader.checks.mistakes import activation_derivative_mistakes, propagate_mistakes

# float32 rounding (~1e-7) must pass, a bug (>1e-3) must not.
GRAD_TOL = LOSS_RTOL = GRADIENT_TOL
# Scores near 1000 carry only ~1e-13 (float64) or ~1e-4 (float32) of absolute precision.
STABILITY_TOL = 1e-4
# Large enough that a slip in the regularisation gradient is never within tolerance.
CHECK_REGS = (0.3, 0.7)

# Training as in the notebook.
STEP_SIZE = 1.0
REG = 1e-3
CLASSES = 3
HIDDEN = 100
ITERATIONS = {"linear": 200, "two_layer": 200}
# Held-out accuracy the reference clears on every calibration seed (chance is 1/3).
MIN_ACCURACY = {"linear": 0.45, "two_layer": 0.92}

RELU_MASK_FROM_GRADIENT = ("the ReLU mask was taken from the sign of the upstream gradient, "
                           "not from the forward pass (z > 0)")


# --- references (autograd.numpy) ---------------------------------------------------------

def reference_cross_entropy(scores, y):
    """Mean softmax cross-entropy of scores: (N, C) against labels y: (N,)."""
    shifted = scores - anp.max(scores, axis=1, keepdims=True)
    log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
    return -anp.mean(log_probs[np.arange(len(y)), y])


def reference_classifier_loss(params, X, y, reg):
    """Cross-entropy of X W + b plus 0.5 * reg * ||W||^2."""
    scores = anp.dot(X, params["W"]) + params["b"]
    return reference_cross_entropy(scores, y) + 0.5 * reg * anp.sum(params["W"] ** 2)


def reference_two_layer_loss(params, X, y, reg):
    """Cross-entropy of relu(X W1 + b1) W2 + b2 plus 0.5 * reg * (||W1||^2 + ||W2||^2)."""
    hidden = anp.maximum(anp.dot(X, params["W1"]) + params["b1"], 0.0)
    scores = anp.dot(hidden, params["W2"]) + params["b2"]
    penalty = anp.sum(params["W1"] ** 2) + anp.sum(params["W2"] ** 2)
    return reference_cross_entropy(scores, y) + 0.5 * reg * penalty


def _linear_gradients(X, W, b, dout):
    """dX, dW, db of sum((X W + b) * dout), by autograd."""
    def weighted(X_, W_, b_):
        return anp.sum((anp.dot(X_, W_) + b_) * dout)
    return [autograd.grad(weighted, i)(X, W, b) for i in range(3)]


def _relu_gradient(z, dout):
    return autograd.grad(lambda z_: anp.sum(anp.maximum(z_, 0.0) * dout))(z)


# --- fast numpy references, for calibration only (tests check them against autograd) ----

def numpy_classifier_loss(params, X, y, reg):
    """(loss, grads) of reference_classifier_loss, vectorised numpy."""
    scores = X @ params["W"] + params["b"]
    loss, dscores = _numpy_cross_entropy(scores, y)
    W = params["W"]
    return (loss + 0.5 * reg * np.sum(W * W),
            {"W": X.T @ dscores + reg * W, "b": dscores.sum(axis=0)})


def numpy_two_layer_loss(params, X, y, reg):
    """(loss, grads) of reference_two_layer_loss, vectorised numpy."""
    W1, W2 = params["W1"], params["W2"]
    z = np.matmul(X, W1, out=_scratch("z", (len(X), W1.shape[1])))
    z += params["b1"]
    hidden = np.maximum(z, 0.0, out=_scratch("hidden", z.shape))
    loss, dscores = _numpy_cross_entropy(hidden @ W2 + params["b2"], y)
    dz = np.matmul(dscores, W2.T, out=_scratch("dz", z.shape))
    dz *= z > 0
    return (loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2)),
            {"W1": X.T @ dz + reg * W1, "b1": dz.sum(axis=0),
             "W2": hidden.T @ dscores + reg * W2, "b2": dscores.sum(axis=0)})


_SCRATCH: dict[tuple, np.ndarray] = {}


def _scratch(name: str, shape: tuple) -> np.ndarray:
    """A reusable work array. Why: allocating and freeing a fresh (300, 100) array every
    step costs page faults that make calibration several times slower in small VMs."""
    key = (name, shape)
    if key not in _SCRATCH:
        _SCRATCH[key] = np.empty(shape)
    return _SCRATCH[key]


def _numpy_cross_entropy(scores, y):
    rows = np.arange(len(y))
    centred = scores - np.max(scores, axis=1)[:, None]
    log_p = centred - np.log(np.sum(np.exp(centred), axis=1))[:, None]
    grad = np.exp(log_p)
    grad[rows, y] = grad[rows, y] - 1.0
    return -np.mean(log_p[rows, y]), grad / len(y)


def numpy_gradient_descent(loss_and_grads, params, step_size, iterations):
    current = {key: np.array(value, dtype=float) for key, value in params.items()}
    history = []
    for _step in range(iterations):
        value, gradient = loss_and_grads(current)
        history.append(value)
        for key in current:
            current[key] -= step_size * gradient[key]
    return current, history


# --- helpers -----------------------------------------------------------------------------

def _labels(rng, n, classes):
    """n labels using every class at least once when n allows."""
    y = rng.integers(0, classes, size=n)
    y[:min(n, classes)] = np.arange(min(n, classes))
    return rng.permutation(y)


def _loss_problem(name, got, expected, mistakes=None):
    """A line if the loss value is not a finite number within LOSS_RTOL of expected.

    mistakes: description -> the loss that mistake gives, to name it when one matches.
    """
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"{name}: expected a number, got {type(got).__name__}"
    if not np.isfinite(value):
        return f"{name}: is {value} (nan or inf)"
    err = abs(value - expected) / max(abs(expected), 1e-12)
    if err <= LOSS_RTOL:
        return None
    problem = f"{name}: relative error {err:.2e} (tolerance {LOSS_RTOL:.0e})"
    for description, wrong in (mistakes or {}).items():
        if abs(value - wrong) <= LOSS_RTOL * max(abs(wrong), 1e-12):
            return f"{problem}; {description}"
    return problem


def _penalty_mistakes(data_loss, penalties, reg, n):
    """Wrong regularised losses, by description. penalties: name -> sum(W**2); n: examples."""
    total = sum(penalties.values())
    mistakes = {
        "the cross-entropy is summed over the examples, not averaged: divide it by N":
            n * data_loss + 0.5 * reg * total,
        "the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss": data_loss,
        "the penalty's factor 0.5 is missing: reg * sum(W**2) was added":
            data_loss + reg * total,
        "the penalty was subtracted instead of added": data_loss - 0.5 * reg * total,
    }
    if len(penalties) > 1:
        for name, penalty in penalties.items():
            mistakes[f"the loss has the penalty on {name} only: every weight matrix "
                     "is penalised"] = data_loss + 0.5 * reg * penalty
    return mistakes


def _call(fn, what, names, *args, returns=0):
    """fn(*args) for a student's function. A crash becomes a message naming the call and
    the shapes it was given, not a traceback into this module. It starts "your code raised
    <Error>" as the grader's own report of a crash does (grader.instructor.diagnoses groups
    the class's crashes, and a stub's NotImplementedError, by it).

    what: e.g. "linear_forward(X, W, b)"; names: the arguments' names, for the message;
    returns: if > 0, the number of values fn must return as a tuple.
    """
    try:
        result = fn(*args)
    except Exception as error:
        raise student_crash(error, what, describe_arguments(names, args)) from None
    return as_tuple(result, returns, what) if returns else result


def _fail(what, context, problems, extra=""):
    if problems:
        raise AssertionError(f"{what}: check failed {context}:\n  " + "\n  ".join(problems)
                             + (f"\n{extra}" if extra else ""))


def _first_wrong_step(steps, problems=()) -> str:
    """steps: (description, compute) in backward order; compute() -> (got, expected,
    alternatives). Returns a paragraph naming the first step that is wrong.

    problems: those already found; if only the loss value is wrong, the steps are not re-run.
    """
    if problems and all(problem.startswith("loss:") for problem in problems):
        return "The gradients are right: only the loss value is wrong."
    for description, compute in steps:
        try:
            got, expected, alternatives = compute()
            problems = normwise_gradient_mismatches(got, expected, GRAD_TOL, alternatives)
        except Exception as error:  # the student's layer crashed: that is the finding
            problems = [f"raised {error_text(error)}"]
        if problems:
            return (f"Re-running each backward step on its own, fed the correct upstream "
                    f"gradient, the first wrong gradient is in {description}:\n  "
                    + "\n  ".join(problems))
    return ("Every backward step is right when fed the correct upstream gradient, so the "
            "mistake is in how they are put together: the regularisation gradients, or which "
            "gradient is passed to which step.")


def _dscores_alternatives(scores, y):
    """Wrong dscores that a message can name: no '- 1', softmax over the wrong axis."""
    n = len(y)
    indicator = np.eye(scores.shape[1])[y]

    def normalised(exp_scores, axis):
        return exp_scores / exp_scores.sum(axis=axis, keepdims=True)

    row_shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    wrong_axis = "the softmax is normalised over the examples (axis 0), not the classes (axis 1)"
    return {"dscores": {
        "it is softmax(scores) / N: the 1 at each example's correct class was never "
        "subtracted": normalised(row_shifted, 1) / n,
        wrong_axis: (normalised(np.exp(scores - scores.max()), 0) - indicator) / n,
        "the row maximum is subtracted, but " + wrong_axis:
            (normalised(row_shifted, 0) - indicator) / n,
    }}


# --- gradient checks ---------------------------------------------------------------------

def check_softmax_cross_entropy(softmax_cross_entropy):
    """Loss and dscores at fresh random scores of several shapes (moderate size)."""
    rng = rng_for("softmax_cross_entropy")
    for n, classes in [(6, 3), (10, 4), (1, 3), (13, 2)]:
        scores = rng.normal(scale=3.0, size=(n, classes))
        y = _labels(rng, n, classes)
        loss, dscores = _call(softmax_cross_entropy, "softmax_cross_entropy(scores, y)",
                              ("scores", "y"), scores.copy(), y.copy(), returns=2)
        expected_loss = reference_cross_entropy(scores, y)
        summed = {"the loss is summed over the examples, not averaged: divide by N":
                  n * expected_loss}
        problems = [p for p in [_loss_problem("loss", loss, expected_loss,
                                              summed if n > 1 else None)] if p]
        problems += normwise_gradient_mismatches(
            {"dscores": dscores},
            {"dscores": autograd.grad(reference_cross_entropy)(scores, y)},
            GRAD_TOL, _dscores_alternatives(scores, y))
        _fail("softmax_cross_entropy", f"at random scores of shape {(n, classes)}", problems)


def check_softmax_is_stable(softmax_cross_entropy):
    """Finite results for scores around +-1000, equal to those for the unshifted scores.

    Adding a constant to a row leaves its softmax unchanged, so the answer at the shifted
    scores must equal the student's own answer at the original ones: this cell judges
    stability only, and a wrong but stable gradient loses its points elsewhere.
    """
    rng = rng_for("softmax_is_stable")
    n, classes = 8, 4
    scores = rng.normal(scale=3.0, size=(n, classes))
    y = _labels(rng, n, classes)
    loss, dscores = _call(softmax_cross_entropy, "softmax_cross_entropy(scores, y)",
                          ("scores", "y"), scores.copy(), y.copy(), returns=2)
    for label, offset in [("+1000", 1000.0), ("-1000", -1000.0),
                          ("+1000 in some rows and -1000 in others",
                           rng.choice([-1000.0, 1000.0], (n, 1)))]:
        with np.errstate(all="ignore"):
            shifted_loss, shifted_dscores = _call(
                softmax_cross_entropy, f"softmax_cross_entropy(scores {label}, y)",
                ("scores", "y"), scores + offset, y.copy(), returns=2)
        finite = np.all(np.isfinite(np.asarray(shifted_loss, dtype=float))) and np.all(
            np.isfinite(np.asarray(shifted_dscores, dtype=float)))
        if not finite:
            raise AssertionError(
                f"softmax_cross_entropy returned nan or inf for scores around {label}: "
                "exp(1000) overflows to inf and exp(-1000) underflows to 0. Subtract each "
                "row's maximum score before exponentiating; the softmax does not change.")
        problems = normwise_gradient_mismatches(
            {"loss": shifted_loss, "dscores": shifted_dscores},
            {"loss": loss, "dscores": dscores}, STABILITY_TOL)
        _fail("softmax_cross_entropy", f"for scores around {label}", problems,
              "Adding the same number to every score of a row must not change the softmax, "
              "the loss or dscores.")


STALE_CACHE = ("these are the gradients for the inputs of the most recent {forward} call, "
               "not for those of the cache it was given: {backward} must take everything "
               "it needs from its cache argument (a layer is used more than once per "
               "pass), not from a variable that the latest forward call overwrote")


def _forward_problem(name, got, expected):
    """A line if a forward value has the wrong shape or values (float32 rounding passes)."""
    if np.shape(got) != expected.shape:
        return f"{name}: shape {np.shape(got)}, expected {expected.shape}"
    if norm_rel_error(got, expected) > GRAD_TOL:
        return f"{name}: relative error {norm_rel_error(got, expected):.2e}"
    return None


def check_linear_layer(linear_forward, linear_backward):
    """Forward value and dX, dW, db for fresh random inputs and upstream gradients.

    Between forward and backward the layer runs forward once more on other inputs, as the
    two-layer network does: backward must use the cache it is given.
    """
    rng = rng_for("linear_layer")
    for n, d, m in [(4, 3, 5), (7, 2, 3), (1, 4, 2)]:
        X, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        other = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        dout = rng.normal(size=(n, m))
        context = f"for X: {X.shape}, W: {W.shape}, b: {b.shape}"
        forward = ("linear_forward(X, W, b)", ("X", "W", "b"))
        out, cache = _call(linear_forward, *forward, X.copy(), W.copy(), b.copy(), returns=2)
        problem = _forward_problem("out", out, X @ W + b)
        if problem:
            raise AssertionError(f"linear_forward returns wrong values {context}: {problem}")
        _call(linear_forward, *forward, *[value.copy() for value in other], returns=2)
        dX, dW, db = _call(linear_backward, "linear_backward(dout, cache)", ("dout", "cache"),
                           dout.copy(), cache, returns=3)
        expected = dict(zip(["dX", "dW", "db"], _linear_gradients(X, W, b, dout)))
        stale = STALE_CACHE.format(forward="linear_forward", backward="linear_backward")
        stale_gradients = dict(zip(["dX", "dW"], _linear_gradients(*other, dout)))
        alternatives = {name: {stale: value} for name, value in stale_gradients.items()}
        _fail("linear_backward", context,
              normwise_gradient_mismatches({"dX": dX, "dW": dW, "db": db}, expected, GRAD_TOL,
                                           alternatives))


def check_relu_layer(relu_forward, relu_backward):
    """Forward value and dz for fresh random pre-activations and upstream gradients."""
    rng = rng_for("relu_layer")
    for shape in [(6, 5), (3, 8), (10,)]:
        z, other, dout = (rng.normal(size=shape) for _ in range(3))
        out, cache = _call(relu_forward, "relu_forward(z)", ("z",), z.copy(), returns=2)
        problem = _forward_problem("out", out, np.maximum(z, 0.0))
        if problem:
            raise AssertionError(f"relu_forward returns wrong values for z of shape {shape}: "
                                 f"{problem}")
        # a second forward call in between, as in a network with two ReLU layers
        _call(relu_forward, "relu_forward(z)", ("z",), other.copy(), returns=2)
        dz = _call(relu_backward, "relu_backward(dout, cache)", ("dout", "cache"),
                   dout.copy(), cache)
        alternatives = {"dz": {
            RELU_MASK_FROM_GRADIENT: dout * (dout > 0),
            STALE_CACHE.format(forward="relu_forward", backward="relu_backward"):
                dout * (other > 0),
            "the ReLU output was used where its derivative (z > 0) belongs":
                dout * np.maximum(z, 0.0),
            "the mask is inverted: the gradient passes where z <= 0": dout * (z <= 0),
        }}
        _fail("relu_backward", f"for z of shape {shape}",
              normwise_gradient_mismatches({"dz": dz}, {"dz": _relu_gradient(z, dout)}, GRAD_TOL,
                                         alternatives))


def _random_params(rng, shapes):
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _full_gradient_problems(loss_fn, what, reference, params, X, y, reg, alternatives,
                            loss_mistakes):
    """Problems with loss_fn(params, X, y, reg) = (loss, grads) against autograd's gradients.

    what: the function's name, for messages. Gradients are named dW, db, ... and listed in
    the order of ``params``, which the callers give in backprop order (last layer first).
    loss_mistakes: description -> the loss value that mistake gives.
    """
    try:
        loss, grads = _call(loss_fn, f"{what}(params, X, y, reg)",
                            ("params", "X", "y", "reg"), _copy(params), X.copy(), y.copy(),
                            reg, returns=2)
    except AssertionError as crash:
        if "NotImplementedError" in str(crash).partition("\n")[0]:
            raise  # not answered yet: nothing to diagnose
        # the backward steps, re-run alone, may say why it crashed
        return [str(crash).replace("\n", "\n  ")]
    if not isinstance(grads, dict):
        return [f"grads should be a dict with keys {sorted(params)}, got {type(grads).__name__}"]
    expected = autograd.grad(reference)(params, X, y, reg)
    problem = _loss_problem("loss", loss, reference(params, X, y, reg), loss_mistakes)
    return ([problem] if problem else []) + normwise_gradient_mismatches(
        {f"d{name}": grads.get(name) for name in params},
        {f"d{name}": expected[name] for name in params}, GRAD_TOL, alternatives)


def check_softmax_classifier_gradients(softmax_classifier_loss, softmax_cross_entropy,
                                       linear_forward, linear_backward):
    """Loss, dW and db of the linear softmax classifier at fresh random parameters and data."""
    rng = rng_for("softmax_classifier_gradients")
    for (n, d, classes), reg in zip([(20, 2, 3), (9, 4, 5)], CHECK_REGS):
        params = _random_params(rng, {"W": (d, classes), "b": (classes,)})
        X, y = rng.normal(size=(n, d)), _labels(rng, n, classes)
        expected_dW = autograd.grad(reference_classifier_loss)(params, X, y, reg)["W"]
        alternatives = {"dW": regularisation_mistakes(expected_dW, reg * params["W"])}
        scores = X @ params["W"] + params["b"]
        loss_mistakes = _penalty_mistakes(reference_cross_entropy(scores, y),
                                          {"W": np.sum(params["W"] ** 2)}, reg, n)
        problems = _full_gradient_problems(
            softmax_classifier_loss, "softmax_classifier_loss", reference_classifier_loss,
            params, X, y, reg, alternatives, loss_mistakes)
        if problems:
            dscores = autograd.grad(reference_cross_entropy)(scores, y)
            steps = [
                _softmax_step(softmax_cross_entropy, scores, y, dscores),
                ("linear_backward (dW, db before regularisation)",
                 _LayerStep(linear_forward, linear_backward, X, params["W"], params["b"],
                            dscores, ("dX", "dW", "db"))),
            ]
            _fail("softmax_classifier_loss",
                  f"on {n} random points (D={d}, C={classes}, reg={reg})", problems,
                  _first_wrong_step(steps, problems))


def _softmax_step(softmax_cross_entropy, scores, y, dscores):
    def compute():
        got = softmax_cross_entropy(scores.copy(), y.copy())[1]
        return {"dscores": got}, {"dscores": dscores}, _dscores_alternatives(scores, y)
    return "softmax_cross_entropy (dscores)", compute


class _LayerStep:
    """The student's linear layer fed the correct input and upstream gradient.

    names: what to call its (dX, dW, db); a None name is not compared.
    """

    def __init__(self, linear_forward, linear_backward, X, W, b, dout, names):
        self.layer = (linear_forward, linear_backward)
        self.inputs = (X, W, b)
        self.dout, self.names = dout, names

    def __call__(self):
        linear_forward, linear_backward = self.layer
        _, cache = linear_forward(*[value.copy() for value in self.inputs])
        # a second forward call in between, as the network's other layer makes; not a
        # multiple of the inputs, so no sign or scale slip looks like a stale cache
        other = [1.0 + 2.0 * value for value in self.inputs]
        linear_forward(*other)
        got = as_tuple(linear_backward(self.dout.copy(), cache), 3,
                       "linear_backward(dout, cache)")
        want = _linear_gradients(*self.inputs, self.dout)
        stale = STALE_CACHE.format(forward="linear_forward", backward="linear_backward")
        stale_want = _linear_gradients(*other, self.dout)
        pairs = [(name, g, w, {stale: s}) for name, g, w, s in zip(self.names, got, want,
                                                                   stale_want) if name]
        # backprop order: the parameters' gradients, then the one passed further down
        pairs.sort(key=lambda pair: pair[0] in ("dX", "dhidden"))
        return ({n: g for n, g, _, _ in pairs}, {n: w for n, _, w, _ in pairs},
                {n: a for n, _, _, a in pairs if not n.startswith("db")})  # b is not cached


def check_two_layer_gradients(two_layer_loss, softmax_cross_entropy, linear_forward,
                              linear_backward, relu_forward, relu_backward):
    """Loss, dW1, db1, dW2, db2 of the ReLU network at fresh random parameters and data."""
    rng = rng_for("two_layer_gradients")
    layers = (softmax_cross_entropy, linear_forward, linear_backward, relu_forward,
              relu_backward)
    for (n, d, hidden, classes), reg in zip([(30, 2, 7, 3), (12, 3, 5, 4)], CHECK_REGS):
        params = _random_params(rng, {"W2": (hidden, classes), "b2": (classes,),
                                      "W1": (d, hidden), "b1": (hidden,)})
        X, y = rng.normal(size=(n, d)), _labels(rng, n, classes)
        _check_two_layer_at(two_layer_loss, layers, params, X, y, reg)


def _check_two_layer_at(two_layer_loss, layers, params, X, y, reg):
    softmax_cross_entropy, linear_forward, linear_backward, relu_forward, relu_backward = layers
    z = X @ params["W1"] + params["b1"]
    h = np.maximum(z, 0.0)
    scores = h @ params["W2"] + params["b2"]
    dscores = autograd.grad(reference_cross_entropy)(scores, y)
    dhidden = dscores @ params["W2"].T
    dz = _relu_gradient(z, dhidden)
    loss_mistakes = _penalty_mistakes(
        reference_cross_entropy(scores, y),
        {name: np.sum(params[name] ** 2) for name in ("W1", "W2")}, reg, len(y))
    problems = _full_gradient_problems(
        two_layer_loss, "two_layer_loss", reference_two_layer_loss, params, X, y, reg,
        _two_layer_alternatives(params, X, y, reg, z, dhidden), loss_mistakes)
    if not problems:
        return

    def relu_step():
        got = relu_backward(dhidden.copy(), relu_forward(z.copy())[1])
        return ({"dz": got}, {"dz": dz},
                {"dz": {RELU_MASK_FROM_GRADIENT: dhidden * (dhidden > 0)}})

    steps = [
        _softmax_step(softmax_cross_entropy, scores, y, dscores),
        ("linear_backward of the output layer (dW2, db2, dhidden)",
         _LayerStep(linear_forward, linear_backward, h, params["W2"], params["b2"], dscores,
                    ("dhidden", "dW2", "db2"))),
        ("relu_backward (dz)", relu_step),
        ("linear_backward of the hidden layer (dW1, db1)",
         _LayerStep(linear_forward, linear_backward, X, params["W1"], params["b1"], dz,
                    (None, "dW1", "db1"))),
    ]
    (n, d), (hidden, classes) = X.shape, params["W2"].shape
    _fail("two_layer_loss", f"on {n} random points (D={d}, H={hidden}, C={classes}, "
          f"reg={reg})", problems, _first_wrong_step(steps, problems))


def _two_layer_alternatives(params, X, y, reg, z, dhidden):
    """Named wrong dW1/db1 (ReLU derivative slips) and dW1/dW2 (regularisation slips)."""
    expected = autograd.grad(reference_two_layer_loss)(params, X, y, reg)
    mistakes = activation_derivative_mistakes("relu", z)
    mistakes[RELU_MASK_FROM_GRADIENT] = (dhidden > 0).astype(float)

    def first_layer(local):
        dz = dhidden * local
        return {"dW1": X.T @ dz + reg * params["W1"], "db1": dz.sum(axis=0)}

    alternatives = propagate_mistakes(mistakes, first_layer)
    for name in ("W1", "W2"):
        alternatives.setdefault(f"d{name}", {}).update(
            regularisation_mistakes(expected[name], reg * params[name]))
    return alternatives


IN_PLACE = ("it changed the caller's starting params in place, though its docstring promises "
            "to leave them unchanged: copy each array first (value.copy()), then update the "
            "copies")
STALE_GRADIENT = ("the gradient was computed once, at the starting point, and reused at every "
                  "step: call loss_and_grads(params) inside the loop, at the current params")


def _descend(bowl, start, step_size, iterations, stale=False):
    """The iterates p_0 .. p_iterations of gradient descent on ``bowl``.

    stale: use the gradient at p_0 for every step (a mistake, to recognise it).
    """
    params, iterates = _copy(start), [_copy(start)]
    first_gradient = bowl(params)[1]
    for _ in range(iterations):
        grads = first_gradient if stale else bowl(params)[1]
        params = {name: params[name] - step_size * grads[name] for name in params}
        iterates.append(params)
    return iterates


def _flat(params, names):
    return np.concatenate([np.ravel(np.asarray(params[name], dtype=float)) for name in names])


def _descent_mistakes(bowl, start, step_size, iterations):
    """(final params, losses) that the usual slips give: description -> params or losses."""
    iterates = _descend(bowl, start, step_size, iterations)
    stale = _descend(bowl, start, step_size, iterations, stale=True)
    finals = {
        f"step_size is ignored: every step moved by the whole gradient, as if step_size "
        f"were 1 (it is {step_size} here)": _descend(bowl, start, 1.0, iterations)[-1],
        STALE_GRADIENT: stale[-1],
        f"it made {iterations - 1} steps instead of iterations = {iterations}": iterates[-2],
        f"it made {iterations + 1} steps instead of iterations = {iterations}":
            _descend(bowl, start, step_size, iterations + 1)[-1],
    }
    losses = {
        "each loss was recorded after its step, not before it (the docstring asks for the "
        "loss at the params each step starts from)": [bowl(p)[0] for p in iterates[1:]],
        "the starting loss was recorded at every step: " + STALE_GRADIENT:
            [bowl(start)[0]] * iterations,
    }
    return finals, losses


def _matching(got, mistakes, distance):
    """The description of the first mistake within 1e-4 of ``got``, or None."""
    for description, wrong in mistakes.items():
        try:
            if distance(got, wrong) <= 1e-4:
                return description
        except (ValueError, TypeError, KeyError):
            continue
    return None


def check_gradient_descent(gradient_descent):
    """Iterates and losses of gradient descent on a fresh quadratic bowl (closed form).

    The step size (0.3) and the number of steps (6) are such that ignoring either, or
    reusing the first gradient, or recording each loss after its step, gives other values;
    the starting params must come back unchanged.
    """
    rng = rng_for("gradient_descent")
    centre = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=4)}
    curvature = {name: rng.uniform(0.5, 1.5, size=value.shape) for name, value in centre.items()}
    start = {name: rng.normal(size=value.shape) for name, value in centre.items()}
    step_size, iterations = 0.3, 6

    def bowl(params):
        offsets = {name: params[name] - centre[name] for name in centre}
        loss = sum(0.5 * np.sum(curvature[n] * offsets[n] ** 2) for n in centre)
        return loss, {name: curvature[name] * offsets[name] for name in centre}

    context = f"for {iterations} steps of size {step_size} on a quadratic bowl"
    given = _copy(start)
    final, losses = _call(gradient_descent,
                          "gradient_descent(loss_and_grads, params, step_size, iterations)",
                          ("loss_and_grads", "params", "step_size", "iterations"),
                          bowl, given, step_size, iterations, returns=2)
    contraction = {n: (1.0 - step_size * curvature[n]) for n in centre}
    expected_final = {n: centre[n] + contraction[n] ** iterations * (start[n] - centre[n])
                      for n in centre}
    expected_losses = [bowl({n: centre[n] + contraction[n] ** k * (start[n] - centre[n])
                             for n in centre})[0] for k in range(iterations)]
    final_mistakes, loss_mistakes = _descent_mistakes(bowl, start, step_size, iterations)
    names = list(centre)
    problems = []
    if any(not np.array_equal(given[name], start[name]) for name in names):
        problems.append(f"params: the caller's starting params were modified; {IN_PLACE}")
    if not isinstance(final, dict) or any(final.get(name) is None for name in names):
        problems.append(f"params: the returned params should be a dict with keys {names}")
    elif any(np.shape(final[name]) != start[name].shape for name in names):
        problems += [f"{name}: shape {np.shape(final[name])}, expected {start[name].shape}"
                     for name in names if np.shape(final[name]) != start[name].shape]
    elif norm_rel_error(_flat(final, names), _flat(expected_final, names)) > GRAD_TOL:
        mistake = _matching(final, final_mistakes, lambda got, wrong: norm_rel_error(
            _flat(got, names), _flat(wrong, names)))
        if mistake:
            problems.append(f"params: wrong after {iterations} steps; {mistake}")
        for name in [] if mistake else names:
            if norm_rel_error(final[name], expected_final[name]) > GRAD_TOL:
                hint = _descent_hint(final[name], start[name], centre[name])
                problems.append(f"{name}: wrong after {iterations} steps; {hint}")
    # Wrong params make wrong losses too: judge the losses' values only on the right path.
    problems += _losses_problems(losses, expected_losses, loss_mistakes, iterations,
                                 values_too=not problems)
    _fail("gradient_descent", context, problems)


def _descent_hint(final, start, centre) -> str:
    """Why one parameter ended in the wrong place, when no catalogued mistake explains it."""
    if np.linalg.norm(np.asarray(final, dtype=float) - centre) > np.linalg.norm(start - centre):
        return "it moved away from the minimum: step along minus the gradient"
    if norm_rel_error(final, start) <= GRAD_TOL:
        return "it is where it started: is the update applied (and kept) for every parameter?"
    return "it is not where p <- p - step_size * grad leads"


def _losses_problems(losses, expected, mistakes, iterations, values_too) -> list[str]:
    """Problems with the returned list of losses: one per step, each before its step.

    values_too: compare the values (else only their number).
    """
    try:
        values = np.asarray(losses, dtype=float).ravel()
    except (TypeError, ValueError):
        return [f"losses: expected a list of {iterations} numbers, got {type(losses).__name__}"]
    if len(values) != iterations:
        return [f"losses: {len(values)} values, expected one per step ({iterations})"]
    if not values_too or norm_rel_error(values, expected) <= LOSS_RTOL:
        return []
    mistake = _matching(values, mistakes, norm_rel_error)
    return ["losses: not the loss at the parameters before each step"
            + (f"; {mistake}" if mistake else "")]


# --- accuracy ------------------------------------------------------------------------------

def init_params(model: str, rng) -> dict:
    """The notebook's initialisation: small W for the linear model; He-scaled W1 for the net."""
    if model == "linear":
        return {"W": 0.01 * rng.standard_normal((2, CLASSES)), "b": np.zeros(CLASSES)}
    return {"W1": np.sqrt(2.0 / 2) * rng.standard_normal((2, HIDDEN)), "b1": np.zeros(HIDDEN),
            "W2": 0.1 * rng.standard_normal((HIDDEN, CLASSES)), "b2": np.zeros(CLASSES)}


def predict(params, X):
    """Class with the highest score, for either model's params."""
    if "W" in params:
        scores = X @ params["W"] + params["b"]
    else:
        hidden = np.maximum(X @ params["W1"] + params["b1"], 0.0)
        scores = hidden @ params["W2"] + params["b2"]
    return np.argmax(scores, axis=1)


def held_out_accuracy(model: str, gradient_descent: Callable, loss_fn: Callable, rng) -> float:
    """Train on one spiral sample from rng, return the accuracy on a second one."""
    X, y = spiral(rng)
    X_test, y_test = spiral(rng)
    params = init_params(model, rng)
    loss_crashes = []

    def loss_and_grads(p):
        try:
            return _call(loss_fn, f"{_name(loss_fn)}(params, X, y, reg)",
                         ("params", "X", "y", "reg"), p, X, y, REG)
        except AssertionError as crash:
            # the kernel learns only that this callback failed: keep the reason here
            loss_crashes.append(str(crash))
            raise

    try:
        trained, _ = _call(gradient_descent,
                           f"gradient_descent(loss_and_grads, params, {STEP_SIZE}, "
                           f"{ITERATIONS[model]}) with your {_name(loss_fn)} on the spiral",
                           ("loss_and_grads", "params", "step_size", "iterations"),
                           loss_and_grads, params, STEP_SIZE, ITERATIONS[model], returns=2)
    except AssertionError:
        if loss_crashes:
            raise AssertionError(f"{loss_crashes[0]}\nwhile training on the spiral with your "
                                 "gradient_descent") from None
        raise
    missing = set(params) - set(trained)
    if missing:
        raise AssertionError(f"gradient_descent returned params without {sorted(missing)}")
    if not all(np.all(np.isfinite(value)) for value in trained.values()):
        raise AssertionError(f"training with your gradient_descent and {_name(loss_fn)} "
                             "produced nan or inf parameters: the loss diverged")
    return float(np.mean(predict(trained, X_test) == y_test))


def _name(fn) -> str:
    """A function's name, or a stand-in's (the grader's proxies may not mirror it)."""
    try:
        return str(fn.__name__)
    except Exception:
        return "loss function"


def _check_accuracy(model, what, gradient_descent, loss_fn):
    accuracy = held_out_accuracy(model, gradient_descent, loss_fn, rng_for(f"{model}_accuracy"))
    if accuracy < MIN_ACCURACY[model]:
        raise AssertionError(
            f"{what} trained with your gradient_descent ({ITERATIONS[model]} steps of size "
            f"{STEP_SIZE}, reg {REG}) on a fresh spiral sample scores {accuracy:.2f} on "
            f"held-out spiral points; it should reach at least {MIN_ACCURACY[model]:.2f} "
            "(chance is 0.33)")


def check_linear_classifier_accuracy(gradient_descent, softmax_classifier_loss):
    """Held-out accuracy of the linear classifier trained with the student's code."""
    _check_accuracy("linear", "The linear softmax classifier", gradient_descent,
                    softmax_classifier_loss)


def check_two_layer_accuracy(gradient_descent, two_layer_loss):
    """Held-out accuracy of the ReLU network trained with the student's code."""
    _check_accuracy("two_layer", "The two-layer network", gradient_descent, two_layer_loss)


def calibrate(seeds=range(50)) -> list[Calibration]:
    """Held-out accuracy of the reference per model, on the seeds and the grading seed."""
    losses = {"linear": numpy_classifier_loss, "two_layer": numpy_two_layer_loss}
    found = []
    for model, loss_fn in losses.items():
        rngs = {seed: np.random.default_rng(seed) for seed in seeds}
        rngs["grading"] = rng_for(f"{model}_accuracy")
        accuracies = {seed: held_out_accuracy(model, numpy_gradient_descent, loss_fn, rng)
                      for seed, rng in rngs.items()}
        found.append(Calibration.over(f"{model}_accuracy", accuracies, MIN_ACCURACY[model]))
    return found
