"""``python -m grader.instructor.mutation_report [LESSON ...]``: is every mutant caught?

Grades each lesson's class (reference solution, untouched stub, every catalogued variant;
grader.instructor.variants) with real ``nbgrader autograde`` in a temporary copy of the
course -- the path tests/conftest.py uses -- generates the feedback, and prints one row per
submission: the cells that must fail, the cells that did, whether the mutant was caught and
whether its feedback shows the catalogued diagnosis. Below the table: catalogue gaps (fewer
than 8 bugs or 3 correct alternatives, test cells no bug breaks).

Exit status 1 if any mutant escapes or fails cells it should not, a correct answer loses
points, a diagnosis is not shown, or a catalogue has a gap; the tests assert the same facts.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.instructor.course_dir import lessons
from grader.instructor.feedback import feedback_text, squash
from grader.instructor.graded_course import (
    SOLUTION,
    STUB,
    GradedCourse,
    copy_course,
    source_notebook,
    variant_student,
)
from grader.instructor.tables import aligned
from grader.instructor.variants import variants_for

ROOT = Path(__file__).resolve().parents[2]
MIN_BUGS, MIN_CORRECT = 8, 3


@dataclass(frozen=True)
class Row:
    """How one submission of a lesson's class fared against what the catalogue says."""

    lesson: str
    student: str
    must_fail: frozenset[str]
    failed: frozenset[str]
    diagnosis: str = ""
    diagnosis_shown: bool = False

    @property
    def is_bug(self) -> bool:
        return bool(self.must_fail) and self.student != STUB

    @property
    def caught(self) -> bool:
        """Every cell the answer breaks lost points."""
        return self.must_fail <= self.failed

    def problem(self) -> str | None:
        """What is wrong with the autograder's verdict on this submission, if anything."""
        if not self.must_fail and self.failed:
            return f"a correct answer loses points in {sorted(self.failed)}"
        if not self.caught:
            return f"escapes: {sorted(self.must_fail - self.failed)} did not fail"
        if self.failed - self.must_fail:
            return f"also fails {sorted(self.failed - self.must_fail)}"
        if self.diagnosis and not self.diagnosis_shown:
            return f"feedback lacks the diagnosis {self.diagnosis!r}"
        return None


def failed_cells(course: GradedCourse, lesson: str, student: str) -> frozenset[str]:
    return frozenset(grade_id for grade_id, cell in course.scores(lesson, student).items()
                     if not cell.needs_manual_grade and cell.score < cell.max_score)


def autograded_cells(course: GradedCourse, lesson: str, student: str = SOLUTION,
                     ) -> frozenset[str]:
    """Cells nbgrader scored by itself for this student.

    For the stub that includes the written answers, which nbgrader scores 0 when they are
    left blank instead of passing them to a human grader.
    """
    return frozenset(grade_id for grade_id, cell in course.scores(lesson, student).items()
                     if not cell.needs_manual_grade)


def lesson_rows(course: GradedCourse, lesson: str) -> list[Row]:
    """Grade (once) and judge the lesson's whole class: solution, stub, then variants."""
    if not course.scores(lesson, SOLUTION):
        raise RuntimeError(f"{lesson}: the reference solution was not graded")
    rows = [Row(lesson, SOLUTION, frozenset(), failed_cells(course, lesson, SOLUTION)),
            Row(lesson, STUB, autograded_cells(course, lesson, STUB),
                failed_cells(course, lesson, STUB))]
    for variant in variants_for(lesson):
        student = variant_student(variant)
        shown = bool(variant.diagnosis) and (
            squash(variant.diagnosis) in feedback_text(course.feedback(lesson, student)))
        rows.append(Row(lesson, student, frozenset(variant.loses),
                        failed_cells(course, lesson, student), variant.diagnosis, shown))
    return rows


def catalogue_gaps(lesson: str, test_cells: frozenset[str]) -> list[str]:
    """Where a lesson's catalogue falls short of the course's rules (see test_grading.py)."""
    variants = variants_for(lesson)
    if not variants:
        return [f"{lesson}: no variants catalogue (course/instructor/variants/{lesson}.py)"]
    gaps = []
    bugs = [v for v in variants if not v.is_correct]
    if len(bugs) < MIN_BUGS:
        gaps.append(f"{lesson}: {len(bugs)} buggy variants, at least {MIN_BUGS} wanted")
    if len(variants) - len(bugs) < MIN_CORRECT:
        gaps.append(f"{lesson}: {len(variants) - len(bugs)} correct alternatives, "
                    f"at least {MIN_CORRECT} wanted")
    unbroken = sorted(test_cells - frozenset().union(*(v.loses for v in bugs)))
    if unbroken:
        gaps.append(f"{lesson}: no buggy variant fails {unbroken}: can these checks fail?")
    return gaps


def test_cell_order(lesson: str) -> list[str]:
    """The lesson's graded cells in notebook order (the numbering of the table)."""
    nb = nbformat.read(source_notebook(ROOT, lesson), as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade")]


def _cells(cells: frozenset[str], numbers: dict[str, int]) -> str:
    """Cells as their numbers in the legend, e.g. "2 5 7"; "-" for none."""
    return " ".join(str(n) for n in sorted(numbers[c] for c in cells)) or "-"


def format_rows(rows: list[Row], order: list[str]) -> list[str]:
    """A legend numbering the graded cells, then the table, one line per submission."""
    numbers = {grade_id: i for i, grade_id in enumerate(order, start=1)}
    for row in rows:  # a cell the notebook lost would otherwise have no number
        for grade_id in sorted((row.must_fail | row.failed) - set(numbers)):
            numbers[grade_id] = len(numbers) + 1
    legend = [f"{rows[0].lesson} graded cells: " + ", ".join(
        f"{n} {grade_id.removeprefix('test_')}" for grade_id, n in numbers.items())]
    header = ("submission", "must fail", "failed", "caught", "diagnosis", "verdict")
    table = [header]
    for row in rows:
        caught = ("yes" if row.caught else "NO") if row.is_bug else "-"
        diagnosis = ("yes" if row.diagnosis_shown else "NO") if row.diagnosis else "-"
        table.append((row.student.removeprefix("variant-"), _cells(row.must_fail, numbers),
                      _cells(row.failed, numbers), caught, diagnosis, row.problem() or "ok"))
    return legend + aligned(table)


def report(course: GradedCourse, lesson_ids: list[str]) -> list[str]:
    """Print the table and the gaps of the given lessons; return every problem found."""
    problems = []
    for lesson in lesson_ids:
        started = time.perf_counter()
        rows = lesson_rows(course, lesson)
        every = autograded_cells(course, lesson)
        print("\n".join(format_rows(rows, test_cell_order(lesson))))
        bugs = [row for row in rows if row.is_bug]
        print(f"{lesson}: {sum(r.caught for r in bugs)}/{len(bugs)} mutants caught, "
              f"graded in {time.perf_counter() - started:.0f} s\n", flush=True)
        problems += [f"{row.lesson} {row.student}: {row.problem()}" for row in rows
                     if row.problem()]
        problems += catalogue_gaps(lesson, every)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--keep", type=Path, help="grade in this new folder and keep it")
    args = parser.parse_args(argv)
    lesson_ids = args.lessons or lessons(ROOT)
    with tempfile.TemporaryDirectory(prefix="mutation-report-") as scratch:
        root = copy_course(ROOT, args.keep or Path(scratch) / "course")
        print(f"grading {', '.join(lesson_ids)} in {root}\n", flush=True)
        problems = report(GradedCourse(root, lesson_ids), lesson_ids)
    print("problems:" if problems else "no problems: every mutant caught, every correct "
          "answer at full marks")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
