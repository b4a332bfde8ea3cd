"""Name the likely cause of a failure, from the numbers: the classic mistakes, said as hints.

Each function looks at evidence the checks gathered (the analytic and expected gradients, a
second analytic gradient taken with the upstream gradient doubled, which cases passed, the
values forward gave against the exercise's) and returns hint sentences, most specific first.
Only data is read: `BackwardError`'s fields, the student's own source line, numpy's words for
a broadcasting error in the student's arithmetic; never the engine's message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd import BackwardError

# float64 comparisons of gradients: PyTorch's gradcheck step and atol, and rtol 1e-6, so that a
# gradient 1.0009 times the right one fails (rtol 1e-3 would let it through).
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-6

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
AXIS_1 = (
    "right for vectors and (b, n) batches but wrong for 3-d inputs: code written for two axes (axis=1, .T, "
    "x.ndim == 2, a loop over rows) breaks with more; reduce along axis=-1 (with keepdims=True) and use "
    "elementwise operations, so that any number of leading axes works"
)
DIAGONAL_ONLY = (
    "this is grad * a * (1 - a), the diagonal of the Jacobian only: each a_i depends on every x_j of its row, "
    "so the vector-Jacobian product is a * (grad - (grad * a).sum(axis=-1, keepdims=True))"
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
SIGMOID_OF_INPUT = (
    "this is grad * x * (1 - x): the derivative s * (1 - s) needs the output s = sigmoid(x), which forward "
    "saves, not the input x"
)
TANH_OF_INPUT = (
    "this is grad * (1 - x**2): the derivative of tanh is 1 - t**2 with t = tanh(x), the output forward saves, "
    "not the input x"
)
RELU_OUTPUT = (
    "this is grad * relu(x): the derivative of relu is the mask (x > 0), 1 or 0, not relu(x) itself; "
    "save the mask in forward and return grad * mask"
)
SQRT_PRECEDENCE = (
    "this is grad / 2 * r, which Python reads as (grad / 2) * r: / and * go left to right; write grad / (2 * r)"
)
SQRT_OF_INPUT = "this is grad / (2 x): the derivative of sqrt(x) is 1 / (2 sqrt(x)) = 1 / (2 r), with the output r"
LSE_EXP = (
    "this is grad * exp(x): the derivative of log(sum(exp(x))) is softmax(x) = exp(x - logsumexp(x)), "
    "the exponentials divided by their row's sum"
)
REUSE = (
    "right when the op is used once, wrong when it is used twice in one graph: forward keeps what backward needs "
    "where the second use overwrites it (on the class, e.g. {cls}.s = ..., or in a global). Keep it on ctx: "
    "ctx.save_for_backward(...) or ctx.name = ..., one per use"
)
SAME_AS_GRADCHECK = "the same error as in gradcheck, now inside a graph: fix that first"
FALLBACK = (
    "no classic slip recognised (grad factor, sign, constant factor, axis, index): derive the local derivative "
    "again and evaluate it by hand at the worst element"
)


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal within the gradient tolerance (and of one shape)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def number(value: float) -> str:
    """A value, short but with enough digits to compare."""
    return f"{float(value):.6g}"


def gradient_hints(
    analytic: np.ndarray,
    expected: np.ndarray,
    doubled: np.ndarray | None,
    upstream: np.ndarray,
    out_shape: tuple[int, ...],
    x: np.ndarray,
    batch_rows: int | None,
    slips: Sequence[tuple[np.ndarray, str]] = (),
) -> list[str]:
    """Why `analytic` differs from `expected` for one input.

    Args:
        analytic, expected: the two gradients (with the same random upstream gradient), shaped like x.
        doubled: the analytic gradient again with the upstream gradient doubled (None if it failed).
        upstream: the upstream gradient, the output's shape.
        out_shape: the op's output shape.
        x: this input's values.
        batch_rows: the number of rows of a batch input, to recognise a missing ``/ n``.
        slips: (the gradient a classic mistake gives here, its hint), from the exercise.
    """
    found = []
    if not np.all(np.isfinite(analytic)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(analytic))[0])
        return [
            f"backward returned nan or inf (first at index {where}): a division by zero or a log/sqrt outside "
            "its domain? If the op is only defined on part of the line, set domain = (low, high) on the class"
        ]
    if doubled is not None:
        if close(doubled, analytic) and not close(analytic, np.zeros_like(analytic)):
            return [CHAIN]
        if not close(doubled, 2 * analytic):
            found.append(NONLINEAR)
    for wrong, hint in slips:
        if close(analytic, wrong):
            return [*found, hint]
    if close(analytic, -expected):
        return [*found, SIGN]
    if analytic.shape == upstream.shape and close(analytic, upstream):
        return [*found, GRAD_ONLY]
    scale = _constant_ratio(analytic, expected)
    if scale is not None and abs(scale) > 1e-8:
        return [*found, _scale_hint(scale, batch_rows)]
    if analytic.size > 1 and close(expected, analytic * x):
        return [*found, MISSING_X]
    if analytic.size > 1 and close(analytic, expected * x):
        return [*found, EXTRA_X]
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and close(analytic, expected.T):
        return [*found, TRANSPOSED]
    if close(analytic, np.zeros_like(analytic)):
        found.append(ZERO)
    right = np.isclose(analytic, expected, rtol=RTOL, atol=ATOL)
    if analytic.size > 1 and right.any() and not right.all():
        wrong_at = [tuple(int(i) for i in index) for index in np.argwhere(~right)]
        shown = ", ".join(str(w if len(w) > 1 else w[0]) for w in wrong_at[:6]) + (", ..." if len(wrong_at) > 6 else "")
        found.append(
            f"right at {int(right.sum())} of {right.size} elements, wrong at index {shown}: a formula right for "
            "some entries only, e.g. an index typo like -y[1] / yhat[2] where -y[1] / yhat[1] was meant, or a "
            "derivative cut off outside some range (np.where(abs(x) < 2, ..., 0))"
        )
    elif 1 <= len(out_shape) < x.ndim:  # a non-scalar grad of fewer dimensions: easy to mis-broadcast
        found.append(REDUCTION.format(out=out_shape, inp=x.shape))
    return found or [FALLBACK]


def _constant_ratio(analytic: np.ndarray, expected: np.ndarray) -> float | None:
    """The c with analytic = c * expected everywhere, if there is one (and it is not 1)."""
    significant = np.abs(expected) > 1e-4
    if significant.sum() < 2 or not np.allclose(analytic[~significant], 0, atol=1e-4):
        return None
    ratios = analytic[significant] / expected[significant]
    c = float(np.median(ratios))
    if np.allclose(ratios, c, rtol=1e-4, atol=1e-7) and not np.isclose(c, 1.0, rtol=1e-7, atol=0):
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
    if abs(c - 1) < 0.01:
        return text + ": a constant slightly off (a rounded number in the formula?)"
    return text + ": a constant factor is wrong or missing"


def cross_case_hint(passed_kinds: set[str], failed_kinds: set[str]) -> str | None:
    """A hint from which kinds of input passed gradcheck and which failed."""
    if "vector" in failed_kinds and "column" in passed_kinds:
        return COLUMN_ONLY
    if "batch" in failed_kinds and "vector" in passed_kinds and "vector" not in failed_kinds:
        return VECTOR_ONLY
    if "3-d" in failed_kinds and "batch" in passed_kinds and "batch" not in failed_kinds:
        return AXIS_1
    return None


def backward_error_hint(
    error: Exception, out_shape: tuple[int, ...], in_shapes: list[tuple[int, ...]], saved: int | None
) -> str | None:
    """A hint for the engine's verdict on a backward (`BackwardError`'s fields), or for what backward raised.

    Args:
        saved: how many arrays forward saved with ctx.save_for_backward (None: unknown).
    """
    if isinstance(error, BackwardError):
        if error.reason == "shape":
            given, wanted = tuple(error.got or ()), tuple(error.expected or ())
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
        if error.got is not None:
            error = error.got  # what the student's backward itself raised
    text = getattr(error, "text", "")
    message = getattr(error, "message", str(error))
    if saved == 0 and "saved_tensors" in text:
        return (
            "forward never called ctx.save_for_backward(...), so ctx.saved_tensors is empty and cannot be unpacked: "
            "save in forward what backward needs, e.g. ctx.save_for_backward(s) before return s"
        )
    if getattr(error, "type_name", "") == "AttributeError" and "ctx." in text:
        return "backward reads an attribute of ctx that forward never set: set it in forward (ctx.n = ...)"
    if "could not be broadcast" in message:  # numpy's own words, from the student's arithmetic
        if len(out_shape) < max((len(s) for s in in_shapes), default=0):
            return REDUCTION.format(out=out_shape, inp=max(in_shapes, key=len))
        return (
            "two arrays in backward have shapes that do not broadcast: check the axis of each reduction, and keep "
            "the reduced axis (keepdims=True) so that rows line up"
        )
    return None


def nonfinite_forward_hint(domain_note: str) -> str:
    return (
        f"forward returned nan or inf on inputs drawn from {domain_note}. If the op is only defined on part "
        "of the line (log, sqrt), set domain = (low, high) on the class; if it overflows (exp of a large "
        "number), subtract the max first"
    )


# ------------------------------------------------------------------ forward values against an exercise


def softmax_rows_hint(got: np.ndarray) -> str | None:
    """A softmax output whose rows do not sum to 1: what it normalised instead (the notebook's mistake #1)."""
    if got.ndim < 2 or not np.all(np.isfinite(got)):
        return None
    rows = got.sum(axis=-1)
    if np.allclose(rows, 1):
        return None
    what = "each row of a softmax along the last axis sums to 1; yours sum to " + ", ".join(
        number(v) for v in rows.ravel()[:4]
    ) + (", ..." if rows.size > 4 else "")
    if np.isclose(got.sum(), 1):
        what += (": your forward normalises the whole array at once (np.sum(e) without an axis: the notebook's "
                 "mistake #1)")
    elif np.allclose(got.sum(axis=0), 1):
        what += ": your forward normalises each column (axis=0), not each row"
    return what + ". Divide by np.sum(e, axis=-1, keepdims=True), and take the max the same way"


def loss_ratio_hint(compared: Sequence[tuple[tuple[int, ...], float]]) -> str | None:
    """Mean-loss slips named by the ratio of the student's loss to the exercise's, case by case.

    Args:
        compared: (the logits' shape, the student's loss / the exercise's) for every compared case.
    """
    usable = [(shape, r) for shape, r in compared if len(shape) >= 1 and np.isfinite(r)]
    if not usable or all(np.isclose(r, 1) for _, r in usable):
        return None

    def fits(divisor: Any) -> bool:  # the student divided the summed loss by divisor(shape) instead of by the rows
        return all(np.isclose(r, _rows(s) / divisor(s), rtol=1e-6) for s, r in usable)

    wrong = [(s, r) for s, r in usable if not np.isclose(r, 1)]
    shape, ratio = max(wrong, key=lambda item: len(item[0]))  # a batch says more than a 1-D z
    rows = _rows(shape)
    said = f"your loss is {number(ratio)} times the exercise's on z {shape}"
    if fits(lambda s: 1):
        return f"{said}: a sum over the {rows} rows where the exercise asks for their mean; divide by n = {rows}"
    if fits(lambda s: s[0]):
        return (f"{said}: n = len(z) = {shape[0]} counts only the first axis (the classes, for a 1-D z); the mean "
                f"is over the rows, n = z.size // z.shape[-1] = {rows}")
    if fits(lambda s: int(np.prod(s))):
        return (f"{said}: a mean over all {int(np.prod(shape))} elements; sum over the classes, then divide by the "
                f"number of rows, n = z.size // z.shape[-1] = {rows}")
    return None


def _rows(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str | None:
    """The same values in another shape: a kept axis, most often."""
    if got == (*want, 1):
        return "the reduced axis is kept (keepdims=True): the exercise's output drops it; np.squeeze(out, axis=-1)"
    if int(np.prod(got)) == int(np.prod(want)):
        return f"the right number of values in another shape: reshape to {want}"
    return None


def overflow_hint(got: np.ndarray, reduces: bool) -> str | None:
    """On logits like ``[[1000, 0, -1000], [-1000, -1000, -1000]]``: which row went non-finite tells why."""
    bad = ~np.isfinite(got)
    if not bad.any():
        return None  # finite: whatever is wrong, it is not the max shift
    if got.ndim == 0:
        return ("compute the log-probabilities directly, (z - m) - log(sum(exp(z - m))) with m each row's max: "
                "np.log(softmax(z)) gives log(0) = -inf for a probability that underflows, and 0 * -inf = nan")
    rows = bad.reshape(2, -1).any(axis=1) if not reduces else bad.reshape(2)
    if rows[0]:
        return ("exp(1000) overflows: subtract each row's max before exp, x - np.max(x, axis=-1, keepdims=True)"
                + ("; logsumexp = m + log(sum(exp(x - m)))" if reduces else ""))
    return ("the row of -1000s goes wrong: subtract each row's own max (np.max(x, axis=-1, keepdims=True)), not the "
            "whole array's, or every exp in that row underflows to 0")
