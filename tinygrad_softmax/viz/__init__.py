"""Draw and explain the computation graph. Reads the graph, never changes it.

Only the public node interface is used: ``op``, ``op_args``, ``grad_fn``, ``scope``,
``parents``, ``name``, ``shape``, ``dtype``, ``data``, ``grad``, ``requires_grad``, and
the public `grad()`. Nothing in the engine imports this package.

- `to_dot` builds a `graphviz.Digraph` (its ``.source`` is DOT text; in Jupyter it
  displays as SVG). Forward or backward view, primitives or composites, with the
  path to a parameter highlighted.
- `render` writes ``.svg``/``.png``/``.pdf`` with the ``dot`` program, or ``.dot`` text.
- `explain` walks the chain rule from the output to a parameter, in words and numbers.
- `stepper` shows the backward pass step by step in one self-contained HTML page (a
  `Stepper`, shown inline in Jupyter), with the numbers of the engine's own pass.
- `Names`, `derivative_labels`, `edge_label`, `step_labels` and `graph_steps` are the
  pieces the pictures are made of, for tools that show a graph their own way.
"""

from ._dot import COLOURS, INSTALL_HINT, Graph, to_dot
from ._explain import LAYOUT, chain_rule_text, explain
from ._graph import Step, graph_nodes, graph_steps
from ._labels import (
    BUILTIN_LABELS,
    COMPOSITE_LABELS,
    VALUE_LIMIT,
    Names,
    derivative_labels,
    edge_label,
    fill_label,
    format_values,
    step_labels,
)
from ._render import IMAGE_FORMATS, GraphvizError, GraphvizNotFoundError, picture_format, render
from ._stepper import Stepper, stepper
from ._text import op_title

__all__ = [
    "BUILTIN_LABELS",
    "COLOURS",
    "COMPOSITE_LABELS",
    "IMAGE_FORMATS",
    "INSTALL_HINT",
    "LAYOUT",
    "VALUE_LIMIT",
    "Graph",
    "GraphvizError",
    "GraphvizNotFoundError",
    "Names",
    "Step",
    "Stepper",
    "chain_rule_text",
    "derivative_labels",
    "edge_label",
    "explain",
    "fill_label",
    "format_values",
    "graph_nodes",
    "graph_steps",
    "op_title",
    "picture_format",
    "render",
    "step_labels",
    "stepper",
    "to_dot",
]
