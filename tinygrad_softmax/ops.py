"""Every primitive op: forward and backward side by side, on plain numpy arrays.

Each op is a `Function` written with the same public API a student uses. Backward
may return a gradient in the output's broadcast shape: the engine sums it down to
the input's shape, so no op here repeats unbroadcast code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

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


# ------------------------------------------------------------------ linear algebra


class MatMul(Function):
    """a @ b with numpy's rules (1-D, 2-D, batched); a receives g @ b^T, b receives a^T @ g."""

    label = "g @ B^T and A^T @ g"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape}: scalars cannot be matrix-multiplied (use *)"
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
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        # Treat a 1-D operand as a matrix with one row (a) or one column (b), as numpy
        # does, and restore the removed axis of the gradient to match.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2 if b.ndim > 1 else -1)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


# ---------------------------------------------------------------------- reductions


def _expand_reduced(grad: np.ndarray, ctx: Context) -> np.ndarray:
    """Put back the axes a reduction removed, so grad broadcasts against its input."""
    if ctx.axis is not None and not ctx.keepdims:
        grad = np.expand_dims(grad, ctx.axis)
    return grad


def _axis_arg(axis: Any, ndim: int) -> tuple[int, ...] | None:
    return None if axis is None else normalize_axis_tuple(axis, ndim)


class Sum(Function):
    """x.sum(axis, keepdims); x receives g broadcast back over the summed axes."""

    label = "broadcast g"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        return np.sum(x, axis=ctx.axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_expand_reduced(grad, ctx), ctx.shape)


class Mean(Function):
    """x.mean(axis, keepdims); x receives g / n broadcast back, n the number averaged."""

    label = "broadcast g / n"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        ctx.shape = x.shape
        out = np.mean(x, axis=ctx.axis, keepdims=keepdims)
        ctx.count = x.size // max(np.size(out), 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_expand_reduced(grad / ctx.count, ctx), ctx.shape)


class Max(Function):
    """x.max(axis, keepdims); g goes to the maxima, shared evenly between ties."""

    label = "g to the max (ties share)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        if x.size == 0:
            raise ValueError(f"max: cannot take the max of an empty tensor of shape {x.shape}")
        ctx.axis = _axis_arg(axis, x.ndim)
        ctx.keepdims = keepdims
        out = np.max(x, axis=ctx.axis, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        is_max = x == _expand_reduced(out, ctx)
        ties = np.sum(is_max, axis=ctx.axis, keepdims=True, dtype=grad.dtype)
        return is_max * (_expand_reduced(grad, ctx) / ties)


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
    parts = index if type(index) is tuple else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class Clip(Function):
    """x clipped to [low, high]; x receives g where it was inside the range, 0 where clipped."""

    label = "g where low < x < high"

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
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad * inside


# ------------------------------------------------------------------- fused loss


class SoftmaxCrossEntropy(Function):
    """Mean (or sum, or per-sample) of -log softmax(x)[target] over the last axis, in one op.

    x receives (softmax(x) - onehot(target)) / n: the closed form the composite
    `functional.cross_entropy` derives through exp, sum, div, log and getitem.
    """

    label = "g * (a - y) / n"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, target: Any, reduction: str = "mean") -> np.ndarray:
        if x.ndim == 0:
            raise ValueError("softmaxcrossentropy: logits must have a class axis, got a 0-d array")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"softmaxcrossentropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        target = np.asarray(target)
        shifted = x - np.max(x, axis=-1, keepdims=True)
        log_norm = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        log_probs = shifted - log_norm
        if target.dtype.kind in "iu":
            if target.shape != x.shape[:-1] or np.any((target < 0) | (target >= x.shape[-1])):
                raise ValueError(
                    f"softmaxcrossentropy: labels of shape {target.shape} must have shape {x.shape[:-1]} "
                    f"and lie in [0, {x.shape[-1]})"
                )
            y = np.zeros_like(x)
            np.put_along_axis(y, target[..., None], 1.0, axis=-1)
        elif target.shape == x.shape:
            y = target.astype(x.dtype, copy=False)
        else:
            raise ValueError(
                f"softmaxcrossentropy: target must be labels of shape {x.shape[:-1]} or probabilities of "
                f"shape {x.shape}, got {target.dtype} {target.shape}"
            )
        losses = -np.sum(np.where(y != 0, y * log_probs, 0.0), axis=-1)
        count = losses.size if reduction == "mean" else 1
        ctx.save_for_backward(log_probs, y)
        ctx.reduction, ctx.count = reduction, count
        if reduction == "none":
            return losses
        return np.sum(losses) / count

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        log_probs, y = ctx.saved_tensors
        scale = grad[..., None] if ctx.reduction == "none" else grad / ctx.count
        return (np.exp(log_probs) - y) * scale
