"""A failing check shows its message and the student's line, not the course's internals.

When one of the course's checks (``course.gradient_check``, ``course.grader_link``) raises an
AssertionError, the frames inside the course package only show how the check was written; the
student needs the message and the line of their cell. ``install`` asks IPython to cut those
frames. Errors raised anywhere else (the student's own code, numpy, a handout) keep their whole
traceback, and the error itself (AssertionError, its message) is unchanged, so nbgrader and the
grader read the cell exactly as before.
"""

from pathlib import Path

COURSE_PACKAGE = Path(__file__).resolve().parent


def _in_course(entry) -> bool:
    return Path(entry.tb_frame.f_code.co_filename).resolve().parent == COURSE_PACKAGE


def without_course_frames(tb):
    """``tb`` with its trailing frames inside the course package cut off.

    Only when the error was raised inside the course; a traceback that is all course frames,
    or that ends elsewhere, is returned whole.
    """
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if not entries:
        return None
    first_course = len(entries)
    while first_course > 0 and _in_course(entries[first_course - 1]):
        first_course -= 1
    if 0 < first_course < len(entries):
        entries[first_course - 1].tb_next = None
    return entries[0]


def _show_check_failure(shell, etype, value, tb, tb_offset=None):
    shell.showtraceback((etype, value, without_course_frames(tb)), tb_offset=tb_offset)


def install() -> None:
    """In an IPython kernel, show failing checks without the course's frames (else nothing)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    # Leave alone a shell where someone else set a handler.
    if shell is not None and not shell.custom_exceptions:
        shell.set_custom_exc((AssertionError,), _show_check_failure)
