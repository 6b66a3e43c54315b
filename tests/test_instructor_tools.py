"""The instructor's reporting scripts read the lessons' figures right (fast, no grading).

The scripts themselves grade or train for minutes; here their parsing and verdicts are
checked on small hand-made inputs: calibration margins, hidden test blocks, nbclient
timings, the mutation report's rows.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.dbutil import _temp_alembic_ini
from sqlalchemy import text

from grader.checks.common import Calibration
from grader.instructor.calibrate import format_table
from grader.instructor.gradebook import export_grades, nbgrader_schema_revision
from grader.instructor.graded_course import exclusive
from grader.instructor.grading_budget import Budget, Run, cell_times, strip_hidden_tests
from grader.instructor.mutation_report import Row, figure_shortfalls, figures, format_rows


def test_calibration_of_an_accuracy_takes_the_lowest_seed():
    found = Calibration.over("acc", {0: 0.97, 1: 0.93, "grading": 0.95}, threshold=0.9)
    assert (found.worst, found.worst_seed) == (0.93, 1)
    assert found.margin == pytest.approx(0.03) and found.mean == pytest.approx(0.95)


def test_calibration_of_a_loss_takes_the_highest_seed():
    found = Calibration.over("loss", {0: 0.01, 1: 0.07}, threshold=0.05, upper_bound=True)
    assert (found.worst, found.worst_seed) == (0.07, 1)
    assert found.margin == pytest.approx(-0.02), "a failing seed gives a negative margin"


def test_calibration_table_marks_failures():
    lines = format_table([("L", Calibration.over("acc", {3: 0.8}, 0.9))])
    assert lines[1].split() == ["L", "acc", ">=", "0.9", "0.8", "(3)", "0.8", "-0.1", "FAILS"]


def test_strip_hidden_tests_keeps_the_visible_check(tmp_path):
    path = tmp_path / "n.ipynb"
    source = ('"""Check: f."""\nassert f(1) == 2\n### BEGIN HIDDEN TESTS\n'
              "from grader.checks import lesson9\nlesson9.check_f(f)\n### END HIDDEN TESTS\n")
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


def _row(student, must_fail, failed, message="", shown=False, kind="bug", names=True):
    return Row("L", student, kind, frozenset(must_fail), frozenset(failed), message, shown,
               names)


@pytest.mark.parametrize(("row", "verdict"), [
    (_row("variant-bug", {"test_a"}, {"test_a"}, "sign", True), None),
    (_row("variant-bug", {"test_a"}, set()), "escapes"),
    (_row("variant-bug", {"test_a"}, {"test_a", "test_b"}, "sign", True), "also fails"),
    (_row("variant-bug", {"test_a"}, {"test_a"}, "sign", False), "feedback lacks 'sign'"),
    (_row("variant-bug", {"test_a"}, {"test_a"}), "no diagnosis or location"),
    (_row("variant-ok", set(), {"test_b"}, kind="correct"), "correct answer loses points"),
    (_row("stub", {"test_a", "test_b"}, {"test_a"}, kind="stub"), "escapes"),
    (_row("partial-x", {"test_b"}, {"test_a", "test_b"}, kind="partial"), "loses ['test_a']"),
    (_row("partial-x", {"test_a", "test_b"}, {"test_a"}, kind="partial"), "earns ['test_b']"),
])
def test_mutation_report_verdicts(row, verdict):
    assert (row.problem() is None) if verdict is None else verdict in row.problem()


def test_mutation_report_figures_count_what_each_names():
    rows = [_row("solution", set(), set(), kind="solution"),
            _row("variant-a", {"test_a"}, {"test_a"}, "sign", True),
            _row("variant-b", {"test_a"}, {"test_a"}, "dW1: relative", True, names=False),
            _row("variant-c", {"test_b"}, set(), "scale", False),
            _row("variant-ok", set(), {"test_b"}, kind="correct"),
            _row("partial-x", {"test_b"}, {"test_b"}, kind="partial")]
    assert figures(rows) == {"sensitivity": (2, 3), "specificity": (1, 2),
                             "partial-credit exactness": (1, 1), "diagnosis rate": (1, 3)}
    short = figure_shortfalls("L", rows)
    assert [line.split(":")[1].split()[0] for line in short] == [
        "sensitivity", "specificity", "diagnosis"]


def test_mutation_report_table_numbers_the_cells():
    lines = format_rows([_row("solution", set(), set(), kind="solution"),
                         _row("variant-bug", {"test_b"}, {"test_b"}, "x", True)],
                        ["test_a", "test_b"])
    assert lines[0] == "L graded cells: 1 a, 2 b"
    assert lines[-1].split() == ["bug", "bug", "2", "2", "names", "it", "ok"]


def test_mutation_report_refuses_to_keep_into_an_existing_folder(tmp_path, capsys):
    """A folder graded before would lend its stale verdicts to the new report."""
    from grader.instructor.mutation_report import main
    with pytest.raises(SystemExit) as stopped:
        main(["lesson1", "--keep", str(tmp_path)])
    assert stopped.value.code == 2
    assert f"--keep {tmp_path}: the folder exists" in capsys.readouterr().err


def test_a_new_gradebook_is_stamped_with_nbgraders_schema_revision(tmp_path):
    """Read in-process (gradebook.nbgrader_schema_revision), as `alembic heads` answers."""
    alembic = Path(sys.executable).parent / "alembic"
    with _temp_alembic_ini("sqlite://") as ini:
        heads = subprocess.run([str(alembic), "-c", ini, "heads"], capture_output=True,
                               text=True, check=True, env=os.environ).stdout
    assert heads.split()[0] == nbgrader_schema_revision()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        stamped = gradebook.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert stamped == nbgrader_schema_revision()


def test_a_lock_held_elsewhere_is_reported_at_once_without_waiting(tmp_path):
    """graded_course.exclusive(wait=False): a worker learns another holds a class's folder."""
    lock = tmp_path / ".lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from grader.instructor.graded_course import exclusive\n"
         f"with exclusive({str(lock)!r}):\n"
         "    print('held', flush=True)\n"
         "    sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with exclusive(lock, wait=False) as held:
            assert held is False
    finally:
        holder.communicate("\n", timeout=30)
    with exclusive(lock, wait=False) as held:
        assert held is True


def test_a_relative_export_path_of_the_config_is_taken_in_the_course_folder(tmp_path,
                                                                            monkeypatch):
    """As ``nbgrader export`` run in the course folder would: not where grading was started."""
    root = tmp_path / "course"
    (root / "exports").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "backprop"\n'
        'c.ExportPlugin.to = "exports/grades.csv"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    written = export_grades(root)
    assert written == root / "exports" / "grades.csv"
    assert written.read_text().startswith("assignment,")
    assert list(elsewhere.iterdir()) == []
