"""Shared fixtures: a temporary copy of the course, its release, and graded classes.

Grading is the slow part, so each lesson's class (reference solution, untouched stub and
every catalogued variant) is autograded once per test session, on first use, by real
``nbgrader autograde`` in a temporary course folder (grader.instructor.graded_course, the same
path the mutation report and the grading budget use).
"""

import os
from pathlib import Path

import pytest

from grader.instructor.course_dir import lessons
from grader.instructor.graded_course import GradedCourse, copy_course

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lessons(ROOT)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> GradedCourse:
    return GradedCourse(copy_course(ROOT, tmp_path_factory.mktemp("course")), LESSONS)


# Hidden inputs are drawn from the course secret; the suite fixes one so its verdicts are
# reproducible (tests/test_trust.py checks that another secret draws other inputs).
os.environ.setdefault("COURSE_SECRET", "5eed0f7e57c0de5eed0f7e57c0de0001")
