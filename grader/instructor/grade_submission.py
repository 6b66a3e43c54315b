"""Autograde one submission in a course folder with nbgrader's API, and write its feedback.

Runs on a grading worker (``grading_task``), inside the scratch course folder that worker
keeps: the hidden checks run in this process (``trusted``), the kernel in its sandbox.
"""

import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, LimitOutput
from traitlets.config import Config

from grader.instructor.course_dir import course_config
from grader.instructor.safeguards import OVER_BUDGET, TruncateLargeOutput
from grader.instructor.trusted import TrustedExecute

# nbclient skips cells tagged with this; stock nbgrader thereby gives full marks to a test
# cell a student tagged "skip-execution". A tag nobody can guess means no cell is skipped.
NEVER_SKIP = f"never-skip-{uuid.uuid4().hex}"


def scratch_gradebook_url(root: Path) -> str:
    """A worker's own gradebook in its scratch course (never the course's)."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def autograde_preprocessors() -> list:
    """nbgrader's autograde preprocessors, with the hidden checks run in this process
    (``trusted``) and the safeguards of ``safeguards`` put in."""
    stock = Autograde.class_traits()["autograde_preprocessors"].default()
    chain = [TrustedExecute if step is Execute else step for step in stock]
    # After SaveAutoGrades and AssignLatePenalties: grades come from the full output.
    chain.insert(len(chain) - 1, TruncateLargeOutput)
    assert LimitOutput in chain and TrustedExecute in chain, "nbgrader changed its pipeline"
    return chain


@dataclass(frozen=True)
class Limits:
    """How one submission is run. cell_timeout None: the course's ``Execute.timeout``;
    budget: seconds the whole notebook may take (0: no limit)."""

    cell_timeout: int | None = None
    memory_limit_mb: int = 2048
    max_output_bytes: int = 100_000
    budget: int = 0
    sandbox: bool = True


def grading_config(root: Path, limits: Limits) -> Config:
    """The course's config, with a scratch gradebook and these limits, for one submission."""
    config = course_config(root)
    config.CourseDirectory.root = str(Path(root).resolve())
    config.CourseDirectory.db_url = scratch_gradebook_url(root)
    config.NbGraderAPI.log_level = "WARN"
    if limits.cell_timeout:
        config.Execute.timeout = limits.cell_timeout
    config.Execute.skip_cells_with_tag = NEVER_SKIP
    config.ResilientExecute.memory_limit_mb = limits.memory_limit_mb
    config.ResilientExecute.budget_seconds = limits.budget
    config.TrustedExecute.course_root = str(Path(root).resolve())
    config.TrustedExecute.sandbox = limits.sandbox
    config.TruncateLargeOutput.max_bytes = limits.max_output_bytes
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    return config


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def grade(root: Path, lesson: str, student: str, limits: Limits) -> dict:
    """Autograde ``submitted/<student>/<lesson>`` of the course folder ``root`` and generate
    its feedback. Never raises.

    Returns {"success", "error", "over_budget", "feedback_error", "log", "seconds"}.
    """
    started = time.monotonic()
    answer = {"success": False, "error": "", "over_budget": False, "feedback_error": ""}
    try:
        api = NbGraderAPI(config=grading_config(root, limits))
        result = api.autograde(lesson, student, force=True, create=True)
        log = result.get("log", "") + result.get("error", "")
        answer["success"] = bool(result["success"])
        if not result["success"]:
            over = [line for line in log.splitlines() if OVER_BUDGET in line]
            answer["over_budget"] = bool(over)
            answer["error"] = (over[-1][over[-1].index(OVER_BUDGET):] if over
                               else _last_line(result.get("error")) or "nbgrader autograde failed")
        else:
            feedback = api.generate_feedback(lesson, student, force=True)
            log += feedback.get("log", "") + feedback.get("error", "")
            if not feedback["success"]:
                answer["feedback_error"] = _last_line(feedback.get("error"))
    except Exception:  # a task must answer, whatever nbgrader raised
        log = traceback.format_exc()
        answer["error"] = _last_line(log)
    answer["log"] = log
    answer["seconds"] = round(time.monotonic() - started, 2)
    return answer
