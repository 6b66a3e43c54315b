"""course.gradient_check: numerical gradients are accurate and mismatches are named."""

import numpy as np
import pytest

from course.gradient_check import (
    assert_gradients_close,
    fingerprint,
    gradient_mismatches,
    rel_error,
)
from grader.handouts.numerical import numerical_gradient, numerical_gradient_array


def test_rel_error_is_zero_for_equal_arrays_and_one_for_opposite_signs():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)


def test_numerical_gradient_matches_closed_form_and_restores_input():
    x = np.random.default_rng(0).normal(size=(3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert rel_error(grad, np.cos(before) * before + np.sin(before)) < 1e-8
    assert np.array_equal(x, before)


def test_numerical_gradient_refuses_integer_arrays():
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(np.sum, np.arange(3))


def test_numerical_gradient_array_is_the_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x, dout = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    grad = numerical_gradient_array(np.tanh, x, dout)
    assert rel_error(grad, dout * (1 - np.tanh(x) ** 2)) < 1e-8


@pytest.mark.parametrize(("mistake", "expected_hint"), [
    (lambda g: g.T, "transpose"),
    (lambda g: -g, "sign is flipped"),
    (lambda g: 8 * g, "8 times too large"),
    (lambda g: g / 8, "0.125 times"),
])
def test_fingerprint_names_common_mistakes(mistake, expected_hint):
    right = np.random.default_rng(2).normal(size=(3, 5))
    assert expected_hint in fingerprint(mistake(right), right)


def test_fingerprint_stays_silent_on_an_unrelated_error():
    rng = np.random.default_rng(3)
    assert fingerprint(rng.normal(size=(3, 5)), rng.normal(size=(3, 5))) is None


def test_mismatches_name_each_wrong_gradient_in_order():
    right = {"W": np.ones((2, 2)), "b": np.ones(2)}
    problems = gradient_mismatches({"W": np.ones((2, 2)), "b": 2 * np.ones(2)}, right)
    assert len(problems) == 1 and problems[0].startswith("b: relative error")
    assert gradient_mismatches({"W": np.ones((2, 2))}, right) == [
        "b: missing (got keys ['W'])"]


def test_assert_gradients_close_passes_on_match_and_explains_failure():
    right = {"W": np.arange(4.0).reshape(2, 2)}
    assert_gradients_close({"W": right["W"].copy()}, right)
    with pytest.raises(AssertionError, match=r"at a point.*\n  W: shape \(3,\)"):
        assert_gradients_close({"W": np.zeros(3)}, right, context="at a point")


def test_a_tuple_where_a_dict_of_gradients_belongs_gets_a_message_not_a_crash():
    with pytest.raises(AssertionError, match="expected a dict of gradients with keys"):
        assert_gradients_close((np.ones(2), np.ones(3)), {"dW": np.ones(2), "db": np.ones(3)})
