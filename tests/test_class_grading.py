"""Grading a whole class: damaged submissions cost only their own points, runs resume.

One small lesson-1 class is graded once with ``grade_class`` (low cell timeout, low kernel
memory limit): good submissions beside one submission per kind of damage. Each damaged one
must get a line in the report naming the problem, and exactly the points its answers earn.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI

from grader.instructor import grade_class, journal
from grader.instructor.course_dir import course_id, generate_release, nbgrader
from grader.instructor.grade_submission import Limits, grading_config
from grader.instructor.gradebook import cell_scores
from grader.instructor.grading_task import TaskResult
from grader.instructor.journal import GRADED, LEFT, NOT_GRADED, REPAIRED
from grader.instructor.submissions import apply_variant, reference_answers, write_submission
from grader.instructor.variants import variants_for
from tests.conftest import ROOT

LESSON = "lesson1"
NOTEBOOK = "chain_rule.ipynb"
SETTINGS = grade_class.Settings(cell_timeout=10, memory_limit_mb=1536, jobs=2)
GATE_TESTS = {"test_add_gate", "test_multiply_gate", "test_max_gate", "test_sigmoid_gate",
              "test_neuron"}


def autograded_tests(lesson: str) -> dict[str, float]:
    """grade_id -> points of the lesson's autograded test cells, from its source notebook."""
    notebook = nbformat.read(next((ROOT / "source" / lesson).glob("*.ipynb")), as_version=4)
    return {cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
            for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}


def answers(**replacements) -> dict[str, str]:
    """The reference answers with (grade_id, old, new) style edits given as cell -> (old, new)."""
    result = reference_answers(ROOT / "source" / LESSON / "chain_rule.ipynb")
    for grade_id, (old, new) in replacements.items():
        assert result[grade_id].count(old) == 1, (grade_id, old)
        result[grade_id] = result[grade_id].replace(old, new)
    return result


def write(root: Path, student: str, given: dict[str, str] | None = None) -> Path:
    """A submission from answers; returns its notebook path."""
    return write_submission(root, LESSON, student, given or answers()) / NOTEBOOK


def edit(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def remove(nb, *grade_ids: str) -> None:
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in grade_ids]


def to_markdown(nb, grade_id: str, source: str | None = None) -> None:
    index = nb.cells.index(cell(nb, grade_id))
    old = nb.cells[index]
    new = nbformat.v4.new_markdown_cell(old.source if source is None else source)
    new.metadata = old.metadata
    nb.cells[index] = new


def good(root, student):
    write(root, student)


def buggy_xor(root, student):
    variant = next(v for v in variants_for(LESSON) if v.name == "xor-assigns-hidden-gradients")
    write(root, student, apply_variant(answers(), variant))


def invalid_json(root, student):
    path = write(root, student)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # cut off mid-file, as by a full disk


def missing_notebook(root, student):
    path = write(root, student)
    path.unlink()
    (path.parent / "notes.txt").write_text("I could not finish in time.")


def renamed(root, student):
    path = write(root, student)
    path.rename(path.with_name("chain_rule-Copy1.ipynb"))


def extra_files(root, student):
    path = write(root, student)
    (path.parent / "notes.txt").write_text("scratch notes")
    (path.parent / "numpy.py").write_text("raise ImportError('the student numpy.py')\n")


def symlinked_notebook(root, student):
    """The notebook handed in as a link to the instructor's solutions."""
    path = write(root, student)
    path.unlink()
    path.symlink_to(root / "source" / LESSON / NOTEBOOK)


def deleted_cells(root, student):
    edit(write(root, student), lambda nb: remove(nb, "gates", "test_grad_product"))


def duplicated_cell(root, student):
    def duplicate(nb):
        # The student pasted the released (unanswered) neuron cell again below the answer.
        stub = nbformat.read(root / "release" / LESSON / NOTEBOOK, as_version=4)
        pasted = cell(stub, "neuron")
        pasted.id = "pasted-neuron"  # a pasted cell gets a new id
        nb.cells.insert(nb.cells.index(cell(nb, "neuron")) + 1, pasted)
    edit(write(root, student), duplicate)


def solution_to_markdown(root, student):
    edit(write(root, student), lambda nb: to_markdown(nb, "numerical_gradient"))


def checked_cell_to_markdown(root, student):
    edit(write(root, student),
         lambda nb: to_markdown(nb, "test_xor_gradients", "I am sure this is right."))


def edited_metadata(root, student):
    def tamper(nb):
        cell(nb, "test_neuron").metadata["nbgrader"]["points"] = 20
        # Stock nbgrader skips a cell with this tag, so its test would pass unexecuted.
        cell(nb, "test_sigmoid_gate").metadata["tags"] = ["skip-execution"]
        cell(nb, "xor_gradients").metadata = {}
    sigmoid_bug = answers(gates=("return (dout * s * (1.0 - s),)", "return (dout * s,)"))
    edit(write(root, student, sigmoid_bug), tamper)


def newer_schema(root, student):
    """Metadata as a newer nbgrader writes it: this one would refuse the whole notebook."""
    def tamper(nb):
        for each in nb.cells:
            if "nbgrader" in each.metadata:
                each.metadata["nbgrader"]["schema_version"] = 99
    edit(write(root, student), tamper)


def forged_metadata(root, student):
    """The stubs, with a test cell unlocked and emptied, an invented 100-point test cell,
    the solution cells marked as tests, and another kernel asked for."""
    def tamper(nb):
        unlocked = cell(nb, "test_neuron")
        unlocked.metadata["nbgrader"]["locked"] = False
        unlocked.source = "pass"
        bonus = nbformat.v4.new_code_cell("print('full marks')")
        bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                      "grade_id": "test_bonus", "points": 100,
                                      "schema_version": 3}
        nb.cells.append(bonus)
        cell(nb, "gates").metadata["nbgrader"]["solution"] = False
        nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash",
                                     "language": "bash"}
    edit(write_submission(root, LESSON, student, None) / NOTEBOOK, tamper)


def forged_tags(root, student):
    """The stubs, with test cells tagged so nbclient would let them fail or skip them, and a
    test cell pasted again under its own grade_id with its body emptied."""
    def tamper(nb):
        cell(nb, "test_neuron").metadata["tags"] = ["raises-exception"]
        cell(nb, "test_sigmoid_gate").metadata["tags"] = ["skip-execution"]
        pasted = nbformat.from_dict(json.loads(json.dumps(cell(nb, "test_grad_product"))))
        pasted.id, pasted.source = "pasted-test", "pass"
        nb.cells.insert(0, pasted)
    edit(write_submission(root, LESSON, student, None) / NOTEBOOK, tamper)


def infinite_loop(root, student):
    write(root, student, answers(grads_by_hand=("return y, x", "while True:\n        pass")))


def ignores_interrupt(root, student):
    loop = ("import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "    while True:\n        pass")
    write(root, student, answers(grads_by_hand=("q = x + y\n    return z, z, q",
                                                f"q = x + y\n    {loop}")))


def kernel_dies(root, student):
    write(root, student, answers(gates=("x_wins = x >= y", "import os\n    os._exit(1)")))


def memory_hog(root, student):
    # One table larger than the whole limit: refused at once, however slowly the machine
    # hands out pages (filling blocks up to the limit once outlasted the 10 s on a loaded CI
    # machine). Without the kernel's limit it would be filled and returned, and no line said
    # "out of memory".
    hog = "table = np.ones(2 * 10**8)\n    return table, table, table"
    write(root, student, answers(grads_by_hand=("return 2 * z, z, q", hog)))


def megabytes_output(root, student):
    write(root, student, answers(grads_by_hand=("return y, x", "print('x' * 3_000_000)\n"
                                                               "    return y, x")))


# student -> (builder, status, test cells that must fail (None: all, scored 0), report text)
CLASS = {
    "good": (good, GRADED, set(), None),
    "buggy-xor": (buggy_xor, GRADED, {"test_xor_gradients"}, None),
    "invalid-json": (invalid_json, NOT_GRADED, None, "invalid JSON"),
    "missing-notebook": (missing_notebook, NOT_GRADED, None, "notebook missing"),
    "renamed": (renamed, REPAIRED, set(), "notebook renamed"),
    "extra-files": (extra_files, GRADED, set(), "files beside the notebook"),
    "symlinked-notebook": (symlinked_notebook, NOT_GRADED, None, "symlink is never followed"),
    "deleted-cells": (deleted_cells, REPAIRED, GATE_TESTS, "solution cell deleted"),
    "duplicated-cell": (duplicated_cell, REPAIRED, set(), "cell appears 2 times"),
    "solution-to-markdown": (solution_to_markdown, REPAIRED, set(),
                             "changed from code to markdown"),
    "test-to-markdown": (checked_cell_to_markdown, REPAIRED, set(),
                         "changed from code to markdown"),
    "edited-metadata": (edited_metadata, REPAIRED, {"test_sigmoid_gate", "test_neuron"},
                        "metadata edited"),
    "newer-schema": (newer_schema, REPAIRED, set(), "schema_version 3 -> 99"),
    "forged-metadata": (forged_metadata, REPAIRED, None, "metadata edited"),
    "forged-tags": (forged_tags, REPAIRED, None, "tags ['raises-exception']"),
    "infinite-loop": (infinite_loop, GRADED, {"test_grad_product"}, "time limit"),
    "ignores-interrupt": (ignores_interrupt, GRADED, {"test_grad_sum_product"},
                          "ignored the interrupt"),
    "kernel-dies": (kernel_dies, GRADED, {"test_max_gate"}, "killed the kernel"),
    "memory-hog": (memory_hog, GRADED, {"test_grad_weighted_sum_product"}, "out of memory"),
    "megabytes-output": (megabytes_output, GRADED, set(), "printed more than"),
}


def new_course(tmp_path_factory, name: str, students) -> Path:
    """A course folder with the config and lesson 1 only, released, and the students' work."""
    root = tmp_path_factory.mktemp(name)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source" / LESSON, root / "source" / LESSON)
    generate_release(root, [LESSON])
    for student in students:
        CLASS[student][0](root, student)
    return root


def submitted_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "submitted").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def scores(root: Path, student: str) -> dict[str, float]:
    return {grade_id: cell.score for grade_id, cell in cell_scores(root, LESSON, student).items()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = new_course(tmp_path_factory, "class", CLASS)
    before = submitted_digest(root)
    outcomes = grade_class.run(root, [LESSON], SETTINGS, progress=False)
    return root, {o.student: o for o in outcomes}, before


@pytest.mark.parametrize("student", list(CLASS))
def test_each_submission_gets_its_own_points(graded_class, student):
    root, outcomes, _ = graded_class
    _, status, loses, _ = CLASS[student]
    got = cell_scores(root, LESSON, student)
    assert got, f"{student} is not in the gradebook"
    assert outcomes[student].status == status, outcomes[student]
    assert all(not c.needs_manual_grade for c in got.values()), "left awaiting grading"
    # Edited points do not count: the maximum is the instructor's.
    assert sum(c.max_score for c in got.values()) == sum(autograded_tests(LESSON).values())
    failed = {grade_id for grade_id, c in got.items() if c.score < c.max_score}
    if loses is None:
        assert sum(c.score for c in got.values()) == 0
    else:
        assert failed == loses, outcomes[student].findings


@pytest.mark.parametrize("student", [s for s, spec in CLASS.items() if spec[3]])
def test_each_damage_has_a_report_line(graded_class, student):
    root, outcomes, _ = graded_class
    expected = CLASS[student][3]
    lines = [f"{f.where}: {f.problem} -> {f.action}" for f in outcomes[student].findings]
    assert any(expected in line for line in lines), lines
    problems = (root / "reports" / "problems.csv").read_text()
    assert any(student in row and expected in row for row in problems.splitlines())


def test_good_submissions_have_no_findings(graded_class):
    _, outcomes, _ = graded_class
    assert outcomes["good"].findings == [] and outcomes["buggy-xor"].findings == []


def test_originals_are_never_modified(graded_class):
    root, _, before = graded_class
    assert submitted_digest(root) == before


def test_grades_feedback_and_report_are_written(graded_class):
    root, outcomes, _ = graded_class
    grades = (root / "grades.csv").read_text()
    assert all(f",{student}," in grades for student in CLASS)
    for student, outcome in outcomes.items():
        feedback = root / "feedback" / student / LESSON / "chain_rule.html"
        assert feedback.exists() == (outcome.status != NOT_GRADED), student
    reports = root / "reports"
    for name in ("index.html", "report.md", "questions.csv", f"{LESSON}_questions.png",
                 f"{LESSON}_scores.png"):
        assert (reports / name).stat().st_size > 0, name
    questions = (reports / "questions.csv").read_text().splitlines()
    assert len(questions) == 1 + len(autograded_tests(LESSON))  # header + a row per test cell
    page = (reports / "index.html").read_text()
    assert "invalid-json" in page and "test_xor_gradients" in page


def test_grades_csv_is_what_nbgrader_export_writes(graded_class, tmp_path):
    """grade_class exports in its own process (gradebook.export_grades), as the CLI would."""
    root, _, _ = graded_class
    nbgrader(root, "export", "--to", str(tmp_path / "cli.csv"))
    assert (root / "grades.csv").read_text() == (tmp_path / "cli.csv").read_text()


def test_feedback_loads_mathjax_from_the_course_folder(graded_class):
    """Feedback renders its equations offline: every script it loads is a local file."""
    root, _, _ = graded_class
    page = root / "feedback" / "good" / LESSON / "chain_rule.html"
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page.read_text())
    mathjax = [src for src in sources if "MathJax.js" in src]
    assert mathjax, sources
    assert all("://" not in src for src in sources), sources
    for src in sources:
        assert (page.parent / src.split("?")[0]).resolve().is_file(), src


def test_large_output_is_cut_in_feedback(graded_class):
    root, _, _ = graded_class
    feedback = root / "feedback" / "megabytes-output" / LESSON / "chain_rule.html"
    assert feedback.stat().st_size < 1_000_000


def test_rerun_is_idempotent_and_regrades_nothing(graded_class):
    root, outcomes, _ = graded_class
    before = {student: scores(root, student) for student in CLASS}
    stamps = {p: p.stat().st_mtime_ns for p in (root / "autograded").rglob("*.ipynb")}
    again = grade_class.run(root, [LESSON], SETTINGS, progress=False)
    assert {student: scores(root, student) for student in CLASS} == before
    assert {p: p.stat().st_mtime_ns for p in (root / "autograded").rglob("*.ipynb")} == stamps
    assert {o.student: o.status for o in again} == {s: o.status for s, o in outcomes.items()}


def test_changed_submission_is_regraded(graded_class, tmp_path):
    root, _, _ = graded_class
    copy = shutil.copytree(root, tmp_path / "course", symlinks=True)
    write(copy, "buggy-xor")  # the student resubmits the fixed answer
    grade_class.run(copy, [LESSON], SETTINGS, progress=False)
    assert set(scores(copy, "buggy-xor").values()) == {1, 2, 3}  # every test passes now
    assert journal.load(copy, LESSON, "buggy-xor").findings == []


def test_killed_run_resumes_to_the_same_gradebook(graded_class, tmp_path_factory):
    """Kill the grading process after its first submission, rerun, compare with the run
    that was never interrupted."""
    full_root, _, _ = graded_class
    students = ["good", "buggy-xor", "deleted-cells", "kernel-dies"]
    root = new_course(tmp_path_factory, "killed", students)
    command = [sys.executable, "-m", "grader.instructor.grade_class", LESSON, "--root",
               str(root), "--jobs", "1", "--timeout", "10", "--memory-limit-mb", "1536",
               "--quiet"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    state = root / journal.STATE_DIR / LESSON
    deadline = time.monotonic() + 300
    while not list(state.glob("*.json")) and time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before it could be killed"
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    finished = len(list(state.glob("*.json")))
    assert 1 <= finished < len(students), "kill came too late to test resuming"
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=900)
    for student in students:
        assert scores(root, student) == scores(full_root, student), student
    saved = [json.loads(p.read_text())["status"] for p in sorted(state.glob("*.json"))]
    assert len(saved) == len(students) and NOT_GRADED not in saved


def test_a_submission_the_grader_failed_on_is_left_for_the_next_run(tmp_path_factory):
    """Never a silent 0: no grade is stored, the report says why, a rerun tries again."""
    root = new_course(tmp_path_factory, "left", ["good"])
    grade_class.ensure_in_gradebook(root, [LESSON], course_id(root))
    grader = grade_class.ClassGrader(root, SETTINGS, course_id(root))
    # what a worker answers when, say, no kernel would start
    failed = TaskResult(success=False, error="Kernel didn't respond in 60 seconds")
    outcome = grader.finish(grader.start(LESSON, "good"), failed)
    assert outcome.status == LEFT
    assert any("next run" in finding.action for finding in outcome.findings)
    assert cell_scores(root, LESSON, "good") == {}
    journal.save(root, outcome)
    assert grader.pending([(LESSON, "good")]) == [(LESSON, "good")]


def test_cells_each_just_under_the_timeout_cannot_outlast_the_submission_budget(
        tmp_path_factory):
    """Every cell stays under the cell timeout, the notebook not under its whole budget:
    it is stopped, scores 0 and the report says why."""
    root = new_course(tmp_path_factory, "slow", [])
    slow = {grade_id: "import time\ntime.sleep(8)\n" + source
            for grade_id, source in reference_answers(
                root / "source" / LESSON / "chain_rule.ipynb").items()}
    write(root, "slow", slow)
    settings = grade_class.Settings(cell_timeout=10, submission_timeout=20, jobs=1)
    [outcome] = grade_class.run(root, [LESSON], settings, progress=False)
    assert outcome.status == NOT_GRADED
    assert any("no result after 20 s" in finding.problem for finding in outcome.findings)
    assert sum(cell.score for cell in cell_scores(root, LESSON, "slow").values()) == 0


def test_feedback_templates_are_compiled_once_per_process(graded_class, monkeypatch):
    """A worker renders one page per submission: the second page parses no template, and
    the page is the one grade_class wrote."""
    root, _, _ = graded_class
    page = root / "feedback" / "good" / LESSON / "chain_rule.html"
    written = page.read_text()
    api = NbGraderAPI(config=grading_config(root, Limits()))
    parsed = []
    original = jinja2.Environment._parse
    monkeypatch.setattr(jinja2.Environment, "_parse",
                        lambda self, *args: parsed.append(args[1]) or original(self, *args))
    for _ in range(2):
        parsed.clear()
        assert api.generate_feedback(LESSON, "good", force=True)["success"]
        assert page.read_text() == written
    assert parsed == [], "the second page compiled its templates again"
