"""Draw and explain the computation graph. Reads the graph, never changes it.

Only the public node interface is used: ``op``, ``op_args``, ``grad_fn``, ``scope``,
``parents``, ``name``, ``shape``, ``dtype``, ``data``, ``grad``, ``requires_grad``.
Nothing in the engine imports this module.

- `to_dot` builds a `graphviz.Digraph` (its ``.source`` is DOT text; in Jupyter it
  displays as SVG). Forward or backward view, primitives or composites, with the
  path to a parameter highlighted.
- `render` writes ``.svg``/``.png``/``.pdf`` with the ``dot`` program, or ``.dot`` text.
- `explain` walks the chain rule from the output to a parameter, in words and numbers.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from . import autograd
from ._files import atomic_write
from .grad_mode import Scope
from .tensor import Tensor

COLOURS = {
    "parameter": "#c9efc4",
    "constant": "#e6e6e6",
    "intermediate": "#dbe8fb",
    "output": "#f8c9c4",
    "op": "#fff3c4",
    "composite": "#fde0b5",
    "highlight": "#d62728",
}
IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
INSTALL_HINT = (
    "install Graphviz's `dot` program (Debian/Ubuntu: apt-get install graphviz; "
    "macOS: brew install graphviz; conda: conda install -c conda-forge graphviz)"
)


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program could not make the picture: it failed, timed out, or is missing."""


class GraphvizNotFoundError(GraphvizError):
    """The ``dot`` program is missing; the DOT text was written instead (``dot_path``)."""

    def __init__(self, message: str, dot_path: Path) -> None:
        super().__init__(message)
        self.dot_path = dot_path


# ------------------------------------------------------------------ graph walking


def graph_nodes(output: Tensor) -> list[Tensor]:
    """Every tensor `output` was computed from (itself included), inputs before their users.

    Iterative (no recursion limit), and the same order on every run of the same
    code, so the numbered node ids in the DOT text are stable.
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


def _reaching(nodes: list[Tensor], targets: Iterable[Tensor]) -> set[int]:
    """ids of the nodes from which some target can be reached by following parents (targets included)."""
    reach = {id(t) for t in targets}
    for node in nodes:  # inputs first, so parents are decided before their users
        if any(id(p) in reach for p in node.parents):
            reach.add(id(node))
    return reach


def _outermost(node: Tensor) -> Scope | None:
    scope = node.scope
    while scope is not None and scope.parent is not None:
        scope = scope.parent
    return scope


# --------------------------------------------------------------------- labels


def op_title(t: Tensor) -> str:
    """The op with its arguments: ``sum(axis=1)``, ``pow(exponent=2)``, ``getitem[:, :-1]``."""
    args = {k: v for k, v in t.op_args.items() if v is not None and not (k == "keepdims" and v is False)}
    if t.op == "getitem" and "index" in args:
        return f"getitem[{_index_text(args['index'])}]"
    if "target" in args:
        args["target"] = "y"
    if not args:
        return str(t.op)
    return f"{t.op}(" + ", ".join(f"{k}={_short(v)}" for k, v in args.items()) + ")"


def derivative_labels(t: Tensor) -> list[str]:
    """What the op producing `t` does to the gradient g, one text per input.

    Taken from the Function's ``label`` attribute: a string for all inputs, or
    per-input strings separated by " and "; a Function without one shows
    ``<name>.backward(g)``.
    """
    fn = t.grad_fn
    count = len(t.parents)
    label = getattr(fn, "label", None)
    if not label:
        return [f"{t.op}.backward(g)"] * count
    parts = [p.strip() for p in str(label).split(" and ")]
    return parts if len(parts) == count else [str(label)] * count


def _tensor_title(t: Tensor) -> str:
    if t.name:
        return _escape(t.name)
    if t.op is not None:
        return t.op
    return "parameter" if t.requires_grad else "constant"


def _tensor_label(t: Tensor, show_values: bool, show_grads: bool, short_id: str) -> str:
    title = _tensor_title(t)
    if not t.name:
        title = f"{title} {short_id}"
    lines = [title, f"shape {t.shape}"]
    if t.dtype != np.float64:
        lines.append(str(t.dtype))
    if show_values:
        lines.append("value " + _summary(t.data))
    if show_grads and t.grad is not None:
        lines.append("grad " + _summary(t.grad))
    return "\\n".join(lines)  # DOT's own line break, so user text can be escaped separately


def _kind(t: Tensor, output: Tensor) -> str:
    if t is output:
        return "output"
    if t.op is None:
        return "parameter" if t.requires_grad else "constant"
    return "intermediate"


def _escape(text: str) -> str:
    """Keep user text literal in a DOT label.

    A backslash would otherwise start an escape like \\n, and a label written ``<...>``
    would be read as Graphviz's HTML-like markup (``nohtml`` keeps it quoted text).
    """
    return graphviz.nohtml(text.replace("\\", "\\\\"))


def _summary(array: np.ndarray) -> str:
    array = np.asarray(array)
    if array.size <= 6:
        return " ".join(np.array2string(array, precision=3, separator=", ").split())
    return f"mean {array.mean():.3g}, min {array.min():.3g}, max {array.max():.3g}"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else np.array2string(value, separator=",")
    if isinstance(value, float):
        return f"{value:.3g}"
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


# ---------------------------------------------------------------------- layout


@dataclass
class _Step:
    """One box of the drawing that computes something: a primitive op, or a whole composite."""

    key: str
    title: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    labels: list[str]
    composite: bool = False
    members: list[Tensor] = field(default_factory=list)


def _steps(nodes: list[Tensor], collapse: bool) -> tuple[list[_Step], set[int]]:
    """The op boxes to draw, and the ids of tensors hidden inside collapsed composites."""
    steps: list[_Step] = []
    hidden: set[int] = set()
    groups: dict[int, _Step] = {}
    for index, t in enumerate(nodes):
        scope = _outermost(t) if collapse else None
        if scope is None:
            if t.op is not None:
                steps.append(_Step(f"op{index}", op_title(t), list(t.parents), [t], derivative_labels(t)))
            continue
        step = groups.get(id(scope))
        if step is None:
            step = _Step(f"group{len(groups)}", scope.name, [], [], [scope.label or f"{scope.name} backward"], True)
            groups[id(scope)] = step
            steps.append(step)
        step.members.append(t)
    for step in groups.values():
        member_ids = {id(m) for m in step.members}
        used_outside = _used_outside(nodes, member_ids)
        for m in step.members:
            if id(m) in used_outside or m is nodes[-1]:
                step.outputs.append(m)
            else:
                hidden.add(id(m))
            for p in m.parents:
                if id(p) not in member_ids and all(p is not q for q in step.inputs):
                    step.inputs.append(p)
        step.labels = step.labels * len(step.inputs)
    return steps, hidden


def _used_outside(nodes: list[Tensor], member_ids: set[int]) -> set[int]:
    used: set[int] = set()
    for t in nodes:
        if id(t) not in member_ids:
            used.update(id(p) for p in t.parents if id(p) in member_ids)
    return used


# ---------------------------------------------------------------------- to_dot


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that still displays in Jupyter without the ``dot`` program (as DOT text)."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"{self.source}\n(install Graphviz to see the picture: {INSTALL_HINT})"}


def to_dot(
    output: Tensor,
    *,
    show_values: bool = False,
    show_grads: bool = True,
    highlight: Sequence[Tensor] | Tensor | None = None,
    backward: bool = False,
    collapse: bool = False,
    rankdir: str = "LR",
) -> Graph:
    """The computation graph of `output` as a `graphviz.Digraph` (the `Graph` subclass).

    Args:
        output: the tensor whose history is drawn (e.g. the loss L).
        show_values: add a summary of each tensor's values.
        show_grads: add a summary of each tensor's ``.grad`` where it has one.
        highlight: tensors (e.g. ``[W]``); every path from `output` back to them is drawn in red.
        backward: draw the gradient flow instead: edges point from the output towards
            the inputs and carry the local derivative each op applies to g.
        collapse: draw each composite (softmax, cross_entropy, the classifier's linear
            map...) as one box, hiding its internal primitives.
        rankdir: graphviz layout direction (``"LR"``, ``"TB"``...).

    Returns:
        A `graphviz.Digraph`; ``.source`` is the DOT text, and Jupyter shows it as SVG.
        Tensor boxes: parameters green, constants grey, the output red; op ellipses yellow,
        composite boxes orange. Node ids are numbered in traversal order, so the same
        code gives the same DOT text on every run.
    """
    nodes = graph_nodes(output)
    targets = [highlight] if isinstance(highlight, Tensor) else list(highlight or [])
    on_path = _reaching(nodes, targets) if targets else set()
    steps, hidden = _steps(nodes, collapse)
    ids = {id(t): f"t{i}" for i, t in enumerate(nodes)}
    title = "gradient flow" if backward else "computation graph"
    dot = Graph(
        "backward" if backward else "forward",
        graph_attr={"rankdir": rankdir, "label": title, "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    for t in nodes:
        if id(t) in hidden:
            continue
        kind = _kind(t, output)
        style = "filled,bold" if kind == "output" else "filled"
        attrs = {"shape": "box", "style": style, "fillcolor": COLOURS[kind]}
        if id(t) in on_path:
            attrs.update(color=COLOURS["highlight"], penwidth="2.5")
        dot.node(ids[id(t)], label=_tensor_label(t, show_values, show_grads, ids[id(t)]), **attrs)
    for step in steps:
        lit = bool(on_path) and any(id(o) in on_path for o in step.outputs)
        attrs = {
            "shape": "box" if step.composite else "ellipse",
            "style": "filled,rounded" if step.composite else "filled",
            "fillcolor": COLOURS["composite" if step.composite else "op"],
        }
        if lit:
            attrs.update(color=COLOURS["highlight"], penwidth="2.5")
        dot.node(step.key, label=_escape(step.title), **attrs)
        for out in step.outputs:
            _edge(dot, step.key, ids[id(out)], backward, lit, None)
        for parent, label in zip(step.inputs, step.labels):
            if backward and not parent.requires_grad:  # constants receive no gradient
                dot.edge(step.key, ids[id(parent)], style="dashed", color="#9a9a9a")
                continue
            _edge(dot, ids[id(parent)], step.key, backward, lit and id(parent) in on_path, label)
    return dot


def _edge(dot: graphviz.Digraph, tail: str, head: str, backward: bool, lit: bool, label: str | None) -> None:
    """A forward edge tail -> head, or in the backward view head -> tail carrying the derivative."""
    attrs: dict[str, str] = {}
    if lit:
        attrs.update(color=COLOURS["highlight"], penwidth="2.5")
    if backward:
        if label:
            attrs["label"] = _escape(label)
        dot.edge(head, tail, **attrs)
    else:
        dot.edge(tail, head, **attrs)


# -------------------------------------------------------------------------- render


_DOT_TIMEOUT = 120  # seconds `render` waits for dot


def render(output: Tensor, path: str | os.PathLike[str], **to_dot_kwargs: Any) -> Path:
    """Write the graph of `output` to `path`; the suffix picks the format.

    ``.svg``, ``.png`` and ``.pdf`` need Graphviz's ``dot`` program; ``.dot`` and
    ``.gv`` are DOT text and need nothing. Without ``dot``, the DOT text is written
    next to `path` (same name, ``.dot`` suffix) and `GraphvizNotFoundError` says so.
    The file appears whole or not at all (written under a temporary name, then renamed).

    Raises:
        GraphvizNotFoundError: ``dot`` is not installed (the DOT text was written instead).
        GraphvizError: ``dot`` failed or timed out; its message has the format and dot's error output.
        ValueError: an unknown suffix.
        OSError: `path` cannot be written (``cannot write PATH: reason``).

    Returns:
        The path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    source = to_dot(output, **to_dot_kwargs).source
    if suffix in (".dot", ".gv"):
        return _write_atomically(path, source.encode())
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f"render: unknown format {path.suffix!r}; use .svg, .png, .pdf, .dot or .gv")
    image_format = IMAGE_FORMATS[suffix]
    dot_program = shutil.which("dot")
    if dot_program is None:
        dot_path = path.with_suffix(".dot")
        _write_atomically(dot_path, source.encode())
        raise GraphvizNotFoundError(
            f"render: cannot make {path.name} without the `dot` program; wrote the graph as DOT text to "
            f"{dot_path} instead. To get the picture, {INSTALL_HINT}, then run: "
            f"dot -T{image_format} {dot_path} -o {path}",
            dot_path,
        )
    failure = f"render: Graphviz's dot could not make {path.name} (format {image_format})"
    try:
        result = subprocess.run(  # a list of arguments: no shell ever parses the path
            [dot_program, f"-T{image_format}"], input=source.encode(), capture_output=True, timeout=_DOT_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"{failure}: {dot_program} took longer than {_DOT_TIMEOUT} s") from None
    except OSError as exc:  # found but not runnable: a broken install, a wrong architecture...
        raise GraphvizError(f"{failure}: cannot run {dot_program}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        raise GraphvizError(f"{failure}: {dot_program} exited with {_exit_status(result.returncode)}"
                            + _stderr_text(result.stderr))
    return _write_atomically(path, result.stdout)


def _exit_status(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"


def _stderr_text(stderr: bytes, limit: int = 500) -> str:
    """dot's error output on one line (an error message must be one line), shortened if long."""
    lines = (" ".join(line.split()) for line in stderr.decode(errors="replace").splitlines())
    text = " / ".join(line for line in lines if line)
    if not text:
        return " and no error output"
    return ": " + (text if len(text) <= limit else text[: limit - 3] + "...")


def _write_atomically(path: Path, content: bytes) -> Path:
    return atomic_write(path, lambda file: file.write(content))


# -------------------------------------------------------------------------- explain


def explain(output: Tensor, wrt: Tensor, *, collapse: bool = False, format: str = "text") -> str:
    """The chain rule from `output` back to `wrt`, in words and numbers.

    One paragraph per step on the paths from `output` to `wrt`, output first: the op
    (or, with `collapse`, the composite such as softmax), the shapes, the local
    derivative, and the gradient flowing out of it, then the product of the factors
    (for the classifier ``dL/dW = dz/dW x da/dz x dL/da``) and the final gradient,
    compared with ``wrt.grad`` when backward has run. The gradients are computed
    here with a separate backward pass; no ``.grad`` is changed.

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
    on_path = _reaching(nodes, [wrt])
    if id(output) not in on_path or not wrt.requires_grad:
        raise ValueError("explain: the output does not depend on `wrt` through ops that record gradients")
    steps, _ = _steps(nodes, collapse)
    steps = [s for s in reversed(steps) if any(id(o) in on_path for o in s.outputs)]
    needing = [n for n in nodes if n.requires_grad]
    flowing = {id(n): g for n, g in zip(needing, autograd.grad(output, needing, allow_unused=True)) if g is not None}
    md = format == "markdown"
    names = _symbols(nodes, output, wrt)
    L, W = names[id(output)], names[id(wrt)]
    lines = [_heading(f"How d{L}/d{W} is computed, step by step", md)]
    edges: dict[int, list[Tensor]] = {}  # tensor -> the inputs it was computed from, on the way to wrt
    shown: set[int] = set()
    for number, step in enumerate(steps, start=1):
        outs = [o for o in step.outputs if id(o) in on_path]
        ins = [p for p in step.inputs if id(p) in on_path]
        out_names = ", ".join(names[id(o)] for o in outs)
        in_names = ", ".join(names[id(p)] for p in ins)
        kind = "composite" if step.composite else "op"
        lines.append(
            _item(f"{number}. {out_names} = {step.title}({in_names})  [{kind}; "
                  + ", ".join(f"{names[id(p)]}{p.shape}" for p in ins)
                  + " -> " + ", ".join(f"{names[id(o)]}{o.shape}" for o in outs) + "]", md)
        )
        for out in outs:
            edges.setdefault(id(out), []).extend(ins)
        for parent, label in zip(step.inputs, step.labels):
            if id(parent) not in on_path:
                continue
            lines.append(_detail(f"local derivative d{out_names}/d{names[id(parent)]}: {label}", md))
            jac = _local_jacobian(outs, parent) if step.composite and output not in outs else None
            if jac is not None:
                lines.append(_matrix(f"d{out_names}/d{names[id(parent)]}", jac, md))
            grad = flowing.get(id(parent))
            if grad is not None and parent is not wrt and id(parent) not in shown:  # a total, shown once
                shown.add(id(parent))
                lines.append(_matrix(f"d{L}/d{names[id(parent)]}", grad, md))
    final = flowing.get(id(wrt), np.zeros_like(wrt.data))
    lines.append(_heading("The chain rule", md))
    lines.append(_detail(_chain_rule_text(output, wrt, edges, names), md))
    lines.append(_matrix(f"d{L}/d{W}", final, md))
    if wrt.grad is not None:
        difference = float(np.max(np.abs(wrt.grad - final))) if wrt.grad.shape == final.shape else float("nan")
        lines.append(_detail(f"{W}.grad from backward() differs by at most {difference:.2e}", md))
    return "\n".join(lines) + "\n"


def _chain_rule_text(
    output: Tensor, wrt: Tensor, edges: dict[int, list[Tensor]], names: dict[int, str], limit: int = 6
) -> str:
    """``dL/dW = dz/dW x da/dz x dL/da`` for a chain; a sum of such products when paths split and join."""
    # Count the paths without walking them: reused nodes make their number exponential
    # (22 chained diamonds: 4 million). Every edge here leads on to wrt, so the search for
    # the first few paths to print never meets a dead end.
    counts: dict[int, int] = {id(wrt): 1}
    order = graph_nodes(output)  # inputs first: a node's inputs are counted before it
    for node in order:
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
    products = [
        " x ".join(f"d{names[id(top)]}/d{names[id(bottom)]}" for top, bottom in reversed(list(itertools.pairwise(p))))
        for p in paths
    ]
    head = f"d{names[id(output)]}/d{names[id(wrt)]}"
    if total == 1:
        return f"{head} = {products[0]}"
    more = f" + ... ({total - limit} more paths)" if total > limit else ""
    return f"{head} = sum over the {total} paths from {names[id(output)]} to {names[id(wrt)]}: " + " + ".join(
        f"({p})" for p in products
    ) + more


def _symbols(nodes: list[Tensor], output: Tensor, wrt: Tensor) -> dict[int, str]:
    """A readable symbol per tensor: its name, else op plus a number."""
    symbols: dict[int, str] = {}
    for index, t in enumerate(nodes):
        symbols[id(t)] = t.name or (f"{t.op}_{index}" if t.op else f"const_{index}")
    if not output.name:
        symbols[id(output)] = "L"
    if not wrt.name:
        symbols[id(wrt)] = "w"
    return symbols


def _local_jacobian(outputs: list[Tensor], parent: Tensor, limit: int = 64) -> np.ndarray | None:
    """The Jacobian of a composite's single output with respect to one input, for small shapes."""
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
    if out.ndim == 1 and parent.ndim == 1:
        return jac
    return jac.reshape(out.size, parent.size) if out.ndim + parent.ndim > 2 else jac


def _latex_derivative(name: str) -> str:
    """``dL/dW`` -> ``\\frac{\\partial L}{\\partial W}``."""
    top, _, bottom = name.partition("/")
    if not (top.startswith("d") and bottom.startswith("d")):
        return name
    return f"\\frac{{\\partial {top[1:]}}}{{\\partial {bottom[1:]}}}"


def _heading(text: str, md: bool) -> str:
    return f"\n### {text}\n" if md else f"\n{text}\n" + "-" * len(text)


def _item(text: str, md: bool) -> str:
    return f"\n**{text}**\n" if md else f"\n{text}"


def _detail(text: str, md: bool) -> str:
    return f"- {text}" if md else f"    {text}"


def _matrix(name: str, array: np.ndarray, md: bool) -> str:
    array = np.asarray(array)
    if md:
        if array.ndim <= 2 and array.size <= 64:
            rows = np.atleast_2d(array) if array.ndim else array.reshape(1, 1)
            if array.ndim == 1:
                rows = rows.T
            body = r" \\ ".join(" & ".join(f"{v:.4g}" for v in row) for row in rows)
            return f"$${_latex_derivative(name)} = \\begin{{bmatrix}} {body} \\end{{bmatrix}}$$"
        return f"- {name}: {_summary(array)}"
    text = np.array2string(array, precision=4, suppress_small=True, max_line_width=100)
    indent = " " * 8
    return f"    {name} =\n" + "\n".join(indent + line for line in text.splitlines())
