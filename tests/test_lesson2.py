"""Lesson 2's checks: fast references agree with autograd, accuracy thresholds are calibrated,
and the hidden checks on their own judge every catalogued variant as the catalogue says.

Graded through nbgrader, a visible check usually fails before the hidden one runs; running
the hidden blocks alone here shows that each hidden check catches its bugs by itself (at
fresh data the student never saw) and names them.
"""

import re

import autograd
import nbformat
import numpy as np
import pytest

from grader.checks import lesson2
from grader.instructor.submissions import apply_variant, reference_answers
from grader.instructor.trusted import run_checks_in_process
from grader.instructor.variants import variants_for
from tests.conftest import ROOT

SOURCE = ROOT / "source" / "lesson2" / "spiral_softmax.ipynb"
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
VARIANTS = variants_for("lesson2")

# What the hidden check's own message must say, for variants where it names the mistake.
HIDDEN_DIAGNOSIS = {
    "naive-softmax": "Subtract each row's maximum",
    "softmax-wrong-axis": "normalised over the examples (axis 0)",
    "dscores-missing-1-over-n": "times too large",
    "dscores-forgets-correct-class": "never subtracted",
    "dscores-sign-flipped": "the sign is flipped",
    "linear-dW-transposed": "transpose",
    "bias-gradient-wrong-axis": "first wrong gradient is in linear_backward of the output layer",
    "missing-reg-gradient": "the regularisation term's gradient is missing",
    "reg-gradient-halved": "half what it should be",
    "relu-mask-from-gradient": "first wrong gradient is in relu_backward",
    "gradient-ascent": "moved away from the minimum",
    "softmax-loss-summed": "summed over the examples, not averaged",
    "bias-gradient-keepdims": "keepdims=True that should not be there",
    "linear-backward-global-cache": "not for those of the cache it was given",
    "relu-backward-global-cache": "not for those of the cache it was given",
    "classifier-penalty-missing-from-loss": "is missing from the loss",
    "two-layer-penalty-on-W1-only": "the penalty on W1 only",
    "two-layer-skips-relu-backward": "the activation's derivative is missing",
    "gd-mutates-start": "changed the caller's starting params in place",
    "gd-ignores-step-size": "step_size is ignored",
    "gd-loss-after-step": "recorded after its step",
    "gd-stale-gradient": "computed once, at the starting point",
    "gd-one-step-short": "it made 5 steps instead of iterations = 6",
}


def hidden_tests() -> dict[str, str]:
    """grade_id -> the source of the test cell's hidden block."""
    nb = nbformat.read(SOURCE, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: HIDDEN_BLOCK.search(cell.source).group(1)
            for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}


def hidden_failures(answers: dict[str, str]) -> dict[str, str]:
    """Run the solution cells, then each hidden block alone. grade_id -> error message."""
    namespace = {"np": np}
    for source in answers.values():
        exec(source, namespace)
    failures = {}
    for grade_id, source in hidden_tests().items():
        try:
            with np.errstate(all="ignore"):
                run_checks_in_process(source, dict(namespace))
        except Exception as error:
            failures[grade_id] = f"{type(error).__name__}: {error}"
    return failures


def test_every_test_cell_has_a_hidden_check():
    assert len(hidden_tests()) == 9


def test_reference_solution_passes_every_hidden_check():
    assert hidden_failures(reference_answers(SOURCE)) == {}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_hidden_checks_alone_judge_the_variant(variant):
    failures = hidden_failures(apply_variant(reference_answers(SOURCE), variant))
    assert set(failures) == set(variant.loses), failures
    if variant.name in HIDDEN_DIAGNOSIS:
        assert any(HIDDEN_DIAGNOSIS[variant.name] in message for message in failures.values()), (
            failures)


def test_every_buggy_variant_has_a_hidden_diagnosis():
    assert set(HIDDEN_DIAGNOSIS) == {v.name for v in VARIANTS if not v.is_correct}


def test_every_graded_cell_fails_for_some_buggy_variant():
    caught = set().union(*(v.loses for v in VARIANTS))
    assert caught == set(hidden_tests())


@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_references_match_autograd(seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(25, 2)), rng.integers(0, 3, size=25)
    linear = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3)}
    net = {"W1": rng.normal(size=(2, 6)), "b1": rng.normal(size=6),
           "W2": rng.normal(size=(6, 3)), "b2": rng.normal(size=3)}
    for params, fast, reference in [
        (linear, lesson2.numpy_classifier_loss, lesson2.reference_classifier_loss),
        (net, lesson2.numpy_two_layer_loss, lesson2.reference_two_layer_loss),
    ]:
        loss, grads = fast(params, X, y, 0.3)
        expected = autograd.grad(reference)(params, X, y, 0.3)
        assert np.isclose(loss, reference(params, X, y, 0.3), rtol=1e-12)
        for name in params:
            np.testing.assert_allclose(grads[name], expected[name], rtol=1e-9, atol=1e-12)


def test_accuracy_thresholds_hold_for_the_reference_over_50_seeds():
    found = {c.check: c for c in lesson2.calibrate(range(50))}
    assert set(found) == {"linear_accuracy", "two_layer_accuracy"}
    assert all(c.margin >= 0 for c in found.values()), found
    # The thresholds still separate a trained model from chance (1/3) by a wide margin.
    assert found["linear_accuracy"].threshold > 0.4
    assert found["two_layer_accuracy"].threshold > 0.9
