"""Chromium for the browser tests (the class report, JupyterLab): Debian's ``chromium``,
driven by Playwright, whose own browser download cannot work on the course's machines."""

import os
import shutil

import pytest

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_or_skip() -> str:
    """Debian's chromium (``.ci/run`` installs it); CI fails rather than skip without it."""
    path = shutil.which("chromium")
    if path is None:
        message = "no chromium: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
