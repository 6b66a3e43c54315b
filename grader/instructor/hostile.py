"""Submissions that try to earn points without computing the answers.

Each is built from a lesson's release and reference answers, so the catalogue follows the
lessons as they change. The tests hand them in beside the reference solution and the stub
and require 0 for every autograded cell (tests/test_trust.py). What each tries:

- ``hostile-import-grader``: the reference answers, each cell first importing the grader
  package (by name, and by path from the course folder): full marks if the import works.
- ``hostile-liar``: every function returns an object that equals anything, converts to an
  array, and prints a score through ``sys.displayhook``; every error is swallowed by a
  custom IPython exception handler.
- ``hostile-patcher``: the stubs, after patching the hidden-check link (a verdict of
  "passed" without asking the grader), numpy's comparisons and the exception handler.
- ``hostile-frames``: every function returns an array found in its callers' frames (where
  an in-kernel check would keep its expected values).
"""

import ast
from pathlib import Path

import nbformat

from grader.instructor.course_dir import notebook_name
from grader.instructor.submissions import reference_answers

PRELUDE = {
    "liar": '''
import sys as _sys
import numpy as _np

class _Liar:
    """Equal to anything, an array when asked, a score when displayed."""
    def __init__(self, *args, **kwargs):
        pass
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array__(self, dtype=None, copy=None):
        return _np.zeros(3)
    def __getattr__(self, name):
        return _Liar()
    def __call__(self, *args, **kwargs):
        return _Liar()
    def __getitem__(self, key):
        return _Liar()
    def __iter__(self):
        return iter([_Liar(), _Liar(), _Liar()])
    def __len__(self):
        return 3
    def __float__(self):
        return 1.0

def _lie(*args, **kwargs):
    _sys.displayhook(1.0)
    return _Liar()

get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
''',
    "patcher": '''
import numpy as _np
import course.grader_link as _link

_link.hidden_check = lambda *args, **kwargs: None
_link._KernelLink.serve = lambda self: {"op": "verdict", "passed": True}
_np.allclose = lambda *args, **kwargs: True
_np.isclose = lambda a, b, *args, **kwargs: _np.ones(_np.shape(a), dtype=bool)
get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
''',
    "frames": '''
import sys as _sys
import numpy as _np

def _scrape(*args, **kwargs):
    """The first array in a caller's frame that is not one of the arguments."""
    mine = {id(a) for a in args} | {id(v) for v in kwargs.values()}
    frame = _sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, _np.ndarray) and id(value) not in mine:
                return value
        frame = frame.f_back
    return _np.zeros(1)
''',
}


def _defined_names(source: str) -> tuple[list[str], list[str]]:
    """Top-level (functions, classes) a cell defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    return functions, classes


def _stub_answers(root: Path, lesson: str) -> dict[str, str]:
    """grade_id -> the released (stub) source of each solution cell."""
    path = Path(root) / "release" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def _code_cells(answers: dict[str, str], root: Path, lesson: str) -> list[str]:
    path = Path(root) / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            and cell.metadata["nbgrader"]["grade_id"] in answers]


def hostile_submissions(root: Path, lesson: str) -> dict[str, dict[str, str]]:
    """student id -> answers (grade_id -> cell source) for each cheating attempt."""
    root = Path(root)
    source = root / "source" / lesson / f"{notebook_name(root, lesson)}.ipynb"
    reference = reference_answers(source)
    stubs = _stub_answers(root, lesson)
    code = _code_cells(reference, root, lesson)
    first = code[0]
    course_root = str(root.resolve())
    repository = str(Path(__file__).resolve().parents[2])

    importer = (f"import sys\nsys.path[:0] = [{course_root!r}, {repository!r}]\n"
                f"from grader.checks import {lesson}\n")
    submissions = {"hostile-import-grader": {
        grade_id: importer + reference[grade_id] for grade_id in code}}

    def replaced(replacement) -> dict[str, str]:
        answers = {}
        for grade_id in code:
            functions, classes = _defined_names(reference[grade_id])
            lines = [f"{name} = {replacement}" for name in functions]
            lines += [f"class {name}(_Liar):\n    pass" if replacement == "_lie"
                      else f"class {name}:\n    def __init__(self, *a, **k):\n        pass\n"
                           f"    def __getattr__(self, name):\n        return {replacement}"
                      for name in classes]
            answers[grade_id] = "\n".join(lines) or "pass"
        return answers

    submissions["hostile-liar"] = replaced("_lie")
    submissions["hostile-liar"][first] = PRELUDE["liar"] + submissions["hostile-liar"][first]
    submissions["hostile-frames"] = replaced("_scrape")
    submissions["hostile-frames"][first] = (PRELUDE["frames"]
                                            + submissions["hostile-frames"][first])
    submissions["hostile-patcher"] = {grade_id: stubs[grade_id] for grade_id in code}
    submissions["hostile-patcher"][first] = PRELUDE["patcher"] + stubs[first]

    return submissions

