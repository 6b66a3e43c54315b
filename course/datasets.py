"""Toy data sets for the lessons, and CSV input/output for labelled 2-D points.

Every generator takes ``rng``: a ``numpy.random.Generator`` or an integer seed, so a lesson,
a hidden test and a calibration script can each draw their own reproducible sample.
"""

from pathlib import Path

import numpy as np

# Lesson 4's three clusters: centre and standard deviation per label (seed document 000).
GAUSSIAN_CENTRES = np.array([[0.0, 0.0], [10.0, 10.0], [10.0, 0.0]])
GAUSSIAN_STD = 1.5


def as_generator(rng) -> np.random.Generator:
    """Accept a Generator or an int seed; refuse ``None`` so no sample is accidentally unseeded."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator or an int seed, got {rng!r}")


def spiral(rng, points_per_class: int = 100, classes: int = 3, noise: float = 0.2):
    """Interleaved spiral arms, one per class, inside the unit disc.

    Returns X: (points_per_class * classes, 2) float, y: (N,) int labels in [0, classes).
    """
    rng = as_generator(rng)
    radius = np.linspace(0.0, 1.0, points_per_class)
    X = np.empty((points_per_class * classes, 2))
    y = np.empty(points_per_class * classes, dtype=int)
    for label in range(classes):
        rows = slice(label * points_per_class, (label + 1) * points_per_class)
        theta = np.linspace(4.0 * label, 4.0 * (label + 1), points_per_class)
        theta = theta + rng.normal(scale=noise, size=points_per_class)
        X[rows] = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
        y[rows] = label
    return X, y


def ring(rng, n: int = 500, radius: float = 5.0):
    """A disc (label 1) inside a ring (label 0), half the points each.

    Inner points have distance in [0, 0.5 radius), outer ones in [0.7 radius, radius), so a
    margin separates the classes. Returns X: (n, 2) float, y: (n,) int in {0, 1}.
    """
    rng = as_generator(rng)
    inner = n // 2
    distance = np.concatenate(
        [rng.uniform(0.0, 0.5 * radius, inner), rng.uniform(0.7 * radius, radius, n - inner)]
    )
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    X = np.column_stack([distance * np.sin(angle), distance * np.cos(angle)])
    y = np.concatenate([np.ones(inner, dtype=int), np.zeros(n - inner, dtype=int)])
    return X, y


def gaussian_clusters(rng, points_per_class: int = 100, centres=GAUSSIAN_CENTRES,
                      std: float = GAUSSIAN_STD):
    """Isotropic Gaussian blobs, one per row of ``centres``, shuffled together.

    Returns X: (points_per_class * len(centres), 2) float, y: (N,) int labels.
    """
    rng = as_generator(rng)
    centres = np.asarray(centres, dtype=float)
    y = np.repeat(np.arange(len(centres)), points_per_class)
    X = centres[y] + rng.normal(scale=std, size=(len(y), centres.shape[1]))
    order = rng.permutation(len(y))
    return X[order], y[order]


def xor():
    """The four XOR points. Returns X: (4, 2) float, y: (4,) int."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    return X, y


def xor_diagonals(points: int = 11):
    """XOR along the unit square's diagonals, the seed lab's 21-point set for points=11.

    Class 0 on x2 = x1, class 1 on x2 = 1 - x1; the centre, on both, is kept once, in class 0.
    Returns X: (2 * points - 1, 2) float for odd ``points``, y: (N,) int in {0, 1}.
    """
    t = np.linspace(0.0, 1.0, points)
    off_centre = ~np.isclose(t, 0.5)
    X = np.vstack([np.column_stack([t, t]), np.column_stack([t, 1.0 - t])[off_centre]])
    y = np.concatenate([np.zeros(points, dtype=int), np.ones(off_centre.sum(), dtype=int)])
    return X, y


def linearly_separable(rng, n: int = 100, margin: float = 0.05):
    """Points in the unit square labelled 1 above the diagonal (x2 > x1), 0 below.

    Points closer than ``margin`` to the diagonal (in x2 - x1) are redrawn, so a gap
    separates the classes. Returns X: (n, 2) float, y: (n,) int in {0, 1}.
    """
    rng = as_generator(rng)
    X = np.empty((0, 2))
    while len(X) < n:
        candidates = rng.uniform(0.0, 1.0, size=(2 * n, 2))
        keep = np.abs(candidates[:, 1] - candidates[:, 0]) >= margin
        X = np.concatenate([X, candidates[keep]])
    X = X[:n]
    return X, (X[:, 1] > X[:, 0]).astype(int)


def save_labelled_csv(path, X, y) -> None:
    """Write rows ``x, y, label`` with no header (the format ``load_labelled_csv`` reads)."""
    rows = np.column_stack([np.asarray(X, dtype=float), np.asarray(y, dtype=float)])
    np.savetxt(path, rows, delimiter=",", fmt=["%.6f", "%.6f", "%d"])


def load_labelled_csv(path):
    """Read a headerless CSV of ``x, y, label`` rows.

    Returns X: (N, 2) float, y: (N,) int. A malformed file raises ``ValueError`` naming the
    file and the first bad line, rather than numpy's message about an anonymous row.
    """
    path = Path(path)
    features, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = [field.strip() for field in line.split(",")]
            if len(fields) != 3:
                raise ValueError(
                    f"{path}, line {number}: expected 3 comma-separated values "
                    f"(x, y, label), found {len(fields)}: {line.strip()!r}"
                )
            try:
                x0, x1, label = float(fields[0]), float(fields[1]), float(fields[2])
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: not a number in {line.strip()!r}"
                ) from None
            if not label.is_integer() or label < 0:
                raise ValueError(
                    f"{path}, line {number}: label must be a non-negative integer, "
                    f"got {fields[2]!r}"
                )
            features.append((x0, x1))
            labels.append(int(label))
    if not labels:
        raise ValueError(f"{path}: no data rows")
    return np.array(features), np.array(labels)
