"""The contract for adding an op: `Function`, with forward and backward side by side, and its `Context`.

Every built-in op in ops.py is written against this same public API. `apply` wraps results
in the tensor type tensor.py registers once with `use_tensor_type` (as HIPS autograd
registers its box type), so this module needs no Tensor and ops.py needs only this module.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from . import anomaly
from .autograd import next_number
from .grad_mode import state

_tensor_type: Any = None
new = object.__new__


def use_tensor_type(tensor_type: type) -> None:
    """Called once by tensor.py: `apply` wraps every result in this type."""
    global _tensor_type
    _tensor_type = tensor_type


class Context:
    """What `forward` leaves for `backward`: saved arrays and any attributes you set.

    Attributes:
        saved_tensors: the arrays given to `save_for_backward`.
        needs_input_grad: one bool per input; False where no gradient is wanted (a
            backward may return None there).
    """

    saved_tensors: tuple[np.ndarray, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _parents: tuple[Any, ...] = ()  # the op's inputs: tensors, and constants as given
    _scope = None
    _op_kwargs: Any = MappingProxyType({})

    def __init__(self, needs_input_grad: tuple[bool, ...] = (), op_kwargs: dict[str, Any] | None = None) -> None:
        self.needs_input_grad = tuple(needs_input_grad)
        if op_kwargs:
            self._op_kwargs = dict(op_kwargs)

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep arrays for backward. Never mutate them afterwards."""
        self.saved_tensors = arrays


class Function(Context):
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

    `backward` returns one gradient per input (a tuple when there are several, None for
    one that needs none), of the input's shape or the output's broadcast shape (the engine
    sums it down). Each recorded op is an instance of its Function: that instance is ``ctx``.

    Class attributes:
        name: the short name shown as ``Tensor.op``, in graphs and in errors (default: the
            lower-cased class name, ``MatMul`` -> ``"matmul"``).
        label: the local derivative, shown on backward graphs (``"g * exp(x)"``).
    """

    name: ClassVar[str] = "function"
    label: ClassVar[str | None] = None
    _trusted: ClassVar[bool] = False  # built-ins are tested never to edit grad; a user's backward gets it read-only

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls._trusted = cls.__module__ == "tinygrad_softmax.ops"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Any:
        """Run forward on the inputs' arrays and, when a gradient is wanted, record the op; returns a Tensor.

        Inputs may be Tensors or array-likes (constants, not copied); keyword arguments go to
        `forward` as they are.
        """
        arrays, needs, parents = [], [], inputs
        for x in inputs:
            if isinstance(x, _tensor_type):
                arrays.append(x.data)
                needs.append(x._requires_grad)
                continue
            # built-in ops take Python numbers as they are, so numpy's NEP 50 dtype rules apply
            arrays.append(x if cls._trusted and type(x) in (float, int) else as_constant(x))
            needs.append(False)
            if arrays[-1] is not x:  # the graph keeps the array, not a list that may change
                parents = None
        record = True in needs and state.enabled
        ctx = new(cls)
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except _FORWARD_ERRORS as exc:
            _raise_forward_error(cls, arrays, exc)
        if parents is None:
            parents = tuple(a if x is not a and not isinstance(x, _tensor_type) else x for x, a in zip(inputs, arrays))
        return _finish(ctx, out, record, parents, kwargs)


# `Function.apply` for the calls Tensor's own methods make: one or two inputs, Tensors or Python
# numbers. Plain functions (a classmethod builds a bound method per call) without the general
# loop: an op costs about a fifth less (docs/performance.md). Tests check all three record alike.


def apply_unary(cls: type[Function], x: Any, **kwargs: Any) -> Any:
    """``cls.apply(x, **kwargs)``, faster."""
    if type(x) is not _tensor_type:
        return cls.apply(x, **kwargs)
    record = x._requires_grad and state.enabled
    ctx = new(cls)
    ctx.needs_input_grad = _NEEDS[record]
    try:
        out = cls.forward(ctx, x.data, **kwargs)
    except _FORWARD_ERRORS as exc:
        _raise_forward_error(cls, [x.data], exc)
    return _finish(ctx, out, record, (x,), kwargs)


def apply_binary(cls: type[Function], a: Any, b: Any) -> Any:
    """``cls.apply(a, b)``, faster."""
    if type(a) is _tensor_type:
        a_data, a_grad = a.data, a._requires_grad
    elif type(a) is float or type(a) is int:
        a_data, a_grad = a, False
    else:
        return cls.apply(a, b)
    if type(b) is _tensor_type:
        b_data, b_grad = b.data, b._requires_grad
    elif type(b) is float or type(b) is int:
        b_data, b_grad = b, False
    else:
        return cls.apply(a, b)
    record = (a_grad or b_grad) and state.enabled
    ctx = new(cls)
    ctx.needs_input_grad = _NEEDS2[a_grad][b_grad] if record else _NEEDS2[0][0]
    try:
        out = cls.forward(ctx, a_data, b_data)
    except _FORWARD_ERRORS as exc:
        _raise_forward_error(cls, [a_data, b_data], exc)
    return _finish(ctx, out, record, (a, b), None)


_NEEDS = ((False,), (True,))  # needs_input_grad without a new tuple per op
_NEEDS2 = (((False, False), (False, True)), ((True, False), (True, True)))
_FORWARD_ERRORS = (ValueError, IndexError, TypeError, OverflowError)


def _finish(ctx: Function, out: Any, record: bool, parents: tuple, kwargs: Any) -> Any:
    """Wrap forward's result in a Tensor; when recording, link it to `ctx`, which keeps the inputs."""
    if type(out) is not np.ndarray:  # numpy reductions give scalars, not 0-d arrays
        out = np.asarray(out)
    result = new(_tensor_type)
    result.data, result.grad, result.name, result._seq = out, None, None, next_number()
    if record and out.dtype.kind == "f":  # an integer result has no gradient to pass on
        ctx._parents = parents
        if kwargs:
            ctx._op_kwargs = kwargs
        result._ctx, result._requires_grad = ctx, True
    else:
        result._ctx, result._requires_grad = None, False
    if state.extras:  # inside a scope or detect_anomaly
        if state.scope is not None and result._ctx is not None:
            ctx._scope = state.scope
        if state.anomaly:
            ctx._anomaly_site = anomaly.call_site()  # kept for a nan found later, in backward
            anomaly.check_forward(ctx.name, out, parents, ctx._anomaly_site)
    return result


def as_constant(value: Any) -> np.ndarray:
    """An op's non-Tensor input as an array; a list holding Tensors is refused (their gradient would be lost)."""
    if isinstance(value, (list, tuple)) and holds_tensor(value):
        raise TypeError("a list or tuple holding Tensors cannot be an op's input: it would be used as a constant "
                        "and no gradient would reach those Tensors; combine them with Tensor ops instead")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot use {type(value).__name__} of dtype {array.dtype} as a tensor")
    return array


def holds_tensor(items: list | tuple) -> bool:
    """Whether nested lists/tuples contain a Tensor (iteratively: no recursion)."""
    stack = [items]
    while stack:
        for item in stack.pop():
            if isinstance(item, _tensor_type):
                return True
            if isinstance(item, (list, tuple)):
                stack.append(item)
    return False


def _raise_forward_error(cls: type[Function], arrays: list[Any], exc: Exception) -> None:
    """Name the op and the input shapes: numpy's own message names neither."""
    message = str(exc)
    if message.startswith(cls.name + ":"):  # the op wrote a complete message
        raise exc
    shapes = [str(np.shape(a)) for a in arrays]
    if "could not be broadcast" in message:
        raise ValueError(f"{cls.name}: shapes {' and '.join(shapes)} cannot be broadcast together") from exc
    try:
        error = type(exc)(f"{cls.name}: {message} (input shapes {', '.join(shapes)})")
    except Exception:  # an exception class that cannot be rebuilt from one message: keep the original
        raise exc from exc.__cause__
    raise error from exc
