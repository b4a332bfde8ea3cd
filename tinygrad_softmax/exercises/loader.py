"""Import a student's file so that any failure becomes one clear message, never the checker's traceback.

The file is compiled and executed as a fresh module under a private name (its
``__name__`` is not ``"__main__"``, so an ``if __name__ == "__main__":`` block does
not run). Its folder is put on ``sys.path`` while it loads, so it may import
its own helper modules. No ``__pycache__`` is written next to it. Whatever it
added to `Tensor` with `register_op` is removed again when the check is over,
so checking a file twice, or checking then importing it, works.
"""

from __future__ import annotations

import importlib.util
import itertools
import linecache
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from ..tensor import Tensor, unregister_op

_counter = itertools.count()
_MISSING = object()


class LoadError(Exception):
    """The student's file could not be imported; ``str(error)`` is the message to show, with the line."""


@contextmanager
def load_student_file(path: str | Path) -> Iterator[types.ModuleType]:
    """Import the file at `path` for the duration of the ``with`` block.

    Raises:
        FileNotFoundError: there is no such file (a usage error, not the student's mistake).
        IsADirectoryError: `path` is a folder.
        LoadError: the file has a syntax error, or raised while it was imported.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give the .py file to check")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    code = _compile(path)
    name = f"_tinygrad_softmax_exercise_{next(_counter)}_{_identifier(path.stem)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    folder = str(path.resolve().parent)
    tensor_before = dict(vars(Tensor))
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, folder)
    try:
        try:
            exec(code, module.__dict__)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a stray sys.exit() must not end the checker
            raise LoadError(_describe_import_failure(path, exc)) from None
        yield module
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
        sys.modules.pop(name, None)
        linecache.checkcache(str(path))
        _restore_tensor(tensor_before)


def _compile(path: Path) -> types.CodeType:
    try:
        source = importlib.util.decode_source(path.read_bytes())
    except (UnicodeDecodeError, SyntaxError) as exc:  # a bad coding cookie is a SyntaxError
        raise LoadError(f"{path.name}: cannot read the file as Python source text ({exc})") from None
    try:
        return compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise LoadError(_describe_syntax_error(exc, path)) from None
    except ValueError as exc:  # e.g. null bytes in the source
        raise LoadError(f"{path.name}: not a Python file ({exc})") from None


def _describe_syntax_error(exc: SyntaxError, path: Path) -> str:
    filename = Path(exc.filename).name if exc.filename else path.name
    lines = [f"{filename}, line {exc.lineno}: {type(exc).__name__}: {exc.msg}"]
    if exc.text:
        text = exc.text.rstrip("\n")
        stripped = text.lstrip()
        lines.append("    " + stripped)
        if exc.offset:
            column = max(exc.offset - 1 - (len(text) - len(stripped)), 0)
            lines.append("    " + " " * column + "^")
    lines.append("Fix the syntax error, then run the checker again.")
    return "\n".join(lines)


def _describe_import_failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):  # in a module the file imports
        return _describe_syntax_error(exc, path)
    if isinstance(exc, SystemExit):
        where = locate(exc, {str(path)})
        at = f", line {where.line}" if where else ""
        return (
            f"{path.name}{at}: the file called sys.exit() while being imported; "
            'move that code under if __name__ == "__main__":'
        )
    where = locate(exc, {str(path)})
    header = f"{path.name}, line {where.line}" if where else path.name
    lines = [f"{header}: {type(exc).__name__}: {exc}"]
    if where and where.text:
        lines.append("    " + where.text)
    if isinstance(exc, ImportError):
        lines.append("The file could not be imported: check the module and name spelled on that line.")
    else:
        lines.append("The file raised this while being imported (top-level code runs when the checker imports it).")
    return "\n".join(lines)


class Location(NamedTuple):
    """Where in the student's code an exception was raised."""

    filename: str
    line: int
    text: str


def locate(exc: BaseException, filenames: set[str]) -> Location | None:
    """The file, line number and source text, in one of `filenames`, where `exc` (or its cause) was raised.

    The deepest such frame is used; the engine re-raises some errors from a
    backward as RuntimeError, so the cause chain is searched too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = [f for f in traceback.extract_tb(current.__traceback__) if f.filename in filenames]
        if frames:
            frame = frames[-1]
            return Location(frame.filename, frame.lineno or 0, (frame.line or "").strip())
        current = current.__cause__ or current.__context__
    return None


def _identifier(stem: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in stem)


def _restore_tensor(before: dict[str, object]) -> None:
    """Undo whatever the student's module did to the Tensor class (register_op or plain setattr)."""
    after = dict(vars(Tensor))
    changed = [k for k in after if before.get(k, _MISSING) is not after[k]]
    changed += [k for k in before if k not in after]
    for name in changed:
        try:
            unregister_op(name)
        except ValueError:  # not added by register_op
            pass
        original = before.get(name, _MISSING)
        if vars(Tensor).get(name, _MISSING) is original:
            continue
        if original is _MISSING:
            delattr(Tensor, name)
        else:
            setattr(Tensor, name, original)
