"""Lesson 4 variants: sigmoid-derivative, sign, scale, shape and update bugs; correct rewrites."""

from grader.instructor.variants import Variant

LAYER_GRADIENTS = frozenset({"test_layer_backward", "test_mlp_backward"})

VARIANTS = [
    Variant(
        name="sigmoid-prime-of-preactivation",
        description="Applies the seed's sigmoid_prime(s) = s * (1 - s) to the pre-activation "
                    "z instead of the sigmoid's output.",
        cells={"layer": '''
def layer_forward(X, W, b):
    """Affine map then sigmoid. X: (N, D), W: (D, K), b: (K,). Returns (out, cache)."""
    z = X @ W + b
    return sigmoid(z), (X, W, z)


def sigmoid_prime(s):
    return s * (1 - s)


def layer_backward(dout, cache):
    """Returns (dX, dW, db)."""
    X, W, z = cache
    dz = dout * sigmoid_prime(z)
    return dz @ W.T, X.T @ dz, dz.sum(axis=0)
'''},
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="dW: relative error",
        demo=True,
    ),
    Variant(
        name="sigmoid-of-activation-in-derivative",
        description="Writes sigma'(z) = sigma(z)(1 - sigma(z)) but feeds it the cached output, "
                    "so the sigmoid is applied twice.",
        edits=(("layer", "dz = dout * out * (1.0 - out)",
                "dz = dout * sigmoid(out) * (1.0 - sigmoid(out))"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="db: relative error",
    ),
    Variant(
        name="mse-missing-one-over-n",
        description="Returns the gradient of the summed, not averaged, squared error.",
        edits=(("mse_loss", "difference / N", "difference"),),
        loses=frozenset({"test_mse_loss", "test_training_accuracy"}),
        diagnosis="times too large",
    ),
    Variant(
        name="mse-seed-error-sign",
        description="Uses the seed's error y - o as the gradient but keeps the usual "
                    "subtracting update: mixing two sign conventions.",
        edits=(("mse_loss", "difference / N", "(Y - out) / N"),),
        loses=frozenset({"test_mse_loss", "test_training_accuracy"}),
        diagnosis="the sign is flipped",
        demo=True,
    ),
    Variant(
        name="mse-without-half",
        description="Drops the 1/2, so the loss and its gradient are twice the lesson's.",
        edits=(("mse_loss", "return 0.5 * np.sum(difference ** 2) / N, difference / N",
                "return np.sum(difference ** 2) / N, 2 * difference / N"),),
        loses=frozenset({"test_mse_loss"}),
        diagnosis="half the mean",
    ),
    Variant(
        name="transposed-weight-gradient",
        description="Computes dW as dz.T @ X, the transpose of the weight gradient.",
        edits=(("layer", "return dz @ W.T, X.T @ dz, dz.sum(axis=0)",
                "return dz @ W.T, dz.T @ X, dz.sum(axis=0)"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="transpose of the right gradient",
    ),
    Variant(
        name="bias-gradient-wrong-axis",
        description="Sums the bias gradient over the units instead of over the examples.",
        edits=(("layer", "dz.sum(axis=0)", "dz.sum(axis=1)"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="summed over the wrong axis",
    ),
    Variant(
        name="update-adds-gradient",
        description="Updates with + instead of -, climbing the loss.",
        edits=(("sgd_step", "params[name] -= learning_rate * grads[name]",
                "params[name] += learning_rate * grads[name]"),),
        loses=frozenset({"test_sgd_step", "test_training_accuracy"}),
        diagnosis="the sign is flipped",
    ),
    Variant(
        name="update-rebinds-loop-variable",
        description="Assigns the new value to the loop variable, so params never change.",
        cells={"sgd_step": '''
def sgd_step(params, grads, learning_rate):
    """Update every parameter by -learning_rate * its gradient."""
    for value, grad in zip(params.values(), grads.values()):
        value = value - learning_rate * grad
'''},
        loses=frozenset({"test_sgd_step", "test_training_accuracy"}),
        diagnosis="did not change",
    ),
    Variant(
        name="one-hot-wrong-axis",
        description="Builds the one-hot matrix with classes as rows and examples as columns.",
        edits=(("one_hot", "Y = np.zeros((len(labels), classes))\n"
                           "    Y[np.arange(len(labels)), labels] = 1.0",
                "Y = np.zeros((classes, len(labels)))\n"
                "    Y[labels, np.arange(len(labels))] = 1.0"),),
        loses=frozenset({"test_one_hot", "test_training_accuracy"}),
        diagnosis="rows are examples",
    ),
    Variant(
        name="one-hot-counts-seen-labels",
        description="Counts the classes as len(set(labels)), like the seed, so a batch missing "
                    "a class gets too few columns.",
        edits=(("one_hot", "Y = np.zeros((len(labels), classes))",
                "Y = np.zeros((len(labels), len(set(labels))))"),),
        loses=frozenset({"test_one_hot"}),
        diagnosis="including class 2",
    ),
    Variant(
        name="one-hot-hard-codes-three-classes",
        description="Returns np.eye(3)[labels]: right for this notebook, wrong for any other "
                    "number of classes (only the hidden check tries one).",
        cells={"one_hot": '''
def one_hot(labels, classes):
    """labels: (N,) ints. Returns (N, 3) one-hot rows."""
    return np.eye(3)[labels]
'''},
        loses=frozenset({"test_one_hot"}),
        diagnosis="columns are classes",
    ),
    Variant(
        name="accuracy-argmax-over-examples",
        description="Takes the argmax over axis 0 (the examples) instead of over the outputs.",
        edits=(("accuracy", "np.argmax(out, axis=1)", "np.argmax(out, axis=0)"),),
        # the training loop records accuracy every epoch, so it stops at the first one
        loses=frozenset({"test_accuracy", "test_training_accuracy"}),
        diagnosis="operands could not be broadcast together with shapes (3,) (4,)",
    ),
    Variant(
        name="layer-forgets-bias",
        description="Leaves the bias out of the forward pass, so it never affects the output.",
        edits=(("layer", "out = sigmoid(X @ W + b)\n", "out = sigmoid(X @ W)\n"),),
        loses=frozenset({"test_layer_forward", "test_mlp_forward"}) | LAYER_GRADIENTS,
        diagnosis="relative error",
    ),
    # Correct alternatives: each must get full marks.
    Variant(
        name="layer-with-loops",
        description="Accumulates the layer's gradients one example at a time.",
        cells={"layer": '''
def layer_forward(X, W, b):
    """Affine map then sigmoid. X: (N, D), W: (D, K), b: (K,). Returns (out, cache)."""
    out = sigmoid(X @ W + b)
    return out, (X, W, out)


def layer_backward(dout, cache):
    """Returns (dX, dW, db), summing each example's contribution."""
    X, W, out = cache
    dX, dW, db = np.zeros(X.shape), np.zeros(W.shape), np.zeros(W.shape[1])
    for n in range(X.shape[0]):
        dz_n = dout[n] * out[n] * (1.0 - out[n])
        dW += np.outer(X[n], dz_n)
        db += dz_n
        dX[n] = W @ dz_n
    return dX, dW, db
'''},
    ),
    Variant(
        name="layer-with-einsum",
        description="Writes the layer's products with np.einsum.",
        cells={"layer": '''
def layer_forward(X, W, b):
    """Affine map then sigmoid. X: (N, D), W: (D, K), b: (K,). Returns (out, cache)."""
    out = sigmoid(np.einsum("nd,dk->nk", X, W) + b)
    return out, (X, W, out)


def layer_backward(dout, cache):
    """Returns (dX, dW, db)."""
    X, W, out = cache
    dz = dout * out * (1.0 - out)
    return (np.einsum("nk,dk->nd", dz, W), np.einsum("nd,nk->dk", X, dz),
            np.einsum("nk->k", dz))
'''},
    ),
    Variant(
        name="sigmoid-prime-via-exp",
        description="Caches z and uses exp(-z) / (1 + exp(-z))^2, equal to s (1 - s).",
        cells={"layer": '''
def layer_forward(X, W, b):
    """Affine map then sigmoid. X: (N, D), W: (D, K), b: (K,). Returns (out, cache)."""
    z = X @ W + b
    return sigmoid(z), (X, W, z)


def layer_backward(dout, cache):
    """Returns (dX, dW, db)."""
    X, W, z = cache
    e = np.exp(-np.abs(z))  # sigma'(z) is even in z; |z| keeps exp from overflowing
    dz = dout * e / (1.0 + e) ** 2
    return dz @ W.T, X.T @ dz, dz.sum(axis=0)
'''},
    ),
    Variant(
        name="float32-inputs",
        description="Casts the inputs to float32, as data prepared for a GPU would be; the "
                    "products with the float64 weights are float64 again.",
        edits=(("mlp", 'hidden, hidden_cache = layer_forward(X, params["W1"], params["b1"])',
                'X = np.asarray(X, dtype=np.float32)\n'
                '    hidden, hidden_cache = layer_forward(X, params["W1"], params["b1"])'),),
    ),
    Variant(
        name="update-rebinds-dict-entries",
        description="Writes params[name] = params[name] - step: a new array in the same dict.",
        edits=(("sgd_step", "params[name] -= learning_rate * grads[name]",
                "params[name] = params[name] - learning_rate * grads[name]"),),
    ),
]
