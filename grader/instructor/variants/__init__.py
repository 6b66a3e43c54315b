"""Catalogue of answers the autograder must judge right: bugs students make, correct
alternatives to the reference, and what a half-finished submission must earn.

Each lesson has a module ``grader.instructor.variants.<lesson>`` with

- ``VARIANTS``: a list of ``Variant``. A variant is the reference answer with a few edits;
  ``loses`` names the test cells (grade_ids) that must fail for it and no others. An empty
  ``loses`` marks a correct alternative, which must get full marks.
- ``REQUIRES``: test cell grade_id -> the solution cells (grade_ids) it needs answered.
  A submission that answers only some solution cells must earn exactly the test cells whose
  requirements it answered (``partial_submissions``), so each cell earns its points on its
  own, and a stub elsewhere costs only the cells built on it.
"""

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    """A buggy or alternative answer to one lesson, as edits to the reference answers.

    name: short id, used as the demo/test student id (``variant-<name>``).
    description: what a student did, in a sentence.
    edits: (grade_id, old, new) text replacements in solution cells; ``old`` must occur once.
    cells: grade_id -> whole new source for a solution cell (for rewrites, e.g. einsum).
    loses: grade_ids of the test cells that must fail; empty for a correct alternative.
    diagnosis: text the feedback must contain that names the mistake (what kind of error it
        is, in words a student can act on), when the checks recognise it.
    locates: for a bug the checks do not recognise, the text the feedback must contain that
        says which quantity is wrong (and by how much). A bug has a diagnosis or this.
    demo: include this variant in ``make demo``'s class.
    """

    name: str
    description: str
    edits: tuple[tuple[str, str, str], ...] = ()
    cells: dict[str, str] = field(default_factory=dict)
    loses: frozenset[str] = frozenset()
    diagnosis: str = ""
    locates: str = ""
    demo: bool = False

    @property
    def is_correct(self) -> bool:
        return not self.loses

    @property
    def message(self) -> str:
        """What the feedback must show for this bug: the diagnosis, else where it is wrong."""
        return self.diagnosis or self.locates


@dataclass(frozen=True)
class Partial:
    """A half-finished submission: only ``answered`` solution cells filled in, the rest the
    release's stubs. ``earns``: the test cells that must pass; every other autograded test
    cell must score 0."""

    answered: frozenset[str]
    earns: frozenset[str]

    @property
    def student(self) -> str:
        return "partial-" + "+".join(sorted(self.answered))


def _module(lesson: str):
    try:
        return importlib.import_module(f"{__name__}.{lesson}")
    except ModuleNotFoundError:
        return None


def variants_for(lesson: str) -> list[Variant]:
    """The catalogue of one lesson (empty if the lesson has none yet)."""
    module = _module(lesson)
    return list(module.VARIANTS) if module else []


def requirements_for(lesson: str) -> dict[str, frozenset[str]]:
    """test cell -> the solution cells it needs answered (empty if not catalogued)."""
    module = _module(lesson)
    return {test: frozenset(cells) for test, cells in getattr(module, "REQUIRES", {}).items()}


def partial_submissions(lesson: str, solution_cells: list[str]) -> list[Partial]:
    """One submission per solution cell with that cell alone answered.

    solution_cells: the lesson's code solution cells. A cell whose tests all need another
    cell earns nothing alone, and that is what its partial must show.
    """
    requires = requirements_for(lesson)
    partials = []
    for cell in solution_cells:
        answered = frozenset({cell})
        partials.append(Partial(answered, frozenset(
            test for test, needs in requires.items() if needs <= answered)))
    return partials
