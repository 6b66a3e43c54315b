"""``python -m grader.instructor.calibrate [--seeds N] [LESSON ...]``: threshold margins.

Every lesson whose hidden checks hold an accuracy (or loss) threshold has a
``calibrate(seeds)`` function in ``grader.checks.<lesson>`` that trains the reference over
the seeds and the grading seed, exactly as the check does, and returns one
``grader.checks.common.Calibration`` per thresholded figure. This script prints them: the
threshold, the worst seed's value and the margin between them. Exit status 1 if a margin is
negative, i.e. the reference itself would fail a check on some seed.
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

from grader.checks.common import Calibration
from grader.instructor.course_dir import lessons
from grader.instructor.tables import aligned

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEEDS = 50


def lesson_calibrations(lesson: str, seeds: range) -> list[Calibration] | None:
    """``grader.checks.<lesson>.calibrate(seeds)``; None if the lesson has no threshold."""
    module = importlib.import_module(f"grader.checks.{lesson}")
    calibrate = getattr(module, "calibrate", None)
    return None if calibrate is None else calibrate(seeds)


def format_table(rows: list[tuple[str, Calibration]]) -> list[str]:
    """One aligned line per (lesson, calibration), under a header."""
    table = [("lesson", "check", "threshold", "worst (seed)", "mean", "margin", "")]
    for lesson, row in rows:
        table.append((lesson, row.check, f"{'<=' if row.upper_bound else '>='} {row.threshold:.4g}",
                      f"{row.worst:.4g} ({row.worst_seed})", f"{row.mean:.4g}",
                      f"{row.margin:+.4g}", "ok" if row.margin >= 0 else "FAILS"))
    return aligned(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"seeds 0..N-1, besides the grading seed (default {DEFAULT_SEEDS})")
    args = parser.parse_args(argv)
    rows = []
    for lesson in args.lessons or lessons(ROOT):
        started = time.perf_counter()
        found = lesson_calibrations(lesson, range(args.seeds))
        if found is None:
            print(f"{lesson}: no thresholded check", flush=True)
            continue
        print(f"{lesson}: {len(found)} thresholded figure(s) over {args.seeds} seeds in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        rows += [(lesson, row) for row in found]
    print()
    print("\n".join(format_table(rows)))
    failing = [row for _, row in rows if row.margin < 0]
    if failing:
        print(f"\nthe reference fails {len(failing)} check(s) on some seed")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
