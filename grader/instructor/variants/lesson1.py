"""Lesson 1 variants: the seed's XOR bug, gate and numerical-gradient slips, correct rewrites."""

from grader.instructor.variants import Variant

VARIANTS = [
    Variant(
        name="xor-assigns-hidden-gradients",
        description="Assigns each example's hidden-layer gradient instead of summing "
                    "(the forum question's bug), so only the last example counts.",
        edits=(("xor_gradients", 'grads["W1"] += np.outer(x_n, dz1)',
                'grads["W1"] = np.outer(x_n, dz1)'),
               ("xor_gradients", 'grads["b1"] += dz1', 'grads["b1"] = dz1')),
        loses=frozenset({"test_xor_gradients"}),
        diagnosis="W1: relative error",
        demo=True,
    ),
    Variant(
        name="forward-difference",
        description="Uses the one-sided difference (f(x+h) - f(x)) / h, accurate only to O(h).",
        edits=(("numerical_gradient", "grad[index] = (f_plus - f_minus) / (2 * h)",
                "grad[index] = (f_plus - f(x)) / h"),),
        loses=frozenset({"test_numerical_gradient_matches_autograd"}),
        diagnosis="gradient: relative error",
        demo=True,
    ),
    Variant(
        name="numerical-gradient-leaves-x-perturbed",
        description="Forgets to restore each entry after perturbing it.",
        edits=(("numerical_gradient", "        x[index] = original\n", ""),),
        loses=frozenset({"test_numerical_gradient_matches_autograd",
                         "test_numerical_gradient_restores_input"}),
        diagnosis="numerical_gradient changed x",
    ),
    Variant(
        name="product-gradients-swapped",
        description="Returns (x, y) for the gradient of x * y: each input's own value.",
        edits=(("grads_by_hand", "    return y, x\n", "    return x, y\n"),),
        loses=frozenset({"test_grad_product"}),
        diagnosis="df/dx should be 5.0, got -2.0",
    ),
    Variant(
        name="add-backward-ignores-upstream",
        description="Returns the add gate's local gradients (1, 1) without multiplying by dout.",
        edits=(("gates", "    return dout, dout\n",
                "    return np.ones_like(dout), np.ones_like(dout)\n"),),
        loses=frozenset({"test_add_gate", "test_neuron"}),
        diagnosis="gradient check failed for add_backward",
    ),
    Variant(
        name="sum-product-forgets-chain-rule",
        description="Returns the local derivatives of q = x + y (1, 1) instead of chaining with z.",
        edits=(("grads_by_hand", "    q = x + y\n    return z, z, q",
                "    return 1.0, 1.0, x + y"),),
        loses=frozenset({"test_grad_sum_product"}),
        diagnosis="df/dx should be -4.0, got 1.0",
    ),
    Variant(
        name="weighted-sum-drops-factor-two",
        description="Forgets the factor 2 in d(2x + y)/dx.",
        edits=(("grads_by_hand", "return 2 * z, z, q", "return z, z, q"),),
        loses=frozenset({"test_grad_weighted_sum_product"}),
        diagnosis="df/dx should be -8.0, got -4.0",
    ),
    Variant(
        name="multiply-swaps-gradients",
        description="Multiplies the upstream gradient by the input's own value, not the other's.",
        edits=(("gates", "return dout * y, dout * x", "return dout * x, dout * y"),),
        loses=frozenset({"test_multiply_gate", "test_neuron"}),
        diagnosis="gradient check failed for multiply_backward",
    ),
    Variant(
        name="max-routes-to-both",
        description="Passes the upstream gradient to both inputs of max, like an add gate.",
        edits=(("gates", "return dout * x_wins, dout * ~x_wins", "return dout, dout"),),
        loses=frozenset({"test_max_gate"}),
        diagnosis="gradient check failed for max_backward",
    ),
    Variant(
        name="sigmoid-derivative-missing-factor",
        description="Uses sigma(x) as the derivative of sigma, dropping the (1 - sigma) factor.",
        edits=(("gates", "return (dout * s * (1.0 - s),)", "return (dout * s,)"),),
        loses=frozenset({"test_sigmoid_gate", "test_neuron"}),
        diagnosis="gradient check failed for sigmoid_backward",
    ),
    # Correct alternatives: each must get full marks.
    Variant(
        name="max-tie-goes-to-y",
        description="Breaks ties of max towards y; ties have measure zero, so this is correct.",
        edits=(("gates", "x_wins = x >= y", "x_wins = x > y"),),
    ),
    Variant(
        name="sigmoid-via-tanh",
        description="Computes the sigmoid as (1 + tanh(x / 2)) / 2, an identity.",
        edits=(("gates", "s = 1.0 / (1.0 + np.exp(-x))", "s = 0.5 * (1.0 + np.tanh(0.5 * x))"),),
    ),
    Variant(
        name="neuron-by-hand",
        description="Writes the neuron's gradients in closed form instead of chaining gates.",
        cells={"neuron": '''
def neuron_forward_backward(w, x):
    """w: (3,) weights (the last is the bias), x: (2,) input."""
    f = 1.0 / (1.0 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    dt = f * (1.0 - f)
    return f, dt * np.array([x[0], x[1], 1.0]), dt * np.array([w[0], w[1]])
'''},
    ),
    Variant(
        name="vectorised-xor-gradients",
        description="Computes the XOR gradients for all examples at once with matrix products.",
        cells={"xor_gradients": '''
def xor_gradients(params, X, y):
    """Gradients of xor_loss, vectorised over the examples."""
    hidden = sigmoid(X @ params["W1"] + params["b1"])
    p = sigmoid(hidden @ params["W2"] + params["b2"])
    dz2 = (p - y[:, None]) * p * (1 - p)
    dz1 = (dz2 @ params["W2"].T) * hidden * (1 - hidden)
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": hidden.T @ dz2,
            "b2": dz2.sum(axis=0)}
'''},
    ),
    Variant(
        name="numerical-gradient-flat-view",
        description="Loops over a flat view of x with explicit index arithmetic.",
        cells={"numerical_gradient": '''
def numerical_gradient(f, x, h=1e-5):
    """Central differences through a flat view of x."""
    flat = x.reshape(-1)
    grad = np.empty(flat.size)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f(x)
        flat[i] = keep - h
        down = f(x)
        flat[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(x.shape)
'''},
    ),
]
