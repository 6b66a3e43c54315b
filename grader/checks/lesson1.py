"""Checks for lesson 1: hand-derived gradients, gates, a neuron, numerical gradients, XOR."""

import autograd
import autograd.numpy as anp
import numpy as np

from course.gradient_check import assert_gradients_close
from grader.checks.common import as_tuple, rng_for

TRIALS = 5


def _check_scalar_gradient(fn, reference, names, check_name):
    """Compare fn(*point) with autograd's gradient of ``reference`` at fresh random points."""
    rng = rng_for(check_name)
    for _ in range(TRIALS):
        point = rng.uniform(-3.0, 3.0, size=len(names))
        expected = autograd.grad(lambda v: reference(*v))(point)
        got = as_tuple(fn(*point), len(names), f"{fn.__name__}{tuple(np.round(point, 3))}")
        point_text = ", ".join(f"{n}={v:.3f}" for n, v in zip(names, point))
        assert_gradients_close(
            {f"df/d{n}": g for n, g in zip(names, got)},
            {f"df/d{n}": e for n, e in zip(names, expected)},
            tol=1e-8,
            context=f"at {point_text}",
        )


def check_grad_product(grad_product):
    """grad_product(x, y) returns the gradient of f = x * y."""
    _check_scalar_gradient(grad_product, lambda x, y: x * y, "xy", "grad_product")


def check_grad_sum_product(grad_sum_product):
    """grad_sum_product(x, y, z) returns the gradient of f = (x + y) * z."""
    _check_scalar_gradient(
        grad_sum_product, lambda x, y, z: (x + y) * z, "xyz", "grad_sum_product"
    )


def check_grad_weighted_sum_product(grad_weighted_sum_product):
    """grad_weighted_sum_product(x, y, z) returns the gradient of f = (2x + y) * z."""
    _check_scalar_gradient(
        grad_weighted_sum_product, lambda x, y, z: (2 * x + y) * z, "xyz",
        "grad_weighted_sum_product",
    )


# name -> (reference function of the gate's inputs, number of inputs)
GATES = {
    "add": (lambda x, y: x + y, 2),
    "multiply": (lambda x, y: x * y, 2),
    "max": (lambda x, y: anp.maximum(x, y), 2),
    "sigmoid": (lambda x: 1.0 / (1.0 + anp.exp(-x)), 1),
}


def _upstream_gradient(reference, inputs, dout, i):
    """d/d inputs[i] of sum(reference(*inputs) * dout): what backward must return for input i."""

    def weighted_output(v):
        return anp.sum(reference(*[v if j == i else x for j, x in enumerate(inputs)]) * dout)

    return autograd.grad(weighted_output)(inputs[i])


def check_gate(name, forward, backward):
    """A gate's forward value and backward gradients, at fresh random arrays and upstream grads."""
    reference, arity = GATES[name]
    rng = rng_for(f"gate_{name}")
    input_names = ["dx", "dy"][:arity]
    for shape in [(3,), (4, 5), (2, 3, 2)]:
        inputs = [rng.uniform(-4.0, 4.0, size=shape) for _ in range(arity)]
        dout = rng.normal(size=shape)
        out, cache = as_tuple(forward(*[x.copy() for x in inputs]), 2, f"{name}_forward")
        if np.shape(out) != shape:
            raise AssertionError(f"{name}_forward returned shape {np.shape(out)} for inputs "
                                 f"of shape {shape}")
        if not np.allclose(out, reference(*inputs), atol=1e-10):
            raise AssertionError(f"{name}_forward returns wrong values on random inputs of "
                                 f"shape {shape}")
        grads = backward(dout.copy(), cache)
        grads = as_tuple(grads if isinstance(grads, tuple) else (grads,), arity,
                         f"{name}_backward")
        expected = [_upstream_gradient(reference, inputs, dout, i) for i in range(arity)]
        assert_gradients_close(
            dict(zip(input_names, grads)),
            dict(zip(input_names, expected)),
            tol=1e-8,
            context=f"for {name}_backward on random inputs of shape {shape}",
        )


def _neuron(params):
    w, x = params[:3], params[3:]
    return 1.0 / (1.0 + anp.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))


def check_neuron(neuron_forward_backward):
    """neuron_forward_backward(w, x) returns f and its gradients for sigmoid(w0 x0 + w1 x1 + w2)."""
    rng = rng_for("neuron")
    for _ in range(TRIALS):
        w, x = rng.uniform(-2.0, 2.0, 3), rng.uniform(-2.0, 2.0, 2)
        f, dw, dx = as_tuple(neuron_forward_backward(w.copy(), x.copy()), 3,
                             "neuron_forward_backward")
        expected = autograd.grad(_neuron)(np.concatenate([w, x]))
        if not np.isclose(f, _neuron(np.concatenate([w, x])), atol=1e-10):
            raise AssertionError("neuron_forward_backward: the output f is wrong at a "
                                 "fresh random point")
        assert_gradients_close({"dw": dw, "dx": dx}, {"dw": expected[:3], "dx": expected[3:]},
                               tol=1e-8, context="at a fresh random point")


# Test functions whose gradients stay >= 1 in size on [-2, 2], so a relative error is
# meaningful everywhere: a forward difference (error ~h) fails, central (~h^2) passes.
def _cubic(x):
    return anp.sum(x ** 3 / 3.0 + x + anp.exp(x / 2.0))


def _log_sum_exp(W):
    return anp.log(anp.sum(anp.exp(W))) + 0.5 * anp.sum(W ** 2) + 3.0 * anp.sum(W)


def check_numerical_gradient(numerical_gradient):
    """numerical_gradient(f, x) matches autograd on fresh functions and arrays (1-D and 2-D)."""
    rng = rng_for("numerical_gradient")
    for f, shape in [(_cubic, (6,)), (_log_sum_exp, (3, 4)), (_cubic, (2, 2, 2))]:
        x = rng.uniform(-2.0, 2.0, size=shape)
        got = numerical_gradient(f, x.copy(), h=1e-5)
        assert_gradients_close({"gradient": got}, {"gradient": autograd.grad(f)(x)}, tol=1e-7,
                               context=f"for a function of an array of shape {shape}")


def check_numerical_gradient_restores_input(numerical_gradient):
    """numerical_gradient(f, x) evaluates f around x and leaves x exactly as it found it."""
    x = rng_for("numerical_gradient_restores").uniform(-2.0, 2.0, size=(3, 3))
    before = x.copy()
    moved = []

    def f(v):
        moved.append(not np.array_equal(v, before))
        return _log_sum_exp(v)

    numerical_gradient(f, x, h=1e-5)
    # Leaving x alone is only worth the point if f was evaluated away from x (an answer
    # that computes nothing also leaves x alone).
    if sum(moved) < x.size:
        raise AssertionError(f"numerical_gradient evaluated f at {sum(moved)} points other "
                             f"than x for an x of {x.size} entries; central differences "
                             "need f(x + h e_i) and f(x - h e_i) for every entry")
    if not np.array_equal(x, before):
        changed = int(np.sum(x != before))
        raise AssertionError(f"numerical_gradient changed {changed} entries of x; restore "
                             "each entry after perturbing it")


def xor_loss(params, X, y):
    """Half the summed squared error of the 2-H-1 sigmoid network (the lesson's definition)."""
    hidden = 1.0 / (1.0 + anp.exp(-(anp.dot(X, params["W1"]) + params["b1"])))
    p = 1.0 / (1.0 + anp.exp(-(anp.dot(hidden, params["W2"]) + params["b2"])))
    return 0.5 * anp.sum((p[:, 0] - y) ** 2)


def check_xor_gradients(xor_gradients):
    """xor_gradients(params, X, y) matches autograd at fresh random weights and data."""
    rng = rng_for("xor_gradients")
    for n, hidden in [(4, 3), (9, 3), (7, 5)]:
        params = {"W1": rng.normal(size=(2, hidden)), "b1": rng.normal(size=hidden),
                  "W2": rng.normal(size=(hidden, 1)), "b2": rng.normal(size=1)}
        X = rng.uniform(-1.0, 2.0, size=(n, 2))
        y = rng.integers(0, 2, size=n).astype(float)
        got = xor_gradients({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
        expected = autograd.grad(xor_loss)(params, X, y)
        assert_gradients_close(got, expected, tol=1e-7,
                               context=f"on {n} random points with {hidden} hidden units")
