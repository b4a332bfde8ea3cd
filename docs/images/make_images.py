"""Render the pictures shown in README.md and docs/: run ``python docs/images/make_images.py``.

Every picture is the graph of real code, so rerun this script whenever the graph
export or the classifier changes and commit the SVGs it writes next to itself.
Needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

from pathlib import Path

from tinygrad_softmax import Tensor, viz
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

HERE = Path(__file__).resolve().parent


def classifier_pictures() -> list[Path]:
    """The notebook's classifier for its first sample, as `tinygrad-softmax graph` draws it (seed 0)."""
    X, labels = make_seed_data(seed=0)
    model, *_, loss = notebook_sample_graph(X[0], labels[0], num_classes=3, seed=0)
    # Forward pictures first, before backward() fills in gradients: they show values only.
    written = [
        viz.render(
            loss, HERE / "classifier_forward_collapsed.svg", collapse=True, highlight=[model.W], show_values=True
        ),
        # Top to bottom: 17 primitives side by side would be too wide to read on a page or a slide.
        viz.render(loss, HERE / "classifier_forward.svg", highlight=[model.W], show_values=True, rankdir="TB"),
    ]
    loss.backward()
    written += [
        viz.render(loss, HERE / "classifier_backward_collapsed.svg", backward=True, collapse=True),
        viz.render(loss, HERE / "classifier_backward.svg", backward=True, rankdir="TB"),
    ]
    return written


def small_graph_picture() -> Path:
    """The smallest useful graph for the visualisation page: a parameter, a constant, two ops."""
    w = Tensor([1.0, -2.0], requires_grad=True, name="w")
    out = (w * [3.0, 4.0]).sum()
    out.name = "out"
    out.backward()
    return viz.render(out, HERE / "small_graph.svg", show_values=True)


def design_picture() -> Path:
    """A diamond, x used three times: the backward view shows three gradients arriving at x and adding up."""
    x = Tensor(3.0, requires_grad=True, name="x")
    y = x * x + x
    y.name = "y"
    y.backward()
    return viz.render(y, HERE / "diamond_backward.svg", backward=True, show_values=True)


if __name__ == "__main__":
    for path in [*classifier_pictures(), small_graph_picture(), design_picture()]:
        print("wrote", path.relative_to(HERE.parent.parent))
