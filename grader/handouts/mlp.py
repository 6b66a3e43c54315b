"""Reference two-layer sigmoid MLP trained with mean squared error (lessons 4 and 5).

The network is ``X -> sigmoid(X W1 + b1) -> sigmoid(H W2 + b2)`` with shapes D-H-C, e.g. 2-5-3.
The loss is ``1/2 * mean over rows of the summed squared error`` against one-hot targets.
This module is the instructor's reference: the hidden checks of lesson 4 compare students'
gradients with autograd, and lesson 5 builds its experiments on these functions.
"""

import numpy as np

from course.datasets import as_generator


def one_hot(y, classes: int | None = None):
    """y: (N,) int labels. Returns (N, classes) float with a single 1 per row."""
    y = np.asarray(y, dtype=int)
    classes = int(y.max()) + 1 if classes is None else classes
    encoded = np.zeros((len(y), classes))
    encoded[np.arange(len(y)), y] = 1.0
    return encoded


def sigmoid(z):
    """Elementwise logistic function; any shape in, same shape out."""
    return 1.0 / (1.0 + np.exp(-z))


def init_mlp(rng, sizes=(2, 5, 3), scale: float = 1.0) -> dict:
    """Random parameters for a D-H-C network.

    rng: numpy Generator or int seed; sizes: (D, H, C); scale: standard deviation of the weights.
    Returns {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}; weights are normal(0, scale),
    biases start at zero.
    """
    rng = as_generator(rng)
    inputs, hidden, classes = sizes
    return {
        "W1": rng.normal(scale=scale, size=(inputs, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(scale=scale, size=(hidden, classes)),
        "b2": np.zeros(classes),
    }


def mlp_forward(params: dict, X):
    """Forward pass. X: (N, D).

    Returns (out, cache): out (N, C) sigmoid outputs; cache holds what backward needs
    (X (N, D), hidden activations H (N, H), out (N, C)).
    """
    hidden = sigmoid(X @ params["W1"] + params["b1"])
    out = sigmoid(hidden @ params["W2"] + params["b2"])
    return out, {"X": X, "hidden": hidden, "out": out}


def mse_loss(out, Y) -> float:
    """out: (N, C) network outputs; Y: (N, C) one-hot targets.

    Returns 1/2 * mean over the N rows of the squared error summed over the C outputs.
    """
    return float(0.5 * np.sum((out - Y) ** 2) / len(Y))


def mse_gradient(out, Y):
    """Gradient of ``mse_loss`` with respect to out. out, Y: (N, C). Returns (N, C)."""
    return (out - Y) / len(Y)


def mlp_backprop(params: dict, cache: dict, dout) -> dict:
    """Parameter gradients of any scalar loss L, given dout = dL/dout: (N, C).

    cache: from ``mlp_forward``. Returns {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}.
    """
    X, hidden, out = cache["X"], cache["hidden"], cache["out"]
    # sigmoid'(z) written through the activation it produced: s * (1 - s)
    dz2 = dout * out * (1.0 - out)
    dhidden = dz2 @ params["W2"].T
    dz1 = dhidden * hidden * (1.0 - hidden)
    return {
        "W1": X.T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": hidden.T @ dz2,
        "b2": dz2.sum(axis=0),
    }


def mlp_backward(params: dict, cache: dict, Y) -> dict:
    """Gradient of ``mse_loss(mlp_forward(params, X)[0], Y)`` with respect to every parameter.

    cache: from ``mlp_forward``; Y: (N, C) one-hot targets.
    Returns {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}.
    """
    return mlp_backprop(params, cache, mse_gradient(cache["out"], Y))


def sgd_step(params: dict, grads: dict, learning_rate: float) -> None:
    """Move every parameter against its gradient, in place: p -= learning_rate * grad."""
    for name, grad in grads.items():
        params[name] -= learning_rate * grad


def predict(params: dict, X):
    """X: (N, D). Returns (N,) int labels: the index of the largest output per row."""
    out, _ = mlp_forward(params, X)
    return np.argmax(out, axis=1)


def accuracy(params: dict, X, y) -> float:
    """X: (N, D), y: (N,) int labels. Returns the fraction of rows predicted correctly."""
    return float(np.mean(predict(params, X) == np.asarray(y)))


def train(params: dict, X, Y, epochs: int = 400, learning_rate: float = 1.0) -> list:
    """Full-batch gradient descent, in place. X: (N, D), Y: (N, C) one-hot.

    Returns the loss before each update, one float per epoch.
    """
    losses = []
    for _ in range(epochs):
        out, cache = mlp_forward(params, X)
        losses.append(mse_loss(out, Y))
        sgd_step(params, mlp_backward(params, cache, Y), learning_rate)
    return losses
