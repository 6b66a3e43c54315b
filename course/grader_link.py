"""How a graded cell's hidden part reaches the grader, which runs outside this kernel.

While a class is graded, the hidden half of each test cell is one line::

    hidden_check("lesson2.check_linear_layer", linear_forward, linear_backward)

It hands the named functions to the grader, a separate process that holds the hidden
checks and the reference answers. The grader draws the inputs, asks this kernel to call the
student's functions on them, compares the returned values with its references, and sends
back the verdict: this module only carries calls and data. The grader decides the points
itself, so nothing done in the kernel can change a verdict; this module holds no check and
no answer.

Wire format (both directions): one message is a 4-byte big-endian length and a JSON
document. Arrays travel as base64 bytes with their dtype and shape; numbers, strings,
tuples, lists and dicts as themselves; anything else stays where it lives and travels as a
handle (``{"__ref__": n}`` for an object of this kernel, ``{"__cb__": n}`` for a function
of the grader, ``{"__obj__": n, ...}`` for an object of the grader whose data attributes
are mirrored here). Nothing is ever unpickled.
"""

import base64
import json
import os
import socket
import struct

import numpy as np

SOCKET_VARIABLE = "COURSE_GRADER_SOCKET"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
_NUMERIC_KINDS = "biufc"


class LinkError(Exception):
    """The other side broke the protocol (bad framing, too large, too deep)."""


# --- framing ----------------------------------------------------------------------------

def send_message(sock: socket.socket, document) -> None:
    payload = json.dumps(document, allow_nan=True).encode()
    if len(payload) > MAX_MESSAGE_BYTES:
        raise LinkError(f"message of {len(payload)} bytes is over {MAX_MESSAGE_BYTES}")
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, received = memoryview(buffer), 0
    while received < size:
        count = sock.recv_into(view[received:], min(size - received, 1 << 20))
        if not count:
            raise ConnectionError("the other side closed the link")
        received += count
    return bytes(buffer)


def receive_message(sock: socket.socket):
    (size,) = struct.unpack(">I", _receive_exactly(sock, 4))
    if size > MAX_MESSAGE_BYTES:
        raise LinkError(f"message of {size} bytes is over {MAX_MESSAGE_BYTES}")
    try:
        return json.loads(_receive_exactly(sock, size))
    except (ValueError, RecursionError) as error:
        raise LinkError(f"unreadable message: {error}") from None


# --- values -----------------------------------------------------------------------------

def is_data(value) -> bool:
    """Whether ``value`` crosses the link as a copy (not as a handle)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value).dtype.kind in _NUMERIC_KINDS
    return False


def encode(value, handle, depth: int = 0, nodes: list | None = None):
    """JSON-ready form of ``value``; ``handle(obj)`` encodes what is not data.

    nodes: if given, every array, list and dict met is appended to it, depth first: the
    order in which ``decode`` meets the copies, so the two sides can name them by position.
    """
    if depth > MAX_DEPTH:
        raise LinkError("value nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.ndarray | np.generic) and is_data(value):
        array = np.asarray(value)
        if nodes is not None and isinstance(value, np.ndarray):
            nodes.append(value)
        return {"__nd__": [array.dtype.str, list(array.shape),
                           base64.b64encode(array.tobytes(order="C")).decode()],
                "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, handle, depth + 1, nodes) for v in value]}
    if isinstance(value, list):
        if nodes is not None:
            nodes.append(value)
        return [encode(v, handle, depth + 1, nodes) for v in value]
    if isinstance(value, dict):
        if nodes is not None:
            nodes.append(value)
        return {"__dict__": [[encode(k, handle, depth + 1, nodes),
                              encode(v, handle, depth + 1, nodes)]
                             for k, v in value.items()]}
    return handle(value)


def decode(document, resolve, depth: int = 0, nodes: list | None = None):
    """The value ``encode`` made; ``resolve(dict)`` turns a handle into an object.

    nodes: if given, every array, list and dict made is appended to it, in ``encode``'s order.
    """
    if depth > MAX_DEPTH:
        raise LinkError("value nested too deeply")
    if document is None or isinstance(document, bool | int | float | str):
        return document
    if isinstance(document, list):
        made = []
        if nodes is not None:
            nodes.append(made)
        made.extend(decode(v, resolve, depth + 1, nodes) for v in document)
        return made
    if not isinstance(document, dict):
        raise LinkError(f"unexpected {type(document).__name__}")
    if "__nd__" in document:
        dtype, shape, data = document["__nd__"]
        dtype = np.dtype(dtype)
        if dtype.kind not in _NUMERIC_KINDS:
            raise LinkError(f"arrays of dtype {dtype} do not cross the link")
        array = np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()
        if document.get("scalar"):
            return array[()]
        if nodes is not None:
            nodes.append(array)
        return array
    if "__tuple__" in document:
        return tuple(decode(v, resolve, depth + 1, nodes) for v in document["__tuple__"])
    if "__dict__" in document:
        made = {}
        if nodes is not None:
            nodes.append(made)
        for k, v in document["__dict__"]:
            key = decode(k, resolve, depth + 1, nodes)
            made[key] = decode(v, resolve, depth + 1, nodes)
        return made
    return resolve(document)


# --- the kernel's side ------------------------------------------------------------------

class _GraderFunction:
    """A function of the grader's (e.g. a test function to differentiate), callable only
    while the call that handed it over is running."""

    def __init__(self, link, number):
        self._link, self._number = link, number

    def __call__(self, *args, **kwargs):
        return self._link.callback({"cb": self._number}, args, kwargs)


class _GraderObject:
    """An object of the grader's (e.g. a correct layer). Its data attributes live here, so
    code may update them in place; its methods run in the grader on the current values."""

    def __init__(self, link, number, attributes, methods):
        object.__setattr__(self, "_link", (link, number, tuple(methods)))
        for name, value in attributes.items():
            object.__setattr__(self, name, value)

    def _state(self):
        return {k: v for k, v in vars(self).items() if k != "_link" and is_data_tree(v)}

    def __getattr__(self, name):
        link, number, methods = object.__getattribute__(self, "_link")
        if name not in methods:
            raise AttributeError(name)

        def method(*args, **kwargs):
            return link.callback({"obj": number, "method": name, "state": self._state()},
                                 args, kwargs, mirror=self)
        return method


def is_data_tree(value, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if is_data(value):
        return True
    if isinstance(value, tuple | list):
        return all(is_data_tree(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(is_data_tree(k, depth + 1) and is_data_tree(v, depth + 1)
                   for k, v in value.items())
    return False


class _DictAttribute:
    """How a dict attribute travels: its contents, and a handle to set its entries."""

    def __init__(self, number, value):
        self.number, self.value = number, value


class _KernelLink:
    """One hidden check's connection: answers the grader's requests until its verdict."""

    def __init__(self, sock):
        self.sock = sock
        self.objects: dict[int, object] = {}
        self.mirrors: dict[int, _GraderObject] = {}
        self.out_of_memory = False  # a MemoryError in the student's code while serving

    # values this side sends: its own objects go by handle
    def _handle(self, value):
        if isinstance(value, _DictAttribute):
            return {"__dictattr__": value.number, "items": self._encode(value.value)}
        if isinstance(value, _GraderObject):
            number = object.__getattribute__(value, "_link")[1]
            return {"__mirror__": number}
        number = id(value)
        self.objects[number] = value
        return {"__ref__": number}

    def _resolve(self, document):
        if "__ref__" in document:
            return self.objects[document["__ref__"]]
        if "__cb__" in document:
            return _GraderFunction(self, document["__cb__"])
        if "__obj__" in document:
            number = document["__obj__"]
            if number not in self.mirrors:
                attributes = decode(document["attributes"], self._resolve)
                self.mirrors[number] = _GraderObject(self, number, attributes,
                                                     document["methods"])
            return self.mirrors[number]
        if "__rng__" in document:
            return np.random.default_rng(document["__rng__"])
        raise LinkError(f"unknown handle {sorted(document)}")

    def _send(self, document):
        send_message(self.sock, document)

    def _encode(self, value):
        return encode(value, self._handle)

    changed = None

    def _mirror_states(self):
        return {str(n): self._encode(m._state()) for n, m in self.mirrors.items()}

    def callback(self, target, args, kwargs, mirror=None):
        """Ask the grader to run one of its functions; serve its requests meanwhile."""
        if mirror is not None:
            target = {**target, "state": self._encode(target["state"])}
        self._send({"op": "callback", **target,
                    "args": self._encode(list(args)), "kwargs": self._encode(dict(kwargs))})
        reply = self.serve()
        if mirror is not None and "state" in reply:
            for name, value in decode(reply["state"], self._resolve).items():
                object.__setattr__(mirror, name, value)
        if "error" in reply:
            raise RuntimeError(f"the grader's function failed: {reply['error']}")
        return decode(reply["value"], self._resolve)

    def serve(self):
        """Answer requests until a reply to this side's last message (or the verdict)."""
        while True:
            request = receive_message(self.sock)
            if request.get("op") in ("reply", "verdict"):
                return request
            self.changed = None
            try:
                value = self._perform(request)
                answer = {"op": "reply", "value": self._encode(value)}
            except Exception as error:  # the student's code failed: the grader judges that
                answer = {"op": "reply", "error": [type(error).__name__, str(error)[:2000]]}
                self.out_of_memory = self.out_of_memory or isinstance(error, MemoryError)
            answer["mirrors"] = self._mirror_states()
            if self.changed:
                answer["changed"] = self.changed
            self._send(answer)

    def _changes(self, nodes, before):
        """What a call did to its arguments, so the grader can do the same to its own:
        position -> new contents, for each array, list or dict that changed. A container's
        entries that are argument nodes themselves go by position (``{"__node__": i}``)."""
        position = {id(node): i for i, node in enumerate(nodes)}

        def entry(value):
            if id(value) in position:
                return {"__node__": position[id(value)]}
            return self._encode(value)

        changes = {}
        for i, (node, old) in enumerate(zip(nodes, before)):
            if isinstance(node, np.ndarray):
                if node.shape != old.shape or not np.array_equal(node, old, equal_nan=True):
                    changes[str(i)] = self._encode(node)
            elif isinstance(node, list):
                if len(node) != len(old) or any(a is not b for a, b in zip(node, old)):
                    changes[str(i)] = {"list": [entry(v) for v in node]}
            elif node.keys() != old.keys() or any(node[k] is not old[k] for k in node):
                changes[str(i)] = {"dict": [[self._encode(k), entry(v)]
                                            for k, v in node.items()]}
        return changes

    def _perform(self, request):
        target = self.objects[request["target"]] if "target" in request else None
        operation = request.get("op")
        if operation == "call":
            nodes: list = []
            args = decode(request["args"], self._resolve, nodes=nodes)
            kwargs = decode(request["kwargs"], self._resolve, nodes=nodes)
            before = [node.copy() for node in nodes]
            try:
                return target(*args, **kwargs)
            finally:
                self.changed = self._changes(nodes, before)
        if operation == "getattr":
            value = getattr(target, request["name"])
            if isinstance(value, dict) and is_data_tree(value):
                # A dict attribute (a layer's params): the grader may set its entries.
                self.objects[id(value)] = value
                return _DictAttribute(id(value), value)
            return value
        if operation == "setattr":
            setattr(target, request["name"], decode(request["value"], self._resolve))
            return None
        if operation == "getitem":
            return target[decode(request["key"], self._resolve)]
        if operation == "setitem":
            target[decode(request["key"], self._resolve)] = decode(request["value"],
                                                                   self._resolve)
            return None
        if operation == "len":
            return len(target)
        if operation == "bool":
            return bool(target)
        if operation == "list":
            return list(target)
        if operation == "float":
            return float(target)
        raise LinkError(f"unknown request {operation!r}")


def hidden_check(check: str, *args):
    """Hand ``args`` (the student's functions) to the grader's ``check``; raise
    AssertionError with the grader's message if the check fails."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path:
        raise RuntimeError("hidden checks run only while the grader grades this notebook "
                           "(nbgrader autograde or validate)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        link = _KernelLink(sock)
        link._send({"op": "check", "check": check, "args": link._encode(list(args))})
        verdict = link.serve()
    if link.out_of_memory:
        # Raised in the cell, as if the student's code had run there: the grader then
        # restarts this kernel (whatever memory it still holds) and reports it.
        raise MemoryError(f"your code ran out of memory during the check {check}")
    if verdict.get("op") != "verdict":
        raise RuntimeError("the grader sent no verdict")
    if not verdict.get("passed"):
        raise AssertionError(verdict.get("message") or f"{check} failed")
