"""One throwaway sandbox per submission: what a student's notebook does reaches neither the
grader, nor the course folder, nor another student.

One lesson-1 class is graded once with ``grade_class`` (the instructor's command): the
reference solution and the stub as controls, and one student per attack. Each attack is the
reference solution with a few lines run first; the lines print a marker if the attack
worked. Every attack is bounded (a few seconds, a few hundred MiB at most).
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from grader.instructor import grade_class
from grader.instructor.course_dir import generate_release
from grader.instructor.gradebook import cell_scores
from grader.instructor.graded_course import copy_course, source_notebook
from grader.instructor.kernel_sandbox import kernel_environment
from grader.instructor.submissions import reference_answers, write_submission
from grader.instructor.trusted import TrustedExecute
from tests.conftest import ROOT

LESSON = "lesson1"
FIRST_CELL = "grads_by_hand"
CANARY = "instructor-canary-5b1f"
SETTINGS = grade_class.Settings(cell_timeout=20, memory_limit_mb=1024, jobs=2)

# name -> lines that print "BROKE OUT" if the sandbox let them do what they try.
ATTACKS = {
    "reads-source": "print('BROKE OUT', open('{root}/source/lesson1/chain_rule.ipynb').read())",
    "reads-gradebook": "print('BROKE OUT', len(open('{root}/gradebook.db', 'rb').read()))",
    "reads-secret": "print('BROKE OUT', open('{root}/.course_secret').read())",
    "reads-other-student": "print('BROKE OUT', os.listdir('{root}/submitted'))",
    "reads-grader-package": (
        "import sys\nsys.path[:0] = ['{root}', '{repo}']\nimport grader.checks.lesson1\n"
        "print('BROKE OUT', grader.checks.lesson1.__file__)"),
    "reads-environment": (
        "found = [k for k, v in os.environ.items()\n"
        "         if '{canary}' in v or k == 'COURSE_SECRET']\n"
        "if found: print('BROKE OUT', found)"),
    "reads-home": "print('BROKE OUT', os.listdir('{home}/.cache'))",
    "uses-network": (
        "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=2)\n"
        "print('BROKE OUT')"),
    "writes-course": "open('{root}/nbgrader_config.py', 'a').write('# pwned')\nprint('BROKE OUT')",
    "writes-ipython-startup": (
        "import pathlib\np = pathlib.Path('{home}/.ipython/profile_default/startup')\n"
        "p.mkdir(parents=True, exist_ok=True)\n(p / '00-pwn.py').write_text('1/0')\n"
        "print('BROKE OUT')"),
    "writes-module-beside-notebook": (
        "with open('{root}/autograded/solution/lesson1/numpy.py', 'w') as f:\n"
        "    f.write('raise ImportError')\n"
        "print('BROKE OUT')"),
    "outlives-kernel": (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(8); "
        "open(\"{root}/gradebook.db\", \"ab\").write(b\"pwned\")'], start_new_session=True)"),
    "kills-parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    "fork-storm": (
        "import subprocess, sys\nprocs = [subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(900)'], start_new_session=True) for _ in range(40)]"),
    "huge-file": (
        "with open('big.bin', 'wb') as f:\n"
        "    for _ in range(40): f.write(b'x' * (10 << 20))\n"
        "print('BROKE OUT', os.path.getsize('big.bin'))"),
    "fills-memory-disk": (
        "for i in range(40):\n"
        "    with open('/tmp/fill%d' % i, 'wb') as f: f.write(b'x' * (10 << 20))\n"
        "print('BROKE OUT', 'wrote 400 MiB to a memory-backed /tmp')"),
    # The submission folder also holds a symlink to source/ and a numpy.py (attacked_class).
    "symlink-to-source": (
        "print('BROKE OUT', os.listdir('leak'))\n"),
    "module-handed-in": (
        "import numpy\nif getattr(numpy, 'PWNED', False): print('BROKE OUT')"),
    "script-in-output": (
        "from IPython.display import HTML, display\n"
        "display(HTML('<script>alert(\"pwned\")</script><img src=x onerror=\"alert(2)\">'"
        "'<a href=\"javascript:alert(3)\">x</a>'))"),
}


def attack_answers(attack: str, root: Path) -> dict[str, str]:
    answers = reference_answers(source_notebook(root, LESSON))
    code = ATTACKS[attack].format(root=root, repo=ROOT, canary=CANARY,
                                  home=os.path.expanduser("~"))
    body = "\n".join("    " + line for line in code.splitlines())
    answers[FIRST_CELL] = (f"import os\ntry:\n{body}\nexcept BaseException as error:\n"
                           f"    print('refused:', type(error).__name__)\n\n"
                           + answers[FIRST_CELL])
    return answers


def course_digest(root: Path) -> str:
    """What grading never changes: sources, release, config, secret and the submissions."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] not in ("source", "release", "submitted", "nbgrader_config.py",
                                     ".course_secret"):
            continue
        if path.is_file():
            digest.update(str(relative).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def attacked_class(tmp_path_factory):
    root = copy_course(ROOT, tmp_path_factory.mktemp("sandbox") / "course")
    generate_release(root, [LESSON])
    write_submission(root, LESSON, "solution", reference_answers(source_notebook(root,
                                                                                  LESSON)))
    write_submission(root, LESSON, "stub", None)
    for attack in ATTACKS:
        folder = write_submission(root, LESSON, f"attack-{attack}", attack_answers(attack, root))
        (folder / "leak").symlink_to(root / "source")
        (folder / "numpy.py").write_text("PWNED = True\n")
    (root / ".course_secret").write_text("abad1dea\n")
    os.environ["INSTRUCTOR_TOKEN"] = CANARY
    try:
        before = course_digest(root)
        outcomes = grade_class.run(root, [LESSON], SETTINGS, progress=False)
        time.sleep(10)  # longer than any attack's delayed write
        after = course_digest(root)
    finally:
        del os.environ["INSTRUCTOR_TOKEN"]
    return root, {o.student: o for o in outcomes}, before, after


def outputs_of(root: Path, student: str) -> str:
    """Everything the student's notebook printed or raised, when graded."""
    path = root / "autograded" / student / LESSON / "chain_rule.ipynb"
    nb = nbformat.read(path, as_version=4)
    return "\n".join(str(output.get("text", "")) + str(output.get("evalue", ""))
                     + str(output.get("data", {}).get("text/plain", ""))
                     for cell in nb.cells for output in cell.get("outputs", []))


class ActiveContent(HTMLParser):
    """What a browser would run in a page: scripts, event handlers, javascript: links."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self._in_script and "pwned" in data:
            self.found.append(f"<script>{data[:80]}")


def test_controls_keep_their_grades(attacked_class):
    root, _, _, _ = attacked_class
    solution = cell_scores(root, LESSON, "solution")
    assert solution and all(c.score == c.max_score for c in solution.values())
    assert sum(c.score for c in cell_scores(root, LESSON, "stub").values()) == 0


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_is_contained(attacked_class, attack):
    """Nothing escaped (no marker), and the attacker's answers, the reference, still grade."""
    root, outcomes, _, _ = attacked_class
    student = f"attack-{attack}"
    assert student in outcomes, f"{student} was not graded"
    text = outputs_of(root, student)
    assert "BROKE OUT" not in text, text[text.find("BROKE OUT") - 200:][:600]
    scores = cell_scores(root, LESSON, student)
    assert scores and sum(c.score for c in scores.values()) == sum(
        c.max_score for c in scores.values()), outcomes[student].findings


def test_feedback_never_runs_a_students_script(attacked_class):
    root, _, _, _ = attacked_class
    page = (root / "feedback" / "attack-script-in-output" / LESSON / "chain_rule.html"
            ).read_text()
    assert "pwned" in page  # the output is shown, as text
    parser = ActiveContent()
    parser.feed(page)
    assert parser.found == []


def test_the_course_folder_is_unchanged_by_the_run(attacked_class):
    root, _, before, after = attacked_class
    assert before == after
    assert not (root / "gradebook.db").read_bytes().endswith(b"pwned")


def test_no_process_of_a_submission_outlives_it(attacked_class):
    # The storm's sleepers would live 15 minutes, far longer than the run: only the end of
    # the submission's PID namespace can have stopped them.
    leftover = subprocess.run(["pgrep", "-f", "time.sleep(900)"], capture_output=True,
                              text=True).stdout.split()
    assert leftover == []


def test_the_kernel_environment_carries_nothing_of_the_instructor():
    env = kernel_environment("/tmp/link")
    assert set(env) <= {"PATH", "HOME", "IPYTHONDIR", "MPLCONFIGDIR", "MPLBACKEND", "LANG",
                        "PYTHONSAFEPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH",
                        "COURSE_GRADER_SOCKET", "JPY_PARENT_PID", "OPENBLAS_NUM_THREADS",
                        "OMP_NUM_THREADS"}
    assert env["HOME"] != os.path.expanduser("~") and env["PYTHONSAFEPATH"] == "1"


def test_kernels_read_the_graders_font_list_instead_of_scanning_the_fonts(tmp_path):
    """Each sandbox starts with an empty MPLCONFIGDIR: matplotlib finds a font list there
    (built once by the grader, read-only), so no kernel spends time scanning the fonts."""
    code = ("import glob, logging, os\n"
            "logging.basicConfig(level=logging.INFO)\n"
            "import matplotlib.font_manager\n"
            "for path in glob.glob('/tmp/matplotlib/fontlist-*.json'):\n"
            "    print(path, 'writable' if os.access(path, os.W_OK) else 'read-only')")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    TrustedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    printed = "".join(output.get("text", "") for output in nb.cells[0].outputs)
    assert "generated new fontManager" not in printed, printed
    assert printed.count("read-only") == 1 and "writable" not in printed, printed


def test_a_killed_grading_process_leaves_no_font_folder_behind(tmp_path):
    """The font list lives in the grader's cache folder, built in a folder that is gone
    before the list is used: a process that ends without cleaning up (a killed Dask worker)
    leaves nothing in the temporary folder, and the next process finds the same list."""
    temporary, cache = tmp_path / "tmp", tmp_path / "cache"
    temporary.mkdir()
    kernel_python = KernelSpecManager().get_kernel_spec("python3").argv[0]
    code = ("import os, sys\n"
            "from grader.instructor.kernel_sandbox import font_cache\n"
            "print(font_cache(sys.argv[1]), flush=True)\n"
            "os._exit(0)  # as if killed: no exit handler runs")
    env = {**os.environ, "TMPDIR": str(temporary), "XDG_CACHE_HOME": str(cache)}
    lists = [Path(subprocess.run([sys.executable, "-c", code, kernel_python], env=env,
                                 capture_output=True, text=True, check=True).stdout.strip())
             for _ in range(2)]
    assert lists[0] == lists[1] and lists[0].is_relative_to(cache), lists
    assert "ttflist" in json.loads(lists[0].read_text())
    assert list(lists[0].parent.iterdir()) == [lists[0]], "a build folder was left"
    assert not list(temporary.iterdir())
