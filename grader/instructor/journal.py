"""What a grading run has finished, so that a killed or repeated run redoes only the rest.

When a submission is done (autograded and its feedback written, or recorded as ungradable)
its :class:`Outcome` is saved to ``reports/.state/<lesson>/<student>.json``, atomically,
with a fingerprint of everything its grade depends on: the submitted files, the lesson's
source and the grading settings. A later run skips a submission only if the fingerprint is
unchanged and the gradebook and feedback still hold its result; anything cut short was never
saved, so it is graded again from scratch (nbgrader's ``--force``), which is idempotent.
"""

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.instructor.course_dir import notebook_name
from grader.instructor.repair import IGNORED_NAMES, Finding

STATE_DIR = "reports/.state"
GRADED, REPAIRED, NOT_GRADED = "graded", "repaired", "not graded"
# The notebook was readable but grading itself failed (a kernel that never started, a
# crashed grader): no grade is stored, and the next run tries again.
LEFT = "left for the next run"


@dataclass
class Outcome:
    """How one submission was graded: status, problems found, time taken (on the worker,
    and by the coordinator)."""

    lesson: str
    student: str
    status: str
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0  # the grading task's, on its worker
    fingerprint: str = ""
    coordinator_seconds: float = 0.0  # this process's own: rebuilding, storing the results

    @classmethod
    def from_json(cls, data: dict) -> "Outcome":
        data = dict(data)
        data["findings"] = [Finding(**finding) for finding in data.get("findings", [])]
        return cls(**data)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    # Symlinks are never followed: grading ignores them, so they cannot change a grade.
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and not IGNORED_NAMES.intersection(p.relative_to(folder).parts[:-1])
                  and p.name not in IGNORED_NAMES - {"timestamp.txt"})


def fingerprint(root: Path, lesson: str, student: str, settings: str) -> str:
    """A hash of the submission's files, the lesson's source and the grading settings."""
    digest = hashlib.sha256(settings.encode())
    for folder in (root / "submitted" / student / lesson, root / "source" / lesson):
        for path in _files(folder):
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _path(root: Path, lesson: str, student: str) -> Path:
    return Path(root) / STATE_DIR / lesson / f"{student}.json"


def load(root: Path, lesson: str, student: str) -> Outcome | None:
    """The saved outcome of a submission, or None if it was never finished."""
    try:
        return Outcome.from_json(json.loads(_path(root, lesson, student).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def save(root: Path, outcome: Outcome) -> None:
    """Record a finished submission (write then rename: a kill leaves the old file or none)."""
    path = _path(root, outcome.lesson, outcome.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(outcome), indent=1))
    os.replace(partial, path)


def forget(root: Path, lesson: str, student: str) -> None:
    _path(root, lesson, student).unlink(missing_ok=True)


def in_gradebook(gradebook: Gradebook, lesson: str, student: str) -> bool:
    """Whether every graded cell of the submission has a score (none awaits autograding)."""
    try:
        submission = gradebook.find_submission(lesson, student)
    except MissingEntry:
        return False
    grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
    return bool(grades) and all(g.auto_score is not None or g.manual_score is not None
                                for g in grades)


def still_valid(root: Path, outcome: Outcome | None, current: str,
                gradebook: Gradebook) -> bool:
    """Whether a saved outcome still stands: same inputs, results still on disk and in the
    gradebook."""
    if outcome is None or outcome.fingerprint != current or outcome.status == LEFT:
        return False
    if not in_gradebook(gradebook, outcome.lesson, outcome.student):
        return False
    if outcome.status == NOT_GRADED:
        return True
    name = notebook_name(root, outcome.lesson)
    return ((root / "autograded" / outcome.student / outcome.lesson / f"{name}.ipynb").exists()
            and (root / "feedback" / outcome.student / outcome.lesson / f"{name}.html").exists())


@contextmanager
def exclusive_run(root: Path):
    """Hold the course's grading lock; yields its file descriptor.

    Pass the descriptor to worker processes: the lock then lasts until the last of them has
    stopped, so a new run never grades beside the leftovers of a killed one.
    """
    path = Path(root) / STATE_DIR / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another grading run is using this course; waiting for it to finish",
                  flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)
