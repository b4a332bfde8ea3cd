"""Graph export and the chain-rule explainer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_softmax import Tensor, viz
from tinygrad_softmax import functional as F
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

HAS_DOT = shutil.which("dot") is not None


def classifier_graph(seed=0):
    X, labels = make_seed_data(seed=seed)
    model, x, y, z, a, loss = notebook_sample_graph(X[0], labels[0], 3, seed)
    loss.backward()
    return model, x, y, z, a, loss


def node_lines(source):
    return [line for line in source.splitlines() if re.match(r"\s*(?!graph |node |edge )\w+ \[", line)]


def edge_lines(source):
    return [line for line in source.splitlines() if "->" in line]


def test_small_graph_has_exact_node_and_edge_counts():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([3.0, 4.0], requires_grad=True, name="b")
    c = (a * b).sum()
    source = viz.to_dot(c).source
    # tensors a, b, a*b, c and ops mul, sum
    assert len(node_lines(source)) == 6
    # a->mul, b->mul, mul->t, t->sum, sum->c
    assert len(edge_lines(source)) == 5
    assert "mul" in source and "sum" in source and "shape (2,)" in source


def test_shared_nodes_are_drawn_once():
    x = Tensor(2.0, requires_grad=True, name="x")
    y = x * x + x
    source = viz.to_dot(y).source
    assert sum('label="x\\n' in line or "label=\"x\\n" in line for line in node_lines(source)) == 1
    assert len(node_lines(source)) == 5  # x, x*x, y + ops mul, add


def test_classifier_graph_names_ops_and_is_stable_across_runs():
    *_, loss = classifier_graph()
    first = viz.to_dot(loss).source
    *_, loss_again = classifier_graph()
    assert viz.to_dot(loss_again).source == first
    for op in ("matmul", "exp", "sum(axis=-1, keepdims=True)", "div", "log", "getitem[:, :-1]", "clip"):
        assert op in first, op
    assert first.count(viz.COLOURS["parameter"]) == 1  # W
    assert viz.COLOURS["output"] in first


def test_labels_are_escaped():
    t = Tensor([1.0], requires_grad=True, name='we"ird <name> \\ back')
    source = viz.to_dot(t.exp().sum()).source
    assert 'we\\"ird <name> \\\\ back' in source
    if HAS_DOT:
        svg = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True).stdout
        ET.fromstring(svg)


def test_highlight_marks_the_path_to_W_only():
    model, _x, _y, _z, _a, loss = classifier_graph()
    red = viz.COLOURS["highlight"]
    source = viz.to_dot(loss, highlight=[model.W]).source
    lit_edges = [line for line in edge_lines(source) if red in line]
    assert lit_edges and len(lit_edges) < len(edge_lines(source))
    # Every node of the classifier lies on the path to W: only W itself is marked, the path is in its edges.
    lit_nodes = [line for line in node_lines(source) if red in line]
    assert len(lit_nodes) == 1 and 'label="W\\n' in lit_nodes[0]
    unlit = [line for line in edge_lines(source) if red not in line]  # x, the max shift and y: no gradient
    assert len(unlit) == 3
    assert red not in viz.to_dot(loss).source


def test_backward_view_reverses_edges_and_labels_derivatives():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([3.0, 4.0], requires_grad=True, name="b")
    out = (a / b).exp().sum()
    source = viz.to_dot(out, backward=True).source
    # written with the operands' names: exp's input is the unnamed quotient, t2 in the picture
    assert "g / b" in source and "-g * a / b^2" in source and "g * exp(t2)" in source
    assert 't2 [label="div t2\\n' in source
    assert "g broadcast to t3's shape (2,)" in source
    forward = viz.to_dot(out).source
    ids = {name: re.search(rf'(\w+) \[label="{name}\\n', forward).group(1) for name in ("a", "b")}
    assert any(line.strip().startswith("op") and f"-> {ids['a']}" in line for line in edge_lines(source))
    assert any(line.strip().startswith(ids["a"]) for line in edge_lines(forward))


def test_collapse_shows_the_notebook_chain():
    _model, _x, _y, _z, _a, loss = classifier_graph()
    source = viz.to_dot(loss, collapse=True).source
    for composite in ("linear", "softmax", "categorical_crossentropy"):
        assert re.search(rf'label="?{composite}"? ', source), composite
    for hidden in ("exp", "div", "matmul", "clip"):
        assert not re.search(rf'label="?{hidden}', source), hidden
    assert len(node_lines(source)) < len(node_lines(viz.to_dot(loss).source))
    labels = re.findall(r'label="(\w+)\\n', source)
    assert {"W", "z", "a", "L"} <= set(labels)
    backward = viz.to_dot(loss, collapse=True, backward=True).source
    assert "g @ (diag(a) - a a^T)" in backward and "-g * y / a" in backward


def test_user_op_without_label_gets_a_default():
    from tinygrad_softmax import Function

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * grad

    out = Cube.apply(Tensor([1.0], requires_grad=True)).sum()
    assert "cube.backward(g)" in viz.to_dot(out, backward=True).source


def test_values_and_grads_summaries():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    out = (x * x).sum()
    assert "grad" not in viz.to_dot(out).source
    out.backward()
    source = viz.to_dot(out, show_values=True).source
    assert "value [1., 2.]" in source and "grad [2., 4.]" in source
    assert "grad" not in viz.to_dot(out, show_grads=False).source


def test_graph_method_returns_the_digraph():
    t = Tensor([1.0], requires_grad=True).exp()
    assert t.graph().source == viz.to_dot(t).source
    assert hasattr(t.graph(), "_repr_mimebundle_")  # graphviz's Jupyter display


def test_ten_thousand_node_graph_without_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    source = viz.to_dot(y).source
    assert len(node_lines(source)) >= 10000


def test_render_dot_text_without_graphviz(tmp_path, monkeypatch):
    *_, loss = classifier_graph()
    monkeypatch.setenv("PATH", "")
    path = viz.render(loss, tmp_path / "g.dot")
    assert path.read_text().startswith("digraph")
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.render(loss, tmp_path / "g.svg")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert str(tmp_path / "g.dot") in message
    assert not (tmp_path / "g.svg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]


def test_render_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        viz.render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g.jpg")


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
@pytest.mark.parametrize("options", [{}, {"collapse": True}, {"backward": True}, {"highlight": "W"}])
def test_render_svg_for_real(tmp_path, options):
    model, *_, loss = classifier_graph()
    if options.get("highlight") == "W":
        options = {"highlight": [model.W]}
    path = viz.render(loss, tmp_path / "graph.svg", **options)
    root = ET.parse(path).getroot()
    texts = [el.text or "" for el in root.iter() if el.tag.endswith("text")]
    assert "W" in texts and "L" in texts
    assert "softmax" in texts  # a composite box, or the frame around softmax's primitives
    assert ("exp" in texts) != bool(options.get("collapse"))


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_render_png_and_pdf(tmp_path):
    *_, loss = classifier_graph()
    assert viz.render(loss, tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert viz.render(loss, tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"


def test_explain_collapsed_reproduces_the_notebook_steps():
    model, _x, y, _z, a, loss = classifier_graph()
    text = viz.explain(loss, model.W, collapse=True)
    positions = [text.index(s) for s in ("categorical_crossentropy", "softmax", "linear", "The chain rule")]
    assert positions == sorted(positions)
    assert "-g * y / a" in text and "g @ (diag(a) - a a^T)" in text
    assert "dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15), reshaped to W's shape (3, 5)" in text
    assert "differs by at most 0.00e+00" in text
    a_ = a.data
    jac = np.diag(a_) - np.outer(a_, a_)
    first_row = " ".join(f"{v:.4f}".rstrip("0") for v in jac[0][:1])
    assert first_row in text
    assert f"{(-y / a_)[y.argmax()]:.4f}"[:6] in text


def test_explain_expanded_and_markdown():
    model, _x, _y, z, _a, loss = classifier_graph()
    text = viz.explain(loss, model.W)
    for op in ("matmul", "exp", "div", "log"):
        assert op in text
    md = viz.explain(loss, model.W, collapse=True, format="markdown")
    assert "\\frac{\\partial L}{\\partial W}" in md and "bmatrix" in md and md.count("###") >= 2
    with pytest.raises(ValueError, match="does not depend"):
        viz.explain(loss, Tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="one element"):
        viz.explain(z, model.W)


def test_explain_does_not_touch_grads():
    model, _x, _y, _z, _a, loss = classifier_graph()
    before = model.W.grad.copy()
    viz.explain(loss, model.W, collapse=True)
    np.testing.assert_array_equal(model.W.grad, before)


def test_cli_graph_command(tmp_path):
    env = {**os.environ, "PATH": os.environ.get("PATH", "")}
    out = tmp_path / "g.dot"
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", "graph", "--out", str(out), "--collapse", "--backward"],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("digraph") and "softmax" in out.read_text()
    env_no_dot = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    svg = tmp_path / "g.svg"
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", "graph", "--out", str(svg)],
        capture_output=True, text=True, env=env_no_dot,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "apt-get install graphviz" in result.stderr and (tmp_path / "g.dot").exists()


def test_scope_is_recorded_inside_the_block_and_not_after():
    x = Tensor(np.ones(3), requires_grad=True)
    with F.scope("outer"):
        y = x.exp()
    assert y.scope.name == "outer" and y.scope.parent is None
    assert x.exp().scope is None


def test_explain_sums_over_paths_when_a_node_is_shared():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True, name="x")
    u = x.exp()
    u.name = "u"
    v = x * x
    v.name = "v"
    loss = (u + v).sum()
    loss.name = "L"
    loss.backward()
    text = viz.explain(loss, x)
    # via u and via v: x * x is one factor dv/dx (both operands at once), so the printed sum multiplies out
    assert "sum over the 2 paths from L to x" in text
    assert text.count("dL/dx =\n") == 1  # x's total gradient is shown once, in the chain rule section
    assert "differs by at most 0.00e+00" in text


def test_explain_names_unnamed_output_and_input_as_the_picture_does():
    w = Tensor([1.0, 2.0], requires_grad=True)
    out = (w * w).sum()
    text = viz.explain(out, w)
    assert "How dt2/dt0 is computed" in text and "dt2/dt0 (1x2) = dt2/dt1 (1x2) @ dt1/dt0 (2x2)" in text
    source = viz.to_dot(out).source
    assert 't0 [label="parameter t0\\n' in source and 't2 [label="sum t2\\n' in source


def test_full_reduction_title_has_no_axis_none():
    t = Tensor([1.0, 2.0], requires_grad=True).sum()
    assert viz.op_title(t) == "sum"


def test_graph_method_exists_without_importing_viz():
    code = "from tinygrad_softmax import Tensor; print(Tensor([1.0], requires_grad=True).exp().graph().source[:7])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("digraph"), result.stderr


def test_jupyter_display_falls_back_to_dot_text_without_graphviz(monkeypatch):
    graph = Tensor([1.0], requires_grad=True).exp().graph()
    monkeypatch.setenv("PATH", "")
    bundle = graph._repr_mimebundle_()
    assert bundle["text/plain"].startswith("digraph") and "apt-get install graphviz" in bundle["text/plain"]


# ------------------------------------------------------------------ dot installed but failing


@pytest.fixture
def failing_dot(tmp_path_factory):
    """A folder holding a `dot` that fails like a broken Graphviz: a message on stderr, exit code 1."""
    folder = tmp_path_factory.mktemp("fake_graphviz")
    script = folder / "dot"
    script.write_text("#!/bin/sh\necho 'Error: <stdin>: syntax error in line 1' >&2\necho 'near ->' >&2\nexit 1\n")
    script.chmod(0o755)
    return folder


def test_render_raises_graphviz_error_when_dot_fails(tmp_path, monkeypatch, failing_dot):
    *_, loss = classifier_graph()
    monkeypatch.setenv("PATH", str(failing_dot))
    with pytest.raises(viz.GraphvizError) as info:
        viz.render(loss, tmp_path / "g.png")
    assert not isinstance(info.value, viz.GraphvizNotFoundError)
    message = str(info.value)
    assert "g.png" in message and "format png" in message and "exited with code 1" in message
    assert "Error: <stdin>: syntax error in line 1 / near ->" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_render_raises_graphviz_error_when_dot_times_out(tmp_path, monkeypatch, failing_dot):
    *_, loss = classifier_graph()
    monkeypatch.setenv("PATH", str(failing_dot))

    def too_slow(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs.get("timeout"))

    monkeypatch.setattr(subprocess, "run", too_slow)
    with pytest.raises(viz.GraphvizError, match=r"g\.pdf \(format pdf\).*took longer than 120 s"):
        viz.render(loss, tmp_path / "g.pdf")
    assert list(tmp_path.iterdir()) == []


def test_graphviz_not_found_is_a_graphviz_error_with_the_dot_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(viz.GraphvizError) as info:
        viz.render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g.svg")
    assert isinstance(info.value, viz.GraphvizNotFoundError) and isinstance(info.value, RuntimeError)
    assert info.value.dot_path == tmp_path / "g.dot" and info.value.dot_path.is_file()


def test_render_into_a_missing_folder_names_the_users_path(tmp_path):
    path = tmp_path / "missing" / "g.dot"
    with pytest.raises(FileNotFoundError) as info:
        viz.render(Tensor([1.0], requires_grad=True).exp(), path)
    assert str(info.value) == f"cannot write {path}: No such file or directory"
    assert ".tmp" not in str(info.value)


def run_cli(*args, cwd, path):
    env = {**os.environ, "PATH": str(path)}
    return subprocess.run([sys.executable, "-m", "tinygrad_softmax", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=300)  # fmt: skip


def test_cli_graph_reports_a_failing_dot_in_one_line(tmp_path, failing_dot):
    done = run_cli("graph", "--out", "g.svg", cwd=tmp_path, path=failing_dot)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-softmax graph: error:"), done.stderr
    assert "format svg" in lines[0] and "syntax error in line 1" in lines[0]
    assert list(tmp_path.iterdir()) == [] and done.stdout == ""


def test_cli_demo_falls_back_to_dot_text_when_dot_fails(tmp_path, failing_dot):
    done = run_cli("demo", "--out", "out", cwd=tmp_path, path=failing_dot)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "backprop.html", "explanation.txt", "graph.dot", "graph_backward.dot", "graph_collapsed.dot"
    ]
    notes = [line for line in done.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "syntax error in line 1" in notes[0]  # said once, not once per picture
    assert f"the graph is in {os.path.join('out', 'graph.dot')} as DOT text" in notes[0]
    assert f"wrote {os.path.join('out', 'graph.dot')}" in done.stdout
    # the step-by-step page does not ask the failing dot again: its steps as text, said so
    assert "without Graphviz its steps are text only" in done.stdout
    page = (out / "backprop.html").read_text()
    assert 'class="no-picture"' in page and "<svg" not in page and page.count('class="step"') == 4


def test_cli_graph_steps_reports_a_failing_dot_in_one_line_and_writes_nothing(tmp_path, failing_dot):
    done = run_cli("graph", "--steps", "page.html", cwd=tmp_path, path=failing_dot)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-softmax graph: error: stepper:"), done.stderr
    assert "syntax error in line 1" in lines[0]
    assert list(tmp_path.iterdir()) == [] and done.stdout == ""


def test_explain_counts_exponentially_many_paths_without_walking_them():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x
    for _ in range(40):  # 2**40 paths from the sum back to x
        y = y * 0.5 + y * 0.5
    text = viz.explain(y.sum(), x)
    assert f"sum over the {2**40} paths" in text and f"({2**40 - 6} more paths)" in text


def test_html_like_names_stay_text():
    x = Tensor([1.0], requires_grad=True)
    with F.scope("<b>softmax</b>", label="<g>"):
        y = x.exp()
    source = viz.to_dot(y.sum(), collapse=True, backward=True).source
    assert 'label="<b>softmax</b>"' in source and 'label="<g>"' in source
    if HAS_DOT:
        svg = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True).stdout
        assert b"&lt;b&gt;softmax&lt;/b&gt;" in svg
