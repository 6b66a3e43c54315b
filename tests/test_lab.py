"""JupyterLab in a real browser, as the README starts it.

The student's view (``make lab``): a lesson, Run All, and what the student sees -- the first
failing check's message on a wrong answer, no error on the solution, none of nbgrader's
instructor tools. The instructor's view (``make lab-instructor``): written answers graded by
hand in the formgrader land in ``grades.csv``."""

import csv
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.instructor.course_dir import generate_release, nbgrader, notebook_name
from grader.instructor.graded_course import copy_course, source_notebook
from grader.instructor.submissions import (
    apply_variant,
    fill_answers,
    reference_answers,
    write_submission,
)
from grader.instructor.variants import variants_for
from tests.browser import BROWSER_FLAGS, chromium_or_skip
from tests.conftest import ROOT

LESSON, NOTEBOOK = "lesson1", "chain_rule.ipynb"
STUDENT_CONFIG = ROOT / "lab" / "student"
RUN_TIMEOUT_MS = 180_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def student_lab(notebook_dir: Path, scratch: Path, config_dir: Path = STUDENT_CONFIG):
    """JupyterLab as ``make lab`` starts it (the student config folder, the lesson folder).

    With an empty ``config_dir`` and the course folder, as ``make lab-instructor`` does.
    """
    port, token = free_port(), secrets.token_hex(16)
    bin_dir = Path(sys.executable).parent
    # Workspaces and settings go to scratch, not into the repository's config folder.
    command = [str(bin_dir / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
               f"--notebook-dir={notebook_dir}", f"--LabApp.workspaces_dir={scratch}",
               f"--LabApp.user_settings_dir={scratch}"]
    if os.geteuid() == 0:  # CI's container
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    with open(scratch / "lab.log", "wb") as log:
        # The formgrader reads nbgrader_config.py from the folder it starts in.
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=notebook_dir)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("JupyterLab did not start:\n"
                                    + (scratch / "lab.log").read_text(errors="replace"))
                    time.sleep(0.5)
            yield url, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def lesson_copy(tmp_path: Path, answers: dict[str, str] | None) -> Path:
    folder = tmp_path / LESSON
    shutil.copytree(ROOT / "release" / LESSON, folder)
    if answers is not None:
        fill_answers(folder / NOTEBOOK, answers)
    return folder


# Run All marks every cell queued ([*]) and a cell that ran gets its count ([1]); a cell
# never run shows [ ]. Started means a cell has run: on a loaded machine the lab may replace
# the notebook's first kernel just after opening it, and the cells queued on that one are
# unmarked without running.
RUN_STARTED = ("[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
               ".some(p => /\\[\\d+\\]/.test(p.textContent))")


def run_all_from_the_menu(page, attempts: int = 3) -> None:
    """Run > Run All Cells, as a student does, until the run has started.

    On a loaded machine the notebook can become the lab's current panel after its kernel is
    idle; Run All acts on the current panel, so a click made before is lost: click the
    notebook first, and click again if no cell started.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(1, attempts + 1):
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-item", has_text=re.compile("^Run$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']"
                     ":not(.lm-mod-disabled)").click()
        try:
            page.wait_for_function(RUN_STARTED, timeout=30_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise


def run_all(url: str, token: str, scratch: Path) -> dict:
    """Open the notebook, Run All from the Run menu, wait until the kernel has finished.

    Returns what the page shows: the text of every error output, the nbgrader menu's items,
    and the HTTP status of the formgrader's page.
    """
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_or_skip(),
                                             args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=120_000)
        run_all_from_the_menu(page)
        page.wait_for_function(
            "![...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".some(p => p.textContent.includes('*'))", timeout=RUN_TIMEOUT_MS)
        page.screenshot(path=scratch / "run_all.png", full_page=True)
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_text_contents()
        page.locator(".lm-MenuBar-item", has_text="nbgrader").click()
        menu = page.locator(".lm-Menu-content .lm-Menu-item").all_text_contents()
        formgrader = page.request.get(f"{url}/formgrader?token={token}").status
        browser.close()
    return {"errors": errors, "nbgrader_menu": menu, "formgrader_status": formgrader}


@pytest.fixture(scope="module")
def answers() -> dict[str, str]:
    return reference_answers(ROOT / "source" / LESSON / NOTEBOOK)


def test_run_all_on_a_wrong_answer_shows_the_first_checks_message_and_no_instructor_tools(
        answers, tmp_path):
    """What a student sees with a swapped product gradient: the check's sentence, their line."""
    chromium_or_skip()
    swapped = next(v for v in variants_for(LESSON) if v.name == "product-gradients-swapped")
    folder = lesson_copy(tmp_path, apply_variant(answers, swapped))
    with student_lab(folder, tmp_path) as (url, token):
        shown = run_all(url, token, tmp_path)
    assert len(shown["errors"]) == 1, "Run All stops at the first failing cell"
    error = shown["errors"][0]
    assert "df/dx should be 5.0, got -2.0" in error
    assert "assert_values(" in error, "the student's check line is shown"
    assert "gradient_check.py" not in error, "no traceback into the course's code"
    # The student view keeps Assignments and Validate, without the instructor's tools.
    assert not any(re.search("Formgrader|Course", item) for item in shown["nbgrader_menu"]), \
        shown["nbgrader_menu"]
    assert shown["formgrader_status"] == 404


def test_run_all_on_the_release_stops_at_the_first_unanswered_part(tmp_path):
    """The untouched release: Run All stops at the first check, whose call hits a stub."""
    chromium_or_skip()
    with student_lab(lesson_copy(tmp_path, None), tmp_path) as (url, token):
        shown = run_all(url, token, tmp_path)
    assert len(shown["errors"]) == 1, "Run All stops at the first failing cell"
    assert "NotImplementedError" in shown["errors"][0]
    assert "grad_product(-2.0, 5.0)" in shown["errors"][0], "the first check's own line"


def test_run_all_on_the_solution_passes_every_check(answers, tmp_path):
    chromium_or_skip()
    folder = lesson_copy(tmp_path, answers)
    with student_lab(folder, tmp_path) as (url, token):
        shown = run_all(url, token, tmp_path)
    assert [e for e in shown["errors"] if "Error" in e] == []


def written_answers(root: Path, lesson: str) -> dict[str, float]:
    """grade_id -> points of the lesson's answers graded by hand (markdown solution cells)."""
    import nbformat
    notebook = nbformat.read(source_notebook(root, lesson), as_version=4)
    return {cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
            for cell in notebook.cells
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")}


def exported_score(root: Path, lesson: str, student: str) -> float:
    nbgrader(root, "export")
    with open(root / "grades.csv", newline="") as table:
        rows = [row for row in csv.DictReader(table)
                if row["assignment"] == lesson and row["student_id"] == student]
    assert len(rows) == 1, rows
    return float(rows[0]["score"])


def test_written_answers_graded_in_the_formgrader_land_in_grades_csv(tmp_path):
    chromium_or_skip()
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright
    lesson, student = "lesson5", "ada"
    root = copy_course(ROOT, tmp_path / "course")
    generate_release(root, [lesson])
    write_submission(root, lesson, student, reference_answers(source_notebook(root, lesson)))
    nbgrader(root, "autograde", lesson)
    by_hand = written_answers(root, lesson)
    assert by_hand, "lesson 5 has written answers"
    before = exported_score(root, lesson, student)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(
            notebook_name(root, lesson), lesson, student).id

    scratch = tmp_path / "scratch"
    (scratch / "config").mkdir(parents=True)
    with student_lab(root, scratch, config_dir=scratch / "config") as (url, token), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_or_skip(),
                                             args=BROWSER_FLAGS)
        # The token as a header: the formgrader's page calls its API without the URL's token.
        page = browser.new_page(viewport={"width": 1400, "height": 1000},
                                extra_http_headers={"Authorization": f"token {token}"})
        # The page binds its score fields once it has loaded the submission's grades.
        with page.expect_response(lambda r: "/formgrader/api/grades?" in r.url and r.ok):
            page.goto(f"{url}/formgrader/submissions/{submission}/")
        page.wait_for_load_state("networkidle")
        for grade_id, points in by_hand.items():
            score = page.locator(f"input.score#{grade_id}")
            # The formgrader saves a score when the field changes (on leaving it).
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                      and r.request.method == "PUT" and r.ok):
                score.fill(f"{points:g}")
                score.press("Tab")
        page.screenshot(path=scratch / "formgrader.png", full_page=True)
        browser.close()

    assert exported_score(root, lesson, student) == pytest.approx(before + sum(by_hand.values()))
