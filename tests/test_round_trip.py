"""nbgrader's whole round trip through a real exchange folder, and the exchange's holes.

The round trip (``grader.instructor.round_trip``): three students fetch, alice submits twice,
bob submits after the due date, carol never submits; the instructor collects, grades and
releases feedback; the students fetch it. Then a class whose exchange a student tampered
with: a backdated submission, a notebook that is a symlink to the instructor's solutions,
an inbound entry that is itself a symlink, and (where the tests can create accounts) a
submission written into another student's name.
"""

import csv
import os
import pwd
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.instructor import collect, grade_class
from grader.instructor.collect import TIME_FORMAT
from grader.instructor.course_dir import course_id, generate_release
from grader.instructor.gradebook import cell_scores
from grader.instructor.graded_course import copy_course, source_notebook
from grader.instructor.round_trip import (
    LESSON,
    fetched_notebook,
    nbgrader_as,
    round_trip,
    set_due_date,
)
from grader.instructor.submissions import fill_answers, reference_answers
from tests.conftest import ROOT

SETTINGS = grade_class.Settings(cell_timeout=60, jobs=2)
NOTEBOOK = "chain_rule.ipynb"


@pytest.fixture(scope="module")
def trip(tmp_path_factory):
    root, homes, rows = round_trip(tmp_path_factory.mktemp("trip"), settings=SETTINGS)
    return root, homes, {row.student: row for row in rows}


def test_the_latest_on_time_submission_is_graded_and_the_count_reported(trip):
    root, _, rows = trip
    alice = rows["alice"]
    assert alice.submissions == 2 and alice.seconds_late == 0 and alice.penalty == 0
    assert alice.score == alice.max_score  # the second, fixed submission
    findings = collect.load(root, LESSON)["alice"].findings
    assert any(f.problem == "2 submissions" for f in findings)


def test_a_late_submission_loses_the_configured_penalty(trip):
    root, _, rows = trip
    bob = rows["bob"]
    assert bob.submissions == 1 and bob.seconds_late > 0
    raw = sum(c.score for c in cell_scores(root, LESSON, "bob").values())
    assert 0 < raw < bob.max_score
    assert bob.penalty == pytest.approx(0.1 * raw)  # 10% per day, less than a day late
    assert bob.score == pytest.approx(raw - bob.penalty)
    grades = {row["student_id"]: row for row in csv.DictReader(open(root / "grades.csv"))
              if row["assignment"] == LESSON}
    assert float(grades["bob"]["late_submission_penalty"]) == pytest.approx(bob.penalty)
    assert float(grades["alice"]["late_submission_penalty"]) == 0


def test_a_student_who_never_submitted_has_no_grade_and_no_feedback(trip):
    _, homes, rows = trip
    assert rows["carol"].submissions == 0 and rows["carol"].score is None
    assert not list((homes / "carol" / LESSON).glob("feedback/*/*.html"))


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_students_fetch_feedback_that_matches_their_grades(trip, student):
    """The page shows the grade (after any late penalty) and the points of every test."""
    root, homes, rows = trip
    pages = list((homes / student / LESSON).glob(f"feedback/*/{NOTEBOOK[:-6]}.html"))
    assert len(pages) >= 1, f"{student} fetched no feedback"
    newest = max(pages, key=lambda p: p.parent.name)
    page = newest.read_text()
    shown = re.search(r"Score: ([0-9.]+) / ([0-9.]+)", page)
    assert shown and float(shown.group(1)) == pytest.approx(rows[student].score), newest
    for grade_id, cell in cell_scores(root, LESSON, student).items():
        listed = re.search(rf'href="#{grade_id}">Test cell</a> \(Score: ([0-9.]+) / ', page)
        assert listed and float(listed.group(1)) == cell.score, grade_id


# --- a tampered exchange ---------------------------------------------------------------------

def inbound_folder(exchange: Path, course: str, student: str, when: datetime) -> Path:
    folder = (exchange / course / "inbound"
              / f"{student}+{LESSON}+{when.strftime(TIME_FORMAT)}+forged")
    folder.mkdir(parents=True)
    return folder


def hand_in(root: Path, folder: Path, answers: dict | None, when: datetime) -> None:
    """What nbgrader submit writes, by hand: the notebook and the student's own clock."""
    shutil.copy(root / "release" / LESSON / NOTEBOOK, folder / NOTEBOOK)
    if answers:
        fill_answers(folder / NOTEBOOK, answers)
    (folder / "timestamp.txt").write_text(when.strftime(TIME_FORMAT))


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    work = tmp_path_factory.mktemp("tampered")
    root = copy_course(ROOT, work / "course")
    exchange = work / "exchange"
    exchange.mkdir()
    course = course_id(root)
    generate_release(root, [LESSON])
    now = datetime.now(UTC)
    set_due_date(root, LESSON, now - timedelta(days=1))
    reference = reference_answers(source_notebook(root, LESSON))
    # dave: an honest submission through nbgrader (after the due date).
    nbgrader_as(None, root, "release_assignment", LESSON, exchange=exchange, course=course)
    (work / "dave").mkdir()
    nbgrader_as("dave", work / "dave", "fetch_assignment", LESSON, exchange=exchange,
                course=course)
    fill_answers(fetched_notebook(work / "dave", root, LESSON), reference)
    nbgrader_as("dave", work / "dave", "submit", LESSON, exchange=exchange, course=course)
    # erin: the reference, claiming to be two days old (before the due date).
    hand_in(root, inbound_folder(exchange, course, "erin", now - timedelta(days=2)),
            reference, now - timedelta(days=2))
    # frank: the notebook is a link to the instructor's solutions; a file that is no notebook.
    frank = inbound_folder(exchange, course, "frank", now)
    (frank / NOTEBOOK).symlink_to(root / "source" / LESSON / NOTEBOOK)
    (frank / "notes.txt").write_text("see the link")
    (frank / "timestamp.txt").write_text(now.strftime(TIME_FORMAT))
    # hana: a FIFO under the notebook's name (a plain open would wait for a writer forever).
    hana = inbound_folder(exchange, course, "hana", now)
    os.mkfifo(hana / NOTEBOOK)
    (hana / "timestamp.txt").write_text(now.strftime(TIME_FORMAT))
    # gina: the inbound entry itself is a link to the solutions' folder.
    (exchange / course / "inbound" / f"gina+{LESSON}+{now.strftime(TIME_FORMAT)}+x"
     ).symlink_to(root / "source" / LESSON)
    results = {r.student: r for r in collect.collect(root, LESSON, exchange)}
    outcomes = {o.student: o for o in grade_class.run(root, [LESSON], SETTINGS,
                                                      progress=False)}
    return root, results, outcomes


def total(root: Path, student: str) -> float:
    return sum(c.score for c in cell_scores(root, LESSON, student).values())


def test_an_honest_late_submission_is_collected_with_its_own_time(tampered):
    root, results, _ = tampered
    assert results["dave"].findings == [] and results["dave"].seconds_late > 0
    assert total(root, "dave") > 0


def test_a_backdated_submission_is_reported_and_timed_by_the_exchange(tampered):
    root, results, outcomes = tampered
    erin = results["erin"]
    assert any("the exchange recorded" in f.problem for f in erin.findings), erin.findings
    assert erin.seconds_late > 23 * 3600  # judged by when it really arrived: a day late
    assert any("the exchange recorded" in f.problem for f in outcomes["erin"].findings)


def test_a_symlink_in_the_inbound_folder_is_never_collected(tampered):
    root, results, _ = tampered
    frank = root / "submitted" / "frank" / LESSON
    assert not (frank / NOTEBOOK).exists()
    assert any(NOTEBOOK in f.where and "not collected" in f.action
               for f in results["frank"].findings), results["frank"].findings
    assert "notes.txt" in results["frank"].findings[0].where
    assert total(root, "frank") == 0
    assert results["gina"].time is None and not (root / "submitted" / "gina").exists()
    assert not (root / "submitted" / "hana" / LESSON / NOTEBOOK).exists()
    assert "not a regular file" in results["hana"].findings[0].where
    assert "symlink" in results["gina"].findings[0].problem


# --- a submission in another student's name (needs accounts) --------------------------------

@pytest.fixture
def accounts():
    """Two throwaway accounts; CI runs as root and creates them, elsewhere this skips."""
    names = ("rtest-amy", "rtest-ben")
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("creating accounts needs root and useradd")
    for name in names:
        subprocess.run(["useradd", "--no-create-home", name], check=True)
    try:
        yield {name: pwd.getpwnam(name).pw_uid for name in names}
    finally:
        for name in names:
            subprocess.run(["userdel", name], check=False)


def test_a_submission_written_by_another_account_is_not_collected_as_theirs(
        accounts, tmp_path):
    root = copy_course(ROOT, tmp_path / "course")
    generate_release(root, [LESSON])
    exchange = tmp_path / "exchange"
    course = course_id(root)
    now = datetime.now(UTC)
    reference = reference_answers(source_notebook(root, LESSON))
    # amy's own submission, then a later one that ben wrote in her name.
    own = inbound_folder(exchange, course, "rtest-amy", now - timedelta(seconds=5))
    hand_in(root, own, reference, now - timedelta(seconds=5))
    forged = inbound_folder(exchange, course, "rtest-amy", now)
    hand_in(root, forged, None, now)
    for folder, owner in ((own, "rtest-amy"), (forged, "rtest-ben")):
        for path in (folder, *folder.iterdir()):
            os.chown(path, accounts[owner], -1)
    results = {r.student: r for r in collect.collect(root, LESSON, exchange)}
    amy = results["rtest-amy"]
    assert any("written by rtest-ben, not by rtest-amy" in f.problem for f in amy.findings)
    assert amy.submissions == 2 and amy.time is not None
    collected = (root / "submitted" / "rtest-amy" / LESSON / NOTEBOOK).read_bytes()
    assert collected == (own / NOTEBOOK).read_bytes()
