"""The course's late-submission policy, as an nbgrader late-submission plugin.

``nbgrader_config.py`` names each lesson's due date and the penalty::

    c.AssignLatePenalties.plugin_class = LatePenalty
    c.LatePenalty.due_dates = {"lesson1": "2027-02-05 17:00:00 UTC", ...}
    c.LatePenalty.percent_per_day = 10

``grade_class`` writes the due dates into the gradebook (where nbgrader's autograde reads
them); autograde then calls :meth:`LatePenalty.late_submission_penalty` for a late notebook
and ``grades.csv`` carries the penalty. The submission time autograde compares is the one
``collect`` verified against the exchange, not the student's own clock.
"""

import math

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from traitlets import Dict, Float, Unicode

DAY_SECONDS = 24 * 60 * 60


class LatePenalty(LateSubmissionPlugin):
    """``percent_per_day`` of the score off for each day, or part of a day, late; never more
    than the score."""

    due_dates = Dict(value_trait=Unicode(), default_value={},
                     help="lesson id -> due date, e.g. '2027-02-05 17:00:00 UTC'"
                     ).tag(config=True)
    percent_per_day = Float(10.0, help="share of the score lost per day late (percent)"
                            ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        days = math.ceil(max(0.0, total_seconds_late) / DAY_SECONDS)
        return min(score, score * days * self.percent_per_day / 100)


def due_dates(config) -> dict:
    """lesson id -> due date (aware datetime) from a course config."""
    return {lesson: parse_utc(text)
            for lesson, text in config.get("LatePenalty", {}).get("due_dates", {}).items()}
