"""Reference layer objects for lesson 5, and a network and training loop built from them.

Every layer follows one protocol, which lets a network treat them all alike:

* ``layer.params``: dict name -> array of trainable parameters (empty for most layers);
  ``Network.step`` updates these arrays in place.
* ``layer.forward(x) -> (out, cache)``: the output and whatever backward will need.
* ``layer.backward(dout, cache) -> (dx, grads)``: ``dout`` is dL/d(out), shaped like ``out``;
  ``dx`` is dL/dx, shaped like ``x``; ``grads`` maps each name in ``params`` to dL/d(param).

Loss layers take two inputs: ``forward(pred, target) -> (loss, cache)`` with a float loss, and
``backward(dout, cache) -> (dpred, {})`` where ``dout`` is dL/d(loss), 1.0 for the loss itself.

The hidden checks use this module as the instructor's reference: to test a student's network
with correct layers, and to calibrate the accuracy thresholds. Nothing here is shown to
students.
"""

import numpy as np

from course.datasets import as_generator

# Predictions are clipped into [EPS, 1 - EPS] before taking logs, so a saturated sigmoid
# (an output of exactly 0.0 or 1.0 in float64) gives a large but finite loss.
BCE_EPS = 1e-7


class Layer:
    """Base class: no parameters. Subclasses implement forward and backward."""

    def __init__(self):
        self.params = {}


class Linear(Layer):
    """out = x W + b. x: (N, n_in), W: (n_in, n_out), b: (n_out,), out: (N, n_out)."""

    def __init__(self, n_in: int, n_out: int, rng, scale: float = 1.0):
        super().__init__()
        rng = as_generator(rng)
        self.params = {"W": rng.normal(scale=scale, size=(n_in, n_out)), "b": np.zeros(n_out)}

    def forward(self, x):
        return x @ self.params["W"] + self.params["b"], x

    def backward(self, dout, cache):
        x = cache
        return dout @ self.params["W"].T, {"W": x.T @ dout, "b": dout.sum(axis=0)}


class Sigmoid(Layer):
    """out = 1 / (1 + exp(-x)) elementwise; any shape."""

    def forward(self, x):
        out = 1.0 / (1.0 + np.exp(-x))
        return out, out

    def backward(self, dout, cache):
        out = cache
        return dout * out * (1.0 - out), {}


class ReLU(Layer):
    """out = max(x, 0) elementwise; any shape."""

    def forward(self, x):
        positive = x > 0
        return x * positive, positive

    def backward(self, dout, cache):
        return dout * cache, {}


class MSE(Layer):
    """loss = 1/2 * mean over the N rows of the squared error summed over columns.

    pred, target: (N, C). The same loss as the lesson-4 model's ``mse_loss``.
    """

    def forward(self, pred, target):
        diff = pred - target
        return float(0.5 * np.sum(diff ** 2) / len(diff)), diff

    def backward(self, dout, cache):
        diff = cache
        return dout * diff / len(diff), {}


class BCE(Layer):
    """Binary cross-entropy, mean over rows: -1/N sum(t log p + (1 - t) log(1 - p)).

    pred: (N, C) probabilities, target: (N, C) in {0, 1}; pred is clipped to
    [BCE_EPS, 1 - BCE_EPS] first.
    """

    def forward(self, pred, target):
        p = np.clip(pred, BCE_EPS, 1.0 - BCE_EPS)
        loss = -np.sum(target * np.log(p) + (1.0 - target) * np.log(1.0 - p)) / len(p)
        return float(loss), (p, target)

    def backward(self, dout, cache):
        p, target = cache
        return dout * (p - target) / (p * (1.0 - p)) / len(p), {}


class Network:
    """A chain of layers: forward left to right, backward right to left."""

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, x):
        """Returns (out, caches), one cache per layer."""
        caches = []
        for layer in self.layers:
            x, cache = layer.forward(x)
            caches.append(cache)
        return x, caches

    def backward(self, dout, caches):
        """Returns (dx, grads): grads[i] is the dict of layer i's parameter gradients."""
        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dout, grads[i] = self.layers[i].backward(dout, caches[i])
        return dout, grads

    def step(self, grads, learning_rate: float) -> None:
        """Gradient descent step on every layer's parameters, in place."""
        for layer, layer_grads in zip(self.layers, grads):
            for name, grad in layer_grads.items():
                layer.params[name] -= learning_rate * grad


def build_network(network_class, linear, activation, output, rng, hidden: int = 4,
                  inputs: int = 2, outputs: int = 1):
    """inputs-hidden-hidden-outputs network from the given classes (a student's or these).

    activation: class of the two hidden activations, or None for none at all; output: class
    of the output activation. Weights are drawn from ``rng`` in layer order.
    """
    rng = as_generator(rng)
    layers = [linear(inputs, hidden, rng)]
    layers += [activation()] if activation else []
    layers += [linear(hidden, hidden, rng)]
    layers += [activation()] if activation else []
    layers += [linear(hidden, outputs, rng), output()]
    return network_class(layers)


def fit(network, loss_layer, X, Y, epochs: int, learning_rate: float) -> list:
    """Full-batch gradient descent, in place. X: (N, D), Y: (N, C).

    Returns the loss before each update, one float per epoch.
    """
    losses = []
    for _ in range(epochs):
        out, caches = network.forward(X)
        loss, loss_cache = loss_layer.forward(out, Y)
        dout, _ = loss_layer.backward(1.0, loss_cache)
        _, grads = network.backward(dout, caches)
        network.step(grads, learning_rate)
        losses.append(loss)
    return losses
