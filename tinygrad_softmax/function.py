"""The contract for adding an op: `Function`, its `Context`, `no_grad` and `register_op`.

Every built-in primitive in `ops.py` is written against this same public API, so a
student's op and a library op are indistinguishable to the engine.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np

from . import anomaly


class Scope:
    """A named composite being computed (``softmax``...): ops recorded inside it point here.

    Graph pictures use it to draw a composite as one box (``to_dot(collapse=True)``).

    Attributes:
        name: the composite's name.
        label: its local derivative in words (``"diag(a) - a a^T"``), or None.
        parent: the enclosing Scope when composites nest, else None.
    """

    __slots__ = ("label", "name", "parent")

    def __init__(self, name: str, label: str | None, parent: Scope | None) -> None:
        self.name, self.label, self.parent = name, label, parent

    def __repr__(self) -> str:
        return f"Scope({self.name!r})"


class _GradMode(threading.local):
    """Per-thread recording state: `no_grad`, `detect_anomaly` or `scope` in one thread never affects another."""

    enabled = True
    anomaly = anomaly.enabled_by_environment()  # TINYGRAD_SOFTMAX_ANOMALY=1 turns it on everywhere
    scope: Scope | None = None


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when ops in this thread record the graph for backward."""
    return _grad_mode.enabled


class _GradModeSwitch:
    """Context manager and decorator that sets one switch of this thread's mode, and restores it."""

    _switch: ClassVar[str] = "enabled"
    _target: ClassVar[bool]

    def __init__(self) -> None:
        # Each block remembers its own switch's previous value, so blocks that end out of
        # order (a generator suspended inside one) restore the right thing.
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(getattr(_grad_mode, self._switch))
        setattr(_grad_mode, self._switch, self._target)

    def __exit__(self, *exc_info: object) -> None:
        setattr(_grad_mode, self._switch, self._previous.pop())

    def __call__(self, func: _F) -> _F:
        switch = type(self)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with switch():  # a fresh block per call: calls may overlap in threads or recursion
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


_F = TypeVar("_F", bound=Callable[..., Any])


class no_grad(_GradModeSwitch):  # noqa: N801  (lower-case like torch.no_grad)
    """Ops inside record nothing and return tensors with ``requires_grad=False``.

    Use as ``with no_grad(): ...`` or as a decorator ``@no_grad()``. The state is
    per thread, nests, and is restored when the block exits by an exception.
    """

    _target = False


class enable_grad(_GradModeSwitch):  # noqa: N801
    """Turn recording back on inside a ``no_grad`` block."""

    _target = True


class detect_anomaly(_GradModeSwitch):  # noqa: N801
    """Stop at the first op whose output, or whose backward's gradient, has nan or inf.

    Inside ``with detect_anomaly():`` (or everywhere with ``TINYGRAD_SOFTMAX_ANOMALY=1``)
    that op raises `FloatingPointError` naming it, its inputs' names and shapes, and
    the file and line of your code that created it. Off by default: then the only
    cost is one attribute read per op. Per thread, like `no_grad`.
    """

    _switch = "anomaly"
    _target = True


class scope:  # noqa: N801  (a context manager, like no_grad)
    """Mark the ops recorded inside as one composite, for graph pictures and `explain`.

    ``with scope("softmax", label="diag(a) - a a^T"): ...``. Scopes nest. The cost
    when nobody draws the graph is one attribute store per recorded op.
    """

    def __init__(self, name: str, label: str | None = None) -> None:
        self.name, self.label = name, label

    def __enter__(self) -> Scope:
        frame = Scope(self.name, self.label, _grad_mode.scope)
        _grad_mode.scope = frame
        return frame

    def __exit__(self, *exc_info: object) -> None:
        current = _grad_mode.scope
        _grad_mode.scope = None if current is None else current.parent


class Context:
    """What `forward` leaves for `backward`: saved arrays and any attributes you set.

    Attributes:
        saved_tensors: the arrays given to `save_for_backward` (plain numpy arrays).
        needs_input_grad: one bool per input; False where no gradient is wanted,
            so a backward may skip that work and return None.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...], op_kwargs: dict[str, Any]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[np.ndarray, ...] = ()
        self._op_kwargs = op_kwargs  # what apply() was given, for graph labels like sum(axis=1)

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep arrays for backward. Never mutate them afterwards."""
        self.saved_tensors = arrays


class Function:
    """Base class of every op: a forward and a backward on plain numpy arrays.

    Subclass it, write two static methods, and call ``MyOp.apply(x, ...)``::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                out = np.exp(x)
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, grad):
                (out,) = ctx.saved_tensors
                return grad * out

    `backward` returns one gradient per input (a tuple when there are several;
    None for an input that needs none). A gradient may have the broadcast shape
    of the output: the engine sums it down to the input's shape.

    Class attributes:
        name: the op's short name shown as ``Tensor.op`` and in graphs
            (defaults to the lower-cased class name: ``MatMul`` -> ``"matmul"``).
        label: the local derivative, shown on the backward graph
            (e.g. ``"g * exp(x)"``); None means "not documented".
    """

    name: ClassVar[str] = "function"
    label: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> _tensor.Tensor:
        """Run forward on the inputs' arrays and, when needed, record the op for backward.

        Inputs may be Tensors or array-likes (used as constants, never copied);
        keyword arguments go to `forward` unchanged.
        """
        # This is the per-op hot path (benchmarks/run.py, W1 and W4). One loop fills both
        # lists: 0.33 us for two inputs, against 0.64 us for a list comprehension plus a
        # tuple(generator).
        tensor_type = _tensor.Tensor
        arrays = []
        needs = []
        parents = inputs
        for x in inputs:
            if isinstance(x, tensor_type):
                arrays.append(x.data)
                needs.append(x._requires_grad)
            else:
                array = _as_constant(x)
                arrays.append(array)
                needs.append(False)
                if array is not x:  # the graph keeps the constant's array, not a list or number
                    parents = None
        record = True in needs and _grad_mode.enabled  # the thread-local mode, read once
        ctx = Context(tuple(needs) if record else (False,) * len(inputs), kwargs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as exc:
            error = _forward_error(cls, arrays, exc)
            if error is exc:  # re-raise unchanged rather than making exc its own __cause__
                raise
            raise error from exc
        if type(out) is not np.ndarray:  # numpy reductions return scalars, not 0-d arrays
            out = np.asarray(out)
        if _grad_mode.anomaly:
            ctx._anomaly_site = anomaly.call_site()  # kept for a nan found later, in backward
            anomaly.check_forward(cls.name, out, inputs, ctx._anomaly_site)
        if not record or out.dtype.kind != "f":
            return tensor_type._make(out)
        if parents is None:
            # Constants enter the graph as bare arrays; Tensor.parents wraps them only when
            # a graph picture asks: wrapping each here cost 0.2 us (W4: 2 ops in 4 have one).
            parents = tuple([x if isinstance(x, tensor_type) else a for x, a in zip(inputs, arrays)])
        return tensor_type._make(out, True, cls, ctx, parents, _grad_mode.scope)


def _as_constant(value: Any) -> np.ndarray:
    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        raise TypeError(
            "a list or tuple holding Tensors cannot be an op's input: it would be used as a constant "
            "and no gradient would reach those Tensors; combine them with Tensor ops instead"
        )
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot use {type(value).__name__} of dtype {array.dtype} as a tensor")
    return array


def _holds_tensor(items: list | tuple) -> bool:
    """Whether nested lists/tuples contain a Tensor (iteratively: no recursion)."""
    stack = [items]
    while stack:
        for item in stack.pop():
            if isinstance(item, _tensor.Tensor):
                return True
            if isinstance(item, (list, tuple)):
                stack.append(item)
    return False


def _forward_error(cls: type[Function], arrays: list[np.ndarray], exc: Exception) -> Exception:
    """Name the op and the input shapes: numpy's own message names neither the op nor our API."""
    message = str(exc)
    if message.startswith(cls.name + ":"):  # the op already wrote a complete message
        return exc
    shapes = ", ".join(str(a.shape) for a in arrays)
    if "could not be broadcast" in message:
        pair = " and ".join(str(a.shape) for a in arrays)
        return ValueError(f"{cls.name}: shapes {pair} cannot be broadcast together")
    try:
        return type(exc)(f"{cls.name}: {message} (input shapes {shapes})")
    except Exception:  # an exception class that cannot be rebuilt from one message: keep the original
        return exc


_registered: dict[str, Any] = {}
_MISSING = object()


def register_op(name: str, function: type[Function] | Callable[..., Any], *, override: bool = False) -> None:
    """Make ``tensor.name(*args, **kwargs)`` call ``function.apply(tensor, *args, **kwargs)``.

    Args:
        name: the method name; must be a Python identifier.
        function: a `Function` subclass, or any callable taking the tensor first
            (e.g. a composite written with Tensor ops).
        override: allow replacing an existing attribute of `Tensor`.

    Raises:
        ValueError: the name exists already and ``override`` is False.
        TypeError: `function` is neither a Function subclass nor callable.
    """
    tensor_type = _tensor.Tensor
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"register_op: {name!r} is not a public Python identifier")
    if isinstance(function, type) and issubclass(function, Function):
        call = function.apply
    elif callable(function):
        call = function
    else:
        raise TypeError(f"register_op: expected a Function subclass or a callable, got {function!r}")
    if hasattr(tensor_type, name) and not override:
        raise ValueError(
            f"register_op: Tensor.{name} already exists; pass override=True to replace it"
        )

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = getattr(function, "__doc__", None)
    if name not in _registered:
        _registered[name] = tensor_type.__dict__.get(name, _MISSING)
    setattr(tensor_type, name, method)


def unregister_op(name: str) -> None:
    """Undo `register_op`: restore what ``Tensor.name`` was before (or remove it)."""
    tensor_type = _tensor.Tensor
    if name not in _registered:
        raise ValueError(f"unregister_op: {name!r} was not added by register_op")
    original = _registered.pop(name)
    if original is _MISSING:
        delattr(tensor_type, name)
    else:
        setattr(tensor_type, name, original)


# Imported last: tensor.py needs ops.py, which needs Function defined above.
from . import tensor as _tensor  # noqa: E402
