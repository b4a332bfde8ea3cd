"""`Tensor`: a numpy array that remembers the op that made it, so `backward()` can apply the chain rule."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from itertools import count
from typing import Any

import numpy as np

from . import ops
from .autograd import run_backward
from .function import Context, Function, Scope, _holds_tensor

ArrayLike = Any  # numbers, nested lists, numpy arrays, Tensors

# Every tensor gets the next number when created, so an op's output is always numbered
# after its inputs: run_backward visits tensors by decreasing number (autograd.py).
_creation_counter = count()


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
        grad: ``d(output)/d(self)`` with ``self``'s shape after ``backward``, else None.
        name: the label given, or None.
    """

    __slots__ = (
        "__weakref__", "_ctx", "_fn", "_parents", "_requires_grad", "_scope", "_seq", "data", "grad", "name"
    )

    # numpy defers to our reflected operators: np_array + t and np_array @ t give Tensors.
    __array_ufunc__ = None

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) is int and dtype is None:
            data = float(data)  # a Python int too large for int64 must not become an object array
        elif isinstance(data, (list, tuple)) and _holds_tensor(data):
            warnings.warn(
                "Tensor: building a tensor from a list holding Tensors copies their values; "
                "no gradient will flow back to them",
                stacklevel=2,
            )
        try:
            array = np.array(data, dtype=dtype)
        except ValueError as exc:  # e.g. ragged nested lists
            raise ValueError(f"Tensor: cannot make an array from this data: {exc}") from None
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)) and array.dtype.kind in "iu":
            array = array.astype(np.float64)  # Python ints count as real numbers here, like floats
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"Tensor: data of dtype {array.dtype} is not numeric"
                + (" (ragged nested lists?)" if array.dtype == object else "")
            )
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.name = name
        self._fn: type[Function] | None = None
        self._ctx: Context | None = None
        self._parents: tuple[Tensor | np.ndarray, ...] = ()  # arrays: constants, see parents
        self._scope = None
        self._seq = next(_creation_counter)
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(
        cls,
        data: np.ndarray,
        requires_grad: bool = False,
        fn: type[Function] | None = None,
        ctx: Context | None = None,
        parents: tuple[Tensor | np.ndarray, ...] = (),
        scope: Scope | None = None,
    ) -> Tensor:
        """Wrap an op's output without copying or re-validating it (the hot path)."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.name = None
        t._requires_grad = requires_grad
        t._fn = fn
        t._ctx = ctx
        t._parents = parents
        t._scope = scope
        t._seq = next(_creation_counter)
        return t

    # ------------------------------------------------------------ graph interface

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating tensors can require gradients, this one has dtype {self.data.dtype}"
            )
        if not value and self._fn is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self._requires_grad = bool(value)

    @property
    def op(self) -> str | None:
        """Short name of the op that produced this tensor (``"matmul"``, ``"exp"``...); None for leaves."""
        return None if self._fn is None else self._fn.name

    @property
    def op_args(self) -> dict[str, Any]:
        """The keyword arguments the op was applied with (``{"axis": 1, "keepdims": True}``)."""
        return {} if self._ctx is None else dict(self._ctx._op_kwargs)

    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function subclass whose backward produces this tensor's inputs' gradients; None for leaves."""
        return self._fn

    @property
    def scope(self) -> Scope | None:
        """The innermost composite (`scope`) this tensor was computed in, or None."""
        return self._scope

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The input tensors of the op that produced this one; empty for leaves.

        Constant inputs appear as leaf tensors (``requires_grad=False``) in the op's scope.
        """
        parents = self._parents
        for parent in parents:
            if not isinstance(parent, Tensor):
                # Function.apply keeps constants as bare arrays, since only graph pictures
                # look at them; wrap them once, on first request, and keep the wrappers.
                parents = tuple(p if isinstance(p, Tensor) else Tensor._make(p, scope=self._scope) for p in parents)
                self._parents = parents
                break
        return parents

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (or that no recorded op produced)."""
        return self._fn is None

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

    def backward(self, grad: ArrayLike | None = None) -> None:
        """Add ``d(self)/d(t)`` to ``t.grad`` for every tensor ``t`` in the graph that requires grad.

        Args:
            grad: the upstream gradient, shaped like ``self``. May be omitted only
                when ``self`` has exactly one element (a loss); it then defaults to 1.

        Gradients accumulate across calls (call `zero_grad` to reset); the graph is
        kept, so calling backward twice adds the same gradients twice.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad: no input of the ops that made it "
                "requires grad, or it was computed under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient must be given for non-scalar outputs "
                    f"(this tensor has shape {self.shape}); call backward(grad) with an array of that shape"
                )
            seed = np.empty_like(self.data)
            seed.fill(1)  # 0.3 us; np.ones_like is a Python wrapper costing 0.9 us
        else:
            # A copy: the caller's array must survive any backward, even a careless user op.
            seed = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad has shape {seed.shape} but the tensor has shape {self.shape}")
        run_backward(self, seed)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph (``requires_grad=False``)."""
        return Tensor._make(self.data)

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data array itself (not a copy)."""
        return self.data

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
        if self._fn is not None:
            details.append(f"op={self.op!r}")
        if self._requires_grad:
            details.append("requires_grad=True")
        details.append(f"has_grad={self.grad is not None}")
        return f"Tensor({values}, {', '.join(details)})"

    # --------------------------------------------------------------- arithmetic

    def _operand(self, other: Any) -> Any:
        """Prepare the other side of a binary op following NumPy 2's promotion rules.

        A Python number is "weak" (NEP 50): float32 + 0.5 stays float32. Anything
        else is handed to the op as is and follows numpy's rules.
        """
        kind = type(other)
        if kind is float or kind is int:
            dtype = self.data.dtype
            if dtype.kind != "f":
                dtype = np.result_type(dtype, other)
            return np.array(other, dtype=dtype)
        return other

    def __add__(self, other: ArrayLike) -> Tensor:
        return ops.Add.apply(self, self._operand(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return ops.Add.apply(self._operand(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return ops.Sub.apply(self, self._operand(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return ops.Sub.apply(self._operand(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return ops.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return ops.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return ops.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return ops.Div.apply(self._operand(other), self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return ops.MatMul.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, np.generic) and exponent.ndim == 0:
            exponent = exponent.item()  # a numpy scalar exponent should not change the dtype
        if type(exponent) not in (int, float):
            raise TypeError(
                f"pow: the exponent must be a Python or numpy scalar, got {type(exponent).__name__}; "
                "for a tensor exponent b use (b * a.log()).exp()"
            )
        return ops.Pow.apply(self, exponent=exponent)

    def matmul(self, other: ArrayLike) -> Tensor:
        """``self @ other`` with numpy's rules.

        Shapes: (n,)@(n,) -> (); (m, n)@(n,) -> (m,); (..., m, n)@(..., n, p) -> (..., m, p).
        """
        return ops.MatMul.apply(self, other)

    # ---------------------------------------------------------- elementwise math

    def exp(self) -> Tensor:
        """Elementwise e^x, same shape."""
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        """Elementwise natural log, same shape."""
        return ops.Log.apply(self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Elementwise clip to [low, high]; the gradient is 0 where a value was clipped."""
        return ops.Clip.apply(self, low=low, high=high)

    # --------------------------------------------------------------- reductions

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (all axes when None); ``(b, n).sum(axis=1) -> (b,)``, with keepdims ``(b, 1)``."""
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (all axes when None); shapes as in `sum`."""
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Max over `axis`; tied maxima share the gradient evenly. Shapes as in `sum`."""
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    # ------------------------------------------------------------------- shape

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same data in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes: int | tuple[int, ...]) -> Tensor:
        """Permute axes; no argument reverses them (``(m, n) -> (n, m)``)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802  (numpy's name)
        """The transpose with axes reversed."""
        return ops.Transpose.apply(self, axes=None)

    def __getitem__(self, index: Any) -> Tensor:
        """numpy indexing: ints, slices, None, ``...`` and integer/boolean arrays.

        ``a[y]`` picks one probability; ``a[np.arange(n), y]`` picks one per row.
        In backward, repeated indices add up.
        """
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple([i.data if isinstance(i, Tensor) else i for i in index])  # 0.23 us; tuple(gen) 0.34
        elif isinstance(index, list):
            index = np.asarray(index)
        return ops.GetItem.apply(self, index=index)
