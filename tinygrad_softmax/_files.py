"""Writing files atomically: each file whole or not at all, and a group of files all or none.

One helper for every file the package writes (model files, graph pictures, DOT text, plots).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no way to tell a live writer's temp file from a dead one's
    fcntl = None

_IMPORTED_AT = time.time()

Writer = Callable[[BinaryIO], None]


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


def _process_start_time() -> float:
    """When this process started, in seconds since the epoch.

    Linux: /proc/self/stat has the start in clock ticks after boot (rounded down, so the result is
    early by under a tick, which only makes cleanup more careful); the boot time is now minus
    CLOCK_BOOTTIME, or else the whole seconds of /proc/stat's btime. Elsewhere, or when /proc makes
    no sense: the time this module was imported. That is later than the true start, but this
    process made no temp file before importing this module, and other processes' live temp files
    are protected by their locks, not by this time.
    """
    try:
        with open("/proc/self/stat", "rb") as file:
            line = file.read()
        # field 2, the command name, may itself hold spaces and ")": count fields after the last ")"
        ticks = int(line[line.rindex(b")") + 2 :].split()[19])  # field 22, starttime
        after_boot = ticks / os.sysconf("SC_CLK_TCK")
        if hasattr(time, "CLOCK_BOOTTIME"):
            started = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) + after_boot
        else:
            with open("/proc/stat", encoding="ascii") as file:
                started = next(int(row.split()[1]) for row in file if row.startswith("btime ")) + after_boot
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return _IMPORTED_AT
    return min(started, _IMPORTED_AT)  # never later than a moment this process certainly lived through


PROCESS_START = _process_start_time()
TEMP_SUFFIX = ".tmp"


def _temp_pattern(name: str) -> re.Pattern[str]:
    """The names of temp files for a target called `name`: ``.NAME.<16 hex digits>.tmp``, and the
    ``.NAME.<8 of [a-z0-9_]>.tmp`` that tempfile.mkstemp made for versions up to 0.2."""
    return re.compile(rf"\.{re.escape(name)}\.(?:[0-9a-f]{{16}}|[a-z0-9_]{{8}}){re.escape(TEMP_SUFFIX)}")


def atomic_write(path: str | os.PathLike[str], write: Writer) -> Path:
    """Create or replace `path` with what `write` writes to the binary file it is given.

    The content goes to a temporary file ``.NAME.XXXXXXXXXXXXXXXX.tmp`` in the same folder, is
    flushed to disk and then renamed over `path`: readers see the old file or the new one, never
    half of one. On any failure (an exception from `write` included, KeyboardInterrupt too) the
    temporary file is removed and `path` is left as it was.

    Permissions: a new file gets the usual ``0o666`` minus the umask; a file that is replaced
    keeps its permission bits (``0o777``: a private 0600 model stays 0600), and its owner and
    group as far as this process may set them.

    Symbolic links are written through: when `path` is a link, the file it leads to is replaced
    (atomically, with its temporary file in that file's folder) and the link itself stays. A link
    to nothing (a dangling link) is refused: writing would create a file wherever an old link
    happens to point. A folder, device, pipe or socket at `path` is refused too.

    Temp files of killed saves: a process killed while writing (SIGKILL, power loss) leaves its
    temporary file behind. Each write first removes those of the same target, and only those: files
    named exactly like this function's temporary files for that target name, regular files (not
    links), owned by the current user, not changed since before this process started (so not
    written by a process that is still running) and not locked by a live writer (each writer holds
    an advisory lock on its temporary file until it is done). Where locks do not exist (Windows),
    nothing is removed. Cleaning up never makes a write fail.

    Raises:
        OSError: of the original subclass (FileNotFoundError, IsADirectoryError...), saying
            ``cannot write PATH: reason`` with the user's path, never the temporary name.
            Other exceptions from `write` pass through unchanged.

    Returns:
        `path`, as a Path.
    """
    return atomic_write_all([(path, write)])[0]


def atomic_write_all(outputs: Sequence[tuple[str | os.PathLike[str], Writer]]) -> list[Path]:
    """Write several files as `atomic_write` does, all of them or none.

    Every file is first written completely to its temporary file; only then are they renamed over
    their targets, one after the other. If a write fails, no target has changed. If a rename fails,
    the files already renamed are put back as they were (a previous version is restored, a new
    file removed). Only a crash between two renames can leave some files new and some old.

    Raises:
        ValueError: two of `outputs` name the same file (through links, say).
        OSError: as `atomic_write`, naming the file that could not be written.

    Returns:
        The paths given, as Paths.
    """
    paths = [Path(path) for path, _ in outputs]
    targets: list[tuple[Path, os.stat_result | None]] = []
    for path in paths:
        try:
            real = _follow_links(path)
            targets.append((real, _replaced(real)))
        except OSError as exc:
            raise _naming(path, exc) from None
    _refuse_duplicates(paths, [real for real, _ in targets])
    for real, _ in targets:
        _remove_stale_temps(real.parent, real.name)

    temps: list[tuple[BinaryIO, Path, tuple[int, int]]] = []
    renamed: list[tuple[Path, Path | None, tuple[int, int]]] = []  # target, its previous version, new identity
    backups: list[Path] = []
    current = paths[0] if paths else Path()
    try:
        for path, (real, previous), (_, write) in zip(paths, targets, outputs):
            current = path
            temps.append(_write_temp(real, previous, write))
        for index, (path, (real, _), (_, temp, identity)) in enumerate(zip(paths, targets, temps)):
            current = path
            # a way back for each file but the last: nothing comes after the last rename to fail
            backup = _second_name(real) if index < len(targets) - 1 else None
            if backup is not None:
                backups.append(backup)
            renamed.append((real, backup, identity))  # before the rename: an interrupt may come right after it
            os.replace(temp, real)
    except BaseException as exc:
        kept = _roll_back(renamed)
        for file, temp, _ in temps:
            file.close()
            _discard(temp)
        for backup in backups:
            if backup not in kept:
                _discard(backup)
        if isinstance(exc, OSError):
            raise _naming(current, exc, kept) from None
        raise
    for file, _, _ in temps:
        file.close()  # releases the lock: the name is the target's now
    for backup in backups:
        _discard(backup)
    for folder in {real.parent for real, _ in targets}:
        _sync_folder(folder)
    return paths


def _follow_links(path: Path) -> Path:
    """The file to replace: `path` itself, or the file its symbolic link(s) lead to."""
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        reason = f"it is a symbolic link to {os.readlink(path)}, which does not exist"
        raise FileNotFoundError(errno.ENOENT, reason) from None


def _replaced(real: Path) -> os.stat_result | None:
    """The file that `real`'s new content will replace (None if there is none), refused if it is no regular file."""
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a directory")
    if not stat.S_ISREG(info.st_mode):  # renaming over /dev/null would replace the device for everyone
        raise OSError(errno.EINVAL, "it is not a regular file (a device, pipe or socket)")
    return info


def _refuse_duplicates(paths: list[Path], reals: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for path, real in zip(paths, reals):
        key = os.path.normcase(os.path.realpath(real))  # folders on the way may be links too
        if key in seen:
            raise ValueError(f"{seen[key]} and {path} are the same file; give each output its own name")
        seen[key] = path


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, empty, locked temporary file for the target `folder / name`: its descriptor and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = folder / f".{name}.{os.urandom(8).hex()}{TEMP_SUFFIX}"
        try:
            handle = os.open(temp, flags, 0o600)
        except FileExistsError:
            continue
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a filesystem without locks: the file is then protected by its age alone
                pass
        return handle, temp
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def _write_temp(
    real: Path, previous: os.stat_result | None, write: Writer
) -> tuple[BinaryIO, Path, tuple[int, int]]:
    """`real`'s new content, complete on disk under a temporary name; the file stays open to keep its lock.

    It gets the permission bits of the file it replaces (not setuid or setgid: a rewritten file must not
    inherit those), and its owner and group where this process may give them; a new file gets FILE_MODE.
    """
    handle, temp = _create_temp(real.parent, real.name)
    file = os.fdopen(handle, "wb")
    try:
        write(file)
        file.flush()
        os.fsync(file.fileno())
        mode = FILE_MODE if previous is None else stat.S_IMODE(previous.st_mode) & 0o777
        if previous is not None and hasattr(os, "fchown"):
            _keep_owner(file.fileno(), previous)
        if hasattr(os, "fchmod"):
            os.fchmod(file.fileno(), mode)  # after fchown, which may clear mode bits
        else:
            os.chmod(temp, mode)
        info = os.fstat(file.fileno())
        if fcntl is None:
            file.close()  # Windows renames no open file, and there is no lock to keep
    except BaseException:
        file.close()
        _discard(temp)
        raise
    return file, temp, (info.st_dev, info.st_ino)


def _keep_owner(handle: int, previous: os.stat_result) -> None:
    """Give the new file the old one's owner and group, or its group alone (a shared 0640 model stays
    readable by its group), or neither, as far as this process is allowed."""
    for uid in (previous.st_uid, -1):
        try:
            os.fchown(handle, uid, previous.st_gid)
            return
        except OSError:
            continue


def _second_name(real: Path) -> Path | None:
    """A temporary second name for the present `real` (None if there is none), to put it back by."""
    if not real.exists():
        return None
    for _ in range(100):
        backup = real.parent / f".{real.name}.{os.urandom(8).hex()}{TEMP_SUFFIX}"
        try:
            os.link(real, backup)  # a hard link: no copy, and the same permissions and owner
            return backup
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links
            break
    handle, backup = _create_temp(real.parent, real.name)
    try:
        with os.fdopen(handle, "wb") as copy, open(real, "rb") as source:
            shutil.copyfileobj(source, copy)
        shutil.copymode(real, backup)
    except BaseException:
        _discard(backup)
        raise
    return backup


def _roll_back(renamed: list[tuple[Path, Path | None, tuple[int, int]]]) -> dict[Path, Path]:
    """Undo the renames of a group that failed. Returns {backup: target} for versions that could not be put back."""
    kept: dict[Path, Path] = {}
    for real, backup, identity in reversed(renamed):
        try:
            if backup is not None:
                os.replace(backup, real)
            else:
                info = os.lstat(real)
                if (info.st_dev, info.st_ino) == identity:  # still the file this group wrote
                    real.unlink()
        except OSError:
            if backup is not None:
                kept[backup] = real
    return kept


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Remove temp files that saves of `folder / name` killed mid-write left behind (see `atomic_write`)."""
    if fcntl is None or not hasattr(os, "geteuid"):
        return
    pattern = _temp_pattern(name)
    try:
        with os.scandir(folder) as entries:
            candidates = [Path(entry.path) for entry in entries if pattern.fullmatch(entry.name)]
    except OSError:
        return
    for candidate in candidates:
        try:
            _remove_if_stale(candidate)
        except OSError:  # gone already, or not ours to remove: never a reason to fail a save
            pass


def _remove_if_stale(path: Path) -> None:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        return
    # ctime too: anyone can set an old mtime, but ctime moves with every change, link and rename
    if max(info.st_mtime, info.st_ctime) >= PROCESS_START:
        return
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(handle)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            return  # replaced since it was looked at
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it, or locks do not work here: either way, leave it
            return
        os.unlink(path)
    finally:
        os.close(handle)


def _discard(path: Path) -> None:
    """Remove a temporary file; failing to do so must not hide the error being reported (or fail a
    write that succeeded): a leftover is removed by the next write of its target."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _sync_folder(folder: Path) -> None:
    """Make the renames in `folder` durable too, where the platform allows it."""
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _naming(path: Path, exc: OSError, kept: dict[Path, Path] | None = None) -> OSError:
    """`exc` again (same class and errno), its message naming `path` instead of any temporary file."""
    reason = exc.strerror or str(exc)
    if path.is_dir():  # os.replace onto a folder says "Is a directory" or "File exists", by platform
        reason = "it is a directory"
    message = f"cannot write {path}: {reason}"
    for backup, real in (kept or {}).items():
        message += f"; the previous {real} could not be put back and is kept as {backup}"
    try:
        error = type(exc)(message)
    except TypeError:  # a subclass whose constructor wants other arguments
        error = OSError(message)
    error.errno = exc.errno
    return error
