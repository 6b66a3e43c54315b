"""Pieces every lesson's checks use: seeded randomness, value comparisons, calibration."""

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# Changing this salt redraws every hidden check's random inputs at once (e.g. next term).
GRADING_SALT = 2026


def rng_for(check_name: str) -> np.random.Generator:
    """A generator seeded from the check's name: reproducible grades, distinct per check."""
    return np.random.default_rng([GRADING_SALT, zlib.crc32(check_name.encode())])


def assert_values(what: str, got, expected, tol: float = 1e-8) -> None:
    """Compare named values at a point the student can see; the message shows both.

    what: e.g. "grad_product(-2, 5)"; got, expected: name -> number or array.
    """
    for name, want in expected.items():
        have = got.get(name) if isinstance(got, dict) else None
        if have is None or np.shape(have) != np.shape(want) or not np.allclose(
            have, want, rtol=tol, atol=tol
        ):
            raise AssertionError(f"{what}: {name} should be {want!r}, got {have!r}")


def as_tuple(result, length: int, what: str) -> tuple:
    """Check that a student's function returned a tuple of ``length`` items."""
    if not isinstance(result, tuple | list) or len(result) != length:
        raise AssertionError(f"{what} should return a tuple of {length} values, got {result!r}")
    return tuple(result)


@dataclass(frozen=True)
class Calibration:
    """How one thresholded figure of a hidden check fares for the reference solution.

    Every lesson's ``calibrate(seeds)`` returns a list of these, and
    ``python -m course.instructor.calibrate`` prints them.
    """

    check: str
    threshold: float
    worst: float  # the reference's worst value over the seeds
    worst_seed: int | str  # "grading": the seed the hidden check itself uses
    mean: float
    upper_bound: bool = False  # True for a loss, which must stay at or below the threshold

    @property
    def margin(self) -> float:
        """How far the worst seed is on the passing side; negative: the reference fails."""
        return self.threshold - self.worst if self.upper_bound else self.worst - self.threshold

    @classmethod
    def over(cls, check: str, values: Mapping, threshold: float, upper_bound: bool = False):
        """From seed -> the reference's value of the figure on that seed."""
        pick = max if upper_bound else min
        worst_seed = pick(values, key=values.get)
        return cls(check, float(threshold), float(values[worst_seed]), worst_seed,
                   float(np.mean(list(values.values()))), upper_bound)
