"""``python -m course.instructor.calibrate [--seeds N] [LESSON ...]``: threshold margins.

Every lesson whose hidden checks hold an accuracy (or loss) threshold has a
``calibrate(seeds)`` function in ``course.checks.<lesson>`` that trains the reference over
the seeds. This script calls each one (so the thresholds are measured exactly as the lessons'
own tests measure them; nothing is re-implemented here) and prints, per check, the threshold,
the worst seed's value and the margin between them. Exit status 1 if any margin is negative,
i.e. the reference itself would fail a check on some seed.

The lessons return their figures in slightly different shapes; ``calibrations`` reads them
all (see its docstring).
"""

import argparse
import importlib
import inspect
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from course.instructor.course_dir import lessons

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEEDS = 50
# Metrics whose threshold is an upper bound when a lesson reports no threshold of its own.
UPPER_BOUND_WORDS = ("loss", "error", "cost")


@dataclass(frozen=True)
class Calibration:
    """One thresholded figure of one check, over the calibration seeds."""

    lesson: str
    check: str
    bound: str  # ">=": the figure must reach the threshold; "<=": stay below it
    threshold: float | None
    worst: float
    margin: float
    worst_seed: int | None = None


def _is_upper_bound(metric: str) -> bool:
    return any(word in metric for word in UPPER_BOUND_WORDS)


def _metric_names(result: Mapping) -> list[str]:
    """"" for a bare "worst" key, "loss" for "worst_loss"; "worst_seed" is not a metric."""
    return [key.removeprefix("worst").removeprefix("_") for key in result
            if key.startswith("worst") and not key.endswith("seed")]


def _lookup(result: Mapping, metric: str, what: str):
    keys = [what] if not metric else [f"{metric}_{what}", f"{what}_{metric}"]
    return next((result[key] for key in keys if key in result), None)


def _flat_calibrations(lesson: str, check: str, result: Mapping) -> list[Calibration]:
    found = []
    for metric in _metric_names(result):
        name = " ".join(part for part in (check, metric) if part) or "accuracy"
        worst = float(result["worst" if not metric else f"worst_{metric}"])
        threshold, margin = _lookup(result, metric, "threshold"), _lookup(result, metric, "margin")
        if threshold is not None:
            threshold = float(threshold)
            # The sign convention of the lesson's margin tells which way the bound goes; a
            # zero margin fits both, and then the usual lower bound on an accuracy is meant.
            upper = (abs(float(margin) - (worst - threshold)) > 1e-12 if margin is not None
                     else _is_upper_bound(name))
        else:
            upper = _is_upper_bound(name)
            if margin is not None:
                threshold = worst + float(margin) if upper else worst - float(margin)
        if threshold is None:
            continue
        found.append(Calibration(lesson, name, "<=" if upper else ">=", threshold, worst,
                                 threshold - worst if upper else worst - threshold,
                                 result.get("worst_seed")))
    return found


def calibrations(lesson: str, result: Mapping) -> list[Calibration]:
    """Read what a lesson's ``calibrate`` returned, in any of the shapes the lessons use.

    - check name -> {"worst", "threshold", "margin", ...} (one entry per check);
    - one flat dict {"worst", "margin", ["threshold"], ["worst_seed"], ...} for a single check;
    - one flat dict with a pair per figure: "worst_<m>" and "<m>_margin" (e.g. loss and
      accuracy of one training check).
    Where a threshold is not reported it is recovered from worst and margin; an upper bound is
    assumed for figures named like a loss, a lower bound otherwise.
    """
    if result and all(isinstance(value, Mapping) for value in result.values()):
        return [c for check, sub in result.items() for c in _flat_calibrations(lesson, check, sub)]
    return _flat_calibrations(lesson, "", result)


def run_calibrate(lesson: str, seeds: range) -> list[Calibration] | None:
    """Call ``course.checks.<lesson>.calibrate`` on the seeds; None if the lesson has none."""
    try:
        module = importlib.import_module(f"course.checks.{lesson}")
    except ModuleNotFoundError:
        return None
    calibrate = getattr(module, "calibrate", None)
    if calibrate is None:
        return None
    takes_keyword = "seeds" in inspect.signature(calibrate).parameters
    result = calibrate(seeds=seeds) if takes_keyword else calibrate(seeds)
    return calibrations(lesson, result)


def format_table(rows: list[Calibration]) -> list[str]:
    table = [("lesson", "check", "threshold", "worst seed", "margin", "")]
    for row in rows:
        seed = f" (seed {row.worst_seed})" if row.worst_seed is not None else ""
        table.append((row.lesson, row.check, f"{row.bound} {row.threshold:.4g}",
                      f"{row.worst:.4g}{seed}", f"{row.margin:+.4g}",
                      "ok" if row.margin >= 0 else "FAILS"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return ["  ".join(f"{cell:<{w}}" for cell, w in zip(line, widths)).rstrip()
            for line in table]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"seeds 0..N-1 (default {DEFAULT_SEEDS})")
    args = parser.parse_args(argv)
    rows = []
    for lesson in args.lessons or lessons(ROOT):
        started = time.perf_counter()
        found = run_calibrate(lesson, range(args.seeds))
        if found is None:
            print(f"{lesson}: no calibrate() in course.checks.{lesson}", flush=True)
            continue
        print(f"{lesson}: {len(found)} thresholded figures over {args.seeds} seeds in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        rows += found
    print()
    print("\n".join(format_table(rows)))
    failing = [row for row in rows if row.margin < 0]
    if failing:
        print(f"\nthe reference fails {len(failing)} check(s) on some seed")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
