"""Lesson 2 variants: softmax and backprop slips from the seed and from students, broken
docstring promises (a cache kept in a global, a starting point changed in place, losses
recorded after the step), ignored parameters (step_size, iterations), and correct rewrites
(explicit loops, einsum, float32, scipy's logsumexp, np.where, the ReLU mask from the
output, an inline classifier).

Each diagnosis is text of the hidden check's message: the hidden check runs first, and when
it fails the visible part of the cell never runs."""

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
        diagnosis="Subtract each row's maximum score before exponentiating",
        demo=True,
    ),
    Variant(
        name="softmax-wrong-axis",
        description="Normalises the exponentials over the examples (axis 0) instead of over "
                    "the classes.",
        edits=(("softmax_cross_entropy", "np.exp(shifted).sum(axis=1, keepdims=True)",
                "np.exp(shifted).sum(axis=0, keepdims=True)"),),
        loses=SOFTMAX_GRADIENT_TESTS | {"test_two_layer_accuracy"},
        diagnosis="the softmax is normalised over the examples (axis 0), not the classes",
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
        diagnosis="the 1 at each example's correct class was never subtracted",
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
        diagnosis="the ReLU mask was taken from the sign of the upstream gradient",
        demo=True,
    ),
    Variant(
        name="gradient-ascent",
        description="Adds the gradient in the update, climbing the loss.",
        edits=(("gradient_descent", "params[name] - step_size * grads[name]",
                "params[name] + step_size * grads[name]"),),
        loses=TRAINING_TESTS | {"test_gradient_descent"},
        diagnosis="it moved away from the minimum: step along minus the gradient",
    ),
    Variant(
        name="softmax-loss-summed",
        description="Sums the examples' losses instead of averaging them (dscores is right).",
        edits=(("softmax_cross_entropy", "loss = -log_probs[np.arange(n), y].mean()",
                "loss = -log_probs[np.arange(n), y].sum()"),),
        loses=SOFTMAX_GRADIENT_TESTS,
        diagnosis="the loss is summed over the examples, not averaged: divide by N",
    ),
    Variant(
        name="bias-gradient-keepdims",
        description="Sums the bias gradient with keepdims=True: shape (1, M), not b's (M,).",
        edits=(("linear_layer", "dout.sum(axis=0)", "dout.sum(axis=0, keepdims=True)"),),
        loses=LINEAR_LAYER_TESTS,
        diagnosis="a keepdims=True that should not be there",
    ),
    Variant(
        name="linear-backward-global-cache",
        description="Keeps the layer's input in a global variable, not in the cache: right "
                    "for one layer, wrong when a second forward call overwrites it.",
        cells={"linear_layer": '''
_last_inputs = {}


def linear_forward(X, W, b):
    """Affine layer out = X W + b; remembers X and W for the backward pass."""
    _last_inputs["X"], _last_inputs["W"] = X, W
    return X @ W + b, (X, W)


def linear_backward(dout, cache):
    """Backward pass of the most recent linear_forward call."""
    X, W = _last_inputs["X"], _last_inputs["W"]
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)
'''},
        loses=frozenset({"test_linear_backward", "test_two_layer_gradients",
                         "test_two_layer_accuracy"}),
        diagnosis="not for those of the cache it was given",
    ),
    Variant(
        name="relu-backward-global-cache",
        description="Reads z from a global set by the latest relu_forward, not from the cache.",
        cells={"relu_layer": '''
_last_z = {}


def relu_forward(z):
    _last_z["z"] = z
    return np.maximum(z, 0.0), z


def relu_backward(dout, cache):
    return dout * (_last_z["z"] > 0)
'''},
        loses=frozenset({"test_relu_backward"}),
        diagnosis="not for those of the cache it was given",
    ),
    Variant(
        name="classifier-penalty-missing-from-loss",
        description="Adds reg * W to the gradient but leaves the penalty out of the loss.",
        edits=(("softmax_classifier", "loss = data_loss + 0.5 * reg * np.sum(W * W)",
                "loss = data_loss"),),
        loses=frozenset({"test_softmax_classifier_gradients"}),
        diagnosis="the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss",
    ),
    Variant(
        name="two-layer-penalty-on-W1-only",
        description="Penalises only W1 in the network's loss (the gradients are right).",
        edits=(("two_layer", "loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))",
                "loss = data_loss + 0.5 * reg * np.sum(W1 * W1)"),),
        loses=frozenset({"test_two_layer_gradients"}),
        diagnosis="the loss has the penalty on W1 only",
    ),
    Variant(
        name="two-layer-skips-relu-backward",
        description="Passes dhidden straight to the hidden layer, skipping the ReLU's mask.",
        edits=(("two_layer", "dz = relu_backward(dhidden, relu_cache)", "dz = dhidden"),),
        loses=frozenset({"test_two_layer_gradients", "test_two_layer_accuracy"}),
        diagnosis="the activation's derivative is missing",
    ),
    Variant(
        name="gd-mutates-start",
        description="Updates the caller's arrays in place (no copy): the starting point "
                    "the docstring promises to leave unchanged is overwritten.",
        edits=(("gradient_descent",
                "    params = {name: value.copy() for name, value in params.items()}\n", ""),
               ("gradient_descent", "params[name] = params[name] - step_size * grads[name]",
                "params[name] -= step_size * grads[name]")),
        loses=frozenset({"test_gradient_descent"}),
        diagnosis="it changed the caller's starting params in place",
    ),
    Variant(
        name="gd-ignores-step-size",
        description="Steps by the whole gradient, ignoring step_size (right only at 1).",
        edits=(("gradient_descent", "params[name] - step_size * grads[name]",
                "params[name] - grads[name]"),),
        loses=frozenset({"test_gradient_descent"}),
        diagnosis="step_size is ignored",
    ),
    Variant(
        name="gd-loss-after-step",
        description="Records each loss after its step, at the updated params.",
        edits=(("gradient_descent", "        losses.append(loss)\n", ""),
               ("gradient_descent", "    return params, losses",
                "        losses.append(loss_and_grads(params)[0])\n    return params, losses")),
        loses=frozenset({"test_gradient_descent"}),
        diagnosis="each loss was recorded after its step, not before it",
    ),
    Variant(
        name="gd-stale-gradient",
        description="Evaluates the loss and gradient once, before the loop, and reuses them.",
        edits=(("gradient_descent",
                "    for _ in range(iterations):\n        loss, grads = loss_and_grads(params)\n",
                "    loss, grads = loss_and_grads(params)\n    for _ in range(iterations):\n"),),
        # 200 steps along the first gradient still separate the arms somewhat linearly
        loses=frozenset({"test_gradient_descent", "test_two_layer_accuracy"}),
        diagnosis="the gradient was computed once, at the starting point",
    ),
    Variant(
        name="gd-one-step-short",
        description="Loops over range(iterations - 1): one step and one loss too few.",
        edits=(("gradient_descent", "range(iterations)", "range(iterations - 1)"),),
        loses=frozenset({"test_gradient_descent"}),
        diagnosis="steps instead of iterations",
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
    Variant(
        name="float32-softmax",
        description="Computes the softmax cross-entropy in float32 internally.",
        cells={"softmax_cross_entropy": '''
def softmax_cross_entropy(scores, y):
    """Stable softmax cross-entropy, computed in float32."""
    s = np.asarray(scores, dtype=np.float32)
    n = s.shape[0]
    shifted = s - s.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    return float(-log_probs[np.arange(n), y].mean()), (dscores / n).astype(np.float64)
'''},
    ),
    Variant(
        name="float32-layers",
        description="Computes the linear and ReLU layers in float32 internally.",
        cells={"linear_layer": '''
def linear_forward(X, W, b):
    X, W, b = (np.asarray(a, dtype=np.float32) for a in (X, W, b))
    return X @ W + b, (X, W)


def linear_backward(dout, cache):
    X, W = cache
    dout = np.asarray(dout, dtype=np.float32)
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)
''', "relu_layer": '''
def relu_forward(z):
    z = np.asarray(z, dtype=np.float32)
    return np.maximum(z, 0.0), z


def relu_backward(dout, cache):
    return np.asarray(dout, dtype=np.float32) * (cache > 0)
'''},
    ),
    Variant(
        name="gd-deepcopy-in-place",
        description="Deep-copies the starting point, then updates the copy in place.",
        cells={"gradient_descent": '''
import copy


def gradient_descent(loss_and_grads, params, step_size, iterations):
    """Full-batch gradient descent on a deep copy of params."""
    params = copy.deepcopy(params)
    losses = []
    for _ in range(iterations):
        loss, grads = loss_and_grads(params)
        losses.append(loss)
        for name, grad in grads.items():
            params[name] -= step_size * grad
    return params, losses
'''},
    ),
    Variant(
        name="relu-where",
        description="Writes the ReLU with np.where, caching the boolean mask.",
        cells={"relu_layer": '''
def relu_forward(z):
    positive = z > 0
    return np.where(positive, z, 0.0), positive


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)
'''},
    ),
    Variant(
        name="classifier-inline",
        description="Writes the classifier's forward and backward pass inline, without "
                    "calling the layer functions.",
        cells={"softmax_classifier": '''
def softmax_classifier_loss(params, X, y, reg):
    W, b = params["W"], params["b"]
    scores = X @ W + b
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(probs[np.arange(n), y])) + 0.5 * reg * np.sum(W ** 2)
    dscores = probs
    dscores[np.arange(n), y] -= 1
    dscores /= n
    return loss, {"W": X.T @ dscores + reg * W, "b": dscores.sum(axis=0)}
'''},
    ),
]

# The classifier and the network are written from the student's own layers (the lesson
# says so), and the accuracy cells train them with the student's gradient_descent.
REQUIRES = {
    "test_softmax_cross_entropy": {"softmax_cross_entropy"},
    "test_softmax_is_stable": {"softmax_cross_entropy"},
    "test_linear_backward": {"linear_layer"},
    "test_softmax_classifier_gradients": {"softmax_classifier", "softmax_cross_entropy",
                                          "linear_layer"},
    "test_gradient_descent": {"gradient_descent"},
    "test_linear_classifier_accuracy": {"gradient_descent", "softmax_classifier",
                                        "softmax_cross_entropy", "linear_layer"},
    "test_relu_backward": {"relu_layer"},
    "test_two_layer_gradients": {"two_layer", "softmax_cross_entropy", "linear_layer",
                                 "relu_layer"},
    "test_two_layer_accuracy": {"gradient_descent", "two_layer", "softmax_cross_entropy",
                                "linear_layer", "relu_layer"},
}
