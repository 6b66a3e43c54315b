"""``make demo``: a small class graded end to end with nbgrader, and its grade table.

For every lesson: regenerate the release, hand in the reference solution, the untouched
stub and the catalogue's demo variants (``grader.instructor.variants``), then grade the
class as an instructor would (``make grade``: autograde, feedback, ``grades.csv`` and the
class report in ``reports/``) and print one row per student. Safe to re-run: unchanged
submissions keep their grades, and every file is rewritten.
"""

import sys
from pathlib import Path

from grader.instructor import grade_class
from grader.instructor.course_dir import generate_release, lessons, notebook_name
from grader.instructor.gradebook import MANUAL_MARK, grade_table
from grader.instructor.submissions import (
    reference_answers,
    write_submission,
    write_variant_submission,
)
from grader.instructor.variants import variants_for


def build_demo_class(root: Path, lesson: str) -> list[str]:
    """Write the demo submissions of one lesson. Returns the student ids."""
    source = root / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    write_submission(root, lesson, "demo-solution", reference_answers(source))
    write_submission(root, lesson, "demo-stub", None)
    students = ["demo-solution", "demo-stub"]
    for variant in variants_for(lesson):
        if variant.demo:
            student = f"demo-{variant.name}"
            write_variant_submission(root, lesson, student, variant)
            students.append(student)
    return students


def main(root: Path) -> None:
    lesson_ids = lessons(root)
    print(f"generating the release of {', '.join(lesson_ids)}", flush=True)
    generate_release(root, lesson_ids)
    for lesson in lesson_ids:
        build_demo_class(root, lesson)
    grade_class.run(root, lesson_ids)
    rows = grade_table(root, lesson_ids)
    width = max(len(student) for student, _ in rows)
    print()
    print(f"{'student':<{width}}  " + "  ".join(f"{lesson:>9}" for lesson in lesson_ids))
    for student, row in rows:
        print(f"{student:<{width}}  " + "  ".join(f"{row[lesson]:>9}" for lesson in lesson_ids))
    if any(cell.endswith(MANUAL_MARK) for _, row in rows for cell in row.values()):
        print(f"{MANUAL_MARK} written answers still to grade by hand: nbgrader formgrader")
    print(f"\ngrades.csv, feedback/, autograded/ and the class report (reports/index.html) "
          f"are in {root}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
