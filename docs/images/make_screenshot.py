"""The README's screenshot of the backward-pass page: run ``python docs/images/make_screenshot.py``.

It writes the page that ``tinygrad-softmax demo`` writes as ``backprop.html`` (the
notebook's first sample, composites collapsed: L -> a -> z -> W), opens it from disk in
headless Chromium, moves to step 3 and saves ``backprop_step3.png`` next to itself.

This is also the browser helper of tests/test_stepper_browser.py: Debian's own
``chromium`` (``apt-get install chromium``) driven by Playwright (``pip install
playwright``), which is never asked to download a browser of its own. Every request the
page makes is recorded and only the page's own file is let through.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCREENSHOT = HERE / "backprop_step3.png"
CHROMIUM = "/usr/bin/chromium"
# Headless in a container: no sandbox (root), no GPU, no /dev/shm limits, and nothing of the
# browser's own that would reach the network (updates, sync, first-run pages).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str | None:
    """The Chromium to drive: Debian's, else one on PATH; None when there is none."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable() -> str | None:
    """Why the browser cannot be driven here (a sentence), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright (pip install playwright)"
    if chromium_path() is None:
        return "needs Chromium at /usr/bin/chromium (apt-get install chromium)"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's Browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_offline(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """Open the file `path` in a fresh context: (the page, every URL it requested).

    Only the page's own file:// URL is let through; anything else is recorded and aborted,
    so a page that tried to reach the network shows up in the list (and still loads nothing).
    """
    url = path.resolve().as_uri()
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))

    def only_the_page(route: Any) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_page)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.errors = errors  # the script's uncaught errors, for the caller to check
    return page, requests


def write_demo_page(path: Path) -> Path:
    """The page `tinygrad-softmax demo` writes as backprop.html (seed 0), by the same command line."""
    from tinygrad_softmax.cli import main

    if main(["graph", "--steps", str(path), "--collapse"]) != 0:
        raise SystemExit("tinygrad-softmax graph --steps failed")
    return path


def take(step: int = 3, out: Path = SCREENSHOT) -> Path:
    reason = unavailable()
    if reason:
        raise SystemExit(f"make_screenshot.py {reason}")
    with tempfile.TemporaryDirectory() as folder, chromium() as browser:
        page, requests = open_offline(browser, write_demo_page(Path(folder) / "backprop.html"))
        for _ in range(step - 1):
            page.click("#next")
        bottom = page.evaluate("Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)")
        page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": bottom})
        if page.errors or requests != [Path(folder, "backprop.html").resolve().as_uri()]:
            raise SystemExit(f"the page misbehaved: errors {page.errors}, requests {requests}")
    return out


if __name__ == "__main__":
    print(take(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
