"""Repository hygiene: pins agree, sources are clean, nothing generated is tracked."""

import re
import subprocess
import tomllib

import nbformat
import pytest

from tests.conftest import LESSONS, ROOT


def pinned_in_pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        assert version, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[name.lower()] = version
    return pins


def pinned_in_environment() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.fullmatch(r"\s*-\s*([A-Za-z0-9_.-]+)==?([0-9][^\s=]*)\s*", line)
        if match and match.group(1) != "python":
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_environment_yml_pins_the_same_versions_as_pyproject():
    assert pinned_in_environment() == pinned_in_pyproject()


@pytest.mark.parametrize("lesson", LESSONS)
def test_source_notebooks_are_committed_without_outputs(lesson):
    for path in (ROOT / "source" / lesson).glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
        assert dirty == [], f"{path.name}: cells {dirty} have outputs; clear them"


def test_nbgrader_config_has_no_absolute_paths():
    config = (ROOT / "nbgrader_config.py").read_text()
    assert not re.search(r"""["'](/|[A-Za-z]:\\)""", config)


def test_no_generated_state_is_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    generated = [path for path in tracked
                 if path == "gradebook.db" or path.endswith(".db")
                 or path.split("/")[0] in {"submitted", "autograded", "feedback", "reports"}
                 or ".ipynb_checkpoints" in path or "__pycache__" in path
                 or "/build/" in f"/{path}" or ".egg-info/" in path]
    assert generated == []
