"""Time and memory of grading a simulated class: nbgrader's commands against ``grade_class``
with one and with two Dask workers, and what a class of a thousand would take.

``python -m grader.instructor.benchmark [--students N] [LESSON ...]``

Builds one class (N students for each lesson: reference answers, untouched stubs and the
catalogued variants, in turn), copies it three times, and grades one copy with sequential
nbgrader commands (``autograde`` and ``generate_feedback`` per lesson, then ``export``; with the
course's config, so checks are trusted and kernels sandboxed), one with ``grade_class --jobs 1``
and one with ``grade_class --jobs 2`` (both also write the report). Prints, in this one run:

- wall time and peak memory of each, as ratios (memory per worker: the whole process tree's
  peak divided by the workers);
- per submission, the grading task's time against its floor: a fresh kernel's start (measured
  here, plain and sandboxed, the smallest of several) plus the notebook's own cell time (from
  the autograded notebook's timings);
- the scheduler's cost per task (empty tasks on a local cluster) and the coordinator's own
  time per submission, and from them an estimate for 1,000 students x 5 lessons on 20 workers;
- what this machine itself allows: a task's mean time with two at once against one at a
  time, beside the same for a plain Python loop (cores that share caches, or a host's
  turbo, slow two busy cores down whatever runs on them).

Peak memory is the sum of resident memory over the command's process tree, sampled from /proc
every 0.2 s (Linux). This is a script that prints figures, not a test: timings depend on the
machine's load.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook, MissingEntry

from grader.instructor import journal
from grader.instructor.cluster import grading_client
from grader.instructor.course_dir import course_id, generate_release, lessons, notebook_name
from grader.instructor.gradebook import gradebook_url
from grader.instructor.grading_budget import cell_times
from grader.instructor.submissions import (
    reference_answers,
    write_submission,
    write_variant_submission,
)
from grader.instructor.variants import variants_for

ROOT = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

def build_class(root: Path, lesson_ids: list[str], students: int) -> dict[tuple[str, str], str]:
    """Release the lessons and hand in ``students`` submissions per lesson.

    Returns (lesson, student) -> what was handed in (solution, stub or a variant's name).
    """
    handed = {}
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for lesson in lesson_ids:
        shutil.copytree(ROOT / "source" / lesson, root / "source" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    generate_release(root, lesson_ids)
    for lesson in lesson_ids:
        source = root / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"
        kinds = [reference_answers(source), None, *variants_for(lesson)]
        for number in range(students):
            student, kind = f"student{number:03d}", kinds[number % len(kinds)]
            if isinstance(kind, dict) or kind is None:
                write_submission(root, lesson, student, kind)
                handed[lesson, student] = "stub" if kind is None else "solution"
            else:
                write_variant_submission(root, lesson, student, kind)
                handed[lesson, student] = kind.name
    return handed


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now (0 without /proc)."""
    children = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children[parent].append(int(stat.parent.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        stack += children[current]
    return total


def measure(commands: list[list[str]], cwd: Path) -> dict[str, float]:
    """Run the commands in turn; wall time and the process tree's peak memory in MB."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    peak, seconds = 0, 0.0
    for command in commands:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)
        if process.returncode != 0:
            raise SystemExit(f"benchmark command failed: {command}")
        seconds += time.monotonic() - started
    return {"seconds": seconds, "tree_mb": peak / 2**20}


def totals(root: Path, lesson_ids: list[str]) -> dict[tuple[str, str], float]:
    """(lesson, student) -> total score in the course's gradebook."""
    scores = {}
    with Gradebook(gradebook_url(root), course_id(root)) as gradebook:
        for lesson in lesson_ids:
            for student in sorted(p.name for p in (root / "submitted").iterdir()):
                try:
                    scores[lesson, student] = gradebook.find_submission(lesson, student).score
                except MissingEntry:
                    scores[lesson, student] = float("nan")
    return scores


def kernel_start(sandboxed: bool, repeat: int = 5) -> float:
    """Seconds to start a fresh kernel, run one empty cell and stop it (the smallest of
    ``repeat``), plain or in the grading sandbox."""
    from grader.instructor.trusted import TrustedExecute

    times = []
    for _ in range(repeat):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        with tempfile.TemporaryDirectory() as folder, quiet_kernels():
            started = time.monotonic()
            if sandboxed:
                TrustedExecute(timeout=60).preprocess(nb, {"metadata": {"path": folder}})
            else:
                NotebookClient(nb, kernel_name="python3", resources={
                    "metadata": {"path": folder}}).execute()
            times.append(time.monotonic() - started)
    return min(times)


@contextmanager
def quiet_kernels():
    """Kernels started meanwhile print their banner to a null device, not to the figures."""
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def task_overhead(workers: int, tasks: int = 200) -> float:
    """Seconds the scheduler adds per task: empty tasks through a local cluster."""
    with grading_client(jobs=workers) as client:
        client.gather(client.map(abs, range(-10, 0), pure=False))  # warm up
        started = time.monotonic()
        client.gather(client.map(abs, range(tasks), pure=False))
        return (time.monotonic() - started) / tasks


LOOP = ("import time; t = time.perf_counter(); sum(range(40_000_000)); "
        "print(time.perf_counter() - t)")


def two_at_once(repeat: int = 3) -> float:
    """How much longer a CPU-bound Python loop takes when two copies run at once than alone
    (the smallest of ``repeat`` tries of each)."""
    def loops(copies: int) -> float:
        started = [subprocess.Popen([sys.executable, "-c", LOOP], stdout=subprocess.PIPE,
                                    text=True) for _ in range(copies)]
        return statistics.mean(float(process.communicate()[0]) for process in started)
    alone = min(loops(1) for _ in range(repeat))
    return min(loops(2) for _ in range(repeat)) / alone


def per_submission(root: Path, lesson_ids: list[str], start: float) -> list[dict]:
    """For each graded submission: the task's seconds, its floor, the coordinator's time."""
    rows = []
    for lesson in lesson_ids:
        name = notebook_name(root, lesson)
        for folder in sorted((root / "submitted").iterdir()):
            outcome = journal.load(root, lesson, folder.name)
            graded = root / "autograded" / folder.name / lesson / f"{name}.ipynb"
            if outcome is None or not graded.exists() or not outcome.seconds:
                continue
            floor = start + sum(cell_times(graded).values())
            rows.append({"task": outcome.seconds, "floor": floor,
                         "coordinator": outcome.coordinator_seconds})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="default: every lesson in source/")
    parser.add_argument("--students", type=int, default=6, help="per lesson (default 6)")
    args = parser.parse_args(argv)
    lesson_ids = args.lessons or lessons(ROOT)
    grade_class = [sys.executable, "-m", "grader.instructor.grade_class", *lesson_ids,
                   "--quiet", "--root"]
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        base = Path(tmp) / "class"
        base.mkdir()
        handed = build_class(base, lesson_ids, args.students)
        count = len(handed)
        copies = {name: Path(tmp) / name for name in ("stock", "one", "two")}
        for copy in copies.values():
            shutil.copytree(base, copy)
        nb = [sys.executable, "-m", "nbgrader"]
        print(f"simulated class: {args.students} students x {len(lesson_ids)} lesson(s) "
              f"({', '.join(lesson_ids)}) = {count} submissions", flush=True)
        print("grading with the nbgrader commands, one after another...", flush=True)
        runs = {"stock": measure([[*nb, "autograde", lesson, "--force"]
                                  for lesson in lesson_ids]
                                 + [[*nb, "generate_feedback", lesson, "--force"]
                                    for lesson in lesson_ids] + [[*nb, "export"]],
                                 copies["stock"])}
        for name, jobs in (("one", 1), ("two", 2)):
            print(f"grading with grade_class --jobs {jobs}...", flush=True)
            runs[name] = measure([[*grade_class, str(copies[name]), "--jobs", str(jobs)]],
                                 copies[name])
        print("starting kernels, plain and sandboxed...", flush=True)
        plain, sandboxed = kernel_start(False), kernel_start(True)
        print("timing empty tasks on a local cluster...", flush=True)
        overhead = task_overhead(2)
        print("running a Python loop alone and two at once...", flush=True)
        machine = two_at_once()
        rows = per_submission(copies["one"], lesson_ids, plain)
        rows_two = per_submission(copies["two"], lesson_ids, plain)
        stock_totals = totals(copies["stock"], lesson_ids)
        disagree = {name: {key: (stock_totals[key], value)
                           for key, value in totals(copies[name], lesson_ids).items()
                           if stock_totals[key] != value}
                    for name in ("one", "two")}
    print_figures(runs, rows, rows_two, machine, plain, sandboxed, overhead, disagree, handed)


def print_figures(runs: dict, rows: list[dict], rows_two: list[dict], machine: float,
                  plain: float, sandboxed: float, overhead: float, disagree: dict,
                  handed: dict) -> None:
    count = len(handed)
    stock = runs["stock"]
    print(f"\n{'':30}{'wall time':>12}{'ratio':>8}{'peak memory per worker':>26}{'ratio':>8}")
    for name, label, workers in (("stock", "nbgrader CLI, sequential", 1),
                                 ("one", "grade_class, 1 worker", 1),
                                 ("two", "grade_class, 2 workers", 2)):
        run = runs[name]
        memory = run["tree_mb"] / workers
        print(f"{label:30}{run['seconds']:>10.1f} s{run['seconds'] / stock['seconds']:>7.2f}x"
              f"{memory:>23.0f} MB{memory / stock['tree_mb']:>7.2f}x")
    speedup = runs["two"]["seconds"] / runs["one"]["seconds"]
    print(f"2 workers take {speedup:.2f} of 1 worker's time (target: at most 0.55)")
    task = statistics.mean(row["task"] for row in rows)
    two_task = statistics.mean(row["task"] for row in rows_two)
    # 1 worker: the run is its tasks end to end plus what it does outside them
    in_tasks = sum(row["task"] for row in rows)
    outside = runs["one"]["seconds"] - in_tasks
    best = (outside + in_tasks * machine / 2) / runs["one"]["seconds"]
    print(f"  a task takes {two_task / task:.2f}x as long with two at once as alone "
          f"({two_task:.2f} s against {task:.2f} s); a plain Python loop on this machine "
          f"{machine:.2f}x.\n  With that slowdown, and the {outside:.1f} s a run spends "
          f"outside its tasks (start-up, report), 2 workers can at best take {best:.2f} here")
    ratios = sorted(row["task"] / row["floor"] for row in rows)
    floor = statistics.mean(row["floor"] for row in rows)
    coordinator = statistics.mean(row["coordinator"] for row in rows)
    print(f"\nkernel start (one empty cell): {plain:.2f} s plain, {sandboxed:.2f} s sandboxed "
          f"(the sandbox adds {sandboxed - plain:+.2f} s)")
    print(f"per submission (1 worker, {len(rows)} graded): task {task:.2f} s, floor {floor:.2f} s "
          f"(kernel start + the notebook's own cell time); task / floor: median "
          f"{statistics.median(ratios):.2f}x, worst {ratios[-1]:.2f}x (target: at most 1.3x)")
    print(f"coordinator, per submission: {coordinator:.3f} s (rebuild, store the results); "
          f"scheduler, per task: {overhead * 1000:.1f} ms")
    # The coordinator and the scheduler each handle tasks one at a time; the workers run
    # side by side. The slowest of the three sets the pace.
    tasks, workers = 5000, 20
    on_workers = tasks * task / workers
    serial = tasks * (coordinator + overhead)
    estimate = max(on_workers, serial)
    print(f"\nestimate, 1,000 students x 5 lessons on {workers} workers: "
          f"{tasks} x {task:.2f} s / {workers} workers = {on_workers / 60:.0f} min of grading; "
          f"the coordinator and scheduler need {tasks} x {coordinator + overhead:.3f} s = "
          f"{serial / 60:.0f} min, side by side with it; so about {estimate / 60:.0f} min "
          f"({'the workers' if on_workers >= serial else 'the coordinator'} set the pace)")
    print(f"\nscores agree with the nbgrader commands: 1 worker "
          f"{count - len(disagree['one'])} of {count}, 2 workers "
          f"{count - len(disagree['two'])} of {count}")
    for name, label in (("one", "1 worker"), ("two", "2 workers")):
        for (lesson, student), (stock, ours) in sorted(disagree[name].items()):
            print(f"  {label}: {lesson}/{student} ({handed[lesson, student]}): {ours} "
                  f"(nbgrader commands: {stock})")


if __name__ == "__main__":
    main()
