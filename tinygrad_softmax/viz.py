"""Draw the computation graph (DOT via the `graphviz` package). Reads the graph, never changes it.

Only the public node interface is used: ``op``, ``op_args``, ``parents``, ``name``,
``shape``, ``dtype``, ``data``, ``grad``, ``requires_grad``. Nothing in the engine
imports this module.
"""

from __future__ import annotations

from typing import Any

import graphviz
import numpy as np

from .tensor import Tensor


def graph_nodes(output: Tensor) -> list[Tensor]:
    """Every tensor `output` was computed from (itself included), inputs first.

    Iterative, so graphs of any depth are fine. The order is the same on every
    run for the same code, which makes the numbered node ids stable.
    """
    order: list[Tensor] = []
    seen: set[int] = {id(output)}
    stack: list[tuple[Tensor, int]] = [(output, 0)]
    while stack:
        node, next_parent = stack[-1]
        parents = node.parents
        if next_parent < len(parents):
            stack[-1] = (node, next_parent + 1)
            parent = parents[next_parent]
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def op_title(t: Tensor) -> str:
    """``sum(axis=1)``, ``pow(exponent=2)``, ``getitem[:, -1]``... the op with its arguments."""
    args = {k: v for k, v in t.op_args.items() if not (k == "keepdims" and v is False)}
    if t.op == "getitem" and "index" in args:
        return f"getitem[{_index_text(args['index'])}]"
    if not args:
        return str(t.op)
    return f"{t.op}(" + ", ".join(f"{k}={_short(v)}" for k, v in args.items()) + ")"


def to_dot(
    output: Tensor, *, show_values: bool = False, show_grads: bool = True, rankdir: str = "LR"
) -> graphviz.Digraph:
    """The forward graph of `output` as a `graphviz.Digraph` (``.source`` is the DOT text).

    Tensor nodes are boxes (parameters green, constants grey, the output bold);
    op nodes are ellipses. In Jupyter the returned object displays as SVG.
    """
    nodes = graph_nodes(output)
    ids = {id(t): f"t{i}" for i, t in enumerate(nodes)}
    dot = graphviz.Digraph("computation_graph", graph_attr={"rankdir": rankdir}, node_attr={"fontname": "Helvetica"})
    for t in nodes:
        tid = ids[id(t)]
        dot.node(tid, label=_tensor_label(t, show_values, show_grads), **_tensor_style(t, output))
        if t.op is not None:
            op_id = "op" + tid[1:]
            dot.node(op_id, label=op_title(t), shape="ellipse", style="filled", fillcolor="#fff3c4")
            for parent in t.parents:
                dot.edge(ids[id(parent)], op_id)
            dot.edge(op_id, tid)
    return dot


def _tensor_label(t: Tensor, show_values: bool, show_grads: bool) -> str:
    lines = [_escape(t.name) if t.name else _default_name(t), f"shape {t.shape}"]
    if t.dtype != np.float64:
        lines.append(str(t.dtype))
    if show_values:
        lines.append("value " + _summary(t.data))
    if show_grads and t.grad is not None:
        lines.append("grad " + _summary(t.grad))
    return "\\n".join(lines)  # DOT's own line break, so user text can be escaped separately


def _escape(text: str) -> str:
    """Keep user text literal in a DOT label: backslashes would otherwise start escapes like \\n."""
    return text.replace("\\", "\\\\")


def _default_name(t: Tensor) -> str:
    if t.op is not None:
        return t.op
    return "parameter" if t.requires_grad else "constant"


def _tensor_style(t: Tensor, output: Tensor) -> dict[str, str]:
    if t is output:
        return {"shape": "box", "style": "filled,bold", "fillcolor": "#f8c9c4", "penwidth": "2"}
    if t.op is None and t.requires_grad:
        return {"shape": "box", "style": "filled", "fillcolor": "#c9efc4"}
    if t.op is None:
        return {"shape": "box", "style": "filled", "fillcolor": "#e6e6e6"}
    return {"shape": "box", "style": "filled", "fillcolor": "#dbe8fb"}


def _summary(array: np.ndarray) -> str:
    if array.size <= 6:
        return np.array2string(np.asarray(array), precision=3, separator=", ").replace("\n", "")
    return f"mean {array.mean():.3g}, min {array.min():.3g}, max {array.max():.3g}"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else np.array2string(value, separator=",")
    return repr(value)


def _index_text(index: Any) -> str:
    parts = index if isinstance(index, tuple) else (index,)
    return ", ".join(_index_part(p) for p in parts)


def _index_part(part: Any) -> str:
    if isinstance(part, slice):
        start = "" if part.start is None else str(part.start)
        stop = "" if part.stop is None else str(part.stop)
        step = "" if part.step is None else f":{part.step}"
        return f"{start}:{stop}{step}"
    if part is Ellipsis:
        return "..."
    if part is None:
        return "None"
    return _short(part)
