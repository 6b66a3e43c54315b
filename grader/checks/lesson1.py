"""Checks for lesson 1: hand-derived gradients, gates, a neuron, numerical gradients, XOR."""

import autograd
import autograd.numpy as anp
import numpy as np

from course.gradient_check import (
    GRADIENT_TOL,
    assert_gradients_close,
    assert_gradients_close_normwise,
    norm_rel_error,
)
from grader.checks.common import as_tuple, rng_for
from grader.checks.mistakes import activation_derivative_mistakes, propagate_mistakes

TRIALS = 5


def _check_scalar_gradient(fn, reference, names, check_name, mistakes):
    """Compare fn(*point) with autograd's gradient of ``reference`` at fresh random points.

    mistakes: description -> function of the point giving the tuple of gradients that
    mistake returns, so the message can name it.
    """
    rng = rng_for(check_name)
    for _ in range(TRIALS):
        point = rng.uniform(-3.0, 3.0, size=len(names))
        expected = autograd.grad(lambda v: reference(*v))(point)
        got = as_tuple(fn(*point), len(names), f"{fn.__name__}{tuple(np.round(point, 3))}")
        point_text = ", ".join(f"{n}={v:.3f}" for n, v in zip(names, point))
        wrong = {description: mistake(*point) for description, mistake in mistakes.items()}
        assert_gradients_close(
            {f"df/d{n}": g for n, g in zip(names, got)},
            {f"df/d{n}": e for n, e in zip(names, expected)},
            tol=GRADIENT_TOL,
            context=f"at {point_text}",
            alternatives={f"df/d{n}": {d: w[i] for d, w in wrong.items()}
                          for i, n in enumerate(names)},
        )


def check_grad_product(grad_product):
    """grad_product(x, y) returns the gradient of f = x * y."""
    _check_scalar_gradient(grad_product, lambda x, y: x * y, "xy", "grad_product", {
        "each input's own value was returned: the derivative of x * y with respect to x is "
        "the other input, y": lambda x, y: (x, y),
    })


def check_grad_sum_product(grad_sum_product):
    """grad_sum_product(x, y, z) returns the gradient of f = (x + y) * z."""
    _check_scalar_gradient(
        grad_sum_product, lambda x, y, z: (x + y) * z, "xyz", "grad_sum_product", {
            "these are the local derivatives of q = x + y without the chain rule: "
            "df/dx = df/dq * dq/dx = z * 1": lambda x, y, z: (1.0, 1.0, x + y),
        })


def check_grad_weighted_sum_product(grad_weighted_sum_product):
    """grad_weighted_sum_product(x, y, z) returns the gradient of f = (2x + y) * z."""
    _check_scalar_gradient(
        grad_weighted_sum_product, lambda x, y, z: (2 * x + y) * z, "xyz",
        "grad_weighted_sum_product", {
            "the factor 2 of d(2x + y)/dx is missing": lambda x, y, z: (z, z, 2 * x + y),
        })


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


IGNORES_DOUT = ("it ignores the upstream gradient dout: backward returns dout times the "
                "local derivative")


def _gate_mistakes(name, inputs, dout) -> dict[str, dict[str, np.ndarray]]:
    """Gradient name -> {mistake: what backward returns with it}, for the gate ``name``."""
    if name == "add":
        ones = np.ones_like(dout)
        return {"dx": {IGNORES_DOUT: ones}, "dy": {IGNORES_DOUT: ones}}
    if name == "multiply":
        x, y = inputs
        own = ("dout was multiplied by the input's own value: the local derivative of x * y "
               "with respect to x is the other input, y")
        return {"dx": {own: dout * x, IGNORES_DOUT: y}, "dy": {own: dout * y, IGNORES_DOUT: x}}
    if name == "max":
        x, y = inputs
        both = "dout was passed to both inputs: max routes it only to the larger one"
        smaller = "dout was routed to the smaller input: the mask is inverted"
        return {"dx": {both: dout, smaller: dout * (x < y), IGNORES_DOUT: 1.0 * (x >= y)},
                "dy": {both: dout, smaller: dout * (x >= y), IGNORES_DOUT: 1.0 * (x < y)}}
    (x,) = inputs
    local = activation_derivative_mistakes("sigmoid", x)
    s = 1.0 / (1.0 + np.exp(-x))
    return {"dx": {IGNORES_DOUT: s * (1 - s),
                   **{description: dout * wrong for description, wrong in local.items()}}}


def check_gate(name, forward, backward):
    """A gate's forward value and backward gradients, at fresh random arrays and upstream
    grads; forward must leave its inputs unchanged."""
    reference, arity = GATES[name]
    rng = rng_for(f"gate_{name}")
    input_names = ["dx", "dy"][:arity]
    for shape in [(3,), (4, 5), (2, 3, 2)]:
        inputs = [rng.uniform(-4.0, 4.0, size=shape) for _ in range(arity)]
        dout = rng.normal(size=shape)
        given = [x.copy() for x in inputs]
        out, cache = as_tuple(forward(*given), 2, f"{name}_forward")
        for argument, before, after in zip("xy", inputs, given):
            if not np.array_equal(before, after):
                raise AssertionError(
                    f"{name}_forward changed its input {argument} in place: compute a new "
                    f"array (e.g. out = x + y, not x += y), since the caller still needs "
                    f"{argument}")
        if np.shape(out) != shape:
            raise AssertionError(f"{name}_forward returned shape {np.shape(out)} for inputs "
                                 f"of shape {shape}")
        if not np.allclose(out, reference(*inputs), rtol=GRADIENT_TOL, atol=1e-10):
            raise AssertionError(f"{name}_forward returns wrong values on random inputs of "
                                 f"shape {shape}")
        grads = backward(dout.copy(), cache)
        grads = as_tuple(grads if isinstance(grads, tuple) else (grads,), arity,
                         f"{name}_backward")
        expected = [_upstream_gradient(reference, inputs, dout, i) for i in range(arity)]
        assert_gradients_close(
            dict(zip(input_names, grads)),
            dict(zip(input_names, expected)),
            tol=GRADIENT_TOL,
            context=f"for {name}_backward on random inputs of shape {shape}",
            alternatives=_gate_mistakes(name, inputs, dout),
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
        if not np.isclose(f, _neuron(np.concatenate([w, x])), rtol=GRADIENT_TOL, atol=0):
            raise AssertionError("neuron_forward_backward: the output f is wrong at a "
                                 "fresh random point")
        assert_gradients_close({"dw": dw, "dx": dx}, {"dw": expected[:3], "dx": expected[3:]},
                               tol=GRADIENT_TOL, context="at a fresh random point",
                               alternatives=_neuron_mistakes(w, x, expected))


def _neuron_mistakes(w, x, expected) -> dict[str, dict[str, np.ndarray]]:
    """Gradient name -> {mistake: the gradient it gives} for the neuron."""
    t = w[0] * x[0] + w[1] * x[1] + w[2]
    mistakes = propagate_mistakes(
        activation_derivative_mistakes("sigmoid", t),
        lambda local: {"dw": local * np.array([x[0], x[1], 1.0]), "dx": local * w[:2]})
    mistakes["dw"]["the bias gradient dw[2] is missing: the bias feeds an add gate, so it "
                   "receives the sigmoid's local gradient"] = np.append(expected[:2], 0.0)
    return mistakes


# Test functions whose gradients stay >= 1 in size on [-2, 2], so a relative error is
# meaningful everywhere: a forward difference (error ~h) fails, central (~h^2) passes.
def _cubic(x):
    return anp.sum(x ** 3 / 3.0 + x + anp.exp(x / 2.0))


def _log_sum_exp(W):
    return anp.log(anp.sum(anp.exp(W))) + 0.5 * anp.sum(W ** 2) + 3.0 * anp.sum(W)


def _differences(f, x, h):
    """Central, forward and backward differences of f at x with step h (float64)."""
    central, forward, backward = (np.zeros_like(x) for _ in range(3))
    f_x = f(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        f_up, f_down = f(up), f(down)
        central[index] = (f_up - f_down) / (2 * h)
        forward[index] = (f_up - f_x) / h
        backward[index] = (f_x - f_down) / h
    return central, forward, backward


ONE_SIDED = ("this is a one-sided difference, (f(x + h) - f(x)) / h or (f(x) - f(x - h)) / h, "
             "whose error is of order h: use the central difference "
             "(f(x + h) - f(x - h)) / (2h), whose error is of order h^2")
IGNORES_H = ("numerical_gradient ignores its argument h: with h = {h} the central difference "
             "differs from the exact gradient, and yours does not")


def _one_sided_match(f, x, got, exact) -> dict[str, np.ndarray]:
    """{ONE_SIDED: got} if got is a one-sided difference, else {}.

    A one-sided difference is only 1e-5 (relative) away from the exact gradient, closer
    than ``fingerprint`` tells arrays apart, so the match is decided here: got must be far
    closer to a one-sided difference than to the exact gradient.
    """
    got = np.asarray(got, dtype=float)
    if got.shape != np.shape(x) or not np.all(np.isfinite(got)):
        return {}
    _, forward, backward = _differences(f, x, 1e-5)
    for one_sided in (forward, backward):
        if norm_rel_error(got, one_sided) < 0.1 * norm_rel_error(got, exact):
            return {ONE_SIDED: got}
    return {}


def check_numerical_gradient(numerical_gradient):
    """numerical_gradient(f, x, h) matches autograd on fresh functions and arrays of any shape,
    and uses the step h it is given."""
    rng = rng_for("numerical_gradient")
    for f, shape in [(_cubic, (6,)), (_log_sum_exp, (3, 4)), (_cubic, (2, 2, 2))]:
        x = rng.uniform(-2.0, 2.0, size=shape)
        given = x.copy()
        got = numerical_gradient(f, given, h=1e-5)
        if not np.array_equal(given, x):
            raise AssertionError(
                "numerical_gradient changed x: restore each entry after perturbing it, or "
                "every later entry is measured at the wrong point")
        exact = autograd.grad(f)(x)
        assert_gradients_close({"gradient": got}, {"gradient": exact}, tol=1e-7,
                               context=f"for a function of an array of shape {shape}",
                               alternatives={"gradient": _one_sided_match(f, x, got, exact)})
    # A large step makes the central difference measurably differ from the exact gradient
    # (by about h^2 f'''/6), so an answer that hard-codes its own small step shows.
    h = 0.05
    x = rng.uniform(-2.0, 2.0, size=(5,))
    central, _, _ = _differences(_cubic, x, h)
    got = numerical_gradient(_cubic, x.copy(), h=h)
    assert_gradients_close({"gradient": got}, {"gradient": central}, tol=1e-9,
                           context=f"with the step h = {h}",
                           alternatives={"gradient": {IGNORES_H.format(h=h):
                                                      autograd.grad(_cubic)(x)}})


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


SUMMED_NOT_ASSIGNED = ("only the last example counts: the per-example gradients were "
                       "assigned (=) instead of added (+=)")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _xor_backward(params, X, y, output_local=None, hidden_local=None):
    """The XOR network's gradients, optionally with a wrong local derivative at the output
    (output_local: (N, 1), in place of p (1 - p)) or at the hidden layer (hidden_local:
    (N, H), in place of h (1 - h)). Returns a dict like params."""
    hidden = _sigmoid(X @ params["W1"] + params["b1"])
    p = _sigmoid(hidden @ params["W2"] + params["b2"])
    dz2 = (p - y[:, None]) * (p * (1 - p) if output_local is None else output_local)
    local = hidden * (1 - hidden) if hidden_local is None else hidden_local
    dz1 = (dz2 @ params["W2"].T) * local
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": hidden.T @ dz2, "b2": dz2.sum(axis=0)}


def _xor_mistakes(params, X, y) -> dict[str, dict[str, np.ndarray]]:
    """Gradient name -> {mistake: the gradient it gives} for the XOR network."""
    last = _xor_backward(params, X[-1:], y[-1:])
    mistakes = {name: {SUMMED_NOT_ASSIGNED: value} for name, value in last.items()}
    z1 = X @ params["W1"] + params["b1"]
    z2 = _sigmoid(z1) @ params["W2"] + params["b2"]
    for layer, z, keyword in [("hidden layer", z1, "hidden_local"),
                              ("output layer", z2, "output_local")]:
        wrong = propagate_mistakes(
            activation_derivative_mistakes("sigmoid", z),
            lambda local, keyword=keyword: _xor_backward(params, X, y, **{keyword: local}))
        for name, by_mistake in wrong.items():
            mistakes.setdefault(name, {}).update(
                {f"{layer}: {description}": value for description, value in by_mistake.items()})
    return mistakes


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
        assert_gradients_close_normwise(
            got, {name: expected[name] for name in ["W2", "b2", "W1", "b1"]},
            tol=GRADIENT_TOL, context=f"on {n} random points with {hidden} hidden units",
            alternatives=_xor_mistakes(params, X, y))


XOR_PARAMETERS = ("W1", "b1", "W2", "b2")
# The one parameter whose gradient the lesson's xor_gradients_buggy assigns instead of sums.
XOR_WRONG_GRADIENT = "W1"


def check_xor_wrong_gradient(wrong_gradient):
    """wrong_gradient names (up to case and surrounding whitespace) the parameter whose
    gradient in xor_gradients_buggy disagrees with the numerical gradient."""
    if not isinstance(wrong_gradient, str):
        raise AssertionError("wrong_gradient should be the name of one parameter, as a "
                             "string: 'W1', 'b1', 'W2' or 'b2'")
    names = {name.lower(): name for name in XOR_PARAMETERS}
    name = names.get(wrong_gradient.strip().lower())
    given = f"wrong_gradient = {wrong_gradient[:40]!r}"
    if name is None:
        raise AssertionError(f"{given} is not a parameter of the network: name one of "
                             "'W1', 'b1', 'W2' or 'b2'")
    if name != XOR_WRONG_GRADIENT:
        raise AssertionError(f"{given} is not the parameter whose gradient disagrees: "
                             "xor_gradients_buggy's gradient for it matches the numerical "
                             "gradient. Name the parameter whose relative error your check "
                             "shows above 1e-3")
