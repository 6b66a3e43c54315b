"""The autograder judges every lesson as specified, through real nbgrader autograde.

For each lesson: the reference solution gets full marks, the released stub gets zero, and
every catalogued variant loses exactly the test cells it breaks (a correct alternative
loses none) with a failure message that names the problem.
"""

import pytest

from course.instructor.variants import variants_for
from tests.conftest import LESSONS

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
    assert sum(not v.is_correct for v in variants) >= 3, f"{lesson}: fewer than 3 buggy variants"
    assert sum(v.is_correct for v in variants) >= 1, f"{lesson}: no correct alternative"


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
                         [(lesson, v) for lesson, v in VARIANTS if v.diagnosis],
                         ids=[f"{lesson}-{v.name}" for lesson, v in VARIANTS if v.diagnosis])
def test_variant_failure_names_the_problem(course, lesson, variant):
    messages = course.failures(lesson, f"variant-{variant.name}")
    assert any(variant.diagnosis in message for message in messages.values()), messages
