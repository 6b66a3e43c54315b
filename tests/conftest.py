"""Shared fixtures: a temporary copy of the course, its release, and graded classes.

Grading is the slow part, so each lesson's class (reference solution, untouched stub and
every catalogued variant) is autograded once per test session, on first use, by real
``nbgrader autograde`` in a temporary course folder (course.instructor.sandbox, the same
path the mutation report and the grading budget use).
"""

from pathlib import Path

import pytest

from course.instructor.course_dir import lessons
from course.instructor.sandbox import GradedCourse, copy_course

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lessons(ROOT)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> GradedCourse:
    return GradedCourse(copy_course(ROOT, tmp_path_factory.mktemp("course")), LESSONS)
