"""Build submissions from a lesson's release: the reference answers, a stub, or a variant.

A submission is the released notebook with its solution cells filled in, as a student would
hand it in. Variants (``grader.instructor.variants``) describe buggy or alternative answers as
small edits to the reference answers, so a variant stays valid as the lesson evolves and an
edit that no longer applies fails loudly instead of silently grading the reference.
"""

import shutil
from pathlib import Path

import nbformat

from grader.instructor.course_dir import notebook_name
from grader.instructor.variants import Variant

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def reference_answers(source_notebook: Path) -> dict[str, str]:
    """grade_id -> the source of each solution cell with the BEGIN/END SOLUTION lines removed."""
    nb = nbformat.read(source_notebook, as_version=4)
    return {
        _grade_id(cell): "\n".join(
            line for line in cell.source.splitlines()
            if line.strip() not in SOLUTION_MARKERS
        )
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def solution_code_cells(source_notebook: Path) -> list[str]:
    """grade_ids of the code solution cells, in notebook order (written answers excluded)."""
    nb = nbformat.read(source_notebook, as_version=4)
    return [_grade_id(cell) for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")]


def apply_variant(answers: dict[str, str], variant: Variant) -> dict[str, str]:
    """The answers with the variant's whole-cell replacements and edits applied.

    Each edit's ``old`` text must occur exactly once in its cell.
    """
    answers = dict(answers)
    for grade_id, source in variant.cells.items():
        if grade_id not in answers:
            raise ValueError(f"variant {variant.name!r}: no solution cell {grade_id!r}")
        answers[grade_id] = source
    for grade_id, old, new in variant.edits:
        if grade_id not in answers:
            raise ValueError(f"variant {variant.name!r}: no solution cell {grade_id!r}")
        count = answers[grade_id].count(old)
        if count != 1:
            raise ValueError(f"variant {variant.name!r}: {old!r} occurs {count} times in "
                             f"cell {grade_id!r}, expected exactly once")
        answers[grade_id] = answers[grade_id].replace(old, new)
    return answers


def write_submission(root: Path, lesson: str, student: str, answers: dict[str, str] | None,
                     ) -> Path:
    """Write ``submitted/<student>/<lesson>/`` from ``release/<lesson>``.

    answers: grade_id -> cell source for the solution cells to fill in; None leaves the
    release untouched (a student who submitted the stubs). Returns the submission folder.
    """
    root = Path(root)
    release = root / "release" / lesson
    target = root / "submitted" / student / lesson
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(release, target)
    if answers is not None:
        fill_answers(target / f"{notebook_name(root, lesson)}.ipynb", answers)
    return target


def fill_answers(path: Path, answers: dict[str, str]) -> None:
    """Put the answers (grade_id -> source) into the solution cells of the notebook at path."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if _grade_id(cell) in answers and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[_grade_id(cell)]
    nbformat.write(nb, path)


def write_variant_submission(root: Path, lesson: str, student: str, variant: Variant) -> Path:
    """A submission with the reference answers changed as ``variant`` says."""
    source = Path(root) / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    return write_submission(root, lesson, student, apply_variant(reference_answers(source),
                                                                 variant))
