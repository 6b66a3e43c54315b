"""What the class got wrong: the trusted checks' diagnoses, grouped by kind.

Every graded test cell of an autograded notebook carries its trusted verdict
(``trusted.VERDICT_KEY``: passed, the grader's message, the name of the cell's own error).
A failed verdict names one or more kinds of mistake. A gradient check's message reads

    two_layer_loss: check failed on 30 random points (D=2, H=7, C=3, reg=0.3):
      dW2: relative error 9.11e-01 (tolerance 1e-05)
    Re-running each backward step on its own, ..., the first wrong gradient is in
    softmax_cross_entropy (dscores):
      dscores: relative error 9.35e-01 (tolerance 1e-05); it is 30 times too large: ...

and its kinds are, for each wrong quantity of the step that went wrong first (or, without
that section, of the function checked), the function, the quantity and the mistake it looks
like: ``softmax_cross_entropy: dscores: it is # times too large: ...``. A wrong quantity
with no recognised mistake is :data:`NOT_RECOGNISED`. A stub left in place is
:data:`NOT_ANSWERED`; student code that raised is grouped by the exception's name; a test
that found a name undefined is :data:`EARLIER_CELL_FAILED`. When the
cell's visible check failed before the hidden one ran, the visible check's message (same
helpers, same format) is read the same way; any other early failure is
:data:`NOT_RECOGNISED`. Any other message (a training run that failed, an unstable softmax)
is its own kind.

Numbers are replaced by ``#`` so that one mistake is one kind however the numbers differ
("6 times too large" and "20 times too large" are one group). Each student counts once per
kind and question.
"""

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.instructor.course_dir import notebook_name
from grader.instructor.feedback import MATHJAX_FOLDER, MATHJAX_URL
from grader.instructor.trusted import CHECK_NOT_FINISHED, NO_CHECK, VERDICT_KEY
from grader.secret import course_secret

NOT_RECOGNISED = "not recognised"
NOT_ANSWERED = "not answered (the stub is still there)"
EARLIER_CELL_FAILED = "a name the test needs is undefined (an earlier cell failed)"
# "<function>: check failed ..." heads a hidden check's list of wrong quantities,
# "gradient check failed ..." a visible check's (course.gradient_check).
CHECKED = re.compile(r"^(\w+): check failed")
FIRST_WRONG = re.compile(r"the first wrong gradient is in (\w+)")
RAISED = re.compile(r"^your code raised (\w+)")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.])",
                    re.IGNORECASE)
NUMPY_SCALAR = re.compile(r"\bnp\.\w+\(#\)")
# A kind is a label; the rest of a long message is detail for the student.
MAX_KIND = 240


def normalise(text: str) -> str:
    """The message with every number as ``#``, whitespace collapsed, cut at a word."""
    text = NUMPY_SCALAR.sub("#", NUMBER.sub("#", text))  # np.float64(#): a number too
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= MAX_KIND:
        return text
    return text[:MAX_KIND].rsplit(" ", 1)[0] + " …"


def kinds(verdict: dict) -> list[str]:
    """The kinds of mistake a failed verdict names (empty if it passed), in message order."""
    if verdict.get("passed"):
        return []
    message = str(verdict.get("message", ""))
    raised = RAISED.match(message)
    if verdict.get("cell_error") == "NotImplementedError" or (
            raised and raised.group(1) == "NotImplementedError"):
        return [NOT_ANSWERED]
    if raised:
        return [f"your code raised {raised.group(1)}"]
    if message == CHECK_NOT_FINISHED and verdict.get("cell_error") == "NameError":
        return [EARLIER_CELL_FAILED]
    if message == CHECK_NOT_FINISHED and verdict.get("cell_error") == "AssertionError":
        # The visible check failed first: its message (same helpers, same format) says why.
        message = str(verdict.get("cell_message", ""))
    if not message.strip() or message in (CHECK_NOT_FINISHED, NO_CHECK):
        return [NOT_RECOGNISED]
    sections = _sections(message)
    if not any(items for _, items in sections):
        return [normalise(message)]
    # The step that went wrong first is the cause; the rest of the message its consequences.
    header, items = next(((h, i) for h, i in sections if FIRST_WRONG.search(h)),
                         sections[0])
    where = FIRST_WRONG.search(header) or CHECKED.match(header)
    prefix = f"{where.group(1)}: " if where else ""
    found = []
    for item in items:
        quantity, _, problem = item.partition(": ")
        hint = problem.partition("; ")[2]
        found.append(f"{prefix}{quantity}: {normalise(hint)}" if hint else NOT_RECOGNISED)
    # A failure with a recognised mistake is explained by it (a wrong loss that comes with
    # a wrong gradient is the same slip); only a failure with none is "not recognised".
    recognised = [kind for kind in dict.fromkeys(found) if kind != NOT_RECOGNISED]
    return recognised or [NOT_RECOGNISED]


def _sections(message: str) -> list[tuple[str, list[str]]]:
    """(header line, its indented item lines) for each unindented line of the message."""
    sections: list[tuple[str, list[str]]] = []
    for line in message.splitlines():
        if not line.strip():
            continue
        if line.startswith((" ", "\t")) and sections:
            sections[-1][1].append(line.strip())
        else:
            sections.append((line.strip(), []))
    return sections


@dataclass
class Group:
    """One kind of mistake on one question, and the students whose verdict named it."""

    lesson: str
    question: str
    kind: str
    students: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.students)


def verdicts_of(root: Path, lesson: str, student: str) -> dict[str, dict]:
    """grade_id -> trusted verdict, from the student's autograded notebook (empty if none)."""
    path = (Path(root) / "autograded" / student / lesson
            / f"{notebook_name(root, lesson)}.ipynb")
    if not path.is_file():
        return {}
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and VERDICT_KEY in cell.metadata:
            found[grade_id] = dict(cell.metadata[VERDICT_KEY])
    return found


def group(root: Path, lesson: str, students: list[str]) -> list[Group]:
    """The lesson's groups, most common first (ties: question order, then kind)."""
    groups: dict[tuple[str, str], Group] = {}
    rank: dict[str, int] = {}  # notebook order of the questions, as first seen
    for student in sorted(students):
        for question, verdict in verdicts_of(root, lesson, student).items():
            rank.setdefault(question, len(rank))
            for kind in kinds(verdict):
                key = (question, kind)
                groups.setdefault(key, Group(lesson, question, kind)).students.append(student)
    return sorted(groups.values(), key=lambda g: (-g.count, rank[g.question], g.kind))


# --- examples the instructor can open -------------------------------------------------------

EXAMPLES_DIR = "examples"


def example_token(root: Path, lesson: str, student: str) -> str:
    """A stable name for a student's example that does not reveal who it is: a keyed hash
    (the course secret is the key, so the ids cannot be guessed back from a list of names)."""
    key = f"{course_secret(root):x}:{lesson}:{student}".encode()
    return hashlib.sha256(key).hexdigest()[:12]


def feedback_page(root: Path, lesson: str, student: str) -> Path:
    return Path(root) / "feedback" / student / lesson / f"{notebook_name(root, lesson)}.html"


def example_links(root: Path, report_dir: Path, lesson: str, students: list[str],
                  names: bool) -> list[tuple[str, str]]:
    """(label, href relative to ``report_dir``) for each student's feedback page.

    names: label with the student ids and link their pages; otherwise each page is copied
    under a keyed-hash name to ``<report_dir>/examples/<lesson>/`` and labelled by number.
    """
    links = []
    for number, student in enumerate(students, 1):
        page = feedback_page(root, lesson, student)
        if not page.is_file():
            continue
        if names:
            links.append((student, os.path.relpath(page, report_dir)))
            continue
        target = report_dir / EXAMPLES_DIR / lesson / f"{example_token(root, lesson, student)}.html"
        if not target.exists():  # a student in several groups is copied once
            target.parent.mkdir(parents=True, exist_ok=True)
            # The copy loads MathJax from where the feedback pages have it.
            mathjax = os.path.relpath(Path(root) / "feedback" / MATHJAX_FOLDER, target.parent)
            local = MATHJAX_URL.partition("/MathJax")[0]
            target.write_text(page.read_text().replace(f'src="{local}/', f'src="{mathjax}/'))
        links.append((f"example {number}", os.path.relpath(target, report_dir)))
    return links
