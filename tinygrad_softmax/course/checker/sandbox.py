"""Where the student's code runs: a child process with a time and a memory limit, or (for a class
already in memory) this process.

`Child` starts ``python -I -B -c BOOT``, which reads `host.py`'s source from its stdin and runs it
as ``main.py``: the child imports nothing of the checker, so a student's file that looks for the
checker on the call stack or in ``sys.modules`` finds a plain script, and patching anything there
changes nothing the parent computes. The time limit is a wall clock kept by the parent: when a
reply is late the parent kills the child's whole process group, which stops a long numpy call, a
handler that ignores signals, a thread left running and ``except BaseException`` alike. The memory
limit is ``RLIMIT_AS``, set by the child before it imports the student's file.

A process that already imported numpy is kept ready for the next file once a process checks a
second one, so a teacher grading many files pays the start-up once; each file still gets a fresh
process, used for that file only and killed when its check ends.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import host

TIME_LIMIT = 120.0  # seconds, for the whole file: importing it and every check
MAX_TIME_LIMIT = 3600.0
MEMORY_LIMIT_MB = 2048
OUTPUT_LIMIT = 20_000  # bytes of the student's prints kept for the report

# Reads the host's source (an 8-byte length, then JSON) and runs it; stdlib only, so it starts fast.
BOOT = (
    "import os, sys, json\n"
    "def read(n):\n"
    "    data = b''\n"
    "    while len(data) < n:\n"
    "        chunk = os.read(0, n - len(data))\n"
    "        if not chunk:\n"
    "            os._exit(0)\n"
    "        data += chunk\n"
    "    return data\n"
    "boot = json.loads(read(int.from_bytes(read(8), 'big')))\n"
    "sys.path.insert(0, boot['root'])\n"
    "exec(compile(boot['source'], 'main.py', 'exec'), {'__name__': '__main__'})\n"
)
_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding the tinygrad_softmax package
_POSIX = os.name == "posix"


class ChildFailed(BaseException):
    """The child could not answer: it ended, sent something that is no reply, or ran out of time.

    A BaseException, so that no check's ``except Exception`` (around the student's errors) can
    take the end of the child for a student's error: only the battery's top level handles it.

    Attributes:
        what: what it was asked to do (``"forward on x (3,)"``).
        timed_out: the time limit ran out.
        exit_code: the child's exit status (negative: killed by that signal), when it ended on its own.
    """

    def __init__(self, what: str, reason: str, timed_out: bool = False, exit_code: int | None = None) -> None:
        super().__init__(reason)
        self.what, self.reason, self.timed_out, self.exit_code = what, reason, timed_out, exit_code


class Child:
    """One child process for one file: started ready (numpy imported), then given the file by `start`.

    Args:
        zygote: fork it from this process (Linux), else start a new Python.
    """

    def __init__(self, zygote: _Zygote | None = None) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._zygote = zygote
        self._code: int | None = None
        if zygote is not None:
            self.pid, stdin, stdout, stderr = zygote.fork()
            self._stdin, self._stdout, self._stderr = (os.fdopen(stdin, "wb"), os.fdopen(stdout, "rb"),
                                                       os.fdopen(stderr, "rb"))
        else:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", BOOT],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_environment(),
                start_new_session=_POSIX,  # its own process group (killed as one), and no terminal to write to
            )
            assert self._process.stdin and self._process.stdout and self._process.stderr
            self.pid, self._stdin, self._stdout, self._stderr = (
                self._process.pid, self._process.stdin, self._process.stdout, self._process.stderr)
        self._replies: queue.Queue[Any] = queue.Queue()
        self._requests: queue.Queue[bytes | None] = queue.Queue()
        self._output = bytearray()
        self._dropped = 0
        self._deadline = float("inf")
        self._ended = False
        self.time_limit = TIME_LIMIT
        self._threads = [threading.Thread(target=t, daemon=True)
                         for t in (self._read_replies, self._read_output, self._write_requests)]
        for thread in self._threads:
            thread.start()
        if zygote is None:
            self._requests.put(_boot_frame())

    # -- threads: the parent never blocks on a pipe, so a child that stops reading cannot hang it

    def _write_requests(self) -> None:
        stream = self._stdin
        while True:
            data = self._requests.get()
            if data is None:
                break
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):  # the child is gone; the reader reports it
                break

    def _read_replies(self) -> None:
        stream = self._stdout
        try:
            while True:
                message = host.read_frame(stream.read)
                self._replies.put(message)
                if message is None:
                    break
        except (host.WireError, OSError, ValueError) as exc:
            self._replies.put(exc)

    def _read_output(self) -> None:
        stream = self._stderr
        try:
            for chunk in iter(lambda: stream.read1(65536), b""):
                room = OUTPUT_LIMIT - len(self._output)
                self._output += chunk[: max(room, 0)]
                self._dropped += max(len(chunk) - max(room, 0), 0)
        except (OSError, ValueError):
            pass

    # -- the parent's side

    def alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return not self._ended

    def start(self, path: str, time_limit: float, memory_mb: int) -> dict[str, Any]:
        """Load the student's file; the time limit runs from here. Returns the child's first reply."""
        self.time_limit = time_limit
        self._deadline = time.monotonic() + time_limit
        return self.request({"path": path, "memory_mb": memory_mb}, "importing the file")

    def request(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        """Send one request and wait, until the deadline at most, for its reply.

        Raises:
            ChildFailed: the child ended, replied with something that is not a reply, or is late.
        """
        try:
            self._requests.put(host.encode(message))
        except host.WireError as exc:  # the parent's own inputs are always sendable
            raise RuntimeError(f"checker: cannot send {what}: {exc}") from None
        try:
            reply = self._replies.get(timeout=max(self._deadline - time.monotonic(), 0.0))
        except queue.Empty:
            self.kill()
            raise ChildFailed(what, f"stopped after {self.time_limit:g} s", timed_out=True) from None
        if isinstance(reply, dict):
            return reply
        if reply is None:  # the pipe closed: the process ended (os._exit, a crash, the memory limit...)
            code = self._exit_code()
            self.kill()
            raise ChildFailed(what, _ended(code), exit_code=code)
        self.kill()
        raise ChildFailed(what, f"the checking process sent a malformed reply ({reply})")

    def _exit_code(self) -> int | None:
        """Its exit status, once it ended on its own (waited for 2 s, then killed)."""
        if self._process is not None:
            try:
                return self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return None
        if self._zygote is not None and not self._ended:
            self._ended = True
            self._code = self._zygote.wait(self.pid)
        return self._code

    def measure_peak(self, run: Callable[[], Any]) -> tuple[Any, int | None]:
        """Run `run` (a request) and return its result and the child's growth in peak resident memory.

        The kernel keeps the peak (Linux: /proc/PID/status, VmHWM, reset through clear_refs), so the
        figure does not depend on anything the child reports. None where that is not available.
        """
        status = Path(f"/proc/{self.pid}/status")
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            start = _peak_kb(status)
        except OSError:
            return run(), None
        result = run()
        try:
            return result, max(_peak_kb(status) - start, 0) * 1024
        except OSError:
            return result, None

    def output(self) -> str:
        """What the student's code printed (stdout and stderr), the first `OUTPUT_LIMIT` bytes."""
        text = self._output.decode("utf-8", "replace")
        return text + (f"\n... ({self._dropped} more bytes not shown)" if self._dropped else "")

    def kill(self) -> None:
        """End the child and everything it started (its process group); safe to call twice."""
        if self._process is not None:
            if self._process.returncode is None:
                self._killpg()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        elif not self._ended:
            self._killpg()
            self._exit_code()  # the zygote reaps it
        self._requests.put(None)

    def _killpg(self) -> None:
        try:
            if _POSIX:
                os.killpg(self.pid, signal.SIGKILL)
            elif self._process is not None:
                self._process.kill()
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        """The check is over: the child is killed, not asked to exit (it might not)."""
        self.kill()
        self._threads[1].join(timeout=2)  # the student's last prints, up to the end of the pipe
        for stream in (self._stdin, self._stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass


class _Zygote:
    """A clean Python that imported numpy and the library once and forks a child per file (Linux).

    It never runs student code: each fork starts from the same state, in milliseconds instead
    of the half second a new Python with numpy takes. The parent hands it each child's pipe ends
    over a Unix socket (SCM_RIGHTS), so the parent talks to the child directly.
    """

    def __init__(self) -> None:
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._lock = threading.Lock()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", BOOT], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=_environment(), pass_fds=[theirs.fileno()], start_new_session=True,
            )
            assert self._process.stdin is not None
            self._process.stdin.write(_boot_frame() + host.encode({"zygote": theirs.fileno()}))
            self._process.stdin.flush()
        self._channel.settimeout(60)  # its start-up (numpy's import) on a loaded machine, at most

    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self) -> tuple[int, int, int, int]:
        """A new child: its pid, and the parent's ends of its stdin, stdout and stderr."""
        ends = [os.pipe() for _ in range(3)]
        theirs = [ends[0][0], ends[1][1], ends[2][1]]
        try:
            with self._lock:
                socket.send_fds(self._channel, [b"f"], theirs)
                pid = _PID.unpack(_receive(self._channel, _PID.size))[0]
        except OSError:
            for r, w in ends:
                os.close(r)
                os.close(w)
            raise
        for f in theirs:
            os.close(f)
        if pid <= 0:
            raise OSError("the zygote could not fork")
        return pid, ends[0][1], ends[1][0], ends[2][0]

    def wait(self, pid: int) -> int | None:
        """The child's exit status (the zygote reaps it, killing it if it runs on)."""
        try:
            with self._lock:
                self._channel.sendall(b"w%d" % pid)
                code = _PID.unpack(_receive(self._channel, _PID.size))[0]
        except OSError:
            return None
        return None if code == -9999 else code

    def close(self) -> None:
        self._channel.close()
        try:
            self._process.kill()
            self._process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


_PID = struct.Struct("!q")


def _receive(channel: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            raise OSError("the zygote ended")
        data += chunk
    return data


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # One thread for numpy's BLAS: less memory reserved per process, a faster start, and safe to fork.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _boot_frame() -> bytes:
    source = json.dumps({"root": _ROOT, "source": Path(host.__file__).read_text()}).encode()
    return len(source).to_bytes(8, "big") + source


def describe_stop(failed: ChildFailed) -> str:
    """The verdict when the child stopped answering, in the student's terms."""
    if failed.timed_out:
        return (f"{failed.reason} during {failed.what}: the file or one of its ops seems to loop forever (look for "
                f"a while loop that never ends) or is far too slow; --time-limit changes the limit")
    return f"{failed.reason} during {failed.what}: a file must let its ops be called, not end the process"


def _peak_kb(status: Path) -> int:
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise OSError("no VmHWM")


def _ended(code: int | None) -> str:
    if code is None:
        return "the checking process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = " (the memory limit?)" if -code in (signal.SIGKILL, signal.SIGSEGV) else ""
        return f"the checking process was killed by {name}{why}"
    return f"the checking process ended with exit code {code} (os._exit, sys.exit in a thread, or a crash)"


class LocalRunner:
    """Runs a class already defined in this process through the same messages (no isolation, no limits)."""

    time_limit = float("inf")

    def __init__(self, op_host: host.OpHost) -> None:
        self._host = op_host

    def request(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        # Through the wire format both ways, so arrays are copied exactly as they are for a child.
        request = host.read_frame(_bytes_reader(host.encode(message)))
        reply = self._host.handle(request)
        try:
            return host.read_frame(_bytes_reader(host.encode(reply)))
        except host.WireError as exc:
            return {"error": {"type": "WireError", "message": str(exc), "base": False}}

    def measure_peak(self, run: Callable[[], Any]) -> tuple[Any, int | None]:
        return run(), None

    def output(self) -> str:
        return ""

    def close(self) -> None:
        pass


def _bytes_reader(data: bytes) -> Callable[[int], bytes]:
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        chunk = data[position:position + n]
        position += len(chunk)
        return chunk

    return read


# ------------------------------------------------------------------ where children come from

_lock = threading.Lock()
_zygote: _Zygote | None = None
_spare: Child | None = None
_FORK = sys.platform.startswith("linux") and hasattr(socket, "send_fds")  # fork after numpy: Linux only


def prestart() -> None:
    """Start what the next `new_child` needs now (numpy's import), while the caller does other work."""
    global _zygote, _spare
    with _lock:
        if _FORK and _zygote is None:
            _zygote = _Zygote()
        elif not _FORK and _spare is None:
            _spare = Child()


def new_child() -> Child:
    """A fresh child for one file: forked from the zygote on Linux, else a new Python (one kept ready)."""
    global _zygote, _spare
    prestart()
    with _lock:
        zygote, child, _spare = _zygote, _spare, None
    if zygote is not None:
        try:
            return Child(zygote)
        except OSError:  # the zygote is gone (killed?): start a new Python, and a new zygote next time
            with _lock:
                if _zygote is zygote:
                    _zygote = None
            zygote.close()
    if child is None or not child.alive():
        child = Child()
    if not _FORK:
        with _lock:
            _spare = _spare or Child()
    return child


@atexit.register
def _shut_down() -> None:
    global _zygote, _spare
    with _lock:
        zygote, spare, _zygote, _spare = _zygote, _spare, None, None
    for process in (zygote, spare):
        if process is not None:
            process.close()
