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


# --- crashes in the student's code ------------------------------------------------------
# A check calls the student's functions; when one raises, the message must say which call
# crashed and with what, in words, and start "your code raised <Error>": the class report
# (grader.instructor.diagnoses) groups crashes, and counts a stub's NotImplementedError as
# "not answered", by that opening.

def describe(value) -> str:
    """A value as a message shows it: arrays by shape, dicts of arrays by their shapes,
    numbers as themselves, anything else by its kind."""
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {describe(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bool | int | float | np.generic | str) or value is None:
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, np.random.Generator):
        return "a Generator"
    if type(value).__name__ == "StudentObject":  # lives in the kernel: asking costs a call
        return "your object"
    return "a function" if callable(value) else "an object"


def describe_arguments(names, values) -> str:
    """"X: shape (6, 2), lr: 0.3" for the arguments of a call (names and values paired)."""
    return ", ".join(f"{name}: {describe(value)}" for name, value in zip(names, values))


def error_text(error: Exception) -> str:
    """"ValueError: ..." for an exception the student's code raised. One raised in the
    kernel arrives as the grading link's StudentCodeError, already named so."""
    if type(error).__name__ == "StudentCodeError":
        return str(error).strip()
    return f"{type(error).__name__}: {error}".strip()


def student_crash(error: Exception, what: str, called_with: str = "",
                  hint: str = "") -> AssertionError:
    """The AssertionError a check raises when the student's code called as ``what`` (e.g.
    "linear_forward(X, W, b)") raised ``error``; called_with: its arguments described
    (left out when the grading link has already named the call's shapes); hint: a sentence
    to add."""
    text = error_text(error)
    where = f"in {what}" + (f", called with {called_with}" if called_with
                             and "(when called as" not in text else "")
    return AssertionError(f"your code raised {text}\n({where}){hint}")
