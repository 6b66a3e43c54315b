"""Shared fixtures: a temporary copy of the course, its release, and graded classes.

Grading is the slow part, so each lesson's class (reference solution, untouched stub and
every catalogued variant) is autograded once per test run, on first use, by real
``nbgrader autograde`` in temporary course folders (grader.instructor.graded_course, the same
path the mutation report and the grading budget use). The suite runs on several pytest-xdist
workers (pyproject.toml); they share these folders, so a class is graded once per run, not
once per worker, and in shards, so that the workers share the grading of a class.
"""

import os
from pathlib import Path

import pytest

from grader.instructor.course_dir import lessons
from grader.instructor.gradebook import CellScore
from grader.instructor.graded_course import (
    GradedCourse,
    copy_course,
    copy_released,
    exclusive,
)

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lessons(ROOT)


# Shards per lesson: a lesson's class is graded in this many folders, each holding every
# n-th student, so that the workers grade one lesson side by side instead of one waiting for
# the other. Lesson 5's notebook runs longest (its experiments train for seconds).
SHARDS = {"lesson5": 4}
DEFAULT_SHARDS = 2
# The lessons the selected tests are about (pytest_collection_modifyitems): a worker with
# nothing to do grades only shards that some test will read.
SELECTED: list[str] = list(LESSONS)


class SharedCourse:
    """Every lesson released in ``root``; each lesson's class graded in shards, each shard a
    course folder of its own (copied from ``root``, so nothing is released twice).

    Workers grading different shards never wait for each other nor share a gradebook.
    """

    def __init__(self, shared: Path):
        self._shared = shared
        released = shared / "course-released"
        with exclusive(shared / "course-released.lock"):
            if not released.exists():
                copy_course(ROOT, released)
        self.root = GradedCourse(released, LESSONS).release().root
        self._shards: dict[str, list[GradedCourse]] = {}
        self._shard_of: dict[tuple[str, str], GradedCourse] = {}

    def shards(self, lesson: str) -> list[GradedCourse]:
        if lesson not in self._shards:
            count = SHARDS.get(lesson, DEFAULT_SHARDS)
            self._shards[lesson] = [self._shard(lesson, index, count) for index in range(count)]
        return self._shards[lesson]

    def _shard(self, lesson: str, index: int, count: int) -> GradedCourse:
        folder = self._shared / f"course-{lesson}-{index}"
        with exclusive(self._shared / f"course-{lesson}-{index}.lock"):
            if not folder.exists():
                copy_released(self.root, folder)
        return GradedCourse(folder, [lesson], shard=(index, count))

    def _ready(self, lesson: str, student: str) -> GradedCourse:
        """The graded shard that holds the student. While another worker grades it, this one
        grades a shard nobody has started (of this lesson first) rather than wait."""
        if (lesson, student) not in self._shard_of:
            for shard in self.shards(lesson):
                self._shard_of.update({(lesson, s): shard for s in shard.students(lesson)})
        wanted = self._shard_of[(lesson, student)]
        while not wanted.grade(lesson, wait=False):
            others = [shard for other in [lesson] + [o for o in SELECTED if o != lesson]
                      for shard in self.shards(other)
                      if shard is not wanted and not shard.is_graded(other)]
            if not any(shard.grade(shard.lesson_ids[0], wait=False) for shard in others):
                wanted.grade(lesson)  # nothing left to start: wait for it
        return wanted

    def root_of(self, lesson: str, student: str) -> Path:
        """The course folder where the student's ``lesson`` is handed in and graded."""
        return self._ready(lesson, student).root

    def scores(self, lesson: str, student: str) -> dict[str, CellScore]:
        return self._ready(lesson, student).scores(lesson, student)

    def failures(self, lesson: str, student: str) -> dict[str, str]:
        return self._ready(lesson, student).failures(lesson, student)

    def feedback(self, lesson: str, student: str) -> str:
        return self._ready(lesson, student).feedback(lesson, student)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> SharedCourse:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a folder of the run's base, which they all share.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return SharedCourse(shared)


# Hidden inputs are drawn from the course secret; the suite fixes one so its verdicts are
# reproducible (tests/test_trust.py checks that another secret draws other inputs).
os.environ.setdefault("COURSE_SECRET", "5eed0f7e57c0de5eed0f7e57c0de0001")


@pytest.hookimpl(optionalhook=True)  # xdist's hook: `-p no:xdist` runs without it
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores this process may use. A worker often
    waits (for a kernel, a shared class another worker grades, a browser), and the spare
    one keeps the cores busy meanwhile (measured on 2 cores: 15:54 with 2 workers, 14:56
    with 3). PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    from grader.instructor.cluster import local_workers  # imported only by the controller
    return local_workers(None) + 1


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(items):
    chosen = {item.callspec.params.get("lesson") for item in items
              if hasattr(item, "callspec")}
    SELECTED[:] = [lesson for lesson in LESSONS if lesson in chosen]
