"""Plots the lessons share: decision boundaries, training curves, predictions vs truth."""

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

# Class k is drawn in CLASS_COLOURS[k] everywhere (regions, points, predictions).
CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(5, 4.5))[1]


def plot_points(X: np.ndarray, y: np.ndarray, ax=None, title: str = ""):
    """Scatter labelled points, class k in CLASS_COLOURS[k].

    X: (N, 2) points; y: (N,) int labels. Returns the matplotlib Axes.
    """
    ax = _axes(ax)
    ax.scatter(X[:, 0], X[:, 1], c=np.array(CLASS_COLOURS)[np.asarray(y, dtype=int)], s=14,
               edgecolors="k", linewidths=0.3)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    return ax


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    ax=None,
    title: str = "",
    resolution: int = 300,
    margin: float = 0.25,
    probability: bool = False,
):
    """Colour the plane by ``predict`` and draw the labelled points on top.

    predict: maps (M, 2) points to (M,) class labels, or to (M,) probabilities of class 1
    when ``probability`` is true (drawn as a heat map with the 0.5 contour).
    X: (N, 2) points; y: (N,) labels. Returns the matplotlib Axes.
    """
    ax = _axes(ax)
    span = X.max(axis=0) - X.min(axis=0)
    low, high = X.min(axis=0) - margin * span, X.max(axis=0) + margin * span
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    Z = np.asarray(predict(grid)).reshape(xx.shape)
    if probability:
        image = ax.contourf(xx, yy, Z, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.8)
        ax.contour(xx, yy, Z, levels=[0.5], colors="k", linewidths=1)
        plt.colorbar(image, ax=ax, label="P(class 1)")
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, s=14,
                   edgecolors="w", linewidths=0.5)
    else:
        # One colour per class for both the regions and the points, so a point whose
        # colour differs from the region under it is a misclassified point.
        classes = np.unique(np.concatenate([np.unique(Z), np.unique(y)])).astype(int)
        colours = ListedColormap(CLASS_COLOURS[: classes.max() + 1])
        ax.contourf(xx, yy, Z, levels=np.arange(classes.max() + 2) - 0.5, cmap=colours,
                    alpha=0.35)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colours, vmin=-0.5,
                   vmax=classes.max() + 0.5, s=14, edgecolors="k", linewidths=0.3)
    ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), xlabel="$x_1$", ylabel="$x_2$",
           title=title)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], ax=None, title: str = "",
                xlabel: str = "step", ylabel: str = "loss", log: bool = False):
    """One line per named curve (e.g. ``{"buggy": losses_a, "fixed": losses_b}``)."""
    ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(np.arange(len(values)), values, label=name)
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return ax


def plot_predictions(X: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, title: str = ""):
    """Ground truth and predictions side by side, wrong predictions circled.

    X: (N, 2) points; y_true, y_pred: (N,) labels. Returns the matplotlib Figure.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
    colours = np.array(CLASS_COLOURS)
    # Index the colours directly: a colormap would rescale to the labels present, and a
    # model predicting only two of three classes would change colour between the panels.
    left.scatter(X[:, 0], X[:, 1], c=colours[np.asarray(y_true, dtype=int)], s=14)
    left.set(title="ground truth", xlabel="$x_1$", ylabel="$x_2$")
    right.scatter(X[:, 0], X[:, 1], c=colours[np.asarray(y_pred, dtype=int)], s=14)
    wrong = y_true != y_pred
    right.scatter(X[wrong, 0], X[wrong, 1], s=80, facecolors="none", edgecolors="k",
                  label=f"{wrong.sum()} wrong")
    right.set(title="predictions", xlabel="$x_1$")
    right.legend(loc="best")
    if title:
        fig.suptitle(title)
    return fig
