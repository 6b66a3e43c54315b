"""Collecting submissions from nbgrader's exchange, trusting only what the exchange proves.

``python -m grader.instructor.collect LESSON [--exchange DIR]`` replaces ``nbgrader collect``.
Every student can write into the exchange's shared ``inbound/`` folder, and a student's own
client writes the submission time (the folder name and ``timestamp.txt``). So, for each
folder ``inbound/<student>+<lesson>+<time>+<random>``:

- **who wrote it**: where the machine has an account named like the student (a hub), the
  folder and the notebook must belong to it; a submission written by another account is
  reported and not collected as the student's;
- **when**: the time the student's client claims is checked against the folder's change
  time, which the kernel sets and no user can set back; a claim off by more than
  :data:`CLOCK_TOLERANCE` is reported and the exchange's time is used;
- **what**: only regular ``.ipynb`` files directly in the folder (and nbgrader's own
  ``timestamp.txt`` and ``submission_secret.txt``) are copied, never through a symlink, each
  up to a size limit; anything else is reported and left behind;
- **which**: of a student's submissions, the latest on-time one is collected (the latest
  one if none is on time); the report says how many the student made.

The outcome of each student is written to ``reports/collected/<lesson>.json`` for the class
report and ``grade_class``.
"""

import argparse
import json
import os
import pwd
import shutil
import stat
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.utils import parse_utc

from grader.instructor.course_dir import course_config, course_id
from grader.instructor.late import due_dates
from grader.instructor.repair import MAX_NOTEBOOK_BYTES, Finding

COLLECTED_DIR = Path("reports") / "collected"
CLOCK_TOLERANCE = timedelta(minutes=2)
# nbgrader's own small files in a submission; everything else but notebooks stays behind.
NBGRADER_FILES = {"timestamp.txt": 200, "submission_secret.txt": 200}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format


def utc_text(moment: datetime) -> str:
    """A naive UTC time (nbgrader's convention, see ``parse_utc``) as nbgrader writes it."""
    return f"{moment:%Y-%m-%d %H:%M:%S.%f} UTC"


@dataclass
class Submission:
    """One folder a student (or someone in their name) put in the exchange."""

    student: str
    path: Path
    time: datetime | None  # verified submission time (naive UTC); None: not usable
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Collected:
    """What was collected of one student's submissions of a lesson."""

    lesson: str
    student: str
    submissions: int
    time: str | None  # the collected submission's verified time (nbgrader's format)
    seconds_late: float
    findings: list[Finding]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Collected":
        data = dict(data)
        data["findings"] = [Finding(**f) for f in data["findings"]]
        return cls(**data)


def _account_uid(student: str) -> int | None:
    try:
        return pwd.getpwnam(student).pw_uid
    except KeyError:
        return None


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def inspect_submission(entry: Path, student: str) -> Submission:
    """Who wrote ``entry`` and when, as far as the exchange can tell."""
    where = entry.name
    info = entry.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return Submission(student, entry, None, [Finding(
            where, "not a folder (a symlink is never followed)", "not collected")])
    recorded = datetime.fromtimestamp(info.st_ctime, UTC).replace(tzinfo=None)
    findings = []
    try:
        children = list(entry.iterdir())
    except OSError as error:  # unreadable: never stops the collection of the others
        return Submission(student, entry, None, [Finding(
            where, f"cannot be read ({error.strerror})", "not collected")])
    expected = _account_uid(student)
    if expected is not None:
        owners = {info.st_uid} | {
            child.lstat().st_uid for child in children if child.suffix == ".ipynb"}
        if owners != {expected}:
            names = ", ".join(sorted(_owner(uid) for uid in owners))
            return Submission(student, entry, None, [Finding(
                where, f"written by {names}, not by {student}",
                "not collected as theirs")])
    try:
        claimed = parse_utc(entry.name.rsplit("+", 3)[2])
    except (ValueError, IndexError, OverflowError):
        claimed = None
    if claimed is None or abs(claimed - recorded) > CLOCK_TOLERANCE:
        shown = utc_text(claimed) if claimed else "no readable time"
        findings.append(Finding(
            where, f"submission time claimed {shown}, the exchange recorded "
                   f"{utc_text(recorded)}", "the exchange's time used"))
        return Submission(student, entry, recorded, findings)
    return Submission(student, entry, claimed, findings)


def inbound_submissions(exchange: Path, course: str, lesson: str) -> dict[str, list[Submission]]:
    """student -> their submissions of the lesson in the exchange's inbound folder."""
    inbound = Path(exchange) / course / "inbound"
    found: dict[str, list[Submission]] = {}
    if not inbound.is_dir():
        return found
    for entry in sorted(inbound.iterdir()):
        parts = entry.name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != lesson or not parts[0]:
            continue
        found.setdefault(parts[0], []).append(inspect_submission(entry, parts[0]))
    return found


def _copy_regular(source: Path, target: Path, limit: int) -> str | None:
    """Copy one regular file without following a symlink; the problem if it cannot be."""
    try:
        # O_NONBLOCK: a FIFO planted under a notebook's name must not hang the collection.
        handle = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return "a symlink or unreadable"
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > limit:
            return f"{info.st_size >> 10} KiB, over the {limit >> 10} KiB limit"
        target.write_bytes(stream.read(limit + 1))
    return None


def copy_submission(submission: Submission, target: Path) -> list[Finding]:
    """The submission's notebooks (and nbgrader's files) into ``target``; what stayed behind."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    left = []
    for entry in sorted(submission.path.iterdir()):
        if entry.suffix == ".ipynb":
            limit = MAX_NOTEBOOK_BYTES
        elif entry.name in NBGRADER_FILES:
            limit = NBGRADER_FILES[entry.name]
        else:
            left.append(entry.name)
            continue
        problem = _copy_regular(entry, target / entry.name, limit)
        if problem:
            left.append(f"{entry.name} ({problem})")
    (target / "timestamp.txt").write_text(utc_text(submission.time))
    if not left:
        return []
    return [Finding(", ".join(left), "in the submission but not a notebook, or a symlink",
                    "not collected", repaired=False)]


def collect(root: Path, lesson: str, exchange: Path) -> list[Collected]:
    """Copy each student's chosen submission to ``submitted/<student>/<lesson>/``."""
    root = Path(root)
    config = course_config(root)
    due = due_dates(config).get(lesson)
    results = []
    for student, submissions in inbound_submissions(exchange, course_id(root),
                                                    lesson).items():
        findings = [f for s in submissions for f in s.findings]
        usable = sorted((s for s in submissions if s.time is not None), key=lambda s: s.time)
        on_time = [s for s in usable if due is None or s.time <= due]
        chosen = (on_time or usable or [None])[-1]
        if len(submissions) > 1:
            findings.append(Finding(
                lesson, f"{len(submissions)} submissions",
                "the latest on-time one collected" if on_time else "the latest collected",
                repaired=False))
        target = root / "submitted" / student / lesson
        if chosen is None:
            if target.exists():
                shutil.rmtree(target)
            results.append(Collected(lesson, student, len(submissions), None, 0.0, findings))
            continue
        findings += copy_submission(chosen, target)
        late = max(0.0, (chosen.time - due).total_seconds()) if due else 0.0
        results.append(Collected(lesson, student, len(submissions),
                                 utc_text(chosen.time), late, findings))
    save(root, lesson, results)
    return results


def save(root: Path, lesson: str, results: list[Collected]) -> None:
    path = Path(root) / COLLECTED_DIR / f"{lesson}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_json() for r in results], indent=1))


def load(root: Path, lesson: str) -> dict[str, Collected]:
    """student -> what was collected of the lesson (empty if it was never collected)."""
    path = Path(root) / COLLECTED_DIR / f"{lesson}.json"
    if not path.is_file():
        return {}
    return {r.student: r for r in map(Collected.from_json, json.loads(path.read_text()))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="+")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--exchange", type=Path, default=None,
                        help="the exchange folder (default: nbgrader's Exchange.root)")
    args = parser.parse_args(argv)
    exchange = args.exchange or Path(course_config(args.root).get("Exchange", {}).get(
        "root", "/srv/nbgrader/exchange"))
    for lesson in args.lessons:
        for result in collect(args.root, lesson, exchange):
            print(f"{lesson} {result.student}: {result.submissions} submission(s), "
                  + (f"collected ({result.time})" if result.time else "nothing collected"))
            for finding in result.findings:
                print(f"  {finding.where}: {finding.problem} -> {finding.action}")


if __name__ == "__main__":
    main()
