"""A failing check shows the student its message and their own line, not the course's code."""

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from course import tracebacks


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.set_custom_exc((), None)
    tracebacks.install()
    yield shell
    shell.set_custom_exc((), None)


def run(shell, capsys, code: str) -> str:
    shell.run_cell(code)
    return re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # without colours


def test_failing_check_shows_its_message_without_the_course_frames(shell, capsys):
    shown = run(shell, capsys, (
        "from course.gradient_check import assert_values\n"
        "assert_values('loss', {'loss': 1.0}, {'loss': 2.0})\n"))
    assert "AssertionError" in shown and "loss should be 2.0, got 1.0" in shown
    assert "assert_values('loss'" in shown, "the student's own line is kept"
    assert "gradient_check.py" not in shown


def test_student_assertion_keeps_its_whole_traceback(shell, capsys):
    shown = run(shell, capsys, (
        "def softmax(z):\n"
        "    assert z.ndim == 2, 'softmax wants a matrix'\n"
        "softmax(__import__('numpy').zeros(3))\n"))
    assert "softmax wants a matrix" in shown
    assert "assert z.ndim == 2" in shown, "the frame that raised is the student's: shown"


def test_other_errors_inside_the_course_keep_their_traceback(shell, capsys):
    shown = run(shell, capsys, (
        "from course import datasets\n"
        "datasets.spiral(None)\n"))
    assert "TypeError" in shown and "datasets.py" in shown


def test_install_leaves_another_handler_in_place(shell):
    def other(shell, etype, value, tb, tb_offset=None):
        return []

    shell.set_custom_exc((KeyError,), other)
    tracebacks.install()
    assert shell.custom_exceptions == (KeyError,)
