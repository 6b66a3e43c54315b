"""Checks for lesson 5: mini-batches, a training harness, layer objects, a network, step sizes.

Each ``check_*`` function tests one graded behaviour of a student's code on fresh random
inputs (``rng_for``), against an independent reference: autograd or central differences of a
loss written here, the reference layers in ``grader.checks.layers``, the reference model in
``grader.handouts.mlp``, or a closed form. Stochastic behaviour is checked through properties (every
row once per epoch, one update per batch, same seed same order, another order every epoch), not
exact numbers.

Tolerances: values and gradients are compared as whole arrays (``norm_rel_error``) within
``TOL`` = 1e-5, which float32 arithmetic (about 1e-7) passes with a wide margin and every
catalogued bug (1e-2 and more) fails; the visible checks in the notebook use the same.
A crash in the student's code is reported with the call that crashed and the shapes it got.

``calibrate`` runs the reference through every accuracy check over many seeds and reports the
worst accuracy against each threshold; ``tests/test_lesson5.py`` keeps it honest.
"""

import copy
import math

import autograd
import autograd.numpy as anp
import numpy as np

from course.datasets import gaussian_clusters, linearly_separable, xor
from course.gradient_check import (
    GRADIENT_TOL,
    assert_gradients_close_normwise,
    norm_rel_error,
    rel_error,
)
from grader.checks import layers
from grader.checks.common import (
    Calibration,
    as_tuple,
    describe,
    rng_for,
    student_crash,
)
from grader.checks.mistakes import activation_derivative_mistakes
from grader.handouts import mlp
from grader.handouts.mlp import one_hot
from grader.handouts.numerical import numerical_gradient_array

TOL = GRADIENT_TOL

# ---------------------------------------------------------------------------------------
# Calling the student's code


def _call(what: str, function, *args, **kwargs):
    """Call the student's ``function``; a crash becomes an AssertionError that names the
    call (``what``) and the shapes of its arguments, not a traceback into the checks."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        described = [describe(a) for a in args] + [f"{k}={describe(v)}"
                                                   for k, v in kwargs.items()]
        raise student_crash(error, what, ", ".join(described)) from None


def _run_described(what: str, function, *args, **kwargs):
    """``_call`` for a step of a check that runs the student's code inside, e.g. training:
    ``what`` says what was being done and with which shapes."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        raise student_crash(error, what) from None


# ---------------------------------------------------------------------------------------
# Mini-batches


def _labelled_rows(rng, n):
    """X: (n, 3) whose column 0 is the row id; Y: (n, 2) whose column 0 is 10 * row id.

    The ids let a check see which rows a batch holds and whether X and Y stayed paired.
    """
    ids = np.arange(n, dtype=float)
    X = np.column_stack([ids, rng.normal(size=(n, 2))])
    Y = np.column_stack([10.0 * ids, rng.normal(size=n)])
    return X, Y


def _batch_row_ids(minibatches, X, Y, batch_size, what, **options):
    """Run the student's generator; return one array of row ids per batch, checking pairs."""
    batches = []
    # A comprehension, not list(): list() asks a stand-in for the generator's len first.
    items = _call("minibatches", lambda *a, **k: [item for item in minibatches(*a, **k)],
                  X.copy(), Y.copy(), batch_size, **options)
    for number, batch in enumerate(items):
        X_batch, Y_batch = as_tuple(batch, 2, f"each item of {what}")
        X_batch, Y_batch = np.asarray(X_batch), np.asarray(Y_batch)
        if X_batch.ndim != 2 or X_batch.shape[1] != X.shape[1] or Y_batch.shape[1:] != \
                Y.shape[1:] or len(X_batch) != len(Y_batch):
            raise AssertionError(f"{what}: batch {number} has X shape {X_batch.shape} and Y "
                                 f"shape {Y_batch.shape}; expected (B, {X.shape[1]}) and "
                                 f"(B, {Y.shape[1]}) with the same B")
        ids = X_batch[:, 0]
        if not np.allclose(Y_batch[:, 0], 10.0 * ids):
            raise AssertionError(f"{what}: batch {number} pairs rows of X with other rows "
                                 "of Y; index X and Y with the same row order")
        batches.append(ids.astype(int))
    return batches


def _assert_covers_once(batches, n, batch_size, what):
    """Every row id 0..n-1 exactly once, and batch sizes b, b, ..., b, n % b."""
    seen = np.concatenate(batches) if batches else np.array([], dtype=int)
    counts = np.bincount(seen, minlength=n)
    missing = np.flatnonzero(counts == 0)
    repeated = np.flatnonzero(counts > 1)
    if len(missing) or len(repeated):
        raise AssertionError(
            f"{what}: an epoch must use every row exactly once, but "
            f"{len(missing)} rows never appear (e.g. {missing[:5].tolist()}) and "
            f"{len(repeated)} appear more than once (e.g. {repeated[:5].tolist()})"
            + (" -- is the last partial batch dropped?" if len(missing) == n % batch_size
               and len(missing) else ""))
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    sizes = [len(b) for b in batches]
    if sizes != expected:
        raise AssertionError(f"{what}: batch sizes {sizes}; expected full batches of "
                             f"{batch_size} and one last partial batch of the leftover rows")


def _cover_cases(rng):
    """(n, batch_size) pairs: SGD, GD, b divides n, n % b == 1, other remainders, b > n."""
    n = int(rng.integers(20, 40))
    b = int(rng.integers(3, 8))
    return [(n, 1), (n, n), (b * int(rng.integers(3, 6)), b), (b * 4 + 1, b),
            (n, b if n % b else b + 1), (int(rng.integers(2, 6)), 8)]


def check_minibatches_cover(minibatches):
    """Each epoch uses every row once, keeps X/Y pairs and the partial last batch; without
    shuffle (the default) the stored order."""
    rng = rng_for("minibatches_cover")
    for n, batch_size in _cover_cases(rng):
        X, Y = _labelled_rows(rng, n)
        # shuffle left at its default, False: the signature promises it
        what = f"minibatches(X, Y, batch_size={batch_size}) on {n} rows"
        batches = _batch_row_ids(minibatches, X, Y, batch_size, what)
        _assert_covers_once(batches, n, batch_size, what)
        order = np.concatenate(batches)
        if not np.array_equal(order, np.arange(n)):
            raise AssertionError(f"{what}: without shuffling (shuffle=False is the default) "
                                 "the rows must come in their stored order")
        seed = int(rng.integers(1000))
        what = f"minibatches(..., batch_size={batch_size}, shuffle=True, rng={seed}) on {n} rows"
        batches = _batch_row_ids(minibatches, X, Y, batch_size, what, shuffle=True, rng=seed)
        _assert_covers_once(batches, n, batch_size, what)


def _shuffled_order(minibatches, X, Y, batch_size, rng):
    what = f"minibatches(..., batch_size={batch_size}, shuffle=True, rng=...)"
    return np.concatenate(_batch_row_ids(minibatches, X, Y, batch_size, what,
                                         shuffle=True, rng=rng))


def check_minibatches_shuffle(minibatches):
    """Shuffling changes the order, the same seed gives the same order, another seed another."""
    rng = rng_for("minibatches_shuffle")
    n, batch_size = int(rng.integers(30, 50)), int(rng.integers(3, 9))
    X, Y = _labelled_rows(rng, n)
    seed, other_seed = (int(s) for s in rng.choice(10_000, size=2, replace=False))
    first = _shuffled_order(minibatches, X, Y, batch_size, seed)
    if np.array_equal(first, np.arange(n)):
        raise AssertionError(f"shuffle=True returned the {n} rows in their stored order")
    again = _shuffled_order(minibatches, X, Y, batch_size, seed)
    if not np.array_equal(first, again):
        raise AssertionError(f"two calls with shuffle=True and the same seed (rng={seed}) gave "
                             "different orders; draw the permutation from rng (e.g. "
                             "numpy Generator.permutation), not from global randomness")
    from_generator = [_shuffled_order(minibatches, X, Y, batch_size,
                                      np.random.default_rng(seed)) for _ in range(2)]
    if not np.array_equal(*from_generator):
        raise AssertionError("two calls with fresh Generators seeded alike gave different "
                             "orders; the order must depend only on rng")
    other = _shuffled_order(minibatches, X, Y, batch_size, other_seed)
    if np.array_equal(first, other):
        raise AssertionError(f"rng={seed} and rng={other_seed} gave the same order; the "
                             "permutation must come from rng")


# ---------------------------------------------------------------------------------------
# The training harness on the lesson-4 model


def _reference_batches(n, batch_size, rng):
    order = np.arange(n) if rng is None else rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def reference_train(params, X, Y, epochs, batch_size, learning_rate, shuffle=False, rng=None):
    """The harness as the lesson specifies it (for trajectories and calibration)."""
    rng = np.random.default_rng(rng) if shuffle else None
    history = {"loss": [], "accuracy": [], "updates": 0}
    labels = np.argmax(Y, axis=1)
    for _ in range(epochs):
        for rows in _reference_batches(len(X), batch_size, rng):
            _, cache = mlp.mlp_forward(params, X[rows])
            mlp.sgd_step(params, mlp.mlp_backward(params, cache, Y[rows]), learning_rate)
            history["updates"] += 1
        out, _ = mlp.mlp_forward(params, X)
        history["loss"].append(mlp.mse_loss(out, Y))
        history["accuracy"].append(float(np.mean(np.argmax(out, axis=1) == labels)))
    return history


def _copy(params):
    return {name: value.copy() for name, value in params.items()}


def _history(result, epochs, what):
    if not isinstance(result, dict) or not {"loss", "accuracy", "updates"} <= set(result):
        raise AssertionError(f"{what} should return a dict with keys 'loss', 'accuracy' and "
                             f"'updates', got {type(result).__name__}")
    for key in ("loss", "accuracy"):
        if len(result[key]) != epochs:
            raise AssertionError(f"{what}: history['{key}'] has {len(result[key])} entries "
                                 f"for {epochs} epochs; record one per epoch")
    return result


def _run_train(train, params, X, Y, epochs, batch_size, learning_rate, what, **options):
    """The student's train on copies of X and Y; params (the caller's copy) in place."""
    result = _call("train", train, params, X.copy(), Y.copy(), epochs, batch_size,
                   learning_rate, **options)
    return _history(result, epochs, what)


def _assert_update_count(history, n, batch_size, epochs, what):
    per_epoch = math.ceil(n / batch_size)
    if history["updates"] != epochs * per_epoch:
        raise AssertionError(
            f"{what}: history['updates'] is {history['updates']}; {epochs} epochs over {n} "
            f"rows in batches of {batch_size} make {per_epoch} updates per epoch (one per "
            "batch, the last partial batch included)")


def _accuracy_close(got, expected, n):
    """Accuracies agree up to one row: float32 rounding may flip a point on the boundary."""
    return np.max(np.abs(np.subtract(got, expected)), initial=0.0) <= 1.5 / n


def _assert_history_matches_params(history, params, X, Y, what):
    out, _ = mlp.mlp_forward(params, X)
    loss, acc = mlp.mse_loss(out, Y), float(np.mean(np.argmax(out, 1) == np.argmax(Y, 1)))
    if rel_error(history["loss"][-1], loss) > TOL:
        raise AssertionError(f"{what}: the last recorded loss is not the training-set loss of "
                             "the trained parameters; after each epoch record mse_loss on all "
                             "of X (and update params in place)")
    if not _accuracy_close(history["accuracy"][-1], acc, len(X)):
        raise AssertionError(f"{what}: the last recorded accuracy is not the training-set "
                             "accuracy of the trained parameters")


def _assert_losses_match(history, expected, start, X, Y, what):
    """The recorded losses against the reference's, naming the usual slips."""
    if rel_error(history["loss"], expected["loss"]) <= TOL:
        return
    out, _ = mlp.mlp_forward(start, X)
    before = [mlp.mse_loss(out, Y)] + expected["loss"][:-1]
    if rel_error(history["loss"], before) <= TOL:
        raise AssertionError(f"{what}: the recorded losses are those before each epoch's "
                             "updates instead of after: record the training-set loss at the "
                             "end of each epoch, once its updates are done")
    raise AssertionError(
        f"{what}: the recorded losses (relative error "
        f"{rel_error(history['loss'], expected['loss']):.1e}) are not the training-set "
        "losses after each epoch of one sgd_step per batch in stored order")


def _assert_learning_rate_used(train, start, X, Y, what):
    """Two learning rates must give two trajectories."""
    ends = []
    for learning_rate in (0.5, 2.0):
        params = _copy(start)
        _run_train(train, params, X, Y, 1, 4, learning_rate, what)
        ends.append(params)
    if all(norm_rel_error(ends[0][k], ends[1][k]) < 1e-12 for k in start):
        raise AssertionError(f"{what}: train(..., learning_rate=0.5) and learning_rate=2.0 end "
                             "with the same parameters: train ignores learning_rate; pass it "
                             "on to sgd_step")


def _same_params(a, b):
    return all(norm_rel_error(a[k], b[k]) < 1e-12 for k in a)


def _assert_shuffles_every_epoch(train, start, X, Y, batch_size, seed, what):
    """shuffle=True must shuffle, and each epoch differently.

    Two epochs in one call against two calls of one epoch with the same seed: a harness that
    reseeds (or shuffles once) repeats the first epoch's order, and the two agree exactly.
    """
    unshuffled, once, twice = _copy(start), _copy(start), _copy(start)
    _run_train(train, unshuffled, X, Y, 1, batch_size, 0.5, what)
    _run_train(train, once, X, Y, 1, batch_size, 0.5, what, shuffle=True, rng=seed)
    if _same_params(once, unshuffled):
        raise AssertionError(f"{what}: train(..., shuffle=True, rng={seed}) gives the same "
                             "parameters as shuffle=False: pass shuffle and rng on to "
                             "minibatches")
    _run_train(train, once, X, Y, 1, batch_size, 0.5, what, shuffle=True, rng=seed)
    _run_train(train, twice, X, Y, 2, batch_size, 0.5, what, shuffle=True, rng=seed)
    if _same_params(once, twice):
        raise AssertionError(
            f"{what}: with shuffle=True every epoch goes through the rows in the same order "
            "(two epochs in one call end where two one-epoch calls with the same seed do): "
            "turn rng into one Generator before the epoch loop, "
            "rng = datasets.as_generator(rng), and pass that to minibatches, so each epoch "
            "draws a new permutation")


def check_train_history(train):
    """train makes one update per batch (N per epoch for SGD), records loss and accuracy of
    the whole training set after each epoch, uses its learning rate, updates params in place,
    shuffles every epoch anew, and is seed-deterministic (int seed or Generator)."""
    rng = rng_for("train_history")
    per_class = int(rng.integers(9, 14))
    n = 3 * per_class
    odd_size = next(b for b in range(5, n) if n % b)
    cases = [(1, 2, 0.5), (n, 4, 2.0), (odd_size, 3, 0.3), (8, 3, 1.5)]
    for number, (batch_size, epochs, learning_rate) in enumerate(cases):
        X, y = gaussian_clusters(rng, points_per_class=per_class)
        Y = one_hot(y, 3)
        start = mlp.init_mlp(rng, scale=0.5)
        what = (f"train(..., epochs={epochs}, batch_size={batch_size}, "
                f"learning_rate={learning_rate}) on {n} rows")
        if number == 0:
            _assert_learning_rate_used(train, start, X, Y, f"train on {n} rows")
        params = _copy(start)
        # shuffle left at its default, False: the signature promises it
        history = _run_train(train, params, X, Y, epochs, batch_size, learning_rate,
                             what + " without shuffle")
        _assert_update_count(history, n, batch_size, epochs, what)
        expected = reference_train(_copy(start), X, Y, epochs, batch_size, learning_rate)
        _assert_losses_match(history, expected, start, X, Y, what + " without shuffle")
        if not _accuracy_close(history["accuracy"], expected["accuracy"], n):
            raise AssertionError(f"{what} without shuffle: the recorded accuracies are not "
                                 "the training-set accuracies after each epoch")
        _assert_history_matches_params(history, params, X, Y, what)

        seed = int(rng.integers(1000))
        runs = []
        for seeded in (seed, seed, np.random.default_rng(seed), np.random.default_rng(seed)):
            params = _copy(start)
            history = _run_train(train, params, X, Y, epochs, batch_size, learning_rate,
                                 what + " with shuffle", shuffle=True, rng=seeded)
            _assert_update_count(history, n, batch_size, epochs, what + " with shuffle")
            _assert_history_matches_params(history, params, X, Y, what + " with shuffle")
            runs.append(params)
        if not _same_params(runs[0], runs[1]):
            raise AssertionError(f"{what}: two runs with shuffle=True and rng={seed} ended with "
                                 "different parameters; all randomness must come from rng")
        if not _same_params(runs[2], runs[3]):
            raise AssertionError(f"{what}: two runs with shuffle=True and fresh Generators "
                                 "seeded alike ended with different parameters; rng may be "
                                 "a Generator as well as an int seed")
        if 1 < batch_size < n:
            _assert_shuffles_every_epoch(train, start, X, Y, batch_size, seed, what)


TRAIN_SETTINGS = {"epochs": 60, "batch_size": 32, "learning_rate": 1.0}
TRAIN_ACCURACY_THRESHOLD = 0.9


def _train_accuracy(train, rng):
    """Held-out accuracy of the lesson-4 model after mini-batch training with ``train``."""
    X, y = gaussian_clusters(rng, points_per_class=70)
    X_held_out, y_held_out = gaussian_clusters(rng, points_per_class=100)
    params = mlp.init_mlp(rng)
    seed = int(rng.integers(10_000))
    _call("train", train, params, X, one_hot(y, 3), TRAIN_SETTINGS["epochs"],
          TRAIN_SETTINGS["batch_size"], TRAIN_SETTINGS["learning_rate"], shuffle=True, rng=seed)
    return mlp.accuracy(params, X_held_out, y_held_out)


def check_train_accuracy(train):
    """Mini-batch training with train reaches the threshold on fresh held-out clusters."""
    accuracy = _train_accuracy(train, rng_for("train_accuracy"))
    if not accuracy >= TRAIN_ACCURACY_THRESHOLD:
        settings = ", ".join(f"{k}={v}" for k, v in TRAIN_SETTINGS.items())
        raise AssertionError(f"after train(..., {settings}, shuffle=True) on 210 fresh points, "
                             f"held-out accuracy is {accuracy:.3f}; the reference reaches at "
                             f"least {TRAIN_ACCURACY_THRESHOLD} on every seed")


# ---------------------------------------------------------------------------------------
# Layers


def _layer_backward(layer, x, dout, what):
    """forward then backward of the student's layer on copies of x and dout, which the
    layer must leave unchanged (the protocol says so: a caller may still hold them)."""
    x_given, dout_given = x.copy(), dout.copy()
    out, cache = as_tuple(_call(f"{what}.forward", layer.forward, x_given), 2,
                          f"{what}.forward")
    _assert_unchanged(x_given, x, f"{what}.forward", "its input x")
    dx, grads = as_tuple(_call(f"{what}.backward", layer.backward, dout_given, cache), 2,
                         f"{what}.backward")
    _assert_unchanged(dout_given, dout, f"{what}.backward", "the upstream gradient dout")
    if not isinstance(grads, dict):
        raise AssertionError(f"{what}.backward should return (dx, grads) with grads a dict, "
                             f"got {type(grads).__name__}")
    return np.asarray(out), dx, grads


def _assert_unchanged(given, original, what, argument):
    if given.shape != original.shape or not np.array_equal(given, original):
        raise AssertionError(f"{what} changed {argument} in place; leave the arrays a layer "
                             "is given unchanged (the caller, e.g. the previous layer or your "
                             "data set, may still need them): compute new arrays instead of "
                             "writing into them")


def _assert_forward(out, expected, what):
    if np.shape(out) != np.shape(expected):
        raise AssertionError(f"{what}.forward returned shape {np.shape(out)}, expected "
                             f"{np.shape(expected)}")
    if norm_rel_error(out, expected) > TOL:
        raise AssertionError(f"{what}.forward returns wrong values at a fresh random point "
                             f"(relative error {norm_rel_error(out, expected):.1e})")


STALE_CACHE = ("backward used the input of the latest forward call, not the cache it was "
               "given: keep what backward needs in the cache it returns, not on self (a layer "
               "may run forward again before its backward)")


def _assert_uses_its_cache(layer, x, other_x, dout, gradients, what):
    """backward(dout, cache of x) after a second forward on other_x gives x's gradients.

    gradients: point -> {"dx": ..., "dW": ...} expected at that point (for dout).
    """
    _, cache = as_tuple(_call(f"{what}.forward", layer.forward, x.copy()), 2, f"{what}.forward")
    _call(f"{what}.forward", layer.forward, other_x.copy())
    dx, grads = as_tuple(_call(f"{what}.backward", layer.backward, dout.copy(), cache), 2,
                         f"{what}.backward")
    got = {"dx": dx, **{f"d{k}": v for k, v in dict(grads).items()}}
    stale = gradients(other_x)
    assert_gradients_close_normwise(
        got, gradients(x), TOL, alternatives={k: {STALE_CACHE: v} for k, v in stale.items()},
        context=f"for {what}.backward with the cache of a first forward call, after a second "
                "forward call on other inputs")


def _linear_gradients(x, W, b, dout):
    """Central differences of sum((x W + b) * dout) for x, W and b."""
    return {
        "dx": numerical_gradient_array(lambda v: v @ W + b, x.copy(), dout),
        "dW": numerical_gradient_array(lambda v: x @ v + b, W.copy(), dout),
        "db": numerical_gradient_array(lambda v: x @ W + v, b.copy(), dout),
    }


def check_linear(linear_class):
    """Linear's forward and the gradients dx, dW, db at fresh shapes and points; backward
    uses the cache it is given."""
    rng = rng_for("linear")
    for n, n_in, n_out in [(5, 3, 4), (1, 6, 2), (7, 4, 4), (3, 2, 5)]:
        what = f"Linear({n_in}, {n_out})"
        layer = _call("Linear", linear_class, n_in, n_out, rng)
        W, b = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        layer.params["W"], layer.params["b"] = W.copy(), b.copy()
        x, dout = rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out))
        out, dx, grads = _layer_backward(layer, x, dout, what)
        _assert_forward(out, x @ W + b, what)
        got = {"dx": dx, "dW": grads.get("W"), "db": grads.get("b")}
        assert_gradients_close_normwise(got, _linear_gradients(x, W, b, dout), TOL,
                                        context=f"for {what}.backward on a batch of {n} "
                                                "random rows")
    other_x = rng.normal(size=x.shape)
    _assert_uses_its_cache(layer, x, other_x, dout,
                           lambda point: _linear_gradients(point, W, b, dout), what)


def _activation_alternatives(name, x, dout):
    """Wrong dx a message can name: a derivative taken at the wrong quantity, the mask of
    the wrong array."""
    if name == "ReLU":
        mistakes = {"the mask was taken from the sign of dout instead of the input x (x > 0)":
                    (dout > 0).astype(float), **activation_derivative_mistakes("relu", x)}
    else:
        mistakes = activation_derivative_mistakes("sigmoid", x)
    return {"dx": {description: dout * local for description, local in mistakes.items()}}


def _check_activation(activation_class, reference, name, low=-4.0, high=4.0):
    rng = rng_for(name)
    for shape in [(4, 3), (6, 1), (2, 3, 2)]:
        x = rng.uniform(low, high, size=shape)
        x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink, where the slope is undefined
        dout = rng.normal(size=shape)
        layer = _call(name, activation_class)
        out, dx, _ = _layer_backward(layer, x, dout, f"{name}()")
        _assert_forward(out, reference(x), f"{name}()")
        assert_gradients_close_normwise(
            {"dx": dx}, {"dx": numerical_gradient_array(reference, x.copy(), dout)}, TOL,
            context=f"for {name}.backward on shape {shape}",
            alternatives=_activation_alternatives(name, x, dout))
    other_x = rng.uniform(low, high, size=x.shape)
    other_x[np.abs(other_x) < 1e-3] = -0.5
    _assert_uses_its_cache(
        layer, x, other_x, dout,
        lambda point: {"dx": numerical_gradient_array(reference, point.copy(), dout)},
        f"{name}()")


def check_sigmoid(sigmoid_class):
    """Sigmoid's forward and dx at fresh points and shapes."""
    _check_activation(sigmoid_class, lambda x: 1.0 / (1.0 + np.exp(-x)), "Sigmoid")


def check_relu(relu_class):
    """ReLU's forward and dx at fresh points (both signs) and shapes."""
    _check_activation(relu_class, lambda x: np.maximum(x, 0.0), "ReLU")


def _loss_gradient(reference, pred, target):
    """Central differences of reference(pred, target) with respect to pred."""
    return numerical_gradient_array(lambda p: reference(p, target), pred.copy(), 1.0)


IGNORES_DOUT = ("backward ignores the upstream gradient dout (it returns the gradient for "
                "dout = 1): multiply by dout")


def _check_loss(loss_class, reference, name, predictions, alternatives=None):
    """alternatives: (pred, target) -> {description: wrong dpred for dout = 1}."""
    rng = rng_for(name)
    for n, classes in [(6, 1), (5, 3), (12, 2)]:
        pred = predictions(rng, (n, classes))
        target = rng.integers(0, 2, size=(n, classes)).astype(float)
        # dout = dL/dloss is 1.0 when the loss itself is minimised; any other value shows
        # whether backward uses it.
        dout = float(rng.uniform(1.5, 3.0))
        what = f"{name}() on ({n}, {classes}) predictions"
        loss, cache = as_tuple(_call(f"{name}().forward", loss_class().forward, pred.copy(),
                                     target.copy()), 2, f"{name}.forward")
        want = reference(pred, target)
        if not np.isscalar(loss) and np.shape(loss) != ():
            raise AssertionError(f"{what}: forward should return a scalar loss, got shape "
                                 f"{np.shape(loss)}")
        if rel_error(loss, want) > TOL:
            raise AssertionError(f"{what}: the loss is wrong (relative error "
                                 f"{rel_error(loss, want):.1e})")
        dpred, _ = as_tuple(_call(f"{name}().backward", loss_class().backward, dout, cache), 2,
                            f"{name}.backward")
        expected = _loss_gradient(reference, pred, target)
        wrong = {IGNORES_DOUT: expected}
        for description, value in (alternatives(pred, target) if alternatives else {}).items():
            wrong[description] = dout * value
        assert_gradients_close_normwise({"dpred": dpred}, {"dpred": dout * expected}, TOL,
                                        context=f"for {what}, backward(dout={dout:.3g}, cache)",
                                        alternatives={"dpred": wrong})


def _mse_reference(pred, target):
    return 0.5 * np.sum((pred - target) ** 2) / len(pred)


def _bce_reference(pred, target):
    return -np.sum(target * np.log(pred) + (1 - target) * np.log(1 - pred)) / len(pred)


def _bce_alternatives(pred, target):
    return {"it is (p - t) / N, the gradient with respect to the sigmoid's input (what a "
            "fused sigmoid + BCE gives), not with respect to p: divide by p (1 - p)":
            (pred - target) / len(pred)}


def check_mse(mse_class):
    """MSE's loss value and dpred (for an upstream dout) at fresh predictions and targets."""
    _check_loss(mse_class, _mse_reference, "MSE", lambda rng, s: rng.normal(0.5, 1.0, s))


def check_bce(bce_class):
    """Binary cross-entropy's loss value and dpred at fresh probabilities in (0, 1)."""
    # A small epsilon (clip or + delta) changes the values by ~1e-7 / p: allowed.
    _check_loss(bce_class, _bce_reference, "BCE", lambda rng, s: rng.uniform(0.05, 0.95, s),
                _bce_alternatives)


def check_bce_saturated(bce_class):
    """Binary cross-entropy stays finite when predictions are exactly 0 or 1."""
    rng = rng_for("bce_saturated")
    pred = rng.uniform(0.1, 0.9, size=(8, 1))
    target = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    pred[:4, 0] = [0.0, 1.0, 1.0, 0.0]  # two confident right answers, two confident wrong
    with np.errstate(all="ignore"):
        loss, cache = as_tuple(_call("BCE().forward", bce_class().forward, pred.copy(),
                                     target.copy()), 2, "BCE.forward")
        dpred, _ = as_tuple(_call("BCE().backward", bce_class().backward, 1.0, cache), 2,
                            "BCE.backward")
    if not np.isfinite(loss):
        raise AssertionError(f"BCE.forward returned {loss} when some predictions are exactly "
                             "0 or 1 (a saturated sigmoid); keep the logs finite, e.g. clip "
                             "predictions into [eps, 1 - eps]")
    dpred = np.asarray(dpred, dtype=float)
    if dpred.shape != pred.shape or not np.all(np.isfinite(dpred)):
        raise AssertionError("BCE.backward returned nan or inf (or a wrong shape) when some "
                             "predictions are exactly 0 or 1")
    if not (dpred[2, 0] > 0 and dpred[3, 0] < 0):
        raise AssertionError("BCE.backward at confident wrong predictions must push them "
                             "towards the target (positive gradient for p=1, t=0; negative "
                             "for p=0, t=1)")


# ---------------------------------------------------------------------------------------
# The network


class _Watched:
    """Mixin for a reference layer handed to the student's Network: it notes which cache
    and which upstream gradient each backward call gets, so the check can say which layer
    was fed what. A wrong cache or dout is noted, then replaced by the right one, so the
    reference layer never crashes on it and every mistake can be reported at once."""

    def watch(self, index, log, expected_dout):
        self._index, self._log, self._expected_dout = index, log, expected_dout
        self._caches = []

    def forward(self, x):
        out, cache = super().forward(x)
        self._caches.append(cache)
        return out, cache

    def backward(self, dout, cache):
        name = f"layer {self._index} ({type(self).__bases__[1].__name__})"
        self._log.append(self._index)
        own = self._caches[-1] if self._caches else None
        if own is not None and not _same_cache(cache, own):
            self._log.append(f"{name} got a cache that is not the one its own forward "
                             "returned: hand layer i the cache of layer i (walk the caches "
                             "in reverse together with the layers)")
            cache = own
        dout = np.asarray(dout, dtype=float)
        if self._expected_dout is not None and (
                dout.shape != self._expected_dout.shape
                or norm_rel_error(dout, self._expected_dout) > TOL):
            self._log.append(f"{name} got the wrong upstream gradient dout (shape "
                             f"{dout.shape}): each layer's backward must receive the dx "
                             "returned by the layer after it (the last layer gets the "
                             "network's dout)")
            dout = self._expected_dout
        return super().backward(dout, cache)


def _same_cache(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a, b)


def _watched(layer, index, log, expected_dout):
    watched = copy.deepcopy(layer)
    watched.__class__ = type(f"Watched{type(layer).__name__}", (_Watched, type(layer)), {})
    watched.watch(index, log, expected_dout)
    return watched


def _reference_layers(rng):
    sizes = [(3, 5), (5, 4), (4, 2)]
    linears = [layers.Linear(a, b, rng) for a, b in sizes]
    for linear in linears:
        linear.params["b"] = rng.normal(size=linear.params["b"].shape)
    return [linears[0], layers.Sigmoid(), linears[1], layers.ReLU(), linears[2],
            layers.Sigmoid()]


def _chain_forward(chain, x):
    for layer in chain:
        x, _ = layer.forward(x)
    return x


def _upstream_gradients(chain, x, dout):
    """dL/d(output of layer i) for each layer i, by the reference chain."""
    caches = []
    for layer in chain:
        x, cache = layer.forward(x)
        caches.append(cache)
    upstream = [None] * len(chain)
    for i in reversed(range(len(chain))):
        upstream[i] = dout
        dout, _ = chain[i].backward(dout, caches[i])
    return upstream


def _step_mistake(new, old, grads, i, name, learning_rate):
    """Why layer i's parameter ``name`` is not old - lr * grad, if a usual slip explains it."""
    grad = grads[i][name]
    if np.array_equal(new, old):
        return ("it was left unchanged: update layer.params[name] itself (in place, with -=), "
                "not a copy of it")
    if norm_rel_error(new, old + learning_rate * grad) < 1e-10:
        return "it moved along the gradient instead of against it (+= instead of -=)"
    scale = float(np.sum((old - new) * grad) / max(np.sum(grad * grad), 1e-300))
    if scale > 0 and norm_rel_error(new, old - scale * grad) < 1e-10:
        return (f"it moved by {scale:.3g} times the gradient instead of learning_rate "
                f"({learning_rate:.3g}) times it: the step ignores its learning_rate argument")
    for j, other in enumerate(grads):
        if j != i and name in other and np.shape(other[name]) == np.shape(old) and \
                norm_rel_error(new, old - learning_rate * other[name]) < 1e-10:
            return f"it was updated with layer {j}'s gradient: pair each layer with its own"
    return None


def check_network(network_class):
    """Network.forward chains the layers, backward hands each layer its own cache and the
    gradient from the layer above and returns every layer's gradients and dx, step moves
    every parameter against its gradient (tested with correct layers)."""
    rng = rng_for("network")
    chain = _reference_layers(rng)
    # Expected values come from an untouched copy: the student's Network holds ``chain`` and
    # may change its layers (step must), so nothing it leaves there can set the bar.
    reference = copy.deepcopy(chain)
    X, dout = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    log = []
    upstream = _upstream_gradients(copy.deepcopy(chain), X, dout)
    chain = [_watched(layer, i, log, upstream[i]) for i, layer in enumerate(chain)]
    network = _call("Network", network_class, chain)
    out, caches = as_tuple(_call("Network.forward", network.forward, X.copy()), 2,
                           "Network.forward")
    _assert_forward(out, _chain_forward(reference, X), "Network")
    dx, grads = as_tuple(_call("Network.backward", network.backward, dout.copy(), caches), 2,
                         "Network.backward")
    mistakes = [entry for entry in log if isinstance(entry, str)]
    if mistakes:
        raise AssertionError("Network.backward on Linear-Sigmoid-Linear-ReLU-Linear-Sigmoid "
                             "(correct layers):\n  " + "\n  ".join(mistakes))
    order = [entry for entry in log if isinstance(entry, int)]
    if order != list(reversed(range(len(chain)))):
        raise AssertionError(f"Network.backward called the layers' backward in the order "
                             f"{order}; call each once, last layer first")
    if len(grads) != len(chain):
        raise AssertionError(f"Network.backward returned {len(grads)} gradient dicts for "
                             f"{len(chain)} layers; return one per layer, in layer order")
    got = {"dx": dx}
    expected = {"dx": numerical_gradient_array(lambda v: _chain_forward(reference, v),
                                               X.copy(), dout)}
    for i, layer in enumerate(reference):
        for name, value in layer.params.items():
            key = f"layer {i} ({type(layer).__name__}) d{name}"
            got[key] = (grads[i] or {}).get(name)
            expected[key] = numerical_gradient_array(
                lambda _: _chain_forward(reference, X), value, dout)
    assert_gradients_close_normwise(got, expected, TOL,
                                    context="for Network.backward on Linear-Sigmoid-Linear-"
                                            "ReLU-Linear-Sigmoid (correct layers)")
    # forward and backward must leave the parameters alone: step is measured from the truth.
    steps = [{k: rng.normal(size=v.shape) for k, v in layer.params.items()} for layer in chain]
    learning_rate = float(rng.uniform(0.05, 0.5))
    _call("Network.step", network.step, steps, learning_rate)
    for i, (layer, untouched) in enumerate(zip(chain, reference)):
        for name, value in untouched.params.items():
            new = np.asarray(layer.params[name])
            if norm_rel_error(new, value - learning_rate * steps[i][name]) > 1e-10:
                why = _step_mistake(new, value, steps, i, name, learning_rate)
                raise AssertionError(
                    f"Network.step(grads, {learning_rate:.3g}) did not set layer {i}'s {name} "
                    f"to {name} - learning_rate * grads[{i}]['{name}']"
                    + (f": {why}" if why else ""))


# ---------------------------------------------------------------------------------------
# Training networks built from the student's layers

SEPARABLE_SETTINGS = {"epochs": 500, "learning_rate": 5.0, "hidden": 4}
SEPARABLE_THRESHOLD = 0.97
XOR_SETTINGS = {"epochs": 1000, "learning_rate": 5.0, "hidden": 4}


def _predict(network, X):
    out, _ = network.forward(X)
    return (np.asarray(out)[:, 0] > 0.5).astype(int)


def _separable_data(rng):
    X, y = linearly_separable(rng, n=100)
    X_held_out, y_held_out = linearly_separable(rng, n=500)
    return X, y, X_held_out, y_held_out


def _train_student_net(classes, X, y, settings, rng):
    network_class, linear, sigmoid, mse = classes
    hidden = settings["hidden"]
    network = _run_described(
        f"building Network([Linear(2, {hidden}), Sigmoid(), Linear({hidden}, {hidden}), "
        f"Sigmoid(), Linear({hidden}, 1), Sigmoid()]) of your layers", layers.build_network,
        network_class, linear, sigmoid, sigmoid, rng, hidden=hidden)
    _run_described(
        f"training that network on X {X.shape}, Y ({len(y)}, 1) with your MSE: forward, "
        "MSE forward and backward(1.0, cache), Network.backward, Network.step",
        layers.fit, network, mse(), X, y[:, None].astype(float), settings["epochs"],
        settings["learning_rate"])
    return network


def check_separable_accuracy(network_class, linear_class, sigmoid_class, mse_class):
    """A 2-4-4-1 sigmoid network of your layers, trained with MSE, separates fresh
    linearly separable data (held-out accuracy)."""
    rng = rng_for("separable_accuracy")
    X, y, X_held_out, y_held_out = _separable_data(rng)
    network = _train_student_net((network_class, linear_class, sigmoid_class, mse_class),
                                 X, y, SEPARABLE_SETTINGS, rng)
    accuracy = float(np.mean(_predict(network, X_held_out) == y_held_out))
    if not accuracy >= SEPARABLE_THRESHOLD:
        raise AssertionError(f"a 2-4-4-1 network of your layers trained {SEPARABLE_SETTINGS} "
                             f"on 100 fresh points classifies {accuracy:.3f} of 500 held-out "
                             f"points correctly; the reference reaches {SEPARABLE_THRESHOLD}")


def check_xor_accuracy(network_class, linear_class, sigmoid_class, mse_class):
    """A 2-4-4-1 sigmoid network of your layers learns XOR from a fixed seed."""
    X, y = xor()
    network = _train_student_net((network_class, linear_class, sigmoid_class, mse_class),
                                 X, y, XOR_SETTINGS, rng_for("xor_accuracy"))
    predictions = _predict(network, X)
    if not np.array_equal(predictions, y):
        raise AssertionError(f"a 2-4-4-1 network of your layers trained {XOR_SETTINGS} "
                             f"predicts {predictions.tolist()} for XOR targets {y.tolist()}")


# ---------------------------------------------------------------------------------------
# Step size and divergence on a regression


def _regression_loss(Phi, y):
    return lambda w: anp.mean((anp.dot(Phi, w) - y) ** 2)


def _polynomial_design(rng):
    """Fresh designs: polynomial features of fresh degree and range, and a plain matrix."""
    designs = []
    for degree, n in [(3, int(rng.integers(40, 120))), (2, int(rng.integers(10, 40)))]:
        x = rng.uniform(-1.0, 1.0, n) * rng.uniform(2.0, 5.0)
        designs.append(np.column_stack([x ** k for k in range(degree, -1, -1)]))
    designs.append(rng.normal(size=(int(rng.integers(20, 50)), 5)) * rng.uniform(0.5, 3.0, 5))
    return designs


def check_mse_hessian(mse_hessian):
    """mse_hessian(Phi) is the Hessian of mean((Phi w - y)^2) on fresh designs."""
    rng = rng_for("mse_hessian")
    for Phi in _polynomial_design(rng):
        y = rng.normal(size=len(Phi))
        expected = autograd.hessian(_regression_loss(Phi, y))(rng.normal(size=Phi.shape[1]))
        got = _call("mse_hessian", mse_hessian, Phi.copy())
        assert_gradients_close_normwise({"H": got}, {"H": expected}, TOL,
                                        context=f"for a design matrix of shape {Phi.shape}")


def check_largest_stable_step(largest_stable_step):
    """largest_stable_step(Phi) is at most 2 / lambda_max(H) (stable) and not far below."""
    rng = rng_for("largest_stable_step")
    for Phi in _polynomial_design(rng):
        y = rng.normal(size=len(Phi))
        hessian = autograd.hessian(_regression_loss(Phi, y))(np.zeros(Phi.shape[1]))
        top = float(np.max(np.linalg.eigvalsh(hessian)))
        step = float(_call("largest_stable_step", largest_stable_step, Phi.copy()))
        where = f"for a design matrix of shape {Phi.shape}"
        if not np.isfinite(step) or step <= 0:
            raise AssertionError(f"largest_stable_step returned {step} {where}")
        factor = abs(1.0 - step * top)
        # TOL leaves room for float32 eigenvalues; any real mistake is off by a factor.
        if step > (2.0 / top) * (1 + TOL):
            raise AssertionError(
                f"largest_stable_step is too large {where}: each gradient descent step "
                f"multiplies the error along the Hessian's top eigenvector by "
                f"|1 - step * lambda_max| = {factor:.3g} > 1, so the loss diverges")
        if step < 0.9 * (2.0 / top):
            raise AssertionError(
                f"largest_stable_step is stable but too small {where}: it is "
                f"{step * top / 2:.3g} of the largest stable step (|1 - step * lambda_max| = "
                f"{factor:.3g}; the limit is where this factor reaches 1)")


# ---------------------------------------------------------------------------------------
# Calibration of the accuracy thresholds


def _stack_parameters(networks):
    """Weights and biases of same-shaped reference networks of alternating Linear and
    Sigmoid layers, stacked on a leading axis: lists of (S, a, b) and (S, 1, b) arrays."""
    linears = range(0, len(networks[0].layers), 2)
    Ws = [np.stack([net.layers[i].params["W"] for net in networks]) for i in linears]
    bs = [np.stack([net.layers[i].params["b"] for net in networks])[:, None, :]
          for i in linears]
    return Ws, bs


def _stacked_forward(Ws, bs, X):
    """X: (S, N, D). Returns the activations of every layer, input first."""
    activations = [X]
    for W, b in zip(Ws, bs):
        activations.append(1.0 / (1.0 + np.exp(-(activations[-1] @ W + b))))
    return activations


def fit_stacked(networks, X, Y, epochs, learning_rate):
    """``layers.fit`` with ``layers.MSE`` for many reference sigmoid networks at once.

    networks: S reference networks of alternating Linear and Sigmoid layers, all shaped
    alike; X: (S, N, D) and Y: (S, N, C), one data set per network. The arithmetic is that
    of ``layers.fit``, batched over the leading axis (``tests/test_lesson5.py`` checks that
    the two agree). Returns a function mapping (S, M, D) points to (S, M, C) outputs.
    """
    Ws, bs = _stack_parameters(networks)
    for _ in range(epochs):
        activations = _stacked_forward(Ws, bs, X)
        dout = (activations[-1] - Y) / X.shape[1]
        for i in reversed(range(len(Ws))):
            out = activations[i + 1]
            dz = dout * out * (1.0 - out)
            dout = dz @ np.swapaxes(Ws[i], 1, 2)
            Ws[i] -= learning_rate * (np.swapaxes(activations[i], 1, 2) @ dz)
            bs[i] -= learning_rate * dz.sum(axis=1, keepdims=True)
    return lambda points: _stacked_forward(Ws, bs, points)[-1]


def _reference_networks(rngs, settings):
    return [layers.build_network(layers.Network, layers.Linear, layers.Sigmoid,
                                 layers.Sigmoid, rng, hidden=settings["hidden"])
            for rng in rngs]


def separable_accuracies(rngs):
    """Held-out accuracy of the reference on the separable check, one per generator
    (drawn in the check's order: data first, then the network's weights)."""
    data = [_separable_data(rng) for rng in rngs]
    networks = _reference_networks(rngs, SEPARABLE_SETTINGS)
    X, y, X_held_out, y_held_out = (np.stack(part) for part in zip(*data))
    predict = fit_stacked(networks, X, y[:, :, None].astype(float),
                          SEPARABLE_SETTINGS["epochs"], SEPARABLE_SETTINGS["learning_rate"])
    return np.mean((predict(X_held_out)[:, :, 0] > 0.5) == y_held_out, axis=1)


def xor_accuracies(rngs):
    """XOR accuracy of the reference on the XOR check, one per generator."""
    X, y = xor()
    networks = _reference_networks(rngs, XOR_SETTINGS)
    S = len(networks)
    inputs = np.broadcast_to(X, (S, *X.shape))
    targets = np.broadcast_to(y[:, None].astype(float), (S, len(y), 1))
    predict = fit_stacked(networks, inputs, targets, XOR_SETTINGS["epochs"],
                          XOR_SETTINGS["learning_rate"])
    return np.mean((predict(inputs)[:, :, 0] > 0.5) == y, axis=1)


def train_accuracies(rngs):
    """Held-out accuracy of the reference harness on the mini-batch check, per generator."""
    return np.array([_train_accuracy(reference_train, rng) for rng in rngs])


CALIBRATED = {
    "train_accuracy": (train_accuracies, TRAIN_ACCURACY_THRESHOLD),
    "separable_accuracy": (separable_accuracies, SEPARABLE_THRESHOLD),
    "xor_accuracy": (xor_accuracies, 1.0),
}


def calibrate(seeds=range(50)) -> list[Calibration]:
    """The reference through every accuracy check, on the seeds and the grading seed."""
    found = []
    for name, (accuracies, threshold) in CALIBRATED.items():
        keys = [*seeds, "grading"]
        rngs = [np.random.default_rng(seed) for seed in seeds] + [rng_for(name)]
        found.append(Calibration.over(name, dict(zip(keys, accuracies(rngs))), threshold))
    return found
