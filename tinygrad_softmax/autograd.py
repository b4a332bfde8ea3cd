"""The backward pass: topological order, the chain rule, and broadcasting undone in one place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor `root` depends on that requires grad, inputs before the ops that use them.

    Iterative depth-first search, so a chain of 100,000 ops needs no recursion.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent._requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def run_backward(
    root: Tensor, seed: np.ndarray, capture: Iterable[Tensor] | None = None
) -> dict[int, np.ndarray] | None:
    """Apply the chain rule from `root` (whose gradient is `seed`) back to the leaves.

    With `capture` None, every tensor on the way that requires grad gets its
    gradient added to ``.grad``. With `capture` given, no ``.grad`` is touched and
    the gradients of those tensors are returned, keyed by ``id(tensor)``.

    Gradients flowing in this pass are kept in a local dict and only added to
    ``.grad`` at the end of each node's turn, so a second backward() over the same
    graph adds exactly the same amounts again.
    """
    wanted = None if capture is None else {id(t) for t in capture}
    captured: dict[int, np.ndarray] = {}
    pending: dict[int, np.ndarray] = {id(root): seed}
    for node in reversed(topological_order(root)):
        grad = pending.pop(id(node), None)
        if grad is None:  # no path from root carried a gradient here
            continue
        if wanted is None:
            _accumulate(node, grad)
        elif id(node) in wanted:
            captured[id(node)] = grad
        fn = node._fn
        if fn is None:
            continue
        parents = node._parents
        try:
            input_grads = fn.backward(node._ctx, grad)
        except ValueError as exc:
            hint = " (a backward must not modify grad or saved arrays in place)" if "read-only" in str(exc) else ""
            raise RuntimeError(f"{_fn_name(fn)}.backward failed: {exc}{hint}") from exc
        if type(input_grads) is not tuple:
            input_grads = tuple(input_grads) if type(input_grads) is list else (input_grads,)
        if len(input_grads) != len(parents):
            raise RuntimeError(
                f"{_fn_name(fn)}.backward returned {len(input_grads)} gradient(s) "
                f"but the op has {len(parents)} input(s); return one per input (None where not needed)"
            )
        for index, (parent, parent_grad) in enumerate(zip(parents, input_grads)):
            if parent_grad is None or not parent._requires_grad:
                continue
            parent_grad = _fit_to_input(parent_grad, parent, fn, index)
            key = id(parent)
            if key in pending:
                pending[key] = pending[key] + parent_grad  # never in place: arrays may be shared
            else:
                pending[key] = parent_grad
    return captured if wanted is not None else None


def _accumulate(node: Tensor, grad: np.ndarray) -> None:
    # .grad must own its memory: the flowing gradient may be a view shared with
    # another tensor's gradient (add passes the same array to both inputs).
    if node.grad is None:
        node.grad = np.array(grad, dtype=node.data.dtype, copy=True)
    else:
        node.grad += grad


def _fit_to_input(grad: object, parent: Tensor, fn: type, index: int) -> np.ndarray:
    """Check a backward's gradient and sum broadcast dimensions down to the input's shape."""
    if type(grad) is not np.ndarray:
        grad = np.asarray(getattr(grad, "data", grad))
    dtype = parent.data.dtype
    if grad.dtype != dtype:
        if grad.dtype.kind not in "biuf":
            raise RuntimeError(
                f"{_fn_name(fn)}.backward returned a gradient of dtype {grad.dtype} for input {index}"
            )
        grad = grad.astype(dtype)
    shape = parent.data.shape
    if grad.shape == shape:
        return grad
    return unbroadcast(grad, shape, f"{_fn_name(fn)}.backward", index)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...], where: str = "backward", index: int = 0) -> np.ndarray:
    """Sum `grad` over the dimensions that broadcasting added or stretched, giving `shape`.

    Raises RuntimeError naming `where`, the input `index` and both shapes when
    `grad` is not a broadcast of `shape` (e.g. a transposed gradient).
    """
    extra = grad.ndim - len(shape)
    if extra < 0 or any(
        size != 1 and size != grad_size for size, grad_size in zip(shape, grad.shape[extra:])
    ):
        raise RuntimeError(
            f"{where}: gradient for input {index} has shape {grad.shape}, "
            f"which cannot be summed to the input's shape {shape}"
        )
    stretched = tuple(
        extra + i for i, (size, grad_size) in enumerate(zip(shape, grad.shape[extra:]))
        if size == 1 and grad_size != 1
    )
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    return grad.reshape(shape)


def _fn_name(fn: type) -> str:
    return fn.__name__
