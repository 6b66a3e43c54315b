"""Lesson 3's hidden checks, called directly: calibration, and the mistakes they name.

The grading tests (tests/test_grading.py) run the checks through nbgrader, where the visible
checks speak first; here the hidden checks are judged on their own, in a few seconds.
"""

import numpy as np
import pytest

from grader.checks import lesson3
from grader.instructor.variants.lesson3 import lesson2_answer


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def forward(X, params):
    G = X @ params["U"].T + params["b"]
    H = np.tanh(G)
    return H @ params["W"] + params["c"], {"X": X, "G": G, "H": H, "W": params["W"]}


def logistic_cross_entropy(z, y):
    loss = np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))
    return float(loss), (sigmoid(z) - y) / len(z)


def naive_cross_entropy(z, y):
    p = sigmoid(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    return float(loss), (p - y) / len(z)


def make_backward(local_derivative=lambda G, H: 1.0 - H ** 2, output_weights=True):
    def backward(dz, cache):
        X, G, H, W = cache["X"], cache["G"], cache["H"], cache["W"]
        dH = np.outer(dz, W if output_weights else np.ones_like(W))
        dG = dH * local_derivative(G, H)
        return {"U": dG.T @ X, "b": dG.sum(axis=0), "W": H.T @ dz, "c": float(np.sum(dz))}
    return backward


backward = make_backward()


def make_backprop(backward_pass):
    def backprop(X, y, params):
        z, cache = forward(X, params)
        loss, dz = logistic_cross_entropy(z, y)
        return loss, backward_pass(dz, cache)
    return backprop


def make_gradient_descent(sign=-1.0):
    def gradient_descent(loss_and_grads, params, step_size, iterations):
        params = {name: np.copy(value) for name, value in params.items()}
        losses = []
        for _ in range(iterations):
            loss, grads = loss_and_grads(params)
            params = {name: params[name] + sign * step_size * grads[name] for name in params}
            losses.append(loss)
        return params, losses
    return gradient_descent


def test_reference_passes_every_check():
    lesson3.check_forward(forward)
    lesson3.check_logistic_cross_entropy(logistic_cross_entropy)
    lesson3.check_large_logits(logistic_cross_entropy)
    lesson3.check_output_layer_gradients(backward)
    lesson3.check_hidden_layer_gradients(backward)
    lesson3.check_training(make_gradient_descent(), make_backprop(backward))


def test_training_threshold_holds_for_the_reference_on_50_seeds():
    found = lesson3.calibrate(range(50))
    assert [c.check for c in found] == ["training loss", "held-out accuracy"]
    assert all(c.margin >= 0 for c in found), found


def test_naive_loss_fails_only_at_large_logits():
    lesson3.check_logistic_cross_entropy(naive_cross_entropy)
    with pytest.raises(AssertionError, match="stable form"):
        lesson3.check_large_logits(naive_cross_entropy)


@pytest.mark.parametrize(("local_derivative", "output_weights", "named"), [
    (lambda G, H: H * (1 - H), True, "sigmoid's derivative"),
    (lambda G, H: 1 - G ** 2, True, "from the pre-activation z instead of the output"),
    (lambda G, H: 1.0, True, "derivative is missing"),
    (lambda G, H: 1 - H ** 2, False, "missing the factor W"),
])
def test_hidden_layer_slips_are_named(local_derivative, output_weights, named):
    buggy = make_backward(local_derivative, output_weights)
    lesson3.check_output_layer_gradients(buggy)  # the slip does not leak into dW, dc
    with pytest.raises(AssertionError, match=named):
        lesson3.check_hidden_layer_gradients(buggy)


def test_output_layer_from_preactivation_is_named():
    def buggy(dz, cache):
        grads = backward(dz, cache)
        grads["W"] = cache["G"].T @ dz
        return grads

    lesson3.check_hidden_layer_gradients(buggy)
    with pytest.raises(AssertionError, match="pre-activations G"):
        lesson3.check_output_layer_gradients(buggy)


def test_backward_reading_an_undocumented_cache_key_is_told_so():
    def needs_p(dz, cache):
        cache["p"]

    with pytest.raises(AssertionError, match="cache holds only X, G, H, W"):
        lesson3.check_output_layer_gradients(needs_p)


def test_in_place_tanh_is_named_by_the_forward_check():
    def in_place(X, params):
        G = X @ params["U"].T + params["b"]
        H = np.tanh(G, out=G)
        return H @ params["W"] + params["c"], {"X": X, "G": G, "H": H, "W": params["W"]}

    with pytest.raises(AssertionError, match="G was overwritten"):
        lesson3.check_forward(in_place)


def test_failed_training_names_the_first_wrong_gradient():
    buggy = make_backward(lambda G, H: H * (1 - H))
    with pytest.raises(AssertionError, match="first wrong gradient of backprop .* is b:"):
        lesson3.check_training(make_gradient_descent(sign=1.0), make_backprop(buggy))


def test_backward_summing_the_bias_over_the_units_is_named():
    def buggy(dz, cache):
        grads = backward(dz, cache)
        dG = np.outer(dz, cache["W"]) * (1.0 - cache["H"] ** 2)
        grads["b"] = dG.sum(axis=1)
        return grads

    with pytest.raises(AssertionError, match="summed over the wrong axis"):
        lesson3.check_hidden_layer_gradients(buggy)


def test_output_bias_gradient_not_summed_is_named():
    def buggy(dz, cache):
        grads = backward(dz, cache)
        grads["c"] = dz
        return grads

    with pytest.raises(AssertionError, match="one gradient per example, not summed"):
        lesson3.check_output_layer_gradients(buggy)


@pytest.mark.parametrize(("slip", "named"), [
    (lambda X, p, z: 0.5 * (1.0 + np.tanh(0.5 * z)), "returned the probabilities"),
    (lambda X, p, z: z - p["c"], "output bias c is missing"),
    (lambda X, p, z: np.tanh(X @ p["U"].T) @ p["W"] + p["c"], "hidden bias b is missing"),
])
def test_forward_slips_are_named(slip, named):
    def buggy(X, params):
        z, cache = forward(X, params)
        return slip(X, params, z), cache

    with pytest.raises(AssertionError, match=named):
        lesson3.check_forward(buggy)


def test_a_crash_names_the_call_and_the_shapes():
    def crashes(X, params):
        return X @ params["U"], {}

    with pytest.raises(AssertionError, match=r"your code raised ValueError.*\n"
                                             r"\(in forward\(X, params\), called with "
                                             r"X: shape \(1, 2\)"):
        lesson3.check_forward(crashes)


def test_loss_slips_are_named():
    def missing_max(z, y):
        loss = np.mean(-y * z + np.log1p(np.exp(-np.abs(z))))
        return float(loss), (sigmoid(z) - y) / len(z)

    def summed(z, y):
        return logistic_cross_entropy(z, y)[0] * len(z), logistic_cross_entropy(z, y)[1]

    with pytest.raises(AssertionError, match=r"the max\(z, 0\) term of the stable form"):
        lesson3.check_logistic_cross_entropy(missing_max)
    with pytest.raises(AssertionError, match="summed over the points, not averaged"):
        lesson3.check_logistic_cross_entropy(summed)


def test_float32_loss_passes():
    def float32_loss(z, y):
        z, y = z.astype(np.float32), y.astype(np.float32)
        return logistic_cross_entropy(z, y)

    lesson3.check_logistic_cross_entropy(float32_loss)
    lesson3.check_large_logits(float32_loss)


def make_slipped_descent(slip):
    """The reference gradient descent with one slip in its loop."""
    backprop = make_backprop(backward)

    def gradient_descent(loss_and_grads, params, step_size, iterations):
        params = params if slip == "no copy" else {k: np.copy(v) for k, v in params.items()}
        losses = []
        _, first = loss_and_grads(params)
        for _ in range(1000 if slip == "iterations" else iterations):
            loss, grads = loss_and_grads(params)
            grads = first if slip == "stale" else grads
            for name in ("U", "b", "W") if slip == "c frozen" else params:
                step = (1.0 if slip == "step size" else step_size) * grads[name]
                if slip == "no copy":
                    params[name] -= step
                else:
                    params[name] = params[name] - step
            losses.append(loss_and_grads(params)[0] if slip == "after" else loss)
        return params, losses
    return gradient_descent, backprop


@pytest.mark.parametrize(("slip", "named"), [
    ("no copy", "changed the caller's params"),
    ("iterations", "it ignores iterations"),
    ("step size", "step_size is ignored"),
    ("stale", "stale gradients"),
    ("c frozen", r"params\['c'\] is never updated"),
    ("after", "each loss is the loss after its update"),
])
def test_gradient_descent_slips_are_named(slip, named):
    with pytest.raises(AssertionError, match=named):
        lesson3.check_training(*make_slipped_descent(slip))


def test_backprop_returning_grads_first_is_named():
    def swapped(X, y, params):
        loss, grads = make_backprop(backward)(X, y, params)
        return grads, loss

    def descent_for_swapped(loss_and_grads, params, step_size, iterations):
        params = {name: np.copy(value) for name, value in params.items()}
        losses = []
        for _ in range(iterations):
            grads, loss = loss_and_grads(params)
            params = {name: params[name] - step_size * grads[name] for name in params}
            losses.append(loss)
        return params, losses

    with pytest.raises(AssertionError, match=r"it should return \(loss, grads\)"):
        lesson3.check_training(descent_for_swapped, swapped)


def test_lesson2_gradient_descent_passes():
    """Lesson 2's solution, pasted: the two lessons share one signature and contract."""
    namespace = {"np": np}
    exec(lesson2_answer("gradient_descent"), namespace)
    lesson3.check_training(namespace["gradient_descent"], make_backprop(backward))


def test_hidden_bias_missing_from_the_cache_alone_is_named():
    # Saturated units can make z right without b; the cache's G still shows the slip.
    def buggy(X, params):
        z, cache = forward(X, params)
        return z, {**cache, "G": X @ params["U"].T}

    with pytest.raises(AssertionError, match="hidden bias b is missing"):
        lesson3.check_forward(buggy)
