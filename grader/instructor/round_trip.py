"""nbgrader's whole round trip on one machine, as a course on a shared hub runs it.

``python -m grader.instructor.round_trip [--keep DIR]`` (``make round-trip``) copies the
course to a temporary folder beside an empty exchange folder and three simulated students'
homes, then runs the real commands in order:

1. instructor: ``nbgrader release_assignment``;
2. alice, bob and carol: ``nbgrader fetch_assignment`` (each in their home, as their user
   name); alice submits a buggy answer and then a fixed one, bob submits after the due date,
   carol never submits;
3. instructor: ``collect`` (this course's, which checks the exchange's evidence), then
   ``grade_class`` and ``nbgrader release_feedback``;
4. students: ``nbgrader fetch_feedback``.

It prints the grade table: submissions, collected time, lateness, penalty and score.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.instructor import collect, grade_class
from grader.instructor.course_dir import course_id, generate_release, notebook_name
from grader.instructor.gradebook import gradebook_url
from grader.instructor.graded_course import copy_course, source_notebook
from grader.instructor.submissions import apply_variant, fill_answers, reference_answers
from grader.instructor.tables import aligned
from grader.instructor.variants import variants_for

LESSON = "lesson1"
STUDENTS = ("alice", "bob", "carol")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    """One student's line of the grade table."""

    student: str
    submissions: int
    submitted: str
    seconds_late: float
    penalty: float
    score: float | None
    max_score: float


def nbgrader_as(student: str | None, cwd: Path, *args: str, exchange: Path,
                course: str) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``cwd`` as the instructor (student None) or as a simulated
    student: on a hub the exchange takes the student id from the account; here it is given
    (``--student``), with the student's own home (so their own nbgrader cache)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "nbgrader", *args, f"--Exchange.root={exchange}",
               f"--CourseDirectory.course_id={course}"]
    if student is not None:
        env["HOME"] = str(cwd)
        command.append(f"--student={student}")
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed for {student or 'instructor'}:"
                           f"\n{result.stderr[-2000:]}")
    return result


def set_due_date(root: Path, lesson: str, due: datetime) -> None:
    """Give the lesson a due date in the course's config (the course's policy applies)."""
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.LatePenalty.due_dates = {{**c.LatePenalty.due_dates, "
                     f"{lesson!r}: {due.strftime('%Y-%m-%d %H:%M:%S.%f UTC')!r}}}\n")


def fetched_notebook(home: Path, root: Path, lesson: str) -> Path:
    return home / lesson / f"{notebook_name(root, lesson)}.ipynb"


def grade_rows(root: Path, lesson: str, students: tuple[str, ...]) -> list[Row]:
    collected = collect.load(root, lesson)
    rows = []
    with Gradebook(gradebook_url(root), course_id(root)) as gradebook:
        maximum = gradebook.find_assignment(lesson).max_score
        for student in students:
            got = collected.get(student)
            try:
                submission = gradebook.find_submission(lesson, student)
                penalty = submission.late_submission_penalty or 0.0
                score = max(0.0, submission.score - penalty)  # as nbgrader export does
            except MissingEntry:
                score, penalty = None, 0.0
            rows.append(Row(student, got.submissions if got else 0,
                            got.time if got and got.time else "-",
                            got.seconds_late if got else 0.0, penalty, score, maximum))
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("student", "submissions", "collected submission", "late by", "penalty", "score")
    lines = [(r.student, str(r.submissions), r.submitted,
              f"{r.seconds_late:.0f} s" if r.seconds_late else "-",
              f"{r.penalty:g}" if r.penalty else "-",
              f"{r.score:g} / {r.max_score:g}" if r.score is not None else "not submitted")
             for r in rows]
    print("\n".join(aligned([header, *lines])))


def round_trip(workdir: Path, lesson: str = LESSON, settings: grade_class.Settings | None = None,
               ) -> tuple[Path, Path, list[Row]]:
    """Run the round trip in ``workdir``; returns the course root, the students' homes and
    the grade table."""
    root = copy_course(ROOT, workdir / "course")
    exchange, homes = workdir / "exchange", workdir / "home"
    exchange.mkdir(mode=0o777)
    course = course_id(root)
    generate_release(root, [lesson])
    nbgrader_as(None, root, "release_assignment", lesson, "--force", exchange=exchange,
                course=course)
    for student in STUDENTS:
        (homes / student).mkdir(parents=True)
        nbgrader_as(student, homes / student, "fetch_assignment", lesson, exchange=exchange,
                    course=course)
    reference = reference_answers(source_notebook(root, lesson))
    buggy = apply_variant(reference, next(v for v in variants_for(lesson) if not v.is_correct))

    def submit(student: str, answers: dict) -> None:
        fill_answers(fetched_notebook(homes / student, root, lesson), answers)
        nbgrader_as(student, homes / student, "submit", lesson, exchange=exchange,
                    course=course)

    submit("alice", buggy)
    time.sleep(1.1)  # nbgrader's submission times are to the microsecond; keep them apart
    submit("alice", reference)
    time.sleep(1.1)
    set_due_date(root, lesson, datetime.now(UTC))
    time.sleep(1.1)
    submit("bob", buggy)

    collect.collect(root, lesson, exchange)
    grade_class.run(root, [lesson], settings or grade_class.Settings(), progress=False)
    nbgrader_as(None, root, "release_feedback", lesson, exchange=exchange, course=course)
    for student in STUDENTS:
        nbgrader_as(student, homes / student, "fetch_feedback", lesson, exchange=exchange,
                    course=course)
    return root, homes, grade_rows(root, lesson, STUDENTS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this (new) folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True)
        _, _, rows = round_trip(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="round-trip-") as folder:
            _, _, rows = round_trip(Path(folder))
    print()
    print_table(rows)
    if not args.keep:
        print("\n(--keep DIR keeps the course, the exchange and the students' homes to look at)")


if __name__ == "__main__":
    main()
