"""Numerical checks of backward: central differences (`gradcheck`) and full Jacobians (`jacobian`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import autograd
from .grad_mode import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Backward disagrees with finite differences; the message names the input and the worst element."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backward with central differences for every input that requires grad.

    The output is contracted with a random upstream gradient ``g`` (so a
    non-scalar output is fully covered): the check is on ``d sum(fn(*inputs) * g)``.
    Each input is perturbed in place and restored exactly afterwards; the inputs'
    ``.grad`` are not touched.

    Args:
        fn: maps the inputs to one Tensor.
        inputs: a Tensor or a sequence of Tensors (other values are passed through).
        eps: the finite-difference step.
        atol, rtol: an element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
        seed: seeds the random upstream gradient.

    Returns:
        True when every element passes.

    Raises:
        GradcheckError: naming the input index, the worst element's index, and
            the analytic and numeric values there.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; finite differences "
                "at that precision are unreliable and the check may fail for a correct op",
                stacklevel=2,
            )
    out = _call(fn, inputs, "gradcheck")
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    analytic = _gradients(out, upstream, [inputs[i] for i in checked])

    def contracted() -> float:
        with no_grad():
            return float(np.sum(_call(fn, inputs, "gradcheck").data * upstream))

    for i, grad in zip(checked, analytic):
        numeric = numeric_gradient(contracted, inputs[i].data, eps)
        excess = np.abs(grad - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (np.nanmax(excess) > 0 or np.isnan(excess).any()):
            worst = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)), excess.shape)
            where = tuple(int(k) for k in worst)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {inputs[i].shape}) is wrong at index {where}: "
                f"analytic {float(grad[worst])!r} vs numeric {float(numeric[worst])!r} "
                f"(atol={atol}, rtol={rtol}, eps={eps})"
            )
    return True


def jacobian(fn: Callable[[Tensor], Tensor], x: Any) -> np.ndarray:
    """The Jacobian ``d fn(x) / d x`` of shape ``out.shape + x.shape``, one backward pass per output element.

    For softmax of a vector ``z`` of shape (k,) this is the (k, k) matrix
    ``diag(a) - a a^T``.
    """
    source = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    if source.dtype.kind != "f":
        source = source.astype(np.float64)
    leaf = Tensor(source, requires_grad=True)
    out = _call(fn, (leaf,), "jacobian")
    result = np.zeros(out.shape + leaf.shape, dtype=out.dtype)
    if not out.requires_grad:  # fn does not depend on x
        return result
    for index in np.ndindex(*out.shape):
        seed = np.zeros_like(out.data)
        seed[index] = 1
        (result[index],) = _gradients(out, seed, [leaf])
    return result


def _call(fn: Callable[..., Tensor], inputs: tuple[Any, ...], who: str) -> Tensor:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: fn must return a Tensor, got {type(out).__name__}")
    return out


def _gradients(out: Tensor, upstream: np.ndarray, wrt: list[Tensor]) -> list[np.ndarray]:
    """d sum(out * upstream) / d t for each t in wrt (zeros where out does not depend on t); no .grad touched."""
    if not out.requires_grad:
        return [np.zeros_like(t.data) for t in wrt]
    grads = autograd.grad(out, wrt, upstream, allow_unused=True)
    return [np.zeros_like(t.data) if g is None else g for t, g in zip(wrt, grads)]


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps) - f(x - eps)) / (2 eps)``, element by element, of shape ``x.shape``.

    `f` takes no arguments and reads `x`, which is changed in place one element at a time
    and always restored (even if `f` raises). The one numeric checker `gradcheck` and the
    exercise checker use it.
    """
    numeric = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        original = x[index]
        try:
            x[index] = original + eps
            plus = f()
            x[index] = original - eps
            minus = f()
        finally:
            x[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric
