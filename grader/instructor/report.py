"""The class report: how each question went, how scores spread, what could not be graded.

Written to ``reports/`` (git-ignored) from the gradebook and the grading outcomes:

- ``index.html``: one section per lesson (question table and plots), the submissions that
  could not be graded and why, then every problem found in a submission, one line each
  (student, lesson, file or cell, problem, what was done);
- ``questions.csv`` and ``problems.csv``: the same tables for a spreadsheet;
- ``report.md``: the same tables in markdown;
- ``<lesson>_questions.png`` (share of full, partial and zero scores per test cell) and
  ``<lesson>_scores.png`` (histogram of lesson scores);
- what the class got wrong (``diagnoses``): per lesson, the kinds of mistake the trusted
  checks named, with how many students and which share of the class, most common first,
  ``<lesson>_diagnoses.png``, links to the anonymised examples (``examples/``; the student
  ids instead with ``names``), and ``diagnoses.csv`` (lesson, question, kind, count).

Question statistics leave out submissions that could not be graded at all (their zero says
nothing about the question); the score histogram includes them.
"""

import csv
import html
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from matplotlib.figure import Figure
from nbgrader.api import Gradebook, MissingEntry

from grader.instructor import diagnoses
from grader.instructor.course_dir import notebook_name
from grader.instructor.gradebook import gradebook_url
from grader.instructor.journal import NOT_GRADED, Outcome

REPORT_DIR = "reports"


@dataclass
class Question:
    """One autograded test cell of a lesson and the scores the class got on it."""

    lesson: str
    grade_id: str
    points: float
    scores: list[float]

    @property
    def full(self) -> int:
        return sum(score >= self.points for score in self.scores)

    @property
    def zero(self) -> int:
        return sum(score <= 0 for score in self.scores)

    @property
    def pass_rate(self) -> float:
        return self.full / len(self.scores) if self.scores else 0.0

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def test_cells(root: Path, lesson: str) -> list[tuple[str, float]]:
    """(grade_id, points) of the lesson's autograded test cells, in notebook order."""
    path = root / "release" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cells.append((meta["grade_id"], float(meta.get("points", 0))))
    return cells


def collect(root: Path, lesson: str, outcomes: list[Outcome], course_id: str | None = None,
            ) -> tuple[list[Question], list[float], float]:
    """The lesson's questions, every submission's total score, and the maximum score."""
    questions = {grade_id: Question(lesson, grade_id, points, [])
                 for grade_id, points in test_cells(root, lesson)}
    totals, maximum = [], sum(q.points for q in questions.values())
    args = (course_id,) if course_id else ()
    with Gradebook(gradebook_url(root), *args) as gradebook:
        for outcome in outcomes:
            try:
                notebook = gradebook.find_submission_notebook(notebook_name(root, lesson), lesson,
                                                              outcome.student)
            except MissingEntry:
                continue
            scores = {grade.name: float(grade.score) for grade in notebook.grades}
            totals.append(sum(scores.values()))
            maximum = max(maximum, float(notebook.max_score))
            if outcome.status == NOT_GRADED:
                continue
            for grade_id, question in questions.items():
                question.scores.append(scores.get(grade_id, 0.0))
    return list(questions.values()), totals, maximum


def plot_questions(questions: list[Question], path: Path) -> None:
    """Stacked bars per test cell: share of full, partial and zero scores."""
    # Figure without pyplot: no GUI backend or global state, safe on a headless server.
    fig = Figure(figsize=(7, 0.45 * len(questions) + 1.2))
    ax = fig.subplots()
    names = [q.grade_id for q in questions][::-1]
    count = [max(1, len(q.scores)) for q in questions][::-1]
    full = [q.full / n for q, n in zip(questions[::-1], count)]
    zero = [q.zero / n for q, n in zip(questions[::-1], count)]
    partial = [1 - f - z for f, z in zip(full, zero)]
    ax.barh(names, full, color="#2e7d32", label="full marks")
    ax.barh(names, partial, left=full, color="#f9a825", label="partial")
    ax.barh(names, zero, left=[f + p for f, p in zip(full, partial)], color="#c62828",
            label="zero")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of graded submissions")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False,
              fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_scores(totals: list[float], maximum: float, path: Path) -> None:
    """Histogram of the lesson's total scores."""
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    bins = [x - 0.5 for x in range(int(maximum) + 2)] if maximum <= 40 else 20
    ax.hist(totals, bins=bins, color="#1565c0", edgecolor="white")
    ax.set_xlabel(f"score (out of {maximum:g})")
    ax.set_ylabel("submissions")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_diagnoses(groups: list[diagnoses.Group], path: Path, most: int = 12) -> None:
    """Horizontal bars: students per kind of mistake, the most common at the top."""
    shown = groups[:most][::-1]
    fig = Figure(figsize=(9, 0.4 * len(shown) + 1.2))
    ax = fig.subplots()
    labels = [_shorten(f"{g.question}: {g.kind}", 80) for g in shown]
    ax.barh(range(len(shown)), [g.count for g in shown], color="#6a1b9a")
    ax.set_yticks(range(len(shown)), labels, fontsize="small")
    ax.set_xlabel("students")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def diagnosis_rows(groups: list[diagnoses.Group], class_size: int) -> list[dict[str, str]]:
    return [{"lesson": g.lesson, "question": g.question, "kind": g.kind,
             "count": str(g.count), "share": f"{g.count / max(1, class_size):.0%}"}
            for g in groups]


def _diagnosis_table(root: Path, folder: Path, lesson: str, groups: list[diagnoses.Group],
                     class_size: int, names: bool) -> str:
    if not groups:
        return "<p>No test failed.</p>"
    rows = []
    for group, row in zip(groups, diagnosis_rows(groups, class_size)):
        links = diagnoses.example_links(root, folder, lesson, group.students, names)
        examples = " ".join(f'<a href="{html.escape(href)}">{html.escape(label)}</a>'
                            for label, href in links)
        rows.append("<tr>" + "".join(f"<td>{html.escape(row[f])}</td>" for f in
                                     ("question", "kind", "count", "share"))
                    + f"<td>{examples}</td></tr>")
    head = "".join(f"<th>{f}</th>" for f in ("question", "what went wrong", "students",
                                               "share of the class", "examples"))
    return f'<table class="diagnoses"><tr>{head}</tr>{"".join(rows)}</table>'


def problem_rows(outcomes: list[Outcome]) -> list[dict[str, str]]:
    """One row per problem found in a submission."""
    return [{"student": o.student, "lesson": o.lesson, "status": o.status, "where": f.where,
             "problem": f.problem, "action": f.action}
            for o in sorted(outcomes, key=lambda o: (o.lesson, o.student)) for f in o.findings]


def ungraded_rows(outcomes: list[Outcome]) -> list[dict[str, str]]:
    """One row per submission that could not be graded, with every reason found."""
    return [{"student": o.student, "lesson": o.lesson,
             "why": "; ".join(f"{f.where}: {f.problem}" for f in o.findings) or "unknown"}
            for o in sorted(outcomes, key=lambda o: (o.lesson, o.student))
            if o.status == NOT_GRADED]


def question_rows(questions: list[Question]) -> list[dict[str, str]]:
    return [{"lesson": q.lesson, "grade_id": q.grade_id, "points": f"{q.points:g}",
             "graded": str(len(q.scores)), "full_marks": str(q.full),
             "pass_rate": f"{q.pass_rate:.0%}", "mean_score": f"{q.mean:.2f}"} for q in questions]


def _write_csv(path: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _markdown(rows: list[dict[str, str]], fields: list[str]) -> str:
    lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(row[f].replace("|", "\\|") for f in fields) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(rows: list[dict[str, str]], fields: list[str]) -> str:
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(row[f])}</td>" for f in fields)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


QUESTION_FIELDS = ["lesson", "grade_id", "points", "graded", "full_marks", "pass_rate",
                   "mean_score"]
DIAGNOSIS_FIELDS = ["lesson", "question", "kind", "count"]
PROBLEM_FIELDS = ["student", "lesson", "status", "where", "problem", "action"]
UNGRADED_FIELDS = ["student", "lesson", "why"]
STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:3px 8px;text-align:left}img{margin:0.5em 1em 0.5em 0}")


def write_report(root: Path, lesson_ids: list[str], outcomes: list[Outcome],
                 course_id: str | None = None, names: bool = False) -> Path:
    """Write every report file; returns the path of ``index.html``.

    names: show student ids in the diagnosis examples (default: anonymised copies).
    """
    root = Path(root)
    folder = root / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / diagnoses.EXAMPLES_DIR, ignore_errors=True)
    sections, all_questions, markdown = [], [], ["# Class report", ""]
    all_groups = []
    for lesson in lesson_ids:
        mine = [o for o in outcomes if o.lesson == lesson]
        questions, totals, maximum = collect(root, lesson, mine, course_id)
        all_questions += questions
        plot_questions(questions, folder / f"{lesson}_questions.png")
        plot_scores(totals, maximum, folder / f"{lesson}_scores.png")
        mean = sum(totals) / len(totals) if totals else 0.0
        summary = (f"{len(mine)} submissions, {sum(o.status == NOT_GRADED for o in mine)} could "
                   f"not be graded; mean score {mean:.2f} / {maximum:g}")
        rows = question_rows(questions)
        graded = [o.student for o in mine if o.status != NOT_GRADED]
        groups = diagnoses.group(root, lesson, graded)
        all_groups += groups
        if groups:
            plot_diagnoses(groups, folder / f"{lesson}_diagnoses.png")
        chart = (f'<img src="{lesson}_diagnoses.png" alt="students per kind of mistake">'
                 if groups else "")
        sections.append(f"<h2>{html.escape(lesson)}</h2><p>{html.escape(summary)}</p>"
                        f"{_html_table(rows, QUESTION_FIELDS)}"
                        f'<img src="{lesson}_questions.png" alt="pass rate per question">'
                        f'<img src="{lesson}_scores.png" alt="score distribution">'
                        f"<h3>What the class got wrong</h3><p>Each failed test, by the kind "
                        f"of mistake the grader recognised; share of the {len(mine)} "
                        f"submissions.</p>{chart}"
                        f"{_diagnosis_table(root, folder, lesson, groups, len(mine), names)}")
        wrong = diagnosis_rows(groups, len(mine))
        markdown += [f"## {lesson}", "", summary, "", _markdown(rows, QUESTION_FIELDS), "",
                     "### What the class got wrong", "",
                     _markdown(wrong, ["question", "kind", "count", "share"]) if wrong
                     else "No test failed.", ""]
    problems = problem_rows(outcomes)
    ungraded = ungraded_rows(outcomes)
    _write_csv(folder / "questions.csv", question_rows(all_questions), QUESTION_FIELDS)
    _write_csv(folder / "problems.csv", problems, PROBLEM_FIELDS)
    _write_csv(folder / "diagnoses.csv", [
        {"lesson": g.lesson, "question": g.question, "kind": g.kind, "count": str(g.count)}
        for g in all_groups], DIAGNOSIS_FIELDS)
    markdown += ["## Could not be graded (0 points recorded)", "",
                 _markdown(ungraded, UNGRADED_FIELDS) if ungraded else "None.", "",
                 "## Problems found in submissions", "",
                 _markdown(problems, PROBLEM_FIELDS) if problems else "None.", ""]
    (folder / "report.md").write_text("\n".join(markdown))
    problems_html = _html_table(problems, PROBLEM_FIELDS) if problems else "<p>None.</p>"
    ungraded_html = _html_table(ungraded, UNGRADED_FIELDS) if ungraded else "<p>None.</p>"
    page = folder / "index.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report"
                    f"</title><style>{STYLE}</style></head><body><h1>Class report</h1>"
                    f"{''.join(sections)}<h2>Could not be graded (0 points recorded)</h2>"
                    f"{ungraded_html}<h2>Problems found in submissions</h2>"
                    f"<p>Each line: what was wrong with a submission and what grading did about "
                    f"it. Status <em>not graded</em> means zero points were recorded.</p>"
                    f"{problems_html}</body></html>")
    return page
