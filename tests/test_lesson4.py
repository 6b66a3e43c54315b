"""Lesson 4: the reference MLP (grader.handouts.mlp), the data files and the hidden checks."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from course import datasets
from course.gradient_check import rel_error
from grader.checks import lesson4
from grader.handouts import mlp
from grader.make_lesson4_data import LESSON_DIR, write_lesson4_data


def autograd_mse(params, X, Y):
    hidden = 1.0 / (1.0 + anp.exp(-(anp.dot(X, params["W1"]) + params["b1"])))
    out = 1.0 / (1.0 + anp.exp(-(anp.dot(hidden, params["W2"]) + params["b2"])))
    return 0.5 * anp.sum((out - Y) ** 2) / Y.shape[0]


@pytest.mark.parametrize("sizes", [(2, 5, 3), (3, 4, 2), (1, 7, 4)])
def test_mlp_backward_matches_autograd(sizes):
    rng = np.random.default_rng(sum(sizes))
    params = mlp.init_mlp(rng, sizes)
    params["b1"] = rng.normal(size=sizes[1])  # non-zero biases exercise their gradients
    params["b2"] = rng.normal(size=sizes[2])
    X = rng.normal(size=(11, sizes[0]))
    Y = mlp.one_hot(rng.integers(0, sizes[2], size=11), sizes[2])
    out, cache = mlp.mlp_forward(params, X)
    grads = mlp.mlp_backward(params, cache, Y)
    expected = autograd.grad(autograd_mse)(params, X, Y)
    assert np.isclose(mlp.mse_loss(out, Y), autograd_mse(params, X, Y), rtol=1e-12)
    for name, value in params.items():
        assert grads[name].shape == value.shape
        assert rel_error(grads[name], expected[name]) < 1e-9, name


def test_mlp_shapes_and_predictions():
    params = mlp.init_mlp(0)
    assert {name: value.shape for name, value in params.items()} == {
        "W1": (2, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
    X = np.random.default_rng(1).normal(size=(6, 2))
    out, _ = mlp.mlp_forward(params, X)
    assert out.shape == (6, 3) and np.all((out > 0) & (out < 1))
    assert np.array_equal(mlp.predict(params, X), out.argmax(axis=1))
    assert mlp.accuracy(params, X, out.argmax(axis=1)) == 1.0


def test_sgd_step_moves_against_the_gradient_in_place():
    params = {"W": np.array([1.0, 2.0])}
    weights = params["W"]
    mlp.sgd_step(params, {"W": np.array([0.5, -1.0])}, 0.1)
    assert params["W"] is weights and np.allclose(weights, [0.95, 2.1])


def test_reference_trains_on_the_lesson_data():
    X, y = datasets.load_labelled_csv(LESSON_DIR / "train.csv")
    X_test, y_test = datasets.load_labelled_csv(LESSON_DIR / "test.csv")
    params = mlp.init_mlp(1024)
    losses = mlp.train(params, X, mlp.one_hot(y, 3), epochs=lesson4.EPOCHS,
                       learning_rate=lesson4.LEARNING_RATE)
    assert losses[-1] < 0.1 * losses[0]
    assert mlp.accuracy(params, X_test, y_test) >= lesson4.ACCURACY_THRESHOLD


def test_committed_data_files_are_what_the_script_writes(tmp_path):
    written = write_lesson4_data(tmp_path)
    for path in written:
        assert path.read_bytes() == (LESSON_DIR / path.name).read_bytes(), (
            f"source/lesson4/{path.name} differs from `python -m grader.make_lesson4_data`")


@pytest.mark.parametrize(("name", "rows"), [("train.csv", 210), ("test.csv", 90)])
def test_data_files_hold_three_balanced_clusters(name, rows):
    X, y = datasets.load_labelled_csv(LESSON_DIR / name)
    assert X.shape == (rows, 2) and np.bincount(y).tolist() == [rows // 3] * 3
    centres = np.array([X[y == label].mean(axis=0) for label in range(3)])
    assert np.allclose(centres, datasets.GAUSSIAN_CENTRES, atol=0.8)


def test_a_malformed_lesson_file_names_the_file_and_line(tmp_path):
    lines = (LESSON_DIR / "train.csv").read_text().splitlines()
    lines[56] = lines[56].replace(",", ";", 1)
    broken = tmp_path / "train.csv"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"train\.csv, line 57: expected 3 comma-separated"):
        datasets.load_labelled_csv(broken)


def test_training_threshold_holds_for_the_reference_over_50_seeds():
    [found] = lesson4.calibrate(range(50))
    assert found.margin > 0.05, found


def reference_layer_functions():
    def layer_forward(X, W, b):
        out = lesson4.reference_layer(X, W, b)
        return out, (X, W, out)

    def layer_backward(dout, cache):
        X, W, out = cache
        dz = dout * out * (1.0 - out)
        return dz @ W.T, X.T @ dz, dz.sum(axis=0)

    return layer_forward, layer_backward


def test_every_hidden_check_passes_the_reference():
    one_hot, forward, loss, backward, step = lesson4.reference_functions()
    layer_forward, layer_backward = reference_layer_functions()
    lesson4.check_one_hot(one_hot)
    lesson4.check_accuracy(lambda out, labels: float(np.mean(out.argmax(axis=1) == labels)))
    lesson4.check_layer_forward(layer_forward)
    lesson4.check_layer_backward(layer_forward, layer_backward)
    lesson4.check_mse_loss(loss)
    lesson4.check_mlp_forward(forward)
    lesson4.check_mlp_backward(forward, backward)
    lesson4.check_sgd_step(step)
    lesson4.check_training(one_hot, forward, loss, backward, step)


def float32_layer_functions():
    """A correct layer that computes in float32 and returns float64, as the checks allow."""
    def layer_forward(X, W, b):
        X32, W32, b32 = (np.asarray(a, dtype=np.float32) for a in (X, W, b))
        out = 1.0 / (1.0 + np.exp(-(X32 @ W32 + b32)))
        return out.astype(np.float64), (X32, W32, out)

    def layer_backward(dout, cache):
        X, W, out = cache
        dz = np.asarray(dout, dtype=np.float32) * out * (1 - out)
        return tuple(g.astype(np.float64) for g in (dz @ W.T, X.T @ dz, dz.sum(axis=0)))

    return layer_forward, layer_backward


def test_the_layer_checks_pass_a_float32_layer():
    layer_forward, layer_backward = float32_layer_functions()
    lesson4.check_layer_forward(layer_forward)
    lesson4.check_layer_backward(layer_forward, layer_backward)


def test_a_crash_in_student_code_names_the_call_and_shapes():
    def layer_forward(X, W, b):
        return X @ W.T + b, None

    with pytest.raises(AssertionError, match=r"your code raised ValueError.*\n\(in layer_forward\("
                                             r"X: shape \(6, 2\), W: shape \(2, 5\), "
                                             r"b: shape \(5,\)\)\)"):
        lesson4.check_layer_forward(layer_forward)


def test_mlp_check_rejects_a_network_with_hard_coded_sizes():
    _, forward, _, backward, _ = lesson4.reference_functions()

    def forward_2_5_3(params, X):
        assert params["W1"].shape == (2, 5), "written for the 2-5-3 network only"
        return forward(params, X)

    with pytest.raises(AssertionError, match="2-5-3 network only"):
        lesson4.check_mlp_backward(forward_2_5_3, backward)


def buggy_checks():
    """(name, call of a hidden check on a buggy answer, text its message must contain)."""
    one_hot, forward, loss, backward, step = lesson4.reference_functions()
    layer_forward, layer_backward = reference_layer_functions()

    def layer_forward_without_bias(X, W, b):
        return layer_forward(X, W, np.zeros_like(b))

    def layer_backward_transposed(dout, cache):
        dX, dW, db = layer_backward(dout, cache)
        return dX, dW.T, db

    def loss_without_one_over_n(out, Y):
        value, dout = loss(out, Y)
        return value, dout * len(Y)

    def loss_without_half(out, Y):
        value, dout = loss(out, Y)
        return 2 * value, 2 * dout

    def forward_linear_output(params, X):
        out, cache = forward(params, X)
        return np.log(out / (1.0 - out)), cache

    def backward_doubles_b1(dout, cache):
        grads = backward(dout, cache)
        return {**grads, "b1": 2 * grads["b1"]}

    def step_uphill(params, grads, learning_rate):
        step(params, grads, -learning_rate)

    def step_by_position(params, grads, learning_rate):
        for name, grad in zip(params, grads.values()):
            params[name] -= learning_rate * grad

    def loss_in_place(out, Y):
        out -= Y
        return 0.5 * np.sum(out ** 2) / len(Y), out / len(Y)

    last = {}

    def forward_keeping_last(X, W, b):
        last["cache"] = layer_forward(X, W, b)[1]
        return layer_forward(X, W, b)

    def backward_stale(dout, cache):
        return layer_backward(dout, last["cache"])

    def backward_z_times_one_minus_z(dout, cache):
        X, W, out = cache
        z = np.log(out / (1 - out))
        dz = dout * z * (1 - z)
        return dz @ W.T, X.T @ dz, dz.sum(axis=0)

    return [
        ("one_hot-three-classes", lambda: lesson4.check_one_hot(
            lambda labels, classes: np.eye(3)[labels]), "columns are classes"),
        ("accuracy-counts", lambda: lesson4.check_accuracy(
            lambda out, labels: np.sum(out.argmax(axis=1) == labels)), "accuracy on"),
        ("layer-forward-bias", lambda: lesson4.check_layer_forward(
            layer_forward_without_bias), "layer_forward output"),
        ("layer-backward-transposed", lambda: lesson4.check_layer_backward(
            layer_forward, layer_backward_transposed), "transpose of the right gradient"),
        ("mse-one-over-n", lambda: lesson4.check_mse_loss(loss_without_one_over_n),
         "times too large"),
        ("mse-half", lambda: lesson4.check_mse_loss(loss_without_half), "2 times the right"),
        ("mlp-forward-linear", lambda: lesson4.check_mlp_forward(forward_linear_output),
         "mlp_forward output"),
        ("mlp-backward-b1", lambda: lesson4.check_mlp_backward(forward, backward_doubles_b1),
         "b1: relative error"),
        ("sgd-uphill", lambda: lesson4.check_sgd_step(step_uphill), "sign is flipped"),
        ("sgd-no-op", lambda: lesson4.check_sgd_step(lambda params, grads, lr: None),
         "did not change"),
        ("training-uphill", lambda: lesson4.check_training(
            one_hot, forward, loss, backward, step_uphill), "the sign is flipped"),
        ("sgd-by-position", lambda: lesson4.check_sgd_step(step_by_position),
         "not by position"),
        ("sgd-ignores-rate", lambda: lesson4.check_sgd_step(
            lambda params, grads, lr: step(params, grads, 1.0)), "learning rate was ignored"),
        ("mse-in-place", lambda: lesson4.check_mse_loss(loss_in_place),
         "changed its argument out in place"),
        ("layer-stale-cache", lambda: lesson4.check_layer_backward(
            forward_keeping_last, backward_stale), "instead of its cache argument"),
        ("layer-derivative-of-z", lambda: lesson4.check_layer_backward(
            layer_forward, backward_z_times_one_minus_z), "from the pre-activation z"),
        ("one_hot-bool", lambda: lesson4.check_one_hot(
            lambda labels, classes: labels[:, None] == np.arange(classes)), "floats"),
    ]


@pytest.mark.parametrize(("name", "call", "message"), buggy_checks(),
                         ids=[name for name, _, _ in buggy_checks()])
def test_every_hidden_check_rejects_a_bug(name, call, message):
    with pytest.raises(AssertionError, match=message):
        call()
