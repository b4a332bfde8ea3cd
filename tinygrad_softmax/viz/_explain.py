"""`explain`: the chain rule from a loss back to a parameter, in words and numbers."""

from __future__ import annotations

import itertools
import re
import textwrap

import numpy as np

from .. import autograd
from ..tensor import Tensor
from ._graph import graph_nodes, graph_steps, reaching
from ._labels import Names, format_values, step_labels

LAYOUT = (
    "Layout: dA/dB has one row per element of A and one column per element of B (arrays flattened "
    "row by row), so the factors multiply from left to right as written."
)
_MENTIONS_G = re.compile(r"(?<![\w.])g(?![\w(])")


def explain(output: Tensor, wrt: Tensor, *, collapse: bool = False, format: str = "text") -> str:
    """The chain rule from `output` back to `wrt`, in words and numbers.

    One paragraph per step on the paths from `output` to `wrt`, output first: the op
    (or, with `collapse`, the composite such as softmax) with its operands and shapes,
    what its backward does to the incoming gradient g (written with the operands'
    names), the local Jacobian of small composites, and the gradient flowing out of it.
    Then the product of the factors, in an order that multiplies, with each factor's
    shape (for the classifier ``dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15)``),
    and the final gradient, compared with ``wrt.grad`` when backward has run. The
    gradients are computed here with a separate backward pass; no ``.grad`` is changed.
    Tensors are named as the pictures name them (`Names`).

    Args:
        output: a one-element tensor, typically a loss.
        wrt: a tensor that `output` depends on, typically a parameter.
        collapse: speak in composites (softmax's Jacobian ``diag(a) - a a^T``...).
        format: ``"text"``, or ``"markdown"`` with LaTeX for notebooks.
    """
    if format not in ("text", "markdown"):
        raise ValueError(f"explain: format must be 'text' or 'markdown', got {format!r}")
    if output.size != 1:
        raise ValueError(f"explain: the output must have one element (a loss), got shape {output.shape}")
    nodes = graph_nodes(output)
    on_path = reaching(nodes, [wrt])
    if id(output) not in on_path or not wrt.requires_grad:
        raise ValueError("explain: the output does not depend on `wrt` through ops that record gradients")
    names = Names(output, nodes)
    steps, _ = graph_steps(nodes, collapse)
    steps = [s for s in reversed(steps) if any(id(o) in on_path for o in s.outputs)]
    needing = [n for n in nodes if n.requires_grad]
    flowing = {id(n): g for n, g in zip(needing, autograd.grad(output, needing, allow_unused=True)) if g is not None}
    md = format == "markdown"
    L, W = names[output], names[wrt]
    lines = [_heading(f"How d{L}/d{W} is computed, step by step", md)]
    lines.append(_detail(f"g is the gradient of {L} with respect to a step's output; each step passes it on to its "
                         "inputs.", md))
    edges: dict[int, list[Tensor]] = {}  # tensor -> the inputs it was computed from, on the way to wrt
    shown: set[int] = set()
    for number, step in enumerate(steps, start=1):
        outs = [o for o in step.outputs if id(o) in on_path]
        out_names = ", ".join(names[o] for o in outs)
        kind = "composite" if step.composite else "op"
        lines.append(
            _item(f"{number}. {out_names} = {step.title}({', '.join(names[p] for p in step.inputs)})  [{kind}; "
                  + ", ".join(f"{names[p]}{p.shape}" for p in step.inputs)
                  + " -> " + ", ".join(f"{names[o]}{o.shape}" for o in outs) + "]", md)
        )
        for out in outs:  # one edge per distinct input: x * x has one factor d(x*x)/dx, not two
            known = edges.setdefault(id(out), [])
            known.extend(p for p in step.inputs if id(p) in on_path and all(p is not q for q in known))
        g = f"d{L}/d{out_names}" + (" = 1" if output in outs else "")
        for parent, label in zip(step.inputs, step_labels(step, names)):
            if id(parent) not in on_path:
                continue
            p = names[parent]
            if _MENTIONS_G.search(label):
                lines.append(_detail(f"backward to {p}: {label}, where g = {g}", md))
            else:  # a user's composite label that gives the local derivative itself
                lines.append(_detail(f"local derivative d{out_names}/d{p}: {label}", md))
            jac = _local_jacobian(outs, parent) if step.composite and output not in outs else None
            if jac is not None:
                lines.append(_matrix(f"d{out_names}/d{p} ({outs[0].size}x{parent.size})", jac, md))
            grad = flowing.get(id(parent))
            if grad is not None and parent is not wrt and id(parent) not in shown:  # a total, shown once
                shown.add(id(parent))
                lines.append(_matrix(f"d{L}/d{p}", grad, md))
    final = flowing.get(id(wrt), np.zeros_like(wrt.data))
    lines.append(_heading("The chain rule", md))
    lines.append(_detail(LAYOUT if md else textwrap.fill(LAYOUT, 96, subsequent_indent="    "), md))
    lines.append(_detail(chain_rule_text(output, wrt, edges, names), md))
    lines.append(_matrix(f"d{L}/d{W}", final, md))
    if wrt.grad is not None:
        difference = float(np.max(np.abs(wrt.grad - final))) if wrt.grad.shape == final.shape else float("nan")
        lines.append(_detail(f"{W}.grad from backward() differs by at most {difference:.2e}", md))
    return "\n".join(lines) + "\n"


def _factor(top: Tensor, bottom: Tensor, names: Names) -> str:
    return f"d{names[top]}/d{names[bottom]} ({top.size}x{bottom.size})"


def chain_rule_text(
    output: Tensor, wrt: Tensor, edges: dict[int, list[Tensor]], names: Names, limit: int = 6
) -> str:
    """``dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15), ...``: the factors in the order
    that multiplies; a sum of such products when paths split and join.

    `edges` maps each tensor on the way (by id) to the inputs it was computed from.
    """
    # Count the paths without walking them: reused nodes make their number exponential
    # (22 chained diamonds: 4 million). Every edge here leads on to wrt, so the search for
    # the first few paths to print never meets a dead end.
    counts: dict[int, int] = {id(wrt): 1}
    for node in graph_nodes(output):  # inputs first: a node's inputs are counted before it
        if id(node) in edges:
            counts[id(node)] = sum(counts.get(id(p), 0) for p in edges[id(node)])
    total = counts.get(id(output), 0)
    paths: list[list[Tensor]] = []
    stack: list[list[Tensor]] = [[output]]
    while stack and len(paths) < limit:
        path = stack.pop()
        if path[-1] is wrt:
            paths.append(path)
            continue
        stack.extend([*path, parent] for parent in reversed(edges.get(id(path[-1]), [])))
    products = [" @ ".join(_factor(top, bottom, names) for top, bottom in itertools.pairwise(p)) for p in paths]
    head = _factor(output, wrt, names)
    shape = f", reshaped to {names[wrt]}'s shape {wrt.shape}" if wrt.ndim > 1 else ""
    if total == 1:
        return f"{head} = {products[0]}{shape}"
    more = f" + ... ({total - limit} more paths)" if total > limit else ""
    return (f"{head} = sum over the {total} paths from {names[output]} to {names[wrt]}: "
            + " + ".join(f"({p})" for p in products) + more + shape)


def _local_jacobian(outputs: list[Tensor], parent: Tensor, limit: int = 64) -> np.ndarray | None:
    """The Jacobian of a composite's single output with respect to one input, for small shapes,
    as a matrix of out.size rows and parent.size columns (a vector when both are vectors of one element)."""
    if len(outputs) != 1 or outputs[0].size * parent.size > limit or not outputs[0].requires_grad:
        return None
    out = outputs[0]
    jac = np.zeros(out.shape + parent.shape)
    for index in np.ndindex(*out.shape):
        seed = np.zeros_like(out.data)
        seed[index] = 1
        (flowing,) = autograd.grad(out, [parent], seed, allow_unused=True) if parent.requires_grad else (None,)
        if flowing is not None:
            jac[index] = flowing
    return jac.reshape(out.size, parent.size)


def _latex_derivative(name: str) -> str:
    """``dL/dW (3x15)`` -> ``\\frac{\\partial L}{\\partial W}`` and the shape as a subscript."""
    name, _, shape = name.partition(" (")
    top, _, bottom = name.partition("/")
    if not (top.startswith("d") and bottom.startswith("d")):
        return name
    fraction = f"\\frac{{\\partial {top[1:]}}}{{\\partial {bottom[1:]}}}"
    return fraction + (f"_{{{shape.rstrip(')')}}}" if shape else "")


def _heading(text: str, md: bool) -> str:
    return f"\n### {text}\n" if md else f"\n{text}\n" + "-" * len(text)


def _item(text: str, md: bool) -> str:
    return f"\n**{text}**\n" if md else f"\n{text}"


def _detail(text: str, md: bool) -> str:
    return f"- {text}" if md else f"    {text}"


def _matrix(name: str, array: np.ndarray, md: bool) -> str:
    array = np.asarray(array, dtype=float) + 0.0  # +0.0 drops the sign of zero: no "-0."
    if md:
        if array.ndim <= 2 and array.size <= 64:
            rows = np.atleast_2d(array) if array.ndim else array.reshape(1, 1)
            if array.ndim == 1:
                rows = rows.T
            body = r" \\ ".join(" & ".join(f"{v + 0.0:.4g}" for v in np.round(row, 4)) for row in rows)
            return f"$${_latex_derivative(name)} = \\begin{{bmatrix}} {body} \\end{{bmatrix}}$$"
        return f"- {name}: {' '.join(format_values(array))}"
    array = np.round(array, 4) + 0.0
    text = np.array2string(array, precision=4, suppress_small=True, max_line_width=100)
    indent = " " * 8
    return f"    {name} =\n" + "\n".join(indent + line for line in text.splitlines())
