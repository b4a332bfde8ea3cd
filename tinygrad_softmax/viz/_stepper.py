"""`stepper`: the backward pass as a sequence of steps, in one self-contained HTML page.

Every number on the page comes from one run of the engine's own pass
(`autograd.backward_pass` with its ``observe`` hook): the total gradient of each node it
visits, and each gradient an op's backward sends to an input. Nothing is recomputed here,
apart from the closed form that the last step compares with, which is the point of it.
With ``collapse=True`` the steps are the picture's boxes (L -> a -> z -> W for the
notebook's classifier): what the primitives inside a composite send across its boundary
is summed, contribution by contribution, from the hook.
"""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import autograd
from .._files import atomic_write
from ..tensor import Tensor
from ._dot import INSTALL_HINT, build_graph
from ._explain import chain_rule_text
from ._graph import Step, graph_nodes, graph_steps, is_constant, reaching
from ._labels import Names, format_values, step_labels
from ._render import run_dot
from ._stepper_page import PAGE_SCRIPT, PAGE_STYLE

SVG_NS = "http://www.w3.org/2000/svg"
DATA_LIMIT = 2000  # arrays up to this many elements carry their exact values in the page (for tools and tests)
# The notebook's linear map (nn.SoftmaxClassifier): z = W[:, :-1] @ x + W[:, -1], the bias in W's last column.
_NOTEBOOK_LINEAR = ("linear", "dz_i/dW_ij = x_j, so dL/dW = dL/dz x^T")


@dataclass
class _Sent:
    """What one drawn box sent to one of its inputs during a step: the label and the summed gradient."""

    step: Step
    position: int  # which input edge of the box (x * x has two to x)
    to: Tensor
    label: str
    value: np.ndarray | None = None  # None: nothing arrived (a constant, or an input the pass skipped)


@dataclass
class _Moment:
    """One step of the page: the engine visits `node`, whose total gradient is `grad`."""

    node: Tensor
    grad: np.ndarray
    owner: Step | None  # the drawn box that computed `node` (None for a leaf)
    arriving: list[tuple[Step | None, str, np.ndarray]] = field(default_factory=list)  # (from, label, value)
    sent: list[_Sent] = field(default_factory=list)
    inside: list[Tensor] = field(default_factory=list)  # hidden primitives the engine visited in this step


class Stepper:
    """The page `stepper` made: ``html`` is the whole file, and in Jupyter it shows inline.

    Attributes:
        html: the self-contained page (inline SVG, CSS and script; no network access).
        nodes: the tensors the steps visit, in the engine's order (the boxes of the picture).
        grads: the total gradient of the output with respect to each of them, from the engine.
        has_picture: False when Graphviz's ``dot`` was missing: the page then shows the steps as text.
        path: the file written, or None.
    """

    def __init__(self, page: str, nodes: list[Tensor], grads: list[np.ndarray], has_picture: bool,
                 title: str) -> None:
        self.html, self.nodes, self.grads, self.has_picture, self._title = page, nodes, grads, has_picture, title
        self.path: Path | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to `path` (whole or not at all) and return the path."""
        data = self.html.encode()
        self.path = atomic_write(Path(path), lambda file: file.write(data))
        return self.path

    def _repr_html_(self) -> str:
        # An iframe keeps the page's ids, style and keys to itself, so several steppers in one notebook
        # never interfere; srcdoc needs no file and no server, so a plain executed notebook shows it.
        return (f'<iframe class="tinygrad-stepper" title="{html.escape(self._title)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: 660px; border: 1px solid #ccc" srcdoc="{html.escape(self.html)}">'
                "</iframe>")

    def __repr__(self) -> str:
        where = f", written to {self.path}" if self.path else ""
        return f"<Stepper: {self._title}, {len(self.nodes)} steps{where}>"


def stepper(
    loss: Tensor,
    wrt: Tensor | None = None,
    collapse: bool = False,
    path: str | os.PathLike[str] | None = None,
    *,
    closed_form: tuple[str, Any] | None = None,
    draw: bool = True,
) -> Stepper:
    """The backward pass of `loss`, step by step, as one HTML page (a `Stepper`).

    Step k highlights the node the engine visits k-th, shows the gradient arriving there
    (each contribution and their total), the local derivative each input receives (the
    picture's edge label, in the operands' names) and the value sent; nodes already visited
    show their gradient. The last step shows the gradient with respect to `wrt` and, for the
    notebook's classifier or when `closed_form` is given, the closed form beside it. Next /
    Previous buttons, the arrow keys and a slider move between steps. No ``.grad`` is read
    or changed: the numbers come from one run of `autograd.backward_pass`.

    Args:
        loss: a one-element tensor that requires grad.
        wrt: the tensor whose gradient the last step is about; default: the notebook
            classifier's W, or else the only parameter, or else the last one visited.
        collapse: step over composites (softmax...) as the collapsed picture draws them.
        path: also write the page there.
        closed_form: ``(text, value)``, a formula for d loss / d wrt and its value, shown
            next to the engine's on the last step.
        draw: False: do not run Graphviz's ``dot`` (the steps as text only).

    Returns:
        A `Stepper`: ``.html`` is the page; in Jupyter it displays inline. Without Graphviz's
        ``dot`` the page says how to install it and still shows every step as text.

    Raises:
        GraphvizError: ``dot`` is there but fails or times out (``draw=False`` avoids it).
    """
    nodes_all = graph_nodes(loss)
    names = Names(loss, nodes_all)
    events: list[tuple[Tensor, int, Tensor, np.ndarray]] = []
    visited, totals = autograd.backward_pass(
        [loss], autograd.seeds([loss], None, "stepper"), observe=lambda *event: events.append(event)
    )
    total_of = {id(n): g for n, g in zip(visited, totals)}
    steps, hidden = graph_steps(nodes_all, collapse)
    moments = _moments(loss, visited, totals, events, steps, hidden, names)
    wrt = _choose_wrt(loss, wrt, moments, nodes_all, total_of)
    if closed_form is None:
        closed_form = notebook_closed_form(loss, wrt, nodes_all, names)
    title = f"The backward pass of {names[loss]}, step by step" + (" (composites collapsed)" if collapse else "")
    svg = _picture(loss, total_of, collapse, names) if draw else None
    page = _page(title, loss, wrt, moments, names, svg, _chain_rule(loss, wrt, nodes_all, collapse, names),
                 total_of[id(wrt)], closed_form)
    result = Stepper(page, [m.node for m in moments], [m.grad for m in moments], svg is not None, title)
    if path is not None:
        result.save(path)
    return result


# ------------------------------------------------------------------------------ the steps


def _moments(loss: Tensor, visited: list[Tensor], totals: list[np.ndarray], events: list, steps: list[Step],
             hidden: set[int], names: Names) -> list[_Moment]:
    """The page's steps: one per drawn tensor the engine visits, in its order, each owning what
    the engine did until the next drawn tensor's visit (a collapsed composite's inner ops)."""
    owner: dict[int, Step] = {}  # every computed tensor -> the drawn box whose backward it runs
    for step in steps:
        for t in [*step.members, *step.outputs]:
            owner[id(t)] = step
    sent_by: dict[int, list] = {}  # sending node -> its events, in the pass's order
    for event in events:
        sent_by.setdefault(id(event[0]), []).append(event)
    moments: list[_Moment] = []
    arrived: dict[int, list[tuple[Step | None, Tensor, int, np.ndarray]]] = {}  # tensor -> (box, node, index, g)
    for node, grad in zip(visited, totals):
        if id(node) not in hidden:
            moments.append(_Moment(node, grad, owner.get(id(node))))
        elif moments:
            moments[-1].inside.append(node)
        for sender, index, to, value in sent_by.get(id(node), ()):
            arrived.setdefault(id(to), []).append((owner.get(id(sender)), sender, index, value))
            if id(to) not in hidden:
                _add_sent(moments[-1], owner[id(sender)], sender, index, to, value, names)
    for moment in moments:
        if moment.node is loss:
            moment.arriving.append((None, "the seed", moment.grad))
        moment.arriving += _grouped(arrived.get(id(moment.node), []), moment.node, names)
        _add_constants(moment, names)
    return moments


def _input_position(step: Step, sender: Tensor, index: int, to: Tensor) -> int:
    """Which of the box's input edges a gradient travels: the op's own index for a primitive
    (x * x has two edges to x), the input's place for a composite."""
    if not step.composite:
        return index
    return next(i for i, p in enumerate(step.inputs) if p is to)


def _add_sent(moment: _Moment, step: Step, sender: Tensor, index: int, to: Tensor, value: np.ndarray,
              names: Names) -> None:
    position = _input_position(step, sender, index, to)
    for sent in moment.sent:  # contributions across one boundary edge add up (W's two slices, in linear)
        if sent.step is step and sent.position == position:
            sent.value = value if sent.value is None else sent.value + value
            return
    moment.sent.append(_Sent(step, position, to, step_labels(step, names)[position], value))


def _add_constants(moment: _Moment, names: Names) -> None:
    """The inputs of the step's own box that receive nothing (constants), listed so each edge is accounted for."""
    step = moment.owner
    if step is None or step.output is not moment.node:  # `is`: a Tensor's == is elementwise
        return
    labels = step_labels(step, names)
    for position, p in enumerate(step.inputs):
        if not any(s.step is step and s.position == position for s in moment.sent):
            moment.sent.append(_Sent(step, position, p, labels[position], None))


def _grouped(arrivals: list, node: Tensor, names: Names) -> list[tuple[Step | None, str, np.ndarray]]:
    """The contributions that reached `node`, one per box and edge, each summed over that box's inner ops."""
    grouped: list[tuple[Step | None, int, str, np.ndarray]] = []
    for step, sender, index, value in arrivals:
        position = _input_position(step, sender, index, node)
        for i, (known, where, label, total) in enumerate(grouped):
            if known is step and where == position:
                grouped[i] = (known, where, label, total + value)
                break
        else:
            grouped.append((step, position, step_labels(step, names)[position], value))
    return [(step, label, value) for step, _, label, value in grouped]


def _choose_wrt(loss: Tensor, wrt: Tensor | None, moments: list[_Moment], nodes: list[Tensor],
                total_of: dict[int, np.ndarray]) -> Tensor:
    if wrt is not None:
        if id(wrt) not in total_of:
            raise ValueError("stepper: the loss does not depend on `wrt` through ops that record gradients")
        return wrt
    for t in nodes:  # the notebook classifier: its W, even if the graph had other parameters
        if notebook_closed_form(loss, t, nodes, Names(loss, nodes)) is not None:
            return t
    leaves = [m.node for m in moments if m.node.op is None]
    return leaves[-1] if leaves else moments[-1].node


def _chain_rule(loss: Tensor, wrt: Tensor, nodes: list[Tensor], collapse: bool, names: Names) -> str:
    """`chain_rule_text` for the path of the picture's boxes, as `explain` builds it."""
    if wrt is loss:
        return ""
    on_path = reaching(nodes, [wrt])
    steps, _ = graph_steps(nodes, collapse)
    edges: dict[int, list[Tensor]] = {}
    for step in steps:
        for out in step.outputs:
            if id(out) in on_path:
                known = edges.setdefault(id(out), [])
                known.extend(p for p in step.inputs if id(p) in on_path and all(p is not q for q in known))
    return chain_rule_text(loss, wrt, edges, names)


def notebook_closed_form(loss: Tensor, wrt: Tensor, nodes: list[Tensor], names: Names) -> tuple[str, Any] | None:
    """``("(a - y) x^T", value)`` when `loss` is the notebook classifier's, ``cce(y, softmax(linear(W, x)))``
    for one sample, and `wrt` is its W; else None. The value uses x with its bias feature 1 appended."""
    steps, _ = graph_steps(nodes, collapse=True)
    made_by = {id(o): s for s in steps for o in s.outputs}

    def box(t: Tensor | None, title: str) -> Step | None:
        step = made_by.get(id(t)) if t is not None else None
        return step if step is not None and step.composite and step.title == title else None

    loss_box = box(loss, "categorical_crossentropy")
    if loss_box is None:
        return None
    a = next((p for p in loss_box.inputs if not is_constant(p)), None)
    y = next((p for p in loss_box.inputs if is_constant(p)), None)
    softmax_box = box(a, "softmax")
    if y is None or softmax_box is None or len(softmax_box.inputs) != 1:
        return None
    linear_box = box(softmax_box.inputs[0], "linear")
    if linear_box is None or linear_box.scope is None or (linear_box.scope.name, linear_box.scope.label) \
            != _NOTEBOOK_LINEAR or len(linear_box.inputs) != 2:
        return None
    W, x = linear_box.inputs
    if W is not wrt or not is_constant(x) or x.ndim != 1 or a.ndim != 1 or W.shape != (a.size, x.size + 1) \
            or y.shape != a.shape:
        return None
    text = f"({names[a]} - {names[y]}) {names[x]}^T, with the bias feature 1 appended to {names[x]}"
    return text, np.outer(a.data - y.data, np.append(x.data, 1.0))


# ---------------------------------------------------------------------------- the picture


def _picture(loss: Tensor, total_of: dict[int, np.ndarray], collapse: bool, names: Names) -> str | None:
    """The gradient-flow picture as inline SVG, its boxes showing the engine's totals (hidden until
    visited), marked up for the script; None without Graphviz's dot."""
    graph = build_graph(loss, lambda t: total_of.get(id(t)), backward=True, collapse=collapse)
    svg = run_dot(graph.source, "svg", "stepper: Graphviz's dot could not draw the graph")
    if svg is None:
        return None
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    tensors = {names.short_id(t) for t in names.nodes}
    for group in root.iter(f"{{{SVG_NS}}}g"):
        title = group.find(f"{{{SVG_NS}}}title")
        kind = group.get("class")
        if title is None or kind not in ("node", "edge"):
            continue
        key = title.text or ""
        group.set("data-key", key)
        if kind == "node" and key in tensors:
            group.set("class", "node tensor")
            texts = group.findall(f"{{{SVG_NS}}}text")
            starts = [i for i, text in enumerate(texts) if i and (text.text or "").startswith("grad ")]
            for text in texts[starts[0]:] if starts else []:  # the grad lines end a box's label
                text.set("class", "grad")
    return ET.tostring(root, encoding="unicode")


# ------------------------------------------------------------------------------ the page


def _numbers(array: np.ndarray) -> Any:
    """An array as exact JSON numbers (non-finite ones as strings, which JSON lacks), or None when large."""
    array = np.asarray(array)
    if array.size > DATA_LIMIT or array.dtype.kind not in "biuf":
        return None
    flat = [float(v) if np.isfinite(v) else str(float(v)) for v in array.astype(float).ravel()]
    return {"shape": list(array.shape), "values": flat}


def _values(array: np.ndarray, css: str, extra: str = "") -> str:
    data = _numbers(array)
    attr = f' data-values="{html.escape(json.dumps(data))}"' if data is not None else ""
    text = "\n".join(format_values(array))
    return f'<pre class="{css}"{extra}{attr}>{html.escape(text)}</pre>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _code(text: str) -> str:
    return f"<code>{_e(text)}</code>"


def _what(moment: _Moment, names: Names) -> str:
    t, step = moment.node, moment.owner
    if step is None:
        kind = "a parameter" if t.requires_grad else "a constant"
        return (f"{_code(names[t])} is {kind}, a leaf: the pass ends here, and its gradient is final "
                f"(<code>backward()</code> adds it to {_code(names[t] + '.grad')}).")
    formula = f"{names[t]} = {step.title}({', '.join(names[p] for p in step.inputs)})"
    if not step.composite:
        return f"{_code(formula)}, a primitive op."
    inner = ", ".join(names.title(m) for m in moment.inside)
    return (f"{_code(formula)}, a composite: the engine ran the backward of the "
            f"{len(moment.inside) + 1} primitives inside it ({_e(names.title(t))}{', ' if inner else ''}"
            f"{_e(inner)}); what crosses its boundary is summed here.")


def _step_section(number: int, count: int, moment: _Moment, names: Names, loss: Tensor) -> str:
    t = moment.node
    L, me = names[loss], names[t]
    key = names.short_id(t)
    parts = [f'<section class="step" data-step="{number}" data-node="{key}" hidden>',
             f"<h2>Step {number} of {count}: {_e(names.title(t))}</h2>", f"<p>{_what(moment, names)}</p>",
             f"<h3>The gradient arriving at {_code(me)}</h3>", '<table class="arriving">']
    for source, label, value in moment.arriving:
        origin = "the seed" if source is None else f"from {_e(source.title)}"
        how = "d" + L + "/d" + L + " = 1" if source is None else label
        parts.append(f"<tr><th>{origin}</th><td>{_code(how)}</td><td>{_values(value, 'contribution')}</td></tr>")
    parts.append("</table>")
    summed = " (the sum of these)" if len(moment.arriving) > 1 else ""
    parts.append(f'<p class="total">{_code(f"g = d{L}/d{me}")}{summed}, shape {_e(str(t.shape))}:</p>')
    parts.append(_values(moment.grad, "grad", f' data-node="{key}"'))
    if moment.sent:
        owners = {id(s.step): s.step for s in moment.sent}
        through = ", ".join(s.title for s in owners.values())
        parts.append(f"<h3>Passed on through {_e(through)}: what its backward sends to each input</h3>")
        parts.append('<table class="sent">')
        for sent in moment.sent:
            target = names[sent.to]
            if sent.value is None:  # a constant's edge: its label would describe a gradient nobody computes
                why = "a constant: it needs no gradient" if is_constant(sent.to) else "nothing was sent"
                parts.append(f'<tr class="none"><th>to {_e(target)}</th><td colspan="2">{why}</td></tr>')
                continue
            cell = _values(sent.value, "sent", f' data-to="{names.short_id(sent.to)}"')
            parts.append(f"<tr><th>to {_e(target)}</th><td>{_code(sent.label)}</td><td>{cell}</td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def _result(loss: Tensor, wrt: Tensor, names: Names, chain: str, final: np.ndarray,
            closed_form: tuple[str, Any] | None) -> str:
    L, W = names[loss], names[wrt]
    parts = ['<div class="result" hidden>', f"<h3>The result: d{_e(L)}/d{_e(W)}</h3>"]
    if chain:
        parts.append(f'<p class="chain">{_e(chain)}</p>')
    parts.append('<div class="compare"><div>')
    parts.append(f"<p>from the backward pass, {_code(f'd{L}/d{W}')}:</p>{_values(final, 'final')}</div>")
    if closed_form is not None:
        text, value = closed_form
        value = np.asarray(getattr(value, "data", value), dtype=float)
        parts.append(f"<div><p>the closed form, {_code(text)}:</p>{_values(value, 'closed')}</div></div>")
        if value.shape == final.shape:
            difference = float(np.max(np.abs(value - final))) if value.size else 0.0
            parts.append(f'<p class="difference">max |difference| = {difference:.2e}</p>')
        else:
            parts.append(f'<p class="difference">shapes differ: {value.shape} and {final.shape}</p>')
    else:
        parts.append("</div>")
    parts.append("</div>")
    return "\n".join(parts)


def _page(title: str, loss: Tensor, wrt: Tensor, moments: list[_Moment], names: Names, svg: str | None,
          chain: str, final: np.ndarray, closed_form: tuple[str, Any] | None) -> str:
    count = len(moments)
    data = {
        "steps": [
            {
                "node": names.short_id(m.node),
                "name": names[m.node],
                "edges": _active_edges(m, names),
            }
            for m in moments
        ],
    }
    script_data = json.dumps(data).replace("</", "<\\/")  # never closes the script element early
    if svg is None:
        picture = (f'<div class="no-picture"><p>No picture: it needs Graphviz\'s <code>dot</code> program, '
                   f"missing or failing here ({_e(INSTALL_HINT)}); then make this page again. "
                   "The steps below work without it.</p></div>")
    else:
        picture = svg
    order = "\n".join(
        f'<li data-node="{names.short_id(m.node)}"><span class="name">{_e(names.title(m.node))}</span> '
        f'<span class="g">{_e(" ".join(format_values(m.grad, limit=5)))}</span></li>'
        for m in moments
    )
    sections = "\n".join(_step_section(i, count, m, names, loss) for i, m in enumerate(moments, start=1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>{_e(title)}</h1>
<nav class="controls" aria-label="steps">
<button type="button" id="prev" aria-label="previous step">&#8592; Previous</button>
<button type="button" id="next" aria-label="next step">Next &#8594;</button>
<input type="range" id="slider" min="1" max="{count}" value="1" step="1" aria-label="step">
<span id="counter" aria-live="polite">1 / {count}</span>
<button type="button" id="fit" aria-pressed="false" title="shrink the picture to the width of its pane">\
Fit picture</button>
<span class="hint">keys: &#8592; &#8594; Home End</span>
</nav>
</header>
<main>
<div id="graph" class="graph">{picture}</div>
<div id="panel" class="panel">
{sections}
{_result(loss, wrt, names, chain, final, closed_form)}
<h3>The engine's visit order</h3>
<ol id="order" class="order">
{order}
</ol>
</div>
</main>
<script type="application/json" id="stepper-data">{script_data}</script>
<script>{PAGE_SCRIPT}</script>
</body>
</html>
"""


def _active_edges(moment: _Moment, names: Names) -> list[str]:
    """The picture's edges the gradient travels in this step (backward view: output -> box -> input)."""
    edges: list[str] = []
    boxes: list[Step] = [] if moment.owner is None else [moment.owner]
    for sent in moment.sent:
        if all(sent.step is not b for b in boxes):
            boxes.append(sent.step)
    for box in boxes:
        if any(out is moment.node for out in box.outputs):
            edges.append(f"{names.short_id(moment.node)}->{box.key}")
        for sent in moment.sent:
            if sent.step is box and sent.value is not None:
                edges.append(f"{box.key}->{names.short_id(sent.to)}")
    return list(dict.fromkeys(edges))
