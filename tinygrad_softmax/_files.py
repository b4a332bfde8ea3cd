"""Writing a file atomically: whole or not at all, with the permissions of a newly created file.

One helper for every file the package writes (model files, graph pictures, DOT text, plots).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _read_umask() -> int:
    """The process umask, read once when this module is imported.

    Linux shows it in /proc without changing it. Elsewhere the only way is to set it and put it
    back, which for a moment makes every file created by another thread world-writable: so
    this is done once, at import, never on each write.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK  # what open() would give a new file


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Create or replace `path` with what `write` writes to the binary file it is given.

    The content goes to a temporary file in the same folder, is flushed to disk, gets the
    usual permissions for a new file (``0o666`` minus the umask; ``mkstemp`` makes ``0o600``)
    and is then renamed over `path`: readers see the old file or the new one, never half of
    one. On any failure (an exception from `write` included, KeyboardInterrupt too) the
    temporary file is removed and `path` is left as it was.

    Raises:
        OSError: of the original subclass (FileNotFoundError, IsADirectoryError...), saying
            ``cannot write PATH: reason`` with the user's path, never the temporary name.
            Other exceptions from `write` pass through unchanged.

    Returns:
        `path`, as a Path.
    """
    path = Path(path)
    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _naming(path, exc) from None
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(path, exc) from None
        raise
    return path


def _naming(path: Path, exc: OSError) -> OSError:
    """`exc` again (same class and errno), its message naming `path` instead of any temporary file."""
    reason = exc.strerror or str(exc)
    if path.is_dir():  # os.replace onto a folder says "Is a directory" or "File exists", by platform
        reason = "it is a directory"
    message = f"cannot write {path}: {reason}"
    try:
        error = type(exc)(message)
    except TypeError:  # a subclass whose constructor wants other arguments
        error = OSError(message)
    error.errno = exc.errno
    return error
