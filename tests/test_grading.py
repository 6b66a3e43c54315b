"""The autograder judges every lesson as specified, through real nbgrader autograde.

For each lesson: the reference solution gets full marks, the released stub gets zero,
every catalogued variant loses exactly the test cells it breaks (a correct alternative
loses none) with a failure message that names the problem, and a submission with one
solution cell answered earns exactly the test cells built on that cell alone. The catalogue
holds at least 15 bugs and 6 correct alternatives, and every test cell fails for some bug.
"""

import nbformat
import pytest

from grader.instructor.course_dir import generate_release, nbgrader, notebook_name
from grader.instructor.gradebook import cell_scores
from grader.instructor.graded_course import copy_course, partials, source_notebook
from grader.instructor.mutation_report import (
    MIN_BUGS,
    MIN_CORRECT,
    TARGETS,
    figures,
    lesson_rows,
)
from grader.instructor.submissions import write_submission
from grader.instructor.variants import variants_for
from tests.conftest import LESSONS, ROOT

VARIANTS = [(lesson, variant) for lesson in LESSONS for variant in variants_for(lesson)]


def failed_cells(scores):
    return {grade_id for grade_id, cell in scores.items()
            if not cell.needs_manual_grade and cell.score < cell.max_score}


def autograded(scores):
    return {grade_id: cell for grade_id, cell in scores.items() if not cell.needs_manual_grade}


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_gets_full_marks(course, lesson):
    scores = course.scores(lesson, "solution")
    assert scores, f"{lesson}: the solution was not graded"
    assert failed_cells(scores) == set(), course.failures(lesson, "solution")


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_top_to_bottom_without_an_error(course, lesson):
    """The reference as graded (release, answers and hidden tests: the source notebook)
    raises in no cell, graded or not: no plot or experiment cell is broken."""
    root = course.root_of(lesson, "solution")  # the shared class, graded on first use
    graded = nbformat.read(root / "autograded" / "solution" / lesson
                           / f"{notebook_name(root, lesson)}.ipynb", as_version=4)
    errors = [(index, output.get("ename"), output.get("evalue"))
              for index, cell in enumerate(graded.cells) for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert errors == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_stub_scores_zero(course, lesson):
    scores = autograded(course.scores(lesson, "stub"))
    assert scores, f"{lesson}: the stub was not graded"
    earned = {grade_id: cell.score for grade_id, cell in scores.items() if cell.score > 0}
    assert earned == {}, f"{lesson}: the untouched stub earns points in {earned}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_test_cell_carries_points(course, lesson):
    scores = course.scores(lesson, "solution")
    pointless = [grade_id for grade_id, cell in scores.items() if cell.max_score <= 0]
    assert pointless == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_catalogue_has_bugs_and_correct_alternatives(lesson):
    variants = variants_for(lesson)
    bugs = sum(not v.is_correct for v in variants)
    assert bugs >= MIN_BUGS, f"{lesson}: {bugs} buggy variants, at least {MIN_BUGS} wanted"
    correct = len(variants) - bugs
    assert correct >= MIN_CORRECT, (
        f"{lesson}: {correct} correct alternatives, at least {MIN_CORRECT} wanted")


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_check_fails_on_some_bug(lesson):
    """A check no buggy variant fails is untested: it might not be able to fail at all."""
    variants = variants_for(lesson)
    nb = nbformat.read(source_notebook(ROOT, lesson), as_version=4)
    test_cells = {cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
                  if cell.metadata.get("nbgrader", {}).get("grade")
                  and not cell.metadata["nbgrader"].get("solution")}
    unbroken = sorted(test_cells - set().union(*(v.loses for v in variants)))
    assert unbroken == [], f"{lesson}: no buggy variant fails {unbroken}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_mutation_report_finds_no_problems(course, lesson):
    """The report's verdicts (python -m grader.instructor.mutation_report) on the same grades."""
    problems = [f"{row.student}: {row.problem()}" for row in lesson_rows(course, lesson)
                if row.problem()]
    assert problems == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_figures_reach_their_targets(course, lesson):
    """Sensitivity, specificity and partial-credit exactness 100%, diagnosis rate >= 90%."""
    rows = lesson_rows(course, lesson)
    for name, (met, total) in figures(rows).items():
        assert total > 0 and met / total >= TARGETS[name], (
            f"{lesson}: {name} {met}/{total}",
            [(row.student, row.problem()) for row in rows if row.problem()])


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_solution_cell_earns_its_points_alone(course, lesson):
    """With every other solution cell left as released, a finished cell earns exactly the
    test cells that need it alone, and nothing else."""
    tests = {grade_id for grade_id, cell in course.scores(lesson, "solution").items()
             if not cell.needs_manual_grade}
    for partial in partials(course.root, lesson):
        scores = course.scores(lesson, partial.student)
        assert tests - failed_cells(scores) == set(partial.earns), (
            partial.student, course.failures(lesson, partial.student))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_bug_says_what_is_wrong(lesson):
    """Each catalogued bug carries the text its feedback must show: a diagnosis, or at least
    where the error is."""
    silent = [v.name for v in variants_for(lesson) if not v.is_correct and not v.message]
    assert silent == []


@pytest.mark.parametrize(("lesson", "variant"), VARIANTS,
                         ids=[f"{lesson}-{variant.name}" for lesson, variant in VARIANTS])
def test_variant_loses_exactly_its_part(course, lesson, variant):
    student = f"variant-{variant.name}"
    scores = course.scores(lesson, student)
    assert scores, f"{lesson}: {student} was not graded"
    unknown = variant.loses - set(scores)
    assert not unknown, f"variant names test cells the lesson does not have: {unknown}"
    assert failed_cells(scores) == set(variant.loses), course.failures(lesson, student)


@pytest.mark.parametrize(("lesson", "variant"),
                         [(lesson, v) for lesson, v in VARIANTS if v.message],
                         ids=[f"{lesson}-{v.name}" for lesson, v in VARIANTS if v.message])
def test_variant_failure_names_the_problem(course, lesson, variant):
    messages = course.failures(lesson, f"variant-{variant.name}")
    assert any(variant.message in message for message in messages.values()), messages


def test_stub_with_test_cells_tagged_skip_execution_still_scores_zero(tmp_path):
    """nbclient skips cells tagged ``skip-execution``; stock ``nbgrader autograde`` would then
    give a check it never ran full marks. nbgrader_config.py turns that tag off."""
    root = copy_course(ROOT, tmp_path / "course")
    generate_release(root, ["lesson1"])
    notebook = write_submission(root, "lesson1", "tagger", None) / "chain_rule.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    tagged = 0
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["tags"] = ["skip-execution"]
            tagged += 1
    nbformat.write(nb, notebook)
    nbgrader(root, "autograde", "lesson1")
    scores = cell_scores(root, "lesson1", "tagger")
    assert len(scores) == tagged and sum(s.score for s in scores.values()) == 0
