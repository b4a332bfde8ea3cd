"""`to_dot`: the graph as Graphviz DOT text, laid out to fit a slide or a notebook cell."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import graphviz
import numpy as np

from ..tensor import Tensor
from ._graph import Step, graph_nodes, graph_steps, is_constant, outermost_scope, reaching
from ._labels import VALUE_LIMIT, Names, format_values, step_labels

COLOURS = {
    "parameter": "#c9efc4",
    "constant": "#e6e6e6",
    "intermediate": "#dbe8fb",
    "output": "#f8c9c4",
    "op": "#fff3c4",
    "composite": "#fde0b5",
    "highlight": "#d62728",
    "cluster": "#9a9a9a",
}
INSTALL_HINT = (
    "install Graphviz's `dot` program (Debian/Ubuntu: apt-get install graphviz; "
    "macOS: brew install graphviz; conda: conda install -c conda-forge graphviz)"
)


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that still displays in Jupyter without the ``dot`` program (as DOT text)."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"{self.source}\n(install Graphviz to see the picture: {INSTALL_HINT})"}


def escape(text: str) -> str:
    """Keep user text literal in a DOT label.

    A backslash would otherwise start an escape like \\n, and a label written ``<...>``
    would be read as Graphviz's HTML-like markup (``nohtml`` keeps it quoted text).
    """
    return graphviz.nohtml(text.replace("\\", "\\\\"))


def tensor_label(t: Tensor, names: Names, show_values: bool, grad: np.ndarray | None) -> str:
    """The text of a tensor's box, lines joined with DOT's line break; `grad`, when given, ends it."""
    lines = [names.title(t), f"shape {t.shape}"]
    role = names.role(t)
    if role:
        lines.append(role)
    if t.dtype != np.float64:
        lines.append(str(t.dtype))
    # A constant's values are data the reader needs to follow the labels (x, y): shown when small.
    if show_values or (is_constant(t) and 1 < t.size <= VALUE_LIMIT):
        lines += _prefixed("value", format_values(t.data))
    if grad is not None:  # last, so a tool can find these lines in the picture (viz.stepper hides them)
        lines += _prefixed("grad", format_values(grad))
    return "\\n".join(escape(line) for line in lines)  # DOT's own line break, so user text is escaped apart


def _prefixed(word: str, lines: list[str]) -> list[str]:
    return [f"{word} {lines[0]}", *lines[1:]]


def _kind(t: Tensor, output: Tensor) -> str:
    if t is output:
        return "output"
    if t.op is None:
        return "parameter" if t.requires_grad else "constant"
    return "intermediate"


def to_dot(
    output: Tensor,
    *,
    show_values: bool = False,
    show_grads: bool = True,
    highlight: Sequence[Tensor] | Tensor | None = None,
    backward: bool = False,
    collapse: bool = False,
    rankdir: str = "TB",
) -> Graph:
    """The computation graph of `output` as a `graphviz.Digraph` (the `Graph` subclass).

    Args:
        output: the tensor whose history is drawn (e.g. the loss L).
        show_values: add each tensor's values (whole up to 15 elements, else mean, min
            and max). Constants of up to 15 elements always show theirs.
        show_grads: add each tensor's ``.grad`` where it has one.
        highlight: tensors (e.g. ``[W]``): they get a red border, and every edge on a path
            from them to `output` is drawn red.
        backward: draw the gradient flow instead: edges point from the output towards
            the inputs and carry what each op does to the incoming gradient g, written
            with the names of its operands.
        collapse: draw each composite (softmax, cross_entropy, the classifier's linear
            map...) as one box, hiding its internal primitives.
        rankdir: graphviz layout direction (``"TB"`` top to bottom, ``"LR"``...).

    Returns:
        A `graphviz.Digraph`; ``.source`` is the DOT text, and Jupyter shows it as SVG.
        Tensor boxes: parameters green, constants grey, the output red; op ellipses yellow,
        composite boxes orange. Without `collapse`, each composite's primitives sit in a
        dashed frame named after it. Node ids are numbered in traversal order, so the same
        code gives the same DOT text on every run.
    """
    return build_graph(output, (lambda t: t.grad) if show_grads else None, show_values=show_values,
                       highlight=highlight, backward=backward, collapse=collapse, rankdir=rankdir)


def build_graph(
    output: Tensor,
    grad_of: Callable[[Tensor], np.ndarray | None] | None,
    *,
    show_values: bool = False,
    highlight: Sequence[Tensor] | Tensor | None = None,
    backward: bool = False,
    collapse: bool = False,
    rankdir: str = "TB",
) -> Graph:
    """`to_dot`, with the gradient each box shows given by `grad_of(t)` (None: none) rather than
    read from ``.grad``: `viz.stepper` shows the totals of its own pass, whatever ``.grad`` holds."""
    nodes = graph_nodes(output)
    names = Names(output, nodes)
    targets = [highlight] if isinstance(highlight, Tensor) else list(highlight or [])
    on_path = reaching(nodes, targets) if targets else set()
    target_ids = {id(t) for t in targets}
    steps, hidden = graph_steps(nodes, collapse)
    ids = {id(t): names.short_id(t) for t in nodes}
    title = "gradient flow" if backward else "computation graph"
    dot = Graph(
        "backward" if backward else "forward",
        graph_attr={"rankdir": rankdir, "label": title, "labelloc": "t", "fontname": "Helvetica",
                    "nodesep": "0.2", "ranksep": "0.2"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    attrs_by_key: dict[str, dict[str, str]] = {}  # every box to draw, by DOT node id
    for t in nodes:
        if id(t) in hidden:
            continue
        kind = _kind(t, output)
        attrs = {"shape": "box", "style": "filled,bold" if kind == "output" else "filled", "fillcolor": COLOURS[kind],
                 "height": "0.3"}
        if id(t) in target_ids:  # only what was asked for: on the classifier every node lies on the path
            attrs.update(color=COLOURS["highlight"], penwidth="2.5")
        attrs["label"] = tensor_label(t, names, show_values, None if grad_of is None else grad_of(t))
        attrs_by_key[ids[id(t)]] = attrs
    for step in steps:
        attrs_by_key[step.key] = {
            "label": escape(step.title),
            "shape": "box" if step.composite else "ellipse",
            "style": "filled,rounded" if step.composite else "filled",
            "fillcolor": COLOURS["composite" if step.composite else "op"],
            "height": "0.3",  # a one-word op needs no half-inch ellipse: a long chain stays on a page
        }
        if not step.composite:
            attrs_by_key[step.key]["margin"] = "0.06,0.02"
    drawn: set[str] = set()

    def draw(container: Any, key: str) -> None:
        if key not in drawn:
            drawn.add(key)
            container.node(key, **attrs_by_key[key])

    if not collapse:  # each composite's primitives in a dashed frame named after it
        for number, (scope, keys) in enumerate(_frames(nodes, steps, hidden, ids)):
            with dot.subgraph(name=f"cluster_{number}") as frame:
                frame.attr(label=escape(scope.name), style="dashed,rounded", color=COLOURS["cluster"],
                           fontcolor=COLOURS["cluster"], fontsize="10")
                for key in keys:
                    draw(frame, key)
    for key in attrs_by_key:
        draw(dot, key)
    for step in steps:
        lit = bool(on_path) and any(id(o) in on_path for o in step.outputs)
        for out in step.outputs:
            _edge(dot, step.key, ids[id(out)], backward, lit, None)
        twice = {id(p) for p in step.inputs if sum(q is p for q in step.inputs) > 1}
        for parent, label in zip(step.inputs, step_labels(step, names)):
            if backward and not parent.requires_grad:  # constants receive no gradient
                dot.edge(step.key, ids[id(parent)], style="dashed", color="#9a9a9a")
                continue
            if id(parent) in twice:  # x * x: side by side edges, whose labels would run together unpadded
                label = f" {label} "
            _edge(dot, ids[id(parent)], step.key, backward, lit and id(parent) in on_path, label)
    return dot


def _frames(
    nodes: list[Tensor], steps: list[Step], hidden: set[int], ids: dict[int, str]
) -> list[tuple[Any, list[str]]]:
    """The outermost scopes of the expanded view, each with the keys of the boxes computed in it
    (its ops, their results, and the constants made inside it, such as softmax's shift)."""
    frames: dict[int, tuple[Any, list[str]]] = {}
    for step in steps:
        scope = outermost_scope(step.output)
        if scope is not None:
            frames.setdefault(id(scope), (scope, []))[1].append(step.key)
    for t in nodes:
        scope = outermost_scope(t)
        if scope is not None and id(scope) in frames and id(t) not in hidden:
            frames[id(scope)][1].append(ids[id(t)])
    return list(frames.values())


def _edge(dot: graphviz.Digraph, tail: str, head: str, backward: bool, lit: bool, label: str | None) -> None:
    """A forward edge tail -> head, or in the backward view head -> tail carrying the derivative."""
    attrs: dict[str, str] = {}
    if lit:
        attrs.update(color=COLOURS["highlight"], penwidth="2.5")
    if backward:
        if label:
            attrs["label"] = escape(label)
        dot.edge(head, tail, **attrs)
    else:
        dot.edge(tail, head, **attrs)
