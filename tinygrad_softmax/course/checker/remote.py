"""The parent's view of the student's ops: the child's replies as results, errors and a `Function`.

Nothing here trusts a reply: every field is checked for its type, a reply that is not what was
asked for is the child's failure (`ChildFailed`), and an error the student's code raised comes
back as a `StudentError` (or, for the engine's verdict on a backward, a `BackwardError` rebuilt
from its fields), never as an exception class the child chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...autograd import BackwardError
from ...function import Context, Function
from .sandbox import ChildFailed

REASONS = ("count", "shape", "dtype", "read-only", "raised", "modified")


def _text(value: Any, limit: int = 2000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class StudentError(Exception):
    """An exception the student's code raised in the child, as data.

    Attributes:
        type_name: the exception's class name (``"ValueError"``).
        message: its message.
        line, text, file: where in the student's code it was raised (line None if not there).
        not_implemented: it is a NotImplementedError (an unfinished skeleton).
        fatal: not an ordinary Exception (``sys.exit()``, KeyboardInterrupt).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.type_name = _text(data.get("type"), 100) or "Exception"
        self.message = _text(data.get("message"))
        self.line = _int(data.get("line"))
        self.text = _text(data.get("text"), 300)
        self.file = _text(data.get("file"), 300)
        self.not_implemented = data.get("not_implemented") is True
        self.fatal = data.get("base") is True
        super().__init__(self.described)

    @property
    def described(self) -> str:
        """``ValueError: message``."""
        return f"{self.type_name}: {self.message}" if self.message else self.type_name

    def where(self) -> str:
        """`` (line 12 of sigmoid.py: return grad * s)``; empty when the error is not from the student's code."""
        if not self.line:
            return ""
        if not self.text or self.text.startswith("raise "):  # the message already says what the line says
            return f" (line {self.line} of {self.file})"
        return f" (line {self.line} of {self.file}: {self.text})"


def failure(data: Any, function: type[Function] | None = None) -> Exception:
    """The exception an error reply describes: a `BackwardError` rebuilt from its fields, else a `StudentError`."""
    if not isinstance(data, dict):
        return StudentError({"type": "Exception", "message": "an error the checking process did not describe"})
    reason = data.get("reason")
    if data.get("type") != "BackwardError" or reason not in REASONS or function is None:
        return StudentError(data)
    index = _int(data.get("input_index"))
    got, expected = data.get("got"), data.get("expected")
    if reason == "shape":
        got, expected = _shape(got), _shape(expected)
    elif reason == "count":
        got, expected = _int(got), _int(expected)
    elif reason == "dtype":
        got, expected = _dtype(got), _dtype(expected)
    else:
        cause = data.get("cause")
        got, expected = (StudentError(cause) if isinstance(cause, dict) else None), None
    return BackwardError(describe_backward_error(reason, index, got, expected, function.__name__), function,
                         reason, index, got, expected)


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(_int(v) is not None for v in value):
        return tuple(value)
    return None


def _dtype(value: Any) -> np.dtype | None:
    try:
        return np.dtype(value) if isinstance(value, str) else None
    except TypeError:
        return None


def describe_backward_error(reason: str, index: int | None, got: Any, expected: Any, name: str) -> str:
    """The engine's verdict on a backward, in words, from `BackwardError`'s fields alone."""
    if reason == "count":
        return (f"{name}.backward returned {got} gradient(s) but the op has {expected} input(s); "
                "return one per input (None where not needed)")
    if reason == "shape":
        return (f"{name}.backward: gradient for input {index} has shape {got}, which cannot be summed to the "
                f"input's shape {expected}")
    if reason == "dtype":
        return f"{name}.backward returned a gradient of dtype {got} for input {index}; gradients must be real numbers"
    cause = f": {got.described}{got.where()}" if isinstance(got, StudentError) else ""
    if reason == "read-only":
        return f"{name}.backward wrote into a read-only array{cause}"
    if reason == "modified":
        return f"{name}: an array saved for backward was changed in place before backward ran"
    return f"{name}.backward raised{cause.replace(': ', ' ', 1)}"


@dataclass
class ForwardResult:
    """What one forward call in the child gave.

    Attributes:
        out: the output array (None if forward raised or returned no numeric array).
        raw: what forward returned: ``"ndarray"``, ``"None"``, ``"Tensor"``, ``"list"``, ...
        dtype: the output's dtype as text.
        recorded: the engine recorded the op (a float output with an input needing grad).
        changed: indices of the inputs forward wrote into.
        saved: how many arrays forward saved with ``ctx.save_for_backward`` (None if not recorded).
        id: names this forward in later backward requests (None if not kept).
        error: what forward raised.
    """

    out: np.ndarray | None = None
    raw: str = "ndarray"
    dtype: str = ""
    recorded: bool = False
    changed: list[int] = field(default_factory=list)
    saved: int | None = None
    id: int | None = None
    error: StudentError | None = None


@dataclass(frozen=True)
class Modified:
    """An array that backward (or forward) changed in place: ``kind`` input/output/saved/attribute."""

    kind: str
    key: int | str
    is_output: bool = False


@dataclass
class BackwardResult:
    """What one backward in the child gave: a gradient per input that needs one (None: backward gave none)."""

    grads: list[np.ndarray | None] | None = None
    error: Exception | None = None
    modified: list[Modified] = field(default_factory=list)
    peak: int | None = None


class Session:
    """Requests to the child about one file's ops, and the replies checked.

    Args:
        runner: a `sandbox.Child` or `sandbox.LocalRunner`.
    """

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.doing = "checking"  # what the checks are at, for a verdict when the child fails
        self._proxies: dict[str, type[Function]] = {}

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.runner.request(message, self.doing)

    def _malformed(self) -> ChildFailed:
        return ChildFailed(self.doing, "the checking process sent a malformed reply")

    def forward(self, key: str, arrays: list[np.ndarray], needs: list[bool], keep: bool = True) -> ForwardResult:
        """Run the op's forward on copies of `arrays`; ``needs[i]``: input i is a Tensor that requires grad."""
        reply = self._ask({"do": "forward", "op": key, "inputs": arrays, "needs": needs, "keep": keep})
        if "error" in reply:
            return ForwardResult(error=failure(reply["error"]))  # type: ignore[arg-type]
        out = reply.get("out")
        changed = reply.get("changed", [])
        if not (out is None or isinstance(out, np.ndarray)) or not isinstance(changed, list):
            raise self._malformed()
        ident = _int(reply.get("id"))
        return ForwardResult(
            out=out, raw=_text(reply.get("raw"), 100) or "ndarray", dtype=_text(reply.get("dtype"), 100),
            recorded=reply.get("recorded") is True, changed=[i for i in changed if _int(i) is not None],
            saved=_int(reply.get("saved")), id=ident,
        )

    def forwards(self, key: str, points: list[list[np.ndarray]], shape: tuple[int, ...]) -> list[np.ndarray]:
        """The op's outputs at many points, in one request (not recorded: for central differences).

        Raises:
            StudentError: forward raised at one of the points, or gave no array of `shape` there.
        """
        reply = self._ask({"do": "forwards", "op": key, "points": points})
        if "error" in reply:
            raise failure(reply["error"])
        outs = reply.get("outs")
        if not (isinstance(outs, list) and len(outs) == len(points)):
            raise self._malformed()
        for out in outs:
            if not isinstance(out, np.ndarray) or out.shape != shape:
                raise StudentError({"type": "ValueError", "message": "forward gave another shape (or no array) at "
                                    "a point a step of 1e-6 away"})
        return outs

    def backward(self, ident: int, grad: np.ndarray, wanted: int, function: type[Function] | None = None,
                 measure: bool = False) -> BackwardResult:
        """The kept forward `ident`'s backward, through the child's engine, for upstream gradient `grad`.

        Args:
            wanted: how many inputs need a gradient (the reply must have that many).
            function: the class to name in a rebuilt `BackwardError`.
            measure: also report the peak of memory allocated during backward.
        """
        reply = self._ask({"do": "backward", "id": ident, "grad": grad, "measure": measure})
        modified = [Modified(str(m[0]), m[1], len(m) > 2 and m[2] is True) for m in reply.get("modified", [])
                    if isinstance(m, list) and len(m) >= 2 and isinstance(m[1], (int, str))]
        if "error" in reply:
            return BackwardResult(error=failure(reply["error"], function), modified=modified)
        grads = reply.get("grads")
        if not (isinstance(grads, list) and len(grads) == wanted
                and all(g is None or isinstance(g, np.ndarray) for g in grads)):
            raise self._malformed()
        return BackwardResult(grads=grads, modified=modified, peak=_int(reply.get("peak")))

    def call(self, name: str, args: list[Any]) -> tuple[Any, list[int]]:
        """Call one of the file's functions (exercise 8): its result, and which arguments it wrote into.

        Raises:
            StudentError: the function raised.
        """
        reply = self._ask({"do": "call", "name": name, "args": args})
        if "error" in reply:
            raise failure(reply["error"])
        changed = reply.get("changed", [])
        if "value" not in reply or not isinstance(changed, list):
            raise self._malformed()
        return reply["value"], [i for i in changed if _int(i) is not None]

    def forget(self) -> None:
        """Drop the forwards the child keeps for backward."""
        self._ask({"do": "forget"})

    def proxy(self, key: str, op_name: str) -> type[Function]:
        """A Function whose forward and backward run the student's op `key` in the child.

        The parent records graphs of it with its own engine: used twice in one graph, inside a
        bigger expression, by `gradcheck` and `grad`, with every comparison made here.
        """
        if key not in self._proxies:
            attributes = {"name": op_name, "session": self, "key": key, "__module__": __name__}
            self._proxies[key] = type(key, (_Proxy,), attributes)
        return self._proxies[key]


class _Proxy(Function):
    """The base of `Session.proxy` classes."""

    session: ClassVar[Session]
    key: ClassVar[str]

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray) -> np.ndarray:
        cls = type(ctx)
        needs = list(ctx.needs_input_grad)
        result = cls.session.forward(cls.key, list(arrays), needs, keep=any(needs))
        if result.error is not None:
            raise result.error
        if result.out is None:
            raise StudentError({"type": "TypeError", "message": f"forward returned {result.raw}, not an array"})
        ctx.remote = (result.id, needs)
        return result.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        cls = type(ctx)
        ident, needs = ctx.remote
        if ident is None:
            raise StudentError({"type": "RuntimeError", "message": "the child did not record this forward"})
        result = cls.session.backward(ident, grad, sum(needs), cls)
        if result.error is not None:
            raise result.error
        assert result.grads is not None
        grads = iter(result.grads)
        return tuple(next(grads) if need else None for need in needs)
