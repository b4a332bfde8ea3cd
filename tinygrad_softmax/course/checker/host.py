"""The child's side of the checker: import the student's file and run its ops on the parent's inputs.

The parent (`sandbox.py`) starts a fresh Python, hands it this file's source, and the
child runs it as ``main.py``. The child does only what the parent asks: run a
student's forward or backward (through the engine, exactly as a training script
would) on arrays the parent chose, call one of exercise 8's functions, and send
back plain arrays, or the error as data. It judges nothing: references, numeric
gradients, comparisons and the verdict are the parent's, in code the child never
sees, so whatever the student's file does here can only change what its own op
returns.

The same `OpHost` serves `check_function` in the parent's own process (a class
already defined in a notebook), through the same messages.

A student's code sees a plain script around it: this file runs as ``main.py``, nothing of the
checker is imported, and the functions on the stack between it and the engine have plain names
(no "check", "numeric", "reference"...), so an op cannot behave one way for the checker and
another way for a training script by looking at who calls it.

Messages are JSON with the arrays' bytes after it (see `encode`): never pickle,
which would let a child run code in the parent when the parent reads a reply.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import linecache
import math
import os
import struct
import sys
import traceback
import tracemalloc
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tinygrad_softmax.autograd import BackwardError, grad
from tinygrad_softmax.function import Function
from tinygrad_softmax.grad_mode import no_grad
from tinygrad_softmax.tensor import Tensor

# ------------------------------------------------------------------------ the wire format

HEAD = struct.Struct("!4sII")  # magic, JSON header length, array payload length
MAGIC = b"TGS1"
MAX_BYTES = 256 << 20  # far above any message the checks send; a reply claiming more is refused
ARRAY_KINDS = "biuf"  # bool, integers, floats: no objects, strings, structures or complex numbers
_ARRAY_TAG = "__nd__"
_MAX_DEPTH = 32


class WireError(Exception):
    """A message that cannot be sent or read (a malformed reply is the child's failure, never the parent's)."""


def encode(message: Any) -> bytes:
    """One frame: `HEAD`, the JSON text, then every array's bytes (arrays are referenced by offset)."""
    chunks: list[bytes] = []
    offset = 0

    def pack(value: Any, depth: int) -> Any:
        nonlocal offset
        if depth > _MAX_DEPTH:
            raise WireError("nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
                raise WireError(f"cannot send an array of dtype {value.dtype}")
            data = np.ascontiguousarray(value).tobytes()
            chunks.append(data)
            offset += len(data)
            return {_ARRAY_TAG: [offset - len(data), len(data), value.dtype.str, list(value.shape)]}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (list, tuple)):
            return [pack(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {str(k): pack(v, depth + 1) for k, v in value.items()}
        raise WireError(f"cannot send a {type(value).__name__}")

    header = json.dumps(pack(message, 0), allow_nan=True).encode()
    payload = b"".join(chunks)
    if len(header) + len(payload) > MAX_BYTES:
        raise WireError("message too large")
    return HEAD.pack(MAGIC, len(header), len(payload)) + header + payload


def frame_sizes(head: bytes) -> tuple[int, int]:
    """The header and payload lengths announced by a frame's first bytes, checked."""
    magic, header, payload = HEAD.unpack(head)
    if magic != MAGIC or header + payload > MAX_BYTES:
        raise WireError("not a checker message")
    return header, payload


def decode(header: bytes, payload: bytes) -> Any:
    """The message in a frame. Anything malformed raises `WireError`; nothing in it is executed."""
    try:
        tree = json.loads(header)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"unreadable message: {exc}") from None

    def unpack(value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise WireError("nested too deeply")
        if isinstance(value, list):
            return [unpack(v, depth + 1) for v in value]
        if isinstance(value, dict):
            if set(value) == {_ARRAY_TAG}:
                return _array(value[_ARRAY_TAG], payload)
            return {k: unpack(v, depth + 1) for k, v in value.items()}
        return value

    return unpack(tree, 0)


def _array(tag: Any, payload: bytes) -> np.ndarray:
    try:
        start, size, dtype_text, shape = tag
        dtype = np.dtype(str(dtype_text))
        shape = tuple(int(n) for n in shape)
        start, size = int(start), int(size)
    except (TypeError, ValueError) as exc:
        raise WireError(f"bad array in message: {exc}") from None
    count = math.prod(shape)
    if (
        dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None
        or any(n < 0 for n in shape) or count * dtype.itemsize != size or start < 0 or start + size > len(payload)
    ):
        raise WireError("bad array in message")
    return np.frombuffer(payload, dtype=dtype, count=count, offset=start).reshape(shape).copy()


def read_frame(read: Callable[[int], bytes]) -> Any:
    """Read one message with `read(n)`, which returns exactly n bytes or fewer at the end of the stream.

    Returns None at the end of the stream.
    """
    head = read(HEAD.size)
    if len(head) < HEAD.size:
        return None
    header, payload = frame_sizes(head)
    body = read(header + payload)
    if len(body) < header + payload:
        return None
    return decode(body[:header], body[header:])


def _reader(fd: int) -> Callable[[int], bytes]:
    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = os.read(fd, n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    return read


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ------------------------------------------------------------------------ the student's file


class LoadError(Exception):
    """The student's file could not be imported; ``str(error)`` is the message to show, with the line."""


def load_module(path: str | Path) -> types.ModuleType:
    """Import the student's file as a fresh module (its ``if __name__ == "__main__":`` block does not run).

    Its folder goes first on ``sys.path``, so it may import its own helpers.

    Raises:
        LoadError: a syntax error, or an exception (``sys.exit()`` included) while it was imported.
    """
    path = Path(path)
    code = _compile(path)
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    name = stem if stem.isidentifier() and stem not in sys.modules else f"_student_{stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    sys.path.insert(0, str(path.resolve().parent))
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # SystemExit too: the file, not the checker, decides nothing here
        raise LoadError(_describe_import_failure(path, exc)) from None
    return module


def _compile(path: Path) -> types.CodeType:
    try:
        source = importlib.util.decode_source(path.read_bytes())
    except (UnicodeDecodeError, SyntaxError) as exc:  # a bad coding cookie is a SyntaxError
        raise LoadError(f"{path.name}: cannot read the file as Python source text ({exc})") from None
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc.strerror})") from None
    try:
        return compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise LoadError(_describe_syntax_error(exc, path)) from None
    except ValueError as exc:  # e.g. null bytes in the source
        raise LoadError(f"{path.name}: not a Python file ({exc})") from None


def _describe_syntax_error(exc: SyntaxError, path: Path) -> str:
    filename = Path(exc.filename).name if exc.filename else path.name
    lines = [f"{filename}, line {exc.lineno}: {type(exc).__name__}: {exc.msg}"]
    if exc.text:
        text = exc.text.rstrip("\n")
        stripped = text.lstrip()
        lines.append("    " + stripped)
        if exc.offset:
            column = max(exc.offset - 1 - (len(text) - len(stripped)), 0)
            lines.append("    " + " " * column + "^")
    lines.append("Fix the syntax error, then run the checker again.")
    return "\n".join(lines)


def _describe_import_failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):  # in a module the file imports
        return _describe_syntax_error(exc, path)
    where = locate(exc, {str(path)})
    if isinstance(exc, SystemExit):
        at = f", line {where.line}" if where else ""
        return (
            f"{path.name}{at}: the file called sys.exit() while being imported; "
            'move that code under if __name__ == "__main__":'
        )
    header = f"{path.name}, line {where.line}" if where else path.name
    lines = [f"{header}: {type(exc).__name__}: {_text(exc)}"]
    if where and where.text:
        lines.append("    " + where.text)
    if isinstance(exc, ImportError):
        lines.append("The file could not be imported: check the module and name spelled on that line.")
    else:
        lines.append("The file raised this while being imported (top-level code runs when the checker imports it).")
    return "\n".join(lines)


class Location(NamedTuple):
    """Where in the student's code an exception was raised."""

    filename: str
    line: int
    text: str


def locate(exc: BaseException, filenames: set[str]) -> Location | None:
    """The deepest frame in one of `filenames` where `exc` (or its cause) was raised."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = [f for f in traceback.extract_tb(current.__traceback__) if f.filename in filenames]
        if frames:
            frame = frames[-1]
            return Location(frame.filename, frame.lineno or 0, (frame.line or "").strip())
        current = current.__cause__ or current.__context__
    return None


def _text(exc: BaseException) -> str:
    try:
        return str(exc).strip()[:2000]
    except Exception:  # a student's exception whose __str__ fails
        return f"<{type(exc).__name__}>"


def find_functions(module: types.ModuleType) -> list[type[Function]]:
    """The Function subclasses defined in `module` (not imported into it), in the order they were defined.

    A class that does not write its own forward (an abstract helper base) is left out.
    """
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Function)
            and value is not Function
            and value.__module__ == module.__name__
            and "forward" in _own_attributes(value)
        ):
            found.append(value)
    return found


def _own_attributes(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(vars(klass))
    return names


_MISSING = object()


def describe_function(cls: type[Function]) -> dict[str, Any]:
    """What the parent needs to know to call an op: its names, forward's parameters and its ``domain``."""
    info: dict[str, Any] = {"class": cls.__name__, "name": str(getattr(cls, "name", cls.__name__.lower()))}
    try:
        signature = inspect.signature(cls.forward)
        info["params"] = [
            {"name": p.name, "kind": p.kind.name, "default": p.default is not inspect.Parameter.empty}
            for p in signature.parameters.values()
        ]
    except (TypeError, ValueError) as exc:
        info["signature_error"] = _text(exc)
    domain = getattr(cls, "domain", _MISSING)
    if domain is not _MISSING:
        try:
            encode(domain)
            info["domain"] = domain
        except WireError:
            info["domain_repr"] = repr(domain)[:200]
    return info


# ------------------------------------------------------------------------ running the ops


def error_data(exc: BaseException, files: set[str]) -> dict[str, Any]:
    """An exception as plain data: type, message, the student's line, and `BackwardError`'s fields."""
    data: dict[str, Any] = {"type": type(exc).__name__, "message": _text(exc), "base": not isinstance(exc, Exception)}
    if isinstance(exc, NotImplementedError):
        data["not_implemented"] = True
    if isinstance(exc, BackwardError):
        data.update(reason=exc.reason, input_index=exc.input_index, got=_plain(exc.got), expected=_plain(exc.expected))
        if isinstance(exc.got, BaseException):
            data["cause"] = error_data(exc.got, files)
    where = locate(exc, files)
    if where is not None:
        data.update(line=where.line, text=where.text, file=Path(where.filename).name)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [int(v) for v in value]
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.dtype):
        return str(value)
    return None


def _kind(value: Any) -> str:
    """What forward returned, in words the parent's hints use."""
    if isinstance(value, np.ndarray):
        return "ndarray"
    if value is None:
        return "None"
    if isinstance(value, Tensor):
        return "Tensor"
    if isinstance(value, (list, tuple)):
        return type(value).__name__
    if isinstance(value, (int, float, np.generic)):
        return "scalar"
    return type(value).__name__


def sendable(value: Any) -> Any:
    """A student's function result made of arrays, numbers, lists and None; anything else named, not sent."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in ARRAY_KINDS else {"unsupported": f"array of dtype {value.dtype}"}
    if isinstance(value, (list, tuple)):
        return [sendable(v) for v in value[:10_000]]
    return {"unsupported": type(value).__name__}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


class _Kept(NamedTuple):
    """A recorded forward, kept for the backward requests that name it."""

    out: Tensor
    wanted: list[Tensor]
    watched: list[tuple[list[Any], np.ndarray, np.ndarray]]  # (label, array as forward left it, copy)


class OpHost:
    """Serves the parent's requests on the student's ops (and exercise 8's functions).

    Args:
        functions: the ops, by class name.
        files: the student's source files, to name the line an error comes from.
        module: the student's module (for exercise 8's functions), if any.
        quiet_globally: the child silences numpy and warnings once; in the parent each request does.
    """

    def __init__(
        self, functions: dict[str, type[Function]], files: set[str], module: types.ModuleType | None = None,
        quiet_globally: bool = False,
    ) -> None:
        self._functions = functions
        self._probes: dict[str, tuple[type[Function], dict[str, Any]]] = {}
        self._files = files
        self._module = module
        self._kept: dict[int, _Kept] = {}
        self._next_id = 0
        self._quiet_globally = quiet_globally

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request, one reply; an error in the student's code is part of the reply, never raised."""
        action = {"forward": self._forward, "forwards": self._forwards, "backward": self._backward,
                  "call": self._call, "forget": self._forget}
        do = request.get("do")
        if do not in action:
            return {"error": {"type": "ProtocolError", "message": f"unknown request {do!r}", "base": False}}
        with self._quiet():
            return action[do](request)

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        if self._quiet_globally:
            yield
            return
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield

    def _probe(self, key: str) -> tuple[type[Function], dict[str, Any]]:
        """A subclass whose forward notes what the student's forward returned (or raised), unchanged.

        Through ``apply`` an error would come back reworded by the engine, and a returned list or
        None already made an array; the parent's hints need the original.
        """
        if key not in self._probes:
            cls = self._functions[key]
            seen: dict[str, Any] = {}

            def forward(ctx: Any, *arrays: Any, **kwargs: Any) -> Any:
                try:
                    out = cls.forward(ctx, *arrays, **kwargs)
                except BaseException as exc:
                    seen["error"] = exc
                    raise
                seen["raw"] = _kind(out)
                return out

            attributes = {"forward": staticmethod(forward), "name": cls.name, "__module__": cls.__module__,
                          "__qualname__": cls.__qualname__}
            self._probes[key] = (type(cls.__name__, (cls,), attributes), seen)
        return self._probes[key]

    def _forward(self, request: dict[str, Any]) -> dict[str, Any]:
        probe, seen = self._probe(request["op"])
        needs = [bool(n) for n in request["needs"]]
        keep = bool(request.get("keep")) and any(needs)
        arguments = [Tensor(a, requires_grad=True) if n and keep else a for a, n in zip(request["inputs"], needs)]
        given = [a.data if isinstance(a, Tensor) else a for a in arguments]  # the arrays forward receives
        before = [a.copy() for a in given] if keep else []  # the many forwards of central differences skip this
        seen.clear()
        try:
            if keep:
                out = probe.apply(*arguments)
            else:
                with no_grad():
                    out = probe.apply(*arguments)
        except BaseException as exc:
            return {"error": error_data(seen.get("error", exc), self._files)}
        reply: dict[str, Any] = {
            "raw": seen.get("raw", "ndarray"),
            "recorded": out.requires_grad,
            "changed": [i for i, (a, b) in enumerate(zip(given, before)) if not _same(a, b)],
            "out": out.data if out.data.dtype.kind in ARRAY_KINDS else None,
            "dtype": out.data.dtype.str,
        }
        ctx = out._ctx
        if ctx is not None:
            reply["saved"] = len(ctx.saved_tensors) if isinstance(ctx.saved_tensors, tuple) else -1
        if keep and ctx is not None:
            watched = [(["input", i], a, a.copy()) for i, a in enumerate(given) if isinstance(a, np.ndarray)]
            watched.append((["output", 0], out.data, out.data.copy()))
            for label, array in _saved_arrays(ctx):
                watched.append(([*label, bool(np.shares_memory(array, out.data))], array, array.copy()))
            wanted = [a for a in arguments if isinstance(a, Tensor)]
            self._next_id += 1
            self._kept[self._next_id] = _Kept(out, wanted, watched)
            reply["id"] = self._next_id
        return reply

    def _forwards(self, request: dict[str, Any]) -> dict[str, Any]:
        """Forward, not recorded, at many points (central differences): one reply with every output."""
        probe, seen = self._probe(request["op"])
        outs = []
        for index, point in enumerate(request["points"]):
            seen.clear()
            try:
                with no_grad():
                    out = probe.apply(*point)
            except BaseException as exc:
                return {"error": error_data(seen.get("error", exc), self._files), "at": index}
            outs.append(out.data if out.data.dtype.kind in ARRAY_KINDS else None)
        return {"outs": outs}

    def _backward(self, request: dict[str, Any]) -> dict[str, Any]:
        kept = self._kept.get(request.get("id"))  # type: ignore[arg-type]
        if kept is None:
            return {"error": {"type": "ProtocolError", "message": "no such forward", "base": False}}
        measure = bool(request.get("measure"))
        peak = None
        try:
            if measure:
                grads, peak = _traced(lambda: grad(kept.out, kept.wanted, request["grad"], allow_unused=True))
            else:
                grads = grad(kept.out, kept.wanted, request["grad"], allow_unused=True)
        except BaseException as exc:
            return {"error": error_data(exc, self._files), "modified": self._modified(kept)}
        return {"grads": grads, "modified": self._modified(kept), "peak": peak}

    @staticmethod
    def _modified(kept: _Kept) -> list[list[Any]]:
        return [label for label, array, copy in kept.watched if not _same(array, copy)]

    def _forget(self, request: dict[str, Any]) -> dict[str, Any]:
        self._kept.clear()
        return {}

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        function = getattr(self._module, str(request.get("name")), None)
        if not callable(function):
            return {"error": {"type": "AttributeError", "message": f"no function {request.get('name')}", "base": False}}
        args = request["args"]
        before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
        try:
            result = function(*args)
        except BaseException as exc:
            return {"error": error_data(exc, self._files)}
        changed = [i for i, (a, b) in enumerate(zip(args, before)) if b is not None and not _same(a, b)]
        return {"value": sendable(result), "changed": changed}


def _saved_arrays(ctx: Any) -> list[tuple[list[Any], np.ndarray]]:
    saved = ctx.saved_tensors if isinstance(ctx.saved_tensors, tuple) else ()
    found = [(["saved", i], a) for i, a in enumerate(saved) if isinstance(a, np.ndarray)]
    for key, value in vars(ctx).items():
        if isinstance(value, np.ndarray) and not key.startswith("_"):
            found.append((["attribute", key], value))
    return found


def _traced(run: Callable[[], Any]) -> tuple[Any, int]:
    """Run and return (result, bytes allocated at the peak beyond what was allocated before)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        result = run()
        return result, tracemalloc.get_traced_memory()[1] - start
    finally:
        if not was_tracing:
            tracemalloc.stop()


def source_files(classes: list[type[Function]]) -> set[str]:
    """The files the classes' forward and backward are written in."""
    files = set()
    for cls in classes:
        for method in ("forward", "backward"):
            function = getattr(cls, method, None)
            code = getattr(function, "__code__", None) or getattr(getattr(function, "__func__", None), "__code__", None)
            if code is not None:
                files.add(code.co_filename)
    return files


# ------------------------------------------------------------------------ the child's main loop


def _limit_resources(memory_mb: Any) -> None:
    try:
        import resource
    except ImportError:  # not on Unix: only the parent's time limit applies
        return
    limits = [(resource.RLIMIT_CORE, 0)]
    if isinstance(memory_mb, int) and memory_mb > 0:
        limits.append((resource.RLIMIT_AS, memory_mb << 20))
    for kind, value in limits:
        try:
            _, hard = resource.getrlimit(kind)
            resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
        except (ValueError, OSError):  # some systems refuse RLIMIT_AS: the time limit still holds
            pass


def serve() -> None:
    """The child's main: check one file, or (when the first message says so) fork a child per file."""
    first = read_frame(_reader(0))  # on fd 0: the file to check, or the zygote's socket
    if isinstance(first, dict) and isinstance(first.get("zygote"), int):
        _zygote(first["zygote"])
    elif isinstance(first, dict):
        _run_file(first)


def _run_file(init: dict[str, Any]) -> None:
    """Answer the parent about one file until it closes the pipe. Messages come on fd 0 and go out on fd 1.

    The student's prints, on fd 1 or 2, all go to fd 2, which the parent shows apart from
    the verdict; fd 0 becomes /dev/null.
    """
    incoming, outgoing = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    # Line by line: the parent kills the child at the end, and a buffered print would be lost.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    read = _reader(incoming)
    warnings.simplefilter("ignore")  # numpy's overflow warnings are noise next to the student's own prints
    np.seterr(all="ignore")

    def send(message: dict[str, Any]) -> None:
        try:
            data = encode(message)
        except WireError as exc:
            data = encode({"error": {"type": "WireError", "message": str(exc), "base": False}})
        _write_all(outgoing, data)

    _limit_resources(init.get("memory_mb"))
    try:
        module = load_module(init["path"])
    except LoadError as exc:
        send({"load_error": str(exc)})
        return
    classes = find_functions(module)
    files = {str(Path(init["path"]))} | source_files(classes)
    linecache.checkcache()
    send({
        "functions": [describe_function(c) for c in classes],
        "callables": sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")),
    })
    host = OpHost({c.__name__: c for c in classes}, files, module, quiet_globally=True)
    while True:
        request = read_frame(read)
        if not isinstance(request, dict):
            return
        send(host.handle(request))


_PID = struct.Struct("!q")


def _zygote(fd: int) -> None:
    """Fork a fresh child for each file: this process imported numpy and the library once and runs no
    student code, so every fork starts from the same clean state in milliseconds (Linux).

    Requests come on the Unix socket `fd`: ``f`` with the child's three pipe ends (its fd 0, 1
    and 2, passed as SCM_RIGHTS), answered with the child's pid; ``w`` + pid, answered with its
    exit status once it ended (it is killed after 2 s).
    """
    import socket

    channel = socket.socket(fileno=fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 64, 3)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        if message[:1] == b"w":
            channel.sendall(_PID.pack(_wait(int(message[1:]))))
            continue
        if len(fds) != 3:
            for f in fds:
                os.close(f)
            channel.sendall(_PID.pack(-1))
            continue
        pid = os.fork()
        if pid == 0:
            try:
                channel.close()
                os.setsid()  # its own process group, killed as one, and no terminal
                _die_with_parent()
                for target, f in enumerate(fds):
                    os.dup2(f, target)
                os.closerange(3, 1 << 16)
                init = read_frame(_reader(0))
                if isinstance(init, dict):
                    _run_file(init)
            finally:
                os._exit(0)
        for f in fds:
            os.close(f)
        channel.sendall(_PID.pack(pid))


def _die_with_parent() -> None:
    """Linux: be killed when the zygote ends (it ends when the checker does), even if looping forever."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def _wait(pid: int) -> int:
    """The exit status of a child that ended (negative: the signal); it is killed if still running after 2 s."""
    import signal
    import time

    deadline = time.monotonic() + 2.0
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            time.sleep(0.005)
    except ChildProcessError:
        return -9999


if __name__ == "__main__":  # run by the child process: see sandbox.py
    try:
        serve()
    finally:
        os._exit(0)  # no atexit handler or lingering thread of the student's decides how the child ends
