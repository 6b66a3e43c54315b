"""Instructor-side tooling: releases, submissions, the demo class and grade tables.

Everything here drives nbgrader's own command-line apps in a course folder (the folder
holding ``nbgrader_config.py``); nothing re-implements grading.
"""

import sys

# nbformat validates with jsonschema, whose format checkers import rfc3987-syntax when it is
# installed (jupyter-events pulls it in); that module builds ~35 Lark parsers on import,
# about 0.9 s in every grading process, worker and nbgrader command. No schema these
# processes check uses its formats (iri, iri-reference): marked absent, jsonschema leaves
# those two formats unchecked (python-jsonschema/jsonschema#1428).
sys.modules.setdefault("rfc3987_syntax", None)
