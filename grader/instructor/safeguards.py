"""nbgrader preprocessors that keep one submission's damage inside that submission.

Stock nbgrader fails a whole submission when its kernel dies (``os._exit``, a crash) or
stops answering (a loop that swallows the interrupt): the notebook is dropped and every cell
scores nothing. :class:`ResilientExecute` is nbgrader's own ``Execute`` with one change: the
cell that killed or hung the kernel gets an error output (so it, and only what depends on
it, fails), the kernel is restarted, the cells that had run are replayed to rebuild its
state, and execution goes on. It also caps the kernel's memory, so a runaway allocation
raises ``MemoryError`` in that cell instead of exhausting the machine; the kernel is then
restarted the same way, so the memory it held cannot fail later cells. And it holds the
whole notebook to a time budget: no cell may run past it, and once it is spent grading stops
(grade_class then gives the submission 0).

:class:`TruncateLargeOutput` cuts megabytes of output down after grades are saved, so a
chatty notebook keeps its points but does not produce megabyte feedback pages.
"""

import copy
import math
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer

TIMEOUT_ERROR = "CellTimeoutError"
KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelUnresponsive"
# How the error of a submission that ran past its whole time budget begins.
OVER_BUDGET = "no result after"


class OverBudget(Exception):
    """The notebook used up its time budget; grading of this submission stops."""


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _raised(cell: NotebookNode, ename: str) -> bool:
    return any(out.get("output_type") == "error" and out.get("ename") == ename
               for out in cell.get("outputs", []))


def _timed_out(cell: NotebookNode) -> bool:
    return _raised(cell, TIMEOUT_ERROR)


class ResilientExecute(Execute):
    """nbgrader's ``Execute``, surviving cells that kill or hang the kernel."""

    memory_limit_mb = Integer(
        0, help="Address-space limit of the kernel in MiB (0: no limit)."
    ).tag(config=True)

    probe_timeout = Integer(
        10, help="Seconds an interrupted kernel gets to answer before it is restarted."
    ).tag(config=True)

    budget_seconds = Integer(
        0, help="Seconds the whole notebook may take, kernel starts included (0: no limit)."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        # Cells that ran to completion, in order: replayed after a restart.
        self._completed: list[int] = []
        self._cell_timeout = self.timeout
        self._deadline = (time.monotonic() + self.budget_seconds if self.budget_seconds > 0
                          else math.inf)
        if self.memory_limit_mb > 0:
            limit = self.memory_limit_mb * 1024 * 1024
            # Set inside the kernel (soft and hard, so student code cannot raise it), before
            # any cell runs; rlimits are per process, so the grader itself is unaffected.
            line = (f"__import__('resource').setrlimit(__import__('resource').RLIMIT_AS, "
                    f"({limit}, {limit}))")
            argument = f"--IPKernelApp.exec_lines={line}"
            if argument not in self.extra_arguments:
                self.extra_arguments = [*self.extra_arguments, argument]
        return super().preprocess(nb, resources, km)

    def _budget_left(self) -> float:
        """Seconds left of the budget; raises OverBudget once it is spent."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise OverBudget(f"{OVER_BUDGET} {self.budget_seconds} s; grading stopped")
        return left

    def preprocess_cell(self, cell, resources, index):
        left = self._budget_left()
        if left < math.inf:  # no cell may outlast what is left of the budget
            limit = math.ceil(left)
            self.timeout = min(self._cell_timeout, limit) if self._cell_timeout else limit
        try:
            cell, resources = self._run_cell(cell, resources, index)
        finally:
            self.timeout = self._cell_timeout
        self._budget_left()
        return cell, resources

    def _run_cell(self, cell, resources, index):
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("Cell %d killed the kernel; restarting it", index)
            cell.outputs = [*cell.get("outputs", []), _error_output(
                KERNEL_DIED, "the kernel stopped while this cell ran (os._exit, a crash or "
                             "memory exhausted); grading restarted it without this cell")]
            self._restart_and_replay()
            return cell, self.resources
        except CellTimeoutError:
            # Raised (rather than recorded) when the interrupted cell never finished.
            self.log.warning("Cell %d hung the kernel; restarting it", index)
            cell.outputs = [*cell.get("outputs", []), _error_output(
                KERNEL_HUNG, "the cell ran past the time limit and ignored the interrupt; "
                             "grading restarted the kernel without this cell")]
            self._restart_and_replay()
            return cell, self.resources
        if _timed_out(cell):
            if not self._kernel_answers():
                self.log.warning("Kernel still busy after cell %d timed out; restarting", index)
                self._restart_and_replay()
        elif _raised(cell, "MemoryError"):
            # IPython keeps the failed frame (and the memory it holds) for %debug, and a
            # library that failed to allocate may be left broken: later cells would fail for
            # this one's fault. A fresh kernel without this cell costs only this cell.
            self.log.warning("Cell %d ran out of memory; restarting the kernel", index)
            self._restart_and_replay()
        elif cell.cell_type == "code":
            self._completed.append(index)
        return cell, resources

    def _kernel_answers(self) -> bool:
        """Whether the kernel runs a trivial cell within ``probe_timeout`` seconds."""
        probe = NotebookNode(cell_type="code", source="pass", metadata={}, outputs=[],
                             execution_count=None)
        saved = self.timeout
        self.timeout = self.probe_timeout
        try:
            self.execute_cell(probe, -1, store_history=False)
        except (CellTimeoutError, DeadKernelError):
            return False
        finally:
            self.timeout = saved
        return not _timed_out(probe)

    def _restart_and_replay(self) -> None:
        """A fresh kernel in the state the completed cells left, without the culprit."""
        run_sync(self.km.restart_kernel)(now=True)
        if self.kc is not None:
            self.kc.stop_channels()
        self.start_new_kernel_client()
        for index in self._completed:
            # A copy: replayed outputs must not overwrite what the cell showed the first time.
            self.execute_cell(copy.deepcopy(self.nb.cells[index]), index, store_history=False)


class TruncateLargeOutput(NbGraderPreprocessor):
    """Caps each cell's output at ``max_bytes``; runs after grades are saved."""

    max_bytes = Integer(
        100_000, help="Largest output a cell keeps in the graded notebook and feedback."
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.max_bytes <= 0:
            return cell, resources
        budget = self.max_bytes
        for output in cell.outputs:
            if output.output_type == "stream":
                if len(output.text) > budget:
                    removed = len(output.text) - budget
                    output.text = (output.text[:budget]
                                   + f"\n... {removed} characters of output removed ...\n")
                budget = max(0, budget - len(output.text))
            elif output.output_type in ("display_data", "execute_result"):
                size = sum(len(str(value)) for value in output.get("data", {}).values())
                if size > budget:
                    output.data = {"text/plain": f"... output of {size} characters removed ..."}
                budget = max(0, budget - min(size, budget))
        return cell, resources
