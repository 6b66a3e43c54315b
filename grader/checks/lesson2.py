"""Checks for lesson 2: softmax cross-entropy, linear and ReLU layers, two spiral classifiers.

Gradients are compared with ``autograd.grad`` of reference losses written here with
``autograd.numpy``, at fresh random parameters and data, as whole arrays (float32 answers
are correct; see ``course.gradient_check.norm_rel_error``). When a composed gradient is
wrong, each backward step is re-run on its own, fed the correct upstream gradient, so the
message names the first wrong one (dscores, dW2/db2, dhidden, dz, dW1/db1).

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
    norm_rel_error,
    normwise_gradient_mismatches,
    regularisation_mistakes,
)
from grader.checks.common import Calibration, as_tuple, rng_for
from grader.checks.mistakes import activation_derivative_mistakes, propagate_mistakes

# float32 rounding (~1e-7) must pass, a bug (>1e-3) must not.
GRAD_TOL = 1e-5
LOSS_RTOL = 1e-5
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


def _loss_problem(name, got, expected):
    """A line if the loss value is not a finite number within LOSS_RTOL of expected."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"{name}: expected a number, got {type(got).__name__}"
    if not np.isfinite(value):
        return f"{name}: is {value} (nan or inf)"
    err = abs(value - expected) / max(abs(expected), 1e-12)
    if err > LOSS_RTOL:
        return f"{name}: relative error {err:.2e} (tolerance {LOSS_RTOL:.0e})"
    return None


def _fail(what, context, problems, extra=""):
    if problems:
        raise AssertionError(f"{what}: check failed {context}:\n  " + "\n  ".join(problems)
                             + (f"\n{extra}" if extra else ""))


def _first_wrong_step(steps) -> str:
    """steps: (description, compute) in backward order; compute() -> (got, expected,
    alternatives). Returns a paragraph naming the first step that is wrong."""
    for description, compute in steps:
        try:
            got, expected, alternatives = compute()
            problems = normwise_gradient_mismatches(got, expected, GRAD_TOL, alternatives)
        except Exception as error:  # the student's layer crashed: that is the finding
            problems = [f"raised {type(error).__name__}: {error}"]
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
        loss, dscores = as_tuple(softmax_cross_entropy(scores.copy(), y.copy()), 2,
                                 "softmax_cross_entropy(scores, y)")
        problems = [p for p in [_loss_problem("loss", loss, reference_cross_entropy(scores, y))]
                    if p]
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
    loss, dscores = as_tuple(softmax_cross_entropy(scores.copy(), y.copy()), 2,
                             "softmax_cross_entropy(scores, y)")
    for label, offset in [("+1000", 1000.0), ("-1000", -1000.0),
                          ("+1000 in some rows and -1000 in others",
                           rng.choice([-1000.0, 1000.0], (n, 1)))]:
        with np.errstate(all="ignore"):
            shifted_loss, shifted_dscores = as_tuple(
                softmax_cross_entropy(scores + offset, y.copy()), 2,
                "softmax_cross_entropy(scores, y)")
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


def check_linear_layer(linear_forward, linear_backward):
    """Forward value and dX, dW, db for fresh random inputs and upstream gradients."""
    rng = rng_for("linear_layer")
    for n, d, m in [(4, 3, 5), (7, 2, 3), (1, 4, 2)]:
        X, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        dout = rng.normal(size=(n, m))
        context = f"for X: {X.shape}, W: {W.shape}, b: {b.shape}"
        out, cache = as_tuple(linear_forward(X.copy(), W.copy(), b.copy()), 2,
                              "linear_forward(X, W, b)")
        if np.shape(out) != (n, m) or not np.allclose(out, X @ W + b, rtol=1e-6, atol=1e-9):
            raise AssertionError(f"linear_forward returns wrong values {context} "
                                 f"(shape {np.shape(out)}, expected {(n, m)})")
        dX, dW, db = as_tuple(linear_backward(dout.copy(), cache), 3,
                              "linear_backward(dout, cache)")
        expected = dict(zip(["dX", "dW", "db"], _linear_gradients(X, W, b, dout)))
        _fail("linear_backward", context,
              normwise_gradient_mismatches({"dX": dX, "dW": dW, "db": db}, expected, GRAD_TOL))


def check_relu_layer(relu_forward, relu_backward):
    """Forward value and dz for fresh random pre-activations and upstream gradients."""
    rng = rng_for("relu_layer")
    for shape in [(6, 5), (3, 8), (10,)]:
        z, dout = rng.normal(size=shape), rng.normal(size=shape)
        out, cache = as_tuple(relu_forward(z.copy()), 2, "relu_forward(z)")
        if np.shape(out) != shape or not np.allclose(out, np.maximum(z, 0.0)):
            raise AssertionError(f"relu_forward returns wrong values for z of shape {shape}")
        dz = relu_backward(dout.copy(), cache)
        alternatives = {"dz": {RELU_MASK_FROM_GRADIENT: dout * (dout > 0)}}
        _fail("relu_backward", f"for z of shape {shape}",
              normwise_gradient_mismatches({"dz": dz}, {"dz": _relu_gradient(z, dout)}, GRAD_TOL,
                                         alternatives))


def _random_params(rng, shapes):
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _full_gradient_problems(loss_fn, reference, params, X, y, reg, alternatives):
    """Problems with loss_fn(params, X, y, reg) = (loss, grads) against autograd's gradients.

    Gradients are named dW, db, ... and listed in the order of ``params``, which the callers
    give in backprop order (last layer first).
    """
    loss, grads = as_tuple(loss_fn(_copy(params), X.copy(), y.copy(), reg), 2,
                           f"{loss_fn.__name__}(params, X, y, reg)")
    if not isinstance(grads, dict):
        return [f"grads should be a dict with keys {sorted(params)}, got {type(grads).__name__}"]
    expected = autograd.grad(reference)(params, X, y, reg)
    problem = _loss_problem("loss", loss, reference(params, X, y, reg))
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
        problems = _full_gradient_problems(softmax_classifier_loss, reference_classifier_loss,
                                           params, X, y, reg, alternatives)
        if problems:
            scores = X @ params["W"] + params["b"]
            dscores = autograd.grad(reference_cross_entropy)(scores, y)
            steps = [
                _softmax_step(softmax_cross_entropy, scores, y, dscores),
                ("linear_backward (dW, db before regularisation)",
                 _LayerStep(linear_forward, linear_backward, X, params["W"], params["b"],
                            dscores, ("dX", "dW", "db"))),
            ]
            _fail("softmax_classifier_loss",
                  f"on {n} random points (D={d}, C={classes}, reg={reg})", problems,
                  _first_wrong_step(steps))


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
        got = as_tuple(linear_backward(self.dout.copy(), cache), 3,
                       "linear_backward(dout, cache)")
        want = _linear_gradients(*self.inputs, self.dout)
        pairs = [(name, g, w) for name, g, w in zip(self.names, got, want) if name]
        # backprop order: the parameters' gradients, then the one passed further down
        pairs.sort(key=lambda pair: pair[0] in ("dX", "dhidden"))
        return {n: g for n, g, _ in pairs}, {n: w for n, _, w in pairs}, {}


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
    problems = _full_gradient_problems(
        two_layer_loss, reference_two_layer_loss, params, X, y, reg,
        _two_layer_alternatives(params, X, y, reg, z, dhidden))
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
          f"reg={reg})", problems, _first_wrong_step(steps))


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


def check_gradient_descent(gradient_descent):
    """Iterates and losses of gradient descent on a fresh quadratic bowl (closed form)."""
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
    final, losses = as_tuple(gradient_descent(bowl, _copy(start), step_size, iterations), 2,
                             "gradient_descent(loss_and_grads, params, step_size, iterations)")
    contraction = {n: (1.0 - step_size * curvature[n]) for n in centre}
    expected_final = {n: centre[n] + contraction[n] ** iterations * (start[n] - centre[n])
                      for n in centre}
    expected_losses = [bowl({n: centre[n] + contraction[n] ** k * (start[n] - centre[n])
                             for n in centre})[0] for k in range(iterations)]
    problems = []
    for name in centre:
        if not isinstance(final, dict) or final.get(name) is None:
            problems.append(f"{name}: missing from the returned params")
        elif norm_rel_error(final[name], expected_final[name]) > GRAD_TOL:
            moved = norm_rel_error(final[name], start[name]) > GRAD_TOL
            uphill = (np.linalg.norm(np.asarray(final[name]) - centre[name])
                      > np.linalg.norm(start[name] - centre[name]))
            hint = ("it moved away from the minimum: step along minus the gradient" if uphill
                    else "it is where it started: is the update applied?" if not moved else
                    "it is not where p <- p - step_size * grad leads")
            problems.append(f"{name}: wrong after {iterations} steps; {hint}")
    if len(losses) != iterations:
        problems.append(f"losses: {len(losses)} values, expected one per step ({iterations})")
    elif not problems and norm_rel_error(np.asarray(losses, dtype=float),
                                         expected_losses) > LOSS_RTOL:
        problems.append("losses: not the loss at the parameters before each step")
    _fail("gradient_descent", context, problems)


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
    result = gradient_descent(lambda p: loss_fn(p, X, y, REG), params, STEP_SIZE,
                              ITERATIONS[model])
    trained, _ = as_tuple(result, 2, "gradient_descent(...)")
    missing = set(params) - set(trained)
    if missing:
        raise AssertionError(f"gradient_descent returned params without {sorted(missing)}")
    if not all(np.all(np.isfinite(value)) for value in trained.values()):
        raise AssertionError(f"training with your gradient_descent and {loss_fn.__name__} "
                             "produced nan or inf parameters: the loss diverged")
    return float(np.mean(predict(trained, X_test) == y_test))


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
