"""Lesson 4 variants: sigmoid-derivative, sign, scale, shape, cache and update bugs; correct
rewrites, one of them in float32; what each solution cell earns on its own."""

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
        diagnosis="a*(1-a) was computed from the pre-activation z instead of the output a",
        demo=True,
    ),
    Variant(
        name="sigmoid-of-activation-in-derivative",
        description="Writes sigma'(z) = sigma(z)(1 - sigma(z)) but feeds it the cached output, "
                    "so the sigmoid is applied twice.",
        edits=(("layer", "dz = dout * out * (1.0 - out)",
                "dz = dout * sigmoid(out) * (1.0 - sigmoid(out))"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="the sigmoid derivative was taken at its output a instead of its input z",
    ),
    Variant(
        name="mse-missing-one-over-n",
        description="Returns the gradient of the summed, not averaged, squared error.",
        edits=(("mse_loss", "difference / N", "difference"),),
        loses=frozenset({"test_mse_loss", "test_training_accuracy"}),
        diagnosis="forgot to divide the gradient by N",
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
        diagnosis="did you drop the 1/2?",
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
        diagnosis="not a local copy",
    ),
    Variant(
        name="one-hot-wrong-axis",
        description="Builds the one-hot matrix with classes as rows and examples as columns.",
        edits=(("one_hot", "Y = np.zeros((len(labels), classes))\n"
                           "    Y[np.arange(len(labels)), labels] = 1.0",
                "Y = np.zeros((classes, len(labels)))\n"
                "    Y[labels, np.arange(len(labels))] = 1.0"),),
        loses=frozenset({"test_one_hot", "test_training_accuracy"}),
        diagnosis="it is transposed; rows are examples, columns are classes",
    ),
    Variant(
        name="one-hot-counts-seen-labels",
        description="Counts the classes as len(set(labels)), like the seed, so a batch missing "
                    "a class gets too few columns.",
        edits=(("one_hot", "Y = np.zeros((len(labels), classes))",
                "Y = np.zeros((len(labels), len(set(labels))))"),),
        loses=frozenset({"test_one_hot"}),
        diagnosis="take the number of columns from the classes argument",
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
        diagnosis="the classes argument is ignored",
    ),
    Variant(
        name="accuracy-argmax-over-examples",
        description="Takes the argmax over axis 0 (the examples) instead of over the outputs.",
        edits=(("accuracy", "np.argmax(out, axis=1)", "np.argmax(out, axis=0)"),),
        # the training loop records accuracy every epoch, so it stops at the first one
        loses=frozenset({"test_accuracy", "test_training_accuracy"}),
        diagnosis="the argmax was taken over the examples (axis 0) instead of over each "
                  "row's outputs (axis 1)",
    ),
    Variant(
        name="layer-forgets-bias",
        description="Leaves the bias out of the forward pass, so it never affects the output.",
        edits=(("layer", "out = sigmoid(X @ W + b)\n", "out = sigmoid(X @ W)\n"),),
        loses=frozenset({"test_layer_forward", "test_mlp_forward"}) | LAYER_GRADIENTS,
        diagnosis="the bias b is missing",
    ),
    Variant(
        name="layer-backward-ignores-upstream",
        description="Computes dL/dZ as the sigmoid's derivative alone, without the upstream "
                    "gradient dout.",
        edits=(("layer", "dz = dout * out * (1.0 - out)", "dz = out * (1.0 - out)"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="ignores the upstream gradient dout",
    ),
    Variant(
        name="layer-backward-tanh-derivative",
        description="Uses tanh's derivative 1 - a^2 (lesson 3's network) for the sigmoid.",
        edits=(("layer", "dz = dout * out * (1.0 - out)", "dz = dout * (1.0 - out ** 2)"),),
        loses=LAYER_GRADIENTS,
        diagnosis="tanh's derivative 1-a^2 was used for a sigmoid",
    ),
    Variant(
        name="layer-backward-forgets-derivative",
        description="Passes dout straight through the sigmoid: the activation's derivative "
                    "is missing.",
        edits=(("layer", "dz = dout * out * (1.0 - out)", "dz = dout"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="the activation's derivative is missing",
    ),
    Variant(
        name="layer-backward-dx-without-transpose",
        description="Computes dX as dz @ W, without the transpose (it runs only when W is "
                    "square).",
        edits=(("layer", "return dz @ W.T, X.T @ dz", "return dz @ W, X.T @ dz"),),
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="dX was computed with W instead of its transpose",
    ),
    Variant(
        name="layer-stale-cache",
        description="Keeps the last forward pass's values in a global and reads them in "
                    "backward instead of the cache it is given: right for one layer alone, "
                    "wrong for the hidden layer of a network.",
        cells={"layer": '''
_last_forward = {}


def layer_forward(X, W, b):
    """Affine map then sigmoid. X: (N, D), W: (D, K), b: (K,). Returns (out, cache)."""
    out = sigmoid(X @ W + b)
    _last_forward.update(X=X, W=W, out=out)
    return out, (X, W, out)


def layer_backward(dout, cache):
    """Returns (dX, dW, db)."""
    X, W, out = _last_forward["X"], _last_forward["W"], _last_forward["out"]
    dz = dout * out * (1.0 - out)
    return dz @ W.T, X.T @ dz, dz.sum(axis=0)
'''},
        loses=LAYER_GRADIENTS | {"test_training_accuracy"},
        diagnosis="instead of its cache argument",
    ),
    Variant(
        name="mse-divides-by-classes",
        description="Takes N from the wrong axis, Y.shape[1] (the classes), so loss and "
                    "gradient are averaged over the outputs instead of the rows.",
        edits=(("mse_loss", "N = len(Y)", "N = Y.shape[1]"),),
        loses=frozenset({"test_mse_loss", "test_training_accuracy"}),
        diagnosis="divided by the number of classes (Y.shape[1]) instead of the number of rows",
    ),
    Variant(
        name="mse-modifies-out",
        description="Subtracts the targets from out in place, so the caller's outputs are "
                    "overwritten, and with them the output layer's cache, which holds the "
                    "same array: backward then works from out - Y.",
        cells={"mse_loss": '''
def mse_loss(out, Y):
    """Returns (loss, dout)."""
    N = len(Y)
    out -= Y
    return 0.5 * np.sum(out ** 2) / N, out / N
'''},
        loses=frozenset({"test_mse_loss", "test_training_accuracy"}),
        diagnosis="mse_loss changed its argument out in place",
    ),
    Variant(
        name="mlp-hidden-layer-gets-dout",
        description="Hands the network's dout to the hidden layer's backward instead of the "
                    "dX the output layer returned.",
        edits=(("mlp", "_, dW1, db1 = layer_backward(dhidden, hidden_cache)",
                "_, dW1, db1 = layer_backward(dout, hidden_cache)"),),
        loses=frozenset({"test_mlp_backward", "test_training_accuracy"}),
        diagnosis="the hidden layer was given dout instead of dL/dH",
    ),
    Variant(
        name="mlp-backward-swaps-layers",
        description="Returns the output layer's gradients under the hidden layer's names and "
                    "the other way round.",
        edits=(("mlp", 'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
                'return {"W1": dW2, "b1": db2, "W2": dW1, "b2": db1}'),),
        loses=frozenset({"test_mlp_backward", "test_training_accuracy"}),
        diagnosis="the keys of the returned dict are mixed up",
    ),
    Variant(
        name="mlp-forward-hard-codes-inputs",
        description="Reshapes X to two columns: right for the notebook's 2-5-3 network, a "
                    "crash for any other input size (only the hidden checks try one).",
        edits=(("mlp", 'hidden, hidden_cache = layer_forward(X, params["W1"], params["b1"])',
                'hidden, hidden_cache = layer_forward(X.reshape(-1, 2), params["W1"], '
                'params["b1"])'),),
        loses=frozenset({"test_mlp_forward", "test_mlp_backward"}),
        diagnosis="read the sizes from the arrays instead of writing 2, 5 or 3",
    ),
    Variant(
        name="sgd-ignores-learning-rate",
        description="Subtracts the whole gradient: the learning rate argument is never used.",
        edits=(("sgd_step", "params[name] -= learning_rate * grads[name]",
                "params[name] -= grads[name]"),),
        loses=frozenset({"test_sgd_step"}),
        diagnosis="the learning rate was ignored",
    ),
    Variant(
        name="sgd-pairs-gradients-by-position",
        description="Zips params with grads.values(), so each parameter gets the gradient in "
                    "its position, which is another one's when the dicts differ in order.",
        cells={"sgd_step": '''
def sgd_step(params, grads, learning_rate):
    """Update every parameter by -learning_rate * its gradient."""
    for name, grad in zip(params, grads.values()):
        params[name] -= learning_rate * grad
'''},
        loses=frozenset({"test_sgd_step"}),
        diagnosis="take each parameter's gradient by its name",
    ),
    Variant(
        name="one-hot-bool",
        description="Returns the comparison labels[:, None] == arange(classes): booleans, "
                    "where the docstring promises floats.",
        cells={"one_hot": '''
def one_hot(labels, classes):
    """labels: (N,) ints. Returns (N, classes) one-hot rows."""
    return labels[:, None] == np.arange(classes)
'''},
        loses=frozenset({"test_one_hot"}),
        diagnosis="the docstring promises floats",
    ),
    Variant(
        name="accuracy-returns-count",
        description="Returns how many rows are right instead of the fraction.",
        edits=(("accuracy", "np.mean(", "np.sum("),),
        loses=frozenset({"test_accuracy"}),
        diagnosis="not the fraction: divide by N",
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
    Variant(
        name="layer-in-float32",
        description="Computes the layer in float32 (as on a GPU) and returns float64 arrays.",
        cells={"layer": '''
def layer_forward(X, W, b):
    """Affine map then sigmoid, in float32. Returns (out, cache)."""
    X32, W32, b32 = (np.asarray(a, dtype=np.float32) for a in (X, W, b))
    out = sigmoid(X32 @ W32 + b32)
    return out.astype(np.float64), (X32, W32, out)


def layer_backward(dout, cache):
    """Returns (dX, dW, db), computed in float32, as float64."""
    X, W, out = cache
    dz = np.asarray(dout, dtype=np.float32) * out * (np.float32(1.0) - out)
    return tuple(g.astype(np.float64) for g in (dz @ W.T, X.T @ dz, dz.sum(axis=0)))
'''},
    ),
    Variant(
        name="mse-with-mean",
        description="Averages the per-row squared errors with np.mean.",
        cells={"mse_loss": '''
def mse_loss(out, Y):
    """Returns (loss, dout)."""
    difference = out - Y
    return 0.5 * np.mean(np.sum(difference ** 2, axis=1)), difference / out.shape[0]
'''},
    ),
    Variant(
        name="one-hot-with-eye",
        description="Picks rows of the identity matrix.",
        cells={"one_hot": '''
def one_hot(labels, classes):
    """labels: (N,) ints. Returns (N, classes) one-hot rows."""
    return np.eye(classes)[labels]
'''},
    ),
    Variant(
        name="accuracy-with-count-nonzero",
        description="Counts the hits and divides by the number of rows.",
        cells={"accuracy": '''
def accuracy(out, labels):
    """The fraction of rows whose largest output is at the label."""
    return np.count_nonzero(out.argmax(axis=1) == labels) / len(labels)
'''},
    ),
    Variant(
        name="mlp-cache-as-dict",
        description="Keeps the network's cache in a dict keyed by layer.",
        cells={"mlp": '''
def mlp_forward(params, X):
    """Two sigmoid layers. Returns (out, cache)."""
    hidden, hidden_cache = layer_forward(X, params["W1"], params["b1"])
    out, out_cache = layer_forward(hidden, params["W2"], params["b2"])
    return out, {"hidden": hidden_cache, "output": out_cache}


def mlp_backward(dout, cache):
    """Returns the gradients keyed like params."""
    dhidden, dW2, db2 = layer_backward(dout, cache["output"])
    _, dW1, db1 = layer_backward(dhidden, cache["hidden"])
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
'''},
    ),
    Variant(
        name="sgd-over-grads-items",
        description="Loops over grads.items() and looks each parameter up by name.",
        cells={"sgd_step": '''
def sgd_step(params, grads, learning_rate):
    """Update every parameter by -learning_rate * its gradient."""
    for name, grad in grads.items():
        params[name] -= learning_rate * grad
'''},
    ),
]

ALL_CELLS = {"one_hot", "accuracy", "layer", "mse_loss", "mlp", "sgd_step"}

REQUIRES = {
    "test_one_hot": {"one_hot"},
    "test_accuracy": {"accuracy"},
    "test_layer_forward": {"layer"},
    "test_layer_backward": {"layer"},
    "test_mse_loss": {"mse_loss"},
    # The lesson has the network built from two calls of the student's own layer.
    "test_mlp_forward": {"mlp", "layer"},
    "test_mlp_backward": {"mlp", "layer"},
    "test_sgd_step": {"sgd_step"},
    # Training runs every function of the lesson (the loop also records the accuracy).
    "test_training_accuracy": ALL_CELLS,
}
