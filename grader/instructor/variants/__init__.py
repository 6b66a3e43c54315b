"""Catalogue of answers the autograder must judge right: bugs students make, and correct
alternatives to the reference.

Each lesson has a module ``grader.instructor.variants.<lesson>`` with a list ``VARIANTS``.
A variant is the reference answer with a few edits; ``loses`` names the test cells
(grade_ids) that must fail for it and no others. An empty ``loses`` marks a correct
alternative, which must get full marks.
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
    diagnosis: text the failing checks' messages must contain, if any.
    demo: include this variant in ``make demo``'s class.
    """

    name: str
    description: str
    edits: tuple[tuple[str, str, str], ...] = ()
    cells: dict[str, str] = field(default_factory=dict)
    loses: frozenset[str] = frozenset()
    diagnosis: str = ""
    demo: bool = False

    @property
    def is_correct(self) -> bool:
        return not self.loses


def variants_for(lesson: str) -> list[Variant]:
    """The catalogue of one lesson (empty if the lesson has none yet)."""
    try:
        module = importlib.import_module(f"{__name__}.{lesson}")
    except ModuleNotFoundError:
        return []
    return list(module.VARIANTS)
