"""A throwaway copy of the course in which whole classes are autograded by real nbgrader.

The tests (tests/conftest.py), the mutation report and the grading budget all judge
submissions through this one path -- release, hand in, ``nbgrader autograde``,
``nbgrader generate_feedback`` -- so a figure a script prints is a figure the tests assert.

Each lesson's class is: the reference solution (``solution``), the untouched release
(``stub``), the attempts to cheat of ``hostile`` (``hostile-<name>``), every catalogued
variant (``variant-<name>``) and one half-finished submission per solution cell
(``partial-<cell>``: that cell answered, the rest left as released).
"""

import fcntl
import shutil
from contextlib import contextmanager
from pathlib import Path

from grader.instructor.course_dir import generate_release, nbgrader, notebook_name
from grader.instructor.gradebook import CellScore, cell_scores, failure_messages
from grader.instructor.hostile import hostile_submissions
from grader.instructor.submissions import (
    reference_answers,
    solution_code_cells,
    write_submission,
    write_variant_submission,
)
from grader.instructor.variants import Partial, Variant, partial_submissions, variants_for

SOLUTION, STUB = "solution", "stub"


def copy_course(source_root: Path, destination: Path) -> Path:
    """The instructor's view of the course (config and sources), without generated output."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(source_root) / "nbgrader_config.py", destination)
    shutil.copytree(Path(source_root) / "source", destination / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return destination


@contextmanager
def exclusive(lock_file: Path, wait: bool = True):
    """Hold an exclusive lock on ``lock_file`` (created if missing) for the ``with`` block.

    Yields True once the lock is held. With ``wait=False`` it yields False at once, holding
    nothing, when another process has the lock.
    """
    with open(lock_file, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def variant_student(variant: Variant) -> str:
    """The student id under which a variant is handed in."""
    return f"variant-{variant.name}"


def source_notebook(root: Path, lesson: str) -> Path:
    return Path(root) / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"


def partials(root: Path, lesson: str) -> list[Partial]:
    """The lesson's half-finished submissions: one per code solution cell, alone answered."""
    return partial_submissions(lesson, solution_code_cells(source_notebook(root, lesson)))


def roster(root: Path, lesson: str) -> list[str]:
    """Student ids of the lesson's class, in a fixed order: the reference, the stub, the
    cheating attempts, the variants, the half-finished submissions."""
    return ([SOLUTION, STUB] + list(hostile_submissions(root, lesson))
            + [variant_student(variant) for variant in variants_for(lesson)]
            + [partial.student for partial in partials(root, lesson)])


def copy_released(released: Path, destination: Path) -> Path:
    """A copy of a course folder whose lessons are released (``released``: its config,
    sources, release and gradebook), ready to hand in and autograde without releasing again."""
    destination = copy_course(released, destination)
    shutil.copytree(Path(released) / "release", destination / "release")
    shutil.copy(Path(released) / "gradebook.db", destination)
    (destination / ".released").touch()
    return destination


class GradedCourse:
    """A temporary course whose lessons are released, handed in and autograded on demand.

    Grading is the slow part, so each lesson's class is autograded once, on first use, and
    its feedback generated once, on first request. Several processes may share one course
    folder (the test suite's parallel workers): the first to ask grades, under a lock on the
    folder, and leaves a marker file; the others wait for the lock and read what it wrote.
    """

    def __init__(self, root: Path, lesson_ids: list[str],
                 shard: tuple[int, int] | None = None):
        self.root = Path(root)
        self.lesson_ids = lesson_ids
        # (index, count): the folder holds every count-th student of the roster from index
        # on, so that several processes can grade one lesson's class side by side.
        self.shard = shard
        self._graded: set[str] = set()
        self._feedback: set[str] = set()

    def _locked(self, wait: bool = True):
        return exclusive(self.root / ".lock", wait)

    def _release_once(self) -> None:
        """Generate the release of every lesson of the folder, unless done (hold the lock)."""
        released = self.root / ".released"
        if not released.exists():
            generate_release(self.root, self.lesson_ids)
            released.touch()

    def release(self) -> "GradedCourse":
        with self._locked():
            self._release_once()
        return self

    def is_graded(self, lesson: str) -> bool:
        return lesson in self._graded or (self.root / f".graded-{lesson}").exists()

    def students(self, lesson: str) -> list[str]:
        """The lesson's class in this folder: its whole roster, or this folder's shard of it."""
        everyone = roster(self.root, lesson)
        if self.shard is None:
            return everyone
        index, count = self.shard
        return everyone[index::count]

    def hand_in(self, lesson: str) -> list[str]:
        """Write the lesson's class (this folder's students) into ``submitted/``. Returns the
        student ids."""
        students = self.students(lesson)
        reference = reference_answers(source_notebook(self.root, lesson))
        answers: dict[str, dict[str, str] | None] = {SOLUTION: reference, STUB: None}
        answers.update(hostile_submissions(self.root, lesson))
        answers.update({partial.student: {cell: reference[cell] for cell in partial.answered}
                        for partial in partials(self.root, lesson)})
        variants = {variant_student(variant): variant for variant in variants_for(lesson)}
        for student in students:
            if student in variants:
                write_variant_submission(self.root, lesson, student, variants[student])
            else:
                write_submission(self.root, lesson, student, answers[student])
        return students

    def grade(self, lesson: str, wait: bool = True) -> bool:
        """Release, hand in and autograde the lesson's class, unless done.

        Returns True once it is graded; with ``wait=False``, False at once when another
        process is working in this folder.
        """
        if self.is_graded(lesson):  # the marker is written last, under the lock
            self._graded.add(lesson)
            return True
        with self._locked(wait) as held:
            if not held:
                return False
            self._release_once()
            graded = self.root / f".graded-{lesson}"
            if not graded.exists():
                self.hand_in(lesson)
                nbgrader(self.root, "autograde", lesson, "--force")
                graded.touch()
        self._graded.add(lesson)
        return True

    def scores(self, lesson: str, student: str) -> dict[str, CellScore]:
        self.grade(lesson)
        return cell_scores(self.root, lesson, student)

    def failures(self, lesson: str, student: str) -> dict[str, str]:
        """grade_id -> the error message of each failing test cell (the autograded notebook)."""
        self.grade(lesson)
        return failure_messages(self.root, lesson, student)

    def feedback(self, lesson: str, student: str) -> str:
        """The feedback HTML the student receives, from ``nbgrader generate_feedback``."""
        self.grade(lesson)
        generated = self.root / f".feedback-{lesson}"
        if lesson not in self._feedback and not generated.exists():
            with self._locked():
                if not generated.exists():
                    nbgrader(self.root, "generate_feedback", lesson, "--force")
                    generated.touch()
            self._feedback.add(lesson)
        path = (self.root / "feedback" / student / lesson
                / f"{notebook_name(self.root, lesson)}.html")
        return path.read_text(encoding="utf-8")
