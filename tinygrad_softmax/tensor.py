"""`Tensor`: a numpy array that remembers the op that made it, so `backward()` can apply the chain rule.

Every method of Tensor is defined here (users add theirs with `register_op`). Each op
method ends in ``ops.SomeOp.apply(...)``; ops.py sits below this module and knows
Tensor only as the type `function.use_tensor_type` registers at the end of this file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from . import autograd, numpy_dispatch, ops
from .function import Function, apply_binary, apply_unary, holds_tensor, use_tensor_type
from .grad_mode import Scope, state

ArrayLike = Any  # numbers, nested lists, numpy arrays, Tensors


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    Args:
        data: a Python number, a (nested) list, a numpy array or a Tensor. The
            data is copied. Python numbers become float64; numpy arrays keep
            their dtype (float32 stays float32).
        requires_grad: record ops on this tensor so `backward` fills ``.grad``.
            Only floating tensors can require gradients.
        name: a label used by ``repr`` and in graph pictures.
        dtype: convert the data to this dtype.

    Attributes:
        data: the values, an ``np.ndarray``.
        grad: ``d(output)/d(self)``, an ``np.ndarray`` of ``self``'s shape and dtype, after ``backward``; else None.
        name: the label given, or None.
    """

    # _scope is set only on the constants that `parents` wraps (recorded tensors keep theirs on the op)
    __slots__ = ("__weakref__", "_ctx", "_requires_grad", "_scope", "_seq", "data", "grad", "name")

    def __init__(self, data: ArrayLike, requires_grad: bool = False, name: str | None = None, dtype: Any = None):
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) is int and dtype is None:
            data = float(data)  # a Python int too large for int64 must not become an object array
        elif isinstance(data, (list, tuple)) and holds_tensor(data):
            warnings.warn("Tensor: building a tensor from a list holding Tensors copies their values; "
                          "no gradient will flow back to them", stacklevel=2)
        try:
            array = np.array(data, dtype=dtype)
        except ValueError as exc:  # e.g. ragged nested lists
            raise ValueError(f"Tensor: cannot make an array from this data: {exc}") from None
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)) and array.dtype.kind in "iu":
            array = array.astype(np.float64)  # Python ints count as real numbers here, like floats
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: data of dtype {array.dtype} is not numeric"
                            + (" (ragged nested lists?)" if array.dtype == object else ""))
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx: Function | None = None  # the op that made this tensor; it is also that op's ctx
        self._seq = autograd.next_number()
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _leaf(cls, data: np.ndarray, name: str | None = None) -> Tensor:
        """Wrap an array as a constant leaf, without copying it."""
        t = object.__new__(cls)
        t.data, t.grad, t.name, t._ctx, t._requires_grad, t._seq = data, None, name, None, False, autograd.next_number()
        return t

    # ------------------------------------------------------------ graph interface

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients, this one has dtype {self.data.dtype}")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self._requires_grad = bool(value)

    @property
    def op(self) -> str | None:
        """Short name of the op that produced this tensor (``"matmul"``, ``"exp"``...); None for leaves."""
        return None if self._ctx is None else self._ctx.name

    @property
    def op_args(self) -> dict[str, Any]:
        """The keyword arguments the op was applied with (``{"axis": 1, "keepdims": True}``)."""
        return {} if self._ctx is None else dict(self._ctx._op_kwargs)

    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function subclass whose backward gives this tensor's inputs their gradients; None for leaves."""
        return None if self._ctx is None else type(self._ctx)

    @property
    def scope(self) -> Scope | None:
        """The innermost composite (`scope`) this tensor was computed in, or None."""
        return getattr(self, "_scope", None) if self._ctx is None else self._ctx._scope

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The input tensors of the op that produced this one; empty for leaves.

        Constant inputs appear as leaf tensors (``requires_grad=False``) in the op's scope.
        """
        ctx = self._ctx
        if ctx is None:
            return ()
        if not all(isinstance(p, Tensor) for p in ctx._parents):  # constants are wrapped once, when first asked for
            wrapped = []
            for p in ctx._parents:
                if not isinstance(p, Tensor):
                    p = Tensor._leaf(np.asarray(p))
                    p._scope = ctx._scope
                wrapped.append(p)
            ctx._parents = tuple(wrapped)
        return ctx._parents

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (or that no recorded op produced)."""
        return self._ctx is None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    # ---------------------------------------------------------------- backward

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = True) -> None:
        """Add ``d(self)/d(t)`` to ``t.grad`` for every tensor ``t`` in the graph that requires grad.

        Args:
            grad: the upstream gradient, shaped like ``self``. May be omitted only
                when ``self`` has exactly one element (a loss); it then defaults to 1.
            retain_graph: keep the arrays ops saved, so the graph can be differentiated again.

        Gradients accumulate across calls (call `zero_grad` to reset); a second call
        adds the same gradients again. If the pass raises (Ctrl-C included), no ``.grad`` changes.
        """
        seeds = autograd.seeds([self], [grad], "backward")
        autograd.accumulate(*autograd.backward_pass([self], seeds, retain_graph))

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph (``requires_grad=False``)."""
        return Tensor._leaf(self.data)

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data array itself (not a copy)."""
        return self.data

    def graph(self, *, steps: bool = False, **options: Any) -> Any:
        """The graph that computed this tensor, drawn: `viz.to_dot` with the same options (shown inline in Jupyter).

        With ``steps=True``, `viz.stepper` instead (options ``wrt``, ``collapse``, ``path``): the
        backward pass step by step, shown inline in Jupyter as a self-contained page.
        """
        from . import viz  # only when asked: the engine does not need graphviz

        return viz.stepper(self, **options) if steps else viz.to_dot(self, **options)

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; use .data.any() or .data.all()"
            )
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)`` gives the data (plotting and numpy functions accept Tensors)."""
        if dtype is None and not copy:
            return self.data
        return np.array(self.data, dtype=dtype, copy=True)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(t)``, ``array + t``: recorded like the Tensor op; see `numpy_dispatch`."""
        return numpy_dispatch.array_ufunc(Tensor, ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.sum(t, axis=1)``, ``np.reshape(t, ...)``: recorded like the Tensor op; see `numpy_dispatch`."""
        return numpy_dispatch.array_function(Tensor, func, args, kwargs)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """The rows ``t[0], t[1], ...`` (each one a recorded getitem, so gradients flow)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __contains__(self, value: Any) -> bool:
        return bool(np.any(self.data == (value.data if isinstance(value, Tensor) else value)))

    def __repr__(self) -> str:
        values = np.array2string(self.data, precision=4, threshold=20, edgeitems=3, separator=", ", prefix="Tensor(")
        details = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name is not None:
            details.insert(0, f"name={self.name!r}")
        if self._ctx is not None:
            details.append(f"op={self.op!r}")
        if self._requires_grad:
            details.append("requires_grad=True")
        details.append(f"has_grad={self.grad is not None}")
        return f"Tensor({values}, {', '.join(details)})"

    # --------------------------------------------------------------- arithmetic
    # Python numbers reach the ops as they are, so numpy's NEP 50 rules apply: float32 * 0.5 stays float32.

    def __add__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Add, self, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Add, other, self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Sub, self, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Sub, other, self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Mul, self, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Mul, other, self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Div, self, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.Div, other, self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.MatMul, self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return apply_binary(ops.MatMul, other, self)

    def __neg__(self) -> Tensor:
        return apply_unary(ops.Neg, self)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        """``t ** p``: a scalar p, or a tensor exponent (which then receives a gradient too)."""
        if isinstance(exponent, np.generic) and exponent.ndim == 0:
            exponent = exponent.item()  # a numpy scalar exponent should not change the dtype
        if type(exponent) in (int, float):
            return apply_unary(ops.Pow, self, exponent=exponent)
        return apply_binary(ops.Power, self, exponent)

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return apply_binary(ops.Power, base, self)

    # Comparisons give boolean tensors, outside the graph (a step has no gradient). == and != stay
    # identity, so tensors work as dict keys; np.equal(a, b) compares elementwise.

    def __lt__(self, other: ArrayLike) -> Tensor:
        return Tensor._leaf(self.data < getattr(other, "data", other))

    def __le__(self, other: ArrayLike) -> Tensor:
        return Tensor._leaf(self.data <= getattr(other, "data", other))

    def __gt__(self, other: ArrayLike) -> Tensor:
        return Tensor._leaf(self.data > getattr(other, "data", other))

    def __ge__(self, other: ArrayLike) -> Tensor:
        return Tensor._leaf(self.data >= getattr(other, "data", other))

    # In place, like PyTorch: under no_grad (the optimizer idiom) the data changes in place and
    # graphs that saved it refuse to run backward; on a leaf that requires grad it is an error.

    def __iadd__(self, other: ArrayLike) -> Tensor:
        return self._in_place(ops.Add, np.add, "+=", other)

    def __isub__(self, other: ArrayLike) -> Tensor:
        return self._in_place(ops.Sub, np.subtract, "-=", other)

    def __imul__(self, other: ArrayLike) -> Tensor:
        return self._in_place(ops.Mul, np.multiply, "*=", other)

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        return self._in_place(ops.Div, np.divide, "/=", other)

    def _in_place(self, op: type[Function], ufunc: np.ufunc, symbol: str, other: ArrayLike) -> Tensor:
        other_grad = isinstance(other, Tensor) and other._requires_grad
        if state.enabled and (self._requires_grad or other_grad):
            if self._ctx is None and self._requires_grad:
                name = self.name or "w"
                raise RuntimeError(
                    f"{op.name}: `{name} {symbol} ...` would change a leaf that requires grad while the graph is "
                    f"recorded; update parameters outside the graph:\n    with no_grad():\n        {name} {symbol} ..."
                )
            return apply_binary(op, self, other)  # recorded, and the name rebound as by `t = t + other`
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data)
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"{op.name}: cannot update a tensor of shape {self.shape} and dtype {self.dtype} "
                       f"in place with {symbol} {np.shape(value)} values of dtype {np.result_type(value)}: {exc}"
                       ) from None
        autograd.note_inplace(self.data)
        return self

    def matmul(self, other: ArrayLike) -> Tensor:
        """``self @ other`` with numpy's rules.

        Shapes: (n,)@(n,) -> (); (m, n)@(n,) -> (m,); (..., m, n)@(..., n, p) -> (..., m, p).
        """
        return apply_binary(ops.MatMul, self, other)

    # ---------------------------------------------------------- elementwise math

    def exp(self) -> Tensor:
        """Elementwise e^x, same shape."""
        return apply_unary(ops.Exp, self)

    def log(self) -> Tensor:
        """Elementwise natural log, same shape."""
        return apply_unary(ops.Log, self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Elementwise clip to [low, high]; the gradient is g inside, at the bounds too, and 0 beyond them.

        The bounds are numbers or arrays (broadcast like numpy's, so the result may be larger
        than the tensor); they get no gradient: a bound that needs one is `maximum`/`minimum`.
        """
        if isinstance(low, Tensor) or isinstance(high, Tensor):  # rare: the loss's clip(eps, 1) skips this
            low, high = _constant_bound("low", low), _constant_bound("high", high)
        return apply_unary(ops.Clip, self, low=low, high=high)

    def log1p(self) -> Tensor:
        """Elementwise log(1 + x), precise for tiny x."""
        return apply_unary(ops.Log1p, self)

    def sqrt(self) -> Tensor:
        """Elementwise square root; its gradient is inf at 0."""
        return apply_unary(ops.Sqrt, self)

    def abs(self) -> Tensor:
        """Elementwise |x|; gradient sign(x), 0 at 0."""
        return apply_unary(ops.Abs, self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0); gradient 1 where x > 0, else 0 (0 at 0)."""
        return apply_unary(ops.ReLU, self)

    def sigmoid(self) -> Tensor:
        """Elementwise 1 / (1 + exp(-x)), without overflow for large |x|."""
        return apply_unary(ops.Sigmoid, self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return apply_unary(ops.Tanh, self)

    def maximum(self, other: ArrayLike) -> Tensor:
        """Elementwise larger of self and other (broadcast); ties share the gradient."""
        return apply_binary(ops.Maximum, self, other)

    def minimum(self, other: ArrayLike) -> Tensor:
        """Elementwise smaller of self and other (broadcast); ties share the gradient."""
        return apply_binary(ops.Minimum, self, other)

    # --------------------------------------------------------------- reductions

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (all axes when None); ``(b, n).sum(axis=1) -> (b,)``, with keepdims ``(b, 1)``."""
        return apply_unary(ops.Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (all axes when None); shapes as in `sum`."""
        return apply_unary(ops.Mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False,
            return_indices: bool = False) -> Any:
        """Max over `axis`; tied maxima share the gradient evenly (torch.amax). Shapes as in `sum`.

        With ``return_indices`` (an int axis): ``(values, indices)`` like ``torch.max(dim)``,
        the gradient going to the first maximum's index only.
        """
        if return_indices:
            return self._pick(np.argmax, axis, keepdims)
        return apply_unary(ops.Max, self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False,
            return_indices: bool = False) -> Any:
        """Min over `axis`, as `max`."""
        if return_indices:
            return self._pick(np.argmin, axis, keepdims)
        return apply_unary(ops.Min, self, axis=axis, keepdims=keepdims)

    def _pick(self, arg: Callable, axis: Any, keepdims: bool) -> tuple[Tensor, Tensor]:
        name = arg.__name__[3:]
        if type(axis) is not int:
            raise TypeError(f"{name}: return_indices needs one int axis, got {axis!r}")
        if not -max(self.ndim, 1) <= axis < max(self.ndim, 1):
            raise ValueError(f"{name}: axis {axis} is out of range for a tensor of shape {self.shape}")
        if self.ndim == 0:  # torch.max(dim=0) of a 0-d tensor: the value itself, at index 0
            return self.reshape(()), Tensor._leaf(np.zeros((), dtype=np.intp))
        indices = np.expand_dims(arg(self.data, axis=axis), axis)
        grid = np.indices(indices.shape, sparse=True)
        axis %= self.ndim
        values = self[tuple(indices if i == axis else grid[i] for i in range(self.ndim))]
        values = values if keepdims else values.squeeze(axis)
        return values, Tensor._leaf(indices if keepdims else np.squeeze(indices, axis))

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the max along `axis` (of the flattened tensor when None): an integer tensor, no gradient."""
        return Tensor._leaf(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the min along `axis`, as `argmax`."""
        return Tensor._leaf(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)))

    def prod(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Product over `axis`; right gradients with zeros present too. Shapes as in `sum`."""
        return apply_unary(ops.Prod, self, axis=axis, keepdims=keepdims)

    def var(self, axis: int | tuple[int, ...] | None = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Variance ``sum((x - mean)^2) / (n - ddof)`` over `axis` (numpy's ddof, default 0)."""
        centred = self - self.mean(axis=axis, keepdims=True)
        axes = range(self.ndim) if axis is None else normalize_axis_tuple(axis, self.ndim)
        count = int(np.prod([self.shape[i] for i in axes]))
        if count - ddof <= 0:
            raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {count} value(s) per result")
        return (centred * centred).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    def std(self, axis: int | tuple[int, ...] | None = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Standard deviation over `axis` (numpy's ddof); gradient 0 where it is 0 (as torch)."""
        return apply_unary(ops.Std, self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Tensor:
        """``log(sum(exp(x)))`` over `axis` without overflow: ``(n, k) -> (n,)``; see `ops.LogSumExp`."""
        return apply_unary(ops.LogSumExp, self, axis=axis, keepdims=keepdims)

    # ------------------------------------------------------------------- shape

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same data in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply_unary(ops.Reshape, self, shape=shape)

    def ravel(self) -> Tensor:
        """The elements as one axis: ``(2, 3) -> (6,)``."""
        return apply_unary(ops.Reshape, self, shape=(-1,))

    def flatten(self) -> Tensor:
        """The elements as one axis, like numpy's flatten (a reshape, so no copy): ``(2, 3) -> (6,)``."""
        return apply_unary(ops.Reshape, self, shape=(-1,))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """Drop axes of length 1 (all of them, or those in `axis`): ``(3, 1, 2) -> (3, 2)``."""
        try:
            shape = np.squeeze(np.empty(self.shape, dtype=bool), axis).shape
        except ValueError as exc:
            raise ValueError(f"squeeze: {exc} (tensor shape {self.shape})") from None
        return apply_unary(ops.Reshape, self, shape=shape)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """A new axis of length 1 at `axis`: ``(3,) -> (1, 3)`` for axis 0 (a reshape)."""
        try:
            shape = np.expand_dims(np.empty(self.shape, dtype=bool), axis).shape
        except ValueError as exc:
            raise ValueError(f"expand_dims: {exc} (tensor shape {self.shape})") from None
        return apply_unary(ops.Reshape, self, shape=shape)

    unsqueeze = expand_dims  # torch's name

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """A read-only view in `shape`, by numpy's broadcasting rules; the gradient is summed back."""
        return apply_unary(ops.BroadcastTo, self, shape=tuple(shape) if np.ndim(shape) else (shape,))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes: ``(2, 3, 4).swapaxes(0, 2) -> (4, 3, 2)`` (a transpose)."""
        axes = list(range(self.ndim))
        try:
            axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        except IndexError:
            raise ValueError(f"swapaxes: axes {axis1}, {axis2} out of range for shape {self.shape}") from None
        return apply_unary(ops.Transpose, self, axes=tuple(axes))

    def pad(self, pad_width: Any, constant_values: float = 0) -> Tensor:
        """``np.pad(x, pad_width)`` with a constant: e.g. ``((0, 0), (1, 2))`` adds 1 column left, 2 right."""
        return apply_unary(ops.Pad, self, pad_width=pad_width, constant_values=constant_values)

    def transpose(self, *axes: int | tuple[int, ...]) -> Tensor:
        """Permute axes; no argument reverses them (``(m, n) -> (n, m)``)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply_unary(ops.Transpose, self, axes=axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802  (numpy's name)
        """The transpose with axes reversed."""
        return apply_unary(ops.Transpose, self, axes=None)

    def __getitem__(self, index: Any) -> Tensor:
        """numpy indexing: ints, slices, None, ``...`` and integer/boolean arrays.

        ``a[y]`` picks one probability; ``a[np.arange(n), y]`` picks one per row.
        In backward, repeated indices add up.
        """
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple([i.data if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list) else i
                           for i in index])
        elif isinstance(index, list):
            index = np.asarray(index)
        return apply_unary(ops.GetItem, self, index=index)


use_tensor_type(Tensor)

_added: dict[str, Any] = {}  # what register_op replaced: name -> the attribute before, or _ABSENT
_ABSENT = object()


def _constant_bound(side: str, bound: Any) -> Any:
    """A clip bound as data: a Tensor's array, refused when it requires grad (clip gives bounds none)."""
    if not isinstance(bound, Tensor):
        return bound
    if bound.requires_grad:
        raise TypeError(f"clip: the {side} bound is a tensor that requires grad, and clip gives its bounds "
                        f"no gradient; use x.maximum(low) / x.minimum(high) to differentiate a bound")
    return bound.data


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
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"register_op: {name!r} is not a public Python identifier")
    if isinstance(function, type) and issubclass(function, Function):
        call = function.apply
    elif callable(function):
        call = function
    else:
        raise TypeError(f"register_op: expected a Function subclass or a callable, got {function!r}")
    if hasattr(Tensor, name) and not override:
        raise ValueError(f"register_op: Tensor.{name} already exists; pass override=True to replace it")

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return call(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = getattr(function, "__doc__", None)
    _added.setdefault(name, Tensor.__dict__.get(name, _ABSENT))
    setattr(Tensor, name, method)


def unregister_op(name: str) -> None:
    """Undo `register_op`: restore what ``Tensor.name`` was before (or remove it)."""
    if name not in _added:
        raise ValueError(f"unregister_op: {name!r} was not added by register_op")
    original = _added.pop(name)
    if original is _ABSENT:
        delattr(Tensor, name)
    else:
        setattr(Tensor, name, original)
