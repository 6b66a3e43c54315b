"""Shared fixtures: a temporary copy of the course, its release, and graded classes.

Grading is the slow part, so each lesson's class (reference solution, untouched stub and
every catalogued variant) is autograded once per test session, on first use, by real
``nbgrader autograde`` in a temporary course folder.
"""

import shutil
from pathlib import Path

import pytest

from course.instructor.course_dir import generate_release, lessons, nbgrader, notebook_name
from course.instructor.gradebook import cell_scores, failure_messages
from course.instructor.submissions import (
    reference_answers,
    write_submission,
    write_variant_submission,
)
from course.instructor.variants import variants_for

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lessons(ROOT)


def copy_course(destination: Path) -> Path:
    """The instructor's view of the course (config and sources), without generated output."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", destination)
    shutil.copytree(ROOT / "source", destination / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return destination


class GradedCourse:
    """A temporary course whose lessons are released, handed in and autograded on demand."""

    def __init__(self, root: Path):
        self.root = root
        self._graded: set[str] = set()
        generate_release(root, LESSONS)

    def grade(self, lesson: str) -> None:
        if lesson in self._graded:
            return
        source = self.root / "source" / lesson / f"{notebook_name(self.root, lesson)}.ipynb"
        write_submission(self.root, lesson, "solution", reference_answers(source))
        write_submission(self.root, lesson, "stub", None)
        for variant in variants_for(lesson):
            write_variant_submission(self.root, lesson, f"variant-{variant.name}", variant)
        nbgrader(self.root, "autograde", lesson, "--force")
        self._graded.add(lesson)

    def scores(self, lesson: str, student: str):
        self.grade(lesson)
        return cell_scores(self.root, lesson, student)

    def failures(self, lesson: str, student: str) -> dict[str, str]:
        self.grade(lesson)
        return failure_messages(self.root, lesson, student)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> GradedCourse:
    return GradedCourse(copy_course(tmp_path_factory.mktemp("course")))
