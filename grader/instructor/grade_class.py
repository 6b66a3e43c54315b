"""Grade a whole class with one command: ``python -m grader.instructor.grade_class [LESSON ...]``.

For every submission in ``submitted/<student>/<lesson>/`` of the given lessons (default: all):

1. rebuild it (``repair``): the release notebook with the student's answers put in, damage
   undone and reported; an unreadable one is recorded with zero points;
2. send it as a task to a Dask cluster (``cluster``: local, ``--jobs`` workers, or an
   existing one, ``--scheduler``); a worker autogrades it and writes its feedback with
   nbgrader's own API (``grading_task``), each cell limited in time, the notebook in total
   time and the kernel in memory, and sends back the results;
3. write the results into the course (this process alone writes the gradebook, the
   autograded notebooks, the feedback and the journal), tick the progress bar (with ETA, by
   finished tasks) and record the outcome, so that a rerun, or a run after a kill, grades
   only what is not finished.

Then ``nbgrader export`` writes ``grades.csv`` and ``report`` writes ``reports/index.html``:
per-question pass rates, score distributions and the list of damaged submissions.
"""

import argparse
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from distributed import as_completed
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from grader.instructor import collect, journal, report
from grader.instructor.cluster import grading_client
from grader.instructor.course_dir import course_config, course_id, nbgrader, notebook_name
from grader.instructor.course_dir import lessons as course_lessons
from grader.instructor.feedback import install_mathjax
from grader.instructor.grade_submission import Limits
from grader.instructor.gradebook import export_grades, gradebook_url
from grader.instructor.grading_task import (
    TaskResult,
    grade_task,
    lesson_bundle,
    store_result,
    submission_payload,
)
from grader.instructor.journal import GRADED, LEFT, NOT_GRADED, REPAIRED, Outcome
from grader.instructor.kernel_sandbox import (
    NO_SANDBOX_VARIABLE,
    SandboxUnavailable,
    check_sandbox,
    sandbox_disabled,
)
from grader.instructor.late import due_dates
from grader.instructor.repair import Finding, prepare
from grader.instructor.safeguards import KERNEL_DIED, KERNEL_HUNG, TIMEOUT_ERROR
from grader.instructor.task_order import LongestLessonFirst


@dataclass(frozen=True)
class Settings:
    """How submissions are run. cell_timeout None: nbgrader_config.py's ``Execute.timeout``."""

    cell_timeout: int | None = None
    memory_limit_mb: int = 2048
    max_output_bytes: int = 100_000
    jobs: int | None = None  # workers of the local cluster (None: one per core)
    submission_timeout: int | None = None
    force: bool = False
    names: bool = False  # the class report shows student ids in its examples
    scheduler: str | None = None  # an existing Dask cluster's address, instead of a local one


def effective_cell_timeout(root: Path, settings: Settings) -> int:
    configured = course_config(root).get("Execute", {}).get("timeout", 30)
    return settings.cell_timeout or int(configured)


def submissions(root: Path, lesson_ids: list[str]) -> list[tuple[str, str]]:
    """(lesson, student) for every submission folder of the lessons."""
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return [(lesson, student.name) for lesson in lesson_ids
            for student in sorted(submitted.iterdir()) if (student / lesson).is_dir()]


def ensure_in_gradebook(root: Path, lesson_ids: list[str], course_id: str) -> None:
    """Generate the release of any lesson the gradebook does not know (autograde needs it),
    and give each lesson the due date the course's late policy names (late.LatePenalty)."""
    due = due_dates(course_config(root))
    for lesson in lesson_ids:
        with Gradebook(gradebook_url(root), course_id) as gradebook:
            try:
                gradebook.find_notebook(notebook_name(root, lesson), lesson)
                known = (root / "release" / lesson).is_dir()
            except MissingEntry:
                known = False
        if not known:
            nbgrader(root, "generate_assignment", lesson, "--force")
        with Gradebook(gradebook_url(root), course_id) as gradebook:
            gradebook.update_or_create_assignment(lesson, duedate=due.get(lesson))


def record_zero(root: Path, lesson: str, student: str, course_id: str) -> None:
    """Zero for every graded cell, as nbgrader itself records a missing notebook, and no
    stale autograded notebook or feedback from an earlier submission."""
    with Gradebook(gradebook_url(root), course_id) as gradebook, warnings.catch_warnings():
        # nbgrader's update_or_create_submission trips SQLAlchemy autoflush warnings on a
        # new submission; the rows are written correctly, the warnings are noise.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(lesson, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()
    for step in ("autograded", "feedback"):
        shutil.rmtree(root / step / student / lesson, ignore_errors=True)


EXECUTION_PROBLEMS = {
    TIMEOUT_ERROR: "ran past the {timeout} s time limit",
    KERNEL_HUNG: "ran past the {timeout} s time limit and ignored the interrupt",
    KERNEL_DIED: "killed the kernel",
    "MemoryError": "ran out of memory (limit {memory} MiB)",
}


def execution_findings(root: Path, lesson: str, student: str, timeout: int,
                       settings: Settings) -> list[Finding]:
    """Cells of the autograded notebook that timed out, killed the kernel, ran out of memory
    or printed more than the output limit."""
    path = root / "autograded" / student / lesson / f"{notebook_name(root, lesson)}.ipynb"
    findings = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        meta = cell.metadata.get("nbgrader", {})
        where = f"cell {meta.get('grade_id', f'#{index + 1}')}"
        graded = meta.get("grade") and not meta.get("solution")
        for output in cell.get("outputs", []):
            if output.output_type == "error" and output.ename in EXECUTION_PROBLEMS:
                problem = EXECUTION_PROBLEMS[output.ename].format(
                    timeout=timeout, memory=settings.memory_limit_mb)
                action = ("0 points for this test" if graded
                          else "cell stopped; the rest of the notebook was graded")
                findings.append(Finding(where, problem, action, repaired=False))
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            if "of output removed ..." in text:
                findings.append(Finding(where, "printed more than "
                                        f"{settings.max_output_bytes} characters",
                                        "output cut in the feedback", repaired=False))
    return findings


class ClassGrader:
    """Grades submissions of one course folder with the given settings: prepares each one
    here, has a worker grade it, and records what came back."""

    def __init__(self, root: Path, settings: Settings, course_id: str):
        self.root, self.settings, self.course_id = root, settings, course_id
        self.timeout = effective_cell_timeout(root, settings)
        self.budget = settings.submission_timeout or max(300, 30 * self.timeout)
        self.limits = Limits(cell_timeout=self.timeout, memory_limit_mb=settings.memory_limit_mb,
                             max_output_bytes=settings.max_output_bytes, budget=self.budget,
                             sandbox=not sandbox_disabled())
        self.settings_key = (f"timeout={self.timeout};memory={settings.memory_limit_mb};"
                             f"output={settings.max_output_bytes}")

    def fingerprint(self, lesson: str, student: str) -> str:
        return journal.fingerprint(self.root, lesson, student, self.settings_key)

    def start(self, lesson: str, student: str) -> "Started":
        """Rebuild the submission and gather what is known before grading it."""
        began = time.monotonic()
        current = self.fingerprint(lesson, student)
        journal.forget(self.root, lesson, student)
        prepared = prepare(self.root, lesson, student)
        collected = collect.load(self.root, lesson).get(student)
        findings = (collected.findings if collected else []) + list(prepared.findings)
        payload = None
        if prepared.input_step is not None:
            payload = submission_payload(self.root / prepared.input_step / student / lesson,
                                         lesson, student, notebook_name(self.root, lesson))
        return Started(lesson, student, current, findings, prepared.repaired, payload,
                       time.monotonic() - began)

    def finish(self, started: "Started", result: TaskResult | None) -> Outcome:
        """Record one submission: its results, or zero when it cannot be graded.
        ``result`` None: nothing to grade (the notebook was missing or unreadable)."""
        began = time.monotonic()
        lesson, student, findings = started.lesson, started.student, list(started.findings)
        name = f"{notebook_name(self.root, lesson)}.ipynb"
        if result is None or result.over_budget:  # the student's to fix: 0
            if result is not None:
                findings.append(Finding(name, f"nbgrader could not grade it: {result.error}",
                                        "0 points"))
            record_zero(self.root, lesson, student, self.course_id)
            status = NOT_GRADED
        elif not result.success:  # grading failed, not the student: never a silent 0
            findings.append(Finding(name, f"nbgrader could not grade it: {result.error}",
                                    "no grade recorded; the next run tries again"))
            status = LEFT
        else:
            store_result(self.root, lesson, student, result)
            findings += execution_findings(self.root, lesson, student, self.timeout,
                                           self.settings)
            if result.feedback_error:
                findings.append(Finding("feedback", result.feedback_error,
                                        "no feedback page", repaired=False))
            status = REPAIRED if started.repaired else GRADED
        if result is not None and result.log:
            log = self.root / "reports" / "logs" / lesson / f"{student}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(result.log)
        return Outcome(lesson, student, status, findings, result.seconds if result else 0.0,
                       started.fingerprint,
                       round(started.seconds + time.monotonic() - began, 3))

    def pending(self, work: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The submissions not already finished with the same inputs."""
        if self.settings.force:
            return list(work)
        with Gradebook(gradebook_url(self.root), self.course_id) as gradebook:
            return [(lesson, student) for lesson, student in work
                    if not journal.still_valid(self.root, journal.load(self.root, lesson, student),
                                               self.fingerprint(lesson, student), gradebook)]


@dataclass(frozen=True)
class Started:
    """A submission prepared for grading."""

    lesson: str
    student: str
    fingerprint: str
    findings: list[Finding]
    repaired: bool
    payload: object  # grading_task.Submission, or None when there is nothing to grade
    seconds: float  # spent preparing it


def failed_task(error: BaseException) -> TaskResult:
    """The result of a task that raised or whose workers all died."""
    text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    return TaskResult(success=False, error=f"the grading task failed ({text})")


def grade_on_cluster(root: Path, grader: ClassGrader, todo: list[tuple[str, str]],
                     bar: tqdm) -> None:
    """Grade ``todo`` on the cluster, recording each submission as its task finishes.

    Only a few tasks more than there are workers are sent at a time, so a class of any
    size never sits in memory at once; the costliest lessons go first (``task_order``).
    """
    with grading_client(grader.settings.scheduler, grader.settings.jobs) as client:
        # Each task carries its lesson (tens of kB): a worker that joins late, or one that
        # replaces a dead one, needs nothing from the others.
        bundles = {lesson: lesson_bundle(root, lesson) for lesson in {item[0] for item in todo}}
        window = 2 * max(1, len(client.scheduler_info(n_workers=-1)["workers"]) or 1) + 2
        queue, running, finished = LongestLessonFirst(todo), {}, as_completed()

        def record(outcome: Outcome) -> None:
            journal.save(root, outcome)
            bar.set_postfix_str(f"{outcome.lesson}/{outcome.student}: {outcome.status}")
            bar.update(1)

        def send_next() -> None:
            for lesson, student in queue:
                started = grader.start(lesson, student)
                if started.payload is None:
                    record(grader.finish(started, None))
                    continue
                future = client.submit(grade_task, bundles[lesson], started.payload,
                                       grader.limits, pure=False,
                                       key=f"grade-{lesson}-{student}-{time.time_ns()}")
                running[future.key] = started
                finished.add(future)
                return

        for _ in range(window):
            send_next()
        for future in finished:
            try:
                result = future.result()
            except Exception as error:  # a crashed task, or every worker it ran on died
                result = failed_task(error)
            started = running.pop(future.key)
            if result.success and not result.over_budget:
                queue.measured(started.lesson, result.seconds)
            record(grader.finish(started, result))
            future.release()
            send_next()


def run(root: Path, lesson_ids: list[str] | None = None, settings: Settings = Settings(),
        progress: bool = True) -> list[Outcome]:
    """Grade every submission of the lessons, export grades.csv, write the report."""
    root = Path(root).resolve()
    # nbgrader starts `alembic` by name: this environment's bin first, with or without make.
    bin_folder = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_folder + os.pathsep):
        os.environ["PATH"] = f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}"
    lesson_ids = lesson_ids or course_lessons(root)
    unknown = sorted(set(lesson_ids) - set(course_lessons(root)))
    if unknown:
        raise SystemExit(f"no such lesson in source/: {', '.join(unknown)}")
    course = course_id(root)
    with journal.exclusive_run(root):
        ensure_in_gradebook(root, lesson_ids, course)
        install_mathjax(root)
        work = submissions(root, lesson_ids)
        grader = ClassGrader(root, settings, course)
        todo = grader.pending(work)
        bar = tqdm(total=len(work), initial=len(work) - len(todo), unit="submission",
                   desc="grading", disable=not progress, dynamic_ncols=True)
        try:
            if todo:
                grade_on_cluster(root, grader, todo, bar)
        finally:
            bar.close()
        export_grades(root)
    outcomes = [journal.load(root, lesson, student) for lesson, student in work]
    outcomes = [outcome for outcome in outcomes if outcome is not None]
    page = report.write_report(root, lesson_ids, outcomes, course, names=settings.names)
    _print_summary(outcomes, page)
    return outcomes


def _print_summary(outcomes: list[Outcome], page: Path) -> None:
    count = {status: sum(o.status == status for o in outcomes)
             for status in (GRADED, REPAIRED, NOT_GRADED, LEFT)}
    print(f"{len(outcomes)} submissions: {count[GRADED]} graded, "
          f"{count[REPAIRED]} graded after repair, {count[NOT_GRADED]} could not be graded"
          + (f", {count[LEFT]} left for the next run (grading failed)" if count[LEFT] else ""))
    for outcome in outcomes:
        for finding in outcome.findings:
            print(f"  {outcome.student} {outcome.lesson} {finding.where}: {finding.problem} "
                  f"-> {finding.action}")
    print(f"grades.csv written; report: {page}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m grader.instructor.grade_class",
        description="Autograde every submission of the given lessons (default: all), "
                    "generate feedback, export grades.csv and write reports/index.html.")
    parser.add_argument("lessons", nargs="*", help="lesson ids, e.g. lesson1 (default: all)")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="course folder (holds nbgrader_config.py); default: here")
    parser.add_argument("--jobs", type=int, default=None,
                        help="workers of the local Dask cluster, one submission each at a "
                             "time (default: one per core)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="grade on an existing Dask cluster (e.g. tcp://host:8786) whose "
                             "workers run `dask worker ADDRESS --nthreads 1` with the grading "
                             "environment installed; default: a local cluster")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell may run (default: Execute.timeout of the config)")
    parser.add_argument("--memory-limit-mb", type=int, default=Settings.memory_limit_mb,
                        help="memory a kernel may use, MiB (0: no limit; default %(default)s)")
    parser.add_argument("--max-output-bytes", type=int, default=Settings.max_output_bytes,
                        help="output a cell keeps in the feedback (default %(default)s)")
    parser.add_argument("--submission-timeout", type=int, default=None,
                        help="seconds one submission may take in all (default: 30 cell "
                             "timeouts, at least 300)")
    parser.add_argument("--force", action="store_true",
                        help="regrade everything, not only new or changed submissions")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--names", action="store_true",
                        help="the class report's examples show student ids (default: "
                             "anonymised copies of the feedback pages)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="UNSAFE: run kernels without the bubblewrap sandbox, as you, "
                             "with your files, environment and network (only where user "
                             "namespaces are unavailable and every submission is trusted)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.no_sandbox:
        os.environ[NO_SANDBOX_VARIABLE] = "1"  # the workers inherit it
    else:
        try:
            check_sandbox()
        except SandboxUnavailable as error:
            raise SystemExit(f"cannot grade: {error}") from None
    settings = Settings(cell_timeout=args.timeout, memory_limit_mb=args.memory_limit_mb,
                        max_output_bytes=args.max_output_bytes, jobs=args.jobs,
                        submission_timeout=args.submission_timeout, force=args.force,
                        names=args.names, scheduler=args.scheduler)
    run(args.root, args.lessons, settings, progress=not args.quiet)


if __name__ == "__main__":
    main()
