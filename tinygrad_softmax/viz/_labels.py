"""The texts of a picture: tensor names, values, and each edge's local derivative.

A derivative label is written with the names of the actual operands, the ones the
picture shows, so it can be read literally: for ``W @ x`` with a 1-D ``x`` the edge
to W says ``outer(g, x)``, the outer product the engine computes. A `Function`'s
``label`` may refer to its inputs by position, ``{0}``, ``{1}``..., to its output as
``{out}`` and to the input the edge leads to as ``{in}``; plain strings still work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._graph import Step, constant_roles, graph_nodes, is_constant
from ._text import format_number, index_text

VALUE_LIMIT = 15  # arrays up to this many elements are shown whole (W of the notebook is 3 x 5)


class Names:
    """The names a picture of `output`'s graph, and `explain`, give its tensors.

    ``names[t]`` is, in this order: the tensor's own ``name``; for the constants the
    library makes inside its composites, what they are (``y`` for the target, ``max(z)``
    for softmax's shift); for any other constant holding one number, that number; else
    the short id the picture shows (``t7``: the tensor's position in `graph_nodes`).
    """

    def __init__(self, output: Tensor, nodes: list[Tensor] | None = None) -> None:
        self.nodes = graph_nodes(output) if nodes is None else nodes
        self._index = {id(t): i for i, t in enumerate(self.nodes)}
        self._roles = constant_roles(self.nodes)
        self._taken = {t.name for t in self.nodes if t.name}

    def short_id(self, t: Tensor) -> str:
        """``t<i>``, the tensor's DOT node id (its position in the graph's traversal order)."""
        return f"t{self._index[id(t)]}"

    def role(self, t: Tensor) -> str | None:
        """What a library-made constant is (``"one-hot target"``, ``"max shift, held constant"``), or None."""
        role = self._roles.get(id(t))
        if role is None:
            return None
        if role[0] == "shift":
            return "max shift, held constant"
        data = t.data
        one_hot = data.ndim >= 1 and bool(np.all((data == 0) | (data == 1))) and bool(np.all(data.sum(axis=-1) == 1))
        return "one-hot target" if one_hot else "target"

    def __getitem__(self, t: Tensor) -> str:
        if t.name:
            return t.name
        role = self._roles.get(id(t))
        if role is not None:
            kind, of = role
            name = "y" if kind == "target" else f"max({self[of]})"
            if name not in self._taken:  # never two tensors with one name in a picture
                return name
        if is_constant(t) and t.size == 1 and t.dtype.kind in "biuf":
            return format_number(t.data.item())
        return self.short_id(t)

    def title(self, t: Tensor) -> str:
        """The first line of the tensor's box: its name, else what it is and its short id (``exp t8``,
        ``constant t6``), so that a label's ``t8`` is found in the picture."""
        name = self[t]
        if name != self.short_id(t):
            return name
        kind = t.op if t.op is not None else "parameter" if t.requires_grad else "constant"
        return f"{kind} {name}"


def format_values(array: Any, precision: int = 3, limit: int = VALUE_LIMIT) -> list[str]:
    """An array as lines of text: whole up to `limit` elements (one line per row), else mean, min and max.

    Rounded to `precision` decimals with the sign of zero dropped, so a 0 never reads ``-0.``.
    """
    array = np.asarray(array)
    if array.size > limit:
        if array.dtype.kind not in "biuf" or array.size == 0:
            return [f"{array.size} elements"]
        return [f"mean {format_number(array.mean())}, min {format_number(array.min())}, "
                f"max {format_number(array.max())}"]
    if array.dtype.kind in "fc":
        array = np.round(array, precision) + 0.0  # adding +0.0 turns -0.0 into 0.0
    text = np.array2string(array, precision=precision, separator=", ", suppress_small=True, max_line_width=10**6)
    return [" ".join(line.split()) for line in text.splitlines()]


# ------------------------------------------------------------------------ derivative labels

_PLACEHOLDER = re.compile(r"\{(\d+|in|out)\}")
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Power", "Maximum", "Minimum", "Where"}


def fill_label(template: str, operands: Sequence[str], out: str, this: int | None = None) -> str:
    """Put the operand names into a label: ``{0}``, ``{1}``... the inputs, ``{out}`` the output,
    ``{in}`` the input the edge leads to. Other braces are left as they are."""

    def name(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "out":
            return out
        if key == "in":
            return operands[this] if this is not None else match.group(0)
        position = int(key)
        return operands[position] if position < len(operands) else match.group(0)

    return _PLACEHOLDER.sub(name, template)


def _matmul(t: Tensor, x: str, y: str) -> list[str]:
    a, b = t.parents
    if a.ndim == 2 and b.ndim == 1:  # a matrix times one sample: the engine takes an outer product
        return [f"outer(g, {y})", f"{x}^T @ g"]
    if a.ndim == 1 and b.ndim == 2:
        return [f"{y} @ g", f"outer({x}, g)"]
    if a.ndim == 1 and b.ndim == 1:  # a dot product: g is one number
        return [f"g * {y}", f"g * {x}"]
    return [f"g @ {y}^T", f"{x}^T @ g"]


def _pow(t: Tensor, x: str) -> list[str]:
    p = t.op_args.get("exponent")
    if not isinstance(p, (int, float)):
        return [f"g * p * {x}^(p-1)"]
    if p == 1:
        return ["g"]
    power = "" if p == 2 else f"^{format_number(p - 1)}"
    return [f"g * {format_number(p)} * {x}{power}"]


def _count(t: Tensor) -> str:
    parent = t.parents[0]
    return format_number(parent.size / max(t.size, 1)) if t.size else "n"


def _getitem(t: Tensor, x: str) -> list[str]:
    index = t.op_args.get("index")
    return [f"g into {x}[{index_text(index)}], 0 elsewhere" if index is not None else "scatter-add g"]


def _clip(t: Tensor, x: str) -> list[str]:
    low, high = t.op_args.get("low"), t.op_args.get("high")
    bounds = (f"{format_number(low)} <= " if low is not None else "") + x
    bounds += f" <= {format_number(high)}" if high is not None else ""
    return [f"g where {bounds}, else 0"]


def _softmax_cross_entropy(t: Tensor, x: str) -> list[str]:
    n = t.parents[0].size // max(t.parents[0].shape[-1], 1) if t.parents[0].ndim > 1 else 1
    mean = t.op_args.get("reduction", "mean") == "mean" and n > 1
    return [f"g * (softmax({x}) - y)" + (f" / {n}" if mean else "")]


_Rule = Callable[..., list[str]]
# The built-in ops' labels, written with their operands (an engine that gives ops.py these
# labels makes this table unnecessary): a template string, or a rule for labels that depend
# on the shapes or the arguments.
BUILTIN_LABELS: dict[str, str | _Rule] = {
    "Add": "g and g",
    "Sub": "g and -g",
    "Mul": "g * {1} and g * {0}",
    "Div": "g / {1} and -g * {0} / {1}^2",
    "Neg": "-g",
    "Pow": _pow,
    "Power": "g * {1} * {0}^({1} - 1) and g * {0}^{1} * log({0})",
    "Exp": "g * exp({0})",
    "Log": "g / {0}",
    "Log1p": "g / (1 + {0})",
    "Sqrt": "g / (2 sqrt({0}))",
    "Abs": "g * sign({0})",
    "ReLU": "g * ({0} > 0)",
    "Sigmoid": "g * {out} * (1 - {out})",
    "Tanh": "g * (1 - {out}^2)",
    "Maximum": "g where {0} > {1} and g where {1} > {0} (ties: g / 2)",
    "Minimum": "g where {0} < {1} and g where {1} < {0} (ties: g / 2)",
    "Where": "none and g where {0} and g where not {0}",
    "MatMul": _matmul,
    "Sum": lambda t, x: [f"g broadcast to {x}'s shape {t.parents[0].shape}"],
    "Mean": lambda t, x: [f"g / {_count(t)} broadcast to {x}'s shape {t.parents[0].shape}"],
    "Max": "g to the max of {0} (ties share)",
    "Min": "g to the min of {0} (ties share)",
    "Prod": "g * {out} / {0}",
    "LogSumExp": "g * softmax({0})",
    "Reshape": lambda t, x: [f"g reshaped to {t.parents[0].shape}"],
    "Transpose": "g transposed back",
    "BroadcastTo": lambda t, x: [f"g summed to {x}'s shape {t.parents[0].shape}"],
    "GetItem": _getitem,
    "Clip": _clip,
    "SoftmaxCrossEntropy": _softmax_cross_entropy,
}


def derivative_labels(t: Tensor, names: Names | None = None) -> list[str]:
    """What the op producing `t` does to the gradient g, one text per input, with the operands' names.

    The built-in ops use `BUILTIN_LABELS`; any other Function its ``label`` attribute: one
    text for all inputs, or per-input texts separated by " and ", each free to use the
    placeholders of `fill_label`; or a static method ``label(input_shapes, op_args)`` that
    returns such a text, for a derivative whose form depends on the shapes. A Function
    without a label shows ``<name>.backward(g)``.
    Pass the `Names` of the picture's output (``Names(loss)``) to get the names that
    picture shows; the default names the tensors within `t`'s own graph.
    """
    names = Names(t) if names is None else names
    parents = t.parents
    operands = [names[p] for p in parents]
    fn = t.grad_fn
    builtin = fn is not None and fn.__module__ == "tinygrad_softmax.ops"
    rule = BUILTIN_LABELS.get(fn.__name__) if builtin else None
    if callable(rule):
        labels = rule(t, *operands)
    else:
        label = rule if rule is not None else getattr(fn, "label", None)
        if callable(label):  # a label that depends on the shapes: label(input_shapes, op_args) -> template
            label = label(tuple(p.shape for p in parents), t.op_args)
        if not label:
            return [f"{t.op}.backward(g)"] * len(parents)
        labels = _per_input(str(label), len(parents))
    labels = [fill_label(text, operands, names[t], i) for i, text in enumerate(labels)]
    if builtin and fn.__name__ in _ELEMENTWISE:  # the engine sums a broadcast gradient back down
        labels = [text + (f", summed to shape {p.shape}" if p.shape != t.shape else "")
                  for text, p in zip(labels, parents)]
    return labels


def _per_input(label: str, count: int) -> list[str]:
    parts = [p.strip() for p in label.split(" and ")]
    return parts if len(parts) == count else [label] * count


def edge_label(t: Tensor, input_index: int, names: Names | None = None) -> str:
    """The label of the backward edge from `t`'s op to its input number `input_index`."""
    return derivative_labels(t, names)[input_index]


# ----------------------------------------------------------------------- composites


def _softmax_vjp(step: Step, names: Names) -> list[str]:
    a = names[step.output]
    return [f"g @ (diag({a}) - {a} {a}^T)" for _ in step.inputs]


def _log_softmax_vjp(step: Step, names: Names) -> list[str]:
    return [f"g - softmax({names[p]}) * sum(g)" for p in step.inputs]


def _first_computed(step: Step) -> Tensor | None:
    return next((p for p in step.inputs if not is_constant(p)), None)


def _target_name(step: Step, names: Names, default: str = "y") -> str:
    """The name of the composite's constant target, or `default` (integer labels are an argument, not a box)."""
    target = next((p for p in step.inputs if is_constant(p) and p.size > 1), None)
    return default if target is None else names[target]


def _cross_entropy_vjp(step: Step, names: Names) -> list[str]:
    logits = _first_computed(step)
    z = names[logits] if logits is not None else "z"
    n = ""
    if step.scope is not None and (step.scope.label or "").endswith("/ n") and logits is not None:
        n = f" / {logits.size // max(logits.shape[-1], 1)}"
    text = f"g * (softmax({z}) - {_target_name(step, names)})" + n
    return [text if p is logits else "none: a constant" for p in step.inputs]


def _categorical_vjp(step: Step, names: Names) -> list[str]:
    pred = _first_computed(step)
    y = _target_name(step, names)
    return [f"-g * {y} / {names[p]}" if p is pred else "none: a constant" for p in step.inputs]


def _linear_vjp(step: Step, names: Names) -> list[str]:
    weights = next((p for p in step.inputs if p.ndim == 2 and p.requires_grad), None)
    data = next((p for p in step.inputs if p is not weights), None)
    x = "x" if data is None else names[data]
    w = "W" if weights is None else names[weights]
    labels = []
    for p in step.inputs:
        if p is weights:  # z = W[:, :-1] @ x + W[:, -1]: the bias column's input is the appended 1
            labels.append(f"outer(g, [{x}, 1])" if data is None or data.ndim == 1 else f"g^T @ [{x}, 1]")
        else:
            labels.append(f"g @ {w}[:, :-1]")
    return labels


def _layer_linear_vjp(step: Step, names: Names) -> list[str]:
    """nn.Linear with a separate bias: z = x @ W.T + b (or W @ x + b for one sample)."""
    weights = next((p for p in step.inputs if p.ndim == 2 and p.requires_grad), None)
    bias = next((p for p in step.inputs if p.ndim == 1 and p.requires_grad and p is not weights), None)
    data = next((p for p in step.inputs if p is not weights and p is not bias), None)
    x = "x" if data is None else names[data]
    w = "W" if weights is None else names[weights]
    one = data is None or data.ndim == 1
    labels = []
    for p in step.inputs:
        if p is weights:
            labels.append(f"outer(g, {x})" if one else f"g^T @ {x}")
        elif p is bias:
            labels.append("g" if one else "g summed over the samples")
        else:
            labels.append(f"g @ {w}")
    return labels


def _elementwise_vjp(template: str) -> Callable[[Step, Names], list[str]]:
    def rule(step: Step, names: Names) -> list[str]:
        return [template.format(x=names[p], out=names[step.output]) for p in step.inputs]

    return rule


def _with_target_vjp(template: str) -> Callable[[Step, Names], list[str]]:
    """A loss of a prediction and a constant target: the prediction gets the text, the target nothing."""

    def rule(step: Step, names: Names) -> list[str]:
        pred = _first_computed(step)
        target = _target_name(step, names, default="t")
        return [template.format(x=names[p], t=target) if p is pred else "none: a constant" for p in step.inputs]

    return rule


# The library's composites (functional, nn), by scope name and the label they set; each
# label is rewritten as what the composite does to g, with the operands' names.
COMPOSITE_LABELS: dict[tuple[str, str], Callable[[Step, Names], list[str]]] = {
    ("softmax", "diag(a) - a a^T"): _softmax_vjp,
    ("log_softmax", "I - 1 a^T"): _log_softmax_vjp,
    ("cross_entropy", "softmax(z) - y"): _cross_entropy_vjp,
    ("cross_entropy", "(softmax(z) - y) / n"): _cross_entropy_vjp,
    ("categorical_crossentropy", "-y / yhat"): _categorical_vjp,
    ("linear", "dz_i/dW_ij = x_j, so dL/dW = dL/dz x^T"): _linear_vjp,
    ("linear", "dL/dx = g W, dL/dW = g^T x, dL/db = sum of g over samples"): _layer_linear_vjp,
    ("relu", "1 where x > 0, else 0"): _elementwise_vjp("g * ({x} > 0)"),
    ("tanh", "1 - tanh(x)^2"): _elementwise_vjp("g * (1 - {out}^2)"),
    ("sigmoid", "s (1 - s)"): _elementwise_vjp("g * {out} * (1 - {out})"),
    ("binary_cross_entropy_with_logits", "sigmoid(x) - t"): _with_target_vjp("g * (sigmoid({x}) - {t})"),
    ("mse_loss", "2 (p - t) / n"): _with_target_vjp("g * 2 ({x} - {t}) / n"),
}


def step_labels(step: Step, names: Names) -> list[str]:
    """The label of each of `step`'s input edges: `derivative_labels` for a primitive; for a
    composite, its scope's label (the library's rewritten with the operands' names)."""
    if not step.composite:
        return derivative_labels(step.output, names)
    scope = step.scope
    rule = COMPOSITE_LABELS.get((scope.name, scope.label or "")) if scope is not None else None
    if rule is not None:
        return rule(step, names)
    label = (scope.label if scope is not None else None) or f"{step.title} backward"
    operands = [names[p] for p in step.inputs]
    return [fill_label(text, operands, names[step.output], i)
            for i, text in enumerate(_per_input(label, len(step.inputs)))]
