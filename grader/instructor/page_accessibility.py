"""The accessibility edits nbconvert's HTML exporter makes to a page, made without a parse tree.

nbconvert's ``HTMLExporter`` parses every page it writes with BeautifulSoup to give images
without alternative text one, and to make each cell's input and output focusable (``tabindex``).
Building that tree and writing it out again is a third of a feedback page's time.
:func:`accessible` makes the same two edits by scanning the page's start tags with the standard
library's parser and inserting the attributes in place, leaving every other byte as it was.
"""

import re
from html.parser import HTMLParser

MISSING_ALT = "No description has been provided for this image"  # nbconvert's words
NEWLINE = re.compile("\n")
FOCUSABLE = {"jp-Cell-inputWrapper", "jp-OutputArea-output"}  # div classes nbconvert selects


class _StartTags(HTMLParser):
    """Collects (line, column, attribute text) for each start tag that needs an attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.insertions: list[tuple[int, int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        classes = set(next((value or "" for name, value in attrs if name == "class"),
                           "").split())
        if tag == "img" and "alt" not in names:
            self._insert(tag, f' alt="{MISSING_ALT}"')
        elif tag == "div" and classes & FOCUSABLE and "tabindex" not in names:
            self._insert(tag, ' tabindex="0"')

    handle_startendtag = handle_starttag  # <img ... />

    def _insert(self, tag: str, attribute: str) -> None:
        line, column = self.getpos()  # where the tag's "<" is
        self.insertions.append((line, column + 1 + len(tag), attribute))


def accessible(page: str) -> str:
    """``page`` with alt text on every <img> that has none and tabindex="0" on every cell input
    wrapper and output <div> that has no tabindex."""
    tags = _StartTags()
    tags.feed(page)
    tags.close()
    # The parser counts lines by "\n" alone (not by every break str.splitlines knows).
    line_starts = [0] + [match.end() for match in NEWLINE.finditer(page)]
    pieces, done = [], 0
    for line, column, attribute in tags.insertions:
        at = line_starts[line - 1] + column
        pieces += [page[done:at], attribute]
        done = at
    pieces.append(page[done:])
    return "".join(pieces)
