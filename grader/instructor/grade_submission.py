"""A grading worker: autogrades submissions one at a time through nbgrader's API.

``grade_class`` starts one worker per parallel job and keeps it for many submissions, so
nbgrader is imported once, not once per submission. Requests arrive one JSON object per line
on stdin; each answer is one JSON line on the original stdout, which is kept for answers only
(anything else printed goes to stderr, the workers' log).

Request: ``{"lesson", "student", "input_step", "log"}`` (input_step: the folder nbgrader reads
the submission from: the copies rebuilt from the release). Answer: ``{"success", "error",
"feedback_error", "seconds"}``.
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import signal
import sys
import time
import traceback
import uuid
from pathlib import Path

from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, LimitOutput
from traitlets.config import Config

from grader.instructor.course_dir import course_config
from grader.instructor.safeguards import TruncateLargeOutput
from grader.instructor.trusted import TrustedExecute

# nbclient skips cells tagged with this; stock nbgrader thereby gives full marks to a test
# cell a student tagged "skip-execution". A tag nobody can guess means no cell is skipped.
NEVER_SKIP = f"never-skip-{uuid.uuid4().hex}"


def gradebook_url(root: Path) -> str:
    """The gradebook, opened so that a writer waits for another (up to 2 min) instead of
    failing at once: parallel workers save grades into one sqlite file."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}?timeout=120"


def autograde_preprocessors() -> list:
    """nbgrader's autograde preprocessors, with the hidden checks run in this process
    (``trusted``) and the safeguards of ``safeguards`` put in."""
    stock = Autograde.class_traits()["autograde_preprocessors"].default()
    chain = [TrustedExecute if step is Execute else step for step in stock]
    # After SaveAutoGrades and AssignLatePenalties: grades come from the full output.
    chain.insert(len(chain) - 1, TruncateLargeOutput)
    assert LimitOutput in chain and TrustedExecute in chain, "nbgrader changed its pipeline"
    return chain


def grading_config(root: Path, input_step: str, cell_timeout: int | None, memory_limit_mb: int,
                   max_output_bytes: int) -> Config:
    """The course's config with this tool's settings for one submission."""
    config = course_config(root)
    config.CourseDirectory.root = str(Path(root).resolve())
    config.CourseDirectory.submitted_directory = input_step
    config.CourseDirectory.db_url = gradebook_url(root)
    config.NbGraderAPI.log_level = "WARN"
    if cell_timeout:
        config.Execute.timeout = cell_timeout
    config.Execute.skip_cells_with_tag = NEVER_SKIP
    config.ResilientExecute.memory_limit_mb = memory_limit_mb
    config.TruncateLargeOutput.max_bytes = max_output_bytes
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    return config


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def grade(root: Path, request: dict, options: argparse.Namespace) -> dict:
    """Autograde one submission and generate its feedback. Never raises."""
    started = time.monotonic()
    answer = {"success": False, "error": "", "feedback_error": ""}
    try:
        config = grading_config(root, request["input_step"], options.timeout,
                                options.memory_limit_mb, options.max_output_bytes)
        api = NbGraderAPI(config=config)
        result = api.autograde(request["lesson"], request["student"], force=True, create=True)
        log = result.get("log", "") + result.get("error", "")
        answer["success"] = bool(result["success"])
        if not result["success"]:
            answer["error"] = _last_line(result.get("error")) or "nbgrader autograde failed"
        else:
            feedback = api.generate_feedback(request["lesson"], request["student"], force=True)
            log += feedback.get("log", "") + feedback.get("error", "")
            if not feedback["success"]:
                answer["feedback_error"] = _last_line(feedback.get("error"))
    except Exception:  # a worker must answer, whatever nbgrader raised
        log = traceback.format_exc()
        answer["error"] = _last_line(log)
    if request.get("log"):
        Path(request["log"]).parent.mkdir(parents=True, exist_ok=True)
        Path(request["log"]).write_text(log)
    answer["seconds"] = round(time.monotonic() - started, 2)
    return answer


def _die_with_parent(parent_pid: int) -> None:
    """Stop when grade_class stops, even if it is killed, so no orphan keeps grading."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # elsewhere an orphan finishes its submission, then sees stdin close
    if parent_pid and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before prctl took effect


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--parent-pid", type=int, default=0,
                        help="stop if this process (grade_class) has gone")
    parser.add_argument("--timeout", type=int, default=None)
    parser.add_argument("--memory-limit-mb", type=int, default=0)
    parser.add_argument("--max-output-bytes", type=int, default=100_000)
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    options = parse_args(argv)
    _die_with_parent(options.parent_pid)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(grade(options.root, json.loads(line), options)) + "\n")
            answers.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
