"""Lesson 5's hidden checks: the references pass them, and their thresholds are calibrated."""

import numpy as np
import pytest

from course import datasets
from grader.checks import layers, lesson5


def test_linearly_separable_keeps_a_margin():
    X, y = datasets.linearly_separable(0, n=300, margin=0.05)
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.all((X >= 0) & (X <= 1))
    assert np.all(np.abs(X[:, 1] - X[:, 0]) >= 0.05)
    assert np.array_equal(y, (X[:, 1] > X[:, 0]).astype(int))
    assert 0.3 < y.mean() < 0.7


@pytest.mark.parametrize("check, layer", [
    (lesson5.check_linear, layers.Linear),
    (lesson5.check_sigmoid, layers.Sigmoid),
    (lesson5.check_relu, layers.ReLU),
    (lesson5.check_mse, layers.MSE),
    (lesson5.check_bce, layers.BCE),
    (lesson5.check_bce_saturated, layers.BCE),
    (lesson5.check_network, layers.Network),
])
def test_reference_layers_pass_their_checks(check, layer):
    check(layer)


def test_reference_network_passes_the_accuracy_checks():
    classes = (layers.Network, layers.Linear, layers.Sigmoid, layers.MSE)
    lesson5.check_separable_accuracy(*classes)
    lesson5.check_xor_accuracy(*classes)


def test_reference_harness_passes_its_checks():
    lesson5.check_train_history(lesson5.reference_train)
    lesson5.check_train_accuracy(lesson5.reference_train)


def test_step_size_checks_accept_the_closed_form_and_reject_neighbours():
    def stable_step(Phi):
        return len(Phi) / np.linalg.norm(Phi, 2) ** 2

    lesson5.check_mse_hessian(lambda Phi: 2.0 * Phi.T @ Phi / len(Phi))
    lesson5.check_largest_stable_step(stable_step)
    with pytest.raises(AssertionError, match="too large"):
        lesson5.check_largest_stable_step(lambda Phi: 1.01 * stable_step(Phi))
    with pytest.raises(AssertionError, match="too small"):
        lesson5.check_largest_stable_step(lambda Phi: 0.5 * stable_step(Phi))


@pytest.mark.parametrize("seed", [0, 1])
def test_stacked_training_reproduces_layers_fit(seed):
    """calibrate() trains many networks at once; that must equal layers.fit one by one."""
    X, y = datasets.xor()
    Y = y[:, None].astype(float)
    make = lesson5._reference_networks
    single = make([np.random.default_rng(seed)], lesson5.XOR_SETTINGS)[0]
    stacked = make([np.random.default_rng(seed)], lesson5.XOR_SETTINGS)
    layers.fit(single, layers.MSE(), X, Y, 300, 5.0)
    predict = lesson5.fit_stacked(stacked, X[None], Y[None], 300, 5.0)
    np.testing.assert_allclose(predict(X[None])[0], single.forward(X)[0], rtol=1e-9, atol=1e-12)


def test_accuracy_thresholds_hold_for_the_reference_over_50_seeds():
    found = lesson5.calibrate(range(50))
    assert {c.check for c in found} == set(lesson5.CALIBRATED)
    assert [c for c in found if c.margin < 0] == [], found


class ZeroingNetwork(layers.Network):
    """Zeroes the correct layers it is given, so a check that computed its expected values
    from those layers afterwards would expect what this network returns."""

    def forward(self, x):
        for layer in self.layers:
            for value in layer.params.values():
                value[...] = 0.0
        return super().forward(x)


def test_network_check_judges_against_layers_the_network_cannot_touch():
    lesson5.check_network(layers.Network)
    with pytest.raises(AssertionError, match="wrong values"):
        lesson5.check_network(ZeroingNetwork)


class Float32Linear(layers.Linear):
    """A correct Linear computing in float32, which every tolerance must accept."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float32)
        return x @ self.params["W"].astype(np.float32) + self.params["b"].astype(np.float32), x

    def backward(self, dout, cache):
        dout = np.asarray(dout, dtype=np.float32)
        return (dout @ self.params["W"].astype(np.float32).T,
                {"W": cache.T @ dout, "b": dout.sum(axis=0)})


def test_float32_layers_pass():
    lesson5.check_linear(Float32Linear)
    lesson5.check_separable_accuracy(layers.Network, Float32Linear, layers.Sigmoid, layers.MSE)


class StaleLinear(layers.Linear):
    """Keeps x on self: a second forward before backward makes the cache stale."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout, cache):
        return super().backward(dout, self.x)


def test_a_stale_cache_is_named():
    with pytest.raises(AssertionError, match="the input of the latest forward call"):
        lesson5.check_linear(StaleLinear)


class DoutBlindMSE(layers.MSE):
    def backward(self, dout, cache):
        return super().backward(1.0, cache)


def test_a_loss_that_ignores_dout_is_named():
    with pytest.raises(AssertionError, match="ignores the upstream gradient dout"):
        lesson5.check_mse(DoutBlindMSE)


class ForwardOrderCaches(layers.Network):
    def backward(self, dout, caches):
        grads = []
        for layer, cache in zip(reversed(self.layers), caches):
            dout, layer_grads = layer.backward(dout, cache)
            grads.append(layer_grads)
        return dout, grads[::-1]


def test_a_network_that_mismatches_caches_is_named():
    with pytest.raises(AssertionError, match="not the one its own forward returned"):
        lesson5.check_network(ForwardOrderCaches)


def reseeding_train(params, X, Y, epochs, batch_size, learning_rate, shuffle=False, rng=None):
    """Shuffles with a fresh generator of the same seed every epoch: one order for all."""
    history = {"loss": [], "accuracy": [], "updates": 0}
    for _ in range(epochs):
        step = lesson5.reference_train(params, X, Y, 1, batch_size, learning_rate, shuffle, rng)
        for key in ("loss", "accuracy"):
            history[key] += step[key]
        history["updates"] += step["updates"]
    return history


def test_train_must_shuffle_every_epoch_anew():
    with pytest.raises(AssertionError, match="every epoch goes through the rows in the same"):
        lesson5.check_train_history(reseeding_train)


def test_train_must_use_its_learning_rate():
    def fixed_rate(params, X, Y, epochs, batch_size, learning_rate, shuffle=False, rng=None):
        return lesson5.reference_train(params, X, Y, epochs, batch_size, 1.0, shuffle, rng)

    with pytest.raises(AssertionError, match="train ignores learning_rate"):
        lesson5.check_train_history(fixed_rate)


def test_a_crash_names_the_call_and_shapes():
    class Broken(layers.Linear):
        def backward(self, dout, cache):
            raise ValueError("shapes do not align")

    with pytest.raises(AssertionError, match=r"your code raised ValueError.*\n\(in "
                                             r"Linear\(3, 4\)\.backward, called with "
                                             r"shape \(5, 4\), shape \(5, 3\)\)"):
        lesson5.check_linear(Broken)
