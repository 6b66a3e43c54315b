"""The instructor's reporting scripts read the lessons' figures right (fast, no grading).

The scripts themselves grade or train for minutes; here their parsing and verdicts are
checked on the shapes the lessons produce: calibrate() results, hidden test blocks, nbclient
timings, the mutation report's rows.
"""

import nbformat
import pytest

from course.instructor.calibrate import Calibration, calibrations
from course.instructor.grading_budget import Budget, Run, cell_times, strip_hidden_tests
from course.instructor.mutation_report import Row, format_rows


@pytest.mark.parametrize(("result", "expected"), [
    # check name -> figures with a threshold (lessons 2 and 5)
    ({"linear": {"worst": 0.5, "mean": 0.6, "threshold": 0.45, "margin": 0.05}},
     [Calibration("L", "linear", ">=", 0.45, 0.5, 0.05)]),
    ({"xor": {"worst": 1.0, "threshold": 1.0, "margin": 0.0}},
     [Calibration("L", "xor", ">=", 1.0, 1.0, 0.0)]),
    # one flat check without a threshold, with its worst seed (lesson 4)
    ({"worst": 0.95, "worst_seed": 7, "margin": 0.05, "mean": 0.97},
     [Calibration("L", "accuracy", ">=", 0.9, 0.95, 0.05, 7)]),
    # pairs per figure, a loss bounded from above (lesson 3)
    ({"seeds": 50, "worst_loss": 0.04, "worst_accuracy": 0.97, "loss_margin": 0.02,
      "accuracy_margin": 0.02, "grading_seed_loss": 0.03},
     [Calibration("L", "loss", "<=", 0.06, 0.04, 0.02),
      Calibration("L", "accuracy", ">=", 0.95, 0.97, 0.02)]),
])
def test_calibrations_read_every_lesson_shape(result, expected):
    found = calibrations("L", result)
    assert [(c.check, c.bound, c.worst_seed) for c in found] == [
        (c.check, c.bound, c.worst_seed) for c in expected]
    for got, want in zip(found, expected):
        assert got.threshold == pytest.approx(want.threshold)
        assert got.margin == pytest.approx(want.margin)


def test_a_negative_margin_stays_negative():
    [found] = calibrations("L", {"acc": {"worst": 0.8, "threshold": 0.9, "margin": -0.1}})
    assert found.margin == pytest.approx(-0.1) and found.bound == ">="


def test_strip_hidden_tests_keeps_the_visible_check(tmp_path):
    path = tmp_path / "n.ipynb"
    source = ('"""Check: f."""\nassert f(1) == 2\n### BEGIN HIDDEN TESTS\n'
              "from course.checks import lesson9\nlesson9.check_f(f)\n### END HIDDEN TESTS\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    assert strip_hidden_tests(path) == 1
    assert nbformat.read(path, as_version=4).cells[0].source == (
        '"""Check: f."""\nassert f(1) == 2\n')


def test_cell_times_and_hidden_share(tmp_path):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "test_x"}
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000000Z",
                                  "shell.execute_reply": "2026-01-01T00:00:01.500000Z"}
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert cell_times(path) == {"test_x": pytest.approx(1.5)}
    budget = Budget("L", Run(9, 9, {"given": 2.0, "test_x": 1.5}), Run(5, 5, {}),
                    Run(8, 8, {"given": 2.0, "test_x": 0.5}))
    assert budget.hidden == pytest.approx(1.0) and budget.share == pytest.approx(1 / 3.5)
    assert budget.added == pytest.approx(0.4) and budget.over


def _row(student, must_fail, failed, diagnosis="", shown=False):
    return Row("L", student, frozenset(must_fail), frozenset(failed), diagnosis, shown)


@pytest.mark.parametrize(("row", "verdict"), [
    (_row("variant-bug", {"test_a"}, {"test_a"}, "sign", True), None),
    (_row("variant-bug", {"test_a"}, set()), "escapes"),
    (_row("variant-bug", {"test_a"}, {"test_a", "test_b"}), "also fails"),
    (_row("variant-bug", {"test_a"}, {"test_a"}, "sign", False), "lacks the diagnosis"),
    (_row("variant-ok", set(), {"test_b"}), "correct answer loses points"),
    (_row("stub", {"test_a", "test_b"}, {"test_a"}), "escapes"),
])
def test_mutation_report_verdicts(row, verdict):
    assert (row.problem() is None) if verdict is None else verdict in row.problem()


def test_mutation_report_table_numbers_the_cells():
    lines = format_rows([_row("solution", set(), set()),
                         _row("variant-bug", {"test_b"}, {"test_b"}, "x", True)],
                        ["test_a", "test_b"])
    assert lines[0] == "L graded cells: 1 a, 2 b"
    assert lines[-1].split() == ["bug", "2", "2", "yes", "yes", "ok"]
