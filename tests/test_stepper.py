"""viz.stepper (issue 15), without a browser: the page's steps and numbers are the engine's own pass.

tests/test_stepper_browser.py clicks through the same pages in Chromium.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

from tinygrad_softmax import Tensor, autograd, cli, viz
from tinygrad_softmax.autograd import backward_pass, seeds
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

HAS_DOT = shutil.which("dot") is not None


def classifier():
    """The notebook's first sample, as the demo builds it: (model, x, y, z, a, L)."""
    X, labels = make_seed_data(seed=0)
    return notebook_sample_graph(X[0], labels[0], 3, 0)


def engine(loss):
    """The engine's pass, run here: (visited nodes, their totals, the observe hook's events)."""
    events = []
    nodes, totals = backward_pass([loss], seeds([loss], None, "test"), observe=lambda *e: events.append(e))
    return nodes, totals, events


class Page(HTMLParser):
    """What a stepper page holds: each step's section with its <pre> values, and the step data."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[dict] = []
        self.result: list[dict] = []
        self._where: list | None = None
        self._pre: dict | None = None
        self._script = False
        self.data = None
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section" and "step" in attrs.get("class", ""):
            self.sections.append({"step": int(attrs["data-step"]), "node": attrs["data-node"], "pres": []})
            self._where = self.sections[-1]["pres"]
        elif tag == "div" and attrs.get("class") == "result":
            self._where = self.result
        elif tag == "pre":
            values = json.loads(attrs["data-values"]) if "data-values" in attrs else None
            self._pre = {"class": attrs.get("class"), "to": attrs.get("data-to"), "values": values, "text": ""}
        elif tag == "script" and attrs.get("id") == "stepper-data":
            self._script = True

    def handle_endtag(self, tag):
        if tag == "pre" and self._pre is not None:
            if self._where is not None:
                self._where.append(self._pre)
            self._pre = None
        elif tag == "section":  # the result box runs on to the end: only the visit order follows it
            self._where = None
        elif tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._pre is not None:
            self._pre["text"] += data
        if self._script:
            self.data = json.loads(data)


def as_array(values: dict) -> np.ndarray:
    return np.array([float(v) for v in values["values"]]).reshape(values["shape"])


def pres(section: dict, css: str) -> list[dict]:
    return [p for p in section["pres"] if p["class"] == css]


# --------------------------------------------------------------------------- the steps are the engine's


def test_collapsed_steps_are_the_notebooks_four_lines_in_the_engines_order():
    *_, L = classifier()
    page = viz.stepper(L, collapse=True)
    assert [t.name for t in page.nodes] == ["L", "a", "z", "W"]
    visited, totals, _ = engine(L)
    order = [i for i, t in enumerate(visited) if any(t is n for n in page.nodes)]
    assert order == sorted(order) and len(order) == 4  # the engine's own order, filtered to the boxes
    for t, g in zip(page.nodes, page.grads):
        np.testing.assert_array_equal(g, totals[next(i for i, n in enumerate(visited) if n is t)])
    assert re.search(r'<span id="counter"[^>]*>1 / 4</span>', page.html)


def test_expanded_steps_are_every_node_the_engine_visits_with_its_total():
    *_, L = classifier()
    page = viz.stepper(L)
    visited, totals, _ = engine(L)
    assert len(page.nodes) == len(visited) == 14
    assert all(a is b for a, b in zip(page.nodes, visited))
    parsed = Page(page.html)
    names = viz.Names(L)
    assert [s["node"] for s in parsed.sections] == [names.short_id(t) for t in visited]
    assert [s["node"] for s in parsed.data["steps"]] == [names.short_id(t) for t in visited]
    for section, total in zip(parsed.sections, totals):
        (shown,) = pres(section, "grad")
        np.testing.assert_array_equal(as_array(shown["values"]), total)  # exact: the engine's array
        assert shown["text"] == "\n".join(viz.format_values(total))  # as the pictures print numbers


def test_expanded_values_sent_are_the_observe_hooks_events():
    *_, L = classifier()
    visited, _, events = engine(L)
    names = viz.Names(L)
    parsed = Page(viz.stepper(L).html)
    for section, node in zip(parsed.sections, visited):
        mine = [(names.short_id(to), value) for sender, _, to, value in events if sender is node]
        shown = [(p["to"], as_array(p["values"])) for p in pres(section, "sent")]
        assert [key for key, _ in shown] == [key for key, _ in mine]
        for (_, got), (_, expected) in zip(shown, mine):
            np.testing.assert_array_equal(got, expected)


def test_collapsed_contributions_across_a_boundary_are_summed_from_the_hook():
    model, _x, _y, _z, _a, L = classifier()
    _, _totals, events = engine(L)
    to_w = [value for _, _, to, value in events if to is model.W]
    assert len(to_w) == 2  # the weights' slice and the bias column's, inside `linear`
    parsed = Page(viz.stepper(L, collapse=True).html)
    step_z = parsed.sections[2]
    (sent,) = pres(step_z, "sent")
    names = viz.Names(L)
    assert sent["to"] == names.short_id(model.W)
    np.testing.assert_array_equal(as_array(sent["values"]), to_w[0] + to_w[1])
    # every gradient a box receives arrives over its drawn edges: the sums of what was sent are the totals
    for section in parsed.sections[:3]:  # L, a, z
        (received,) = pres(section, "sent")
        following = parsed.sections[[s["node"] for s in parsed.sections].index(received["to"])]
        np.testing.assert_array_equal(as_array(received["values"]), as_array(pres(following, "grad")[0]["values"]))
    assert "outer(g, [x, 1])" in viz.stepper(L, collapse=True).html
    assert "g @ (diag(a) - a a^T)" in viz.stepper(L, collapse=True).html


def test_the_numbers_come_from_the_engines_pass_and_nowhere_else(monkeypatch):
    """A fake engine that doubles every gradient it reports: the page shows the doubled numbers."""
    real = autograd.backward_pass

    def doubled(roots, seed, retain_graph=True, observe=None):
        def observe2(node, index, parent, grad):
            observe(node, index, parent, grad * 2)

        nodes, totals = real(roots, seed, retain_graph, observe2 if observe else None)
        return nodes, [g * 2 for g in totals]

    *_, L = classifier()
    honest = Page(viz.stepper(L, collapse=True).html)
    monkeypatch.setattr(autograd, "backward_pass", doubled)
    faked = Page(viz.stepper(L, collapse=True).html)
    for a, b in zip(honest.sections, faked.sections):
        for p, q in zip(a["pres"], b["pres"]):
            np.testing.assert_array_equal(as_array(q["values"]), 2 * as_array(p["values"]))


def test_no_grad_is_read_or_changed():
    model, _x, _y, z, _a, L = classifier()
    viz.stepper(L)
    assert model.W.grad is None and z.grad is None
    L.backward()
    L.backward()  # W.grad now holds two passes; the page must show one
    before = model.W.grad.copy()
    page = viz.stepper(L, collapse=True)
    np.testing.assert_array_equal(model.W.grad, before)
    np.testing.assert_allclose(page.grads[-1], before / 2, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- the last step


def test_last_step_shows_dl_dw_next_to_the_closed_form():
    _model, x, y, _z, a, L = classifier()
    parsed = Page(viz.stepper(L, collapse=True).html)
    closed = np.outer(a.data - y, np.append(x, 1.0))
    final = next(p for p in parsed.result if p["class"] == "final")
    form = next(p for p in parsed.result if p["class"] == "closed")
    _, totals, _ = engine(L)
    np.testing.assert_array_equal(as_array(final["values"]), totals[-1])
    np.testing.assert_array_equal(as_array(form["values"]), closed)
    text = viz.stepper(L, collapse=True).html
    assert "(a - y) x^T" in text and "max |difference| = " in text
    difference = float(re.search(r"max \|difference\| = (\S+)</p>", text).group(1))
    assert difference < 1e-12
    assert "dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15)" in text  # the chain, as explain() says it
    assert "(a - y) x^T" in viz.stepper(L).html  # expanded too


def test_a_graph_that_is_not_the_notebooks_gets_no_closed_form_unless_given():
    w = Tensor([1.0, -2.0], requires_grad=True, name="w")
    out = (w * w).sum()
    out.name = "out"
    page = viz.stepper(out)
    assert "closed form" not in page.html and "dout/dw" in html.unescape(page.html)
    given = viz.stepper(out, closed_form=("2 w", 2 * w.data))
    assert "the closed form, <code>2 w</code>" in given.html and "max |difference| = 0.00e+00" in given.html


def test_wrt_must_be_reached_by_the_pass():
    *_, L = classifier()
    with pytest.raises(ValueError, match="stepper: the loss does not depend on `wrt`"):
        viz.stepper(L, wrt=Tensor([1.0], requires_grad=True))


def test_a_tensor_used_three_times_shows_three_arrivals_and_their_sum():
    x = Tensor(3.0, requires_grad=True, name="x")
    y = x * x + x
    y.name = "y"
    page = viz.stepper(y)
    parsed = Page(page.html)
    last = parsed.sections[-1]
    assert page.nodes[-1] is x and x.grad is None
    contributions = sorted(float(as_array(p["values"])) for p in pres(last, "contribution"))
    assert contributions == [1.0, 3.0, 3.0]
    assert float(as_array(pres(last, "grad")[0]["values"])) == 7.0
    assert "(the sum of these)" in page.html


# --------------------------------------------------------------------------- the page and its picture


def test_the_page_is_self_contained_and_asks_for_nothing():
    *_, L = classifier()
    text = viz.stepper(L).html
    assert text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text  # the page itself forbids every fetch
    parsed = Page(text)
    for tag, attrs in parsed.tags:
        assert not {"src", "href", "xlink:href", "action", "srcset"} & set(attrs), (tag, attrs)
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
    assert "url(" not in text and "@import" not in text and "fetch(" not in text and "XMLHttpRequest" not in text


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
@pytest.mark.parametrize("collapse", [True, False])
def test_the_picture_fits_a_slide(collapse):
    *_, L = classifier()
    page = viz.stepper(L, collapse=collapse)
    svg = re.search(r"<svg\b.*?</svg>", page.html, flags=re.S).group(0)
    root = ET.fromstring(svg)
    width, height = (float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert max(width / height, height / width) <= 3, (width, height)
    keys = {g.get("data-key") for g in root.iter("{http://www.w3.org/2000/svg}g") if "tensor" in g.get("class", "")}
    assert {viz.Names(L).short_id(t) for t in page.nodes} <= keys  # every step's box is in the picture
    grad_lines = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "grad"]
    assert grad_lines and all(t.text.startswith(("grad ", "[")) for t in grad_lines)


def test_without_dot_the_page_says_how_to_install_graphviz_and_keeps_the_steps(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    *_, L = classifier()
    page = viz.stepper(L, collapse=True, path=tmp_path / "p.html")
    assert not page.has_picture and "<svg" not in page.html
    assert viz.INSTALL_HINT in html.unescape(page.html)
    assert len(Page(page.html).sections) == 4 and (tmp_path / "p.html").read_text() == page.html


def test_in_jupyter_it_is_an_iframe_holding_the_page():
    *_, L = classifier()
    page = viz.stepper(L, collapse=True)
    shown = page._repr_html_()
    srcdoc = re.search(r'srcdoc="([^"]*)"', shown).group(1)
    assert shown.startswith("<iframe") and html.unescape(srcdoc) == page.html
    assert 'sandbox="allow-scripts"' in shown  # scripts run, but the page cannot touch the notebook
    assert "4 steps" in repr(page)


# --------------------------------------------------------------------------- the command line


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    options = np.get_printoptions()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in argv])
    finally:
        np.set_printoptions(**options)
    return code, out.getvalue(), err.getvalue()


def test_graph_steps_writes_the_page(tmp_path):
    code, stdout, stderr = run_main(["graph", "--steps", tmp_path / "out.html"])
    assert code == 0, stderr
    assert stdout == f"wrote {tmp_path / 'out.html'} (14 steps)\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "out.html"]  # only the page: no graph.svg beside it
    code, stdout, _ = run_main(["graph", "--steps", tmp_path / "c.html", "--collapse", "--out", tmp_path / "g.dot"])
    assert code == 0 and "(4 steps)" in stdout and (tmp_path / "g.dot").is_file()


def test_graph_steps_refuses_a_name_that_is_not_html(tmp_path):
    code, stdout, stderr = run_main(["graph", "--steps", tmp_path / "out.svg"])
    assert code == 2 and stdout == "" and list(tmp_path.iterdir()) == []
    assert stderr.strip() == f"tinygrad-softmax graph: error: --steps {tmp_path / 'out.svg'}: the page is HTML; " \
                             "give a name ending in .html"


def test_graph_steps_without_dot_writes_the_text_page_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, stderr = run_main(["graph", "--steps", tmp_path / "out.html"])
    assert code == 0 and viz.INSTALL_HINT in stderr and (tmp_path / "out.html").is_file()


def test_demo_writes_backprop_html_the_collapsed_page_of_the_first_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "EPOCHS", 1)
    code, stdout, stderr = run_main(["demo", "--out", tmp_path / "demo"])
    assert code == 0, stderr
    assert f"wrote {tmp_path / 'demo' / 'backprop.html'}" in stdout
    page = (tmp_path / "demo" / "backprop.html").read_text()
    assert run_main(["graph", "--steps", tmp_path / "same.html", "--collapse"])[0] == 0
    assert page == (tmp_path / "same.html").read_text()  # what docs/images/make_screenshot.py photographs
    assert [step["name"] for step in Page(page).data["steps"]] == ["L", "a", "z", "W"]


# --------------------------------------------------------------------------- a plain executed notebook


def test_an_executed_notebook_holds_the_page_in_its_output(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "stepper-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "stepper test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from tinygrad_softmax import viz\nfrom tinygrad_softmax.cli import "
                                  "notebook_sample_graph\nfrom tinygrad_softmax.datasets import make_seed_data\n"
                                  "X, labels = make_seed_data(seed=0)\n*_, L = notebook_sample_graph(X[0], "
                                  "labels[0], 3, 0)"),
        nbformat.v4.new_code_cell("L.graph(steps=True, collapse=True)"),  # what docs/visualisation.md shows
    ])
    nbclient.NotebookClient(nb, kernel_name="stepper-test", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[1].outputs
    shown = output["data"]["text/html"]
    assert shown == viz.stepper(classifier()[-1], collapse=True)._repr_html_()
    assert output["data"]["text/plain"].startswith("<Stepper: ")
