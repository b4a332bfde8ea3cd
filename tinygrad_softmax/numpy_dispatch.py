"""numpy's dispatch protocols for Tensor (NEP 13 ``__array_ufunc__``, NEP 18 ``__array_function__``).

Students write numpy, so numpy functions given a Tensor behave like the Tensor op:
``np.exp(t)``, ``np.sum(t, axis=1)``, ``np.reshape(t, (2, 3))`` and ``array + t`` return
recorded Tensors. A numpy function the library has no op for (or given arguments the
op does not take) computes on the data and returns a plain array when no gradient is
at stake; if a Tensor that requires grad is among its arguments it raises `TypeError`
naming the function, since the gradient would be lost (``t.data`` or ``t.detach()``
says you mean it). ``np.asarray(t)`` is a conversion and always gives the data.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import autograd, ops
from .grad_mode import state

_UFUNC_OPS: dict[np.ufunc, Any] = {
    np.add: ops.Add, np.subtract: ops.Sub, np.multiply: ops.Mul, np.divide: ops.Div, np.negative: ops.Neg,
    np.exp: ops.Exp, np.log: ops.Log, np.log1p: ops.Log1p, np.sqrt: ops.Sqrt, np.absolute: ops.Abs,
    np.tanh: ops.Tanh, np.maximum: ops.Maximum, np.minimum: ops.Minimum, np.matmul: ops.MatMul,
    np.power: ops.Power,
}
_REDUCE_OPS: dict[np.ufunc, Any] = {np.add: ops.Sum, np.maximum: ops.Max, np.minimum: ops.Min, np.multiply: ops.Prod}

# Results that carry no gradient (booleans, integers, piecewise constants, shapes, text):
# computed on the data whatever requires grad.
_NO_GRADIENT_UFUNCS = {
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.isnan, np.isinf,
    np.isfinite, np.signbit, np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.floor, np.ceil, np.trunc, np.rint, np.sign,
}
_NO_GRADIENT_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.array_equal, np.array_equiv, np.allclose,
    np.isclose, np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.any, np.all,
    np.array2string, np.array_repr, np.array_str, np.may_share_memory, np.shares_memory,
    np.atleast_1d, np.atleast_2d, np.atleast_3d,  # conversions, like np.asarray (plotting uses them)
}


def array_ufunc(tensor_type: type, ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_ufunc__``: the op for ufuncs the library has, else see the module docstring."""
    if "out" not in kwargs:
        if method == "__call__" and not kwargs:
            if ufunc is np.power and isinstance(inputs[0], tensor_type) and np.ndim(inputs[1]) == 0 \
                    and not isinstance(inputs[1], tensor_type):
                return inputs[0] ** inputs[1]  # a scalar exponent: the op that keeps it a number
            if ufunc is np.square:
                return ops.Mul.apply(inputs[0], inputs[0])
            op = _UFUNC_OPS.get(ufunc)
            if op is not None:
                return op.apply(*inputs)
        if method == "reduce" and set(kwargs) <= {"axis", "keepdims"} and ufunc in _REDUCE_OPS:
            axis, keepdims = kwargs.get("axis", 0), kwargs.get("keepdims", False)
            return _REDUCE_OPS[ufunc].apply(inputs[0], axis=axis, keepdims=keepdims)
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if ufunc not in _NO_GRADIENT_UFUNCS:
        _refuse_if_grad(tensor_type, name, (inputs, kwargs), "out" in kwargs)
    result = getattr(ufunc, method)(*_data(tensor_type, inputs), **_data(tensor_type, kwargs))
    return _written(tensor_type, kwargs.get("out"), result)


def array_function(tensor_type: type, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: the op for numpy functions the library has, else see the module docstring."""
    handler = _FUNCTIONS.get(func)
    if handler is not None:
        given = {key: value for key, value in kwargs.items() if value is not None}  # None: numpy's default
        try:
            bound = _signature(handler).bind(tensor_type, *args, **given)
        except TypeError:  # an argument the Tensor op does not take
            bound = None
        if bound is not None:
            return handler(*bound.args, **bound.kwargs)
    if func not in _NO_GRADIENT_FUNCTIONS:
        _refuse_if_grad(tensor_type, f"np.{func.__name__}", (args, kwargs), "out" in kwargs)
    result = func(*_data(tensor_type, args), **_data(tensor_type, kwargs))
    return _written(tensor_type, kwargs.get("out"), result)


def _refuse_if_grad(tensor_type: type, name: str, arguments: Any, has_out: bool) -> None:
    if state.enabled and any(t._requires_grad for t in _tensors(tensor_type, arguments)):
        why = "writes its result into an array (out=)" if has_out else \
            "has no tinygrad_softmax op (for these arguments)"
        raise TypeError(
            f"{name} {why}, so its result would be a plain numpy array and the gradient to the Tensor would be "
            "lost; use the Tensor op, or pass t.data (or t.detach()) if no gradient is meant"
        )


def _tensors(tensor_type: type, value: Any) -> list:
    """The Tensors inside nested lists, tuples and dicts of arguments (iteratively)."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, tensor_type):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def _data(tensor_type: type, value: Any) -> Any:
    """`value` with every Tensor replaced by its data array (arguments nest a few levels at most)."""
    if isinstance(value, tensor_type):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_data(tensor_type, v) for v in value)
    if isinstance(value, dict):
        return {k: _data(tensor_type, v) for k, v in value.items()}
    return value


def _written(tensor_type: type, out: Any, result: Any) -> Any:
    """For ``out=``: the Tensors written into were changed in place, so graphs that saved them must know."""
    if out is None:
        return result
    outs = out if isinstance(out, tuple) else (out,)
    for target in outs:
        if isinstance(target, tensor_type):
            autograd.note_inplace(target.data)
    return outs[0] if len(outs) == 1 else outs


# ------------------------------------------------------------------ numpy functions


@functools.cache
def _signature(func: Callable) -> inspect.Signature:
    return inspect.signature(func)


_FUNCTIONS: dict[Callable, Any] = {}


def _implements(*funcs: Callable) -> Callable:
    """Register a handler for numpy functions: its signature (after the Tensor type) says what it takes.

    Arguments after the first are keyword-only where numpy's positional order differs, so that
    ``np.sum(t, 1, np.float32)`` (a dtype) is refused, not taken as keepdims.
    """

    def register(handler: Callable) -> Callable:
        for func in funcs:
            _FUNCTIONS[func] = handler
        return handler

    return register


def _tensor(tensor_type: type, a: Any) -> Any:
    return a if isinstance(a, tensor_type) else tensor_type(a)


@_implements(np.sum)
def _sum(T: type, a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return _tensor(T, a).sum(axis=axis, keepdims=keepdims)


@_implements(np.mean)
def _mean(T: type, a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return _tensor(T, a).mean(axis=axis, keepdims=keepdims)


@_implements(np.max, np.amax)
def _max(T: type, a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return _tensor(T, a).max(axis=axis, keepdims=keepdims)


@_implements(np.min, np.amin)
def _min(T: type, a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return _tensor(T, a).min(axis=axis, keepdims=keepdims)


@_implements(np.prod)
def _prod(T: type, a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return _tensor(T, a).prod(axis=axis, keepdims=keepdims)


@_implements(np.var)
def _var(T: type, a: Any, axis: Any = None, *, ddof: int = 0, keepdims: bool = False) -> Any:
    return _tensor(T, a).var(axis=axis, ddof=ddof, keepdims=keepdims)


@_implements(np.std)
def _std(T: type, a: Any, axis: Any = None, *, ddof: int = 0, keepdims: bool = False) -> Any:
    return _tensor(T, a).std(axis=axis, ddof=ddof, keepdims=keepdims)


@_implements(np.concatenate)
def _concatenate(T: type, arrays: Any, axis: int = 0) -> Any:
    return ops.Concatenate.apply(*arrays, axis=axis)


@_implements(np.stack)
def _stack(T: type, arrays: Any, axis: int = 0) -> Any:
    return ops.Concatenate.apply(*[_tensor(T, a).expand_dims(axis) for a in arrays], axis=axis)


@_implements(np.where)
def _where(T: type, condition: Any, x: Any, y: Any) -> Any:
    return ops.Where.apply(np.asarray(_data(T, condition)), x, y)


@_implements(np.expand_dims)
def _expand_dims(T: type, a: Any, axis: Any) -> Any:
    return _tensor(T, a).expand_dims(axis)


@_implements(np.broadcast_to)
def _broadcast_to(T: type, array: Any, shape: Any) -> Any:
    return _tensor(T, array).broadcast_to(shape)


@_implements(np.swapaxes)
def _swapaxes(T: type, a: Any, axis1: int, axis2: int) -> Any:
    return _tensor(T, a).swapaxes(axis1, axis2)


@_implements(np.pad)
def _pad(T: type, array: Any, pad_width: Any, mode: str = "constant", *, constant_values: float = 0) -> Any:
    if mode != "constant":
        raise TypeError(f"np.pad: only mode='constant' has a tinygrad_softmax op, got {mode!r}")
    return _tensor(T, array).pad(pad_width, constant_values=constant_values)


@_implements(np.reshape)
def _reshape(T: type, a: Any, shape: Any = None, *, newshape: Any = None) -> Any:
    return _tensor(T, a).reshape(shape if shape is not None else newshape)


@_implements(np.transpose)
def _transpose(T: type, a: Any, axes: Any = None) -> Any:
    return _tensor(T, a).transpose(*(() if axes is None else (axes,)))


@_implements(np.squeeze)
def _squeeze(T: type, a: Any, axis: Any = None) -> Any:
    return _tensor(T, a).squeeze(axis)


@_implements(np.ravel)
def _ravel(T: type, a: Any) -> Any:
    return _tensor(T, a).ravel()


@_implements(np.clip)
def _clip(T: type, a: Any, a_min: Any = None, a_max: Any = None, *, min: Any = None, max: Any = None) -> Any:
    low, high = (a_min if a_min is not None else min), (a_max if a_max is not None else max)
    return _tensor(T, a).clip(low, high)


@_implements(np.dot)
def _dot(T: type, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return ops.Mul.apply(a, b)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return ops.MatMul.apply(a, b)
    _refuse_if_grad(T, "np.dot", (a, b), False)  # beyond 2-D, dot is not matmul
    return np.dot(_data(T, a), _data(T, b))
