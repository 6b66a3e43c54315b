"""Lesson 5 variants: batching and harness slips, layer and network bugs, step-size mistakes,
and correct rewrites."""

from grader.instructor.variants import Variant

ALL_TRAINING = frozenset({"test_separable_accuracy", "test_xor_accuracy"})

VARIANTS = [
    # --- mini-batches and the harness
    Variant(
        name="batches-drop-last-partial",
        description="Stops at the last full batch, so the N % batch_size leftover rows are "
                    "never trained on.",
        edits=(("minibatches", "for start in range(0, len(X), batch_size):",
                "for start in range(0, len(X) - batch_size + 1, batch_size):"),),
        loses=frozenset({"test_minibatches_cover", "test_train_history"}),
        diagnosis="last partial batch",
        demo=True,
    ),
    Variant(
        name="batches-skip-last-row",
        description="Loops to len(X) - 1 (the forum's SGD loop), so with batch size 1 the last "
                    "row is never used.",
        edits=(("minibatches", "for start in range(0, len(X), batch_size):",
                "for start in range(0, len(X) - 1, batch_size):"),),
        loses=frozenset({"test_minibatches_cover", "test_train_history"}),
        diagnosis="rows never appear",
    ),
    Variant(
        name="shuffle-ignores-seed",
        description="Shuffles with numpy's global random state, ignoring rng.",
        edits=(("minibatches", "order = datasets.as_generator(rng).permutation(len(X))",
                "order = np.random.permutation(len(X))"),),
        loses=frozenset({"test_minibatches_shuffle", "test_train_history"}),
        diagnosis="same seed",
    ),
    Variant(
        name="shuffle-x-and-y-separately",
        description="Draws one permutation for X and another for Y, breaking the pairs.",
        cells={"minibatches": '''
def minibatches(X, Y, batch_size, shuffle=False, rng=None):
    """Yield batches; shuffles X and Y (separately) when asked."""
    if shuffle:
        rng = datasets.as_generator(rng)
        X, Y = X[rng.permutation(len(X))], Y[rng.permutation(len(Y))]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], Y[start:start + batch_size]
'''},
        loses=frozenset({"test_minibatches_cover", "test_minibatches_shuffle",
                         "test_train_accuracy"}),
        diagnosis="pairs rows of X with other rows",
    ),
    Variant(
        name="update-count-by-division",
        description="Adds len(X) // batch_size updates per epoch instead of counting them, "
                    "which misses the partial batch.",
        edits=(("train", '            history["updates"] += 1\n', ""),
               ("train", "        out, _ = mlp.mlp_forward(params, X)\n",
                '        history["updates"] += len(X) // batch_size\n'
                "        out, _ = mlp.mlp_forward(params, X)\n")),
        loses=frozenset({"test_train_history"}),
        diagnosis="updates per epoch",
    ),
    Variant(
        name="history-sums-batch-losses",
        description="Records the sum of the mini-batch losses (as the seed tutorial does) "
                    "instead of the training-set loss.",
        edits=(("train", "    for _ in range(epochs):\n",
                "    for _ in range(epochs):\n        epoch_loss = 0.0\n"),
               ("train", "            _, cache = mlp.mlp_forward(params, X_batch)\n",
                "            batch_out, cache = mlp.mlp_forward(params, X_batch)\n"
                "            epoch_loss += mlp.mse_loss(batch_out, Y_batch)\n"),
               ("train", 'history["loss"].append(mlp.mse_loss(out, Y))',
                'history["loss"].append(epoch_loss)')),
        loses=frozenset({"test_train_history"}),
        diagnosis="training-set loss",
    ),
    # --- layers
    Variant(
        name="linear-dW-transposed",
        description="Computes dW as dout^T x, the transpose of the weight gradient.",
        edits=(("linear", "dW = x.T @ dout", "dW = dout.T @ x"),),
        loses=frozenset({"test_linear"}) | ALL_TRAINING,
        diagnosis="transpose",
        demo=True,
    ),
    Variant(
        name="linear-bias-wrong-axis",
        description="Sums the bias gradient over the units instead of over the rows.",
        edits=(("linear", "db = dout.sum(axis=0)", "db = dout.sum(axis=1)"),),
        loses=frozenset({"test_linear"}) | ALL_TRAINING,
        diagnosis="summed over the wrong axis",
    ),
    Variant(
        name="sigmoid-backward-uses-input",
        description="Caches the sigmoid's input and uses x (1 - x) as its derivative.",
        edits=(("activations", "        out = 1.0 / (1.0 + np.exp(-x))\n        return out, out",
                "        out = 1.0 / (1.0 + np.exp(-x))\n        return out, x"),),
        loses=frozenset({"test_sigmoid"}) | ALL_TRAINING,
        diagnosis="computed from the pre-activation z instead of the output a",
    ),
    Variant(
        name="sigmoid-backward-tanh-derivative",
        description="Uses tanh's derivative 1 - s^2 for the sigmoid (the derivative of the "
                    "wrong function).",
        edits=(("activations", "        return dout * out * (1.0 - out), {}",
                "        return dout * (1.0 - out ** 2), {}"),),
        loses=frozenset({"test_sigmoid"}) | ALL_TRAINING,
        diagnosis="tanh's derivative 1-a^2 was used for a sigmoid",
    ),
    Variant(
        name="relu-mask-from-dout",
        description="Masks the upstream gradient by its own sign instead of by the input's.",
        edits=(("activations", "        return dout * positive, {}",
                "        return dout * (dout > 0), {}"),),
        loses=frozenset({"test_relu"}),
        diagnosis="the mask was taken from the sign of dout instead of the input x",
    ),
    Variant(
        name="mse-gradient-missing-1-over-N",
        description="Forgets the 1/N of the mean in the MSE gradient: on 100 points the step "
                    "is effectively 100 times larger and training stalls.",
        edits=(("losses", "        return dout * diff / len(diff), {}",
                "        return dout * diff, {}"),),
        loses=frozenset({"test_mse", "test_separable_accuracy"}),
        diagnosis="times too large",
    ),
    Variant(
        name="bce-without-clipping",
        description="Takes log(pred) directly, so a saturated sigmoid gives log(0).",
        edits=(("losses", "        p = np.clip(pred, self.EPS, 1.0 - self.EPS)\n",
                "        p = pred\n"),),
        loses=frozenset({"test_bce_saturated"}),
        diagnosis="keep the logs finite",
    ),
    Variant(
        name="bce-gradient-wrt-logit",
        description="Returns (p - t) / N, the gradient with respect to the sigmoid's input "
                    "(what a fused sigmoid + BCE gives), not with respect to p.",
        edits=(("losses", "        return dout * (p - target) / (p * (1.0 - p)) / len(p), {}",
                "        return dout * (p - target) / len(p), {}"),),
        loses=frozenset({"test_bce"}),
        diagnosis="the gradient with respect to the sigmoid's input",
    ),
    Variant(
        name="network-caches-in-forward-order",
        description="Walks the layers backwards but hands them the caches in forward order, so "
                    "a layer gets another layer's cache (e.g. a ReLU the wrong mask).",
        cells={"network": '''
class Network:
    """A chain of layers that follow the layer protocol."""

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, x):
        caches = []
        for layer in self.layers:
            x, cache = layer.forward(x)
            caches.append(cache)
        return x, caches

    def backward(self, dout, caches):
        grads = []
        for layer, cache in zip(reversed(self.layers), caches):
            dout, layer_grads = layer.backward(dout, cache)
            grads.append(layer_grads)
        return dout, grads[::-1]

    def step(self, grads, learning_rate):
        for layer, layer_grads in zip(self.layers, grads):
            for name, grad in layer_grads.items():
                layer.params[name] -= learning_rate * grad
'''},
        loses=frozenset({"test_network"}) | ALL_TRAINING,
        diagnosis="got a cache that is not the one its own forward returned",
    ),
    # --- promises of the docstrings and the lesson text; parameters a check must exercise
    Variant(
        name="minibatches-always-shuffles",
        description="Draws a permutation whatever shuffle says (shuffle is an unused "
                    "argument), so shuffle=False, the default, does not keep the stored order.",
        edits=(("minibatches", """    if shuffle:
        order = datasets.as_generator(rng).permutation(len(X))
    else:
        order = np.arange(len(X))
""", """    order = np.random.default_rng(rng).permutation(len(X))
"""),),
        loses=frozenset({"test_minibatches_cover", "test_train_history"}),
        diagnosis="the rows must come in their stored order",
    ),
    Variant(
        name="train-reseeds-every-epoch",
        description="Hands the int seed to minibatches in every epoch instead of one Generator "
                    "for the run, so every epoch goes through the rows in the same order.",
        edits=(("train", "    rng = datasets.as_generator(rng) if shuffle else None\n", ""),),
        loses=frozenset({"test_train_history"}),
        diagnosis="every epoch goes through the rows in the same order",
    ),
    Variant(
        name="train-ignores-shuffle",
        description="Calls minibatches(X, Y, batch_size) without passing shuffle and rng on, "
                    "so shuffle=True trains in stored order.",
        edits=(("train", "minibatches(X, Y, batch_size, shuffle, rng)",
                "minibatches(X, Y, batch_size)"),),
        loses=frozenset({"test_train_history"}),
        diagnosis="gives the same parameters as shuffle=False",
    ),
    Variant(
        name="train-ignores-learning-rate",
        description="Steps with a fixed learning rate of 1.0: the visible check (counts only) "
                    "and the accuracy check (learning rate 1) cannot see it.",
        edits=(("train", "mlp.sgd_step(params, mlp.mlp_backward(params, cache, Y_batch), "
                         "learning_rate)",
                "mlp.sgd_step(params, mlp.mlp_backward(params, cache, Y_batch), 1.0)"),),
        loses=frozenset({"test_train_history"}),
        diagnosis="train ignores learning_rate",
    ),
    Variant(
        name="train-records-loss-before-epoch",
        description="Records the training-set loss at the start of each epoch, before its "
                    "updates, so the history lags one epoch behind.",
        edits=(("train", """        out, _ = mlp.mlp_forward(params, X)
        history["loss"].append(mlp.mse_loss(out, Y))
""", """        out, _ = mlp.mlp_forward(params, X)
"""),
               ("train", """    for _ in range(epochs):
""", """    for _ in range(epochs):
        before, _ = mlp.mlp_forward(params, X)
        history["loss"].append(mlp.mse_loss(before, Y))
""")),
        loses=frozenset({"test_train_history"}),
        diagnosis="before each epoch's updates instead of after",
    ),
    Variant(
        name="linear-caches-input-on-self",
        description="Keeps x on the layer object (self.x) instead of in the cache: a second "
                    "forward call before backward overwrites it (a stale cache).",
        edits=(("linear", 'return x @ self.params["W"] + self.params["b"], x',
                'self.x = x\n        return x @ self.params["W"] + self.params["b"], x'),
               ("linear", "        x = cache\n", "        x = self.x\n")),
        loses=frozenset({"test_linear"}),
        diagnosis="the input of the latest forward call",
    ),
    Variant(
        name="relu-forward-in-place",
        description="Zeroes the negative entries of x in place, changing the caller's array "
                    "(the lesson says layers leave their inputs unchanged).",
        edits=(("activations", "        positive = x > 0\n        return x * positive, positive",
                "        positive = x > 0\n        x *= positive\n        return x, positive"),),
        loses=frozenset({"test_relu"}),
        diagnosis="changed its input x in place",
    ),
    Variant(
        name="mse-backward-ignores-dout",
        description="Returns the gradient for dout = 1 whatever the upstream gradient is; "
                    "training, which always passes 1.0, cannot see it.",
        edits=(("losses", "        return dout * diff / len(diff), {}",
                "        return diff / len(diff), {}"),),
        loses=frozenset({"test_mse"}),
        diagnosis="ignores the upstream gradient dout",
    ),
    Variant(
        name="network-backward-same-dout-for-every-layer",
        description="Hands every layer the network's dout instead of the dx of the layer "
                    "above (the upstream gradient is never passed down).",
        edits=(("network", "            dout, grads[i] = self.layers[i].backward(dout, caches[i])\n"
                           "        return dout, grads",
                "            dx, grads[i] = self.layers[i].backward(dout, caches[i])\n"
                "        return dx, grads"),),
        loses=frozenset({"test_network"}) | ALL_TRAINING,
        diagnosis="got the wrong upstream gradient dout",
    ),
    Variant(
        name="network-step-ignores-learning-rate",
        description="Steps with a hard-coded 0.01 (the forum's learning rate): step never "
                    "uses its learning_rate argument, and training crawls.",
        edits=(("network", "layer.params[name] -= learning_rate * grad",
                "layer.params[name] -= 0.01 * grad"),),
        loses=frozenset({"test_network"}) | ALL_TRAINING,
        diagnosis="the step ignores its learning_rate argument",
    ),
    Variant(
        name="network-step-updates-a-copy",
        description="Updates a copy of each layer's params, so the layers never change.",
        edits=(("network", """            for name, grad in layer_grads.items():
                layer.params[name] -= learning_rate * grad""",
                """            params = {name: value.copy() for name, value in layer.params.items()}
            for name, grad in layer_grads.items():
                params[name] -= learning_rate * grad"""),),
        loses=frozenset({"test_network"}) | ALL_TRAINING,
        diagnosis="it was left unchanged",
    ),
    # --- step size
    Variant(
        name="hessian-missing-factor-two",
        description="Differentiates (Phi w - y)^2 without the factor 2: H = Phi^T Phi / m.",
        edits=(("step_size", "return 2.0 * Phi.T @ Phi / len(Phi)",
                "return Phi.T @ Phi / len(Phi)"),),
        loses=frozenset({"test_mse_hessian", "test_largest_stable_step"}),
        diagnosis="0.5 times the right value",
    ),
    Variant(
        name="stable-step-one-over-lambda",
        description="Returns 1 / lambda_max, the step that is best for the steepest direction "
                    "but only half the largest stable one.",
        edits=(("step_size", "return 2.0 / np.linalg.eigvalsh(mse_hessian(Phi))[-1]",
                "return 1.0 / np.linalg.eigvalsh(mse_hessian(Phi))[-1]"),),
        loses=frozenset({"test_largest_stable_step"}),
        diagnosis="too small",
    ),
    Variant(
        name="stable-step-smallest-eigenvalue",
        description="Takes the first eigenvalue of eigvalsh (the smallest), forgetting they "
                    "come in ascending order.",
        edits=(("step_size", "return 2.0 / np.linalg.eigvalsh(mse_hessian(Phi))[-1]",
                "return 2.0 / np.linalg.eigvalsh(mse_hessian(Phi))[0]"),),
        loses=frozenset({"test_largest_stable_step"}),
        diagnosis="diverges",
    ),
    # --- correct alternatives: each must get full marks
    Variant(
        name="minibatches-while-loop",
        description="Shuffles the arrays themselves and slices them in a while loop.",
        cells={"minibatches": '''
def minibatches(X, Y, batch_size, shuffle=False, rng=None):
    """Yield batches of paired rows; every row once; last batch may be smaller."""
    if shuffle:
        order = np.random.default_rng(rng).permutation(len(X))
        X, Y = X[order], Y[order]
    start = 0
    while start < len(X):
        yield X[start:start + batch_size], Y[start:start + batch_size]
        start += batch_size
'''},
    ),
    Variant(
        name="train-float32-inputs",
        description="Casts the data to float32 before training.",
        edits=(("train", '    history = {"loss": [], "accuracy": [], "updates": 0}\n',
                '    history = {"loss": [], "accuracy": [], "updates": 0}\n'
                "    X, Y = X.astype(np.float32), Y.astype(np.float32)\n"),),
    ),
    Variant(
        name="linear-einsum",
        description="Writes the linear layer's forward and backward with einsum.",
        edits=(("linear", 'return x @ self.params["W"] + self.params["b"], x',
                'return np.einsum("ni,io->no", x, self.params["W"]) + self.params["b"], x'),
               ("linear", 'dx = dout @ self.params["W"].T',
                'dx = np.einsum("no,io->ni", dout, self.params["W"])'),
               ("linear", "dW = x.T @ dout", 'dW = np.einsum("ni,no->io", x, dout)'),
               ("linear", "db = dout.sum(axis=0)", 'db = np.einsum("no->o", dout)')),
    ),
    Variant(
        name="activations-alternative-forms",
        description="Sigmoid through tanh and caching its input (derivative from the output "
                    "recomputed); ReLU with np.maximum and a mask x >= 0.",
        cells={"activations": '''
class Sigmoid(Layer):
    """out = 1 / (1 + exp(-x)) elementwise."""

    def forward(self, x):
        return 0.5 * (1.0 + np.tanh(0.5 * x)), x

    def backward(self, dout, cache):
        s = 0.5 * (1.0 + np.tanh(0.5 * cache))
        return dout * s * (1.0 - s), {}


class ReLU(Layer):
    """out = max(x, 0) elementwise."""

    def forward(self, x):
        return np.maximum(x, 0.0), x

    def backward(self, dout, cache):
        return np.where(cache >= 0, dout, 0.0), {}
'''},
    ),
    Variant(
        name="bce-delta-inside-log",
        description="Adds a small delta inside the logs and denominators (the seed lab's "
                    "way) instead of clipping.",
        cells={"losses": '''
class MSE(Layer):
    """loss = 1/(2N) * sum of squared errors."""

    def forward(self, pred, target):
        return 0.5 * np.mean(np.sum((pred - target) ** 2, axis=1)), (pred, target)

    def backward(self, dout, cache):
        pred, target = cache
        return dout * (pred - target) / pred.shape[0], {}


class BCE(Layer):
    """Binary cross-entropy with a delta against log(0)."""

    DELTA = 1e-7

    def forward(self, pred, target):
        d = self.DELTA
        terms = target * np.log(pred + d) + (1 - target) * np.log(1 - pred + d)
        return -np.sum(terms) / pred.shape[0], (pred, target)

    def backward(self, dout, cache):
        pred, target = cache
        d = self.DELTA
        grad = -(target / (pred + d)) + (1 - target) / (1 - pred + d)
        return dout * grad / pred.shape[0], {}
'''},
    ),
    Variant(
        name="network-explicit-reversed-lists",
        description="Zips reversed layers with reversed caches and reverses the gradients.",
        edits=(("network", '''        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dout, grads[i] = self.layers[i].backward(dout, caches[i])
        return dout, grads''', '''        grads = []
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            dout, layer_grads = layer.backward(dout, cache)
            grads.append(layer_grads)
        return dout, list(reversed(grads))'''),),
    ),
    Variant(
        name="stable-step-from-singular-value",
        description="Uses lambda_max(2/m Phi^T Phi) = 2/m * (largest singular value of Phi)^2.",
        edits=(("step_size", "return 2.0 / np.linalg.eigvalsh(mse_hessian(Phi))[-1]",
                "return len(Phi) / np.linalg.norm(Phi, 2) ** 2"),),
    ),
    Variant(
        name="linear-float32",
        description="Computes the linear layer in float32 (inputs, weights and gradients cast "
                    "down), as GPU frameworks do.",
        edits=(("linear", 'return x @ self.params["W"] + self.params["b"], x',
                'x = x.astype(np.float32)\n'
                '        W, b = self.params["W"].astype(np.float32), '
                'self.params["b"].astype(np.float32)\n'
                '        return x @ W + b, x'),
               ("linear", 'dx = dout @ self.params["W"].T',
                'dout = dout.astype(np.float32)\n'
                '        dx = dout @ self.params["W"].astype(np.float32).T')),
    ),
    Variant(
        name="hessian-float32",
        description="Forms Phi^T Phi in float32.",
        edits=(("step_size", "return 2.0 * Phi.T @ Phi / len(Phi)",
                "P = Phi.astype(np.float32)\n    return 2.0 * P.T @ P / len(P)"),),
    ),
    Variant(
        name="network-step-rebinds-params",
        description="Assigns a new array to layer.params[name] instead of subtracting in "
                    "place; the layers read params on every call, so they see it.",
        edits=(("network", "layer.params[name] -= learning_rate * grad",
                "layer.params[name] = layer.params[name] - learning_rate * grad"),),
    ),
]

# Which solution cells each test cell needs. The lesson builds train on minibatches ("one
# mlp.sgd_step per batch of minibatches"), and the networks that learn separable data and
# XOR from the student's own layers; every other test cell checks one cell alone.
REQUIRES = {
    "test_minibatches_cover": {"minibatches"},
    "test_minibatches_shuffle": {"minibatches"},
    "test_train_history": {"train", "minibatches"},
    "test_train_accuracy": {"train", "minibatches"},
    "test_linear": {"linear"},
    "test_sigmoid": {"activations"},
    "test_relu": {"activations"},
    "test_mse": {"losses"},
    "test_bce": {"losses"},
    "test_bce_saturated": {"losses"},
    "test_network": {"network"},
    "test_separable_accuracy": {"network", "linear", "activations", "losses"},
    "test_xor_accuracy": {"network", "linear", "activations", "losses"},
    "test_mse_hessian": {"step_size"},
    "test_largest_stable_step": {"step_size"},
}
