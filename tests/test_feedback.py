"""Feedback teaches without leaking the checks, and failures name the mistake.

For every lesson, ``nbgrader generate_feedback`` (real nbgrader, on the graded class of
tests/conftest.py) must hand the solution, the stub and every failing variant an HTML page
with the check names and failure messages but no hidden test source and no line of the
checks modules (nbgrader issues #917 and #1363). The diagnosis helpers of
course.gradient_check are tested directly below.
"""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course.gradient_check import (
    fingerprint,
    gradient_mismatches,
    regularisation_mistakes,
)
from grader.checks.mistakes import activation_derivative_mistakes, propagate_mistakes
from grader.instructor.course_dir import notebook_name
from grader.instructor.feedback import (
    COURSE_PACKAGE,
    HideCheckDetails,
    feedback_text,
    squash,
)
from grader.instructor.graded_course import SOLUTION, STUB, source_notebook, variant_student
from grader.instructor.variants import variants_for
from tests.conftest import LESSONS, ROOT

CHECKS_DIR = ROOT / "grader" / "checks"
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
# Lines this short ("return got", "else:") say nothing about a check's reference.
MIN_LINE = 20

STUDENTS = [
    (lesson, student)
    for lesson in LESSONS
    for student in [SOLUTION, STUB]
    + [variant_student(v) for v in variants_for(lesson) if not v.is_correct]
]


def handed_in_text(course, lesson: str, student: str) -> str:
    """Everything in the notebook the student handed in: the release and their answers.

    A line from here may appear in the feedback even if a check shares it (a correct answer
    can read exactly like the reference).
    """
    root = course.root_of(lesson, student)
    path = root / "submitted" / student / lesson / f"{notebook_name(root, lesson)}.ipynb"
    return squash("\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells))


def hidden_test_lines(lesson: str, given: str) -> list[str]:
    """Lines of the lesson's hidden test blocks that the student was not given."""
    nb = nbformat.read(source_notebook(ROOT, lesson), as_version=4)
    lines = {squash(line) for cell in nb.cells for block in HIDDEN_REGION.findall(cell.source)
             for line in block.splitlines()}
    return sorted(line for line in lines if line and line not in given)


def check_source_lines(given: str) -> list[str]:
    """Code lines of course/checks/*.py that the student was not given."""
    lines = {squash(line) for path in sorted(CHECKS_DIR.glob("*.py"))
             for line in path.read_text().splitlines()}
    return sorted(line for line in lines
                  if len(line) >= MIN_LINE and not line.startswith("#") and line not in given)


@pytest.mark.parametrize(("lesson", "student"), STUDENTS,
                         ids=[f"{lesson}-{who}" for lesson, who in STUDENTS])
def test_feedback_shows_messages_but_no_checks(course, lesson, student):
    text = feedback_text(course.feedback(lesson, student))
    given = handed_in_text(course, lesson, student)

    hidden = [line for line in hidden_test_lines(lesson, given) if line in text]
    assert "HIDDEN TESTS" not in text and hidden == [], f"hidden test source shown: {hidden}"
    quoted = [line for line in check_source_lines(given) if line in text]
    assert quoted == [], f"lines of course/checks shown: {quoted}"
    assert "Traceback (most recent call last)" not in text
    assert COURSE_PACKAGE not in text, "a path into the course package is shown"

    for grade_id, message in course.failures(lesson, student).items():
        assert f"Grade cell: {grade_id}" in text
        # An exception without a message is shown as its bare type name.
        shown = squash(message).removesuffix(":")
        assert shown in text, f"{grade_id}: the failure message is not shown"


@pytest.mark.parametrize(
    ("lesson", "variant"),
    [(lesson, v) for lesson in LESSONS for v in variants_for(lesson) if v.message],
    ids=[f"{lesson}-{v.name}" for lesson in LESSONS for v in variants_for(lesson)
         if v.message])
def test_feedback_carries_the_diagnosis(course, lesson, variant):
    """The student's feedback page names the mistake (or, failing that, the wrong quantity)."""
    text = feedback_text(course.feedback(lesson, variant_student(variant)))
    assert squash(variant.message) in text


# --- the preprocessor on hand-made outputs (no nbgrader run) ---------------------------

def _cell(source, outputs, execution_count, solution=False):
    cell = nbformat.v4.new_code_cell(source, execution_count=execution_count)
    cell.metadata["nbgrader"] = {"grade_id": f"cell{execution_count}", "solution": solution,
                                 "grade": not solution, "points": 0 if solution else 1,
                                 "locked": not solution}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def test_preprocessor_keeps_student_frames_and_message_only():
    warning = (f"{COURSE_PACKAGE}/checks/lesson9.py:12: RuntimeWarning: overflow in exp\n"
               "  reference = np.exp(secret)\nstudent output\n")
    nb = nbformat.v4.new_notebook(cells=[
        _cell("def f(x):\n    return x[5]", [], 1, solution=True),
        _cell('"""Check: f."""\n### BEGIN HIDDEN TESTS\ncheck(f)\n### END HIDDEN TESTS', [
            {"output_type": "stream", "name": "stderr", "text": warning},
            {"output_type": "execute_result", "execution_count": 2, "metadata": {},
             "data": {"text/plain": "{'expected': array([1.0])}"}},
            {"output_type": "error", "ename": "IndexError", "evalue": "index 5 is out",
             "traceback": ["\x1b[31m-----\x1b[39m", "IndexError  Traceback (most recent call)",
                           "Cell In[2], line 3\n----> 3 check(f)",
                           f"File {COURSE_PACKAGE}/checks/lesson9.py:4\n  reference = 1",
                           "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m, line 2",
                           "IndexError: index 5 is out"]},
        ], 2),
    ])
    nb, _ = HideCheckDetails().preprocess(nb, {})
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "error"]
    assert outputs[0].text == "RuntimeWarning: overflow in exp\nstudent output\n"
    assert len(outputs[1].traceback) == 2 and "In[1]" in outputs[1].traceback[0]
    assert outputs[1].traceback[1] == "IndexError: index 5 is out"


# --- diagnosis: what fingerprint and its helpers recognise ---------------------------

RNG = np.random.default_rng(5)
RIGHT = RNG.normal(size=(4, 3))


@pytest.mark.parametrize(("got", "hint"), [
    (RIGHT.T, "transpose"),
    (-RIGHT, "sign is flipped"),
    (16 * RIGHT, "16 times too large"),
    (-2 * RIGHT, "sign is flipped and it is 2 times too large"),
    (np.zeros_like(RIGHT), "all zeros"),
    (np.where(np.arange(3) == 1, np.nan, RIGHT), "nan or inf"),
    (RIGHT.reshape(3, 4), "right values in the wrong shape"),
    (RIGHT.reshape(1, 4, 3), "right values in the wrong shape"),
    (np.repeat(RIGHT[None] / 5, 5, axis=0), "not summed over the first axis"),
])
def test_fingerprint_recognises_mistakes_from_the_arrays_alone(got, hint):
    assert hint in fingerprint(got, RIGHT)


@pytest.mark.parametrize(("got", "want", "hint"), [
    (np.ones(7), np.ones(3), "bias gradient summed over the wrong axis"),
    (np.full((5, 3), 0.2), np.ones(3), "not summed over the first axis"),
    (np.array(3.0), np.ones(3), "summed over every axis"),
])
def test_fingerprint_recognises_bias_gradients_on_the_wrong_axis(got, want, hint):
    assert hint in fingerprint(got, want)


def test_fingerprint_names_a_context_mistake_and_never_shows_values():
    reg, W = 0.1, RNG.normal(size=RIGHT.shape)
    got = RIGHT - reg * W
    hint = fingerprint(got, RIGHT, alternatives=regularisation_mistakes(RIGHT, reg * W))
    assert "regularisation" in hint and "missing" in hint
    assert not re.search(r"\d\.\d{3}", hint), "a hint must not quote array values"
    assert fingerprint(RIGHT + 0.3, RIGHT,
                       alternatives=regularisation_mistakes(RIGHT, reg * W)) is None


RIGHT_DERIVATIVE = {
    "sigmoid": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
    "tanh": lambda z: 1 / np.cosh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
}


@pytest.mark.parametrize("activation", sorted(RIGHT_DERIVATIVE))
def test_activation_mistakes_are_named_through_the_backward_pass(activation):
    X, z, upstream = (RNG.normal(size=shape) for shape in [(6, 3), (6, 4), (6, 4)])

    def backward(local):
        """The rest of a layer's backward pass, from the activation's local derivative."""
        dz = upstream * local
        return {"dW": X.T @ dz, "db": dz.sum(axis=0)}

    mistakes = activation_derivative_mistakes(activation, z)
    alternatives = propagate_mistakes(mistakes, backward)
    right = backward(RIGHT_DERIVATIVE[activation](z))
    for description, local in mistakes.items():
        problems = gradient_mismatches(backward(local), right, alternatives=alternatives)
        assert problems and description in problems[0], (description, problems)
    assert gradient_mismatches(right, right, alternatives=alternatives) == []


def test_gradient_mismatches_report_the_first_wrong_gradient_with_its_hint():
    expected = {"dscores": RIGHT, "dW2": RIGHT.T @ RIGHT, "db2": RIGHT.sum(0)}
    got = {"dscores": RIGHT, "dW2": (RIGHT.T @ RIGHT).T * 3, "db2": RIGHT.sum(1)}
    problems = gradient_mismatches(got, expected, alternatives={
        "dW2": {"the 1/N is missing": 3 * expected["dW2"]}})
    assert problems[0].startswith("dW2: relative error") and "1/N is missing" in problems[0]
    assert problems[1].startswith("db2: shape (4,)") and "wrong axis" in problems[1]


def test_checks_modules_exist_for_every_lesson():
    missing = [lesson for lesson in LESSONS if not (CHECKS_DIR / f"{lesson}.py").exists()]
    assert missing == [], "a lesson's hidden checks must live in grader/checks/<lesson>.py"


def test_course_package_path_is_the_installed_one():
    assert Path(COURSE_PACKAGE) == ROOT / "course"
