"""Per-thread recording mode: `no_grad`, `enable_grad`, `detect_anomaly` and `scope`.

The bottom layer of the engine; it imports nothing from the package but `anomaly`.
Every switch follows one rule: a block that starts pushes an entry on its switch's
stack, a block that ends removes *its own* entry wherever it is, and the switch's
value is the newest entry still open (or the default). So blocks that end out of order,
as a generator suspended inside one does, still leave exactly what nobody is inside.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import anomaly

_F = TypeVar("_F", bound=Callable[..., Any])


class Scope:
    """A named composite being computed (``softmax``...): ops recorded inside it point here.

    Graph pictures use it to draw a composite as one box (``to_dot(collapse=True)``).

    Attributes:
        name: the composite's name.
        label: its local derivative in words (``"diag(a) - a a^T"``), or None.
        parent: the composite this one was started inside, else None.
    """

    __slots__ = ("label", "name", "parent")

    def __init__(self, name: str, label: str | None, parent: Scope | None) -> None:
        self.name, self.label, self.parent = name, label, parent

    def __repr__(self) -> str:
        return f"Scope({self.name!r})"


class _State(threading.local):
    """This thread's switches: the current values, read by every op, and the open blocks behind them."""

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = anomaly.enabled_by_environment()  # TINYGRAD_SOFTMAX_ANOMALY=1: on in every thread
        self.scope: Scope | None = None
        self.extras = self.anomaly  # anomaly or a scope: one read tells an op whether it has more to do
        self.defaults = {"enabled": True, "anomaly": self.anomaly, "scope": None}
        self.open: dict[str, list[tuple[object, Any]]] = {"enabled": [], "anomaly": [], "scope": []}


state = _State()


def _open(switch: str, value: Any, token: object) -> None:
    mode = state
    mode.open[switch].append((token, value))
    setattr(mode, switch, value)
    mode.extras = mode.anomaly or mode.scope is not None


def _close(switch: str, token: object) -> None:
    mode = state
    entries = mode.open[switch]
    if entries[-1][0] is token:  # the usual case: the newest block ends first
        entries.pop()
    else:
        entries.remove(next(entry for entry in entries if entry[0] is token))
    setattr(mode, switch, entries[-1][1] if entries else mode.defaults[switch])
    mode.extras = mode.anomaly or mode.scope is not None


def is_grad_enabled() -> bool:
    """True when ops in this thread record the graph for backward."""
    return state.enabled


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly` (or with ``TINYGRAD_SOFTMAX_ANOMALY=1``)."""
    return state.anomaly


class _Switch:
    """A context manager and decorator that sets one switch of this thread's mode while it is open."""

    switch = "enabled"
    value: Any = False

    def __init__(self) -> None:
        self._tokens: list[object] = []  # one per time this object is entered (it may nest in itself)

    def __enter__(self) -> None:
        token = object()
        self._tokens.append(token)
        _open(self.switch, self.value, token)

    def __exit__(self, *exc_info: object) -> None:
        _close(self.switch, self._tokens.pop())

    def __call__(self, func: _F) -> _F:
        block = type(self)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with block():  # a fresh block per call: calls may overlap in threads or recursion
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_Switch):  # noqa: N801  (lower-case like torch.no_grad)
    """Ops inside record nothing and return tensors with ``requires_grad=False``.

    Use as ``with no_grad(): ...`` or as a decorator ``@no_grad()``. Per thread; nests;
    restored when the block ends by an exception.
    """

    value = False


class enable_grad(_Switch):  # noqa: N801
    """Turn recording back on inside a ``no_grad`` block."""

    value = True


class detect_anomaly(_Switch):  # noqa: N801
    """Stop at the first op whose output, or whose backward's gradient, has nan or inf.

    Inside ``with detect_anomaly():`` (or everywhere with ``TINYGRAD_SOFTMAX_ANOMALY=1``)
    that op raises `FloatingPointError` naming it, its inputs' names and shapes, and the
    file and line of your code that created it. Off by default. Per thread, like `no_grad`.
    """

    switch = "anomaly"
    value = True


class scope:  # noqa: N801  (a context manager, like no_grad)
    """Mark the ops recorded inside as one composite, for graph pictures and `explain`.

    ``with scope("softmax", label="diag(a) - a a^T"): ...``. Scopes nest; the engine
    itself never reads them.
    """

    def __init__(self, name: str, label: str | None = None) -> None:
        self.name, self.label = name, label
        self._tokens: list[object] = []

    def __enter__(self) -> Scope:
        frame = Scope(self.name, self.label, state.scope)
        self._tokens.append(frame)  # the frame is its own token
        _open("scope", frame, frame)
        return frame

    def __exit__(self, *exc_info: object) -> None:
        _close("scope", self._tokens.pop())
