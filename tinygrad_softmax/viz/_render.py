"""`render`: the picture as a file, made by Graphviz's ``dot`` program, or the DOT text."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .._files import atomic_write
from ..tensor import Tensor
from ._dot import INSTALL_HINT, to_dot

IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
TEXT_FORMATS = (".dot", ".gv")


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program could not make the picture: it failed, timed out, or is missing."""


class GraphvizNotFoundError(GraphvizError):
    """The ``dot`` program is missing; the DOT text was written instead (``dot_path``)."""

    def __init__(self, message: str, dot_path: Path) -> None:
        super().__init__(message)
        self.dot_path = dot_path


_DOT_TIMEOUT = 120  # seconds `render` waits for dot


def picture_format(path: str | os.PathLike[str]) -> str:
    """The lower-cased suffix of `path` when `render` can write it (``".svg"``...); else ValueError saying why."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_FORMATS or suffix in TEXT_FORMATS:
        return suffix
    choices = ".svg, .png, .pdf, .dot or .gv"
    if not suffix:  # `graph --out graph`: name the missing part, not an "unknown format ''"
        raise ValueError(f"{path.name} has no suffix to say the format; use {choices} (e.g. {path.name}.svg)")
    raise ValueError(f"unknown format {path.suffix!r} in {path.name}; use {choices}")


def render(output: Tensor, path: str | os.PathLike[str], **to_dot_kwargs: Any) -> Path:
    """Write the graph of `output` to `path`; the suffix picks the format.

    ``.svg``, ``.png`` and ``.pdf`` need Graphviz's ``dot`` program; ``.dot`` and
    ``.gv`` are DOT text and need nothing. Without ``dot``, the DOT text is written
    next to `path` (same name, ``.dot`` suffix) and `GraphvizNotFoundError` says so.
    The file appears whole or not at all (written under a temporary name, then renamed).

    Raises:
        GraphvizNotFoundError: ``dot`` is not installed (the DOT text was written instead).
        GraphvizError: ``dot`` failed or timed out; its message has the format and dot's error output.
        ValueError: an unknown suffix.
        OSError: `path` cannot be written (``cannot write PATH: reason``).

    Returns:
        The path written.
    """
    path = Path(path)
    try:
        suffix = picture_format(path)
    except ValueError as exc:
        raise ValueError(f"render: {exc}") from None
    source = to_dot(output, **to_dot_kwargs).source
    if suffix in TEXT_FORMATS:
        return _write_atomically(path, source.encode())
    image_format = IMAGE_FORMATS[suffix]
    picture = run_dot(source, image_format, f"render: Graphviz's dot could not make {path.name}")
    if picture is None:
        dot_path = path.with_suffix(".dot")
        _write_atomically(dot_path, source.encode())
        raise GraphvizNotFoundError(
            f"render: cannot make {path.name} without the `dot` program; wrote the graph as DOT text to "
            f"{dot_path} instead. To get the picture, {INSTALL_HINT}, then run: "
            f"dot -T{image_format} {dot_path} -o {path}",
            dot_path,
        )
    return _write_atomically(path, picture)


def run_dot(source: str, image_format: str, failure: str) -> bytes | None:
    """What Graphviz's ``dot`` makes of DOT `source` in `image_format`, or None when there is no ``dot``.

    Raises `GraphvizError`, its message starting with `failure`, when dot fails or times out.
    """
    dot_program = shutil.which("dot")
    if dot_program is None:
        return None
    failure = f"{failure} (format {image_format})"
    try:
        result = subprocess.run(  # a list of arguments: no shell ever parses a path
            [dot_program, f"-T{image_format}"], input=source.encode(), capture_output=True, timeout=_DOT_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"{failure}: {dot_program} took longer than {_DOT_TIMEOUT} s") from None
    except OSError as exc:  # found but not runnable: a broken install, a wrong architecture...
        raise GraphvizError(f"{failure}: cannot run {dot_program}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        raise GraphvizError(f"{failure}: {dot_program} exited with {_exit_status(result.returncode)}"
                            + _stderr_text(result.stderr))
    return result.stdout


def _exit_status(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"


def _stderr_text(stderr: bytes, limit: int = 500) -> str:
    """dot's error output on one line (an error message must be one line), shortened if long."""
    lines = (" ".join(line.split()) for line in stderr.decode(errors="replace").splitlines())
    text = " / ".join(line for line in lines if line)
    if not text:
        return " and no error output"
    return ": " + (text if len(text) <= limit else text[: limit - 3] + "...")


def _write_atomically(path: Path, content: bytes) -> Path:
    return atomic_write(path, lambda file: file.write(content))
