"""Pieces every lesson's checks use: seeded randomness, value comparisons, calibration."""

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from grader.secret import course_secret


def rng_for(check_name: str) -> np.random.Generator:
    """A generator seeded from the course secret and the check's name: reproducible grades,
    distinct per check, unpredictable to anyone without the secret."""
    secret = course_secret()
    words = [(secret >> (32 * i)) & 0xFFFFFFFF for i in range(4)]
    return np.random.default_rng([*words, zlib.crc32(check_name.encode())])


def as_tuple(result, length: int, what: str) -> tuple:
    """Check that a student's function returned a tuple of ``length`` items."""
    if not isinstance(result, tuple | list) or len(result) != length:
        raise AssertionError(f"{what} should return a tuple of {length} values, got {result!r}")
    return tuple(result)


@dataclass(frozen=True)
class Calibration:
    """How one thresholded figure of a hidden check fares for the reference solution.

    Every lesson's ``calibrate(seeds)`` returns a list of these, and
    ``python -m grader.instructor.calibrate`` prints them.
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
