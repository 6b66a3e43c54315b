"""The student release is generated from source, up to date, and gives nothing away."""

import filecmp

import nbformat
import pytest

from grader.instructor.course_dir import nbgrader, notebook_name
from tests.conftest import LESSONS, ROOT

HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION")


def release_notebook(root, lesson):
    return root / "release" / lesson / f"{notebook_name(root, lesson)}.ipynb"


def test_every_lesson_is_released():
    released = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())
    assert released == LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_is_up_to_date(course, lesson):
    """release/ in the repository equals what nbgrader generates from source/ now."""
    fresh, committed = course.root / "release" / lesson, ROOT / "release" / lesson
    comparison = filecmp.dircmp(fresh, committed, ignore=[".ipynb_checkpoints", "__pycache__"])
    assert comparison.left_only == [] and comparison.right_only == [], (
        f"release/{lesson} is stale: run `make release`")
    for name in comparison.common_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
            f"release/{lesson}/{name} is stale: run `make release`")


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_has_no_solution_or_hidden_text(course, lesson):
    text = release_notebook(course.root, lesson).read_text()
    leaked = [marker for marker in HIDDEN_MARKERS if marker in text]
    assert leaked == []
    nb = nbformat.read(release_notebook(course.root, lesson), as_version=4)
    hidden_calls = [cell.source for cell in nb.cells
                    if f"from grader.checks import {lesson}" in cell.source]
    assert hidden_calls == [], "a hidden check call survived into the release"


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_passes_on_source(course, lesson):
    source = course.root / "source" / lesson / f"{notebook_name(course.root, lesson)}.ipynb"
    result = nbgrader(course.root, "validate", str(source))
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_invert_fails_on_release(course, lesson):
    """`nbgrader validate --invert` succeeds only if no test passes on the released stubs."""
    result = nbgrader(course.root, "validate", "--invert", str(release_notebook(course.root,
                                                                                 lesson)))
    assert "does not pass any tests" in result.stdout, result.stdout
