"""Lesson 3 variants: slips in the forward pass, the tanh backward pass, the logistic
cross-entropy and the training loop (its docstring's promises: caller's params unchanged,
losses before each update, step_size and iterations obeyed; backprop's (loss, grads)
order), and correct rewrites (loops, einsum,
float32 data and loss, other forms of tanh' and of the loss, in-place updates on a copy)."""

from pathlib import Path

from grader.instructor.course_dir import notebook_name
from grader.instructor.variants import Variant


def lesson2_answer(grade_id: str) -> str:
    """The solution of one of lesson 2's cells, read from lesson 2's source notebook."""
    from grader.instructor.submissions import reference_answers  # imports this package
    root = Path(__file__).resolve().parents[3]
    return reference_answers(
        root / "source" / "lesson2" / f"{notebook_name(root, 'lesson2')}.ipynb")[grade_id]


TRAINING = "test_training"
HIDDEN = "test_hidden_layer_gradients"
OUTPUT = "test_output_layer_gradients"
LOSS = "test_loss"
STABLE = "test_loss_stable"

# Lines of the reference gradient_descent that several variants edit.
COPY_PARAMS = "params = {name: np.copy(value) for name, value in params.items()}"
UPDATE = "params[name] = params[name] - step_size * grads[name]"

VARIANTS = [
    Variant(
        name="in-place-tanh",
        description="Computes H = np.tanh(G, out=G) to save memory, so the cache's G is "
                    "silently overwritten by H (backward reads only H, so it still works).",
        edits=(("forward", "H = np.tanh(G)", "H = np.tanh(G, out=G)"),),
        loses=frozenset({"test_forward"}),
        diagnosis="G was overwritten",
    ),
    Variant(
        name="sigmoid-derivative-for-tanh",
        description="Uses the sigmoid's derivative H (1 - H) where tanh's, 1 - H^2, belongs.",
        edits=(("backward", "dG = dH * (1.0 - H ** 2)", "dG = dH * H * (1.0 - H)"),),
        loses=frozenset({HIDDEN, TRAINING}),
        diagnosis="the sigmoid's derivative a*(1-a) was used for tanh",
        demo=True,
    ),
    Variant(
        name="tanh-derivative-on-preactivation",
        description="Writes tanh' as 1 - G^2, on the pre-activation instead of on H = tanh(G).",
        edits=(("backward", "dG = dH * (1.0 - H ** 2)", 'dG = dH * (1.0 - cache["G"] ** 2)'),),
        loses=frozenset({HIDDEN, TRAINING}),
        diagnosis="1-a^2 was computed from the pre-activation z instead of the output a",
    ),
    Variant(
        name="naive-log-loss",
        description="Computes -y log(p) - (1 - y) log(1 - p) from p = sigmoid(z): log(0) once "
                    "p rounds to 0 or 1.",
        edits=(("loss",
                "loss = np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))",
                "p = sigmoid(z)\n"
                "    loss = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))"),),
        loses=frozenset({STABLE}),
        diagnosis="stable form",
        demo=True,
    ),
    Variant(
        name="unsplit-logistic-loss",
        description="Uses y log(1 + e^-z) + (1 - y) log(1 + e^z) as written: e^|z| overflows.",
        edits=(("loss",
                "loss = np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))",
                "loss = np.mean(y * np.log(1 + np.exp(-z)) + (1 - y) * np.log(1 + np.exp(z)))"),),
        loses=frozenset({STABLE}),
        diagnosis="stable form",
    ),
    Variant(
        name="loss-gradient-missing-mean",
        description="Forgets the 1/N of the mean in dz, so every step is N times too long.",
        edits=(("loss", "dz = (sigmoid(z) - y) / n", "dz = sigmoid(z) - y"),),
        loses=frozenset({LOSS, TRAINING}),
        diagnosis="times too large",
    ),
    Variant(
        name="y-minus-p",
        description="Takes dL/dz = y - p (target minus output) instead of p - y.",
        edits=(("loss", "dz = (sigmoid(z) - y) / n", "dz = (y - sigmoid(z)) / n"),),
        loses=frozenset({LOSS, TRAINING}),
        diagnosis="the sign is flipped",
    ),
    Variant(
        name="loss-summed-not-averaged",
        description="Reports the summed loss while dz is the gradient of the mean.",
        edits=(("loss", "loss = np.mean(", "loss = np.sum("),),
        loses=frozenset({LOSS}),
        diagnosis="the loss is summed over the points, not averaged",
    ),
    Variant(
        name="transposed-dU",
        description="Writes dU = X^T dG, the transpose of the (3, 2) gradient.",
        edits=(("backward", "dU = dG.T @ X", "dU = X.T @ dG"),),
        loses=frozenset({HIDDEN, TRAINING}),
        diagnosis="U: shape (2, 3), expected (3, 2); it is the transpose",
    ),
    Variant(
        name="bias-summed-over-units",
        description="Sums dG over the hidden units (axis 1) instead of over the points.",
        edits=(("backward", "db = np.sum(dG, axis=0)", "db = np.sum(dG, axis=1)"),),
        loses=frozenset({HIDDEN, TRAINING}),
        diagnosis="summed over the wrong axis",
    ),
    Variant(
        name="forgets-chain-through-W",
        description="Takes dH = dz (broadcast over the units), dropping the output weights W; "
                    "it still trains (W ends up positive), but its gradients are wrong, which "
                    "the short run of gradient descent shows.",
        edits=(("backward", "dH = np.outer(dz, W)", "dH = np.outer(dz, np.ones_like(W))"),),
        loses=frozenset({HIDDEN, TRAINING}),
        diagnosis="dH is missing the factor W",
    ),
    Variant(
        name="output-gradient-uses-preactivation",
        description="Computes dW from the pre-activations G instead of the activations H.",
        edits=(("backward", "dW = H.T @ dz", 'dW = cache["G"].T @ dz'),),
        loses=frozenset({OUTPUT, TRAINING}),
        diagnosis="dW was computed from the pre-activations G instead of the activations H",
    ),
    Variant(
        name="gradient-ascent",
        description="Adds the gradient in the update, climbing the loss.",
        edits=(("gradient_descent", "params[name] - step_size * grads[name]",
                "params[name] + step_size * grads[name]"),),
        loses=frozenset({TRAINING}),
        diagnosis="the parameters moved along the gradient, not against it (gradient ascent)",
    ),
    Variant(
        name="forward-returns-probability",
        description="Returns p = sigmoid(z) from forward instead of the logits z.",
        edits=(("forward", 'z = H @ params["W"] + params["c"]',
                'z = sigmoid(H @ params["W"] + params["c"])'),),
        loses=frozenset({"test_forward", TRAINING}),
        diagnosis="forward returned the probabilities p = sigmoid(z)",
    ),
    Variant(
        name="forward-forgets-output-bias",
        description="Computes z = H W, leaving out the output bias c (an unused parameter).",
        edits=(("forward", 'z = H @ params["W"] + params["c"]', 'z = H @ params["W"]'),),
        loses=frozenset({"test_forward", TRAINING}),
        diagnosis="the output bias c is missing",
    ),
    Variant(
        name="forward-forgets-hidden-bias",
        description="Computes G = X U^T, leaving out the hidden biases b.",
        edits=(("forward", 'G = X @ params["U"].T + params["b"]', 'G = X @ params["U"].T'),),
        loses=frozenset({"test_forward", TRAINING}),
        diagnosis="the hidden bias b is missing",
    ),
    Variant(
        name="loss-missing-max-term",
        description="Drops the max(z, 0) term of the stable form (a missing term).",
        edits=(("loss", "np.maximum(z, 0.0) - y * z", "- y * z"),),
        loses=frozenset({LOSS, STABLE}),
        diagnosis="the max(z, 0) term of the stable form is missing",
    ),
    Variant(
        name="output-bias-gradient-not-summed",
        description="Returns dc = dz, one gradient per point, instead of summing over them.",
        edits=(("backward", "dc = np.sum(dz)", "dc = dz"),),
        loses=frozenset({OUTPUT, TRAINING}),
        diagnosis="it holds one gradient per example, not summed",
    ),
    Variant(
        name="descent-changes-callers-params",
        description="Copies the dict but not its arrays, then updates them in place: the "
                    "caller's params change, which the docstring promises they do not.",
        edits=(("gradient_descent", COPY_PARAMS, "params = dict(params)"),
               ("gradient_descent", UPDATE, "params[name] -= step_size * grads[name]")),
        loses=frozenset({TRAINING}),
        diagnosis="changed the caller's params",
    ),
    Variant(
        name="descent-ignores-step-size",
        description="Updates with the plain gradient, ignoring step_size (right only for a "
                    "step size of 1).",
        edits=(("gradient_descent", UPDATE, "params[name] = params[name] - grads[name]"),),
        loses=frozenset({TRAINING}),
        diagnosis="step_size is ignored",
    ),
    Variant(
        name="descent-ignores-iterations",
        description="Always runs 1000 steps, whatever iterations is.",
        edits=(("gradient_descent", "for _ in range(iterations):", "for _ in range(1000):"),),
        loses=frozenset({TRAINING}),
        diagnosis="it ignores iterations",
    ),
    Variant(
        name="descent-records-loss-after-update",
        description="Records each loss after its update, where the docstring says before.",
        edits=(("gradient_descent", "losses.append(loss)",
                "losses.append(loss_and_grads(params)[0])"),),
        loses=frozenset({TRAINING}),
        diagnosis="each loss is the loss after its update",
    ),
    Variant(
        name="descent-stale-gradients",
        description="Computes the gradients once, before the loop, and reuses them every step.",
        edits=(("gradient_descent",
                "    for _ in range(iterations):\n        loss, grads = loss_and_grads(params)",
                "    _, grads = loss_and_grads(params)\n"
                "    for _ in range(iterations):\n        loss, _ = loss_and_grads(params)"),),
        loses=frozenset({TRAINING}),
        diagnosis="stale gradients",
    ),
    Variant(
        name="descent-never-updates-output-bias",
        description="Updates U, b and W but not c (an update of the wrong set of parameters).",
        edits=(("gradient_descent", "for name in params:", 'for name in ("U", "b", "W"):'),),
        loses=frozenset({TRAINING}),
        diagnosis="params['c'] is never updated",
    ),
    Variant(
        name="backprop-returns-grads-first",
        description="Keeps the old order (grads, loss) in backprop and unpacks it so in "
                    "gradient_descent: it trains, but breaks the course's (loss, grads) "
                    "contract, so lesson 2's gradient_descent could not use this backprop.",
        edits=(("backward", "return loss, backward(dz, cache)",
                "return backward(dz, cache), loss"),
               ("gradient_descent", "loss, grads = loss_and_grads(params)",
                "grads, loss = loss_and_grads(params)")),
        loses=frozenset({TRAINING}),
        diagnosis="it should return (loss, grads)",
    ),
    # Correct alternatives: each must get full marks.
    Variant(
        name="explicit-loops",
        description="Loops over the points for the loss and over the hidden units in backward.",
        cells={
            "loss": '''
import math


def logistic_cross_entropy(z, y):
    """One point at a time, in Python floats."""
    n = len(z)
    total, dz = 0.0, np.zeros(n)
    for i in range(n):
        zi, yi = float(z[i]), float(y[i])
        total += max(zi, 0.0) - yi * zi + math.log1p(math.exp(-abs(zi)))
        dz[i] = (sigmoid(zi) - yi) / n
    return total / n, dz
''',
            "backward": '''
def backward(dz, cache):
    """One hidden unit at a time."""
    X, H, W = cache["X"], cache["H"], cache["W"]
    dU, db, dW = np.zeros((3, 2)), np.zeros(3), np.zeros(3)
    for j in range(3):
        dW[j] = np.dot(H[:, j], dz)
        dg = dz * W[j] * (1.0 - H[:, j] ** 2)
        db[j] = np.sum(dg)
        for k in range(2):
            dU[j, k] = np.dot(dg, X[:, k])
    return {"U": dU, "b": db, "W": dW, "c": float(np.sum(dz))}


def backprop(X, y, params):
    z, cache = forward(X, params)
    loss, dz = logistic_cross_entropy(z, y)
    return loss, backward(dz, cache)
''',
        },
    ),
    Variant(
        name="einsum-backward",
        description="Writes every product of the backward pass with np.einsum.",
        cells={"backward": '''
def backward(dz, cache):
    """The same sums, spelled with einsum."""
    X, H, W = cache["X"], cache["H"], cache["W"]
    dG = np.einsum("n,j,nj->nj", dz, W, 1.0 - H * H)
    return {"U": np.einsum("nj,nk->jk", dG, X), "b": np.einsum("nj->j", dG),
            "W": np.einsum("nj,n->j", H, dz), "c": np.einsum("n->", dz)}


def backprop(X, y, params):
    z, cache = forward(X, params)
    loss, dz = logistic_cross_entropy(z, y)
    return loss, backward(dz, cache)
'''},
    ),
    Variant(
        name="float32-data",
        description="Stores the points as float32 in forward and backward (parameters stay "
                    "float64): rounding of about 1e-7 must not cost marks.",
        edits=(("forward", '    G = X @ params["U"].T',
                '    X = np.asarray(X, dtype=np.float32)\n    G = X @ params["U"].T'),
               ("backward", 'X, H, W = cache["X"], cache["H"], cache["W"]',
                'X, H, W = cache["X"].astype(np.float32), cache["H"], cache["W"]')),
    ),
    Variant(
        name="tanh-derivative-via-exp",
        description="Writes tanh'(G) = 1 - tanh(G)^2 as 4 / (e^G + e^-G)^2.",
        edits=(("backward", "dG = dH * (1.0 - H ** 2)",
                'G = cache["G"]\n    dG = dH * 4.0 / (np.exp(G) + np.exp(-G)) ** 2'),),
    ),
    Variant(
        name="logaddexp-loss",
        description="Computes log(1 + e^z) - y z with np.logaddexp(0, z), also stable.",
        edits=(("loss",
                "loss = np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))",
                "loss = np.mean(np.logaddexp(0.0, z) - y * z)"),),
    ),
    Variant(
        name="float32-loss",
        description="Computes the loss and dz in float32: rounding of about 1e-7 must not "
                    "cost marks, in the visible checks or the hidden ones.",
        edits=(("loss", "n = z.shape[0]",
                "n = z.shape[0]\n    z, y = z.astype(np.float32), y.astype(np.float32)"),),
    ),
    Variant(
        name="backward-recomputes-H-from-G",
        description="Recomputes H = tanh(G) from the cache's G instead of reading cache['H'].",
        edits=(("backward", 'X, H, W = cache["X"], cache["H"], cache["W"]',
                'X, W = cache["X"], cache["W"]\n    H = np.tanh(cache["G"])'),),
    ),
    Variant(
        name="lesson2-gradient-descent",
        description="Lesson 2's gradient_descent, its solution pasted unchanged: one "
                    "signature, one contract.",
        cells={"gradient_descent": lesson2_answer("gradient_descent")},
    ),
    Variant(
        name="descent-in-place-on-a-deep-copy",
        description="Deep-copies params, then updates the copy in place with -=.",
        edits=(("gradient_descent", COPY_PARAMS,
                "import copy\n\n    params = copy.deepcopy(params)"),
               ("gradient_descent", UPDATE, "params[name] -= step_size * grads[name]")),
    ),
]

REQUIRES = {
    "test_forward": {"forward"},
    "test_loss": {"loss"},
    "test_loss_stable": {"loss"},
    # The backward checks hand backward a fixed cache: they need no forward.
    OUTPUT: {"backward"},
    HIDDEN: {"backward"},
    # The lesson has gradient_descent train with the student's backprop, which joins
    # forward, the loss and backward.
    TRAINING: {"forward", "loss", "backward", "gradient_descent"},
}
