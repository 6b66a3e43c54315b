"""Checks for lesson 4: one-hot labels, accuracy, a sigmoid layer, MSE, the 2-5-3 MLP, training.

Every check draws fresh inputs with ``rng_for`` and compares with an independent oracle:
autograd of a loss written here with autograd.numpy, or a closed form. Sizes vary (2-5-3,
3-4-2, 4-6-5) so code that hard-codes the lesson's shapes fails.
"""

import autograd
import autograd.numpy as anp
import numpy as np

from course.datasets import as_generator, gaussian_clusters
from course.gradient_check import assert_gradients_close, rel_error
from grader.checks.common import Calibration, as_tuple, rng_for
from grader.handouts import mlp
from grader.handouts.mlp import one_hot

# The lesson's training recipe; calibrate() shows the reference clears the threshold.
EPOCHS = 400
LEARNING_RATE = 2.0
ACCURACY_THRESHOLD = 0.9
TRAIN_PER_CLASS = 70
HELD_OUT_PER_CLASS = 100

# Gradients are compared in float64 to about 1e-10; 1e-5 also admits code that works in
# float32, while every bug in the catalogue is off by far more.
GRADIENT_TOL = 1e-5
VALUE_TOL = 1e-5

NETWORK_SIZES = [(2, 5, 3), (3, 4, 2), (4, 6, 5)]


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


def _assert_close(what, got, expected, tol=VALUE_TOL):
    """Compare values the student computed with the oracle's, without revealing the oracle."""
    got = np.asarray(got, dtype=float) if got is not None else None
    if got is None or got.shape != np.shape(expected):
        shape = None if got is None else got.shape
        raise AssertionError(f"{what}: shape {shape}, expected {np.shape(expected)}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what}: contains nan or inf")
    error = rel_error(got, expected)
    if error > tol:
        raise AssertionError(f"{what}: relative error {error:.2e} (tolerance {tol:.0e})")


def check_one_hot(one_hot_fn):
    """one_hot(labels, classes) at fresh labels, including classes that never occur."""
    rng = rng_for("one_hot")
    # Labels drawn below `seen`, so the last classes never occur in the batch.
    for n, classes, seen in [(7, 3, 2), (10, 5, 3), (12, 6, 5)]:
        labels = rng.integers(0, seen, size=n)
        got = one_hot_fn(labels.copy(), classes)
        expected = one_hot(labels, classes)
        if np.shape(got) != expected.shape:
            raise AssertionError(f"one_hot of {n} labels with classes={classes}: shape "
                                 f"{np.shape(got)}, expected {expected.shape} (rows are "
                                 "examples, columns are classes)")
        if not np.array_equal(got, expected):
            raise AssertionError(f"one_hot of {n} labels with classes={classes}: each row "
                                 "must hold a single 1, in the column of its label")


def check_accuracy(accuracy_fn):
    """accuracy(out, labels) on fresh outputs and labels, compared with a count."""
    rng = rng_for("accuracy")
    for n, classes in [(10, 3), (25, 4), (6, 2)]:
        out = rng.uniform(size=(n, classes))
        labels = np.where(rng.uniform(size=n) < 0.6, np.argmax(out, axis=1),
                          rng.integers(0, classes, size=n))
        expected = np.mean(np.argmax(out, axis=1) == labels)
        got = accuracy_fn(out.copy(), labels.copy())
        if np.ndim(got) != 0 or not np.isclose(float(got), expected, atol=1e-12):
            raise AssertionError(f"accuracy on {n} random outputs over {classes} classes is "
                                 f"wrong: got {got!r}; expected the fraction of rows whose "
                                 "largest output sits at the label")


def check_layer_forward(layer_forward):
    """layer_forward(X, W, b) returns sigmoid(X W + b) at fresh sizes and values."""
    rng = rng_for("layer_forward")
    for n, d, k in [(6, 2, 5), (4, 5, 3), (9, 3, 4)]:
        X, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, k)), rng.normal(size=k)
        out, _ = as_tuple(layer_forward(X.copy(), W.copy(), b.copy()), 2, "layer_forward")
        _assert_close(f"layer_forward output for X ({n}, {d}), W ({d}, {k})", out,
                      reference_layer(X, W, b))


def check_layer_backward(layer_forward, layer_backward):
    """layer_backward(dout, cache) returns dX, dW, db for a fresh upstream gradient dout."""
    rng = rng_for("layer_backward")
    for n, d, k in [(6, 2, 5), (4, 5, 3), (9, 3, 3)]:
        X, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, k)), rng.normal(size=k)
        dout = rng.normal(size=(n, k))
        _, cache = as_tuple(layer_forward(X.copy(), W.copy(), b.copy()), 2, "layer_forward")
        got = as_tuple(layer_backward(dout.copy(), cache), 3, "layer_backward")
        expected = _upstream_gradient(lambda inputs: reference_layer(*inputs), (X, W, b), dout)
        assert_gradients_close(dict(zip(["dX", "dW", "db"], got)),
                               dict(zip(["dX", "dW", "db"], expected)), tol=GRADIENT_TOL,
                               context=f"for layer_backward with X ({n}, {d}), W ({d}, {k}) "
                                       "and a random dout")


def check_mse_loss(mse_loss):
    """mse_loss(out, Y) returns the loss and dL/dout on fresh outputs and one-hot targets."""
    rng = rng_for("mse_loss")
    for n, classes in [(5, 3), (12, 2), (8, 4)]:
        out = rng.uniform(0.05, 0.95, size=(n, classes))
        Y = one_hot(rng.integers(0, classes, size=n), classes)
        loss, dout = as_tuple(mse_loss(out.copy(), Y.copy()), 2, "mse_loss")
        if not np.isclose(float(loss), reference_mse(out, Y), rtol=1e-6):
            ratio = float(loss) / reference_mse(out, Y)
            raise AssertionError(f"mse_loss on {n} rows of {classes} outputs: the loss is "
                                 f"{ratio:.4g} times the right value (1/2 * mean over rows "
                                 "of the summed squared error)")
        assert_gradients_close({"dout": dout}, {"dout": autograd.grad(reference_mse)(out, Y)},
                               tol=GRADIENT_TOL, context=f"for mse_loss on {n} rows")


def check_mlp_forward(mlp_forward):
    """mlp_forward(params, X) at fresh parameters, data and network sizes."""
    rng = rng_for("mlp_forward")
    for sizes in NETWORK_SIZES:
        params, X = _random_params(rng, sizes), rng.normal(size=(7, sizes[0]))
        out, _ = as_tuple(mlp_forward(_copy(params), X.copy()), 2, "mlp_forward")
        _assert_close(f"mlp_forward output of a {'-'.join(map(str, sizes))} network", out,
                      reference_mlp(params, X))


def check_mlp_backward(mlp_forward, mlp_backward):
    """mlp_backward(dout, cache) returns every parameter's gradient for a fresh dout.

    dout is random rather than the MSE gradient, so a bug in mse_loss cannot hide or cause
    a failure here.
    """
    rng = rng_for("mlp_backward")
    for sizes in NETWORK_SIZES:
        params, X = _random_params(rng, sizes), rng.normal(size=(8, sizes[0]))
        dout = rng.normal(size=(8, sizes[2]))
        _, cache = as_tuple(mlp_forward(_copy(params), X.copy()), 2, "mlp_forward")
        got = mlp_backward(dout.copy(), cache)
        if not isinstance(got, dict):
            raise AssertionError(f"mlp_backward should return a dict of gradients, got "
                                 f"{type(got).__name__}")
        expected = _upstream_gradient(reference_mlp, params, dout, X)
        assert_gradients_close(got, expected, tol=GRADIENT_TOL,
                               context=f"for a {'-'.join(map(str, sizes))} network with "
                                       "random weights, data and dout")


def check_sgd_step(sgd_step):
    """sgd_step(params, grads, learning_rate) moves each parameter against its gradient."""
    rng = rng_for("sgd_step")
    params = _random_params(rng, (3, 4, 2))
    grads = {name: rng.normal(size=value.shape) for name, value in params.items()}
    learning_rate = float(rng.uniform(0.05, 0.5))
    updated = _copy(params)
    sgd_step(updated, _copy(grads), learning_rate)
    for name in params:
        step = np.asarray(updated[name]) - params[name]
        if rel_error(step, -learning_rate * grads[name]) < 1e-9:
            continue
        if rel_error(step, learning_rate * grads[name]) < 1e-9:
            raise AssertionError(f"sgd_step: {name} moved along its gradient, uphill; the "
                                 "sign is flipped")
        if not np.any(step):
            raise AssertionError(f"sgd_step: {name} did not change; update the arrays in "
                                 "params (or params' entries), not a local copy")
        raise AssertionError(f"sgd_step: {name} should change by -learning_rate * grad, "
                             f"relative error {rel_error(step, -learning_rate * grads[name]):.2e}")


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
    Y = one_hot_fn(y, 3)
    for _ in range(EPOCHS):
        out, cache = forward(params, X)
        _, dout = loss_fn(out, Y)
        step(params, backward(dout, cache), LEARNING_RATE)
    out, _ = forward(params, X_held_out)
    return float(np.mean(np.argmax(np.asarray(out), axis=1) == y_held_out))


def check_training(one_hot_fn, mlp_forward, mse_loss, mlp_backward, sgd_step):
    """Full-batch gradient descent with the student's functions reaches the accuracy bar."""
    functions = (one_hot_fn, mlp_forward, mse_loss, mlp_backward, sgd_step)
    accuracy = train_and_score(functions, rng_for("training"))
    if not accuracy >= ACCURACY_THRESHOLD:
        raise AssertionError(
            f"after {EPOCHS} epochs of gradient descent (learning rate {LEARNING_RATE}) on "
            f"fresh clusters, your network classifies {accuracy:.1%} of held-out points "
            f"correctly; at least {ACCURACY_THRESHOLD:.0%} is expected")


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
