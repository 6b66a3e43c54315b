"""Shared fixtures: a temporary copy of the course, its release, and graded classes.

Grading is the slow part, so each lesson's class (reference solution, untouched stub and
every catalogued variant) is autograded once per test run, on first use, by real
``nbgrader autograde`` in a temporary course folder (grader.instructor.graded_course, the same
path the mutation report and the grading budget use). The suite runs on several pytest-xdist
workers (pyproject.toml); they share these folders, so a class is graded once per run, not
once per worker.
"""

import os
from pathlib import Path

import pytest

from grader.instructor.course_dir import lessons
from grader.instructor.gradebook import CellScore
from grader.instructor.graded_course import GradedCourse, copy_course, exclusive

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lessons(ROOT)


class SharedCourse:
    """Every lesson released in ``root``; each lesson graded in a course folder of its own.

    One folder per lesson, so workers grading different lessons never wait for each other
    (nor share a gradebook).
    """

    def __init__(self, shared: Path):
        self._shared = shared
        self.root = self._folder(shared, "released", LESSONS).release().root
        self._by_lesson: dict[str, GradedCourse] = {}

    @staticmethod
    def _folder(shared: Path, name: str, lesson_ids: list[str]) -> GradedCourse:
        folder = shared / f"course-{name}"
        with exclusive(shared / f"course-{name}.lock"):
            if not folder.exists():
                copy_course(ROOT, folder)
        return GradedCourse(folder, lesson_ids)

    def _graded(self, lesson: str) -> GradedCourse:
        if lesson not in self._by_lesson:
            self._by_lesson[lesson] = self._folder(self._shared, lesson, [lesson])
        return self._by_lesson[lesson]

    def _ready(self, lesson: str) -> GradedCourse:
        """The lesson's folder, graded. While another worker grades it, this one grades a
        lesson nobody has started rather than wait: the classes are graded side by side."""
        wanted = self._graded(lesson)
        while not wanted.grade(lesson, wait=False):
            others = [self._graded(other) for other in LESSONS if other != lesson]
            if not any(other.grade(other.lesson_ids[0], wait=False) for other in others
                       if not other.is_graded(other.lesson_ids[0])):
                wanted.grade(lesson)  # nothing left to start: wait for it
        return wanted

    def root_of(self, lesson: str) -> Path:
        """The course folder where ``lesson`` is handed in and graded."""
        return self._ready(lesson).root

    def scores(self, lesson: str, student: str) -> dict[str, CellScore]:
        return self._ready(lesson).scores(lesson, student)

    def failures(self, lesson: str, student: str) -> dict[str, str]:
        return self._ready(lesson).failures(lesson, student)

    def feedback(self, lesson: str, student: str) -> str:
        return self._ready(lesson).feedback(lesson, student)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> SharedCourse:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a folder of the run's base, which they all share.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return SharedCourse(shared)


# Hidden inputs are drawn from the course secret; the suite fixes one so its verdicts are
# reproducible (tests/test_trust.py checks that another secret draws other inputs).
os.environ.setdefault("COURSE_SECRET", "5eed0f7e57c0de5eed0f7e57c0de0001")
