"""Lesson 2 variants: softmax and backprop slips from the seed and from students, and
correct rewrites (explicit loops, einsum, float32, scipy's logsumexp, the ReLU mask from the
output)."""

from grader.instructor.variants import Variant

# A wrong gradient fails its own check and every check of a model built on it; where it
# also spoils training (or stops it: a gradient of the wrong shape), the accuracy checks too.
SOFTMAX_GRADIENT_TESTS = frozenset({
    "test_softmax_cross_entropy", "test_softmax_classifier_gradients",
    "test_two_layer_gradients",
})
LINEAR_LAYER_TESTS = frozenset({
    "test_linear_backward", "test_softmax_classifier_gradients", "test_two_layer_gradients",
})
TRAINING_TESTS = frozenset({"test_linear_classifier_accuracy", "test_two_layer_accuracy"})

VARIANTS = [
    Variant(
        name="naive-softmax",
        description="Exponentiates the raw scores (no max-subtraction) and takes the log of "
                    "the probabilities: right for moderate scores, nan for scores near 1000.",
        cells={"softmax_cross_entropy": '''
def softmax_cross_entropy(scores, y):
    """Textbook softmax: exp, normalise, log."""
    n = scores.shape[0]
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    return loss, dscores / n
'''},
        loses=frozenset({"test_softmax_is_stable"}),
        diagnosis="subtract each row's maximum",
        demo=True,
    ),
    Variant(
        name="softmax-wrong-axis",
        description="Normalises the exponentials over the examples (axis 0) instead of over "
                    "the classes.",
        edits=(("softmax_cross_entropy", "np.exp(shifted).sum(axis=1, keepdims=True)",
                "np.exp(shifted).sum(axis=0, keepdims=True)"),),
        loses=SOFTMAX_GRADIENT_TESTS | {"test_two_layer_accuracy"},
        diagnosis="loss should be",
    ),
    Variant(
        name="dscores-missing-1-over-n",
        description="Averages the loss but forgets to divide dscores by N.",
        edits=(("softmax_cross_entropy", "    dscores /= n\n", ""),),
        loses=SOFTMAX_GRADIENT_TESTS | {"test_two_layer_accuracy"},
        diagnosis="times too large",
    ),
    Variant(
        name="dscores-forgets-correct-class",
        description="Returns softmax / N as dscores, never subtracting 1 at the correct class.",
        edits=(("softmax_cross_entropy", "    dscores[np.arange(n), y] -= 1.0\n", ""),),
        loses=SOFTMAX_GRADIENT_TESTS | TRAINING_TESTS,
        diagnosis="dscores: relative error",
    ),
    Variant(
        name="dscores-sign-flipped",
        description="Writes the gradient of the log-likelihood (one-hot minus p), not of the "
                    "loss.",
        edits=(("softmax_cross_entropy", "dscores = np.exp(log_probs)",
                "dscores = -np.exp(log_probs)"),
               ("softmax_cross_entropy", "dscores[np.arange(n), y] -= 1.0",
                "dscores[np.arange(n), y] += 1.0")),
        loses=SOFTMAX_GRADIENT_TESTS | TRAINING_TESTS,
        diagnosis="the sign is flipped",
    ),
    Variant(
        name="linear-dW-transposed",
        description="Computes dW as dout^T X, the transpose of the right gradient.",
        edits=(("linear_layer", "X.T @ dout", "dout.T @ X"),),
        loses=LINEAR_LAYER_TESTS | TRAINING_TESTS,
        diagnosis="transpose",
    ),
    Variant(
        name="bias-gradient-wrong-axis",
        description="Sums the bias gradient over the classes (axis 1) instead of the batch.",
        edits=(("linear_layer", "dout.sum(axis=0)", "dout.sum(axis=1)"),),
        loses=LINEAR_LAYER_TESTS | TRAINING_TESTS,
        diagnosis="summed over the wrong axis",
    ),
    Variant(
        name="missing-reg-gradient",
        description="Adds the L2 penalty to the network's loss but not to its gradients.",
        edits=(("two_layer", '"W1": dW1 + reg * W1', '"W1": dW1'),
               ("two_layer", '"W2": dW2 + reg * W2', '"W2": dW2')),
        loses=frozenset({"test_two_layer_gradients"}),
        diagnosis="regularisation term's gradient is missing",
    ),
    Variant(
        name="reg-gradient-halved",
        description="Differentiates 0.5 * reg * ||W||^2 as 0.5 * reg * W.",
        edits=(("softmax_classifier", '"W": dW + reg * W', '"W": dW + 0.5 * reg * W'),),
        loses=frozenset({"test_softmax_classifier_gradients"}),
        diagnosis="half what it should be",
    ),
    Variant(
        name="relu-mask-from-gradient",
        description="Zeroes the upstream gradient where it is negative, instead of where the "
                    "forward pre-activation was.",
        edits=(("relu_layer", "return dout * (z > 0)", "return dout * (dout > 0)"),),
        loses=frozenset({"test_relu_backward", "test_two_layer_gradients",
                         "test_two_layer_accuracy"}),
        diagnosis="the mask was taken from the sign of dout",
        demo=True,
    ),
    Variant(
        name="gradient-ascent",
        description="Adds the gradient in the update, climbing the loss.",
        edits=(("gradient_descent", "params[name] - step_size * grads[name]",
                "params[name] + step_size * grads[name]"),),
        loses=TRAINING_TESTS | {"test_gradient_descent"},
        diagnosis="the loss grew",
    ),
    # Correct alternatives: each must get full marks.
    Variant(
        name="logsumexp-softmax",
        description="Computes the log-probabilities with scipy.special.logsumexp.",
        cells={"softmax_cross_entropy": '''
from scipy.special import logsumexp


def softmax_cross_entropy(scores, y):
    """Cross-entropy through logsumexp, which is stable by construction."""
    n = len(y)
    log_probs = scores - logsumexp(scores, axis=1, keepdims=True)
    one_hot = np.eye(scores.shape[1])[y]
    return -np.sum(log_probs * one_hot) / n, (np.exp(log_probs) - one_hot) / n
'''},
    ),
    Variant(
        name="explicit-loops",
        description="Writes the linear layer's backward pass with loops over the output units.",
        cells={"linear_layer": '''
def linear_forward(X, W, b):
    """out = X W + b, one output column at a time."""
    out = np.empty((X.shape[0], W.shape[1]))
    for j in range(W.shape[1]):
        out[:, j] = X @ W[:, j] + b[j]
    return out, (X, W)


def linear_backward(dout, cache):
    """dX, dW, db accumulated over the output units."""
    X, W = cache
    dX = np.zeros_like(X, dtype=float)
    dW = np.zeros_like(W, dtype=float)
    db = np.zeros(W.shape[1])
    for j in range(W.shape[1]):
        dX += np.outer(dout[:, j], W[:, j])
        dW[:, j] = X.T @ dout[:, j]
        db[j] = np.sum(dout[:, j])
    return dX, dW, db
'''},
    ),
    Variant(
        name="einsum-layers",
        description="Writes the linear layer with np.einsum.",
        cells={"linear_layer": '''
def linear_forward(X, W, b):
    return np.einsum("nd,dm->nm", X, W) + b, (X, W)


def linear_backward(dout, cache):
    X, W = cache
    return (np.einsum("nm,dm->nd", dout, W), np.einsum("nd,nm->dm", X, dout),
            np.einsum("nm->m", dout))
'''},
    ),
    Variant(
        name="float32-network",
        description="Runs the whole network in float32 (inputs and weights cast on entry).",
        edits=(("two_layer",
                'W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]',
                'W1, b1, W2, b2 = (params[k].astype(np.float32) for k in ("W1", "b1", "W2", '
                '"b2"))\n    X = X.astype(np.float32)'),),
    ),
    Variant(
        name="relu-mask-from-output",
        description="Caches the ReLU's output and masks where it is positive: the same mask.",
        edits=(("relu_layer", "return np.maximum(z, 0.0), z",
                "out = np.maximum(z, 0.0)\n    return out, out"),),
    ),
]
