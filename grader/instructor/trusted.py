"""Verdicts decided outside the student's kernel.

Each graded test cell ends with ``hidden_check("lessonN.check_x", student_function, ...)``
(``course.grader_link``). While nbgrader executes a notebook, :class:`TrustedExecute`
listens on a socket that only that notebook's kernel is told about. When the test cell
runs, the kernel connects and hands over its functions; this process runs the named check
from ``grader.checks`` with stand-ins (:class:`StudentObject`) that forward each call to the
kernel and bring back the values as data. The references, the random inputs (drawn from the
course secret) and the comparison never enter the kernel, and no student code runs here.

Which check a cell runs, and with which literal arguments, is read from the cell's source as
the instructor wrote it (nbgrader restores test cells from the gradebook before executing),
never from what the kernel says. After execution every graded test cell gets its trusted
verdict: a cell whose checks did not all pass here -- failed, never asked for, cut off --
gets an error output with the grader's message, so nbgrader scores it 0 whatever the cell
printed. A cell's score is thus the smaller of nbgrader's and the verdict. Printing never
earns points (an ``execute_result`` is shown as plain output) and a warning never costs
any (stderr is shown as ordinary output).
"""

import ast
import importlib
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from nbclient.util import run_sync
from nbformat import NotebookNode
from traitlets import Bool, Integer, Unicode

from course.grader_link import (
    SOCKET_VARIABLE,
    LinkError,
    decode,
    encode,
    is_data_tree,
    receive_message,
    send_message,
)
from grader.checks.common import describe
from grader.instructor.kernel_sandbox import (
    SandboxedKernelManager,
    check_sandbox,
    prepare_scratch,
    sandbox_disabled,
)
from grader.instructor.safeguards import ResilientExecute

CHECK_CALL = "hidden_check"
VERDICT_ERROR = "HiddenCheckFailed"
# Cell metadata key of the trusted verdict in the autograded notebook (written only here:
# test cells and their metadata come from the release), read by the class report.
VERDICT_KEY = "trusted_verdict"
CHECK_NOT_FINISHED = ("the hidden check did not finish (the cell failed or was stopped "
                      "before it, or the kernel was restarted)")
NO_CHECK = "this graded cell has no hidden check the grader can run"
MAX_CELL_MESSAGE = 4000
# Longest a hidden check may wait for one answer from the kernel; nbgrader's cell timeout
# interrupts the kernel long before, which closes the link.
ANSWER_TIMEOUT = 600


class KernelGone(BaseException):
    """The kernel closed the link mid-check (interrupted, restarted, died). A BaseException:
    a check's ``except Exception`` around student code must not swallow it."""


class StudentCodeError(Exception):
    """The student's code raised; the message names the exception as the kernel saw it."""


# --- which checks a cell runs ----------------------------------------------------------

@dataclass(frozen=True)
class ExpectedCheck:
    """One ``hidden_check(...)`` line of a test cell as the instructor wrote it."""

    check: str  # "lesson2.check_linear_layer"
    # Per positional argument after the check name: ("literal", value) or ("student", name)
    arguments: tuple = field(default_factory=tuple)


def expected_checks(source: str) -> list[ExpectedCheck]:
    """The ``hidden_check`` calls of a cell's source, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == CHECK_CALL):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        arguments = []
        for argument in node.args[1:]:
            if isinstance(argument, ast.Constant):
                arguments.append(("literal", argument.value))
            else:
                arguments.append(("student", ast.unparse(argument)))
        found.append(((node.lineno, node.col_offset),
                      ExpectedCheck(node.args[0].value, tuple(arguments))))
    return [check for _, check in sorted(found, key=lambda item: item[0])]


def check_function(name: str):
    """``"lesson2.check_x"`` -> grader.checks.lesson2.check_x; nothing else is reachable."""
    module, _, function = name.partition(".")
    if not (module.startswith("lesson") and module[6:].isdigit()
            and function.startswith("check_")):
        raise LookupError(f"{name!r} is not a hidden check")
    return getattr(importlib.import_module(f"grader.checks.{module}"), function)


def is_graded_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and bool(meta.get("grade"))
            and not meta.get("solution"))


# --- the grader's side of one link -----------------------------------------------------

def describe_arguments(args, kwargs) -> str:
    """The arguments of a call, described by shape, at most a few hundred characters."""
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) <= 300 else text[:297] + "..."


class StudentObject:
    """Stands for an object that lives in the student's kernel (a function, a class, an
    instance): calling it, reading or setting an attribute or item asks the kernel."""

    __slots__ = ("_link", "_number")

    def __init__(self, link, number):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_number", number)

    def _ask(self, operation, **fields):
        return self._link.request({"op": operation, "target": self._number, **fields})

    def __call__(self, *args, **kwargs):
        # The kernel works on copies of the arguments; what the student's code changes in
        # them (an in-place update, an input it should have left alone) is done to these.
        nodes: list = []
        try:
            return self._link.request(
                {"op": "call", "target": self._number,
                 "args": self._link.encode(list(args), nodes),
                 "kwargs": self._link.encode(dict(kwargs), nodes)}, nodes)
        except StudentCodeError as error:
            # Say which call crashed and on what, not only the exception.
            raise StudentCodeError(f"{error} (when called as {self._name()}("
                                   f"{describe_arguments(args, kwargs)}))") from None

    def _name(self) -> str:
        try:
            name = self._ask("getattr", name="__name__")
        except (StudentCodeError, LinkError):
            return "your function"
        return name if isinstance(name, str) and name.isidentifier() else "your function"

    def __getattr__(self, name):
        if name.startswith("__") and name not in ("__name__", "__qualname__"):
            raise AttributeError(name)  # numpy and copy probe dunders: never the kernel's
        # A method (a handle, not data) is asked for once per object: training loops call
        # network.forward thousands of times.
        key = (self._number, name)
        if key in self._link.methods:
            return self._link.methods[key]
        value = self._ask("getattr", name=name)
        if isinstance(value, StudentObject):
            self._link.methods[key] = value
        return value

    def __setattr__(self, name, value):
        self._link.methods.pop((self._number, name), None)
        self._ask("setattr", name=name, value=self._link.encode(value))

    def __getitem__(self, key):
        return self._ask("getitem", key=self._link.encode(key))

    def __setitem__(self, key, value):
        self._ask("setitem", key=self._link.encode(key), value=self._link.encode(value))

    def __len__(self):
        return int(self._ask("len"))

    def __bool__(self):
        return bool(self._ask("bool"))

    def __iter__(self):
        return iter(self._ask("list"))

    def __float__(self):
        return float(self._ask("float"))

    def __array__(self, dtype=None, copy=None):
        # Without this numpy would build an array through __len__ and __iter__, one round
        # trip per entry, recursing into whatever the entries are: an object that claims to
        # be a sequence of itself keeps a check busy until the cell's timeout.
        raise TypeError("a function returned an object of its own where numbers or a numpy "
                        "array were expected")

    def __repr__(self):
        return "<an object of the student's kernel>"


class AttributeDict(dict):
    """A dict attribute of a kernel object (a layer's ``params``), as a copy whose entries,
    when set here, are set in the kernel too."""

    def __init__(self, link, number, items):
        super().__init__(items)
        self._link, self._number = link, number

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._link.request({"op": "setitem", "target": self._number,
                            "key": self._link.encode(key), "value": self._link.encode(value)})


class TrustedLink:
    """The grader's end of one hidden check's connection."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.functions: dict[int, object] = {}
        self.objects: dict[int, object] = {}
        self.methods: dict[tuple[int, str], StudentObject] = {}

    def encode(self, value, nodes: list | None = None):
        return encode(value, self._handle, nodes=nodes)

    def _handle(self, value):
        if isinstance(value, StudentObject):
            return {"__ref__": object.__getattribute__(value, "_number")}
        if isinstance(value, np.random.Generator):
            # The kernel gets its own generator, seeded from this one: a fresh draw.
            return {"__rng__": int(value.integers(2 ** 62))}
        number = id(value)
        if callable(value):
            self.functions[number] = value
            return {"__cb__": number}
        if hasattr(value, "__dict__"):
            self.objects[number] = value
            methods = [name for name in dir(type(value))
                       if not name.startswith("_") and callable(getattr(type(value), name))]
            return {"__obj__": number, "attributes": self.encode(_data_attributes(value)),
                    "methods": methods}
        raise LinkError(f"cannot hand a {type(value).__name__} to the kernel")

    def _resolve(self, document):
        if "__ref__" in document:
            if not isinstance(document["__ref__"], int):
                raise LinkError("bad handle")
            return StudentObject(self, document["__ref__"])
        if "__mirror__" in document and document["__mirror__"] in self.objects:
            return self.objects[document["__mirror__"]]
        if "__dictattr__" in document and isinstance(document["__dictattr__"], int):
            return AttributeDict(self, document["__dictattr__"], self.decode(document["items"]))
        raise LinkError(f"the kernel sent an unknown handle {sorted(document)[:3]}")

    def decode(self, document):
        return decode(document, self._resolve)

    def receive(self):
        try:
            return receive_message(self.sock)
        except (ConnectionError, OSError, TimeoutError) as error:
            raise KernelGone(str(error)) from None

    def request(self, document, nodes: list | None = None):
        """Send a request to the kernel; serve its callbacks until the answer comes.
        nodes: the arrays, lists and dicts sent as the call's arguments (see ``encode``)."""
        try:
            send_message(self.sock, document)
        except OSError as error:
            raise KernelGone(str(error)) from None
        while True:
            message = self.receive()
            if not isinstance(message, dict):
                raise LinkError("the kernel sent a message that is not an object")
            if message.get("op") == "callback":
                self._serve_callback(message)
                continue
            if message.get("op") != "reply":
                raise LinkError(f"unexpected message {message.get('op')!r}")
            self._update_mirrors(message.get("mirrors", {}))
            if nodes is not None and message.get("changed"):
                self._apply_changes(nodes, message["changed"])
            if "error" in message:
                kind, text = (list(message["error"]) + ["", ""])[:2]
                raise StudentCodeError(f"{str(kind)[:100]}: {str(text)[:2000]}")
            return self.decode(message.get("value"))

    def _apply_changes(self, nodes: list, changed) -> None:
        if not isinstance(changed, dict):
            raise LinkError("bad changes")

        def entry(value):
            if isinstance(value, dict) and "__node__" in value:
                return nodes[int(value["__node__"])]
            return self.decode(value)

        for key, new in changed.items():
            node = nodes[int(key)]
            if isinstance(node, np.ndarray):
                value = self.decode(new)
                if isinstance(value, np.ndarray) and value.shape == node.shape:
                    try:
                        node[...] = value
                    except (ValueError, TypeError):
                        pass  # a read-only array: the check keeps its own
            elif isinstance(node, list) and isinstance(new, dict) and "list" in new:
                node[:] = [entry(v) for v in new["list"]]
            elif isinstance(node, dict) and isinstance(new, dict) and "dict" in new:
                items = [(self.decode(k), entry(v)) for k, v in new["dict"]]
                node.clear()
                node.update(items)

    def _update_mirrors(self, states):
        if not isinstance(states, dict):
            raise LinkError("bad mirror states")
        for number, state in states.items():
            target = self.objects.get(int(number))
            if target is not None:
                _set_data_attributes(target, self.decode(state))

    def _serve_callback(self, message):
        answer = {"op": "reply"}
        try:
            args = self.decode(message.get("args", []))
            kwargs = self.decode(message.get("kwargs", {}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise LinkError("bad callback arguments")
            if "cb" in message:
                function = self.functions[message["cb"]]
            else:
                target = self.objects[message["obj"]]
                if message.get("method", "").startswith("_"):
                    raise LinkError("private method")
                _set_data_attributes(target, self.decode(message.get("state", {})))
                function = getattr(target, message["method"])
            answer["value"] = self.encode(function(*args, **{str(k): v
                                                             for k, v in kwargs.items()}))
            if "obj" in message:
                answer["state"] = self.encode(_data_attributes(target))
        except KernelGone:
            raise
        except Exception as error:  # a grader function given bad input by student code
            answer = {"op": "reply", "error": type(error).__name__}
        try:
            send_message(self.sock, answer)
        except OSError as error:
            raise KernelGone(str(error)) from None


def _data_attributes(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_") and is_data_tree(v)}


def _set_data_attributes(obj, state) -> None:
    if not isinstance(state, dict):
        raise LinkError("bad object state")
    allowed = _data_attributes(obj)
    for name, value in state.items():
        if name in allowed:  # only attributes that were data: never methods or internals
            setattr(obj, name, value)


# --- one notebook's checks ---------------------------------------------------------------

@dataclass
class Verdict:
    passed: bool
    message: str


class CheckServer:
    """Listens for the hidden checks of one notebook's kernel and records their verdicts.

    ``current_cell`` is set by the executor (this process) to the index of the cell being
    executed; a check is accepted only while a graded test cell runs, only the checks that
    cell's trusted source names, in order.
    """

    def __init__(self, expected: dict[int, list[ExpectedCheck]]):
        self.expected = expected
        self.current_cell: int | None = None
        # While a restarted kernel replays the cells that had run, its checks are answered
        # "passed" at once, unjudged: they only rebuild the kernel's state.
        self.replaying = False
        self.verdicts: dict[int, list[Verdict]] = {}
        self._asked: dict[int, int] = {}
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []

    def __enter__(self):
        # The folder the kernel's sockets live in (shared with its sandbox).
        self.folder = Path(tempfile.mkdtemp(prefix="grader-link-"))
        self.path = str(self.folder / "link")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(8)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._listener.close()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _record(self, cell, verdict: Verdict):
        with self._lock:
            if self.current_cell == cell:  # a verdict that comes too late counts for nothing
                self.verdicts.setdefault(cell, []).append(verdict)

    def _serve(self, connection: socket.socket):
        cell = self.current_cell
        connection.settimeout(ANSWER_TIMEOUT)
        link = TrustedLink(connection)
        try:
            request = link.receive()
            if self.replaying:
                send_message(connection, {"op": "verdict", "passed": True, "message": ""})
                return
            with self._lock:
                position = self._asked.get(cell, 0) if cell is not None else 0
                if cell is not None:
                    self._asked[cell] = position + 1
            expected = self.expected.get(cell, []) if cell is not None else []
            asked_for = (isinstance(request, dict) and request.get("op") == "check"
                         and position < len(expected)
                         and request.get("check") == expected[position].check)
            if not asked_for:
                verdict = Verdict(False, "this hidden check was not asked for by the graded "
                                         "cell as the instructor wrote it")
            else:
                verdict = self._run(link, expected[position], request.get("args"))
            if cell is not None and verdict is not None:
                self._record(cell, verdict)
            if verdict is not None:
                send_message(connection, {"op": "verdict", "passed": verdict.passed,
                                          "message": verdict.message})
        except (KernelGone, LinkError, OSError):
            pass  # no verdict: the cell fails closed
        finally:
            connection.close()

    def _run(self, link: TrustedLink, expected: ExpectedCheck, sent) -> Verdict | None:
        try:
            sent = link.decode(sent)
            if not isinstance(sent, list) or len(sent) != len(expected.arguments):
                return Verdict(False, "the graded cell's hidden check was called with other "
                                      "arguments than the instructor wrote")
            arguments = [value if kind == "literal" else given
                         for (kind, value), given in zip(expected.arguments, sent)]
            check_function(expected.check)(*arguments)
            return Verdict(True, "")
        except AssertionError as error:
            return Verdict(False, str(error) or f"{expected.check} failed")
        except StudentCodeError as error:
            return Verdict(False, f"your code raised {error}")
        except KernelGone:
            return None
        except LinkError as error:
            return Verdict(False, f"the kernel broke the grading protocol ({error})")
        except RecursionError:
            return Verdict(False, "your answer could not be used (recursion too deep)")
        except Exception as error:  # e.g. a wrong type returned, used by the check
            return Verdict(False, f"your answer could not be used by the check: "
                                  f"{type(error).__name__}: {error}")


def run_checks_in_process(source: str, namespace: dict) -> None:
    """Run a test cell's hidden checks on functions of this process (``namespace``): for
    the instructor's own tests and scripts, never for a submission."""
    for expected in expected_checks(source):
        arguments = [value if kind == "literal" else eval(value, namespace)
                     for kind, value in expected.arguments]
        check_function(expected.check)(*arguments)


def notebook_checks(nb) -> dict[int, list[ExpectedCheck]]:
    """cell index -> the hidden checks its (trusted) source runs, for graded test cells."""
    return {index: expected_checks(cell.source) for index, cell in enumerate(nb.cells)
            if is_graded_test_cell(cell)}


def apply_verdicts(nb, expected: dict[int, list[ExpectedCheck]],
                   verdicts: dict[int, list[Verdict]]) -> None:
    """Give every graded test cell its trusted outcome (see the module docstring)."""
    for index, checks in expected.items():
        cell = nb.cells[index]
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output = NotebookNode(output_type="display_data", data=output.get("data", {}),
                                      metadata=output.get("metadata", {}))
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                output = NotebookNode(output_type="stream", name="stdout",
                                      text=output.get("text", ""))
            outputs.append(output)
        got = verdicts.get(index, [])
        failed = [v for v in got if not v.passed]
        if not checks:
            problem = NO_CHECK
        elif failed:
            problem = failed[0].message
        elif len(got) < len(checks):
            problem = CHECK_NOT_FINISHED
        else:
            problem = None
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if problem is not None and not errors:
            outputs.append(NotebookNode(output_type="error", ename=VERDICT_ERROR,
                                        evalue=problem,
                                        traceback=[f"{VERDICT_ERROR}: {problem}"]))
        cell.outputs = outputs
        # What the class report groups: the grader's message, and for a cell that failed
        # before its check ran, its own error (a stub's NotImplementedError, the visible
        # check's message). The cell's error comes from the kernel: it can mislabel only
        # this student's own failure in the report, never change a score.
        cell.metadata[VERDICT_KEY] = {
            "passed": problem is None and not errors,
            "message": problem or "",
            "cell_error": str(errors[0].get("ename", ""))[:100] if errors else "",
            "cell_message": str(errors[0].get("evalue", ""))[:MAX_CELL_MESSAGE] if errors
            else "",
        }


class TrustedExecute(ResilientExecute):
    """nbgrader's ``Execute`` (with the safeguards of ``ResilientExecute``) that starts each
    kernel in a throwaway sandbox (``kernel_sandbox``), runs the hidden checks in this
    process and applies their verdicts."""

    sandbox = Bool(True, help="Run kernels in a bubblewrap sandbox; False is unsafe: student "
                              "code then runs as you, with your files and network."
                   ).tag(config=True)

    course_root = Unicode("", help="The course folder (default: the current folder); "
                                   "the lesson's files are copied from its source/."
                          ).tag(config=True)

    startup_attempts = Integer(3, help="Kernel starts tried before a notebook is given up "
                                       "(a loaded machine can miss the startup timeout)."
                               ).tag(config=True)

    def start_new_kernel_client(self):
        """nbclient's, retried with a fresh kernel when the kernel did not answer in time."""
        for attempt in range(1, self.startup_attempts + 1):
            try:
                return run_sync(super().async_start_new_kernel_client)()
            except RuntimeError as error:  # nbclient's "Kernel didn't respond in N seconds"
                if attempt == self.startup_attempts:
                    raise
                self.log.warning("Kernel start %d failed (%s); starting another", attempt,
                                 error)
                self.km = self.create_kernel_manager()  # nbclient cleaned up the failed one
                self.start_new_kernel()

    def _sandboxed(self) -> bool:
        return self.sandbox and not sandbox_disabled()

    def preprocess(self, nb, resources=None, km=None):
        if self._sandboxed():
            check_sandbox()
        self._expected = notebook_checks(nb)
        self._scratch = None
        with CheckServer(self._expected) as server:
            self._server = server
            if self._sandboxed():
                self._scratch = server.folder / "lesson"
                prepare_scratch(self._scratch, self._lesson_files(resources or {}))
            nb, resources = super().preprocess(nb, resources, km)
        apply_verdicts(nb, self._expected, server.verdicts)
        return nb, resources

    def _lesson_files(self, resources) -> list[Path]:
        """The lesson's own files (data, handouts) from the course's source folder; for a
        notebook outside an assignment (validate), the regular files beside it."""
        lesson = resources.get("nbgrader", {}).get("assignment")
        folder = Path(self.course_root or Path.cwd()) / "source" / str(lesson)
        if not (lesson and folder.is_dir()):
            folder = Path(resources.get("metadata", {}).get("path") or Path.cwd())
        return sorted(p for p in folder.iterdir() if p.suffix != ".ipynb" and p.is_file())

    def create_kernel_manager(self):
        if not self._sandboxed():
            return super().create_kernel_manager()
        self.kernel_manager_class = SandboxedKernelManager
        km = super().create_kernel_manager()
        km.transport = "ipc"
        km.ip = str(self._server.folder / "kernel")
        km.connection_file = str(self._server.folder / "kernel.json")
        km.shared, km.scratch, km.socket_path = (self._server.folder, self._scratch,
                                                 self._server.path)
        return km

    async def async_start_new_kernel(self, **kwargs):
        env = dict(kwargs.pop("env", None) or os.environ)
        env[SOCKET_VARIABLE] = self._server.path
        await super().async_start_new_kernel(env=env, **kwargs)

    # nbclient binds the synchronous form to its own coroutine: rebind it to this one.
    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess_cell(self, cell, resources, index):
        self._server.current_cell = index
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            self._server.current_cell = None

    def _restart_and_replay(self) -> None:
        # Replayed cells only rebuild the kernel's state: their checks count for nothing.
        current, self._server.current_cell = self._server.current_cell, None
        self._server.replaying = True
        try:
            super()._restart_and_replay()
        finally:
            self._server.current_cell, self._server.replaying = current, False
