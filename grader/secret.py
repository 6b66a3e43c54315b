"""The course secret: every hidden check draws its random inputs from it.

It lives in the instructor's course folder (``.course_secret``, created on first use, never
committed or released) or comes from the ``COURSE_SECRET`` environment variable. Grading
kernels never see it (they run in a sandbox without the course folder). Replacing it (e.g.
each term) redraws every hidden input at once; the thresholds are calibrated over many
seeds, so they hold for any secret.
"""

import os
import secrets
from pathlib import Path

SECRET_FILE = ".course_secret"
SECRET_VARIABLE = "COURSE_SECRET"


def course_secret(root: Path | None = None) -> int:
    """The secret as a non-negative integer (from the environment, else the course file,
    which is created in ``root`` -- default: the current folder, nbgrader's course root)."""
    text = os.environ.get(SECRET_VARIABLE)
    if not text:
        path = Path(root or Path.cwd()) / SECRET_FILE
        if not path.exists():
            # Exclusive create: two graders starting at once agree on one secret.
            try:
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                               "w") as handle:
                    handle.write(secrets.token_hex(16) + "\n")
            except FileExistsError:
                pass
        text = path.read_text().strip()
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError(f"the course secret ({SECRET_VARIABLE} or {SECRET_FILE}) must be "
                         f"hexadecimal, got {text[:8]!r}...") from None
