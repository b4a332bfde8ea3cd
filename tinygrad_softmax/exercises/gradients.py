"""Gradients two ways: the op's own backward (through the engine) and float64 central differences.

The analytic gradient is taken with the engine's public `grad()`,
so the engine's own checks apply (one gradient per input, a broadcast gradient
summed to the input's shape, a clear RuntimeError otherwise) and no ``.grad`` is
touched. Both sides contract the output with the same random upstream gradient,
so a non-scalar output is covered completely by one backward pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import grad
from ..function import Context
from ..tensor import Tensor
from .sampling import OpSpec

# PyTorch's gradcheck defaults, as in tinygrad_softmax.gradcheck.
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3


class MissingGradientError(Exception):
    """backward returned None for an input that needs a gradient."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def call_forward(spec: OpSpec, arrays: Sequence[np.ndarray]) -> tuple[Context, Any]:
    """Run ``forward`` directly on `arrays` (not copied: the caller passes copies), as the engine would."""
    ctx = Context(spec.needs_input_grad, {})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # overflow and the like show up as nan/inf, which is checked
        out = spec.cls.forward(ctx, *arrays)
    return ctx, out


def contracted(spec: OpSpec, arrays: Sequence[np.ndarray], upstream: np.ndarray) -> float:
    """``sum(forward(*arrays) * upstream)``: the scalar whose gradient backward computes."""
    _, out = call_forward(spec, [a.copy() for a in arrays])
    return float(np.sum(np.asarray(out, dtype=np.float64) * upstream))


def analytic(spec: OpSpec, arrays: Sequence[np.ndarray], upstream: np.ndarray) -> list[np.ndarray]:
    """``d sum(op(*arrays) * upstream) / d input`` for each real input, by the op's backward.

    Raises:
        RuntimeError: from the engine, when backward's gradients cannot be used (count, shape, dtype).
        MissingGradientError: backward returned None for a real input.
        Exception: whatever backward itself raised.
    """
    tensors = [Tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, spec.inputs)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = spec.cls.apply(*tensors)
        # A copy: a backward that writes into grad must not change what the numbers are compared with.
        if not out.requires_grad:  # e.g. forward returned integers: nothing was recorded
            raise MissingGradientError(spec.real[0])
        found = grad(out, [tensors[i] for i in spec.real], upstream, allow_unused=True)
    for i, g in zip(spec.real, found):
        if g is None:
            raise MissingGradientError(i)
    return [np.asarray(g, dtype=np.float64) for g in found]


def numeric(spec: OpSpec, arrays: Sequence[np.ndarray], upstream: np.ndarray, index: int) -> np.ndarray:
    """Central differences of `contracted` with respect to input `index`, element by element."""
    x = arrays[index]
    result = np.zeros(x.shape)
    for position in np.ndindex(*x.shape):
        shifted = [a.copy() for a in arrays]
        shifted[index][position] = x[position] + EPS
        plus = contracted(spec, shifted, upstream)
        shifted[index][position] = x[position] - EPS
        minus = contracted(spec, shifted, upstream)
        result[position] = (plus - minus) / (2 * EPS)
    return result


@dataclass(frozen=True)
class Comparison:
    """Analytic vs numeric gradient of one input.

    Attributes:
        ok: every element within ``ATOL + RTOL * |numeric|`` (and no nan).
        worst: the index of the element furthest outside the tolerance (or of the largest error).
        max_error: the largest ``|analytic - numeric|``.
    """

    analytic: np.ndarray
    numeric: np.ndarray
    ok: bool
    worst: tuple[int, ...]
    max_error: float


def compare(analytic_grad: np.ndarray, numeric_grad: np.ndarray) -> Comparison:
    with np.errstate(all="ignore"):
        error = np.abs(analytic_grad - numeric_grad)
        excess = error - (ATOL + RTOL * np.abs(numeric_grad))
    bad = ~np.isfinite(excess)
    ok = not bad.any() and (excess.size == 0 or float(np.max(excess)) <= 0)
    worst: tuple[int, ...] = ()
    if excess.size:
        ranking = np.where(bad, np.inf, excess)
        worst = tuple(int(k) for k in np.unravel_index(int(np.argmax(ranking)), excess.shape))
    max_error = float(np.nanmax(error)) if error.size and not np.isnan(error).all() else 0.0
    return Comparison(analytic_grad, numeric_grad, ok, worst, max_error)


def number(value: float) -> str:
    """A gradient value, short but with enough digits to compare."""
    return f"{float(value):.6g}"
