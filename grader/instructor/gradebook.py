"""The course's gradebook: where it is, and reading results back out of it (per-cell scores,
the messages students see)."""

import functools
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbgrader.api
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.dbutil import _temp_alembic_ini
from nbgrader.plugins import CsvExportPlugin
from traitlets.utils.importstring import import_item

from grader.instructor.course_dir import course_config, course_id, notebook_name


@functools.cache
def nbgrader_schema_revision() -> str:
    """The schema revision nbgrader stamps on a new gradebook, read in this process.

    nbgrader runs ``alembic heads`` in a subprocess for every gradebook it creates: one to
    three seconds for each lesson on each grading worker. The answer is a constant of the
    installed nbgrader, so it is read once, from the same migration scripts.
    """
    with _temp_alembic_ini("sqlite://") as alembic_ini:
        return ScriptDirectory.from_config(AlembicConfig(alembic_ini)).get_current_head()


# Every process that imports this module (grade_class, its workers, nbgrader_cli) creates
# gradebooks without the subprocess.
nbgrader.api.get_alembic_version = nbgrader_schema_revision


@dataclass(frozen=True)
class CellScore:
    """One graded cell of one submission."""

    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool


def gradebook_url(root: Path) -> str:
    """The gradebook's database: ``CourseDirectory.db_url`` of ``nbgrader_config.py`` if it
    names one (a PostgreSQL server, say), else ``gradebook.db`` in the course folder, opened
    so that a writer waits for another (up to 2 min) instead of failing at once."""
    configured = course_config(root).get("CourseDirectory", {}).get("db_url")
    if configured:
        return str(configured)
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}?timeout=120"


def open_gradebook(root: Path) -> Gradebook:
    """The course's gradebook."""
    # With the course's id: Gradebook would otherwise add a "default_course" row.
    return Gradebook(gradebook_url(root), course_id(root))


def cell_scores(root: Path, lesson: str, student: str) -> dict[str, CellScore]:
    """grade_id -> score of every graded cell of a submission; empty if it was not graded."""
    with open_gradebook(root) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(notebook_name(root, lesson), lesson,
                                                          student)
        except MissingEntry:
            return {}
        return {
            grade.name: CellScore(grade.name, float(grade.score), float(grade.max_score),
                                  bool(grade.needs_manual_grade))
            for grade in notebook.grades
        }


def failure_messages(root: Path, lesson: str, student: str) -> dict[str, str]:
    """grade_id -> the error a failing test cell showed in the autograded notebook."""
    path = Path(root) / "autograded" / student / lesson / f"{notebook_name(root, lesson)}.ipynb"
    nb = nbformat.read(path, as_version=4)
    messages = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            errors = [f"{out.ename}: {out.evalue}" for out in cell.get("outputs", [])
                      if out.output_type == "error"]
            if errors:
                messages[meta["grade_id"]] = "\n".join(errors)
    return messages


MANUAL_MARK = "*"


def grade_table(root: Path, lesson_ids: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Rows (student, {lesson: "score/max"}) for every student in the gradebook.

    A score ending in MANUAL_MARK still has answers to grade by hand (``nbgrader formgrader``).
    """
    rows = []
    with open_gradebook(root) as gradebook:
        for student in sorted(s.id for s in gradebook.students):
            row = {}
            for lesson in lesson_ids:
                try:
                    submission = gradebook.find_submission(lesson, student)
                except MissingEntry:
                    row[lesson] = "-"
                    continue
                pending = sum(grade.max_score for notebook in submission.notebooks
                              for grade in notebook.grades if grade.needs_manual_grade)
                row[lesson] = f"{submission.score:g}/{submission.max_score:g}" + (
                    MANUAL_MARK if pending else "")
            rows.append((student, row))
    return rows


def export_grades(root: Path) -> Path:
    """``nbgrader export`` in this process: the course's export plugin (``ExportApp.
    plugin_class``, nbgrader's CSV one by default) writes the gradebook out, by default to
    ``grades.csv`` in the course folder, and a relative ``ExportPlugin.to`` of the config in
    the course folder too (where ``nbgrader export`` is run), wherever this process runs.
    Returns that path."""
    root = Path(root)
    config = course_config(root)
    plugin_class = config.get("ExportApp", {}).get("plugin_class", CsvExportPlugin)
    if isinstance(plugin_class, str):
        plugin_class = import_item(plugin_class)
    plugin = plugin_class(config=config)
    plugin.to = str(root / (plugin.to or "grades.csv"))
    with Gradebook(gradebook_url(root), course_id(root)) as gradebook:
        plugin.export(gradebook)
    return Path(plugin.to)
