"""Issue 13, items 4, 5 and 8: pictures and explanations that can be read literally.

Edge labels and `explain` name the actual operands (a tensor's name, else the short id its
box shows) and the product the engine computes; the chain rule multiplies in the printed
order; boxes show small arrays whole, never ``-0.``, and name the target y and the max shift.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor, grad, scope, viz
from tinygrad_softmax import functional as F
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def classifier(seed=0):
    X, labels = make_seed_data(seed=seed)
    model, *_, loss = notebook_sample_graph(X[0], labels[0], 3, seed)
    loss.backward()
    return model, loss


def readme_chain(named=True):
    """README's example: z = W @ x; a = softmax(z); L = -(y * a.log()).sum()."""
    x = np.array([3.0, 7.0, 7.0, 7.0, 1.0])
    y = np.array([0.0, 1.0, 0.0])
    if named:
        x, y = Tensor(x, name="x"), Tensor(y, name="y")
    W = Tensor(np.random.default_rng(0).standard_normal((3, 5)) * 0.1, requires_grad=True, name="W")
    z = W @ x
    a = F.softmax(z)
    L = -(y * a.log()).sum()
    z.name, a.name, L.name = "z", "a", "L"
    L.backward()
    return L


def edge_labels(source):
    return re.findall(r'-> \w+ \[label="([^"]*)"', source)


def box_titles(source):
    return re.findall(r'\[label="([^"\\]*)\\n', source)


# ------------------------------------------------------------------------- item 4: operand names


def test_readme_chain_labels_name_its_operands():
    L = readme_chain()
    labels = edge_labels(viz.to_dot(L, backward=True).source)
    assert "g * y" in labels  # into log(a): the factor is y, not "a"
    assert "g / a" in labels  # into a: log's input is a, not the sample x
    assert "outer(g, x)" in labels  # W @ x with a 1-D x: the engine's outer product
    assert "g * a" not in labels and "g / x" not in labels and not any("B^T" in t for t in labels)


def test_unnamed_operands_are_called_by_the_short_id_their_box_shows():
    L = readme_chain(named=False)
    source = viz.to_dot(L, backward=True).source
    names = viz.Names(L)
    y_const = next(t for t in viz.graph_nodes(L) if t.op is None and t.size == 3)
    x_const = next(t for t in viz.graph_nodes(L) if t.op is None and t.size == 5)
    assert names[y_const] == names.short_id(y_const)
    assert f"g * {names[y_const]}" in edge_labels(source)
    assert f"outer(g, {names[x_const]})" in edge_labels(source)
    for constant in (x_const, y_const):  # the id in a label is found in the picture
        assert f"constant {names[constant]}" in box_titles(source)


def test_expanded_classifier_labels_use_the_picture_names():
    _, loss = classifier()
    source = viz.to_dot(loss, backward=True).source
    labels = edge_labels(source)
    titles = box_titles(source)
    assert "g / t9" in labels and "-g * t8 / t9^2, summed to shape (1,)" in labels
    assert "exp t8" in titles and "sum t9" in titles  # the numerator and denominator, by their boxes
    assert "outer(g, x)" in labels and "g into W[:, :-1], 0 elsewhere" in labels
    assert "g * y" in labels  # the loss's mul by the one-hot target
    assert not any(re.search(r"\b[AB]\^T|\bg \* b\b|\bg / b\b", t) for t in labels)


def test_matmul_labels_follow_the_shapes():
    A = Tensor(np.ones((2, 3)), requires_grad=True, name="A")
    B = Tensor(np.ones((3, 4)), requires_grad=True, name="B")
    v = Tensor(np.ones(3), requires_grad=True, name="v")
    u = Tensor(np.ones(2), requires_grad=True, name="u")
    assert viz.derivative_labels(A @ B) == ["g @ B^T", "A^T @ g"]
    assert viz.derivative_labels(A @ v) == ["outer(g, v)", "A^T @ g"]
    assert viz.derivative_labels(u @ A) == ["A @ g", "outer(u, g)"]
    assert viz.derivative_labels(v @ v) == ["g * v", "g * v"]


def test_broadcast_operands_say_they_are_summed_back():
    w = Tensor(np.ones((2, 3)), requires_grad=True, name="w")
    b = Tensor(np.ones(3), requires_grad=True, name="b")
    assert viz.derivative_labels(w * b) == ["g * b", "g * w, summed to shape (3,)"]
    assert viz.derivative_labels(w * 2.0) == ["g * 2", "g * w, summed to shape ()"]  # a scalar by its value


def test_user_labels_plain_positional_and_missing():
    class Plain(Function):
        label = "g * cos(x)"

        @staticmethod
        def forward(ctx, x):
            return np.sin(x)

        @staticmethod
        def backward(ctx, g):
            return g

    class Positional(Function):
        label = "g * {1} and g * {0} via {in} to {out}"

        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    class Unlabelled(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    p = Tensor([1.0], requires_grad=True, name="p")
    q = Tensor([2.0], requires_grad=True, name="q")
    assert viz.derivative_labels(Plain.apply(p)) == ["g * cos(x)"]  # a plain string, as it always was
    out = Positional.apply(p, q)
    out.name = "r"
    assert viz.derivative_labels(out) == ["g * q", "g * p via q to r"]
    assert viz.edge_label(out, 0) == "g * q"
    assert viz.derivative_labels(Unlabelled.apply(p)) == ["unlabelled.backward(g)"]
    assert viz.fill_label("{x} {0} {5}", ["a"], "o") == "{x} a {5}"  # unknown braces are left alone

    class ShapeDependent(Function):
        @staticmethod
        def label(shapes, op_args):
            return "outer(g, {1}) and {0}^T @ g" if len(shapes[1]) == 1 else "g @ {1}^T and {0}^T @ g"

        @staticmethod
        def forward(ctx, a, b):
            return a @ b

        @staticmethod
        def backward(ctx, g):
            return g, g

    m = Tensor(np.ones((2, 3)), requires_grad=True, name="m")
    assert viz.derivative_labels(ShapeDependent.apply(m, Tensor(np.ones(3), name="v"))) == ["outer(g, v)", "m^T @ g"]


def test_scope_labels_take_placeholders_too():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    with scope("double", label="2 g, for {0}"):
        d = x * 2.0
    d.name = "d"
    steps, _ = viz.graph_steps(viz.graph_nodes(d.sum()), collapse=True)
    (double,) = [s for s in steps if s.composite]
    assert viz.step_labels(double, viz.Names(d.sum())) == ["2 g, for x"]


def test_explain_names_tensors_as_the_picture_does():
    model, loss = classifier()
    text = viz.explain(loss, model.W)
    titles = box_titles(viz.to_dot(loss).source)
    for short in re.findall(r"\bt\d+\b", text):
        assert any(title.endswith(f" {short}") for title in titles), short
    assert "backward to t8: g / t9, where g = dL/da" in text
    assert "t3 = matmul(t1, x)" in text and "backward to t1: outer(g, x)" in text


# ------------------------------------------------------------------------- item 5: the chain rule


def jacobian_of(top: Tensor, bottom: Tensor) -> np.ndarray:
    """d top / d bottom with top.size rows and bottom.size columns, from the public grad()."""
    rows = []
    for i in range(top.size):
        seed = np.zeros(top.size)
        seed[i] = 1.0
        (g,) = grad(top, [bottom], seed.reshape(top.shape), allow_unused=True)
        rows.append(np.zeros(bottom.size) if g is None else np.ravel(g))
    return np.array(rows)


def chain_line(text):
    return next(line.strip() for line in text.splitlines() if re.match(r"\s*d\w+/d\w+ \(\d+x\d+\) = ", line))


def test_the_chain_rule_multiplies_in_the_printed_order():
    model, loss = classifier()
    text = viz.explain(loss, model.W, collapse=True)
    line = chain_line(text)
    assert line == "dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15), reshaped to W's shape (3, 5)"
    by_name = {viz.Names(loss)[t]: t for t in viz.graph_nodes(loss)}
    product = np.eye(1)
    for top, bottom, rows, cols in re.findall(r"d(\w+)/d(\w+) \((\d+)x(\d+)\)", line.split(" = ", 1)[1]):
        factor = jacobian_of(by_name[top], by_name[bottom])
        assert factor.shape == (int(rows), int(cols))
        product = product @ factor  # numpy raises if the printed order did not multiply
    np.testing.assert_allclose(product.reshape(model.W.shape), model.W.grad, atol=1e-12)


def test_a_sum_over_paths_multiplies_too():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True, name="x")
    u = x.exp()
    u.name = "u"
    v = x * x
    v.name = "v"
    loss = (u + v).sum()
    loss.name = "L"
    loss.backward()
    line = chain_line(viz.explain(loss, x))
    by_name = {viz.Names(loss)[t]: t for t in viz.graph_nodes(loss)}
    total = np.zeros((1, 2))
    for product_text in re.findall(r"\(([^()]*(?:\(\d+x\d+\)[^()]*)+)\)", line.split(": ", 1)[1]):
        product = np.eye(1)
        for top, bottom, _, _ in re.findall(r"d(\w+)/d(\w+) \((\d+)x(\d+)\)", product_text):
            product = product @ jacobian_of(by_name[top], by_name[bottom])
        total = total + product
    np.testing.assert_allclose(total.ravel(), x.grad, atol=1e-12)


def test_the_layout_is_stated_once_in_the_output_and_in_the_guide():
    model, loss = classifier()
    text = viz.explain(loss, model.W, collapse=True)
    assert " ".join(text.split()).count(viz.LAYOUT) == 1
    guide = (ROOT / "docs" / "visualisation.md").read_text()
    assert "one row per element of `A` and one column per element of\n`B`" in guide


def test_cross_entropy_composite_labels_keep_the_mean():
    W = Tensor(np.zeros((3, 2)), requires_grad=True, name="W")
    logits = Tensor(np.ones((4, 2)), name="X") @ W.T
    logits.name = "z"
    batch = F.cross_entropy(logits, np.array([0, 1, 2, 0]))
    source = viz.to_dot(batch, backward=True, collapse=True).source
    assert "g * (softmax(z) - y) / 4" in source  # the 1/n of the mean over 4 samples
    one = F.cross_entropy(W @ np.ones(2), 1)
    assert "/ " not in " ".join(edge_labels(viz.to_dot(one, backward=True, collapse=True).source)).replace("t", "")


# ------------------------------------------------------------------------- item 8: node contents


def test_small_arrays_are_shown_whole_and_larger_ones_summarised():
    model, loss = classifier()
    source = viz.to_dot(loss, show_values=True).source
    w_box = next(line for line in source.splitlines() if 'label="W\\n' in line)
    for value in np.round(model.W.data, 3).ravel():
        assert f"{value + 0.0:.3f}".rstrip("0").rstrip(".") in w_box.replace(" ", "")
    assert "mean" not in w_box
    assert viz.format_values(np.arange(16.0)) == ["mean 7.5, min 0, max 15"]
    assert len(viz.format_values(np.ones((3, 5)))) == 3  # one line per row


def test_no_negative_zero_anywhere():
    model, loss = classifier()
    for options in ({}, {"collapse": True}, {"backward": True}, {"backward": True, "collapse": True}):
        source = viz.to_dot(loss, show_values=True, **options).source
        assert not re.search(r"-0\.(?!\d*[1-9])", source), options
    for collapse in (False, True):
        text = viz.explain(loss, model.W, collapse=collapse)
        assert not re.search(r"-0\.(?!\d*[1-9])", text)
    assert viz.format_values([-0.0, -0.0001, 2.0]) == ["[0., 0., 2.]"]


def test_the_one_hot_target_is_shown_and_named_in_both_views():
    _, loss = classifier()
    for collapse in (False, True):
        source = viz.to_dot(loss, collapse=collapse).source
        box = next(line for line in source.splitlines() if 'label="y\\n' in line)
        assert "one-hot target" in box and "value [1., 0., 0.]" in box, collapse
    steps, _ = viz.graph_steps(viz.graph_nodes(loss), collapse=True)
    names = viz.Names(loss)
    assert [names[p] for p in steps[-1].inputs] == ["a", "y"]


def test_the_max_shift_is_named_for_what_it_is():
    _, loss = classifier()
    source = viz.to_dot(loss).source
    box = next(line for line in source.splitlines() if 'label="max(z)\\n' in line)
    assert "max shift, held constant" in box
    assert "max(z)" not in viz.to_dot(loss, collapse=True).source  # internal to the softmax box
    x = Tensor([1.0, 2.0], requires_grad=True, name="q")
    with scope("softmax"):  # a user's own scope of that name, with a constant that is no max
        shifted = x - np.array([5.0])
    assert viz.Names(shifted)[shifted.parents[1]] != "max(q)"


@pytest.mark.parametrize("collapse", [False, True])
def test_only_the_highlighted_tensor_is_outlined(collapse):
    model, loss = classifier()
    source = viz.to_dot(loss, highlight=[model.W], collapse=collapse).source
    red = viz.COLOURS["highlight"]
    outlined = [line for line in source.splitlines() if red in line and "->" not in line]
    assert len(outlined) == 1 and 'label="W\\n' in outlined[0]
