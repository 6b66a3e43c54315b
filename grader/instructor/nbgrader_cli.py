"""``python -m grader.instructor.nbgrader_cli ARGS``: nbgrader's command line, unchanged but
for one thing: a new gradebook gets its schema revision without a subprocess
(``gradebook.nbgrader_schema_revision``). ``course_dir.nbgrader`` runs nbgrader this way."""

from nbgrader.apps.nbgraderapp import main

import grader.instructor.gradebook  # noqa: F401  (applies the in-process revision)

if __name__ == "__main__":
    main()
