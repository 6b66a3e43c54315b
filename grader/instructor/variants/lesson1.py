"""Lesson 1 variants: the seed's XOR bug, gate and numerical-gradient slips, correct rewrites."""

from grader.instructor.variants import Variant

VARIANTS = [
    Variant(
        name="xor-assigns-hidden-gradients",
        description="Assigns both hidden-layer gradients (=, not +=), b1's as well as the "
                    "given code's W1, so only the last example counts.",
        edits=(("xor_gradients", 'grads["W1"] += np.outer(x_n, dz1)',
                'grads["W1"] = np.outer(x_n, dz1)'),
               ("xor_gradients", 'grads["b1"] += dz1', 'grads["b1"] = dz1')),
        loses=frozenset({"test_xor_gradients"}),
        diagnosis="only the last example counts",
        demo=True,
    ),
    Variant(
        name="xor-left-unfixed",
        description="Hands in the given xor_gradients_buggy unchanged: W1's gradient is still "
                    "assigned (=) per example, as in the forum question.",
        edits=(("xor_gradients", 'grads["W1"] += np.outer(x_n, dz1)',
                'grads["W1"] = np.outer(x_n, dz1)'),),
        loses=frozenset({"test_xor_gradients"}),
        diagnosis="only the last example counts",
    ),
    Variant(
        name="forward-difference",
        description="Uses the one-sided difference (f(x+h) - f(x)) / h, accurate only to O(h).",
        edits=(("numerical_gradient", "grad[index] = (f_plus - f_minus) / (2 * h)",
                "grad[index] = (f_plus - f(x)) / h"),),
        loses=frozenset({"test_numerical_gradient_matches_autograd"}),
        diagnosis="this is a one-sided difference",
        demo=True,
    ),
    Variant(
        name="numerical-gradient-leaves-x-perturbed",
        description="Forgets to restore each entry after perturbing it.",
        edits=(("numerical_gradient", "        x[index] = original\n", ""),),
        loses=frozenset({"test_numerical_gradient_matches_autograd",
                         "test_numerical_gradient_restores_input"}),
        diagnosis="restore each entry after perturbing it",
    ),
    Variant(
        name="product-gradients-swapped",
        description="Returns (x, y) for the gradient of x * y: each input's own value.",
        edits=(("grads_by_hand", "    return y, x\n", "    return x, y\n"),),
        loses=frozenset({"test_grad_product"}),
        diagnosis="the derivative of x * y with respect to x is the other input",
    ),
    Variant(
        name="add-backward-ignores-upstream",
        description="Returns the add gate's local gradients (1, 1) without multiplying by dout.",
        edits=(("gates", "    return dout, dout\n",
                "    return np.ones_like(dout), np.ones_like(dout)\n"),),
        loses=frozenset({"test_add_gate", "test_neuron"}),
        diagnosis="it ignores the upstream gradient dout",
    ),
    Variant(
        name="sum-product-forgets-chain-rule",
        description="Returns the local derivatives of q = x + y (1, 1) instead of chaining with z.",
        edits=(("grads_by_hand", "    q = x + y\n    return z, z, q",
                "    return 1.0, 1.0, x + y"),),
        loses=frozenset({"test_grad_sum_product"}),
        diagnosis="the local derivatives of q = x + y without the chain rule",
    ),
    Variant(
        name="weighted-sum-drops-factor-two",
        description="Forgets the factor 2 in d(2x + y)/dx.",
        edits=(("grads_by_hand", "return 2 * z, z, q", "return z, z, q"),),
        loses=frozenset({"test_grad_weighted_sum_product"}),
        diagnosis="the factor 2 of d(2x + y)/dx is missing",
    ),
    Variant(
        name="multiply-swaps-gradients",
        description="Multiplies the upstream gradient by the input's own value, not the other's.",
        edits=(("gates", "return dout * y, dout * x", "return dout * x, dout * y"),),
        loses=frozenset({"test_multiply_gate", "test_neuron"}),
        diagnosis="dout was multiplied by the input's own value",
    ),
    Variant(
        name="max-routes-to-both",
        description="Passes the upstream gradient to both inputs of max, like an add gate.",
        edits=(("gates", "return dout * x_wins, dout * ~x_wins", "return dout, dout"),),
        loses=frozenset({"test_max_gate"}),
        diagnosis="dout was passed to both inputs",
    ),
    Variant(
        name="sigmoid-derivative-missing-factor",
        description="Uses sigma(x) as the derivative of sigma, dropping the (1 - sigma) factor.",
        edits=(("gates", "return (dout * s * (1.0 - s),)", "return (dout * s,)"),),
        loses=frozenset({"test_sigmoid_gate", "test_neuron"}),
        diagnosis="the sigmoid itself was used where its derivative a*(1-a) belongs",
    ),
    Variant(
        name="numerical-gradient-ignores-h",
        description="Hard-codes its own step instead of using the h it is given.",
        edits=(("numerical_gradient", "    grad = np.zeros_like(x, dtype=float)\n",
                "    grad = np.zeros_like(x, dtype=float)\n    h = 1e-5\n"),),
        loses=frozenset({"test_numerical_gradient_matches_autograd"}),
        diagnosis="numerical_gradient ignores its argument h",
    ),
    Variant(
        name="add-forward-in-place",
        description="Adds y into x in place (x += y) to save an array, changing the caller's x.",
        edits=(("gates", "    return x + y, None\n", "    x += y\n    return x, None\n"),),
        loses=frozenset({"test_add_gate"}),
        diagnosis="add_forward changed its input x in place",
    ),
    Variant(
        name="sigmoid-derivative-at-output",
        description="Caches the sigmoid's output, then applies the sigmoid to it again in "
                    "backward: sigma(s) (1 - sigma(s)) instead of s (1 - s).",
        edits=(("gates", "    s = cache\n", "    s = 1.0 / (1.0 + np.exp(-cache))\n"),),
        loses=frozenset({"test_sigmoid_gate", "test_neuron"}),
        diagnosis="the sigmoid derivative was taken at its output a instead of its input z",
    ),
    Variant(
        name="neuron-forgets-bias-gradient",
        description="Returns 0 for the bias's gradient, as if a bias had none.",
        edits=(("neuron", "np.array([dw0, dw1, dw2])", "np.array([dw0, dw1, 0.0])"),),
        loses=frozenset({"test_neuron"}),
        diagnosis="the bias gradient dw[2] is missing",
    ),
    Variant(
        name="xor-hidden-derivative-of-output",
        description="Takes the hidden layer's sigmoid derivative at its output: "
                    "sigmoid(h) (1 - sigmoid(h)) instead of h (1 - h).",
        edits=(("xor_gradients", "dz1 = (W2 @ dz2) * hidden * (1 - hidden)",
                "dz1 = (W2 @ dz2) * sigmoid(hidden) * (1 - sigmoid(hidden))"),),
        loses=frozenset({"test_xor_gradients"}),
        diagnosis="hidden layer: the sigmoid derivative was taken at its output a",
    ),
    Variant(
        name="xor-output-derivative-missing",
        description="Drops the output sigmoid's derivative p (1 - p) from dz2, as if the loss "
                    "were cross-entropy (where it cancels).",
        edits=(("xor_gradients", "dz2 = (p - y_n) * p * (1 - p)", "dz2 = p - y_n"),),
        loses=frozenset({"test_xor_gradients"}),
        diagnosis="output layer: the activation's derivative is missing",
    ),
    Variant(
        name="xor-names-hidden-bias",
        description="Names b1 as the wrong gradient: it is in the hidden layer like W1, but its "
                    "gradient matches the numerical one.",
        edits=(("xor_wrong_gradient", 'wrong_gradient = "W1"', 'wrong_gradient = "b1"'),),
        loses=frozenset({"test_xor_wrong_gradient"}),
        diagnosis="is not the parameter whose gradient disagrees",
    ),
    Variant(
        name="xor-names-a-variable",
        description="Names the backward pass's variable dz1 instead of a parameter.",
        edits=(("xor_wrong_gradient", 'wrong_gradient = "W1"', 'wrong_gradient = "dz1"'),),
        loses=frozenset({"test_xor_wrong_gradient"}),
        diagnosis="is not a parameter of the network",
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
    Variant(
        name="xor-names-w1-lowercase",
        description="Names the wrong gradient in lower case with a trailing space: 'w1 '.",
        edits=(("xor_wrong_gradient", 'wrong_gradient = "W1"', 'wrong_gradient = "w1 "'),),
    ),
    Variant(
        name="sigmoid-gate-in-float32",
        description="Computes the sigmoid gate in float32 to save memory and returns float64.",
        edits=(("gates", "    s = 1.0 / (1.0 + np.exp(-x))\n",
                "    x32 = np.asarray(x, dtype=np.float32)\n"
                "    s = (1.0 / (1.0 + np.exp(-x32))).astype(float)\n"),),
    ),
]

REQUIRES = {
    "test_grad_product": {"grads_by_hand"},
    "test_grad_sum_product": {"grads_by_hand"},
    "test_grad_weighted_sum_product": {"grads_by_hand"},
    "test_add_gate": {"gates"},
    "test_multiply_gate": {"gates"},
    "test_max_gate": {"gates"},
    "test_sigmoid_gate": {"gates"},
    # The lesson has the neuron chain the student's own gates.
    "test_neuron": {"neuron", "gates"},
    "test_numerical_gradient_matches_autograd": {"numerical_gradient"},
    "test_numerical_gradient_restores_input": {"numerical_gradient"},
    "test_xor_wrong_gradient": {"xor_wrong_gradient"},
    "test_xor_gradients": {"xor_gradients"},
}
