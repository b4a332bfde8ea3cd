"""docs/softmax_classifier.ipynb runs top to bottom, shows its graphs, and matches its generator.

The kernel is this test's own interpreter (``sys.executable``), whatever the
machine's Jupyter setup says "python3" is: the fixture writes a kernel spec
into a temporary directory and puts it first on ``JUPYTER_PATH``. So a fresh
venv with the ``dev`` extra is all CI needs, and a user's other kernels never
run the notebook against another installation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "softmax_classifier.ipynb"
GENERATOR = ROOT / "docs" / "make_notebook.py"
KERNEL_NAME = "tinygrad-softmax-tests"
GRAPH_CELLS = ("graph-collapsed", "graph-expanded", "backward-graph")


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec that launches ipykernel with the interpreter running the tests."""
    jupyter_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad_softmax tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    patch = pytest.MonkeyPatch()
    search_path = [str(jupyter_dir), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    patch.setenv("JUPYTER_PATH", os.pathsep.join(search_path))
    patch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning on stderr
    yield KERNEL_NAME
    patch.undo()


def execute(kernel_name: str, workdir: Path) -> nbformat.NotebookNode:
    """Run every cell in `workdir`; nbclient raises CellExecutionError on the first failing cell."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=300, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    """Error outputs, including those a display hook reports without failing the cell."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {cell.id}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" and "Traceback" in output.text:
                found.append(f"cell {cell.id}: traceback on stderr:\n{output.text}")
    return found


def outputs_of(nb: nbformat.NotebookNode, cell_id: str) -> list:
    return next(cell for cell in nb.cells if cell.id == cell_id).outputs


def test_notebook_runs_and_displays_graphs(kernel_name, tmp_path):
    nb = execute(kernel_name, tmp_path)
    assert not errors(nb), errors(nb)
    text = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))
    assert "largest difference from (a - y) x^T: 0.0" in text  # backward() equals the closed form
    assert "product of the three factors equals W.grad: True" in text
    assert "test accuracy 0.967" in text
    explanation = outputs_of(nb, "explain")[0].data
    assert "text/markdown" in explanation
    assert "dL/dW (1x15) = dL/da (1x3) @ da/dz (3x3) @ dz/dW (3x15)" in explanation["text/markdown"]
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed: graphs display as DOT text, so no SVG to check")
    for cell_id in GRAPH_CELLS:
        shown = [o for o in outputs_of(nb, cell_id) if o.output_type in ("execute_result", "display_data")]
        assert shown and "image/svg+xml" in shown[0].data, f"cell {cell_id} shows no SVG picture"
        assert "<svg" in shown[0].data["image/svg+xml"]


def test_notebook_runs_without_graphviz(kernel_name, tmp_path, monkeypatch):
    """Without the dot program the graph cells show DOT text instead of failing."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # the kernel is started by absolute path
    nb = execute(kernel_name, tmp_path)
    assert not errors(nb), errors(nb)
    for cell_id in GRAPH_CELLS:
        shown = [o for o in outputs_of(nb, cell_id) if o.output_type in ("execute_result", "display_data")]
        assert shown and shown[0].data["text/plain"].startswith("digraph"), cell_id


def test_notebook_is_committed_with_outputs_cleared():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} has outputs"


def test_notebook_matches_its_generator():
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr or done.stdout


def test_exported_executed_copy_is_current_and_has_its_pictures():
    """docs/softmax_classifier_executed.ipynb: same cells as the generator, every output kept."""
    sys.path.insert(0, str(GENERATOR.parent))
    try:
        import make_notebook
    finally:
        sys.path.remove(str(GENERATOR.parent))
    exported = nbformat.read(make_notebook.EXECUTED, as_version=4)
    source = make_notebook.build()
    assert [c.source for c in exported.cells] == [c.source for c in source.cells], (
        "the exported notebook is out of date: run python docs/make_notebook.py --executed"
    )
    code_cells = [c for c in exported.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code_cells if c.id != "setup")
    graphs = [c for c in code_cells if c.id in GRAPH_CELLS]
    assert graphs and all(any("image/svg+xml" in o.get("data", {}) for o in c.outputs) for c in graphs)
