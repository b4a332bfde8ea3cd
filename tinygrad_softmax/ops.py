"""Every primitive op: forward and backward side by side, on plain numpy arrays.

Each op is a `Function` written with the same public API a student uses. Backward
may return a gradient in the output's broadcast shape: the engine sums it down to
the input's shape, so no op here repeats unbroadcast code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from .function import Context, Function

Axis = int | tuple[int, ...] | None

# ---------------------------------------------------------------- elementwise


class Add(Function):
    """a + b; both inputs receive g."""

    label = "g and g"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return grad, grad


class Sub(Function):
    """a - b; a receives g, b receives -g."""

    label = "g and -g"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """a * b; a receives g * b, b receives g * a."""

    label = "g * b and g * a"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """a / b; a receives g / b, b receives -g * a / b^2 (computed as -(g / b) * out)."""

    label = "g / b and -g * a / b^2"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        b, out = ctx.saved_tensors
        grad_a = grad / b
        return grad_a, (-grad_a * out if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """-x; x receives -g."""

    label = "-g"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return -grad


class Pow(Function):
    """x ** p for a scalar p; x receives g * p * x^(p-1)."""

    label = "g * p * x^(p-1)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, exponent: float) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return x**exponent

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        p = ctx.exponent
        if p == 0:  # 0 * x^-1 would be nan at x == 0; the true derivative is 0
            return np.zeros_like(x)
        return grad * p * x ** (p - 1)


class Exp(Function):
    """exp(x); x receives g * exp(x), reusing the saved output."""

    label = "g * exp(x)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """log(x), natural; x receives g / x."""

    label = "g / x"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    """log(1 + x), precise for tiny x; x receives g / (1 + x)."""

    label = "g / (1 + x)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad / (1 + x)


class Sqrt(Function):
    """sqrt(x); x receives g / (2 sqrt(x)): inf at 0, as in torch."""

    label = "g / (2 sqrt(x))"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):  # the slope at 0 is infinite: that is the answer, not a warning
            return grad / (2 * out)


class Abs(Function):
    """|x|; x receives g * sign(x), so 0 at x = 0 (as torch)."""

    label = "g * sign(x)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class ReLU(Function):
    """max(x, 0); x receives g where x > 0 (0 at x = 0, as torch)."""

    name = "relu"
    label = "g * (x > 0)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad * (x > 0)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed without overflow for large |x|; x receives g * s * (1 - s)."""

    label = "g * s * (1 - s)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.exp(-np.logaddexp(0, -x))  # exp(-log(1 + exp(-x))): no overflow either way
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Function):
    """tanh(x); x receives g * (1 - tanh(x)^2)."""

    label = "g * (1 - t^2)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Power(Function):
    """a ** b, tensor exponent; a receives g b a^(b-1) (0 where b = 0), b receives g a^b log(a) (0 where a = 0 <= b)."""

    name = "pow"
    label = "g * b * a^(b-1) and g * a^b * log(a)"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):  # inf and nan are the answers where a <= 0
            grad_a = np.where(b == 0, 0.0, grad * b * a ** (b - 1)) if need_a else None  # x^0 is flat, even at 0
            grad_b = np.where((a == 0) & (b >= 0), 0.0, grad * out * np.log(a)) if need_b else None
        return grad_a, grad_b


class Maximum(Function):
    """Elementwise max(a, b); g goes to the larger, half to each on a tie (as torch)."""

    label = "g where a > b and g where b > a (ties: g / 2)"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = ctx.saved_tensors
        shared = np.where(a == b, grad / 2, grad)
        return np.where(a < b, 0.0, shared), np.where(a > b, 0.0, shared)


class Minimum(Function):
    """Elementwise min(a, b); g goes to the smaller, half to each on a tie (as torch)."""

    label = "g where a < b and g where b < a (ties: g / 2)"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = ctx.saved_tensors
        shared = np.where(a == b, grad / 2, grad)
        return np.where(a > b, 0.0, shared), np.where(a < b, 0.0, shared)


class Where(Function):
    """cond ? a : b elementwise; a receives g where cond, b receives g elsewhere (cond gets none)."""

    label = "none and g where cond and g where not cond"

    @staticmethod
    def forward(ctx: Context, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if np.asarray(cond).dtype != bool:
            raise TypeError(f"where: the condition must be boolean, got {np.asarray(cond).dtype}")
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[None, np.ndarray | None, np.ndarray | None]:
        (cond,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        return None, (np.where(cond, grad, 0.0) if need_a else None), (np.where(cond, 0.0, grad) if need_b else None)


# ------------------------------------------------------------------ linear algebra


class MatMul(Function):
    """a @ b with numpy's rules (1-D, 2-D, batched); a receives g @ b^T, b receives a^T @ g."""

    label = "g @ B^T and A^T @ g"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if getattr(a, "ndim", 0) == 0 or getattr(b, "ndim", 0) == 0:  # Python numbers arrive as they are
            raise ValueError(
                f"matmul: shapes {np.shape(a)} and {np.shape(b)}: scalars cannot be matrix-multiplied (use *)"
            )
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if a.shape[-1] != inner_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                f"({a.shape[-1]} (dim {a.ndim - 1}) != {inner_b} (dim {max(b.ndim - 2, 0)}))"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without reshaping
            grad_a = _product_like(grad, b.T, a) if need_a else None
            grad_b = _product_like(a.T, grad, b) if need_b else None
            return grad_a, grad_b
        if a.ndim == 2 and b.ndim == 1:  # a matrix times one sample (W1): an outer product and a vector product
            return (grad[:, None] * b if need_a else None), (grad @ a if need_b else None)
        # Treat a 1-D operand as a matrix with one row (a) or one column (b), as numpy
        # does, and restore the removed axis of the gradient to match.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = g2[..., None, :] if b.ndim > 1 else g2[..., None]
        if b.ndim == 1:
            g2 = g2[..., None]
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = a2.swapaxes(-1, -2) @ g2
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


def _product_like(left: np.ndarray, right: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``left @ right``, laid out in memory like `like` (the input this gradient is for).

    When the input is a transposed view (``W.T`` in ``x @ W.T``, the samples-as-rows
    layout), computing the transposed product ``(right^T @ left^T)^T`` gives BLAS the
    same problem as hand-written numpy's ``dz.T @ X``. W3 (8192 x 784 -> 10), OpenBLAS,
    one thread: X.T @ g takes 10.2 ms in float64 and 5.6 ms in float32, (g.T @ X).T
    6.2 and 3.9 ms.
    """
    if like.strides[0] < like.strides[1]:
        return (right.T @ left.T).T
    return left @ right


# ---------------------------------------------------------------------- reductions

# The reductions call the ufuncs' reduce directly: np.sum, np.mean and np.max are Python
# wrappers around it, which cost more than the reduction itself on small arrays
# (figures in docs/performance.md).


def _axis_arg(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if type(axis) is int:  # the common case: normalize_axis_index is C, the tuple version Python
        return (normalize_axis_index(axis, ndim),)
    return None if axis is None else normalize_axis_tuple(axis, ndim)


def _expand_reduced(grad: np.ndarray, ctx: Context) -> np.ndarray:
    """Put back the axes a reduction removed, so grad broadcasts against its input (a reshape:
    np.expand_dims is a Python function)."""
    if ctx.axis is not None and not ctx.keepdims:
        grad = grad.reshape([1 if i in ctx.axis else size for i, size in enumerate(ctx.shape)])
    return grad


def _spread(grad: np.ndarray, ctx: Context) -> np.ndarray:
    """`grad` copied over the reduced input's shape: a new array the engine can keep as its .grad
    (np.broadcast_to would give a read-only view, to be copied anyway, at a higher cost)."""
    full = np.empty(ctx.shape, dtype=grad.dtype)
    full[...] = _expand_reduced(grad, ctx)
    return full


class Sum(Function):
    """x.sum(axis, keepdims); x receives g broadcast back over the summed axes."""

    label = "broadcast g"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        return np.add.reduce(x, axis=ctx.axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return _spread(grad, ctx)


class Mean(Function):
    """x.mean(axis, keepdims); x receives g / n broadcast back, n the number averaged."""

    label = "broadcast g / n"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        if x.size and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            # what np.mean computes for float32 and float64, without its Python wrapper
            total = np.add.reduce(x, axis=ctx.axis, keepdims=keepdims)
            ctx.count = x.size // total.size
            return total / ctx.count
        out = np.mean(x, axis=ctx.axis, keepdims=keepdims)  # its own rules for ints, float16, empty
        ctx.count = x.size // max(np.size(out), 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return _spread(grad / ctx.count, ctx)


class Max(Function):
    """x.max(axis, keepdims); g goes to the maxima, shared evenly between ties (as torch.amax)."""

    label = "g to the max (ties share)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        return _extremum(ctx, x, axis, keepdims, np.maximum, "max")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return _to_extrema(ctx, grad)


class Min(Function):
    """x.min(axis, keepdims); g goes to the minima, shared evenly between ties (as torch.amin)."""

    label = "g to the min (ties share)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        return _extremum(ctx, x, axis, keepdims, np.minimum, "min")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return _to_extrema(ctx, grad)


def _extremum(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool, ufunc: np.ufunc, name: str) -> np.ndarray:
    if x.size == 0:
        raise ValueError(f"{name}: cannot take the {name} of an empty tensor of shape {x.shape}")
    ctx.axis, ctx.keepdims, ctx.shape = _axis_arg(axis, x.ndim), keepdims, x.shape
    out = ufunc.reduce(x, axis=ctx.axis, keepdims=keepdims)
    ctx.save_for_backward(x, out)
    return out


def _to_extrema(ctx: Context, grad: np.ndarray) -> np.ndarray:
    x, out = ctx.saved_tensors
    out = _expand_reduced(out, ctx)
    hit = x == out
    if np.isnan(out).any():  # a nan is the extremum of its slice (as numpy says): it gets g
        hit |= np.isnan(x) & np.isnan(out)
    ties = np.add.reduce(hit, axis=ctx.axis, keepdims=True, dtype=grad.dtype)
    return hit * (_expand_reduced(grad, ctx) / ties)


class Prod(Function):
    """x.prod(axis, keepdims); x_i receives g times the product of the others (right with zeros too)."""

    label = "g * prod / x"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.axis, ctx.keepdims, ctx.shape = _axis_arg(axis, x.ndim), keepdims, x.shape
        ctx.save_for_backward(x)
        return np.multiply.reduce(x, axis=ctx.axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        axes = tuple(range(x.ndim)) if ctx.axis is None else ctx.axis
        kept = [i for i in range(x.ndim) if i not in axes]
        # The reduced axes moved last and flattened into one: the product of the others is the
        # product of everything before times everything after (exclusive cumulative products).
        moved = np.transpose(x, kept + list(axes)).reshape([x.shape[i] for i in kept] + [-1])
        ones = np.ones_like(moved[..., :1])
        before = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape([x.shape[i] for i in kept] + [x.shape[i] for i in axes])
        others = np.transpose(others, np.argsort(kept + list(axes)))
        return _expand_reduced(grad, ctx) * others


class Std(Function):
    """x.std(axis, ddof, keepdims); x receives g (x - mean) / ((n - ddof) std): 0 where std is 0 (as torch)."""

    label = "g * (x - mean) / ((n - ddof) * std)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> np.ndarray:
        ctx.axis, ctx.keepdims, ctx.shape = _axis_arg(axis, x.ndim), keepdims, x.shape
        count = x.size if ctx.axis is None else int(np.prod([x.shape[i] for i in ctx.axis]))
        if count - ddof <= 0:
            raise ValueError(f"std: ddof={ddof} leaves no degrees of freedom for {count} value(s) per result")
        mean = np.add.reduce(x, axis=ctx.axis, keepdims=True) / count
        centred = x - mean
        out = np.sqrt(np.add.reduce(centred * centred, axis=ctx.axis, keepdims=True) / (count - ddof))
        ctx.save_for_backward(centred, out)
        ctx.dof = count - ddof
        return out if keepdims else out.reshape(_reduced_shape(x.shape, ctx.axis))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        centred, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(out == 0, 0.0, centred / (ctx.dof * out))
        return _expand_reduced(grad, ctx) * share


class LogSumExp(Function):
    """log(sum(exp(x))) over `axis`; x receives g * softmax(x), shared evenly between +inf entries.

    Shifted by the max, so ``[1000, 0]`` is finite. Where the maths has a limit it is used: a
    row holding +inf gives inf, and its gradient goes to the +inf entries; an all -inf row
    (or an empty one) gives -inf and gradient 0.
    """

    label = "g * softmax(x)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = -1, keepdims: bool = False) -> np.ndarray:
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        # asarray: on a 0-d x numpy reduces to a scalar, which cannot be assigned into below
        shift = np.asarray(np.maximum.reduce(x, axis=ctx.axis, keepdims=True, initial=-np.inf))
        shift[~np.isfinite(shift)] = 0  # an infinite max would give inf - inf
        with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for an all -inf row
            out = np.log(np.add.reduce(np.exp(x - shift), axis=ctx.axis, keepdims=True)) + shift
        ctx.save_for_backward(x, out)
        return out if keepdims else out.reshape(_reduced_shape(x.shape, ctx.axis))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        with np.errstate(invalid="ignore"):  # inf - inf where out is infinite; replaced below
            weights = np.exp(x - out)
        infinite = np.isinf(out)
        if infinite.any():
            at_inf = x == np.inf
            weights = np.where(out == np.inf, at_inf / np.maximum(np.add.reduce(
                at_inf, axis=ctx.axis, keepdims=True), 1), np.where(infinite, 0.0, weights)).astype(x.dtype)
        return _expand_reduced(grad, ctx) * weights


def _reduced_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if axis is None else tuple(size for i, size in enumerate(shape) if i not in axis)


# ------------------------------------------------------------------ shape and indexing


class Reshape(Function):
    """x.reshape(shape); x receives g reshaped back."""

    label = "reshape g back"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {shape}") from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(ctx.shape)


class Transpose(Function):
    """x.transpose(axes); x receives g transposed by the inverse permutation."""

    label = "transpose g back"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axes: tuple[int, ...] | None = None) -> np.ndarray:
        if axes is not None and sorted(normalize_axis_tuple(axes, x.ndim)) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        inverse = None if ctx.axes is None else np.argsort(normalize_axis_tuple(ctx.axes, grad.ndim))
        return np.transpose(grad, inverse)


class Concatenate(Function):
    """Join tensors along an existing axis; each input receives its slice of g."""

    label = "its slice of g"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        if not arrays:
            raise ValueError("concatenate: needs at least one tensor")
        out = np.concatenate(arrays, axis=axis)
        ctx.axis = normalize_axis_index(axis, out.ndim)
        ctx.ends = np.cumsum([a.shape[ctx.axis] for a in arrays])
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.split(grad, ctx.ends[:-1], axis=ctx.axis))


class BroadcastTo(Function):
    """x broadcast to a shape (a read-only view, as numpy's); x receives g summed back to its shape."""

    name = "broadcast_to"
    label = "sum g back"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad  # the engine sums a broadcast gradient down to the input's shape


class Pad(Function):
    """np.pad(x, pad_width) with a constant; x receives g without the padding."""

    label = "g without the padding"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, pad_width: Any, constant_values: float = 0) -> np.ndarray:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (x.ndim, 2))  # numpy's forms of pad_width
        if (widths < 0).any():
            raise ValueError(f"pad: widths must be >= 0, got {np.asarray(pad_width).tolist()}")
        ctx.inside = tuple(slice(before, before + size) for (before, _), size in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=constant_values)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad[ctx.inside]


class GetItem(Function):
    """x[index]; x receives zeros with g added at the indexed places (repeats add up)."""

    name = "getitem"
    label = "scatter-add g"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, index: Any) -> np.ndarray:
        ctx.index = index
        ctx.shape = x.shape
        try:
            return x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor shape {x.shape})") from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        full = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic_index(ctx.index):  # no index can repeat: plain assignment is exact
            full[ctx.index] = grad
        else:
            np.add.at(full, ctx.index, grad)
        return full


def _is_basic_index(index: Any) -> bool:
    """No position can be picked twice: ints, slices, None, ``...``, and 0-d integer arrays.

    (A 0-d integer array indexes like an int: W1's ``log_probs[label]`` then costs one
    assignment instead of np.add.at.)
    """
    parts = index if type(index) is tuple else (index,)
    for p in parts:
        if isinstance(p, np.ndarray):
            if p.ndim != 0 or p.dtype.kind not in "iu":
                return False
        elif not (isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis):
            return False
    return True


class Clip(Function):
    """x clipped to [low, high]; x receives g where it was inside the range, 0 where clipped."""

    label = "g where low <= x <= high"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, low: float | None = None, high: float | None = None) -> np.ndarray:
        if low is None and high is None:
            raise ValueError("clip: give low, high or both")
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        # Array bounds may broadcast x to a larger shape (as the output is): the mask does too,
        # and the engine sums the gradient back to x's shape.
        low = x >= ctx.low if ctx.low is not None else True
        high = x <= ctx.high if ctx.high is not None else True
        return grad * (low & high)


# ------------------------------------------------------------------- fused loss


class SoftmaxCrossEntropy(Function):
    """Mean (or sum, or per-sample) of -log softmax(x)[target] over the last axis, in one op.

    x receives (softmax(x) - onehot(target)) / n, or (softmax(x) sum(t) - t) / n for probability
    rows t: the closed forms the composite `functional.cross_entropy` derives through its ops.
    """

    label = "g * (a - y) / n"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, target: Any, reduction: str = "mean") -> np.ndarray:
        if x.ndim == 0:
            raise ValueError("softmaxcrossentropy: logits must have a class axis, got a 0-d array")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"softmaxcrossentropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        target = np.asarray(target)
        # Softmax computed once, in place, and saved: backward copies it instead of taking exp
        # again, which costs less in time and in peak memory (docs/performance.md).
        shifted = x - np.maximum.reduce(x, axis=-1, keepdims=True)
        probs = np.exp(shifted)
        total = np.add.reduce(probs, axis=-1, keepdims=True)
        probs /= total
        log_total = np.log(total)
        if target.dtype.kind in "iu":
            check_labels(target, x.shape, x.ndim - 1, "softmaxcrossentropy")
            # -log softmax(x)[label], without a one-hot array: 0 * -inf never happens
            ctx.index = _label_index(target)
            losses = log_total[..., 0] - shifted[ctx.index]
        elif target.shape == x.shape:
            target = target.astype(x.dtype, copy=False)
            shifted -= log_total  # now log softmax(x)
            # 0 * log(0) counts as 0: multiply only where the target is nonzero, since
            # 0 * -inf (a -inf logit) is nan and a RuntimeWarning
            products = np.multiply(target, shifted, out=np.zeros_like(shifted), where=target != 0)
            losses = -np.add.reduce(products, axis=-1)
        else:
            raise ValueError(
                f"softmaxcrossentropy: target must be labels of shape {x.shape[:-1]} or probabilities of "
                f"shape {x.shape}, got {target.dtype} {target.shape}"
            )
        count = losses.size if reduction == "mean" else 1
        ctx.save_for_backward(probs, target)
        ctx.reduction, ctx.count = reduction, max(count, 1)  # an empty batch has an empty gradient
        if reduction == "none":
            return losses
        if count == 0:
            return np.array(np.nan, dtype=x.dtype)  # the mean of no losses, as torch gives it (numpy would warn)
        return np.add.reduce(losses, axis=None) / count

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        probs, target = ctx.saved_tensors
        grad_x = probs.copy()  # softmax, then minus the target and times g, in place
        if target.dtype.kind in "iu":
            grad_x[ctx.index] -= 1.0
        else:  # probability rows need not sum to 1: d/dx of -sum(t log softmax(x)) is softmax(x) sum(t) - t
            grad_x *= np.add.reduce(target, axis=-1, keepdims=True)
            grad_x -= target
        grad_x *= grad[..., None] if ctx.reduction == "none" else grad / ctx.count
        return grad_x


def check_labels(labels: np.ndarray, shape: tuple[int, ...], axis: int, who: str) -> None:
    """Raise ValueError naming `who` unless `labels` has one integer in [0, classes) per sample of `shape`."""
    expected = shape[:axis] + shape[axis + 1 :]
    if labels.shape != expected:
        raise ValueError(f"{who}: labels of shape {labels.shape} do not match logits of shape {shape}; "
                         f"expected {expected} (one label per sample)")
    classes = shape[axis]
    if labels.ndim == 0:  # one sample: no reductions needed
        low = high = int(labels)
    elif labels.size:
        low, high = np.minimum.reduce(labels, axis=None), np.maximum.reduce(labels, axis=None)
    else:
        low = high = 0
    if labels.size and (low < 0 or high >= classes):
        bad = labels[(labels < 0) | (labels >= classes)]
        raise ValueError(f"{who}: labels must be in [0, {classes}) for {classes} classes; "
                         f"got {sorted(set(bad.tolist()))[:5]}")


def _label_index(labels: np.ndarray) -> Any:
    """The index that picks each sample's labelled entry along the last axis."""
    if labels.ndim == 0:
        return labels  # a 0-d integer array indexes like an int
    if labels.ndim == 1:
        return np.arange(labels.shape[0]), labels  # cheaper than np.indices, the general case below
    return (*np.indices(labels.shape, sparse=True), labels)
