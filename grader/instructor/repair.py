"""Rebuilding every submission from the release, so only the student's answers are theirs.

:func:`prepare` compares ``submitted/<student>/<lesson>/`` with the lesson's release and
writes what nbgrader grades, under ``reports/repaired/<student>/<lesson>/``: a fresh copy of
the release notebook whose solution cells hold the student's answers, matched by grade_id or,
when the metadata is gone, by the functions the cell defines. Test cells, setup cells, cell
metadata, points and the kernelspec are the instructor's; cells the student added are kept
after the release cell they followed. The lesson's data files come from the release too:
nothing else the student handed in is used, and no symlink is followed.

A submission whose notebook had damage to repair (renamed notebook, deleted, duplicated or
retyped cells, edited metadata, JSON that needs lenient parsing) is marked repaired; one with
nothing readable is not graded (the caller records zero points).

Every problem found becomes a :class:`Finding`, one line of the class report.
"""

import ast
import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.instructor.course_dir import notebook_name

# nbgrader step folder of repaired copies, relative to the course root (git-ignored).
REPAIRED_STEP = "reports/repaired"
SUBMITTED_STEP = "submitted"
IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store", "timestamp.txt",
                 "submission_secret.txt"}
# nbgrader's own small files that the rebuilt copy keeps: the submission time (autograde's
# lateness) and the secret release_feedback files the feedback under.
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
# Untrusted JSON is read only up to these sizes (a notebook with plots is a few MiB).
MAX_NOTEBOOK_BYTES = 32 << 20
MAX_NBGRADER_FILE_BYTES = 200
# nbgrader metadata a student must not change; the release's values are what gets graded.
# Any difference from the release, schema_version included (a newer nbgrader's metadata
# would make this nbgrader refuse the notebook), is repaired from the release.
GRADED_KEYS = ("grade", "solution", "locked", "points", "task", "schema_version")


@dataclass(frozen=True)
class Finding:
    """One problem with a submission: where it is, what is wrong, what grading did.

    repaired: the submission is graded from a repaired copy because of this problem.
    """

    where: str
    problem: str
    action: str
    repaired: bool = True


@dataclass
class Prepared:
    """What to grade for one submission.

    input_step: the nbgrader step folder holding the rebuilt notebook
    (:data:`REPAIRED_STEP`), or None when nothing could be recovered.
    """

    input_step: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        """Whether the notebook had damage that rebuilding it undid."""
        return self.input_step is not None and any(f.repaired for f in self.findings)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _nbgrader(cell: dict) -> dict:
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _tags(cell: dict) -> list:
    metadata = cell.get("metadata")
    return list(metadata.get("tags", [])) if isinstance(metadata, dict) else []


def defined_names(source: str) -> set[str]:
    """Top-level functions, classes and assigned names of a cell (by regex if it won't parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"^(?:def|class)\s+(\w+)", source, re.MULTILINE))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def read_notebook_json(path: Path) -> tuple[dict | None, list[Finding]]:
    """The notebook's JSON as a dict, leniently if need be; None if it cannot be read."""
    where = path.name
    if path.is_symlink() or not path.is_file():
        return None, [Finding(where, "not a regular file (a symlink is never followed)",
                              "nothing to grade: 0 points")]
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return None, [Finding(where, f"{size >> 20} MiB, over the {MAX_NOTEBOOK_BYTES >> 20} "
                                     "MiB a notebook may have", "nothing to grade: 0 points")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Finding(where, f"not UTF-8 text ({error.reason} at byte {error.start})",
                              "nothing to grade: 0 points")]
    try:
        data = json.loads(text)
        findings = []
    except RecursionError:
        return None, [Finding(where, "JSON nested too deeply to be a notebook",
                              "nothing to grade: 0 points")]
    except json.JSONDecodeError as error:
        problem = f"invalid JSON ({error.msg}, line {error.lineno} column {error.colno})"
        try:
            # Raw control characters (a pasted tab or newline) are the one damage a lenient
            # parser undoes without guessing.
            data = json.loads(text, strict=False)
        except (json.JSONDecodeError, RecursionError):
            return None, [Finding(where, problem, "nothing to grade: 0 points")]
        findings = [Finding(where, problem, "read leniently; answers recovered")]
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, [Finding(where, "not a Jupyter notebook (no list of cells)",
                              "nothing to grade: 0 points")]
    data["cells"] = [cell for cell in data["cells"] if isinstance(cell, dict)]
    return data, findings


def _matching_ids(data: dict, release) -> int:
    release_ids = {_nbgrader(cell).get("grade_id") for cell in release.cells} - {None}
    names = set().union(*(defined_names(c.source) for c in release.cells
                          if _nbgrader(c).get("solution")))
    ids = {_nbgrader(cell).get("grade_id") for cell in data["cells"]}
    defined = set().union(set(), *(defined_names(_text(c.get("source")))
                                   for c in data["cells"]))
    return len(ids & release_ids) + len(defined & names)


def find_notebook(folder: Path, name: str, release) -> tuple[Path | None, dict | None,
                                                               list[Finding]]:
    """The submitted notebook (or, if it is missing, a renamed one with the lesson's cells)."""
    expected = folder / name
    if folder.is_symlink() or not folder.is_dir():
        return None, None, [Finding(name, "no submission folder (a symlink is never followed)",
                                    "nothing to grade: 0 points")]
    if expected.exists() or expected.is_symlink():
        data, findings = read_notebook_json(expected)
        return expected, data, findings
    candidates = []
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink():
            continue
        data, _ = read_notebook_json(path)
        if data is not None and _matching_ids(data, release) > 0:
            candidates.append((_matching_ids(data, release), path, data))
    if not candidates:
        others = ", ".join(p.name for p in sorted(folder.glob("*.ipynb"))) or "none"
        return None, None, [Finding(name, f"notebook missing (other notebooks: {others})",
                                    "nothing to grade: 0 points")]
    _, path, data = max(candidates, key=lambda c: c[0])
    return path, data, [Finding(path.name, f"notebook renamed (expected {name})",
                                "graded as the lesson's notebook")]


def _metadata_changes(student: dict, release_cell) -> list[str]:
    theirs, ours = _nbgrader(student), release_cell.metadata.get("nbgrader", {})
    changes = [f"{key} {ours.get(key)!r} -> {theirs.get(key)!r}" for key in GRADED_KEYS
               if theirs.get(key) != ours.get(key)]
    if _tags(student) != list(release_cell.metadata.get("tags", [])):
        changes.append(f"tags {_tags(student)!r}")
    return changes


@dataclass
class CellPlan:
    """How the repaired notebook is assembled from the release and the student's cells."""

    answers: dict[str, str] = field(default_factory=dict)
    extras: dict[str | None, list[dict]] = field(default_factory=lambda: defaultdict(list))
    findings: list[Finding] = field(default_factory=list)


def _recover_by_definitions(release_cell, loose: list[dict]) -> dict | None:
    """The unlabelled student cell defining most of what a solution cell defines, if any."""
    wanted = defined_names(release_cell.source)
    if not wanted:
        return None
    best, best_share = None, 0.5
    for cell in loose:
        share = len(wanted & defined_names(_text(cell.get("source")))) / len(wanted)
        if share >= best_share:  # >=: of equals, the later cell wins, as when run in order
            best, best_share = cell, share
    return best


def plan_cells(data: dict, release) -> CellPlan:
    """Match the student's cells to the release by grade_id and note every difference."""
    plan = CellPlan()
    release_ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id")}
    labelled: dict[str, list[dict]] = defaultdict(list)
    loose: list[dict] = []
    anchor = None
    anchors: dict[int, str | None] = {}
    for cell in data["cells"]:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in release_ids:
            labelled[grade_id].append(cell)
            anchor = grade_id
        else:
            if _nbgrader(cell):
                plan.findings.append(Finding(
                    f"cell {grade_id or '(no grade_id)'}",
                    "nbgrader metadata that is not in the release",
                    "metadata removed; run as an ungraded cell"))
            loose.append(cell)
            anchors[id(cell)] = anchor
    for grade_id, release_cell in release_ids.items():
        copies = labelled.get(grade_id, [])
        where = f"cell {grade_id}"
        is_solution = bool(release_cell.metadata["nbgrader"].get("solution"))
        if not copies and is_solution:
            found = _recover_by_definitions(release_cell, loose)
            if found is None:
                plan.answers[grade_id] = "# This solution cell was missing from the submission."
                plan.findings.append(Finding(where, "solution cell deleted",
                                             "graded without it (functions defined elsewhere "
                                             "still count)"))
                continue
            loose.remove(found)
            copies = [found]
            names = ", ".join(sorted(defined_names(release_cell.source)))
            plan.findings.append(Finding(where, "solution cell lost its nbgrader metadata",
                                         f"answer recovered from the cell defining {names}"))
        elif not copies:
            plan.findings.append(Finding(where, "cell deleted", "restored from the release"))
            continue
        if len(copies) > 1:
            action = ("the edited copies graded in order" if is_solution
                      else "one copy from the release graded")
            plan.findings.append(Finding(where, f"cell appears {len(copies)} times", action))
        for cell in copies:
            if cell.get("cell_type") != release_cell.cell_type and _nbgrader(cell):
                action = "graded as code" if is_solution else "restored from the release"
                plan.findings.append(Finding(
                    where, f"changed from {release_cell.cell_type} to {cell.get('cell_type')}",
                    action))
            changes = _metadata_changes(cell, release_cell) if _nbgrader(cell) else []
            if changes:
                plan.findings.append(Finding(where, "metadata edited: " + "; ".join(changes),
                                             "the release's metadata used"))
        if is_solution:
            edited = [_text(c.get("source")) for c in copies
                      if _text(c.get("source")) != release_cell.source]
            plan.answers[grade_id] = "\n\n".join(edited) if edited else release_cell.source
        elif any(_text(c.get("source")) != release_cell.source for c in copies):
            # nbgrader restores locked cells itself; reported, but no repair needed for it.
            plan.findings.append(Finding(where, "locked cell edited", "restored from the release",
                                         repaired=False))
    for cell in loose:
        if cell.get("cell_type") in ("code", "markdown"):
            plan.extras[anchors[id(cell)]].append(cell)
    return plan


def extra_files(folder: Path, release: Path, notebook: Path) -> list[Finding]:
    """A report line for what the submission holds beside the notebook: none of it is used."""
    names = [path.name for path in sorted(folder.iterdir())
             if path.name not in IGNORED_NAMES and path != notebook
             # the data files the student fetched with the release are not worth a line
             and not ((release / path.name).is_file() and not path.is_symlink())]
    if not names:
        return []
    return [Finding(", ".join(names), "files beside the notebook",
                    "ignored: only the notebook is graded, with the release's data files",
                    repaired=False)]


def _new_cell(cell: dict):
    source = _text(cell.get("source"))
    if cell.get("cell_type") == "markdown":
        return nbformat.v4.new_markdown_cell(source)
    return nbformat.v4.new_code_cell(source)


def build_repaired(release, plan: CellPlan):
    """The release notebook with the planned answers in its solution cells and extras kept."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(release)))
    cells = [_new_cell(cell) for cell in plan.extras.get(None, [])]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in plan.answers:
            cell.source = plan.answers[grade_id]
        cells.append(cell)
        if grade_id:
            cells.extend(_new_cell(extra) for extra in plan.extras.get(grade_id, []))
    nb.cells = cells
    return nb


def _write_rebuilt(root: Path, lesson: str, student: str, nb, folder: Path) -> None:
    target = root / REPAIRED_STEP / student / lesson
    release = root / "release" / lesson
    shutil.copytree(release, target, ignore=lambda _, names: [
        n for n in names if n.endswith(".ipynb") or n in IGNORED_NAMES])
    nbformat.write(nb, target / f"{notebook_name(root, lesson)}.ipynb")
    for name in NBGRADER_FILES:
        path = folder / name
        if (path.is_file() and not path.is_symlink()
                and path.stat().st_size <= MAX_NBGRADER_FILE_BYTES):
            (target / name).write_bytes(path.read_bytes())


def prepare(root: Path, lesson: str, student: str) -> Prepared:
    """Inspect a submission and write the copy of the release that holds its answers.

    Reads ``submitted/<student>/<lesson>/`` and never writes there; any earlier repaired
    copy of this submission is replaced.
    """
    root = Path(root)
    folder = root / SUBMITTED_STEP / student / lesson
    target = root / REPAIRED_STEP / student / lesson
    if target.exists():
        shutil.rmtree(target)
    release_folder = root / "release" / lesson
    release = nbformat.read(release_folder / f"{notebook_name(root, lesson)}.ipynb",
                            as_version=4)
    notebook, data, findings = find_notebook(folder, f"{notebook_name(root, lesson)}.ipynb",
                                             release)
    if data is None:
        return Prepared(None, findings)
    try:
        nbformat.validate(nbformat.from_dict(data))
    except Exception as error:  # the schema check raises more than ValidationError on junk
        message = str(getattr(error, "message", error)).splitlines()[0][:120]
        findings.append(Finding(notebook.name, f"not a valid notebook: {message}",
                                "rebuilt from the release with the answers recovered"))
    plan = plan_cells(data, release)
    findings += plan.findings + extra_files(folder, release_folder, notebook)
    _write_rebuilt(root, lesson, student, build_repaired(release, plan), folder)
    return Prepared(REPAIRED_STEP, findings)
