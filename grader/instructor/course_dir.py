"""Where things are in a course folder, and running nbgrader inside it."""

import os
import subprocess
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def lessons(root: Path) -> list[str]:
    """Assignment ids: the folders of ``source/`` that hold a notebook, in order."""
    return sorted(p.name for p in (Path(root) / "source").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def notebook_name(root: Path, lesson: str) -> str:
    """The one notebook of a lesson, without ``.ipynb``."""
    notebooks = sorted((Path(root) / "source" / lesson).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"source/{lesson} should hold exactly one notebook, found "
                         f"{[p.name for p in notebooks]}")
    return notebooks[0].stem


def course_config(root: Path) -> Config:
    """The course's ``nbgrader_config.py`` (empty if there is none)."""
    if not (Path(root) / "nbgrader_config.py").exists():
        return Config()
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def course_id(root: Path) -> str:
    """The course id of ``nbgrader_config.py`` (nbgrader's default if it sets none)."""
    return str(course_config(root).get("CourseDirectory", {}).get("course_id",
                                                                   "default_course"))


def nbgrader(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course folder with this interpreter's environment.

    nbgrader starts ``alembic`` and kernels by name, so this environment's ``bin`` goes
    first on PATH. It runs as ``grader.instructor.nbgrader_cli`` (a new gradebook's schema
    revision read without a subprocess). Output is captured; a failure raises with
    nbgrader's log in the message.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run([sys.executable, "-m", "grader.instructor.nbgrader_cli", *args],
                            cwd=root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {root} "
                           f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def generate_release(root: Path, lesson_ids: list[str] | None = None) -> None:
    """Regenerate ``release/<lesson>`` from ``source/<lesson>`` for the given lessons (all)."""
    for lesson in lesson_ids or lessons(root):
        nbgrader(root, "generate_assignment", lesson, "--force")


if __name__ == "__main__":
    generate_release(Path.cwd())
