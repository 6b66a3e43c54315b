"""The class report says what the class got wrong: the trusted checks' diagnoses, grouped by
kind, counted, and linked to examples an instructor can open."""

import csv
import re

import pytest

from grader.instructor import diagnoses, grade_class, report
from grader.instructor.course_dir import generate_release
from grader.instructor.diagnoses import (
    EARLIER_CELL_FAILED,
    NOT_ANSWERED,
    NOT_RECOGNISED,
    kinds,
)
from grader.instructor.graded_course import copy_course, source_notebook
from grader.instructor.submissions import apply_variant, reference_answers, write_submission
from grader.instructor.trusted import CHECK_NOT_FINISHED
from grader.instructor.variants import variants_for
from tests.browser import BROWSER_FLAGS, chromium_or_skip
from tests.conftest import ROOT

LESSON = "lesson2"
SETTINGS = grade_class.Settings(cell_timeout=60, jobs=2)


def failed(message: str, cell_error: str = "") -> dict:
    return {"passed": False, "message": message, "cell_error": cell_error}


# --- kinds of mistake -----------------------------------------------------------------------

def test_a_passed_verdict_names_no_mistake():
    assert kinds({"passed": True, "message": "", "cell_error": ""}) == []


def test_the_same_mistake_is_one_kind_whatever_the_numbers():
    two = failed("gradient check failed at a fresh random point:\n"
                 "  dW: relative error 5.0e-01 (tolerance 1e-06); it is 2 times too large: "
                 "a missing division (e.g. by the batch size N), or a factor counted twice?")
    three = failed(two["message"].replace("5.0e-01", "6.7e-01").replace(" 2 times", " 3 times"))
    assert kinds(two) == kinds(three) == [
        "dW: it is # times too large: a missing division (e.g. by the batch size N), or a "
        "factor counted twice?"]


def test_each_wrong_gradient_of_a_check_is_its_own_kind():
    verdict = failed("two_layer_loss: check failed on 30 random points (D=2, H=7, C=3):\n"
                     "  dW2: relative error 1.0e+00 (tolerance 1e-06); the sign is flipped\n"
                     "  db2: relative error 3.1e-01 (tolerance 1e-06); it is 30 times too "
                     "large: a missing division?")
    assert kinds(verdict) == ["two_layer_loss: dW2: the sign is flipped",
                              "two_layer_loss: db2: it is # times too large: a missing division?"]


def test_the_step_that_went_wrong_first_names_the_kind():
    verdict = failed(
        "two_layer_loss: check failed on 30 random points (D=2, H=7, C=3, reg=0.3):\n"
        "  dW2: relative error 2.77e-01 (tolerance 1e-05)\n"
        "Re-running each backward step on its own, fed the correct upstream gradient, the "
        "first wrong gradient is in softmax_cross_entropy (dscores):\n"
        "  dscores: relative error 5.28e-01 (tolerance 1e-05); it is softmax(scores) / N: "
        "the 1 at each example's correct class was never subtracted")
    assert kinds(verdict) == ["softmax_cross_entropy: dscores: it is softmax(scores) / N: "
                              "the # at each example's correct class was never subtracted"]


def test_a_wrong_quantity_with_no_recognised_mistake_is_not_recognised():
    verdict = failed("linear_backward: check failed for X: (4, 3):\n"
                     "  dW: relative error 3.1e-01 (tolerance 1e-06)")
    assert kinds(verdict) == [NOT_RECOGNISED]


def test_a_stub_is_not_answered_and_a_crash_is_named_by_its_exception():
    assert kinds(failed(CHECK_NOT_FINISHED, "NotImplementedError")) == [NOT_ANSWERED]
    assert kinds(failed("your code raised NotImplementedError: ")) == [NOT_ANSWERED]
    assert kinds(failed("your code raised ValueError: shapes (5,4) and (3,4) not aligned")) \
        == ["your code raised ValueError"]


def test_a_cell_that_failed_before_its_check_is_read_from_its_visible_check():
    visible = failed(CHECK_NOT_FINISHED, "AssertionError")
    visible["cell_message"] = ("gradient check failed at X_demo:\n  dW: relative error "
                               "1.0e+00 (tolerance 1e-06); it is the transpose of the right "
                               "gradient")
    assert kinds(visible) == ["dW: it is the transpose of the right gradient"]
    assert kinds(failed(CHECK_NOT_FINISHED, "NameError")) == [EARLIER_CELL_FAILED]
    assert kinds(failed(CHECK_NOT_FINISHED, "AssertionError")) == [NOT_RECOGNISED]
    assert kinds(failed(CHECK_NOT_FINISHED, "KeyError")) == [NOT_RECOGNISED]


def test_any_other_message_is_its_own_kind_with_numbers_hidden():
    assert kinds(failed("held-out accuracy 0.41 is below 0.90")) == [
        "held-out accuracy # is below #"]
    assert kinds(failed("loss should be np.float64(1.09), got 2.2")) == kinds(
        failed("loss should be 1.5, got np.float64(3.25)")) == ["loss should be #, got #"]


# --- a class built from the catalogue -------------------------------------------------------

@pytest.fixture(scope="module")
def diagnosed_class(tmp_path_factory):
    """Lesson 2 graded for one student per catalogued bug, two for every fifth bug (so
    counts differ), two correct alternatives, the reference and the stub. Returns the
    course root and, per student, the variant planted (None for the reference and the
    stub)."""
    root = copy_course(ROOT, tmp_path_factory.mktemp("report") / "course")
    generate_release(root, [LESSON])
    reference = reference_answers(source_notebook(root, LESSON))
    planted = {"reference": None, "stub": None}
    write_submission(root, LESSON, "reference", reference)
    write_submission(root, LESSON, "stub", None)
    bugs = [v for v in variants_for(LESSON) if not v.is_correct]
    correct = [v for v in variants_for(LESSON) if v.is_correct][:2]
    for index, variant in enumerate(bugs + correct):
        copies = 2 if index % 5 == 0 and not variant.is_correct else 1
        for copy in range(copies):
            student = f"{variant.name}-{copy}"
            write_submission(root, LESSON, student, apply_variant(reference, variant))
            planted[student] = variant
    outcomes = grade_class.run(root, [LESSON], SETTINGS, progress=False)
    return root, planted, outcomes


def losers(planted: dict, question: str) -> set[str]:
    return {student for student, variant in planted.items()
            if student == "stub" or (variant and question in variant.loses)}


def test_every_lost_test_is_counted_and_no_correct_answer_is(diagnosed_class):
    root, planted, _ = diagnosed_class
    groups = diagnoses.group(root, LESSON, list(planted))
    questions = {g.question for g in groups}
    for question in questions:
        counted = {s for g in groups if g.question == question for s in g.students}
        assert counted == losers(planted, question), question


def test_each_catalogued_mistake_is_one_group_with_the_planted_count(diagnosed_class):
    """A bug's students share the group its diagnosis names, and the group holds exactly
    the students planted with bugs of that diagnosis (two students of a bug count two)."""
    root, planted, _ = diagnosed_class
    groups = diagnoses.group(root, LESSON, list(planted))
    recognised = 0
    bugs = {v.name: v for v in planted.values() if v and not v.is_correct}
    for variant in bugs.values():
        mine = {s for s, v in planted.items() if v is variant}
        named = [g for g in groups if g.question in variant.loses
                 and diagnoses.normalise(variant.message) in g.kind]
        if not named:
            continue
        recognised += 1
        for group in named:
            same = {s for s, v in planted.items() if v and not v.is_correct
                    and group.question in v.loses
                    and diagnoses.normalise(v.message) in group.kind}
            assert mine <= set(group.students) and set(group.students) == same, group
    assert recognised >= 5


def test_the_stub_is_counted_as_not_answered(diagnosed_class):
    """Each test of the stub fails as not answered, or (a training result) because the cell
    that trains failed before it."""
    root, planted, _ = diagnosed_class
    groups = diagnoses.group(root, LESSON, list(planted))
    kinds_of_stub = {g.question: g.kind for g in groups if "stub" in g.students}
    assert set(kinds_of_stub) == {g.question for g in groups}
    assert set(kinds_of_stub.values()) <= {NOT_ANSWERED, EARLIER_CELL_FAILED}
    assert sum(kind == NOT_ANSWERED for kind in kinds_of_stub.values()) >= 6


def test_the_report_lists_the_groups_with_anonymised_examples(diagnosed_class):
    root, planted, _ = diagnosed_class
    groups = diagnoses.group(root, LESSON, list(planted))
    rows = list(csv.DictReader(open(root / "reports" / "diagnoses.csv")))
    assert [(r["question"], r["kind"], int(r["count"])) for r in rows] == [
        (g.question, g.kind, g.count) for g in groups]
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)
    page = (root / "reports" / "index.html").read_text()
    assert (root / "reports" / f"{LESSON}_diagnoses.png").stat().st_size > 0
    links = re.findall(r'href="([^"]+)"', page)
    examples = [link for link in links if link.startswith("examples/")]
    assert len(examples) == sum(g.count for g in groups)
    for link in examples:
        assert (root / "reports" / link).is_file(), link
    assert not any(f">{student}<" in page for student in planted)
    assert not any(f"/{student}/" in link for student in planted for link in links)


def test_the_report_opens_offline_in_a_browser_and_its_examples_click_through(
        diagnosed_class, tmp_path):
    from playwright.sync_api import sync_playwright
    root, _, _ = diagnosed_class
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_or_skip(),
                                             args=BROWSER_FLAGS)
        page = browser.new_page()
        remote, broken = [], []
        page.on("request", lambda r: r.url.startswith(("file:", "data:")) or remote.append(r.url))
        page.on("requestfailed", lambda r: broken.append(r.url))
        page.goto((root / "reports" / "index.html").as_uri())
        page.screenshot(path=tmp_path / "report.png", full_page=True)
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.locator("table.diagnoses tr").count() > 1
        page.locator("table.diagnoses a").first.click()
        page.wait_for_load_state("load")
        assert "/reports/examples/" in page.url
        # The example is a feedback page: its equations render with the course's MathJax.
        page.wait_for_function("document.querySelectorAll('.MathJax').length > 0",
                               timeout=30_000)
        page.screenshot(path=tmp_path / "example.png")
        assert (tmp_path / "example.png").stat().st_size > 10_000
        browser.close()
    assert remote == []
    assert [url for url in broken if "/mathjax/" not in url] == []


def test_names_shows_student_ids_and_links_their_feedback(diagnosed_class):
    """(Last in this file: it rewrites the report the tests above read.)"""
    root, _, outcomes = diagnosed_class
    report.write_report(root, [LESSON], outcomes, names=True)
    page = (root / "reports" / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert any("../feedback/stub/" in link for link in links)
    for link in links:
        if link.startswith("../feedback/"):
            assert (root / "reports" / link).resolve().is_file(), link
