"""Documentation that runs: every ```python block in README.md and docs/ is executed, and CI agrees with README.

What the docs show cannot drift from what the code does: a ```text block right after a python
block is that block's whole output and is compared with what it prints now, and every picture in
docs/images/ is compared with what docs/images/make_images.py draws now.
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

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
PARTIAL = "# partial"  # first line of a block that is deliberately not runnable on its own


def python_blocks(page: Path) -> list[str]:
    return [b for b in BLOCK.findall(page.read_text()) if not b.lstrip().startswith(PARTIAL)]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace: dict = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), start=1):
        try:
            exec(compile(block, f"{page.name}, block {number}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"{page.name} block {number} raised {type(exc).__name__}: {exc}\n{block}")


VALUE_START = re.compile(r"""[-+\d\[(\{'"]|True|False|None|Tensor\(|array\(""")
TRAILING_WORD = re.compile(r"[A-Za-z0-9.,:;'-]*[A-Za-z][A-Za-z0-9.,:;'-]*")


def printed_value_comments(block: str) -> list[str]:
    """Comments like ``print(x)  # [1. 2.]`` whose text starts with a value (not an explanation)."""
    found = []
    for line in block.splitlines():
        match = re.match(r"\s*print\(.*\)\s*#\s*(.+)$", line)
        if match and VALUE_START.match(match.group(1)):
            found.append(" ".join(match.group(1).split()))
    return found


def comment_matches(expected: str, printed: str) -> bool:
    """The value part of a comment appears in what the block printed (a trailing remark may follow)."""
    candidates = [expected, expected.split(": ")[0], expected.split(" (")[0]]
    words = expected.split()
    while len(words) > 1 and TRAILING_WORD.fullmatch(words[-1]):
        words = words[:-1]
        candidates.append(" ".join(words).rstrip(":,"))
    return any(c and c in printed for c in candidates)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_printed_values_match_their_comments(page, tmp_path, monkeypatch):
    """A ``# value`` comment after a print shows what the block really prints."""
    monkeypatch.chdir(tmp_path)
    for number, (block, output) in enumerate(zip(python_blocks(page), printed_outputs(page)), start=1):
        printed = " ".join(output.split())
        for expected in printed_value_comments(block):
            assert comment_matches(expected, printed), f"{page.name} block {number} shows {expected!r}"


PRINTED: dict[Path, list[str]] = {}  # each page's outputs, block by block, from its last run


def printed_outputs(page: Path) -> list[str]:
    """Run a page's blocks in order (in the current folder) and return what each printed; the
    outputs are kept, so the check of the shown outputs below reuses this run of a slow page."""
    namespace: dict = {"__name__": "__docs__"}
    outputs = []
    for number, block in enumerate(python_blocks(page), start=1):
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, f"{page.name}, block {number}", "exec"), namespace)
        outputs.append(output.getvalue())
    PRINTED[page] = outputs
    return outputs


def test_images_referenced_by_docs_exist():
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} shows a missing image {target}"


def test_local_links_in_docs_exist():
    for page in PAGES:
        for target in re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)[^)]*\)", page.read_text()):
            if not target.startswith(("http", "mailto:")):
                assert (page.parent / target).exists(), f"{page.name} links to a missing file {target}"


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", readme, re.S)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines, f".ci/run must run README's test command: {test_command}"


# ------------------------------------------------------------------ shown outputs and pictures cannot drift

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def fenced_blocks(page: Path) -> list[tuple[str, str, bool]]:
    """(language, body, follows_python) of every fenced block; `follows_python` when only blank
    lines separate it from the python block before it."""
    text = page.read_text()
    blocks, previous_end, previous_language = [], None, None
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        follows = previous_language == "python" and not text[previous_end:match.start()].strip()
        blocks.append((language, body, follows))
        previous_end, previous_language = match.end(), language
    return blocks


def shown_outputs(page: Path) -> list[tuple[int, str]]:
    """(python block number, the text block right after it) for each output a page shows."""
    shown, number = [], 0
    for language, body, follows in fenced_blocks(page):
        if language == "python" and not body.lstrip().startswith(PARTIAL):
            number += 1
        elif language == "text":
            assert follows, f"{page.name}: a ```text block must directly follow the python block that prints it"
            shown.append((number, body))
    return shown


def normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


OUTPUT_PAGES = [p for p in PAGES if shown_outputs(p)]


def test_the_output_blocks_are_found():
    """Guard the guard: the explain() outputs of the tutorial and the visualisation guide are checked."""
    assert {p.name for p in OUTPUT_PAGES} >= {"tutorial.md", "visualisation.md"}


@pytest.mark.parametrize("page", OUTPUT_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shown_outputs_are_what_the_code_prints(page, tmp_path, monkeypatch):
    """A ```text block after a python block is that block's whole output, as the code prints it now."""
    monkeypatch.chdir(tmp_path)
    outputs = PRINTED.get(page) or printed_outputs(page)  # the run of the comments' check, when it ran
    for number, shown in shown_outputs(page):
        printed = outputs[number - 1]
        assert normalised(printed) == normalised(shown), (
            f"{page.name}: the output shown after python block {number} is stale; it now prints:\n{printed}"
        )


IMAGES = ROOT / "docs" / "images"
HAS_DOT = shutil.which("dot") is not None


def committed_pictures() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(IMAGES.glob("*.svg"))}


def current_pictures() -> dict:
    """What docs/images/make_images.py draws now: file name -> graphviz graph."""
    sys.path.insert(0, str(IMAGES))
    try:
        import make_images
    finally:
        sys.path.remove(str(IMAGES))
    return make_images.pictures()


def svg_content(svg: str) -> tuple[list[str], list[str]]:
    """What an SVG says, apart from where things are: its titles (node ids, edges) and its texts, in order."""
    root = ET.fromstring(svg)
    titles = [el.text or "" for el in root.iter() if el.tag.endswith("title")]
    texts = [el.text or "" for el in root.iter() if el.tag.endswith("text")]
    return titles, texts


def graphviz_version(svg: str) -> str | None:
    match = re.search(r"Generated by graphviz version ([^\n]+)", svg)
    return match.group(1).strip() if match else None


def without_comments(svg: str) -> str:
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def test_every_committed_picture_is_one_the_code_draws():
    assert sorted(current_pictures()) == sorted(committed_pictures()), (
        "docs/images/*.svg and make_images.pictures() must name the same files"
    )


def test_committed_pictures_have_the_current_nodes_and_edges():
    """Needs no Graphviz: the DOT node ids and edges drawn now are the ones in each committed SVG."""
    committed = committed_pictures()
    for name, graph in current_pictures().items():
        titles, _ = svg_content(committed[name])
        source = graph.source
        boxes = re.findall(r"^\s*(\w+) \[label=", source, flags=re.M) + re.findall(r"subgraph (cluster_\w+)", source)
        edges = [f"{tail}->{head}" for tail, head in re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)]
        expected = [graph.name, *sorted(boxes), *sorted(edges)]
        drawn = titles[1:]
        shown = [*titles[:1], *sorted(t for t in drawn if "->" not in t), *sorted(t for t in drawn if "->" in t)]
        assert shown == expected, f"docs/images/{name} is stale: run python docs/images/make_images.py"


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_committed_pictures_are_what_make_images_draws_now():
    """Rendered again, each picture says the same; with the Graphviz that made them, byte for byte."""
    version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr
    for name, committed in committed_pictures().items():
        fresh = current_pictures()[name].pipe(format="svg").decode()
        hint = f"docs/images/{name} is stale: run python docs/images/make_images.py"
        assert svg_content(fresh) == svg_content(committed), hint
        if graphviz_version(committed) and graphviz_version(committed) in version:  # layout too
            assert without_comments(fresh) == without_comments(committed), hint


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program")
def test_committed_pictures_fit_a_slide():
    for name, committed in committed_pictures().items():
        width, height = svg_size(committed)
        assert max(width / height, height / width) <= 3, f"{name} is {width:.0f} x {height:.0f} pt"


def svg_size(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))
