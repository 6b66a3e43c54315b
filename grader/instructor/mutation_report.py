"""``python -m grader.instructor.mutation_report [LESSON ...]``: does the autograder judge
every catalogued answer right?

Grades each lesson's class (reference solution, untouched stub, every catalogued variant of
grader.instructor.variants, one half-finished submission per solution cell) with real
``nbgrader autograde`` in a temporary copy of the course -- the path tests/conftest.py uses --
generates the feedback, and prints one row per submission: the cells that must fail, the
cells that did, and whether the feedback names the mistake. Below each table, the lesson's
figures:

- sensitivity: bugs that lose every cell they break;
- specificity: correct answers (the reference and each correct alternative) at full marks;
- partial-credit exactness: half-finished submissions that earn exactly the cells of their
  finished parts;
- diagnosis rate: bugs whose feedback names the kind of mistake (not only which quantity).

Exit status 1 if a figure is short of its target (100%, 100%, 100%, 90%), a catalogue has a
gap, or any submission is judged otherwise than the catalogue says; the tests assert the same.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.instructor.course_dir import lessons
from grader.instructor.graded_course import (
    SOLUTION,
    STUB,
    GradedCourse,
    copy_course,
    partials,
    source_notebook,
    variant_student,
)
from grader.instructor.tables import aligned
from grader.instructor.variants import requirements_for, variants_for

ROOT = Path(__file__).resolve().parents[2]
MIN_BUGS, MIN_CORRECT = 15, 6
TARGETS = {"sensitivity": 1.0, "specificity": 1.0, "partial-credit exactness": 1.0,
           "diagnosis rate": 0.9}


@dataclass(frozen=True)
class Row:
    """How one submission of a lesson's class fared against what the catalogue says.

    kind: "solution", "stub", "bug", "correct" or "partial".
    must_fail: the cells the catalogue says must fail (for a partial: all it did not earn).
    message: text the feedback must show (a bug's diagnosis, else where it is wrong).
    names_mistake: the message is a diagnosis of the kind of mistake.
    """

    lesson: str
    student: str
    kind: str
    must_fail: frozenset[str]
    failed: frozenset[str]
    message: str = ""
    message_shown: bool = False
    names_mistake: bool = False

    @property
    def caught(self) -> bool:
        """Every cell the answer breaks lost points."""
        return self.must_fail <= self.failed

    @property
    def judged_right(self) -> bool:
        """Exactly the cells the catalogue names failed."""
        return self.failed == self.must_fail

    @property
    def diagnosed(self) -> bool:
        return self.names_mistake and self.message_shown

    def problem(self) -> str | None:
        """What is wrong with the autograder's verdict on this submission, if anything."""
        if self.kind == "partial" and not self.judged_right:
            return (f"half-finished: earns {sorted(self.must_fail - self.failed) or 'nothing'}"
                    f" it should not, loses {sorted(self.failed - self.must_fail) or 'nothing'}"
                    " it should not")
        if not self.must_fail and self.failed:
            return f"a correct answer loses points in {sorted(self.failed)}"
        if not self.caught:
            return f"escapes: {sorted(self.must_fail - self.failed)} did not fail"
        if self.failed - self.must_fail:
            return f"also fails {sorted(self.failed - self.must_fail)}"
        if self.kind == "bug" and not self.message:
            return "the catalogue gives no diagnosis or location for this bug"
        if self.message and not self.message_shown:
            return f"feedback lacks {self.message!r}"
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
    """Grade (once) and judge the lesson's whole class: solution, stub, variants, partials."""
    if not course.scores(lesson, SOLUTION):
        raise RuntimeError(f"{lesson}: the reference solution was not graded")
    rows = [Row(lesson, SOLUTION, "solution", frozenset(),
                failed_cells(course, lesson, SOLUTION)),
            Row(lesson, STUB, "stub", autograded_cells(course, lesson, STUB),
                failed_cells(course, lesson, STUB))]
    for variant in variants_for(lesson):
        student = variant_student(variant)
        # In a failing cell's message, not anywhere on the page: the cell's own source (shown
        # in the feedback too) may contain the words without any check having said them.
        shown = bool(variant.message) and any(
            variant.message in message for message in course.failures(lesson, student).values())
        rows.append(Row(lesson, student, "correct" if variant.is_correct else "bug",
                        frozenset(variant.loses), failed_cells(course, lesson, student),
                        variant.message, shown, bool(variant.diagnosis)))
    for partial in partials(course.root, lesson):
        # Written answers left blank are scored 0 by nbgrader itself, like the stub's.
        rows.append(Row(lesson, partial.student, "partial",
                        autograded_cells(course, lesson, partial.student) - partial.earns,
                        failed_cells(course, lesson, partial.student)))
    return rows


def figures(rows: list[Row]) -> dict[str, tuple[int, int]]:
    """name -> (met, out of) for each of the report's figures (see the module docstring)."""
    bugs = [r for r in rows if r.kind == "bug"]
    correct = [r for r in rows if r.kind in ("solution", "correct")]
    halves = [r for r in rows if r.kind == "partial"]
    return {
        "sensitivity": (sum(r.caught and bool(r.failed) for r in bugs), len(bugs)),
        "specificity": (sum(not r.failed for r in correct), len(correct)),
        "partial-credit exactness": (sum(r.judged_right for r in halves), len(halves)),
        "diagnosis rate": (sum(r.diagnosed for r in bugs), len(bugs)),
    }


def figure_shortfalls(lesson: str, rows: list[Row]) -> list[str]:
    """The figures below their targets, as report lines."""
    short = []
    for name, (met, total) in figures(rows).items():
        if total == 0 or met / total < TARGETS[name]:
            short.append(f"{lesson}: {name} {met}/{total}, target {TARGETS[name]:.0%}")
    return short


def catalogue_gaps(lesson: str, test_cells: frozenset[str]) -> list[str]:
    """Where a lesson's catalogue falls short of the course's rules (see test_grading.py)."""
    variants = variants_for(lesson)
    if not variants:
        return [f"{lesson}: no variants catalogue (grader/instructor/variants/{lesson}.py)"]
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
    unsaid = sorted(test_cells - set(requirements_for(lesson)))
    if unsaid:
        gaps.append(f"{lesson}: REQUIRES does not say which solution cells {unsaid} need")
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
    header = ("submission", "kind", "must fail", "failed", "feedback", "verdict")
    table = [header]
    for row in rows:
        shown = "-"
        if row.message:
            shown = ("names it" if row.names_mistake else "locates it") if row.message_shown \
                else "NO"
        table.append((row.student.removeprefix("variant-"), row.kind,
                      _cells(row.must_fail, numbers), _cells(row.failed, numbers), shown,
                      row.problem() or "ok"))
    return legend + aligned(table)


def format_figures(lesson: str, rows: list[Row]) -> str:
    return f"{lesson}: " + ", ".join(
        f"{name} {met}/{total} ({met / total:.0%})" if total else f"{name} -"
        for name, (met, total) in figures(rows).items())


def report(course: GradedCourse, lesson_ids: list[str]) -> list[str]:
    """Print the table and the gaps of the given lessons; return every problem found."""
    problems = []
    for lesson in lesson_ids:
        started = time.perf_counter()
        rows = lesson_rows(course, lesson)
        every = autograded_cells(course, lesson)
        print("\n".join(format_rows(rows, test_cell_order(lesson))))
        print(format_figures(lesson, rows))
        print(f"{lesson}: graded in {time.perf_counter() - started:.0f} s\n", flush=True)
        problems += [f"{row.lesson} {row.student}: {row.problem()}" for row in rows
                     if row.problem()]
        problems += figure_shortfalls(lesson, rows)
        problems += catalogue_gaps(lesson, every)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--keep", type=Path, help="grade in this new folder and keep it")
    args = parser.parse_args(argv)
    lesson_ids = args.lessons or lessons(ROOT)
    if args.keep and args.keep.exists():
        # A folder graded before keeps its "done" markers: its verdicts would be stale.
        parser.error(f"--keep {args.keep}: the folder exists; name a new one")
    with tempfile.TemporaryDirectory(prefix="mutation-report-") as scratch:
        root = copy_course(ROOT, args.keep or Path(scratch) / "course")
        print(f"grading {', '.join(lesson_ids)} in {root}\n", flush=True)
        problems = report(GradedCourse(root, lesson_ids).release(), lesson_ids)
    print("problems:" if problems else "no problems: every bug caught and shown, every "
          "correct answer at full marks, every half-finished submission earns its part")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
