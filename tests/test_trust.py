"""No point without the answer: the grader package is out of reach, verdicts are decided
outside the student's kernel, and nothing a kernel prints or patches raises a score.

The hostile submissions (grader.instructor.hostile) are graded by real nbgrader in the same
batch as the reference solution (full marks, tests/test_grading.py) and the stub.
"""

import shutil
import socket
import subprocess
import threading
import venv

import nbformat
import numpy as np
import pytest

from course import grader_link
from grader.checks.common import rng_for
from grader.instructor import trusted
from grader.instructor.hostile import hostile_submissions
from grader.instructor.submissions import SOLUTION_MARKERS
from tests.conftest import LESSONS, ROOT

HOSTILE = sorted(hostile_submissions(ROOT, LESSONS[0]))


@pytest.mark.parametrize("student", HOSTILE)
@pytest.mark.parametrize("lesson", LESSONS)
def test_hostile_submission_scores_zero_on_every_autograded_cell(course, lesson, student):
    scores = {grade_id: cell.score for grade_id, cell in course.scores(lesson, student).items()
              if not cell.needs_manual_grade}
    assert scores, f"{lesson}: {student} was not graded"
    earned = {grade_id: score for grade_id, score in scores.items() if score > 0}
    assert earned == {}, (f"{lesson}: {student} earns points without the answers in "
                          f"{earned}: {course.failures(lesson, student)}")


def test_the_student_package_holds_no_grader_module():
    package = ROOT / "course"
    modules = {p.stem for p in package.glob("*.py")}
    assert modules <= {"__init__", "datasets", "gradient_check", "plotting", "grader_link",
                       "tracebacks"}
    for path in package.glob("*.py"):
        text = path.read_text()
        assert "import grader" not in text and "from grader" not in text, path


def test_the_grading_kernel_cannot_import_the_grader():
    """The kernel environment (.venv/kernel) holds the student package alone."""
    kernel_python = ROOT / ".venv" / "kernel" / "bin" / "python"
    result = subprocess.run([str(kernel_python), "-c", "import course.datasets; import grader"],
                            cwd="/", capture_output=True, text=True)
    assert "No module named 'grader'" in result.stderr


def test_no_released_file_holds_a_solution_or_a_hidden_check():
    for path in (ROOT / "release").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for marker in (*SOLUTION_MARKERS, "BEGIN HIDDEN TESTS", "grader.checks"):
                assert marker not in text, f"{path.relative_to(ROOT)} holds {marker!r}"


def test_another_secret_draws_other_hidden_inputs(monkeypatch):
    first = rng_for("lesson2_linear").normal(size=5)
    assert np.array_equal(first, rng_for("lesson2_linear").normal(size=5))
    monkeypatch.setenv("COURSE_SECRET", "0ddba11")
    assert not np.allclose(first, rng_for("lesson2_linear").normal(size=5))


def test_the_secret_is_created_once_in_the_course_folder(tmp_path, monkeypatch):
    from grader.secret import SECRET_FILE, course_secret
    monkeypatch.delenv("COURSE_SECRET")
    secret = course_secret(tmp_path)
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o077 == 0
    assert course_secret(tmp_path) == secret and secret.bit_length() > 64


# --- the link, piece by piece ------------------------------------------------------------

def _serve_check(cell_source: str, in_test_cell: bool, call):
    """Run a CheckServer for one cell; ``call(path)`` plays the kernel. Returns the
    server's verdicts and what the kernel saw."""
    expected = {0: trusted.expected_checks(cell_source)}
    seen = {}
    with trusted.CheckServer(expected) as server:
        server.current_cell = 0 if in_test_cell else None
        thread = threading.Thread(target=lambda: seen.setdefault("result", call(server.path)))
        thread.start()
        thread.join(60)
    return server.verdicts, seen.get("result")


def _kernel(path, check, *args):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(grader_link.SOCKET_VARIABLE, path)
        try:
            grader_link.hidden_check(check, *args)
            return "passed"
        except AssertionError as error:
            return f"failed: {error}"


def _grad_product(x, y):
    return y, x


def test_a_correct_function_passes_and_a_wrong_one_fails_with_the_check_message():
    cell = 'hidden_check("lesson1.check_grad_product", grad_product)'
    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_grad_product", _grad_product))
    assert seen == "passed" and [v.passed for v in verdicts[0]] == [True]
    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_grad_product", lambda x, y: (x, y)))
    assert seen.startswith("failed: ") and "df/dx" in seen
    assert [v.passed for v in verdicts[0]] == [False]


def test_a_check_asked_for_outside_a_test_cell_is_refused():
    """A solution cell cannot use the grader as an oracle to try answers against."""
    cell = 'hidden_check("lesson1.check_grad_product", grad_product)'
    verdicts, seen = _serve_check(cell, False, lambda p: _kernel(
        p, "lesson1.check_grad_product", _grad_product))
    assert verdicts == {} and "not asked for" in seen


def test_the_kernel_cannot_choose_another_check_or_literal():
    cell = 'hidden_check("lesson1.check_gate", "max", max_forward, max_backward)'

    def add_forward(x, y):
        return x + y, None

    def add_backward(dout, cache):
        return dout, dout

    # Asking for another check than the cell's: refused.
    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_grad_product", _grad_product))
    assert [v.passed for v in verdicts[0]] == [False] and "not asked for" in seen
    # The literal "max" comes from the instructor's cell, not from what the kernel sends.
    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_gate", "add", add_forward, add_backward))
    assert [v.passed for v in verdicts[0]] == [False]


def test_in_place_changes_to_arguments_reach_the_check():
    """numerical_gradient must restore x: a version that does not is caught over the link."""
    cell = ('hidden_check("lesson1.check_numerical_gradient_restores_input", '
            'numerical_gradient)')

    def leaves_x_changed(f, x, h=1e-5):
        x += h
        return np.zeros_like(x)

    verdicts, _ = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_numerical_gradient_restores_input", leaves_x_changed))
    assert [v.passed for v in verdicts[0]] == [False]


def test_a_crash_in_student_code_names_the_call_and_the_shapes():
    cell = 'hidden_check("lesson1.check_gate", "add", add_forward, add_backward)'

    def add_forward(x, y):
        return x.reshape(2, -1) + y, None  # a reshape that fits no odd-sized input

    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_gate", "add", add_forward, lambda dout, cache: (dout, dout)))
    assert [v.passed for v in verdicts[0]] == [False]
    assert "your code raised ValueError" in seen
    assert "when called as add_forward(shape (3,), shape (3,))" in seen, seen


class _EndlessSequence:
    """Claims to be a sequence of three items, each another one of itself."""

    def __len__(self):
        return 3

    def __getitem__(self, index):
        if index >= 3:
            raise IndexError(index)
        return _EndlessSequence()


def test_an_object_posing_as_an_array_fails_at_once_instead_of_busying_the_check():
    """numpy would turn such an object into an array one round trip per entry, 3^32 of
    them: the check must refuse it at the first conversion, with a message."""
    cell = 'hidden_check("lesson1.check_numerical_gradient", numerical_gradient)'
    verdicts, seen = _serve_check(cell, True, lambda p: _kernel(
        p, "lesson1.check_numerical_gradient", lambda f, x, h=1e-5: _EndlessSequence()))
    assert [v.passed for v in verdicts[0]] == [False]
    assert "numbers or a numpy array were expected" in seen


def test_a_kernel_that_hangs_up_mid_check_gets_no_verdict():
    cell = 'hidden_check("lesson1.check_grad_product", grad_product)'

    def hang_up(path):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(path)
            grader_link.send_message(sock, {"op": "check", "check":
                                            "lesson1.check_grad_product",
                                            "args": [{"__ref__": 1}]})
            grader_link.receive_message(sock)  # the first call: hang up instead of answering
        return "hung up"

    verdicts, _ = _serve_check(cell, True, hang_up)
    assert verdicts == {}


@pytest.mark.parametrize("document", [
    b"\xff\xff\xff\xff",  # a length over the limit
    b"\x00\x00\x00\x05[[[[[",  # not JSON
])
def test_unreadable_messages_are_refused_without_a_verdict(document):
    cell = 'hidden_check("lesson1.check_grad_product", grad_product)'

    def send_garbage(path):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(path)
            sock.sendall(document)
            return sock.recv(100)

    verdicts, answer = _serve_check(cell, True, send_garbage)
    assert verdicts == {} and answer == b""


def test_arrays_cross_the_link_as_data_never_objects():
    value = {"W": np.arange(6.0).reshape(2, 3), "n": np.int64(3), "t": (1, [2.5, "x"])}
    document = grader_link.encode(value, handle=lambda v: {"__ref__": 0})
    back = grader_link.decode(document, resolve=lambda d: "handle")
    assert np.array_equal(back["W"], value["W"]) and back["n"] == 3
    assert back["t"] == (1, [2.5, "x"])
    with pytest.raises(grader_link.LinkError):
        grader_link.decode({"__nd__": ["|O", [1], ""]}, resolve=lambda d: None)


# --- verdicts decide the points ----------------------------------------------------------

def _test_cell(outputs):
    cell = nbformat.v4.new_code_cell('hidden_check("lesson1.check_grad_product", f)')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t",
                                 "points": 1}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return nbformat.v4.new_notebook(cells=[cell])


def test_printing_a_score_earns_nothing_and_a_warning_costs_nothing():
    from nbgrader.utils import determine_grade
    nb = _test_cell([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": "0.5"}},
                     {"output_type": "stream", "name": "stderr",
                      "text": "RuntimeWarning: overflow encountered in exp"}])
    trusted.apply_verdicts(nb, trusted.notebook_checks(nb), {0: [trusted.Verdict(True, "")]})
    assert determine_grade(nb.cells[0])[0] == 1.0


@pytest.mark.parametrize("verdicts", [{}, {0: [trusted.Verdict(False, "dW is transposed")]}])
def test_a_cell_without_a_passing_verdict_scores_zero_whatever_it_printed(verdicts):
    from nbgrader.utils import determine_grade
    nb = _test_cell([{"output_type": "stream", "name": "stdout", "text": "all good"}])
    trusted.apply_verdicts(nb, trusted.notebook_checks(nb), verdicts)
    assert determine_grade(nb.cells[0])[0] == 0


# --- what a student installs ---------------------------------------------------------------

def test_a_student_install_runs_every_release_notebook_up_to_its_first_stub(tmp_path):
    """A fresh venv with release/requirements.txt alone (the student package, no grader)."""
    # A copy, as a student has it: building the package must not write into this repository.
    for folder in ("course", "release"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile",
                    "--disable-pip-version-check", "-r", "requirements.txt"],
                   cwd=tmp_path / "release", check=True, capture_output=True)
    assert subprocess.run([str(python), "-c", "import grader"], cwd=tmp_path,
                          capture_output=True).returncode
    for lesson in LESSONS:
        folder = ROOT / "release" / lesson
        nb = nbformat.read(next(folder.glob("*.ipynb")), as_version=4)
        cells = []
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                break
            if cell.cell_type == "code":
                cells.append(cell.source)
        script = tmp_path / f"{lesson}.ipy"
        script.write_text("\n\n".join(cells))
        result = subprocess.run([str(python), "-m", "IPython", "--colors=NoColor",
                                 str(script)], cwd=folder, capture_output=True, text=True,
                                env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0 and "Error" not in result.stdout, (
            f"{lesson}: {result.stdout[-2000:]}{result.stderr[-2000:]}")


def test_a_kernel_that_misses_its_startup_is_retried(monkeypatch, tmp_path):
    """Under load a kernel can miss nbclient's startup timeout: start another, don't zero."""
    from nbclient import NotebookClient
    original = NotebookClient.async_start_new_kernel_client
    attempts = []

    async def flaky(self):
        attempts.append(1)
        if len(attempts) == 1:  # what nbclient does when the kernel misses its timeout
            self.kc = self.km.client()
            await self._async_cleanup_kernel()
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return await original(self)

    monkeypatch.setattr(NotebookClient, "async_start_new_kernel_client", flaky)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    trusted.TrustedExecute(kernel_name="python3", timeout=60).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}})
    assert len(attempts) == 2 and nb.cells[0].outputs[0]["text"] == "42\n"


def test_each_test_cell_keeps_its_trusted_verdict_for_the_class_report():
    nb = _test_cell([])
    trusted.apply_verdicts(nb, trusted.notebook_checks(nb),
                           {0: [trusted.Verdict(False, "dW is transposed")]})
    assert nb.cells[0].metadata[trusted.VERDICT_KEY] == {
        "passed": False, "message": "dW is transposed", "cell_error": "", "cell_message": ""}
    visible = _test_cell([{"output_type": "error", "ename": "AssertionError",
                           "evalue": "dW: relative error 1", "traceback": []}])
    trusted.apply_verdicts(visible, trusted.notebook_checks(visible), {})
    assert visible.cells[0].metadata[trusted.VERDICT_KEY] == {
        "passed": False, "message": trusted.CHECK_NOT_FINISHED,
        "cell_error": "AssertionError", "cell_message": "dW: relative error 1"}
