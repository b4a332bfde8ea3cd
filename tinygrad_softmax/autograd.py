"""The backward pass: reverse topological order, the chain rule, broadcasting undone, and `grad()`.

It knows the graph only through this interface of a node (a Tensor is one): ``data`` (its
gradient has this shape and dtype), ``grad`` (where `accumulate` adds it), ``_seq`` (a number
from `next_number`, larger than its inputs'), ``_requires_grad``, and ``_ctx``: None for a
leaf, else the op that made it, with ``_parents``, ``needs_input_grad``, ``saved_tensors`` and
``backward(ctx, grad)``. Nothing here imports Tensor, Function or ops.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import anomaly
from .grad_mode import state

next_number = itertools.count().__next__  # creation numbers of nodes, and stamps of in-place updates


class BackwardError(RuntimeError):
    """A backward broke the contract, or the data it saved changed; the message starts with the op's name.

    Attributes: ``op`` (short name), ``function`` (the class), ``input_index`` (or None), ``got``,
    ``expected`` and ``reason``: "count", "shape", "dtype", "read-only", "raised" or "modified".
    """

    def __init__(self, message: str, function: type, reason: str, input_index: int | None = None,
                 got: Any = None, expected: Any = None) -> None:
        super().__init__(f"{function.name}: {message}")
        self.op, self.function, self.reason = function.name, function, reason
        self.input_index, self.got, self.expected = input_index, got, expected


# ------------------------------------------------------------------ in-place updates

_updated: dict[int, tuple[int, weakref.ref]] = {}  # id(array owning memory) -> (stamp, ref) of its last update
_newest_update = -1


def _owner(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def note_inplace(array: np.ndarray) -> None:
    """Record that `array`'s memory just changed in place, so graphs that saved it refuse to run backward."""
    global _newest_update
    owner, stamp = _owner(array), next_number()
    key = id(owner)

    def forget(ref: weakref.ref, key: int = key) -> None:
        if _updated.get(key, (0, None))[1] is ref:
            del _updated[key]

    _updated[key] = (stamp, weakref.ref(owner, forget))
    _newest_update = stamp


def _check_saved(node: Any, ctx: Any) -> None:
    """Raise if an array `ctx` saved was changed in place after the op that made `node` saved it."""
    saved = ctx.saved_tensors
    for array in saved if type(saved) is tuple else ():
        owner = _owner(array) if isinstance(array, np.ndarray) else None
        stamp, ref = _updated.get(id(owner), (-1, None))
        if owner is not None and stamp > node._seq and ref() is owner:
            holders = [i for i, p in enumerate(ctx._parents) if hasattr(p, "_ctx") and _owner(p.data) is owner]
            index = holders[0] if holders else None
            holder = node if index is None else ctx._parents[index]
            who = "its output" if index is None else f"input {index}"
            raise BackwardError(f"{who} {holder.name or ''} {holder.data.shape} was changed in place (+=, -=, ... "
                                "under no_grad) after this op saved it for backward, so this graph's gradients "
                                "would be wrong; compute the forward again after the update",
                                type(ctx), "modified", index)


class _Freed:
    """The saved arrays of an op after a backward with ``retain_graph=False``: using them says so."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __iter__(self) -> Any:
        raise RuntimeError(f"{self.name}: backward through this graph a second time, but its saved arrays were "
                           "freed by an earlier backward with retain_graph=False; pass retain_graph=True then")

    __len__ = __getitem__ = __iter__


# ---------------------------------------------------------------------- the pass


def backward_pass(roots: Sequence[Any], seeds: Sequence[np.ndarray], retain_graph: bool = True,
                  observe: Any = None) -> tuple[list, list]:
    """The gradient of ``sum(root * seed)`` at each node it reaches: ``(nodes, gradients)``, in visit order.

    An op's output is numbered after its inputs, so taking the waiting node with the largest
    number (a heap) visits each after every op that uses it; when only one node waits (a
    chain) it is next without the heap. Gradients in flight stay local: nothing outside
    changes, whatever is raised.

    `observe`, when given, is called as ``observe(node, index, input, gradient)`` for each
    gradient an op's backward sends to an input (fitted to its shape), in the pass's order:
    the hook tools such as `viz.stepper` use to show the chain rule as it runs.
    """
    pending: dict[int, np.ndarray] = {}
    queue: list[tuple[int, int, Any]] = []  # (-number, id, node): ids break ties, nodes are never compared
    for root, seed in zip(roots, seeds):
        _send(pending, queue, root, seed)
    nodes, grads = [], []
    checked_after = _newest_update  # nodes older than the newest in-place update get their saved data checked
    unusual = state.anomaly or not retain_graph
    ndarray = np.ndarray
    node = None
    while node is not None or queue:
        if node is None:
            node = heappop(queue)[2]
            grad = pending.pop(id(node))
        nodes.append(node)
        grads.append(grad)
        ctx = node._ctx
        if ctx is None:
            node = None
            continue
        fn = type(ctx)
        if node._seq < checked_after:
            _check_saved(node, ctx)
        trusted = fn._trusted
        try:
            input_grads = fn.backward(ctx, grad if trusted else _read_only(grad))
        except (ValueError, TypeError, IndexError) as exc:
            raise _backward_failed(fn, exc) from exc
        parents = ctx._parents
        if type(input_grads) is not tuple:
            input_grads = tuple(input_grads) if type(input_grads) is list else (input_grads,)
        if len(input_grads) != len(parents):
            raise BackwardError(f"{fn.__name__}.backward returned {len(input_grads)} gradient(s) but the op has "
                                f"{len(parents)} input(s); return one per input (None where not needed)", fn,
                                "count", got=len(input_grads), expected=len(parents))
        if unusual:
            if state.anomaly:
                anomaly.check_backward(fn.name, input_grads, parents, getattr(ctx, "_anomaly_site", "unknown"))
            if not retain_graph and ctx.saved_tensors:
                ctx.saved_tensors = _Freed(fn.name)
        incoming, current, node = grad, node, None  # node: the next one, when it is the only one waiting
        for index in _WANTED[ctx.needs_input_grad]:
            parent_grad = input_grads[index]
            if parent_grad is None:
                continue
            parent = parents[index]
            if parent_grad is incoming:  # Add passes grad on as it is, and every node keeps its own .grad
                parent_grad = parent_grad.copy()
            data = parent.data
            if not trusted or type(parent_grad) is not ndarray or parent_grad.shape != data.shape \
                    or parent_grad.dtype != data.dtype:
                parent_grad = _fit(parent_grad, data, fn, index, trusted)
            if observe is not None:
                observe(current, index, parent, parent_grad)
            if node is None and not queue:
                node, grad = parent, parent_grad
            elif node is parent:
                grad = _sum(grad, parent_grad)
            else:
                if node is not None:
                    _send(pending, queue, node, grad)
                    node = None
                _send(pending, queue, parent, parent_grad)
    return nodes, grads


class _Indices(dict):
    """needs_input_grad -> the indices of the inputs that want a gradient, worked out once per pattern."""

    def __missing__(self, needs: tuple[bool, ...]) -> tuple[int, ...]:
        self[needs] = indices = tuple(i for i, wanted in enumerate(needs) if wanted)
        return indices


_WANTED = _Indices()


def _read_only(grad: np.ndarray) -> np.ndarray:
    """A user's backward gets grad read-only: the same array may be another node's gradient."""
    view = grad.view()
    view.flags.writeable = False
    return view


def _backward_failed(fn: type, exc: Exception) -> BackwardError:
    read_only = "read-only" in str(exc)
    hint = " (a backward must not modify grad or saved arrays in place)" if read_only else ""
    return BackwardError(f"{fn.__name__}.backward failed: {type(exc).__name__}: {exc}{hint}", fn,
                         "read-only" if read_only else "raised", got=exc)


def _sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b  # never in place: the arrays may be shared
    return total if type(total) is np.ndarray else np.asarray(total)  # 0-d sums give numpy scalars


def _send(pending: dict, queue: list, node: Any, grad: np.ndarray) -> None:
    key = id(node)
    if key in pending:
        pending[key] = _sum(pending[key], grad)
    else:
        pending[key] = grad
        heappush(queue, (-node._seq, key, node))


def _fit(grad: Any, data: np.ndarray, fn: type, index: int, trusted: bool) -> np.ndarray:
    """A backward's gradient for input `index`, checked, cast to its dtype and summed down to its shape."""
    kind = np.asarray(getattr(grad, "data", grad)).dtype
    if kind.kind not in "biuf":
        raise BackwardError(f"{fn.__name__}.backward returned a gradient of dtype {kind} for input {index}; "
                            "gradients must be real numbers", fn, "dtype", index, got=kind, expected=data.dtype)
    grad = np.array(getattr(grad, "data", grad), dtype=data.dtype, copy=None if trusted else True)  # a user's
    if grad.shape == data.shape:  # array may live on elsewhere, so it is copied
        return grad
    extra = grad.ndim - data.ndim
    if extra < 0 or any(size not in (1, got) for size, got in zip(data.shape, grad.shape[extra:])):
        raise BackwardError(f"{fn.__name__}.backward: gradient for input {index} has shape {grad.shape}, which "
                            f"cannot be summed to the input's shape {data.shape}", fn, "shape", index, grad.shape,
                            data.shape)
    stretched = tuple(extra + i for i, (size, got) in enumerate(zip(data.shape, grad.shape[extra:]))
                      if size == 1 != got)
    if stretched:
        grad = np.add.reduce(grad, axis=stretched, keepdims=True)
    return np.asarray(np.add.reduce(grad, axis=tuple(range(extra))) if extra else grad)


def accumulate(nodes: list, grads: list) -> None:
    """Add a finished pass's gradients to the nodes' ``.grad``: all of them, or none if interrupted.

    A ``.grad`` owns its memory (views are copied; the pass gives no array to two nodes). The
    adding is serialised, so passes in several threads into one shared leaf lose no update.
    """
    with _lock:
        before = [node.grad for node in nodes]
        try:
            for node, grad, old in zip(nodes, grads, before):
                node.grad = (grad if grad.base is None else grad.copy()) if old is None else _sum(old, grad)
        except BaseException:
            for node, old in zip(nodes, before):
                node.grad = old
            raise


_lock = threading.Lock()


# --------------------------------------------------------------------- public API


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool = True,
         allow_unused: bool = False) -> list[np.ndarray | None]:
    """The gradients of `outputs` with respect to each of `inputs`, as a list; no ``.grad`` is touched.

    Like ``torch.autograd.grad``: ``d sum(output * grad_output) / d input``.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad.
        grad_outputs: one upstream gradient per output (for one output, it alone); None
            means 1, for one-element outputs.
        retain_graph: keep the saved arrays, so the graph can be differentiated again.
        allow_unused: None for an input the outputs do not depend on, instead of ValueError.

    Returns:
        One array per input, of its shape and dtype, sharing memory with nothing.

    Example::

        x = Tensor([1.0, 2.0], requires_grad=True)
        (dx,) = grad((x * x).sum(), x)      # array([2., 4.])
    """
    if grad_outputs is not None and not isinstance(outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    outputs, inputs = _listed(outputs, "outputs"), _listed(inputs, "inputs")
    for index, x in enumerate(inputs):
        if not x._requires_grad:
            raise ValueError(f"grad: inputs[{index}] does not require grad, so it has no gradient")
    nodes, grads = backward_pass(outputs, seeds(outputs, grad_outputs, "grad"), retain_graph)
    found = dict(zip(map(id, nodes), grads))
    result, given = [], set()
    for index, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise ValueError(f"grad: the outputs do not depend on inputs[{index}]; pass allow_unused=True "
                             "to get None for it")
        if g is not None and (g.base is not None or id(g) in given):
            g = g.copy()
        given.add(id(g))
        result.append(g)
    return result


def _listed(items: Any, what: str) -> list:
    items = list(items) if isinstance(items, (list, tuple)) else [items]
    for index, item in enumerate(items):
        if not hasattr(item, "_ctx"):
            raise TypeError(f"grad: {what}[{index}] is a {type(item).__name__}, not a Tensor")
    return items


def seeds(outputs: Sequence[Any], grad_outputs: Sequence[Any] | None, who: str) -> list[np.ndarray]:
    """Each output's starting gradient: a given one copied and checked, else 1 for a one-element output."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{who}: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    result = []
    for out, given in zip(outputs, grad_outputs):
        data = out.data
        if not out._requires_grad:
            raise RuntimeError(f"{who}: this tensor does not require grad: no input of the ops that made it "
                               "requires grad, or it was computed under no_grad()")
        if given is None and data.size != 1:
            raise RuntimeError(f"{who}: a gradient must be given for non-scalar outputs (this tensor has shape "
                               f"{data.shape}); call backward(grad) with an array of that shape")
        if given is None:
            seed = np.empty_like(data)
            seed.fill(1)
        else:  # a copy: the caller's array must survive any backward, even a careless user op
            seed = np.array(getattr(given, "data", given), dtype=data.dtype)
            if seed.shape != data.shape:
                raise ValueError(f"{who}: grad has shape {seed.shape} but the tensor has shape {data.shape}")
        result.append(seed)
    return result
