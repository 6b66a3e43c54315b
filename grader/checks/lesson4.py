"""Checks for lesson 4: one-hot labels, accuracy, a sigmoid layer, MSE, the 2-5-3 MLP, training.

Every check draws fresh inputs with ``rng_for`` and compares with an independent oracle:
autograd of a loss written here with autograd.numpy, or a closed form. Sizes vary (2-5-3,
3-4-4, 4-6-5) so code that hard-codes the lesson's shapes fails. When an answer is wrong,
the check also computes what the usual mistakes would have returned (the sigmoid's
derivative taken at the wrong quantity, a missing 1/N, a stale cache, gradients paired by
position...) so that the message names the mistake, not only the quantity that is off.
"""

import autograd
import autograd.numpy as anp
import numpy as np

from course.datasets import as_generator, gaussian_clusters
from course.gradient_check import (
    GRADIENT_TOL,
    assert_gradients_close_normwise,
    norm_rel_error,
    rel_error,
)
from grader.checks.common import (
    Calibration,
    as_tuple,
    describe_arguments,
    rng_for,
    student_crash,
)
from grader.checks.mistakes import activation_derivative_mistakes
from grader.handouts import mlp
from grader.handouts.mlp import one_hot

# The lesson's training recipe; calibrate() shows the reference clears the threshold.
EPOCHS = 400
LEARNING_RATE = 2.0
ACCURACY_THRESHOLD = 0.9
TRAIN_PER_CLASS = 70
HELD_OUT_PER_CLASS = 100

# The same tolerances as the notebook's visible checks. Values (outputs, losses) are
# compared like ``assert_values``: |got - expected| <= tol * (1 + |expected|) entrywise.
# Gradients are compared as whole arrays (``norm_rel_error``): a float64 answer is off by
# about 1e-15, one computed in float32 and returned as float64 by about 1e-7, and every
# bug in the catalogue by 1e-2 or more. Elementwise relative errors would let an entry
# that happens to be near zero fail a float32 answer.
VALUE_TOL = GRADIENT_TOL

# 2-5-3 first, so a network that only works for the lesson's sizes is told so; 3-4-4 has
# as many hidden units as outputs, so a hidden layer handed dout instead of dL/dH computes
# something (that the check can recognise) instead of crashing.
NETWORK_SIZES = [(2, 5, 3), (3, 4, 4), (4, 6, 5)]
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _sigmoid(z):
    return 1.0 / (1.0 + anp.exp(-z))


def reference_layer(X, W, b):
    """sigmoid(X W + b), written with autograd.numpy. X: (N, D), W: (D, K), b: (K,)."""
    return _sigmoid(anp.dot(X, W) + b)


def reference_mlp(params, X):
    """The D-H-C sigmoid network's outputs, (N, C), written with autograd.numpy."""
    hidden = reference_layer(X, params["W1"], params["b1"])
    return reference_layer(hidden, params["W2"], params["b2"])


def reference_mse(out, Y):
    """1/2 * mean over rows of the summed squared error. out, Y: (N, C)."""
    return 0.5 * anp.sum((out - Y) ** 2) / Y.shape[0]


def _random_params(rng, sizes):
    inputs, hidden, classes = sizes
    return {"W1": rng.normal(size=(inputs, hidden)), "b1": rng.normal(size=hidden),
            "W2": rng.normal(size=(hidden, classes)), "b2": rng.normal(size=classes)}


def _upstream_gradient(function, argument, dout, *rest):
    """Gradient of sum(function(argument, *rest) * dout) for argument: what a backward pass
    returns when its output receives the upstream gradient dout."""
    return autograd.grad(lambda a: anp.sum(function(a, *rest) * dout))(argument)


def _copy(params):
    return {name: np.array(value, copy=True) for name, value in params.items()}


def _sizes(sizes) -> str:
    return "-".join(map(str, sizes))


# --- Calling the student's code ------------------------------------------------------------

def _describe(**arguments) -> str:
    """"X: shape (6, 2), lr: 0.3": each argument by its shape (see common.describe)."""
    return describe_arguments(arguments, arguments.values())


def _call(what: str, function, *args, hint: str = ""):
    """function(*args); if the student's code raises, fail with a message that names the
    call and its arguments' shapes (what: e.g. "layer_forward(X (6, 2), W (2, 5), b (5,))")
    instead of a traceback into this module."""
    try:
        return function(*args)
    except AssertionError:
        raise
    except Exception as error:
        if type(error).__name__ == "LinkError":  # the kernel broke the protocol
            raise
        raise student_crash(error, what, hint=hint) from None


def _unchanged(function_name: str, before: dict, after: dict) -> None:
    """Fail if the call changed one of its input arrays (before: the originals)."""
    for name, original in before.items():
        now = after[name]
        if isinstance(original, dict):
            _unchanged(function_name,
                       {f"{name}[{key!r}]": value for key, value in original.items()},
                       {f"{name}[{key!r}]": now.get(key) for key in original})
        elif np.shape(now) != np.shape(original) or not np.array_equal(now, original):
            raise AssertionError(f"{function_name} changed its argument {name} in place; it "
                                 "must leave its inputs as they were (the caller still uses "
                                 "them): write results into new arrays")


def _close(got, expected, tol=VALUE_TOL) -> bool:
    """The visible checks' ``assert_values`` criterion."""
    return np.shape(got) == np.shape(expected) and bool(
        np.allclose(np.asarray(got, dtype=float), expected, rtol=tol, atol=tol))


def _assert_close(what, got, expected, tol=VALUE_TOL, mistakes=None, extra=""):
    """Compare values the student computed with the oracle's, without revealing the oracle.

    mistakes: description -> what a known mistake would return; the message names the first
    that matches. extra: appended to the message (e.g. a hint about hard-coded sizes).
    """
    got = np.asarray(got, dtype=float) if got is not None else None
    for description, wrong in (mistakes or {}).items():
        if got is not None and _close(got, wrong, tol) and not _close(wrong, expected, tol):
            raise AssertionError(f"{what}: {description}{extra}")
    if got is None or got.shape != np.shape(expected):
        shape = None if got is None else got.shape
        raise AssertionError(f"{what}: shape {shape}, expected {np.shape(expected)}{extra}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what}: contains nan or inf{extra}")
    if not _close(got, expected, tol):
        raise AssertionError(f"{what}: relative error {rel_error(got, expected):.2e} "
                             f"(tolerance {tol:.0e}){extra}")


# --- one_hot and accuracy ------------------------------------------------------------------

def _labels_missing_classes(rng, n, seen):
    """n labels in which exactly the classes 0..seen-1 occur, in random order."""
    labels = np.concatenate([np.arange(seen), rng.integers(0, seen, size=n - seen)])
    return rng.permutation(labels)


def check_one_hot(one_hot_fn):
    """one_hot(labels, classes) at fresh labels, including classes that never occur."""
    rng = rng_for("one_hot")
    # Only the classes below `seen` occur, so the last columns must be there though empty.
    # (8, 5, 2) tells a hard-coded number of columns (3) from one counted from the labels.
    for n, classes, seen in [(7, 3, 2), (8, 5, 2), (12, 6, 5)]:
        labels = _labels_missing_classes(rng, n, seen)
        where = f"one_hot of {n} labels with classes={classes}"
        got = _call(f"one_hot(labels ({n},), classes={classes})", one_hot_fn,
                    labels.copy(), classes,
                    hint=f" (the labels here run from 0 to {seen - 1})")
        expected = one_hot(labels, classes)
        shape = np.shape(got)
        if shape == (classes, n):
            raise AssertionError(f"{where}: shape {shape}, expected {expected.shape}: it is "
                                 "transposed; rows are examples, columns are classes")
        if shape == (n, seen):
            raise AssertionError(
                f"{where}: shape {shape}, expected {expected.shape}: one column per label "
                "that occurs in the batch, but the targets need a column for every class, "
                "including classes no label in the batch has: take the number of columns "
                "from the classes argument")
        if len(shape) == 2 and shape[0] == n and shape[1] != classes:
            raise AssertionError(
                f"{where}: shape {shape}, expected {expected.shape}: {shape[1]} columns "
                f"where classes={classes}, so the classes argument is ignored (columns are "
                "classes)")
        if shape != expected.shape:
            raise AssertionError(f"{where}: shape {shape}, expected {expected.shape} (rows are "
                                 "examples, columns are classes)")
        if np.asarray(got).dtype.kind != "f":
            raise AssertionError(f"{where}: the entries have dtype {np.asarray(got).dtype}; "
                                 "the docstring promises floats (0.0 and 1.0), the type of "
                                 "the targets the loss compares with: convert with "
                                 ".astype(float) or build from np.zeros")
        if not np.array_equal(got, expected):
            raise AssertionError(f"{where}: each row must hold a single 1, in the column of "
                                 "its label, and 0 elsewhere")


def _accuracy_case(rng, n, classes):
    """Outputs (n, classes) and labels, about 60% of them at the row's largest output."""
    out = rng.uniform(size=(n, classes))
    labels = np.where(rng.uniform(size=n) < 0.6, np.argmax(out, axis=1),
                      rng.integers(0, classes, size=n))
    return out, labels


def check_accuracy(accuracy_fn):
    """accuracy(out, labels) on fresh outputs and labels, compared with a count."""
    rng = rng_for("accuracy")
    # A square case first: an argmax over the wrong axis then computes something wrong
    # (which the check names) instead of failing to broadcast.
    for n, classes in [(4, 4), (10, 3), (25, 4), (6, 2)]:
        out, labels = _accuracy_case(rng, n, classes)
        correct = np.argmax(out, axis=1) == labels
        while n == classes and (not correct.any() or np.mean(
                np.argmax(out, axis=0) == labels) == np.mean(correct)):
            out, labels = _accuracy_case(rng, n, classes)
            correct = np.argmax(out, axis=1) == labels
        expected = float(np.mean(correct))
        where = f"accuracy on {n} random outputs over {classes} classes"
        got = _call(f"accuracy(out ({n}, {classes}), labels ({n},))", accuracy_fn,
                    out.copy(), labels.copy())
        if np.ndim(got) != 0:
            raise AssertionError(f"{where}: returned an array of shape {np.shape(got)}; "
                                 "expected one number, the fraction of rows whose largest "
                                 "output is at the label")
        got = float(got)
        if _close(got, expected):
            continue
        if np.isclose(got, np.sum(correct)):
            raise AssertionError(f"{where}: got {got!r}, the number of rows whose largest "
                                 "output is at the label, not the fraction: divide by N")
        if n == classes and np.isclose(got, np.mean(np.argmax(out, axis=0) == labels)):
            raise AssertionError(f"{where}: the argmax was taken over the examples (axis 0) "
                                 "instead of over each row's outputs (axis 1)")
        raise AssertionError(f"{where} is wrong: got {got!r}; expected the fraction of rows "
                             "whose largest output sits at the label")


# --- The sigmoid layer ---------------------------------------------------------------------

def _layer_problem(rng, n, d, k):
    return rng.normal(size=(n, d)), rng.normal(size=(d, k)), rng.normal(size=k)


def check_layer_forward(layer_forward):
    """layer_forward(X, W, b) returns sigmoid(X W + b) at fresh sizes and values."""
    rng = rng_for("layer_forward")
    for n, d, k in [(6, 2, 5), (4, 5, 3), (9, 3, 4)]:
        X, W, b = _layer_problem(rng, n, d, k)
        inputs = {"X": X.copy(), "W": W.copy(), "b": b.copy()}
        call = f"layer_forward({_describe(**inputs)})"
        out, _ = as_tuple(_call(call, layer_forward, *inputs.values()), 2, call)
        _unchanged("layer_forward", {"X": X, "W": W, "b": b}, inputs)
        z = X @ W + b
        _assert_close(f"layer_forward output for X ({n}, {d}), W ({d}, {k})", out,
                      reference_layer(X, W, b), mistakes={
                          "the bias b is missing: out = sigmoid(X W + b)": reference_layer(
                              X, W, np.zeros(k)),
                          "the sigmoid is missing: it returns X W + b, not sigmoid(X W + b)": z,
                      })


def _layer_gradients(X, W, dz, dx_weights=None):
    """(dX, dW, db) of a layer whose pre-activation receives dz; dx_weights: the matrix dX
    is computed with (W.T unless a mistake says otherwise)."""
    dx_weights = W.T if dx_weights is None else dx_weights
    return {"dX": dz @ dx_weights, "dW": X.T @ dz, "db": dz.sum(axis=0)}


def _layer_alternatives(X, W, b, dout, decoy):
    """gradient name -> {mistake: what layer_backward returns after it}, for alternatives.

    decoy: (X, W, b) of a later layer_forward call, which a stale cache would use.
    """
    z = X @ W + b
    a = 1.0 / (1.0 + np.exp(-z))
    wrong: dict[str, np.ndarray | dict] = {
        description: _layer_gradients(X, W, dout * local)
        for description, local in activation_derivative_mistakes("sigmoid", z).items()}
    wrong["it ignores the upstream gradient dout: dL/dZ = dout * a * (1 - a)"] = (
        _layer_gradients(X, W, a * (1 - a)))
    if W.shape[0] == W.shape[1]:
        wrong["dX was computed with W instead of its transpose: dX = dL/dZ W^T, (N, D)"] = (
            _layer_gradients(X, W, dout * a * (1 - a), dx_weights=W))
    X2, W2, b2 = decoy
    a2 = 1.0 / (1.0 + np.exp(-(X2 @ W2 + b2)))
    wrong["it used the values of the most recent layer_forward call instead of its cache "
          "argument (a stale cache, kept outside the cache?)"] = (
        _layer_gradients(X2, W2, dout * a2 * (1 - a2)))
    alternatives: dict[str, dict] = {}
    for description, grads in wrong.items():
        for name, value in grads.items():
            alternatives.setdefault(name, {})[description] = value
    return alternatives


def check_layer_backward(layer_forward, layer_backward):
    """layer_backward(dout, cache) returns dX, dW, db for a fresh upstream gradient dout.

    Between the forward call that made the cache and the backward call, layer_forward runs
    once more on other values, as it does in the network: backward must use its cache.
    """
    rng = rng_for("layer_backward")
    # The square layer first (D = K) so that dX = dz W, which would otherwise fail to
    # multiply, gives values the check recognises.
    for n, d, k in [(7, 3, 3), (6, 2, 5), (4, 5, 3)]:
        X, W, b = _layer_problem(rng, n, d, k)
        decoy = _layer_problem(rng, n, d, k)
        dout = rng.normal(size=(n, k))
        shapes = _describe(X=X, W=W, b=b)
        out, cache = as_tuple(_call(f"layer_forward({shapes})", layer_forward, X.copy(),
                                    W.copy(), b.copy()), 2, "layer_forward")
        if not _close(out, reference_layer(X, W, b)):
            raise AssertionError(
                "layer_backward is checked with the cache your layer_forward returns, and "
                f"layer_forward's output is wrong for {shapes} (see its own check): fix "
                "layer_forward first")
        _call(f"a second layer_forward({shapes})", layer_forward,
              *(value.copy() for value in decoy))
        got = as_tuple(_call(f"layer_backward(dout {dout.shape}, cache) for {shapes}",
                             layer_backward, dout.copy(), cache), 3, "layer_backward")
        expected = _upstream_gradient(lambda inputs: reference_layer(*inputs), (X, W, b), dout)
        assert_gradients_close_normwise(
            dict(zip(["dX", "dW", "db"], got)), dict(zip(["dX", "dW", "db"], expected)),
            tol=GRADIENT_TOL, alternatives=_layer_alternatives(X, W, b, dout, decoy),
            context=f"for layer_backward with {shapes} and a random dout")


# --- The loss ------------------------------------------------------------------------------

def _loss_hint(ratio: float, n: int, classes: int) -> str:
    """What a loss `ratio` times the right one suggests."""
    if np.isclose(ratio, 2.0):
        return (": the lesson's loss is half the mean over rows of the summed squared "
                "error; did you drop the 1/2?")
    if np.isclose(ratio, n):
        return ": it is summed over the rows, not averaged: divide by N, the number of rows"
    if np.isclose(ratio, n / classes):
        return (": it was divided by the number of classes (Y.shape[1]) instead of the "
                "number of rows N")
    if np.isclose(ratio, 1 / classes):
        return ": it is averaged over the outputs too; sum over the outputs, average over rows"
    return " (1/2 * mean over rows of the summed squared error)"


def check_mse_loss(mse_loss):
    """mse_loss(out, Y) returns the loss and dL/dout on fresh outputs and one-hot targets,
    and leaves out and Y unchanged."""
    rng = rng_for("mse_loss")
    # N, C, N / C and 2 all differ in each case, so a wrong factor names its mistake.
    for n, classes in [(5, 3), (12, 2), (9, 4)]:
        out = rng.uniform(0.05, 0.95, size=(n, classes))
        Y = one_hot(rng.integers(0, classes, size=n), classes)
        given = {"out": out.copy(), "Y": Y.copy()}
        call = f"mse_loss({_describe(**given)})"
        loss, dout = as_tuple(_call(call, mse_loss, *given.values()), 2, call)
        _unchanged("mse_loss", {"out": out, "Y": Y}, given)
        expected_loss = reference_mse(out, Y)
        if np.ndim(loss) != 0 or not _close(float(loss), expected_loss):
            if np.ndim(loss) != 0:
                raise AssertionError(f"mse_loss on {n} rows of {classes} outputs: the loss "
                                     f"has shape {np.shape(loss)}; expected one number")
            ratio = float(loss) / expected_loss
            raise AssertionError(f"mse_loss on {n} rows of {classes} outputs: the loss is "
                                 f"{ratio:.4g} times the right value"
                                 f"{_loss_hint(ratio, n, classes)}")
        expected = autograd.grad(reference_mse)(out, Y)
        assert_gradients_close_normwise(
            {"dout": dout}, {"dout": expected}, tol=GRADIENT_TOL,
            context=f"for mse_loss on {n} rows of {classes} outputs", alternatives={"dout": {
                "it is N times too large: forgot to divide the gradient by N, the number "
                "of rows": n * expected,
                "it was divided by the number of classes (Y.shape[1]) instead of the number "
                "of rows N": expected * n / classes,
                "the sign is flipped: dL/dout is (out - Y) / N, not the error (Y - out) / N "
                "of the seed's convention": -expected,
                "it is twice too large: the 1/2 of the loss cancels the 2 of the square, "
                "so dL/dout = (out - Y) / N": 2 * expected,
            }})


# --- The network ---------------------------------------------------------------------------

def _size_hint(sizes, after_lesson_sizes=True) -> str:
    """For a failure at sizes other than the lesson's (after_lesson_sizes: 2-5-3 passed)."""
    if tuple(sizes) == NETWORK_SIZES[0]:
        return ""
    if after_lesson_sizes:
        return (f"; it works for the 2-5-3 network but not for a {_sizes(sizes)} one: read "
                "the sizes from the arrays instead of writing 2, 5 or 3")
    return (f" (if your network works for 2-5-3 but not {_sizes(sizes)}: read the sizes "
            "from the arrays instead of writing 2, 5 or 3)")


def check_mlp_forward(mlp_forward):
    """mlp_forward(params, X) at fresh parameters, data and network sizes; leaves params and
    X unchanged."""
    rng = rng_for("mlp_forward")
    for sizes in NETWORK_SIZES:
        params, X = _random_params(rng, sizes), rng.normal(size=(7, sizes[0]))
        given = {"params": _copy(params), "X": X.copy()}
        call = f"mlp_forward for a {_sizes(sizes)} network, {_describe(**given)}"
        out, _ = as_tuple(_call(call, mlp_forward, *given.values(), hint=_size_hint(sizes)),
                          2, "mlp_forward")
        _unchanged("mlp_forward", {"params": params, "X": X}, given)
        hidden = reference_layer(X, params["W1"], params["b1"])
        no_bias = {**params, "b1": np.zeros(sizes[1]), "b2": np.zeros(sizes[2])}
        _assert_close(f"mlp_forward output of a {_sizes(sizes)} network", out,
                      reference_mlp(params, X), extra=_size_hint(sizes), mistakes={
                          "it returns the hidden layer's output H, not the network's "
                          "output O": hidden,
                          "the biases b1 and b2 are missing (see the layer_forward check)":
                              reference_mlp(no_bias, X),
                      })


def _mlp_backward(params, X, dout, local1=None, local2=None, hidden_dout=None):
    """Every parameter's gradient by backpropagation in numpy, with a mistake if asked.

    local1, local2: the factors (shaped like each layer's pre-activation) that multiply the
    hidden and output layers' upstream gradients: sigma'(z) unless a mistake replaces them;
    hidden_dout: what the hidden layer receives in place of dL/dH, if a mistake says so.
    """
    hidden = reference_layer(X, params["W1"], params["b1"])
    out = reference_layer(hidden, params["W2"], params["b2"])
    local1 = hidden * (1 - hidden) if local1 is None else local1
    local2 = out * (1 - out) if local2 is None else local2
    dz2 = dout * local2
    dz1 = (dz2 @ params["W2"].T if hidden_dout is None else hidden_dout) * local1
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": hidden.T @ dz2,
            "b2": dz2.sum(axis=0)}


def _mlp_alternatives(params, X, dout, expected):
    """name -> {mistake: that gradient after it}: a wrong sigmoid derivative in the layers,
    the upstream gradient ignored, dout handed to the hidden layer, keys mixed up."""
    z1 = X @ params["W1"] + params["b1"]
    hidden = reference_layer(X, params["W1"], params["b1"])
    z2 = hidden @ params["W2"] + params["b2"]
    local1 = activation_derivative_mistakes("sigmoid", z1)
    local2 = activation_derivative_mistakes("sigmoid", z2)
    wrong = {f"in the layers' backward pass, {description}": _mlp_backward(
        params, X, dout, local1[description], local2[description]) for description in local1}
    # Without dout, each layer's dL/dZ is a * (1 - a) alone: the upstream factors vanish.
    wrong["the layers ignore the upstream gradient: dL/dZ = dout * a * (1 - a)"] = (
        _mlp_backward(params, X, np.ones_like(dout), hidden_dout=np.ones_like(hidden)))
    if params["W2"].shape[0] == params["W2"].shape[1]:
        wrong["the hidden layer was given dout instead of dL/dH, the dX the output layer's "
              "backward returns"] = _mlp_backward(params, X, dout, hidden_dout=dout)
    alternatives: dict[str, dict] = {}
    for description, grads in wrong.items():
        for name, value in grads.items():
            alternatives.setdefault(name, {})[description] = value
    for name in PARAM_NAMES:
        for other in PARAM_NAMES:
            if other != name:
                alternatives.setdefault(name, {})[
                    f"it is the gradient of {other}: the keys of the returned dict are "
                    "mixed up"] = expected[other]
    return alternatives


def check_mlp_backward(mlp_forward, mlp_backward):
    """mlp_backward(dout, cache) returns every parameter's gradient for a fresh dout.

    dout is random rather than the MSE gradient, so a bug in mse_loss cannot hide or cause
    a failure here.
    """
    rng = rng_for("mlp_backward")
    for sizes in [NETWORK_SIZES[1], NETWORK_SIZES[0], NETWORK_SIZES[2]]:
        params, X = _random_params(rng, sizes), rng.normal(size=(8, sizes[0]))
        dout = rng.normal(size=(8, sizes[2]))
        network = f"a {_sizes(sizes)} network"
        out, cache = as_tuple(_call(f"mlp_forward for {network}, "
                                    f"{_describe(params=params, X=X)}", mlp_forward,
                                    _copy(params), X.copy(),
                                    hint=_size_hint(sizes, after_lesson_sizes=False)),
                              2, "mlp_forward")
        if not _close(out, reference_mlp(params, X)):
            raise AssertionError(
                f"mlp_backward is checked with the cache your mlp_forward returns, and "
                f"mlp_forward's output is wrong for {network} (see its own check): fix "
                "mlp_forward (and layer_forward) first")
        got = _call(f"mlp_backward(dout {dout.shape}, cache) for {network}", mlp_backward,
                    dout.copy(), cache)
        if not isinstance(got, dict):
            raise AssertionError(f"mlp_backward should return a dict of gradients, got "
                                 f"{type(got).__name__}")
        expected = _upstream_gradient(reference_mlp, params, dout, X)
        assert_gradients_close_normwise(
            got, expected, tol=GRADIENT_TOL,
            alternatives=_mlp_alternatives(params, X, dout, expected),
            context=f"for {network} with random weights, data and dout")


# --- The update step -----------------------------------------------------------------------

def _step_mistakes(grads, name, learning_rate):
    """What params[name] moves by after the usual slips in an update step."""
    grad = grads[name]
    mistakes = {
        "it moved along its gradient, uphill: the sign is flipped": learning_rate * grad,
        "the learning rate was ignored: it moved by the whole gradient": -grad,
        "the learning rate was applied twice": -learning_rate ** 2 * grad,
    }
    for other, value in grads.items():
        if other != name and np.shape(value) == np.shape(grad):
            mistakes[f"it moved by -learning_rate * grads[{other!r}]: take each parameter's "
                     "gradient by its name, grads[name], not by position (the dicts may "
                     "list their keys in different orders)"] = -learning_rate * value
    return mistakes


def _check_step(sgd_step, params, grads, learning_rate, where):
    updated = _copy(params)
    _call(f"sgd_step(params {{{', '.join(params)}}}, grads {{{', '.join(grads)}}}, "
          f"learning_rate {learning_rate:.3g}) {where}", sgd_step, updated, _copy(grads),
          learning_rate)
    for name in params:
        now = updated.get(name) if isinstance(updated, dict) else None
        if now is None or np.shape(now) != params[name].shape:
            raise AssertionError(f"sgd_step {where}: params[{name!r}] has shape "
                                 f"{np.shape(now)} after the step; it should keep its shape "
                                 f"{params[name].shape}")
        step = np.asarray(now, dtype=float) - params[name]
        want = -learning_rate * grads[name]
        if norm_rel_error(step, want) <= GRADIENT_TOL:
            continue
        if not np.any(step):
            raise AssertionError(f"sgd_step {where}: params[{name!r}] did not change; update "
                                 "the arrays in params (or params' entries), not a local copy")
        for description, wrong in _step_mistakes(grads, name, learning_rate).items():
            if norm_rel_error(step, wrong) <= 1e-4:
                raise AssertionError(f"sgd_step {where}: params[{name!r}]: {description}")
        raise AssertionError(f"sgd_step {where}: params[{name!r}] should change by "
                             f"-learning_rate * grads[{name!r}]; relative error "
                             f"{norm_rel_error(step, want):.2e}")


def check_sgd_step(sgd_step):
    """sgd_step(params, grads, learning_rate) moves each parameter against its gradient, at
    a learning rate other than 1, with grads listing its keys in params' order or not."""
    rng = rng_for("sgd_step")
    params = _random_params(rng, (3, 4, 2))
    grads = {name: rng.normal(size=value.shape) for name, value in params.items()}
    _check_step(sgd_step, params, grads, float(rng.uniform(0.05, 0.5)),
                "with grads in the order of params")
    # Weights of one shape and biases of one shape: gradients paired by position instead
    # of by name are applied (to the wrong parameter) instead of failing to broadcast.
    params = _random_params(rng, (3, 3, 3))
    grads = {name: rng.normal(size=params[name].shape) for name in ("W2", "b2", "W1", "b1")}
    _check_step(sgd_step, params, grads, float(rng.uniform(0.05, 0.5)),
                "with grads listing its keys in another order than params")


# --- Training ------------------------------------------------------------------------------

def train_and_score(functions, rng) -> float:
    """Train a 2-5-3 network with ``functions`` on fresh clusters; return held-out accuracy.

    functions: one_hot, mlp_forward, mse_loss, mlp_backward, sgd_step, with the lesson's
    signatures. rng: Generator or seed for the data and the initial weights.
    """
    one_hot_fn, forward, loss_fn, backward, step = functions
    rng = as_generator(rng)
    X, y = gaussian_clusters(rng, points_per_class=TRAIN_PER_CLASS)
    X_held_out, y_held_out = gaussian_clusters(rng, points_per_class=HELD_OUT_PER_CLASS)
    params = mlp.init_mlp(rng, sizes=(2, 5, 3))
    when = "while training"
    Y = _call(f"one_hot(labels {y.shape}, classes=3) {when}", one_hot_fn, y, 3)
    for _ in range(EPOCHS):
        out, cache = _call(f"mlp_forward(params, X {X.shape}) {when}", forward, params, X)
        _, dout = _call(f"mse_loss(out {np.shape(out)}, Y {np.shape(Y)}) {when}", loss_fn,
                        out, Y)
        grads = _call(f"mlp_backward(dout {np.shape(dout)}, cache) {when}", backward, dout,
                      cache)
        _call(f"sgd_step(params, grads, {LEARNING_RATE}) {when}", step, params, grads,
              LEARNING_RATE)
    out, _ = _call(f"mlp_forward(params, X {X_held_out.shape}) after training", forward,
                   params, X_held_out)
    return float(np.mean(np.argmax(np.asarray(out), axis=1) == y_held_out))


def check_training(one_hot_fn, mlp_forward, mse_loss, mlp_backward, sgd_step):
    """Full-batch gradient descent with the student's functions reaches the accuracy bar."""
    functions = (one_hot_fn, mlp_forward, mse_loss, mlp_backward, sgd_step)
    try:
        accuracy = train_and_score(functions, rng_for("training"))
    except AssertionError as error:
        raise AssertionError(f"{error}{_first_broken_function(functions)}") from None
    if not accuracy >= ACCURACY_THRESHOLD:
        raise AssertionError(
            f"after {EPOCHS} epochs of gradient descent (learning rate {LEARNING_RATE}) on "
            f"fresh clusters, your network classifies {accuracy:.1%} of held-out points "
            f"correctly; at least {ACCURACY_THRESHOLD:.0%} is expected"
            f"{_first_broken_function(functions)}")


def _first_broken_function(functions) -> str:
    """Why training failed, when a function it uses fails its own check: that check's
    message, so the training cell names the mistake too."""
    one_hot_fn, forward, loss_fn, backward, step = functions
    for name, check in [("one_hot", lambda: check_one_hot(one_hot_fn)),
                        ("mse_loss", lambda: check_mse_loss(loss_fn)),
                        ("mlp_forward", lambda: check_mlp_forward(forward)),
                        ("mlp_backward", lambda: check_mlp_backward(forward, backward)),
                        ("sgd_step", lambda: check_sgd_step(step))]:
        try:
            check()
        except AssertionError as error:
            return f". The {name} check fails, which explains it: {error}"
    return ""


def reference_functions():
    """The lesson's five functions, built on grader.handouts.mlp, for calibration and tests."""

    def forward(params, X):
        out, cache = mlp.mlp_forward(params, X)
        return out, (params, cache)

    def loss(out, Y):
        return mlp.mse_loss(out, Y), mlp.mse_gradient(out, Y)

    def backward(dout, cache):
        params, forward_cache = cache
        return mlp.mlp_backprop(params, forward_cache, dout)

    return one_hot, forward, loss, backward, mlp.sgd_step


def calibrate(seeds=range(50)) -> list[Calibration]:
    """Held-out accuracy of the reference under the training check's recipe, on the seeds
    and the grading seed."""
    functions = reference_functions()
    rngs = {seed: seed for seed in seeds} | {"grading": rng_for("training")}
    scores = {seed: train_and_score(functions, rng) for seed, rng in rngs.items()}
    return [Calibration.over("training accuracy", scores, ACCURACY_THRESHOLD)]
