"""The stepper page in a real browser (issue 15): Debian's Chromium, headless, driven by Playwright.

Each page is opened from disk (file://), clicked through with Next, Previous, the keys and
the slider, and what it highlights and shows is checked against the engine's own pass, run
here. Every request is recorded; only the page's file may be loaded. One browser serves the
whole module. The browser helper is docs/images/make_screenshot.py, which also takes the
README's screenshot. Skipped, with the reason, only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_softmax import Tensor, viz
from tinygrad_softmax.autograd import backward_pass, seeds
from tinygrad_softmax.cli import notebook_sample_graph
from tinygrad_softmax.datasets import make_seed_data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "images"))
try:
    import make_screenshot as helper
finally:
    sys.path.remove(str(ROOT / "docs" / "images"))

REASON = helper.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def browser():
    with helper.chromium() as browser:
        yield browser


def classifier():
    X, labels = make_seed_data(seed=0)
    return notebook_sample_graph(X[0], labels[0], 3, 0)


def engine(loss):
    events = []
    nodes, totals = backward_pass([loss], seeds([loss], None, "test"), observe=lambda *e: events.append(e))
    return nodes, totals, events


def shown_array(pre) -> np.ndarray:
    data = json.loads(pre.get_attribute("data-values"))
    return np.array([float(v) for v in data["values"]]).reshape(data["shape"])


def text_of(array) -> str:
    return "\n".join(viz.format_values(array))


def visible_section(page):
    return page.locator("section.step:not([hidden])")


def current_keys(page) -> list[str]:
    return page.eval_on_selector_all("#graph g.node.current", "els => els.map(e => e.dataset.key)")


def check_step(page, number, count, keys, totals_by_key):
    """Step `number` (from 1) shows what the engine did at its visit: the node, its total."""
    assert page.inner_text("#counter") == f"{number} / {count}"
    key = keys[number - 1]
    assert current_keys(page) == [key]
    assert page.eval_on_selector_all("#order li.current", "els => els.map(e => e.dataset.node)") == [key]
    section = visible_section(page)
    assert section.count() == 1 and section.get_attribute("data-node") == key
    grad = section.locator("pre.grad")
    np.testing.assert_array_equal(shown_array(grad), totals_by_key[key])  # exact: the engine's array
    assert grad.inner_text() == text_of(totals_by_key[key])  # what a reader sees
    visited = page.eval_on_selector_all("#graph g.tensor.visited", "els => els.map(e => e.dataset.key)")
    assert sorted(visited) == sorted(keys[:number])
    # a visited box shows its gradient, a box still to come hides it
    visibility = page.eval_on_selector_all(
        "#graph g.tensor text.grad",
        "els => els.map(e => [e.parentNode.dataset.key, getComputedStyle(e).visibility])",
    )
    for owner, seen in visibility:
        assert seen == ("visible" if owner in keys[:number] else "hidden"), (number, owner, seen)
    assert page.is_visible(".result") == (number == count)
    assert page.is_disabled("#next") == (number == count) and page.is_disabled("#prev") == (number == 1)


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program for the picture")
@pytest.mark.parametrize("collapse", [True, False], ids=["collapsed", "expanded"])
def test_next_previous_keys_and_slider_show_the_engines_steps(browser, tmp_path, collapse):
    model, x, y, z, a, L = classifier()
    path = viz.stepper(L, collapse=collapse, path=tmp_path / "backprop.html").path
    nodes, totals, events = engine(L)
    names = viz.Names(L)
    drawn = viz.stepper(L, collapse=collapse).nodes
    keys = [names.short_id(t) for t in drawn]
    totals_by_key = {names.short_id(t): g for t, g in zip(nodes, totals)}
    assert keys == [names.short_id(t) for t in nodes if any(t is d for d in drawn)]  # the engine's order
    count = len(keys)
    assert count == (4 if collapse else 14)

    page, requests = helper.open_offline(browser, path)
    check_step(page, 1, count, keys, totals_by_key)
    for number in range(2, count + 1):
        page.click("#next")
        check_step(page, number, count, keys, totals_by_key)
        sent = visible_section(page).locator("pre.sent")
        if not collapse:  # each value sent is one of the hook's events, in its order
            mine = [value for sender, _, _, value in events if sender is nodes[number - 1]]
            assert sent.count() == len(mine)
            for i, value in enumerate(mine):
                np.testing.assert_array_equal(shown_array(sent.nth(i)), value)
                assert sent.nth(i).inner_text() == text_of(value)
        elif keys[number - 1] == names.short_id(z):  # linear's two contributions to W, summed
            to_w = [value for _, _, to, value in events if to is model.W]
            np.testing.assert_array_equal(shown_array(sent.first), to_w[0] + to_w[1])
    # the last step: dL/dW from the pass, next to the closed form
    result = page.locator(".result")
    np.testing.assert_array_equal(shown_array(result.locator("pre.final")), totals_by_key[names.short_id(model.W)])
    np.testing.assert_array_equal(shown_array(result.locator("pre.closed")), np.outer(a.data - y, np.append(x, 1)))
    assert "(a - y) x^T" in result.inner_text()
    page.screenshot(path=str(tmp_path / "last_step.png"))
    assert (tmp_path / "last_step.png").stat().st_size > 10_000
    page.click("#next", force=True)  # disabled at the end: a click does nothing
    check_step(page, count, count, keys, totals_by_key)

    for number in range(count - 1, 0, -1):
        page.click("#prev")
        check_step(page, number, count, keys, totals_by_key)

    page.locator("body").click(position={"x": 5, "y": 5})  # the keys work wherever the focus is not the slider
    page.keyboard.press("End")
    check_step(page, count, count, keys, totals_by_key)
    page.keyboard.press("Home")
    check_step(page, 1, count, keys, totals_by_key)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    check_step(page, 3, count, keys, totals_by_key)
    page.keyboard.press("ArrowLeft")
    check_step(page, 2, count, keys, totals_by_key)

    page.locator("#slider").fill("3")
    check_step(page, 3, count, keys, totals_by_key)
    page.focus("#slider")
    page.keyboard.press("ArrowRight")  # the slider moves itself, one step, not two
    check_step(page, 4, count, keys, totals_by_key)

    assert page.errors == []
    assert requests == [path.resolve().as_uri()]  # nothing but the page itself


def test_without_dot_the_text_steps_still_work(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    *_, L = classifier()
    path = viz.stepper(L, collapse=True, path=tmp_path / "text.html").path
    page, requests = helper.open_offline(browser, path)
    assert "apt-get install graphviz" in page.inner_text("#graph") and page.locator("svg").count() == 0
    page.click("#next")
    page.click("#next")
    assert page.inner_text("#counter") == "3 / 4"
    assert page.inner_text("#order li.current .name") == "z"
    assert page.eval_on_selector_all("#order li.visited", "els => els.length") == 3  # with their gradients
    assert page.errors == [] and requests == [path.resolve().as_uri()]


def test_the_jupyter_output_steps_inside_its_frame(browser):
    """What a notebook cell shows (`_repr_html_`): the page in a sandboxed frame, its buttons working."""
    *_, a, L = classifier()
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(viz.stepper(L, collapse=True)._repr_html_())
    frame = page.frame_locator("iframe.tinygrad-stepper")
    frame.locator("#next").click()
    assert frame.locator("#counter").inner_text() == "2 / 4"
    assert frame.locator("section.step:not([hidden])").get_attribute("data-node") == viz.Names(L).short_id(a)
    assert errors == [] and requests == []
    context.close()


def test_the_request_recorder_does_catch_a_request(browser, tmp_path):
    """Guard the guard: a page that asks for something shows up in the list (and gets nothing)."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://127.0.0.1:9/pixel.png"><p>x</p>')
    page, requests = helper.open_offline(browser, leaky)
    page.wait_for_load_state("load")
    assert requests == [leaky.resolve().as_uri(), "http://127.0.0.1:9/pixel.png"]


def test_a_user_graph_with_a_repeated_input(browser, tmp_path):
    x = Tensor(3.0, requires_grad=True, name="x")
    y = x * x + x
    y.name = "y"
    path = viz.stepper(y, path=tmp_path / "diamond.html").path
    page, requests = helper.open_offline(browser, path)
    page.keyboard.press("End")
    section = visible_section(page)
    assert section.get_attribute("data-node") == viz.Names(y).short_id(x)
    assert sorted(section.locator("pre.contribution").all_inner_texts()) == ["1.", "3.", "3."]
    assert section.locator("pre.grad").inner_text() == "7."
    assert page.errors == [] and requests == [path.resolve().as_uri()]
