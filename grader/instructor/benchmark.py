"""Time and memory of grading a simulated class: nbgrader's commands against ``grade_class``.

``python -m grader.instructor.benchmark [--students N] [--jobs J] [LESSON ...]``

Builds one class (N students for each lesson that exists: reference answers, untouched
stubs and the catalogued variants, in turn), copies it three times, and grades one copy with
sequential nbgrader commands (``autograde`` and ``generate_feedback`` per lesson, then
``export``; with the course's config, so checks are trusted and kernels sandboxed), one with
``grade_class`` (which also writes the report) and one with ``grade_class --no-sandbox``.
Prints the wall time and peak memory of each, the ratios, the time the sandbox adds per
submission, and checks the gradebooks agree.

Peak memory is measured two ways: the largest single process (``ru_maxrss`` of the waited-for
process tree, via ``getrusage(RUSAGE_CHILDREN)`` in a wrapper process) and the whole tree at
once (the sum of resident memory over all descendants, sampled from /proc every 0.2 s; Linux).
This is a script that prints figures, not a test: timings depend on the machine's load.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.instructor.course_dir import course_id, generate_release, lessons, notebook_name
from grader.instructor.submissions import (
    reference_answers,
    write_submission,
    write_variant_submission,
)
from grader.instructor.variants import variants_for

ROOT = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Runs the commands in turn, then reports the peak RSS (KiB on Linux) of its descendants.
WRAPPER = """
import json, resource, subprocess, sys
commands, cwd, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
for command in commands:
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
open(out, "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def build_class(root: Path, lesson_ids: list[str], students: int) -> int:
    """Release the lessons and hand in ``students`` submissions per lesson; returns the count."""
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
            else:
                write_variant_submission(root, lesson, student, kind)
    return students * len(lesson_ids)


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
    """Run the commands in turn in a wrapper process; wall time and peak memory in MB."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as result:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        started = time.monotonic()
        wrapper = subprocess.Popen([sys.executable, "-c", WRAPPER, json.dumps(commands),
                                    str(cwd), result.name], env=env)
        peak = [0]

        def sample() -> None:
            while wrapper.poll() is None:
                peak[0] = max(peak[0], tree_rss(wrapper.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        if wrapper.wait() != 0:
            raise SystemExit(f"benchmark command failed: {commands}")
        seconds = time.monotonic() - started
        sampler.join()
        largest_kib = int(Path(result.name).read_text() or 0)
    return {"seconds": seconds, "largest_mb": largest_kib / 1024, "tree_mb": peak[0] / 2**20}


def totals(root: Path, lesson_ids: list[str]) -> dict[tuple[str, str], float]:
    """(lesson, student) -> total score in the course's gradebook."""
    scores = {}
    course = course_id(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course) as gradebook:
        for lesson in lesson_ids:
            for student in sorted(p.name for p in (root / "submitted").iterdir()):
                try:
                    scores[lesson, student] = gradebook.find_submission(lesson, student).score
                except MissingEntry:
                    scores[lesson, student] = float("nan")
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="default: every lesson in source/")
    parser.add_argument("--students", type=int, default=40, help="per lesson (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="grade_class --jobs (default 2)")
    args = parser.parse_args(argv)
    lesson_ids = args.lessons or lessons(ROOT)
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        base = Path(tmp) / "class"
        base.mkdir()
        count = build_class(base, lesson_ids, args.students)
        stock, ours, bare = Path(tmp) / "stock", Path(tmp) / "ours", Path(tmp) / "bare"
        for copy in (stock, ours, bare):
            shutil.copytree(base, copy)
        nb = [sys.executable, "-m", "nbgrader"]
        print(f"simulated class: {args.students} students x {len(lesson_ids)} lesson(s) "
              f"({', '.join(lesson_ids)}) = {count} submissions", flush=True)
        print("grading with the nbgrader commands, one after another...", flush=True)
        stock_run = measure([[*nb, "autograde", lesson, "--force"] for lesson in lesson_ids]
                            + [[*nb, "generate_feedback", lesson, "--force"]
                               for lesson in lesson_ids] + [[*nb, "export"]], stock)
        print(f"grading with grade_class --jobs {args.jobs}...", flush=True)
        ours_run = measure([[sys.executable, "-m", "grader.instructor.grade_class", *lesson_ids,
                             "--root", str(ours), "--jobs", str(args.jobs), "--quiet"]], ours)
        print(f"grading with grade_class --jobs {args.jobs} --no-sandbox...", flush=True)
        bare_run = measure([[sys.executable, "-m", "grader.instructor.grade_class", *lesson_ids,
                             "--root", str(bare), "--jobs", str(args.jobs), "--quiet",
                             "--no-sandbox"]], bare)
        agree = sum(a == b for a, b in zip(totals(stock, lesson_ids).values(),
                                           totals(ours, lesson_ids).values()))
    rows = [("nbgrader CLI, sequential", stock_run), (f"grade_class --jobs {args.jobs}",
                                                       ours_run),
            ("  ... --no-sandbox", bare_run)]
    print(f"\n{'':28}{'wall time':>12}{'peak RSS, largest process':>28}"
          f"{'peak RSS, whole tree':>24}")
    for name, run in rows:
        print(f"{name:28}{run['seconds']:>10.1f} s{run['largest_mb']:>25.0f} MB"
              f"{run['tree_mb']:>21.0f} MB")
    ratio = {key: ours_run[key] / stock_run[key] if stock_run[key] else float("nan")
             for key in stock_run}
    print(f"{'grade_class / nbgrader CLI':28}{ratio['seconds']:>11.2f}x"
          f"{ratio['largest_mb']:>27.2f}x{ratio['tree_mb']:>23.2f}x")
    # Jobs run side by side: a submission's own overhead is the difference times the jobs.
    overhead = (ours_run["seconds"] - bare_run["seconds"]) * args.jobs / count
    print(f"the sandbox adds {overhead:+.2f} s per submission "
          f"({ours_run['seconds'] / bare_run['seconds']:.2f}x the unsandboxed run)")
    print(f"\nscores agree on {agree} of {count} submissions")


if __name__ == "__main__":
    main()
