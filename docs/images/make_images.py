"""Render the pictures shown in README.md and docs/: run ``python docs/images/make_images.py``.

Every picture is the graph of real code, so rerun this script whenever the graph
export or the classifier changes and commit the SVGs it writes next to itself;
tests/test_docs.py fails while a committed picture differs from what `pictures()`
gives now. Needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tinygrad_softmax import Tensor, viz
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

HERE = Path(__file__).resolve().parent


def classifier_pictures() -> dict[str, viz.Graph]:
    """The notebook's classifier for its first sample, as `tinygrad-softmax demo` draws it (seed 0)."""
    X, labels = make_seed_data(seed=0)
    model, *_, loss = notebook_sample_graph(X[0], labels[0], num_classes=3, seed=0)
    loss.backward()
    # Forward pictures show values, backward ones gradients; only W, the parameter asked about, is highlighted.
    forward = {"highlight": [model.W], "show_values": True, "show_grads": False}
    return {
        "classifier_forward_collapsed.svg": viz.to_dot(loss, collapse=True, **forward),
        "classifier_forward.svg": viz.to_dot(loss, **forward),
        "classifier_backward_collapsed.svg": viz.to_dot(loss, backward=True, collapse=True),
        "classifier_backward.svg": viz.to_dot(loss, backward=True),
    }


def small_graph_picture() -> dict[str, viz.Graph]:
    """The smallest useful graph for the visualisation page: a parameter, a constant, two ops."""
    w = Tensor([1.0, -2.0], requires_grad=True, name="w")
    out = (w * [3.0, 4.0]).sum()
    out.name = "out"
    out.backward()
    return {"small_graph.svg": viz.to_dot(out, show_values=True)}


def design_picture() -> dict[str, viz.Graph]:
    """A diamond, x used three times: the backward view shows three gradients arriving at x and adding up."""
    x = Tensor(3.0, requires_grad=True, name="x")
    y = x * x + x
    y.name = "y"
    y.backward()
    return {"diamond_backward.svg": viz.to_dot(y, backward=True, show_values=True)}


def pictures() -> dict[str, viz.Graph]:
    """Every committed picture, by file name, as the code draws it now."""
    return {**classifier_pictures(), **small_graph_picture(), **design_picture()}


def write(folder: Path = HERE) -> list[Path]:
    """Render every picture into `folder` with Graphviz's dot."""
    written = []
    for name, graph in pictures().items():
        path = folder / name
        path.write_bytes(graph.pipe(format="svg"))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print("wrote", path)
