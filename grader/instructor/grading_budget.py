"""``python -m grader.instructor.grading_budget [--repeat R] [LESSON ...]``: grading time.

Runs real ``nbgrader autograde``, one submission at a time, per lesson, in temporary copies
of the course (grader.instructor.graded_course, the path the tests use):

- the reference solution and the untouched stub (an empty notebook: its visible checks fail
  at once, so it costs nbgrader's own overhead plus the given cells);
- the solution again in a copy whose source has the hidden test blocks removed.

Whole runs are printed as CPU seconds (nbgrader, its kernel and whatever else it waits for)
and wall seconds. The hidden checks' cost comes from the kernel's own per-cell timings,
which nbclient records in the autograded notebook: each test cell's time with its hidden
block minus its time without. Shares are taken of the notebook's execution time, not of the
whole run, so nbgrader's fixed start-up cost does not dilute them. A lesson is flagged when
its hidden checks add more than a quarter to that time (issue 5's budget; a share above
20%). Every figure is the smallest of R runs, taken in turns: on a shared machine other
load only ever adds time.
"""

import argparse
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat

from grader.instructor.course_dir import generate_release, lessons, nbgrader, notebook_name
from grader.instructor.graded_course import SOLUTION, STUB, copy_course, source_notebook
from grader.instructor.submissions import reference_answers, write_submission
from grader.instructor.tables import aligned

ROOT = Path(__file__).resolve().parents[2]
MAX_ADDED = 0.25
HIDDEN_BLOCK = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)


@dataclass(frozen=True)
class Run:
    """One ``nbgrader autograde`` of one submission.

    wall, cpu: seconds for the whole command; cells: grade_id (or cell index) -> seconds the
    kernel spent executing that cell.
    """

    wall: float
    cpu: float
    cells: dict[str, float]


def fastest(runs: list[Run]) -> Run:
    """Per figure, the smallest over the runs."""
    return Run(min(r.wall for r in runs), min(r.cpu for r in runs),
               {key: min(r.cells[key] for r in runs) for key in runs[0].cells})


@dataclass(frozen=True)
class Budget:
    """What grading one submission of a lesson costs, and the hidden checks' part of it."""

    lesson: str
    solution: Run
    stub: Run
    without_hidden: Run

    def hidden_by_cell(self) -> dict[str, float]:
        """Test cell -> seconds its hidden block adds (cells present in both versions)."""
        return {key: self.solution.cells[key] - self.without_hidden.cells[key]
                for key in self.solution.cells if key in self.without_hidden.cells
                and key.startswith("test_")}

    @property
    def notebook(self) -> float:
        """Seconds the kernel spends running the solution's notebook."""
        return sum(self.solution.cells.values())

    @property
    def hidden(self) -> float:
        return max(sum(self.hidden_by_cell().values()), 0.0)

    @property
    def share(self) -> float:
        """Fraction of the notebook's execution spent in hidden checks."""
        return self.hidden / self.notebook

    @property
    def added(self) -> float:
        """What the hidden checks add to the notebook's execution without them."""
        return self.hidden / max(self.notebook - self.hidden, 1e-9)

    @property
    def over(self) -> bool:
        return self.added > MAX_ADDED


def strip_hidden_tests(notebook: Path) -> int:
    """Remove every hidden test block from a source notebook in place; returns how many."""
    nb = nbformat.read(notebook, as_version=4)
    removed = 0
    for cell in nb.cells:
        cell.source, count = HIDDEN_BLOCK.subn("", cell.source)
        removed += count
    nbformat.write(nb, notebook)
    return removed


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_times(notebook: Path) -> dict[str, float]:
    """grade_id (or "cell <index>") -> seconds, from nbclient's timing metadata."""
    times = {}
    for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        execution = cell.metadata.get("execution", {})
        if cell.cell_type != "code" or "shell.execute_reply" not in execution:
            continue
        key = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        times[key] = (_timestamp(execution["shell.execute_reply"])
                      - _timestamp(execution["iopub.execute_input"])).total_seconds()
    return times


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def autograde(root: Path, lesson: str, student: str) -> Run:
    """Autograde one student's submission and time it."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    nbgrader(root, "autograde", lesson, "--student", student, "--force")
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    graded = root / "autograded" / student / lesson / f"{notebook_name(root, lesson)}.ipynb"
    return Run(wall, cpu, cell_times(graded))


def prepare(root: Path, lesson: str, with_stub: bool = True) -> None:
    """Release the lesson and hand in the solution (and the stub) in the course at root."""
    generate_release(root, [lesson])
    write_submission(root, lesson, SOLUTION, reference_answers(source_notebook(root, lesson)))
    if with_stub:
        write_submission(root, lesson, STUB, None)


def measure(scratch: Path, lesson: str, repeat: int) -> Budget:
    full = copy_course(ROOT, scratch / f"{lesson}-full")
    prepare(full, lesson)
    bare = copy_course(ROOT, scratch / f"{lesson}-without-hidden")
    if strip_hidden_tests(source_notebook(bare, lesson)) == 0:
        print(f"{lesson}: no hidden test blocks", flush=True)
    prepare(bare, lesson, with_stub=False)
    runs: dict[str, list[Run]] = {"solution": [], "stub": [], "bare": []}
    for _ in range(repeat):  # in turns, so a burst of load does not hit one figure only
        runs["solution"].append(autograde(full, lesson, SOLUTION))
        runs["bare"].append(autograde(bare, lesson, SOLUTION))
        runs["stub"].append(autograde(full, lesson, STUB))
    return Budget(lesson, fastest(runs["solution"]), fastest(runs["stub"]),
                  fastest(runs["bare"]))


def format_table(budgets: list[Budget]) -> list[str]:
    table = [("lesson", "solution run", "stub run", "notebook", "hidden", "share", "added",
              "slowest hidden check", "")]
    for b in budgets:
        by_cell = b.hidden_by_cell()
        slowest = max(by_cell, key=by_cell.get) if by_cell else "-"
        table.append((b.lesson, *(f"{r.cpu:.1f} / {r.wall:.1f} s" for r in (b.solution, b.stub)),
                      f"{b.notebook:.2f} s", f"{b.hidden:.2f} s", f"{b.share:.0%}",
                      f"{b.added:.0%}",
                      f"{slowest} {by_cell[slowest]:.2f} s" if by_cell else slowest,
                      f"OVER {MAX_ADDED:.0%}" if b.over else "ok"))
    return aligned(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    args = parser.parse_args(argv)
    budgets = []
    with tempfile.TemporaryDirectory(prefix="grading-budget-") as scratch:
        for lesson in args.lessons or lessons(ROOT):
            budgets.append(measure(Path(scratch), lesson, args.repeat))
            print(f"{lesson}: measured", flush=True)
    print()
    print("\n".join(format_table(budgets)))
    print("\nruns: CPU / wall seconds of one whole nbgrader autograde (start-up included);\n"
          "notebook: kernel seconds running the solution; hidden: what the hidden blocks add "
          "to it;\nshare = hidden / notebook; added = hidden / (notebook - hidden), "
          f"budget {MAX_ADDED:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
