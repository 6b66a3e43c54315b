"""The order grade_class sends submissions in: every one once, the costliest lessons first."""

from grader.instructor.task_order import LongestLessonFirst

CLASS = [(lesson, f"student{number}") for lesson in ("lesson1", "lesson2", "lesson5")
         for number in range(4)]


def test_every_submission_is_sent_exactly_once():
    order = LongestLessonFirst(CLASS)
    sent = []
    for lesson, student in order:
        sent.append((lesson, student))
        order.measured(lesson, {"lesson1": 1.0, "lesson2": 3.0, "lesson5": 9.0}[lesson])
    assert sorted(sent) == sorted(CLASS)


def test_each_lesson_is_tried_once_before_any_is_sent_twice():
    order = LongestLessonFirst(CLASS)
    assert [next(order)[0] for _ in range(3)] == ["lesson1", "lesson2", "lesson5"]


def test_the_costliest_lesson_goes_next_and_the_cheapest_last():
    order = LongestLessonFirst(CLASS)
    for lesson, seconds in zip(("lesson1", "lesson2", "lesson5"), (1.0, 3.0, 9.0)):
        assert next(order)[0] == lesson
        order.measured(lesson, seconds)
    rest = [lesson for lesson, _ in order]
    assert rest == ["lesson5"] * 3 + ["lesson2"] * 3 + ["lesson1"] * 3


def test_a_lesson_still_unmeasured_counts_as_costly():
    """Its first submission may still be running: the rest are not left for the end."""
    order = LongestLessonFirst(CLASS)
    for _ in range(3):
        next(order)
    order.measured("lesson1", 1.0)
    order.measured("lesson2", 3.0)
    assert next(order)[0] == "lesson5"


def test_one_hung_submission_does_not_make_its_lesson_the_costliest():
    order = LongestLessonFirst(CLASS)
    for _ in range(3):
        next(order)
    for seconds in (1.0, 1.2, 300.0):  # one ran into the time limit
        order.measured("lesson1", seconds)
    order.measured("lesson2", 3.0)
    order.measured("lesson5", 9.0)
    assert order.cost("lesson1") == 1.2
    assert next(order)[0] == "lesson5"
