"""Issue 13, items 5, 6 and 7 and the small ones of the demo and graph commands.

The demo prints the notebook's numbers and its pictures fit a slide; `--version`; an `--out`
that cannot be used is one plain line; without Graphviz the install note is said once.
The demo runs in this process with a short iris training (its length is not what is tested).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tinygrad_softmax import __version__, cli, viz
from tinygrad_softmax.datasets import make_seed_data
from tinygrad_softmax.nn import SoftmaxClassifier

HAS_DOT = shutil.which("dot") is not None
FLOAT = r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?"


def run_main(argv, monkeypatch=None):
    """cli.main in this process: (exit code, stdout, stderr), numpy's print options left as they were."""
    out, err = io.StringIO(), io.StringIO()
    options = np.get_printoptions()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as stop:  # argparse: --version, usage errors
                code = stop.code
    finally:
        np.set_printoptions(**options)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(cli, "EPOCHS", 3)  # the demo says how long it trained; the full 200 epochs are test_cli's
    out = tmp_path_factory.mktemp("demo") / "out"
    try:
        code, stdout, stderr = run_main(["demo", "--out", out])
    finally:
        patch.undo()
    assert code == 0, stderr
    return stdout, out


def section(stdout, number):
    return re.search(rf"^=== {number}\. (.*?)(?=^=== |\Z)", stdout, flags=re.S | re.M).group(1)


def numbers(text):
    return [float(v) for v in re.findall(FLOAT, text)]


def first_sample():
    X, labels = make_seed_data(seed=0)
    model = SoftmaxClassifier(num_features=4, num_classes=3, seed=0, init_scale=0.1)
    return model, X, labels


# --------------------------------------------------------------------------- item 7: the notebook's numbers


def test_demo_prints_w_x_with_its_one_z_a_and_l(demo):
    text = section(demo[0], 2)
    model, X, _ = first_sample()
    w_text = text[text.index("W (") : text.index("x with")]
    np.testing.assert_allclose(numbers(w_text.split("=", 1)[1]), model.W.data.ravel(), atol=1e-4)
    x_line = re.search(r"^x with the bias feature 1 appended = \[([^\]]*)\]", text, flags=re.M).group(1)
    np.testing.assert_array_equal(numbers(x_line), np.append(X[0], 1.0))
    z = numbers(re.search(r"^z = \[([^\]]*)\]", text, flags=re.M).group(1))
    np.testing.assert_allclose(z, model.W.data @ np.append(X[0], 1.0), atol=1e-4)  # z = W x, checkable by hand
    assert re.search(r"^a = \[", text, flags=re.M) and re.search(r"^y = one-hot label 0 = \[1\. 0\. 0\.\]", text, re.M)
    assert re.search(rf"L = -log a\[0\] = {FLOAT}", text)


def test_demo_prints_each_factor_in_the_order_explain_multiplies(demo):
    stdout = demo[0]
    text = section(stdout, 4)
    assert text.startswith("The chain rule's factors: dL/dW = dL/da @ da/dz @ dz/dW")
    for factor in ("dL/da (1x3)", "da/dz (3x3)", "dL/dz (1x3) = dL/da @ da/dz", "dz/dW (3x15)",
                   "dL/dW (1x15) = dL/dz @ dz/dW, reshaped to W's shape (3, 5)"):
        assert factor in text, factor
    assert " ".join(viz.LAYOUT.split()) in " ".join(text.split())
    explanation = section(stdout, 7)
    assert "dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15)" in explanation  # the same order
    difference = float(re.search(rf"the outer product: max \|difference\| ({FLOAT})", text).group(1))
    assert difference < 1e-12


def test_demo_runs_the_tutorials_loop_and_shows_dl_dz_per_sample(demo):
    text = section(demo[0], 5)
    assert "lr = 0.01" in text  # the tutorial's rate, not 0.1
    tutorial = (Path(__file__).resolve().parent.parent / "docs" / "tutorial.md").read_text()
    expected = re.findall(r"^# (sample \d: loss \S+)  dL/dz (\[[^\]]*\])", tutorial, flags=re.M)
    assert len(expected) == 5
    for (head, vector), line in zip(expected, re.findall(r"^sample \d: .*$", text, flags=re.M)):
        assert line.startswith(head) and numbers(vector) == numbers(line.split("dL/dz = a - y = ")[1])[:3]
    assert "row norms" not in demo[0]


def test_demo_says_how_iris_was_trained(demo):
    text = section(demo[0], 6)
    assert re.search(r"\b3 epochs of per-sample SGD \(batch size 1\), lr 0\.01", text)
    assert re.search(r"^test accuracy: \d\.\d{3}", text, flags=re.M)


def test_demo_never_prints_negative_zero(demo):
    assert not re.search(r"-0\.(?!\d*[1-9])", demo[0])


# --------------------------------------------------------------------------- item 6: pictures that fit


def svg_size(path):
    root = ET.parse(path).getroot()
    return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
@pytest.mark.parametrize("stem", ["graph", "graph_collapsed", "graph_backward"])
def test_demo_pictures_fit_a_slide_or_a_cell(demo, stem):
    width, height = svg_size(demo[1] / f"{stem}.svg")
    assert max(width / height, height / width) <= 3, f"{stem}.svg is {width:.0f} x {height:.0f} pt"


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
@pytest.mark.parametrize("options", [[], ["--collapse"], ["--backward"], ["--backward", "--collapse"], ["--values"]])
def test_graph_command_pictures_fit_too(tmp_path, options):
    code, _, stderr = run_main(["graph", "--out", tmp_path / "g.svg", *options])
    assert code == 0, stderr
    width, height = svg_size(tmp_path / "g.svg")
    assert max(width / height, height / width) <= 3, (options, width, height)


def test_demo_highlights_only_w(demo):
    red = viz.COLOURS["highlight"]
    for stem in ("graph", "graph_collapsed"):
        source = (demo[1] / f"{stem}.dot").read_text()
        outlined = [line for line in source.splitlines() if red in line and "->" not in line]
        assert len(outlined) == 1 and 'label="W\\n' in outlined[0], stem
    assert red not in (demo[1] / "graph_backward.dot").read_text()


# --------------------------------------------------------------------------- the small ones


def test_version():
    code, stdout, _ = run_main(["--version"])
    assert code == 0 and stdout.strip() == f"tinygrad-softmax {__version__}"
    done = subprocess.run([sys.executable, "-m", "tinygrad_softmax", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"tinygrad-softmax {__version__}"


@pytest.mark.parametrize("target", ["file", "/etc/passwd"])
def test_demo_out_that_is_a_file_is_one_plain_line(tmp_path, target):
    path = Path(target) if target.startswith("/") else tmp_path / "taken"
    if not path.exists():
        path.write_text("not a folder")
    before = path.read_bytes()
    code, stdout, stderr = run_main(["demo", "--out", path])
    assert code == 2 and stdout == ""
    assert stderr.strip() == f"tinygrad-softmax demo: error: --out {path}: a file, not a folder; give a folder " \
                             "for the pictures (it is created)"
    assert "Errno" not in stderr and path.read_bytes() == before


def test_demo_out_that_cannot_be_created_is_one_plain_line(tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_main(["demo", "--out", tmp_path / "file" / "below"])
    assert code == 2 and "Errno" not in stderr
    assert stderr.startswith(f"tinygrad-softmax demo: error: --out {tmp_path / 'file' / 'below'}: cannot create")


@pytest.mark.parametrize("name, fragment", [
    ("graph", "graph has no suffix to say the format; use .svg, .png, .pdf, .dot or .gv (e.g. graph.svg)"),
    ("graph.jpg", "unknown format '.jpg' in graph.jpg; use .svg, .png, .pdf, .dot or .gv"),
])
def test_graph_out_without_a_known_suffix_says_so(tmp_path, name, fragment):
    code, stdout, stderr = run_main(["graph", "--out", tmp_path / name])
    assert code == 2 and stdout == ""
    assert stderr.strip() == f"tinygrad-softmax graph: error: --out {tmp_path / name}: {fragment}"
    assert list(tmp_path.iterdir()) == []


def test_demo_without_dot_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "EPOCHS", 1)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, stdout, stderr = run_main(["demo", "--out", tmp_path / "out"])
    assert code == 0, stderr
    assert stdout.count(viz.INSTALL_HINT) == 1 and stdout.count("note:") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "backprop.html", "explanation.txt", "graph.dot", "graph_backward.dot", "graph_collapsed.dot"
    ]
    for stem in ("graph", "graph_collapsed", "graph_backward"):
        assert f"wrote {tmp_path / 'out' / stem}.dot" in stdout
