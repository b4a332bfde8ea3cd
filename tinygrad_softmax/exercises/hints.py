"""Name the likely cause of a failure, from the numbers: the classic backward mistakes.

Each function looks at evidence the checks gathered (the analytic and numeric
gradients, a second analytic gradient taken with the upstream gradient doubled,
which cases passed) and returns hint sentences, most specific first.
"""

from __future__ import annotations

import numpy as np

from ..autograd import BackwardError
from .gradients import ATOL, RTOL, number

CHAIN = (
    "backward ignores grad: its result did not change when the upstream gradient was doubled. "
    "Multiply your local derivative by grad (chain rule: dL/dx = dL/dout * dout/dx), e.g. return grad * s * (1 - s)"
)
NONLINEAR = (
    "backward is not linear in grad (doubling grad did not double the result): use grad once, as a factor, "
    "e.g. grad * local, never grad ** 2 or grad + local"
)
GRAD_ONLY = (
    "backward returns grad unchanged: the local derivative is missing. Multiply grad by d(out)/dx, "
    "e.g. return grad * np.exp(x) for exp"
)
SIGN = "the gradient has the wrong sign everywhere: check the sign of your derivative (d/dx of -f is -f')"
ZERO = "backward returns zeros where the numeric gradient is not zero: is the right array returned?"
TRANSPOSED = "the gradient's values are the transpose of the right ones: a gradient always has its input's layout"
COLUMN_ONLY = (
    "right for column vectors (n, 1) but wrong for 1-D vectors (n,): a 1-D array has no orientation "
    "(a.T is a itself, np.dot of two 1-D arrays is a number), so a formula written for columns, like the "
    "notebook's np.dot((np.identity(n) - a.T) * a, grad), builds the wrong matrix. Use elementwise operations "
    "and reductions along an explicit axis, e.g. a * (grad - (grad * a).sum(axis=-1, keepdims=True))"
)
VECTOR_ONLY = (
    "right for a single vector but wrong for a batch of rows (b, n): a reduction runs over the wrong axis or "
    "over the whole array; reduce along the last axis and keep it, e.g. (grad * a).sum(axis=-1, keepdims=True)"
)
REDUCTION = (
    "this op reduces its input, so grad has the output's shape {out}, not the input's {inp}: put the reduced axis "
    "back before combining them (grad[..., None] or np.expand_dims(grad, -1)); otherwise numpy broadcasting pairs "
    "grad with the wrong axis"
)
MISSING_X = (
    "numeric / analytic equals the input x at every element: a factor x is missing from your derivative "
    "(e.g. 3 * x where d/dx x^3 = 3 * x**2)"
)
EXTRA_X = "analytic / numeric equals the input x at every element: your derivative has one factor x too many"
FALLBACK = (
    "no classic slip recognised (grad factor, sign, constant factor, axis, index): derive the local derivative "
    "again and evaluate it by hand at the worst element"
)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def gradient_hints(
    analytic: np.ndarray,
    numeric: np.ndarray,
    doubled: np.ndarray | None,
    upstream: np.ndarray,
    out_shape: tuple[int, ...],
    x: np.ndarray,
    batch_rows: int | None,
) -> list[str]:
    """Why `analytic` differs from `numeric` for one input.

    Args:
        analytic, numeric: the two gradients (with the same random upstream gradient).
        doubled: the analytic gradient again with the upstream gradient doubled (None if it failed).
        upstream: the upstream gradient both sides were contracted with (the output's shape).
        out_shape: the op's output shape.
        x: this input's values (its shape is the input's shape).
        batch_rows: the number of rows of a batch input, to recognise a missing ``/ n``.
    """
    hints = []
    if not np.all(np.isfinite(analytic)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(analytic))[0])
        hints.append(
            f"backward returned nan or inf (first at index {where}): a division by zero or a log/sqrt outside "
            "its domain? If the op is only defined on part of the line, set domain = (low, high) on the class"
        )
        return hints
    if doubled is not None:
        if _close(doubled, analytic) and not _close(analytic, np.zeros_like(analytic)):
            return [CHAIN]
        if not _close(doubled, 2 * analytic):
            hints.append(NONLINEAR)
    if _close(analytic, -numeric):
        return [*hints, SIGN]
    if analytic.shape == upstream.shape and _close(analytic, upstream):
        return [*hints, GRAD_ONLY]
    scale = _constant_ratio(analytic, numeric)
    if scale is not None and abs(scale) > 1e-8:
        hints.append(_scale_hint(scale, batch_rows))
        return hints
    if analytic.size > 1 and _close(numeric, analytic * x):
        return [*hints, MISSING_X]
    if analytic.size > 1 and _close(analytic, numeric * x):
        return [*hints, EXTRA_X]
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and _close(analytic, numeric.T):
        return [*hints, TRANSPOSED]
    if _close(analytic, np.zeros_like(analytic)):
        hints.append(ZERO)
    right = np.isclose(analytic, numeric, rtol=RTOL, atol=ATOL)
    if analytic.size > 1 and right.any() and not right.all():
        wrong = [tuple(int(i) for i in index) for index in np.argwhere(~right)]
        shown = ", ".join(str(w if len(w) > 1 else w[0]) for w in wrong[:6]) + (", ..." if len(wrong) > 6 else "")
        hints.append(
            f"right at {int(right.sum())} of {right.size} elements, wrong at index {shown}: a formula right for "
            "some entries only, e.g. an index typo like -y[1] / yhat[2] where -y[1] / yhat[1] was meant"
        )
    elif 1 <= len(out_shape) < x.ndim:  # a non-scalar grad of fewer dimensions: easy to mis-broadcast
        hints.append(REDUCTION.format(out=out_shape, inp=x.shape))
    return hints or [FALLBACK]


def _constant_ratio(analytic: np.ndarray, numeric: np.ndarray) -> float | None:
    """The c with analytic = c * numeric everywhere, if there is one."""
    significant = np.abs(numeric) > 1e-4
    if significant.sum() < 2 or not np.allclose(analytic[~significant], 0, atol=1e-4):
        return None
    ratios = analytic[significant] / numeric[significant]
    c = float(np.median(ratios))
    if np.allclose(ratios, c, rtol=1e-3, atol=1e-6) and not np.isclose(c, 1.0, rtol=1e-3):
        return c
    return None


def _scale_hint(c: float, batch_rows: int | None) -> str:
    text = f"the gradient is {number(c)} times the right one everywhere"
    if batch_rows and batch_rows > 1 and np.isclose(c, batch_rows, rtol=1e-3):
        return text + f": a missing division by n = {batch_rows} (the number of rows: the loss is a mean)"
    if batch_rows and batch_rows > 1 and np.isclose(c, 1 / batch_rows, rtol=1e-3):
        return text + f": an extra division by n = {batch_rows}"
    if np.isclose(abs(c), 2, rtol=1e-3) or np.isclose(abs(c), 0.5, rtol=1e-3):
        return text + ": a factor 2 too many or too few (d/dx x^2 = 2x; d/dx sqrt(x) = 1 / (2 sqrt(x)))"
    if c < 0:
        return text + ": the sign and a constant factor are both off"
    return text + ": a constant factor is wrong or missing"


def cross_case_hint(passed_kinds: set[str], failed_kinds: set[str]) -> str | None:
    """A hint from which kinds of input passed gradcheck and which failed."""
    if "vector" in failed_kinds and "column" in passed_kinds:
        return COLUMN_ONLY
    if "batch" in failed_kinds and "vector" in passed_kinds and "vector" not in failed_kinds:
        return VECTOR_ONLY
    return None


def backward_error_hint(
    error: Exception, out_shape: tuple[int, ...], in_shapes: list[tuple[int, ...]]
) -> str | None:
    """A hint for the engine's verdict on a backward (`BackwardError`'s fields), or for what backward raised."""
    if isinstance(error, BackwardError):
        if error.reason == "shape":
            given, wanted = tuple(error.got), tuple(error.expected)
            if len(given) == len(wanted) and len(given) >= 2 and given == wanted[::-1] and given != wanted:
                return "the gradient is transposed: a gradient has its input's shape (look for .T or a swapped np.dot)"
            if len(given) < len(wanted):
                return (
                    f"the gradient {given} has fewer dimensions than the input {wanted}: multiply grad by a "
                    f"local derivative of the input's shape (e.g. grad[..., None] * local), don't return it alone"
                )
            return "a gradient must have its input's shape (or a shape that broadcasts to it from the output's)"
        if error.reason == "count":
            return "return a tuple with one gradient per input of forward, in order (None for an input needing none)"
        if error.reason == "read-only":
            return "backward wrote into grad or a saved array, which the engine passes read-only; compute a new array"
        if isinstance(error.got, Exception):
            error = error.got  # what the student's backward itself raised
    if "could not be broadcast" in str(error):  # numpy's own words, from the student's arithmetic
        if len(out_shape) < max((len(s) for s in in_shapes), default=0):
            return REDUCTION.format(out=out_shape, inp=max(in_shapes, key=len))
        return "two arrays in backward have shapes that do not broadcast: check the axis of each reduction"
    return None


def _parse_shape(text: str) -> tuple[int, ...] | None:
    try:
        numbers = [int(p) for p in text.strip("()").split(",") if p.strip()]
    except ValueError:
        return None
    return tuple(numbers)


def nonfinite_forward_hint(domain_note: str) -> str:
    return (
        f"forward returned nan or inf on inputs drawn from {domain_note}. If the op is only defined on part "
        "of the line (log, sqrt), set domain = (low, high) on the class; if it overflows (exp of a large "
        "number), subtract the max first"
    )
