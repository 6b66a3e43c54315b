"""Feedback pages keep nbconvert's accessibility edits, made without its BeautifulSoup pass."""

import base64

import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from grader.instructor.feedback import FeedbackExporter
from grader.instructor.page_accessibility import MISSING_ALT, accessible

PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()


def a_notebook() -> nbformat.NotebookNode:
    """Cells of every kind the edits touch: images with and without alt text (output, HTML
    output, markdown), inputs and outputs, and a line break Python's str.splitlines knows but
    the HTML parser does not."""
    code = nbformat.v4.new_code_cell("print('a\\u2028b')", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\u2028b\r\nc\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "fig"}),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/html": '<img src="x.png">\n<img src="y.png" alt="a plot">'}),
    ], execution_count=1)
    text = nbformat.v4.new_markdown_cell('![](a.png) and <img src="b.png" alt="b">\n\nline\fbreak')
    return nbformat.v4.new_notebook(cells=[text, code, nbformat.v4.new_code_cell("1 + 1")])


def edited_elements(page: str) -> list[tuple]:
    soup = BeautifulSoup(page, features="html.parser")
    return [(tag.name, tag.get("src"), tag.get("alt"), tag.get("tabindex"),
             tuple(tag.get("class") or ())) for tag in soup.find_all(["img", "div"])]


def test_feedback_pages_get_the_same_alt_texts_and_focusable_cells_as_nbconverts():
    notebook = a_notebook()
    stock, _ = HTMLExporter().from_notebook_node(notebook)
    ours, _ = FeedbackExporter().from_notebook_node(notebook)
    assert edited_elements(ours) == edited_elements(stock)
    # The figure and the HTML output's image (markdown images get an empty alt of their own).
    assert ours.count(MISSING_ALT) == 2
    assert ours.count('tabindex="0"') == 6  # three inputs, the first cell's three outputs


def test_attributes_go_into_the_tag_whatever_the_line_breaks_before_it():
    page = 'a\u2028b\r\n<p>\x0c</p>\n  <img src="x"><div class="jp-OutputArea-output z">o</div>'
    assert accessible(page) == ('a\u2028b\r\n<p>\x0c</p>\n  <img alt="' + MISSING_ALT
                                + '" src="x"><div tabindex="0" class="jp-OutputArea-output z">'
                                'o</div>')


def test_tags_that_need_nothing_and_script_text_are_left_alone():
    page = ('<img src="x" alt=""><div class="jp-Cell-inputWrapper" tabindex="-1"></div>'
            '<script>if (a <img) {}</script><div class="other"></div>')
    assert accessible(page) == page
