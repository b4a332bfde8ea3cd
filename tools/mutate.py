#!/usr/bin/env python3
"""Mutation testing of the engine: how many small wrong versions of the code do the engine tests catch?

Stdlib only. It parses a target file with `ast`, lists the places where one small edit
("mutant") can be made, and runs the fast engine tests (``-m engine``, the files named by
``ENGINE_TEST_FILES`` in tests/conftest.py) against each mutant, one at a time. A mutant whose
tests still pass "survived": either the tests miss a behaviour, or the edit cannot change any
behaviour (an "equivalent" mutant, listed with its reason in tools/mutation-equivalents.json).

The mutants never touch the source tree. The source defaults to the repository this tool sits in
(``--source`` to change it); the tool mirrors it into a private copy (a fresh temporary directory per
job, removed at the end, unless ``--copy DIR`` is given: then DIR, and DIR-1, DIR-2... for more
jobs, kept for the next run), writes each mutant over the copy's file, runs pytest there with
``PYTHONPATH`` pointing at the copy (checked by importing the package), and always restores the
file (a ``.orig`` backup left by a crashed run is restored at start). A copy that is, holds or lies
inside the source tree is refused.

Mutants: operator swaps (``+``/``-``, ``*``/``/``, ``@``/``*``...), comparison swaps (``<``/``<=``,
``==``/``!=``, ``is``/``is not``, ``in``/``not in``), ``and``/``or``, negated conditions, removed
unary ``-``/``not``/``~``, constants changed (ints +1, floats +1.0, True/False, a compared string
emptied), deleted statements, ``return X`` -> ``return None``, dropped call arguments and
keywords (``keepdims=``, ``axis=``...), keyword values set to None, the first two positional
arguments swapped, the two values of a returned pair swapped (a backward's gradients given to the
wrong input), ``.T`` dropped (a missing transposition) and ``.copy()`` dropped (an aliased
buffer). Docstrings, message text and graph-label wording are not mutated.

Score = (killed + timed out) / (run - equivalent), and also (killed + timed out) / run.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python tools/mutate.py --list --file tinygrad_softmax/ops.py       # the mutants, not run
    .venv/bin/python tools/mutate.py --sample 80 --seed 1 --jobs 2                # all six engine files
    .venv/bin/python tools/mutate.py --file tinygrad_softmax/ops.py --sample 120 --seed 1
    .venv/bin/python tools/mutate.py --rerun tools/mutation-report.json          # only last run's survivors
    .venv/bin/python tools/mutate.py --copy /tmp/mc --no-refresh ...               # reuse a kept copy

The report is printed and written to tools/mutation-report.md (and .json, which --rerun reads: a
rerun runs the previous survivors again and writes the previous results with theirs updated).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import filecmp
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent
DEFAULT_FILES = [
    "tinygrad_softmax/ops.py",
    "tinygrad_softmax/autograd.py",
    "tinygrad_softmax/tensor.py",
    "tinygrad_softmax/function.py",
    "tinygrad_softmax/functional.py",
    "tinygrad_softmax/grad_mode.py",
]
EXCLUDED = {".venv", ".ci-venvs", ".git", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__",
            "tinygrad_softmax_out", "build", "dist"}
EQUIVALENTS_FILE = HERE / "mutation-equivalents.json"
FIRST_TESTS = ("test_engine_mutants.py,test_ops.py,test_ops_more.py,test_backward.py,test_tensor.py,"
               "test_functional.py,test_grad_mode.py,test_function_api.py,test_grad_api.py,test_dtypes.py")

# ------------------------------------------------------------------------------------ mutants

BINOP_SWAPS = {
    ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"), ast.Mod: ("%", "*"), ast.Pow: ("**", "*"), ast.MatMult: ("@", "*"),
    ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&"), ast.BitXor: ("^", "|"),
    ast.LShift: ("<<", ">>"), ast.RShift: (">>", "<<"),
}
COMPARE_SWAPS = {
    ast.Lt: (r"<", "<="), ast.LtE: (r"<=", "<"), ast.Gt: (r">", ">="), ast.GtE: (r">=", ">"),
    ast.Eq: (r"==", "!="), ast.NotEq: (r"!=", "=="), ast.Is: (r"\bis\b", "is not"),
    ast.IsNot: (r"\bis\s+not\b", "is"), ast.In: (r"\bin\b", "not in"), ast.NotIn: (r"\bnot\s+in\b", "in"),
}
UNARY_REMOVALS = {ast.Not: r"not\b\s*", ast.USub: r"-\s*", ast.Invert: r"~\s*"}
MESSAGE_CALLS = {"warn", "warning", "print", "format"}
DISPLAY_NAMES = {"label"}  # graph-picture wording: `label = "g * exp(x)"`, `scope(..., label=...)`


@dataclasses.dataclass
class Mutant:
    file: str          # path relative to the repository root
    line: int          # 1-based line of the edit
    operator: str      # the kind of edit
    scope: str         # the enclosing function or class ("Sum.forward"), or "<module>"
    start: int         # byte offsets of the replaced text in the file
    stop: int
    replacement: str
    original_line: str = ""
    mutated_line: str = ""
    number: int = 0    # position in the file's full list of mutants

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}#{self.number}"

    def key(self) -> tuple[str, str, str, str, str]:
        """What identifies a mutant across edits elsewhere in the file (line numbers shift)."""
        return (self.file, self.scope, self.operator, self.original_line.strip(), self.mutated_line.strip())

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement.encode() + source[self.stop :]


class _Sites:
    """Collects the mutants of one file; offsets are in bytes, as `ast` gives columns."""

    def __init__(self, path: str, source: bytes) -> None:
        self.path, self.source = path, source
        self.text = source.decode()
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.tree = ast.parse(source)
        self.found: list[Mutant] = []
        self.annotation_only = _annotation_only_names(self.tree)

    # -- positions
    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def add(self, node: ast.AST, operator: str, scope: str, start: int, stop: int, replacement: str) -> None:
        self.found.append(Mutant(self.path, node.lineno, operator, scope, start, stop, replacement))

    def find_token(self, start: int, stop: int, pattern: str) -> tuple[int, int] | None:
        """The first match of `pattern` in source[start:stop], outside comments (the gap between two operands)."""
        gap = self.source[start:stop].decode()
        cleaned = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), gap)
        match = re.search(pattern, cleaned)
        if match is None:
            return None
        before = len(gap[: match.start()].encode())
        return start + before, start + before + len(match.group().encode())

    # -- the walk
    def walk(self) -> list[Mutant]:
        self.body(self.tree.body, "<module>", module=True)
        return self.found

    def body(self, statements: list[ast.stmt], scope: str, module: bool = False) -> None:
        for stmt in statements:
            if isinstance(stmt, ast.Expr) and _is_text(stmt.value):
                continue  # a docstring (or a bare string): not code
            if module and self.is_annotation_alias(stmt):
                continue
            if _is_display_text(stmt):
                continue  # `label = "g * exp(x)"`: words for graph pictures, like a docstring
            self.statement(stmt, scope)

    def is_annotation_alias(self, stmt: ast.stmt) -> bool:
        """``Axis = int | tuple[int, ...]``: a name used only in (string) annotations cannot change behaviour."""
        if isinstance(stmt, ast.Assign):
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            return bool(names) and len(names) == len(stmt.targets) and all(n in self.annotation_only for n in names)
        return False

    def statement(self, stmt: ast.stmt, scope: str) -> None:
        start, stop = self.span(stmt)
        deletable = not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                                           ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Pass))
        if isinstance(stmt, ast.If) and self.source[start : start + 4] == b"elif":
            deletable = False
        if deletable:
            self.add(stmt, "delete statement", scope, start, stop, "pass")

        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = stmt.name if scope == "<module>" else f"{scope}.{stmt.name}"
            for default in [*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d is not None)]:
                self.expr(default, inner)
            self.body(stmt.body, inner)
        elif isinstance(stmt, ast.ClassDef):
            inner = stmt.name if scope == "<module>" else f"{scope}.{stmt.name}"
            self.body(stmt.body, inner)
        elif isinstance(stmt, ast.Raise):
            if stmt.exc is not None:
                self.raised(stmt.exc, scope)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None and not (isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
                s, e = self.span(stmt.value)
                self.add(stmt, "return None", scope, s, e, "None")
                if isinstance(stmt.value, ast.Tuple) and len(stmt.value.elts) == 2:
                    self.swap(stmt.value.elts[0], stmt.value.elts[1], "swap returned pair", scope)
                self.expr(stmt.value, scope)
        elif isinstance(stmt, (ast.Break, ast.Continue)):
            other = "continue" if isinstance(stmt, ast.Break) else "break"
            self.add(stmt, "break <-> continue", scope, start, stop, other)
        elif isinstance(stmt, ast.AugAssign):
            swap = BINOP_SWAPS.get(type(stmt.op))
            if swap is not None:
                where = self.find_token(self.span(stmt.target)[1], self.span(stmt.value)[0], re.escape(swap[0] + "="))
                if where:
                    self.add(stmt, f"{swap[0]}= -> {swap[1]}=", scope, *where, swap[1] + "=")
            self.expr(stmt.target, scope)
            self.expr(stmt.value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.expr(stmt.value, scope)
        elif isinstance(stmt, (ast.If, ast.While)):
            self.negate(stmt.test, scope)
            self.expr(stmt.test, scope)
            self.body(stmt.body, scope)
            self.body(stmt.orelse, scope)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.expr(stmt.iter, scope)
            self.body(stmt.body, scope)
            self.body(stmt.orelse, scope)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.expr(item.context_expr, scope)
            self.body(stmt.body, scope)
        elif isinstance(stmt, ast.Try):
            self.body(stmt.body, scope)
            for handler in stmt.handlers:
                self.body(handler.body, scope)
            self.body(stmt.orelse, scope)
            self.body(stmt.finalbody, scope)
        elif isinstance(stmt, ast.Expr) and _is_message_call(stmt.value):
            pass  # warnings.warn("..."): only its wording
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.expr(child, scope)

    def raised(self, exc: ast.expr, scope: str) -> None:
        """Inside ``raise E(...)`` only the non-message keyword arguments matter (BackwardError's reason, got...)."""
        if isinstance(exc, ast.Call):
            for kw in exc.keywords:
                if kw.arg is not None and not _is_text(kw.value):
                    self.drop_item(exc, kw, f"drop keyword {kw.arg}=", scope)

    def negate(self, test: ast.expr, scope: str) -> None:
        s, e = self.span(test)
        self.add(test, "negate condition", scope, s, e, f"not ({self.source[s:e].decode()})")

    def expr(self, node: ast.expr, scope: str) -> None:
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return  # message text
        if isinstance(node, ast.Lambda):
            self.expr(node.body, scope)
            return
        if isinstance(node, ast.BinOp):
            swap = BINOP_SWAPS.get(type(node.op))
            if swap is not None and not (_is_text(node.left) or _is_text(node.right)):
                where = self.find_token(self.span(node.left)[1], self.span(node.right)[0], re.escape(swap[0]))
                if where:
                    self.add(node, f"{swap[0]} -> {swap[1]}", scope, *where, swap[1])
            elif _is_text(node.left) or _is_text(node.right):
                return  # "..." + f"...": a message
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                pattern, replacement = COMPARE_SWAPS[type(op)]
                where = self.find_token(self.span(operands[i])[1], self.span(operands[i + 1])[0], pattern)
                if where:
                    original = self.source[where[0] : where[1]].decode()
                    self.add(node, f"{original} -> {replacement}", scope, *where, replacement)
            for operand in operands:  # dtype kinds and modes: `kind in "iu"`, `reduction == "none"`
                for const in [operand, *(getattr(operand, "elts", None) or [])]:
                    if isinstance(const, ast.Constant) and isinstance(const.value, str) and const.value:
                        s, e = self.span(const)
                        self.add(const, "string -> empty", scope, s, e, '""')
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            edits = []
            for left, right in zip(node.values, node.values[1:]):
                where = self.find_token(self.span(left)[1], self.span(right)[0], rf"\b{old}\b")
                if where:
                    edits.append(where)
            if edits:  # all of them at once: `a and b and c` -> `a or b or c`
                s, e = edits[0][0], edits[-1][1]
                piece = self.source[s:e].decode()
                piece = re.sub(rf"\b{old}\b", new, piece)
                self.add(node, f"{old} -> {new}", scope, s, e, piece)
        elif isinstance(node, ast.UnaryOp):
            pattern = UNARY_REMOVALS.get(type(node.op))
            if pattern is not None:
                s, _ = self.span(node)
                where = self.find_token(s, self.span(node.operand)[0] + 1, "^" + pattern)
                if where:
                    self.add(node, f"remove {self.source[where[0]:where[1]].decode().strip()}", scope, *where, "")
        elif isinstance(node, ast.IfExp):
            self.negate(node.test, scope)
        elif isinstance(node, ast.Constant):
            self.constant(node, scope)
            return
        elif isinstance(node, ast.Attribute):
            if node.attr == "T" and isinstance(node.ctx, ast.Load):  # a transposition dropped
                s, e = self.span(node)
                self.add(node, "drop .T", scope, s, e, self.source[slice(*self.span(node.value))].decode())
        elif isinstance(node, ast.Call):
            if _is_message_call(node):
                return
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args and not node.keywords:
                s, e = self.span(node)  # x.copy() -> x: a buffer shared where it was copied
                self.add(node, "drop .copy()", scope, s, e, self.source[slice(*self.span(func.value))].decode())
            self.call(node, scope)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, scope)
            elif isinstance(child, ast.keyword) and child.arg not in DISPLAY_NAMES:
                self.expr(child.value, scope)
            elif isinstance(child, ast.comprehension):
                self.expr(child.iter, scope)
                for cond in child.ifs:
                    self.negate(cond, scope)
                    self.expr(cond, scope)

    def constant(self, node: ast.Constant, scope: str) -> None:
        value = node.value
        s, e = self.span(node)
        if isinstance(value, bool):
            self.add(node, f"{value} -> {not value}", scope, s, e, str(not value))
        elif isinstance(value, int):
            self.add(node, f"{value} -> {value + 1}", scope, s, e, str(value + 1))
        elif isinstance(value, float):
            self.add(node, f"{value!r} -> {value + 1.0!r}", scope, s, e, repr(value + 1.0))

    def call(self, node: ast.Call, scope: str) -> None:
        items = [*node.args, *node.keywords]
        if len(items) == 1 and isinstance(items[0], ast.GeneratorExp):
            return  # f(x for x in y): the generator shares the call's parentheses
        for arg in node.args:
            if not _is_text(arg):
                self.drop_item(node, arg, "drop argument", scope)
        first_two = node.args[:2]
        if len(first_two) == 2 and not any(isinstance(a, ast.Starred) or _is_text(a) for a in first_two):
            self.swap(*first_two, "swap arguments", scope)
        for kw in node.keywords:
            if _is_text(kw.value) or kw.arg in DISPLAY_NAMES:
                continue
            self.drop_item(node, kw, f"drop keyword {kw.arg or '**'}=", scope)
            if kw.arg is not None and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                s, e = self.span(kw.value)
                self.add(kw.value, f"{kw.arg}= -> None", scope, s, e, "None")

    def swap(self, first: ast.AST, second: ast.AST, operator: str, scope: str) -> None:
        """`first, second` -> `second, first` (whatever lies between them, the comma, is kept)."""
        (s0, e0), (s1, e1) = self.span(first), self.span(second)
        a, gap, b = self.source[s0:e0], self.source[e0:s1], self.source[s1:e1]
        if a != b:
            self.add(first, operator, scope, s0, e1, (b + gap + a).decode())

    def drop_item(self, call: ast.Call, item: ast.AST, operator: str, scope: str) -> None:
        items = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
        i = next(k for k, n in enumerate(items) if n is item)
        if i > 0:
            s, e = self.span(items[i - 1])[1], self.span(item)[1]
        elif len(items) > 1:
            s, e = self.span(item)[0], self.span(items[1])[0]
        else:
            s, e = self.span(item)
        self.add(item, operator, scope, s, e, "")


def _is_text(node: ast.AST) -> bool:
    """A string, an f-string or a concatenation of them: message wording."""
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return True
    return isinstance(node, ast.BinOp) and (_is_text(node.left) or _is_text(node.right))


def _is_message_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in MESSAGE_CALLS


def _is_display_text(stmt: ast.stmt) -> bool:
    """``label = ...``: the words a graph picture shows for an op or a composite (like a docstring)."""
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in DISPLAY_NAMES)


def _annotation_only_names(tree: ast.Module) -> set[str]:
    """Module-level names read nowhere but in annotations (strings, under `from __future__ import annotations`)."""
    in_annotations: set[int] = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
            args = node.args
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if a is not None:
                    annotations.append(a.annotation)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                in_annotations.update(id(n) for n in ast.walk(annotation))
    assigned = {t.id for stmt in tree.body if isinstance(stmt, ast.Assign) for t in stmt.targets
                if isinstance(t, ast.Name)}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and id(n) not in in_annotations}
    return assigned - used


def mutants_of(root: Path, path: str) -> list[Mutant]:
    """Every valid mutant of `path`: it compiles and its tree differs from the original's."""
    source = (root / path).read_bytes()
    sites = _Sites(path, source)
    original_dump = ast.dump(sites.tree)
    lines = source.decode().splitlines()
    result, seen = [], set()
    for mutant in sites.walk():
        mutated = mutant.apply(source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(mutated)
                compile(tree, path, "exec")
        except (SyntaxError, ValueError):
            continue
        if ast.dump(tree) == original_dump or mutated in seen:
            continue
        seen.add(mutated)
        mutant.original_line = lines[mutant.line - 1]
        mutated_lines = mutated.decode().splitlines()
        mutant.mutated_line = mutated_lines[mutant.line - 1] if mutant.line <= len(mutated_lines) else ""
        if mutant.operator == "delete statement":
            mutant.mutated_line = re.match(r"\s*", mutant.original_line).group() + "pass"
        mutant.number = len(result)
        result.append(mutant)
    return result


# ------------------------------------------------------------------------------------ the copy


def mirror(source: Path, copy: Path) -> None:
    """Make `copy` hold exactly the files of `source` (no virtualenvs, git or caches); rsync-like, stdlib only."""
    copy.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED]
        rel = Path(dirpath).relative_to(source)
        target_dir = copy / rel
        target_dir.mkdir(exist_ok=True)
        for name in filenames:
            src, dst = Path(dirpath) / name, target_dir / name
            if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
                shutil.copy2(src, dst)
        wanted = set(dirnames) | set(filenames)
        for entry in os.listdir(target_dir):
            if entry in wanted or entry in EXCLUDED:
                continue
            stale = target_dir / entry
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    drop_bytecode(copy)


def drop_bytecode(copy: Path) -> None:
    """Remove the package's .pyc files: one of a same-size mutant written within the same second would be used.

    PYTHONDONTWRITEBYTECODE is set, but a test may start Python with an environment of its own.
    """
    for cache in (copy / "tinygrad_softmax").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def restore_backups(copy: Path) -> None:
    for backup in copy.rglob("*.py.orig"):
        shutil.move(backup, backup.with_suffix(""))
        print(f"restored {backup.with_suffix('')} from a crashed run's backup")


def engine_test_files(root: Path) -> list[str]:
    tree = ast.parse((root / "tests" / "conftest.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ENGINE_TEST_FILES" for t in node.targets):
            return sorted(ast.literal_eval(node.value))
    raise SystemExit("tests/conftest.py has no ENGINE_TEST_FILES")


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    return env


def check_import(copy: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "import tinygrad_softmax; print(tinygrad_softmax.__file__)"],
                         cwd=copy, env=environment(copy), capture_output=True, text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"the copy {copy} is not what gets imported (got {out}); refusing to mutate")


def run_tests(copy: Path, tests: list[str], timeout: float | None) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout', seconds, first failing test) for the engine tests in `copy`."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "engine",
               "--no-header", "-rf", *[f"tests/{t}" for t in tests]]
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=copy, env=environment(copy), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the pytest we started, and anything it started
        process.communicate()
        return "timeout", time.monotonic() - began, ""
    seconds = time.monotonic() - began
    if process.returncode == 0:
        return "passed", seconds, ""
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return "failed", seconds, failed.group(1) if failed else f"pytest exit {process.returncode}"


_lock = threading.Lock()


def run_mutant(copy: Path, mutant: Mutant, tests: list[str], timeout: float) -> tuple[str, float, str]:
    target = copy / mutant.file
    backup = target.with_name(target.name + ".orig")
    original = target.read_bytes()
    shutil.copy2(target, backup)
    try:
        drop_bytecode(copy)
        target.write_bytes(mutant.apply(original))
        outcome = run_tests(copy, tests, timeout)
        if outcome[0] == "timeout":  # a busy machine, or a mutant that loops: once more with twice the time
            outcome = run_tests(copy, tests, 2 * timeout)
        return outcome
    finally:
        target.write_bytes(original)
        backup.unlink()
        drop_bytecode(copy)


# ------------------------------------------------------------------------------------ report


def load_equivalents() -> dict[tuple, str]:
    if not EQUIVALENTS_FILE.exists():
        return {}
    entries = json.loads(EQUIVALENTS_FILE.read_text())
    return {(e["file"], e["scope"], e["operator"], e["original"], e["mutated"]): e["reason"] for e in entries}


def write_report(results: list[dict], per_file: dict[str, int], path: Path, meta: str) -> str:
    lines = ["# Mutation report", "", meta, "",
             "Score = (killed + timed out) / (run - equivalent); raw score = (killed + timed out) / run. "
             "Equivalent: a survivor that cannot change behaviour (reasons in tools/mutation-equivalents.json); "
             "it does not count as killed.", "",
             "| file | mutants | run | killed | timed out | survived | equivalent | score | raw score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for file, total in per_file.items():
        mine = [r for r in results if r["file"] == file]
        killed = sum(r["status"] == "killed" for r in mine)
        timeout = sum(r["status"] == "timeout" for r in mine)
        survived = sum(r["status"] == "survived" for r in mine)
        equivalent = sum(r["status"] == "equivalent" for r in mine)
        judged = len(mine) - equivalent
        score = f"{100 * (killed + timeout) / judged:.1f}%" if judged else "-"
        raw = f"{100 * (killed + timeout) / len(mine):.1f}%" if mine else "-"
        lines.append(f"| {file} | {total} | {len(mine)} | {killed} | {timeout} | {survived} | {equivalent} | "
                     f"{score} | {raw} |")
    for status, title in (("survived", "Survivors"), ("equivalent", "Equivalent survivors")):
        chosen = [r for r in results if r["status"] == status]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        for r in sorted(chosen, key=lambda r: (r["file"], r["line"])):
            lines.append(f"- `{r['file']}:{r['line']}` ({r['scope']}, {r['operator']}, {r['id']})")
            lines.append(f"  - was: `{r['original'].strip()}`")
            lines.append(f"  - now: `{r['mutated'].strip()}`")
            if r.get("reason"):
                lines.append(f"  - equivalent: {r['reason']}")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", help="a target file (repeatable); default: the six engine files")
    parser.add_argument("--sample", type=int, help="run at most N mutants per file, chosen at random")
    parser.add_argument("--sample-file", action="append", default=[], metavar="FILE=N",
                        help="another sample size for one file (repeatable): tinygrad_softmax/ops.py=150")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--ids", nargs="*", help="run only these mutants (ids as --list prints: ops#12)")
    parser.add_argument("--rerun", type=Path, help="run only the survivors recorded in this JSON report")
    parser.add_argument("--resume", type=Path,
                        help="continue the run recorded in this JSON report (same --sample/--seed): its killed "
                             "mutants are kept, its survivors and the mutants it did not reach are run")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the repository to test (not mutated)")
    parser.add_argument("--copy", type=Path, default=None,
                        help="the private copy mutants are written into (default: fresh temporary directories)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (one copy each)")
    parser.add_argument("--first", default=FIRST_TESTS,
                        help="engine test files run first, comma-separated (pytest -x stops at the first failure, "
                             "so this only changes how soon a mutant dies)")
    parser.add_argument("--timeout-factor", type=float, default=3.0, help="timeout = factor x the clean run")
    parser.add_argument("--no-refresh", action="store_true", help="do not mirror --source into the copy first")
    parser.add_argument("--report", type=Path, default=HERE / "mutation-report.md")
    args = parser.parse_args(argv)

    source = args.source.resolve()
    if not (source / "tinygrad_softmax").is_dir():
        raise SystemExit(f"{source} holds no tinygrad_softmax package; pass --source")
    temporary = args.copy is None
    if temporary:
        copies = [Path(tempfile.mkdtemp(prefix=f"mutation-copy-{i}-")) for i in range(args.jobs)]
    else:
        copies = [args.copy] + [Path(f"{args.copy}-{i}") for i in range(1, args.jobs)]
    for copy in copies:
        where = copy.resolve()
        if where == source or where.is_relative_to(source) or source.is_relative_to(where):
            raise SystemExit(f"the copy {copy} must lie outside the source tree {source}")
    files = args.file or DEFAULT_FILES
    files = [str(Path(f).resolve().relative_to(source)) if Path(f).is_absolute() else f for f in files]
    try:
        return run(args, source, copies, files)
    finally:
        if temporary:
            for copy in copies:
                shutil.rmtree(copy, ignore_errors=True)


def run(args: argparse.Namespace, source: Path, copies: list[Path], files: list[str]) -> int:
    for copy in copies:
        if copy.exists():
            restore_backups(copy)
        if not args.no_refresh or not any(copy.iterdir()):
            mirror(source, copy)
    root = copies[0]

    every = {f: mutants_of(root, f) for f in files}
    if args.list:
        for f, mutants in every.items():
            print(f"== {f}: {len(mutants)} mutants")
            for m in mutants:
                print(f"{m.id:>14} {m.line:4d} {m.scope:<28} {m.operator:<24} {m.mutated_line.strip()}")
        return 0

    chosen: dict[str, list[Mutant]] = {}
    wanted_keys = None
    previous, done_keys = None, set()
    if args.rerun or args.resume:
        previous = json.loads((args.rerun or args.resume).read_text())
    if args.rerun:
        wanted_keys = {tuple(r["key"]) for r in previous["results"] if r["status"] in ("survived", "equivalent")}
    elif args.resume:
        done_keys = {tuple(r["key"]) for r in previous["results"] if r["status"] in ("killed", "timeout")}
    sizes = {f: args.sample for f in files}
    for item in args.sample_file:
        name, _, size = item.rpartition("=")
        sizes[name] = int(size)
    for f, mutants in every.items():
        pick, size = mutants, sizes.get(f)
        if args.ids:
            pick = [m for m in mutants if m.id in args.ids]
        elif wanted_keys is not None:
            pick = [m for m in mutants if m.key() in wanted_keys]
        elif size and len(mutants) > size:
            pick = sorted(random.Random(f"{args.seed}:{f}").sample(mutants, size), key=lambda m: m.number)
        chosen[f] = [m for m in pick if m.key() not in done_keys]

    tests = engine_test_files(root)
    first = [t for t in args.first.split(",") if t in tests]  # -x: the likeliest killers first, only for speed
    tests = first + [t for t in tests if t not in first]
    for copy in copies:
        check_import(copy)
    status, clean_seconds, failed = run_tests(root, tests, None)
    if status != "passed":
        raise SystemExit(f"the engine tests fail without any mutant ({failed}); fix that first")
    timeout = max(60.0, args.timeout_factor * clean_seconds)
    total = sum(len(v) for v in chosen.values())
    print(f"clean run {clean_seconds:.1f} s, timeout {timeout:.0f} s; {total} mutants, {args.jobs} job(s)", flush=True)

    equivalents = load_equivalents()
    free = list(copies)
    results: list[dict] = []
    done = 0

    def work(mutant: Mutant) -> dict:
        with _lock:
            copy = free.pop()
        try:
            outcome, seconds, by = run_mutant(copy, mutant, tests, timeout)
        finally:
            with _lock:
                free.append(copy)
        status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[outcome]
        reason = equivalents.get(mutant.key())
        if status == "survived" and reason:
            status = "equivalent"
        return {"id": mutant.id, "file": mutant.file, "line": mutant.line, "scope": mutant.scope,
                "operator": mutant.operator, "original": mutant.original_line, "mutated": mutant.mutated_line,
                "status": status, "seconds": round(seconds, 1), "killed_by": by, "reason": reason,
                "key": list(mutant.key())}

    began = time.monotonic()
    # the files' mutants interleaved, so that a run stopped early has sampled every file alike
    every_mutant = [m for group in itertools.zip_longest(*chosen.values()) for m in group if m is not None]
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        for result in pool.map(work, every_mutant):
            results.append(result)
            done += 1
            mark = {"killed": ".", "timeout": "T", "survived": "S", "equivalent": "e"}[result["status"]]
            tail = f"  {result['line']}: {result['mutated'].strip()}" if mark in "Se" else ""
            print(f"[{done}/{total}] {mark} {result['id']} {result['operator']} "
                  f"({result['seconds']} s){tail}", flush=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # stopped: the running mutants end and are restored
        signal.signal(signal.SIGTERM, previous_handler)
        elapsed = time.monotonic() - began
        sample = ", ".join(f"{Path(f).name} {len(chosen[f])} of {len(every[f])}" for f in files)
        meta = (f"Source {source.name} (mutants run in a copy); engine tests: {len(tests)} files; clean run "
                f"{clean_seconds:.1f} s, timeout {timeout:.0f} s; {args.jobs} job(s). Mutants chosen: {sample} "
                f"(random sample per file, seed {args.seed}, sizes {args.sample} {args.sample_file or ''}); "
                f"{done} of these {total} run in {elapsed:.0f} s.")
        if previous is not None:  # the previous results, with this run's outcomes
            fresh = {tuple(r["key"]): r for r in results}
            kept = [r for r in previous["results"] if tuple(r["key"]) not in fresh]
            results = kept + results
            what = f"rerun of its {len(wanted_keys)} survivors" if args.rerun else "resumed"
            meta = (f"{previous['meta']} Then {what}: {done} run in {elapsed:.0f} s, "
                    f"{sum(r['status'] == 'survived' for r in fresh.values())} of them survive.")
        equivalents = load_equivalents()  # the file may be newer than this run's start
        for r in results:  # the equivalents file may be newer than a result
            reason = equivalents.get(tuple(r["key"]))
            if r["status"] in ("survived", "equivalent"):
                r["status"], r["reason"] = ("equivalent", reason) if reason else ("survived", None)
        per_file = {f: len(every[f]) for f in files}
        text = write_report(results, per_file, args.report, meta)
        args.report.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
