"""docs/api.md has an entry for every public name, so the reference cannot fall behind the code.

An entry is a heading or a table row whose first code span starts with the
name, written as it is used: ``Tensor.sum``, ``functional.softmax``,
``ops.Exp``, ``tinygrad-softmax train``. Names that are not defined yet are
skipped (``hasattr``), so work in progress elsewhere does not break this test;
once a name exists, it needs its entry.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import tinygrad_softmax
from tinygrad_softmax import Function, Tensor, cli, datasets, functional, layers, nn, ops, optim, viz

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api.md"
MODULES = {"functional": functional, "nn": nn, "optim": optim, "layers": layers, "datasets": datasets, "viz": viz}
# Names that exist only while other work is in progress; documented ahead of time.
PLANNED = {("exercises", "check")}


def documented_names() -> set[str]:
    """The leading name of the first code span of every heading and table row of docs/api.md."""
    names = set()
    for line in API.read_text().splitlines():
        if not line.startswith(("#", "|")):
            continue
        span = re.search(r"`([^`]+)`", line)
        if span:
            lead = re.match(r"(tinygrad-softmax [\w-]+|[\w.]+)", span.group(1).strip())
            if lead:
                names.add(lead.group(1))
    return names


def module_public_names(module) -> list[str]:
    """``__all__`` when the module has one, else the public names its own source defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    tree = ast.parse(inspect.getsource(module))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


def tensor_public_names() -> list[str]:
    """Methods, properties and data attributes of Tensor (``graph`` comes with viz, imported above)."""
    return [n for n in dir(Tensor) if not n.startswith("_")]


def op_classes() -> list[str]:
    def is_op(obj) -> bool:
        return isinstance(obj, type) and issubclass(obj, Function) and obj is not Function

    return [name for name, obj in vars(ops).items() if is_op(obj)]


def cli_commands() -> list[str]:
    subparsers = next(a for a in cli._parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return list(subparsers.choices)


def required_entries() -> list[str]:
    entries = [name for name in tinygrad_softmax.__all__ if hasattr(tinygrad_softmax, name)]
    entries += [f"Tensor.{name}" for name in tensor_public_names()]
    for prefix, module in MODULES.items():
        entries += [f"{prefix}.{name}" for name in module_public_names(module) if hasattr(module, name)]
    entries += [f"ops.{name}" for name in op_classes()]
    entries += [f"tinygrad-softmax {command}" for command in cli_commands()]
    try:
        from tinygrad_softmax import exercises
    except ImportError:
        exercises = None
    for module_name, name in PLANNED:
        if exercises is not None and module_name == "exercises" and hasattr(exercises, name):
            entries.append(f"exercises.{name}")
    return entries


def test_the_name_lists_are_not_empty():
    """Guard the guard: if discovery broke, every entry would 'pass' vacuously."""
    entries = required_entries()
    for expected in ("Tensor", "Tensor.backward", "Tensor.sum", "functional.softmax", "ops.MatMul", "viz.to_dot",
                     "tinygrad-softmax graph", "gradcheck"):
        assert expected in entries, expected
    assert len(entries) > 80


@pytest.mark.parametrize("name", required_entries())
def test_public_name_has_an_entry_in_api_md(name):
    assert name in documented_names(), (
        f"docs/api.md has no entry for `{name}`: add a heading or a table row whose first code span starts with it"
    )


def test_entries_name_things_that_exist():
    """The reverse direction: a documented ``module.name`` or ``Tensor.name`` that no longer exists is stale."""
    owners = {"Tensor": Tensor, "ops": ops, **MODULES}
    stale = []
    for entry in documented_names():
        if entry.startswith("tinygrad-softmax "):
            if entry.split()[1] not in cli_commands():
                stale.append(entry)
            continue
        head, _, rest = entry.partition(".")
        if head not in owners or not rest:
            continue  # top-level names, option names in tables, planned modules
        target = owners[head]
        for part in rest.split("."):
            target = getattr(target, part, None)
        if target is None:
            stale.append(entry)
    assert not stale, f"docs/api.md documents names that do not exist: {sorted(stale)}"
