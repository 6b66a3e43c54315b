"""Feedback that teaches without giving the checks away (nbgrader issues #917 and #1363).

nbgrader's ``generate_feedback`` renders the autograded notebook as it ran: hidden test
source included, and every error with its full traceback -- which quotes the source lines
of the hidden test block and the installed course package, with the grading machine's paths.
nbgrader_config.py runs ``HideCheckDetails`` and then nbgrader's own ``ClearHiddenTests``
on every feedback notebook, so a student sees check names, messages and numbers only.
"""

import html
import re
import shutil
from pathlib import Path

import jinja2
import jupyter_server_mathjax
import nbgrader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

import course
from grader.instructor.page_accessibility import accessible

HIDDEN_TESTS_MARKER = "BEGIN HIDDEN TESTS"
# Source lines and paths of the course package stay out of the feedback.
COURSE_PACKAGE = str(Path(course.__file__).resolve().parent)

# MathJax is served from the course's own feedback folder, so pages render offline.
# nbgrader writes feedback/<student>/<lesson>/<notebook>.html: two levels below the copy.
MATHJAX_FOLDER = "mathjax"
MATHJAX_URL = f"../../{MATHJAX_FOLDER}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_SOURCE = Path(jupyter_server_mathjax.__file__).parent / "static"
# nbgrader's feedback template, with MathJax from MATHJAX_URL: templates/feedback/ is searched
# before nbgrader's own feedback/ folder (nbgrader's API always names the template "feedback").
FEEDBACK_TEMPLATE_FILE = "offline.html.j2"
TEMPLATE_FOLDERS = [str(Path(__file__).parent / "templates"),
                    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
                        / "templates")]

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# IPython names a frame in a notebook cell "Cell In[<execution count>], line <n>".
CELL_FRAME = re.compile(r"^Cell In\[(\d+)\]")
# The header line Python's warnings module writes: "<path>:<line>: <Category>: <message>".
WARNING_HEADER = re.compile(r"^(?P<path>.+?\.py):\d+: (?P<category>\w+): (?P<message>.*)$")


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process.

    nbgrader makes a new exporter, so a new Jinja environment, for every feedback page; a
    grading worker would compile the same templates once per submission (a third of the
    page's time). Jinja checks each template's source against its compiled code, so an
    edited template is compiled again.
    """

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """The exporter of feedback pages (``GenerateFeedback.exporter_class``).

    A class of its own so that the feedback template and MathJax settings
    (``c.FeedbackExporter...`` in nbgrader_config.py) apply to feedback only: set on
    ``HTMLExporter``, they would also replace the template of the formgrader's page where
    instructors grade written answers, which then fails to render.
    """

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment

    def from_notebook_node(self, nb: NotebookNode, resources: dict | None = None,
                           **kw) -> tuple[str, dict]:
        """HTMLExporter's page, with its accessibility edits made by page_accessibility
        instead of a BeautifulSoup tree (a third of the page's time). The lines up to the
        template's rendering are HTMLExporter.from_notebook_node's (nbconvert 7.17)."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return accessible(page), resources


def install_mathjax(root: Path) -> Path:
    """Copy MathJax into ``feedback/mathjax/`` (once) so MATHJAX_URL resolves offline."""
    target = Path(root) / "feedback" / MATHJAX_FOLDER
    if not (target / "MathJax.js").is_file():
        shutil.copytree(MATHJAX_SOURCE, target, dirs_exist_ok=True)
    return target


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)


def squash(text: str) -> str:
    """Whitespace runs collapsed to one space, for comparing messages with rendered pages."""
    return re.sub(r"\s+", " ", text).strip()


def feedback_text(page: str) -> str:
    """What a browser shows of a feedback page (no styles or scripts), whitespace collapsed."""
    page = re.sub(r"(?s)<(style|script)\b[^>]*>.*?</\1>", "", page)
    return squash(html.unescape(re.sub(r"<[^>]+>", "", page)))


def student_frames(traceback: list[str], student_counts: set[int]) -> list[str]:
    """The traceback entries that are frames of the student's own solution cells.

    student_counts: execution counts of the solution cells. Frames of test cells (which
    quote the hidden block) and of files (which quote the checks) are dropped.
    """
    kept = []
    for entry in traceback:
        match = CELL_FRAME.match(strip_ansi(entry))
        if match and int(match.group(1)) in student_counts:
            kept.append(entry)
    return kept


def trim_error(output: NotebookNode, student_counts: set[int]) -> None:
    """Cut an error output down to the student's own frames and ``Type: message``."""
    message = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
    output.traceback = [*student_frames(output.traceback, student_counts), message]


def scrub_warnings(text: str) -> str:
    """Drop the path and quoted source line of warnings raised inside the course package.

    ``warnings`` prints the offending source line, indented, under its header; for a warning
    raised in a check that line is reference code. The category and message stay.
    """
    lines, scrubbed = text.split("\n"), []
    skip_source_line = False
    for line in lines:
        if skip_source_line and line.startswith((" ", "\t")):
            skip_source_line = False
            continue
        skip_source_line = False
        header = WARNING_HEADER.match(line)
        if header and header.group("path").startswith(COURSE_PACKAGE):
            scrubbed.append(f"{header.group('category')}: {header.group('message')}")
            skip_source_line = True
        else:
            scrubbed.append(line)
    return "\n".join(scrubbed)


class HideCheckDetails(NbGraderPreprocessor):
    """Keep error messages, drop what they quote of the checks.

    - error outputs keep the student's own frames plus ``ExceptionType: message``;
    - warnings raised inside the course package lose their path and quoted source line;
    - cells with a hidden test block lose their ``Out[...]`` value, which would show
      whatever the hidden check returned.
    Must run before ``ClearHiddenTests``, which removes the marker this looks for.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        self.student_counts = {
            cell.execution_count for cell in nb.cells
            if cell.cell_type == "code" and utils.is_solution(cell) and cell.execution_count
        }
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int):
        if cell.cell_type != "code":
            return cell, resources
        has_hidden_tests = HIDDEN_TESTS_MARKER in cell.source
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                trim_error(output, self.student_counts)
            elif output.output_type == "stream" and output.name == "stderr":
                output.text = scrub_warnings(output.text)
            elif output.output_type == "execute_result" and has_hidden_tests:
                continue
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources
