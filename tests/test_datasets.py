"""course.datasets: generators are seeded and shaped as documented; CSV errors are clear."""

import numpy as np
import pytest

from course import datasets
from grader.handouts.mlp import one_hot


@pytest.mark.parametrize("make", [datasets.spiral, datasets.ring, datasets.gaussian_clusters])
def test_generators_are_reproducible_under_a_seed_and_differ_across_seeds(make):
    X1, y1 = make(7)
    X2, y2 = make(np.random.default_rng(7))
    X3, _ = make(8)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_generators_refuse_an_unseeded_call():
    with pytest.raises(TypeError, match="seed"):
        datasets.spiral(None)


def test_spiral_has_three_classes_of_one_hundred_points_in_the_unit_disc():
    X, y = datasets.spiral(0)
    assert X.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    assert np.all(np.linalg.norm(X, axis=1) <= 1.0 + 1e-12)


def test_ring_puts_label_one_inside_a_margin_and_label_zero_outside():
    X, y = datasets.ring(0, n=500, radius=5.0)
    distance = np.linalg.norm(X, axis=1)
    assert X.shape == (500, 2) and y.sum() == 250
    assert distance[y == 1].max() < 2.5 <= 3.5 <= distance[y == 0].min()


def test_one_hot_rows_have_a_single_one_at_the_label():
    encoded = one_hot(np.array([2, 0, 1]), classes=3)
    assert np.array_equal(encoded.argmax(axis=1), [2, 0, 1]) and encoded.sum() == 3


def test_labelled_csv_round_trips(tmp_path):
    X, y = datasets.gaussian_clusters(0, points_per_class=5)
    datasets.save_labelled_csv(tmp_path / "points.csv", X, y)
    X_read, y_read = datasets.load_labelled_csv(tmp_path / "points.csv")
    assert np.allclose(X_read, X, atol=1e-6) and np.array_equal(y_read, y)


@pytest.mark.parametrize(("content", "message"), [
    ("1.0,2.0,0\n3.0,4.0\n", r"bad\.csv, line 2: expected 3 comma-separated values"),
    ("1.0,2.0,0\n1.0,abc,1\n", r"bad\.csv, line 2: not a number"),
    ("1.0,2.0,0.5\n", r"bad\.csv, line 1: label must be a non-negative integer"),
    ("\n\n", r"bad\.csv: no data rows"),
])
def test_malformed_csv_names_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        datasets.load_labelled_csv(path)


def test_xor_diagonals_is_the_labs_21_points_with_xor_labels():
    X, y = datasets.xor_diagonals()
    assert X.shape == (21, 2) and y.shape == (21,)
    assert np.bincount(y).tolist() == [11, 10]
    assert np.allclose(X[y == 0, 0], X[y == 0, 1]), "class 0 lies on x2 = x1"
    assert np.allclose(X[y == 1, 0] + X[y == 1, 1], 1.0), "class 1 lies on x2 = 1 - x1"
    corners = {(0.0, 0.0): 0, (1.0, 1.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1}
    for corner, label in corners.items():
        assert y[np.all(np.isclose(X, corner), axis=1)].tolist() == [label], corner
