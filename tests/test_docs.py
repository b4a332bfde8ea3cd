"""Documentation that runs: every ```python block in README.md and docs/ is executed, and CI agrees with README."""

from __future__ import annotations

import contextlib
import io
import re
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
    namespace: dict = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), start=1):
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, f"{page.name}, block {number}", "exec"), namespace)
        printed = " ".join(output.getvalue().split())
        for expected in printed_value_comments(block):
            assert comment_matches(expected, printed), f"{page.name} block {number} shows {expected!r}"


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
