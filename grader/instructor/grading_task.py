"""One submission graded as a task on a Dask worker: what the task carries, what the worker
does with it, and what comes back.

The coordinator (``grade_class``) shares no folder with the workers. A task carries the
lesson (:class:`LessonBundle`: the files of ``source/<lesson>``, the course's
``nbgrader_config.py``, the due date) and the submission (:class:`Submission`: the notebook
rebuilt from the release, nbgrader's timestamp). The worker grades it with nbgrader's API in
a scratch course folder of its own, with its own throwaway gradebook, the kernel in its
sandbox, and returns a :class:`TaskResult`: the autograded notebook, the feedback page and
the scores nbgrader saved. Only the coordinator writes them into the course
(:func:`store_result`): the gradebook, ``autograded/``, ``feedback/``, the journal.

Workers need the grading environment installed (``make install``); nothing of the course.
"""

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from grader.instructor.course_dir import course_config, course_id, notebook_name
from grader.instructor.grade_submission import Limits, grade, scratch_gradebook_url
from grader.instructor.gradebook import gradebook_url
from grader.instructor.late import due_dates
from grader.instructor.repair import NBGRADER_FILES

# nbgrader's API is not meant to run twice at once in one process: a worker started with
# several threads still grades one submission at a time.
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class LessonBundle:
    """Everything of the course a worker needs to grade one lesson."""

    course_id: str
    lesson: str
    notebook: str  # the notebook's name without .ipynb
    config_text: str  # nbgrader_config.py
    files: dict[str, bytes]  # path in source/<lesson>/ -> content (links resolved)
    due_date: str | None = None
    grader: str = ""  # grader_fingerprint() of the coordinator: workers must grade alike

    @property
    def token(self) -> str:
        digest = hashlib.sha256(repr((self.course_id, self.lesson, self.notebook,
                                      self.config_text, self.due_date)).encode())
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()[:20]


def lesson_bundle(root: Path, lesson: str) -> LessonBundle:
    root = Path(root)
    folder = root / "source" / lesson
    files = {str(path.relative_to(folder)): path.read_bytes()
             for path in sorted(folder.rglob("*"))
             if path.is_file() and ".ipynb_checkpoints" not in path.parts
             and "__pycache__" not in path.parts}
    due = due_dates(course_config(root)).get(lesson)
    return LessonBundle(course_id(root), lesson, notebook_name(root, lesson),
                        (root / "nbgrader_config.py").read_text(), files,
                        due.isoformat() if due else None, grader_fingerprint())


@functools.cache
def grader_fingerprint() -> str:
    """A hash of the grader package's code (checks, references, executor) in this process."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class GraderMismatch(RuntimeError):
    """The worker's grader is not the coordinator's: it would judge by other checks."""


@dataclass(frozen=True)
class Submission:
    """One student's rebuilt notebook (and nbgrader's small files), as bytes."""

    lesson: str
    student: str
    files: dict[str, bytes]


def submission_payload(folder: Path, lesson: str, student: str, notebook: str) -> Submission:
    """The rebuilt submission in ``folder`` (repair.prepare's output): the notebook and
    nbgrader's timestamp; the lesson's data travel with the bundle."""
    names = [f"{notebook}.ipynb", *NBGRADER_FILES]
    return Submission(lesson, student, {name: (folder / name).read_bytes() for name in names
                                        if (folder / name).is_file()})


@dataclass
class TaskResult:
    """What a worker sends back for one submission."""

    success: bool
    error: str = ""
    over_budget: bool = False
    feedback_error: str = ""
    seconds: float = 0.0
    log: str = ""
    worker: str = ""
    autograded: dict[str, bytes] = field(default_factory=dict)  # autograded/<s>/<lesson>/
    feedback: dict[str, bytes] = field(default_factory=dict)  # feedback/<s>/<lesson>/
    timestamp: str | None = None
    # notebook -> grade_id -> auto_score (None: needs a person), and the auto comments
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    penalties: dict[str, float | None] = field(default_factory=dict)


# ---- on the worker ------------------------------------------------------------------------

def _worker_folder() -> Path:
    """This worker's own folder (Dask's local directory when run by a Dask worker)."""
    try:
        from distributed import get_worker
        return Path(get_worker().local_directory) / "grading"
    except (ImportError, ValueError):
        return Path(tempfile.gettempdir()) / f"grading-{os.getpid()}"


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def scratch_course(bundle: LessonBundle) -> Path:
    """This worker's course folder for the lesson: its source, the course's config and a
    gradebook that knows the lesson (``generate_assignment``), made once per bundle."""
    root = _worker_folder() / bundle.token
    if (root / ".ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    _write_tree(root / "source" / bundle.lesson, bundle.files)
    (root / "nbgrader_config.py").write_text(bundle.config_text)
    from nbgrader.apps.api import NbGraderAPI

    from grader.instructor.grade_submission import grading_config
    api = NbGraderAPI(config=grading_config(root, Limits()))
    result = api.generate_assignment(bundle.lesson, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {bundle.lesson} failed on the worker: "
                           f"{result.get('error', '')[-2000:]}")
    with Gradebook(scratch_gradebook_url(root), bundle.course_id) as gradebook:
        gradebook.update_or_create_assignment(
            bundle.lesson, duedate=datetime.fromisoformat(bundle.due_date)
            if bundle.due_date else None)
    (root / ".ready").touch()
    return root


def _saved_scores(root: Path, bundle: LessonBundle, student: str, result: TaskResult) -> None:
    with Gradebook(scratch_gradebook_url(root), bundle.course_id) as gradebook:
        submission = gradebook.find_submission(bundle.lesson, student)
        result.timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        for notebook in submission.notebooks:
            result.scores[notebook.name] = {grade.name: grade.auto_score
                                            for grade in notebook.grades}
            result.comments[notebook.name] = {comment.name: comment.auto_comment
                                              for comment in notebook.comments}
            result.penalties[notebook.name] = notebook.late_submission_penalty
        gradebook.remove_submission(bundle.lesson, student)


def grade_task(bundle: LessonBundle, submission: Submission, limits: Limits) -> TaskResult:
    """Grade one submission on this worker; runs as a Dask task. Never raises for the
    submission's doing: a failure comes back as ``success=False`` with the reason."""
    # nbgrader starts `alembic` and kernels by name: this environment's bin goes first.
    bin_folder = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_folder + os.pathsep):
        os.environ["PATH"] = f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}"
    if bundle.grader != grader_fingerprint():
        raise GraderMismatch(f"worker {_worker_name()} has another version of the grader "
                             f"({grader_fingerprint()}, the coordinator's is {bundle.grader}): "
                             "install the same commit on every grading machine")
    with _ONE_AT_A_TIME:
        started = time.monotonic()
        root = scratch_course(bundle)
        student, lesson = submission.student, submission.lesson
        steps = [root / step / student / lesson for step in ("submitted", "autograded",
                                                                "feedback")]
        for folder in steps:
            shutil.rmtree(folder, ignore_errors=True)
        _write_tree(steps[0], submission.files)
        try:
            with warnings.catch_warnings():
                # The same SQLAlchemy noise as in store_result, from nbgrader's autograde.
                warnings.simplefilter("ignore", SAWarning)
                answer = grade(root, lesson, student, limits)
            result = TaskResult(success=answer["success"], error=answer["error"],
                                over_budget=answer["over_budget"],
                                feedback_error=answer["feedback_error"], log=answer["log"],
                                worker=_worker_name())
            if result.success:
                result.autograded = _read_tree(steps[1])
                result.feedback = _read_tree(steps[2])
                _saved_scores(root, bundle, student, result)
        finally:
            for folder in steps:
                shutil.rmtree(folder, ignore_errors=True)
        result.seconds = round(time.monotonic() - started, 2)
        return result


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


# ---- on the coordinator -------------------------------------------------------------------

def _safe_names(files: dict[str, bytes]) -> dict[str, bytes]:
    """Only plain relative paths are written into the course."""
    for name in files:
        parts = Path(name).parts
        if Path(name).is_absolute() or not parts or ".." in parts:
            raise ValueError(f"a grading worker returned the file name {name!r}")
    return files


def store_result(root: Path, lesson: str, student: str, result: TaskResult) -> None:
    """Write a successful result into the course: autograded notebook, feedback page and
    scores in the gradebook (the manual grades an instructor gave are kept)."""
    root = Path(root)
    for step, files in (("autograded", result.autograded), ("feedback", result.feedback)):
        folder = root / step / student / lesson
        shutil.rmtree(folder, ignore_errors=True)
        _write_tree(folder, _safe_names(files))
    timestamp = datetime.fromisoformat(result.timestamp) if result.timestamp else None
    with Gradebook(gradebook_url(root), course_id(root)) as gradebook, \
            warnings.catch_warnings():
        # nbgrader's update_or_create_submission trips SQLAlchemy autoflush warnings on a
        # new submission; the rows are written correctly, the warnings are noise.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(lesson, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(lesson, student)
        for name, scores in result.scores.items():
            notebook = gradebook.find_submission_notebook(name, lesson, student)
            for grade_id, auto_score in scores.items():
                grade = gradebook.find_grade(grade_id, name, lesson, student)
                grade.auto_score = auto_score
                # nbgrader's rule: a cell graded by hand before is reviewed again
                grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
            for grade_id, text in result.comments.get(name, {}).items():
                try:
                    gradebook.find_comment(grade_id, name, lesson, student).auto_comment = text
                except MissingEntry:
                    pass
            notebook.late_submission_penalty = result.penalties.get(name)
        gradebook.db.commit()
