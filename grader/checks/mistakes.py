"""Wrong local derivatives students use, pushed through a backward pass, so a check can
name the mistake. Grader only: the formulas include the right derivatives.

``fingerprint()`` sees only (got, expected). A missing regularisation term or an activation
derivative taken at the wrong quantity can only be recognised by a check that knows the
weights or the pre-activations: it builds what each mistake would produce with these
helpers and passes them as ``alternatives``.
"""

from collections.abc import Callable, Mapping

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def activation_derivative_mistakes(activation: str, z: np.ndarray) -> dict[str, np.ndarray]:
    """Wrong local derivatives students use in place of f'(z), by description.

    activation: "sigmoid", "tanh" or "relu"; z: the pre-activation, any shape. Returns
    description -> the factor the mistake multiplies the upstream gradient by (shaped like z).
    Push each through the rest of the backward pass with ``propagate_mistakes``.
    """
    z = np.asarray(z, dtype=float)
    if activation == "sigmoid":
        a = _sigmoid(z)
        return {
            "the sigmoid derivative was taken at its output a instead of its input z":
                _sigmoid(a) * (1 - _sigmoid(a)),
            "a*(1-a) was computed from the pre-activation z instead of the output a":
                z * (1 - z),
            "the sigmoid itself was used where its derivative a*(1-a) belongs": a,
            "tanh's derivative 1-a^2 was used for a sigmoid": 1 - a ** 2,
            "the activation's derivative is missing": np.ones_like(z),
        }
    if activation == "tanh":
        a = np.tanh(z)
        return {
            "the tanh derivative was taken at its output a instead of its input z":
                1 - np.tanh(a) ** 2,
            "1-a^2 was computed from the pre-activation z instead of the output a": 1 - z ** 2,
            "tanh itself was used where its derivative 1-a^2 belongs": a,
            "the sigmoid's derivative a*(1-a) was used for tanh": a * (1 - a),
            "the activation's derivative is missing": np.ones_like(z),
        }
    if activation == "relu":
        # Taking the ReLU mask at the output gives the same mask, so it is no mistake.
        return {
            "the ReLU output was used where its derivative (z > 0) belongs": np.maximum(z, 0),
            "the activation's derivative is missing": np.ones_like(z),
        }
    raise ValueError(f"unknown activation {activation!r}")


def propagate_mistakes(
    local_mistakes: Mapping[str, np.ndarray],
    backward: Callable[[np.ndarray], Mapping[str, np.ndarray]],
) -> dict[str, dict[str, np.ndarray]]:
    """gradient name -> {description: that gradient under the mistake}, for ``alternatives``.

    local_mistakes: description -> wrong local derivative (``activation_derivative_mistakes``).
    backward: the rest of the reference backward pass, from a local derivative to the
    gradients it feeds (e.g. ``lambda d: {"dW1": X.T @ (dh * d), "db1": (dh * d).sum(0)}``).
    """
    alternatives: dict[str, dict[str, np.ndarray]] = {}
    for description, local in local_mistakes.items():
        for name, wrong in backward(local).items():
            alternatives.setdefault(name, {})[description] = wrong
    return alternatives
