"""The order in which a class's submissions go to the workers: the costliest lesson first.

Every submission of a lesson runs the same notebook, so they take about as long as each
other, while lessons differ several-fold (lesson 5's experiments against lesson 1's few
cells). When the work runs out, workers fall idle one by one while the last tasks finish;
if those are cheap, the idle time is short. So the lessons found costliest go first and the
cheapest last (longest processing time first). A lesson's cost is learnt on the way: the
first submission of each lesson is sent early, and its grading time ranks the lesson.
"""

import statistics
from collections import deque
from collections.abc import Iterable


class LongestLessonFirst:
    """(lesson, student) pairs in the order to send them; ``measured`` ranks the lessons.

    A lesson not measured yet counts as the costliest: sending it early costs little when it
    turns out cheap, and leaving a costly one for the end would cost the most.
    """

    def __init__(self, work: Iterable[tuple[str, str]]):
        self.waiting: dict[str, deque[str]] = {}
        for lesson, student in work:
            self.waiting.setdefault(lesson, deque()).append(student)
        self.seconds: dict[str, list[float]] = {}
        self.sent: set[str] = set()  # lessons with a submission sent

    def __iter__(self):
        return self

    def __next__(self) -> tuple[str, str]:
        lessons = [lesson for lesson, students in self.waiting.items() if students]
        if not lessons:
            raise StopIteration
        # a lesson never sent first (to learn its cost), then the costliest; ties keep
        # the given order
        lesson = max(lessons, key=lambda name: (name not in self.sent, self.cost(name)))
        self.sent.add(lesson)
        return lesson, self.waiting[lesson].popleft()

    def cost(self, lesson: str) -> float:
        """Median grading seconds of the lesson's submissions so far (a hung one does not
        rank its lesson); infinite while there are none."""
        seconds = self.seconds.get(lesson)
        return statistics.median(seconds) if seconds else float("inf")

    def measured(self, lesson: str, seconds: float) -> None:
        """One submission of ``lesson`` took ``seconds`` to grade."""
        if seconds > 0:
            self.seconds.setdefault(lesson, []).append(seconds)
