"""SoftmaxClassifier.save / load: round trips, atomic writes, permissions, and refusing files that are not models."""

from __future__ import annotations

import errno
import io
import math
import os
import resource
import signal
import stat
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np
import pytest

from tinygrad_softmax import _files, nn
from tinygrad_softmax._files import atomic_write, atomic_write_all
from tinygrad_softmax.datasets import load_iris
from tinygrad_softmax.nn import SoftmaxClassifier

FORMAT = "tinygrad_softmax.SoftmaxClassifier/1"


@pytest.fixture
def model():
    m = SoftmaxClassifier(4, 3, seed=0, init_scale=1.0)
    m.class_names = ["setosa", "versicolor", "virginica"]
    return m


def current_umask():
    old = os.umask(0o022)
    os.umask(old)
    return old


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ round trip


def test_round_trip_keeps_weights_class_names_and_predictions(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SoftmaxClassifier.load(path)
    assert isinstance(loaded, SoftmaxClassifier)
    assert loaded.W.shape == (3, 5)
    np.testing.assert_array_equal(loaded.W.data, model.W.data)
    assert loaded.W.dtype == np.float64
    assert loaded.class_names == ["setosa", "versicolor", "virginica"]
    assert loaded.num_features == 4 and loaded.num_classes == 3
    X = load_iris().X
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.W.requires_grad, "a loaded model can be trained further"


def test_round_trip_without_class_names(tmp_path):
    model = SoftmaxClassifier(2, 5, seed=1)
    path = tmp_path / "plain.npz"
    model.save(path)
    loaded = SoftmaxClassifier.load(path)
    assert loaded.class_names is None
    np.testing.assert_array_equal(loaded.W.data, model.W.data)


def test_round_trip_float32(tmp_path):
    model = SoftmaxClassifier(3, 2, seed=2, dtype=np.float32)
    path = tmp_path / "m32.npz"
    model.save(path)
    loaded = SoftmaxClassifier.load(path)
    assert loaded.W.dtype == np.float32
    np.testing.assert_array_equal(loaded.W.data, model.W.data)


def test_round_trip_unicode_class_names_and_str_path(tmp_path, model):
    model.class_names = ["chat", "Hund", "кот"]
    path = str(tmp_path / "ünïcode.npz")
    model.save(path)
    assert SoftmaxClassifier.load(path).class_names == ["chat", "Hund", "кот"]


def test_saved_file_is_a_plain_npz_with_the_format_key(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["W", "class_names", "format"]
        assert archive["format"].item() == FORMAT
        np.testing.assert_array_equal(archive["W"], model.W.data)


def test_save_writes_exactly_the_path_given(tmp_path, model):
    """np.savez appends '.npz' to names without it; save() must not."""
    path = tmp_path / "model.bin"
    model.save(path)
    assert listing(tmp_path) == ["model.bin"]
    np.testing.assert_array_equal(SoftmaxClassifier.load(path).W.data, model.W.data)


def test_save_then_train_does_not_change_the_file(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    before, weights = path.read_bytes(), model.W.data.copy()
    model.W.data[...] += 1.0
    assert path.read_bytes() == before
    np.testing.assert_array_equal(SoftmaxClassifier.load(path).W.data, weights)


# ------------------------------------------------------------------ permissions and temp files


# The umask is read once, when tinygrad_softmax is imported (reading it means setting it for a
# moment, which must not happen while other threads create files): so each umask gets a fresh
# interpreter, started with that umask.
WRITE_EVERY_KIND_OF_FILE = """
import os, sys
from pathlib import Path
from tinygrad_softmax import Tensor, viz
from tinygrad_softmax.nn import SoftmaxClassifier
from tinygrad_softmax.cli import _plot
folder = Path(sys.argv[1])
SoftmaxClassifier(4, 3, seed=0).save(folder / "model.npz")
viz.render(Tensor([1.0], requires_grad=True).exp(), folder / "graph.dot")
_plot({"loss": [1.0, 0.5], "accuracy": [0.5, 0.9]}, str(folder / "curve.png"))
print(" ".join(oct(os.stat(folder / name).st_mode & 0o777) for name in ("model.npz", "graph.dot", "curve.png")))
"""


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_usual_permissions_for_the_umask(tmp_path, mask, expected):
    """The model, a graph and a plot: all three writers share one helper and honour the umask."""
    old = os.umask(mask)  # inherited by the child; put back at once
    try:
        done = subprocess.run([sys.executable, "-c", WRITE_EVERY_KIND_OF_FILE, str(tmp_path)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [oct(expected)] * 3
    assert listing(tmp_path) == ["curve.png", "graph.dot", "model.npz"]


def test_the_umask_is_read_once_at_import():
    assert _files.UMASK == current_umask()
    assert _files.FILE_MODE == 0o666 & ~_files.UMASK


def test_writing_files_never_touches_the_process_umask(tmp_path, model, monkeypatch):
    """os.umask(0) while writing would give files made by other threads meanwhile mode 0666."""

    def no_umask(mask):
        raise AssertionError("os.umask called while writing a file")

    monkeypatch.setattr(os, "umask", no_umask)
    model.save(tmp_path / "model.npz")
    from tinygrad_softmax import Tensor, viz
    from tinygrad_softmax.cli import _plot

    viz.render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "graph.dot")
    _plot({"loss": [1.0, 0.5], "accuracy": [0.5, 0.9]}, str(tmp_path / "curve.svg"))
    assert listing(tmp_path) == ["curve.svg", "graph.dot", "model.npz"]
    for name in listing(tmp_path):
        assert mode(tmp_path / name) == _files.FILE_MODE


@pytest.mark.parametrize("old_mode", [0o600, 0o640, 0o604, 0o444])
def test_saving_over_a_file_keeps_its_permission_bits(tmp_path, model, old_mode):
    """A private model (0600) stays private when retrained; only new files get 0666 minus the umask."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    os.chmod(path, old_mode)
    model.save(path)
    assert mode(path) == old_mode
    np.testing.assert_array_equal(SoftmaxClassifier.load(path).W.data, model.W.data)
    fresh = tmp_path / "fresh.npz"
    model.save(fresh)
    assert mode(fresh) == 0o666 & ~current_umask()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give files away")
def test_saving_over_a_file_keeps_its_owner_and_group(tmp_path, model):
    """root retraining someone's model must not take it from them (nor from its group)."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o640)
    model.save(path)
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o640)


def test_no_temp_files_are_left_after_save(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    model.save(path)
    model.save(tmp_path / "other.npz")
    assert listing(tmp_path) == ["model.npz", "other.npz"]


def test_saving_over_an_existing_model_replaces_it(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    other = SoftmaxClassifier(4, 3, seed=99)
    other.save(path)
    loaded = SoftmaxClassifier.load(path)
    np.testing.assert_array_equal(loaded.W.data, other.W.data)
    assert loaded.class_names is None, "the old file's class_names must not survive"
    assert listing(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path, model, monkeypatch, error):
    path = tmp_path / "model.npz"
    model.save(path)
    old_bytes = path.read_bytes()
    calls = []

    def crashing_savez(file, *args, **kwargs):
        calls.append(file)
        file.write(old_bytes[: len(old_bytes) // 3])  # part of an archive, then die
        raise error

    monkeypatch.setattr(np, "savez", crashing_savez)
    newer = SoftmaxClassifier(4, 3, seed=5)
    with pytest.raises(type(error)):
        newer.save(path)
    assert calls, "save() must write through np.savez (else this test simulates nothing)"
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    loaded = SoftmaxClassifier.load(path)
    np.testing.assert_array_equal(loaded.W.data, model.W.data)
    assert listing(tmp_path) == ["model.npz"], "no temp file may remain"


def test_a_crash_on_the_first_save_leaves_no_file(tmp_path, model, monkeypatch):
    def crashing_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="No space left"):
        model.save(tmp_path / "model.npz")
    assert listing(tmp_path) == []


def test_save_into_a_missing_folder_fails_and_leaves_nothing(tmp_path, model):
    path = tmp_path / "missing" / "model.npz"
    with pytest.raises(FileNotFoundError) as info:
        model.save(path)
    assert str(info.value) == f"cannot write {path}: No such file or directory"
    assert info.value.errno == 2
    assert listing(tmp_path) == []


def test_save_onto_a_directory_fails_and_leaves_no_temp_file(tmp_path, model):
    target = tmp_path / "model.npz"
    target.mkdir()
    with pytest.raises(OSError) as info:
        model.save(target)
    assert str(info.value) == f"cannot write {target}: it is a directory", "the user's path, not the temp file's"
    assert listing(tmp_path) == ["model.npz"] and target.is_dir() and listing(target) == []


# ------------------------------------------------------------------ the atomic_write helper


def test_atomic_write_writes_what_the_callback_writes(tmp_path):
    path = tmp_path / "out.bin"
    assert atomic_write(path, lambda file: file.write(b"hello")) == path
    assert path.read_bytes() == b"hello"
    assert atomic_write(str(path), lambda file: file.write(b"again")) == path
    assert path.read_bytes() == b"again" and listing(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("error", [ValueError("bad"), KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_atomic_write_removes_the_temp_file_on_any_failure(tmp_path, error):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def fail(file):
        file.write(b"half")
        raise error

    with pytest.raises(type(error)) as info:
        atomic_write(path, fail)
    if isinstance(error, OSError):
        assert str(info.value) == f"cannot write {path}: No space left on device" and info.value.errno == 28
    else:
        assert info.value is error, "other exceptions pass through unchanged"
    assert path.read_bytes() == b"old" and listing(tmp_path) == ["out.bin"]


def test_atomic_write_failing_rename_names_the_users_path(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"

    def refuse(source, destination):
        raise PermissionError(13, "Permission denied", str(source), str(destination))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(path, lambda file: file.write(b"x"))
    assert str(info.value) == f"cannot write {path}: Permission denied"
    assert listing(tmp_path) == []


# ------------------------------------------------------------------ symbolic links


def test_save_through_a_symlink_replaces_the_links_target_and_keeps_the_link(tmp_path, model):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "model.npz"
    SoftmaxClassifier(4, 3, seed=7).save(real)
    os.chmod(real, 0o600)
    link = link_dir / "model.npz"
    link.symlink_to(os.path.join("..", "real", "model.npz"))  # relative, as `ln -s` users write them
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "model.npz")
    np.testing.assert_array_equal(SoftmaxClassifier.load(real).W.data, model.W.data)
    assert mode(real) == 0o600, "the target's permissions are kept"
    assert listing(real_dir) == ["model.npz"] and listing(link_dir) == ["model.npz"], "no temp file anywhere"


def test_save_through_a_chain_of_symlinks(tmp_path, model):
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    (tmp_path / "one.npz").symlink_to("real.npz")
    (tmp_path / "two.npz").symlink_to("one.npz")
    model.save(tmp_path / "two.npz")
    assert (tmp_path / "two.npz").is_symlink() and (tmp_path / "one.npz").is_symlink()
    np.testing.assert_array_equal(SoftmaxClassifier.load(real).W.data, model.W.data)
    assert listing(tmp_path) == ["one.npz", "real.npz", "two.npz"]


def test_save_to_a_dangling_symlink_is_refused_and_writes_nothing(tmp_path, model):
    link = tmp_path / "model.npz"
    link.symlink_to("gone/model.npz")
    (tmp_path / "gone").mkdir()
    with pytest.raises(FileNotFoundError) as info:
        model.save(link)
    message = str(info.value)
    assert message == f"cannot write {link}: it is a symbolic link to gone/model.npz, which does not exist"
    assert link.is_symlink() and os.readlink(link) == "gone/model.npz"
    assert listing(tmp_path) == ["gone", "model.npz"] and listing(tmp_path / "gone") == []


def test_save_to_a_symlink_loop_is_one_clear_error(tmp_path, model):
    (tmp_path / "a.npz").symlink_to("b.npz")
    (tmp_path / "b.npz").symlink_to("a.npz")
    with pytest.raises(OSError) as info:
        model.save(tmp_path / "a.npz")
    assert str(info.value).startswith(f"cannot write {tmp_path / 'a.npz'}: ") and "\n" not in str(info.value)
    assert info.value.errno == errno.ELOOP
    assert listing(tmp_path) == ["a.npz", "b.npz"]


def test_save_onto_a_pipe_or_device_is_refused(tmp_path, model):
    """Renaming over /dev/null or a FIFO would replace it for every other user of it."""
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        model.save(fifo)
    assert str(info.value) == f"cannot write {fifo}: it is not a regular file (a device, pipe or socket)"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and listing(tmp_path) == ["model.npz"]


# ------------------------------------------------------------------ temp files left by killed saves


def temp_name(target_name, token="0123456789abcdef"):
    return f".{target_name}.{token}.tmp"


def temp_files(folder):
    return [name for name in listing(folder) if name.endswith(".tmp")]


@pytest.fixture
def after_start(monkeypatch):
    """Pretend this process started an hour from now, so every temp file here predates it."""
    monkeypatch.setattr(_files, "PROCESS_START", time.time() + 3600)


def test_a_save_removes_its_targets_stale_temp_files(tmp_path, model, after_start):
    stale = [temp_name("model.npz"), temp_name("model.npz", "fedcba9876543210"), ".model.npz.ab_cd123.tmp"]
    for name in stale:  # the last one: the 8-character mkstemp names of earlier versions
        (tmp_path / name).write_bytes(b"half a model")
    model.save(tmp_path / "model.npz")
    assert listing(tmp_path) == ["model.npz"]


def test_stale_cleanup_touches_only_the_exact_pattern_of_that_target(tmp_path, model, after_start):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"keep me")
    keep = {
        temp_name("other.npz"): "another target's temp file",
        temp_name("model.npz") + ".bak": "a suffix after the pattern",
        temp_name("model.npz")[1:]: "no leading dot",
        ".model.npz.0123.tmp": "a token of the wrong length",
        ".model.npz.0123456789ABCDEF.tmp": "upper case: not a token the library writes",
        ".model.npz..tmp": "no token",
        ".model.npzX0123456789abcdef.tmp": "a regex wildcard must not match",
    }
    for name in keep:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / temp_name("model.npz", "1111111111111111")).symlink_to(outside)
    (tmp_path / temp_name("model.npz", "2222222222222222")).mkdir()
    os.mkfifo(tmp_path / temp_name("model.npz", "3333333333333333"))  # opening a FIFO to read it would hang
    before = listing(tmp_path)
    model.save(tmp_path / "model.npz")
    assert listing(tmp_path) == sorted([*before, "model.npz"]), "nothing but the model may appear or go"
    assert outside.read_bytes() == b"keep me"


def test_stale_cleanup_escapes_the_target_name(tmp_path, after_start):
    """A target named with regex characters: its own temp files go, look-alikes stay."""
    target = tmp_path / "m+(1)[a].npz"
    (tmp_path / temp_name(target.name)).write_bytes(b"stale")
    (tmp_path / temp_name("mm(1)[a].npz")).write_bytes(b"look-alike")
    atomic_write(target, lambda file: file.write(b"new"))
    assert listing(tmp_path) == sorted([target.name, temp_name("mm(1)[a].npz")])


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_stale_cleanup_keeps_other_users_files(tmp_path, model, after_start):
    theirs = tmp_path / temp_name("model.npz")
    theirs.write_bytes(b"someone else's save")
    os.chown(theirs, 65534, 65534)
    model.save(tmp_path / "model.npz")
    assert theirs.read_bytes() == b"someone else's save"


def test_temp_files_newer_than_this_process_are_kept(tmp_path, model):
    """Made after this process started: maybe another live process's save in progress."""
    fresh = tmp_path / temp_name("model.npz")
    fresh.write_bytes(b"someone is writing this")
    backdated = tmp_path / temp_name("model.npz", "fedcba9876543210")
    backdated.write_bytes(b"an old mtime, but its inode changed just now")
    os.utime(backdated, (time.time() - 86400, time.time() - 86400))
    model.save(tmp_path / "model.npz")
    assert sorted(temp_files(tmp_path)) == sorted([fresh.name, backdated.name])


def test_a_temp_file_locked_by_a_live_writer_is_kept(tmp_path, model, after_start):
    fcntl = pytest.importorskip("fcntl")
    busy = tmp_path / temp_name("model.npz")
    busy.write_bytes(b"in progress")
    with open(busy, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        model.save(tmp_path / "model.npz")
    assert busy.read_bytes() == b"in progress"


def test_process_start_time_is_when_the_process_started(tmp_path):
    launched = time.time()
    code = "import time; from tinygrad_softmax import _files; print(_files.PROCESS_START, time.time())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    start, now = map(float, done.stdout.split())
    assert launched - 2 <= start <= now, "the boot time in /proc/stat is whole seconds: allow that much"


SLOW_SAVE = """
import sys, time
from tinygrad_softmax._files import atomic_write

def write(file):
    file.write(b"x" * 100_000)
    file.flush()
    print("writing", flush=True)
    time.sleep(600)

atomic_write(sys.argv[1], write)
"""


def start_slow_save(target):
    process = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(target)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    return process


def test_temp_files_of_killed_saves_are_removed_by_the_next_save_but_not_a_live_ones(tmp_path):
    target = tmp_path / "model.npz"
    SoftmaxClassifier(4, 3, seed=0).save(target)
    live = start_slow_save(target)  # still writing when the others are killed and the next save runs
    try:
        (in_progress,) = temp_files(tmp_path)
        for _ in range(3):
            process = start_slow_save(target)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            process.stdout.close()
        left = sorted(set(temp_files(tmp_path)) - {in_progress})
        assert left, "SIGKILL leaves a temp file behind: what the cleanup is for"
        # Only files last changed before a process started are its to remove, and the clocks involved
        # count in ticks of 10 ms: let them become plainly older than the next process.
        changed = max(os.stat(tmp_path / name).st_ctime for name in [in_progress, *left])
        while time.time() < changed + 0.1:
            time.sleep(0.02)
        save = "import sys; from tinygrad_softmax.nn import SoftmaxClassifier as S; S(4, 3, seed=1).save(sys.argv[1])"
        done = subprocess.run([sys.executable, "-c", save, str(target)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert temp_files(tmp_path) == [in_progress], "the killed saves' files went, the live save's stayed"
    finally:
        live.kill()
        live.wait(timeout=60)
        live.stdout.close()
    np.testing.assert_array_equal(SoftmaxClassifier.load(target).W.data, SoftmaxClassifier(4, 3, seed=1).W.data)


# ------------------------------------------------------------------ several files: all or none


def test_atomic_write_all_writes_every_file(tmp_path):
    outputs = [(tmp_path / "a", lambda f: f.write(b"A")), (str(tmp_path / "b"), lambda f: f.write(b"B"))]
    paths = atomic_write_all(outputs)
    assert paths == [tmp_path / "a", tmp_path / "b"]
    assert (tmp_path / "a").read_bytes() == b"A" and (tmp_path / "b").read_bytes() == b"B"
    assert listing(tmp_path) == ["a", "b"]


@pytest.mark.parametrize("existed", [True, False])
def test_atomic_write_all_failing_second_file_writes_none(tmp_path, existed):
    first = tmp_path / "first"
    if existed:
        first.write_bytes(b"old first")
        os.chmod(first, 0o600)

    def disk_full(file):
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as info:
        atomic_write_all([(first, lambda f: f.write(b"new first")), (tmp_path / "second", disk_full)])
    assert str(info.value) == f"cannot write {tmp_path / 'second'}: No space left on device"
    assert listing(tmp_path) == (["first"] if existed else [])
    if existed:
        assert first.read_bytes() == b"old first" and mode(first) == 0o600


@pytest.mark.parametrize("existed", [True, False])
def test_atomic_write_all_failing_last_rename_restores_the_first_file(tmp_path, monkeypatch, existed):
    first, second = tmp_path / "first", tmp_path / "second"
    if existed:
        first.write_bytes(b"old first")
        os.chmod(first, 0o640)
    real_replace = os.replace

    def replace(source, destination):
        if os.fspath(destination) == os.fspath(second):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError) as info:
        atomic_write_all([(first, lambda f: f.write(b"new first")), (second, lambda f: f.write(b"new second"))])
    assert str(info.value) == f"cannot write {second}: Permission denied"
    assert listing(tmp_path) == (["first"] if existed else []), "no temp or backup file remains"
    if existed:
        assert first.read_bytes() == b"old first" and mode(first) == 0o640


def test_atomic_write_all_refuses_one_file_twice(tmp_path):
    (tmp_path / "same").write_bytes(b"0")
    (tmp_path / "link").symlink_to("same")
    with pytest.raises(ValueError, match="same file"):
        atomic_write_all([(tmp_path / "same", lambda f: f.write(b"1")), (tmp_path / "link", lambda f: f.write(b"2"))])
    assert listing(tmp_path) == ["link", "same"] and (tmp_path / "same").read_bytes() == b"0"


# ------------------------------------------------------------------ load: files that are not models


def assert_not_a_model(path, *fragments):
    with pytest.raises(ValueError) as info:
        SoftmaxClassifier.load(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def savez(path, **arrays):
    with open(path, "wb") as file:  # a file object, so np.savez keeps the name as given
        np.savez(file, **arrays)
    return path


def test_load_missing_file(tmp_path):
    assert_not_a_model(tmp_path / "nope.npz", "no such model file")


def test_load_directory(tmp_path):
    assert_not_a_model(tmp_path, "not a tinygrad_softmax model file")


@pytest.mark.parametrize("content", [b"", b"hello, I am text\n", b"a,b,y\n1,2,p\n", bytes(range(256))])
def test_load_text_or_junk_file(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    assert_not_a_model(path, "not a tinygrad_softmax model file")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_load_truncated_npz(tmp_path, model, keep):
    good = tmp_path / "good.npz"
    model.save(good)
    data = good.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: int(len(data) * keep)])
    assert_not_a_model(path, "not a tinygrad_softmax model file")


def test_load_npz_without_format_key(tmp_path, model):
    path = savez(tmp_path / "noformat.npz", W=model.W.data)
    assert_not_a_model(path, "not a tinygrad_softmax model file")


def test_load_npz_with_wrong_format(tmp_path, model):
    path = savez(tmp_path / "other.npz", format=np.array("someone.else/1"), W=model.W.data)
    assert_not_a_model(path, "not a tinygrad_softmax model file")
    path = savez(tmp_path / "numeric.npz", format=np.array(1.0), W=model.W.data)
    assert_not_a_model(path, "not a tinygrad_softmax model file")


def test_load_npz_without_weights(tmp_path):
    path = savez(tmp_path / "now.npz", format=np.array(FORMAT))
    assert_not_a_model(path, "not a tinygrad_softmax model file")


@pytest.mark.parametrize("fmt", [np.array([FORMAT, FORMAT]), np.array([], dtype=str)])
def test_load_npz_with_non_scalar_format(tmp_path, model, fmt):
    path = savez(tmp_path / "fmt.npz", format=fmt, W=model.W.data)
    assert_not_a_model(path, "not a tinygrad_softmax model file")


@pytest.mark.parametrize(
    "weights",
    [
        np.zeros(5),  # 1-D
        np.zeros((3, 5, 1)),  # 3-D
        np.zeros((1, 5)),  # one class
        np.zeros((3, 1)),  # no feature besides the bias column
        np.zeros((0, 0)),
        np.zeros((3, 5), dtype=np.int64),  # not float
        np.zeros((3, 5), dtype=np.complex128),
        np.array(np.float64(1.0)),  # a scalar
    ],
    ids=["1d", "3d", "one-class", "bias-only", "empty", "int", "complex", "scalar"],
)
def test_load_npz_with_wrong_shaped_or_typed_weights(tmp_path, weights):
    path = savez(tmp_path / "badw.npz", format=np.array(FORMAT), W=weights)
    assert_not_a_model(path, "weights must be a float matrix")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_load_npz_with_non_finite_weights(tmp_path, model, bad):
    weights = model.W.data.copy()
    weights[1, 2] = bad
    path = savez(tmp_path / "nan.npz", format=np.array(FORMAT), W=weights)
    assert_not_a_model(path, "nan or inf")


@pytest.mark.parametrize(
    "names",
    [np.array(["a", "b"]), np.array(["a", "b", "c", "d"]), np.array([1, 2, 3]), np.array([["a", "b", "c"]])],
    ids=["too-few", "too-many", "numbers", "2d"],
)
def test_load_npz_with_bad_class_names(tmp_path, model, names):
    path = savez(tmp_path / "names.npz", format=np.array(FORMAT), W=model.W.data, class_names=names)
    assert_not_a_model(path, "class_names")


class _Boom:
    """Unpickling this object creates a marker file: proof that load() ran pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("key", ["W", "class_names", "format", "extra"])
def test_load_refuses_pickled_object_arrays(tmp_path, model, key):
    marker = tmp_path / "pickle_was_run"
    payload = np.empty(3, dtype=object)
    payload[:] = [_Boom(marker), _Boom(marker), _Boom(marker)]
    arrays = {"format": np.array(FORMAT), "W": model.W.data, key: payload}
    path = savez(tmp_path / "pickled.npz", **arrays)
    # the file really holds a pickle: numpy with allow_pickle=True would run it
    with np.load(path, allow_pickle=True) as archive:
        archive[key]
    assert marker.exists()
    marker.unlink()
    assert_not_a_model(path, "not a tinygrad_softmax model file")
    assert not marker.exists(), "load() must not unpickle anything"


def test_load_refuses_a_plain_pickle_file(tmp_path):
    import pickle

    marker = tmp_path / "pickle_was_run"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_Boom(marker)))
    assert_not_a_model(path, "not a tinygrad_softmax model file")
    assert not marker.exists()


def test_load_refuses_a_bare_npy_file(tmp_path, model):
    path = tmp_path / "weights.npy"
    np.save(path, model.W.data)
    assert_not_a_model(path, "not a tinygrad_softmax model file")


def test_load_error_messages_are_one_line(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    message = assert_not_a_model(path)
    assert "\n" not in message


def test_a_pickled_file_is_refused_without_advising_an_unsafe_load(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError) as info:
        SoftmaxClassifier.load(path)
    message = str(info.value)
    assert "pickled objects, which are never loaded" in message and "allow_pickle" not in message


# ------------------------------------------------------------------ load: archives too large to unpack (zip bombs)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, dtype):
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


ZEROS_BLOCK = 1 << 24


def deflate_header_then_zeros(header, nbytes):
    """Raw deflate data and CRC of `header` followed by `nbytes` zero bytes, without deflating them all:
    after a full flush deflate forgets what came before, so every block of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(nbytes, ZEROS_BLOCK)
    zeros = bytes(ZEROS_BLOCK)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) if whole else b""
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    crc = zlib.crc32(header)
    for _ in range(whole):
        crc = zlib.crc32(zeros, crc)
    return head + block * whole + tail, zlib.crc32(bytes(rest), crc)


def stored(name, data):
    return (name, zipfile.ZIP_STORED, data, zlib.crc32(data), len(data))


def write_zip(path, members):
    """A zip written by hand, so a member can hold data deflated beforehand and sizes can be anything.

    members: (name, method, data as stored, crc, uncompressed size).
    """
    out, directory = bytearray(), bytearray()
    for name, method, data, crc, size in members:
        encoded, offset = name.encode(), len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), size,
                                 len(encoded), 0, 0, 0, 0, 0, offset) + encoded  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out), 0)
    path.write_bytes(bytes(out + directory + end))
    return path


def zip_bomb(path, shape=(3, 1 << 26), dtype=np.float64):
    """A small .npz whose W member truly unpacks to a huge array of zeros (1.5 GiB by default)."""
    header = npy_header(shape, dtype)
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    data, crc = deflate_header_then_zeros(header, nbytes)
    members = [stored("format.npy", npy_bytes(np.array(FORMAT))), ("W.npy", zipfile.ZIP_DEFLATED, data, crc,
                                                                     len(header) + nbytes)]  # fmt: skip
    return write_zip(path, members)


def peak_memory_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def test_the_zip_bomb_helper_builds_a_real_archive(tmp_path):
    """Guard the guard: the same construction, small enough to unpack, is a valid .npz of zeros."""
    path = zip_bomb(tmp_path / "small.npz", shape=(3, (1 << 22) + 5))
    assert path.stat().st_size < 200_000
    with np.load(path, allow_pickle=False) as archive:
        weights = archive["W"]
    assert weights.shape == (3, (1 << 22) + 5) and not weights.any()


def test_load_refuses_a_zip_bomb_before_unpacking_it(tmp_path):
    path = zip_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 3_000_000, "a few MB on disk, 1.5 GiB unpacked"
    before = peak_memory_bytes()
    message = assert_not_a_model(path, "W.npy", "MAX_MODEL_BYTES")
    assert "\n" not in message
    assert peak_memory_bytes() - before < 200 * 2**20, "refused from the headers, before any unpacking"


def test_load_refuses_an_array_with_too_many_elements(tmp_path, model, monkeypatch):
    path = tmp_path / "model.npz"
    model.save(path)
    monkeypatch.setattr(nn, "MAX_ARRAY_ELEMENTS", 14)  # W holds 3 x 5
    assert_not_a_model(path, "W.npy", "15 elements", "MAX_ARRAY_ELEMENTS")
    monkeypatch.setattr(nn, "MAX_ARRAY_ELEMENTS", 15)
    np.testing.assert_array_equal(SoftmaxClassifier.load(path).W.data, model.W.data)


def test_load_refuses_an_archive_over_the_total_size_limit(tmp_path, model, monkeypatch):
    path = tmp_path / "model.npz"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(nn, "MAX_MODEL_BYTES", total - 1)
    assert_not_a_model(path, "MAX_MODEL_BYTES")
    monkeypatch.setattr(nn, "MAX_MODEL_BYTES", total)
    SoftmaxClassifier.load(path)


def test_load_refuses_a_header_that_claims_more_than_the_member_holds(tmp_path, model):
    lying = npy_header((10**4, 10**4), np.float64) + model.W.data.tobytes()  # 800 MB declared, 120 bytes there
    path = write_zip(tmp_path / "liar.npz", [stored("format.npy", npy_bytes(np.array(FORMAT))), stored("W.npy", lying)])
    assert_not_a_model(path, "W.npy", "header declares")


def test_load_refuses_a_member_holding_more_than_its_header_declares(tmp_path, model):
    padded = npy_bytes(model.W.data) + bytes(1 << 20)  # a (3, 5) header, then a MiB nobody asked for
    path = tmp_path / "padded.npz"
    with zipfile.ZipFile(path, "w") as archive:  # stored: not refused for its compression ratio first
        archive.writestr("format.npy", npy_bytes(np.array(FORMAT)))
        archive.writestr("W.npy", padded)
    assert_not_a_model(path, "W.npy", "header declares")


def test_load_refuses_an_absurd_compression_ratio(tmp_path):
    path = tmp_path / "zeros.npz"
    with open(path, "wb") as file:
        np.savez_compressed(file, format=np.array(FORMAT), W=np.zeros((3, 1 << 17)))  # 3 MiB deflate to ~3 KiB
    assert_not_a_model(path, "W.npy", "MAX_COMPRESSION_RATIO")


def test_load_accepts_an_honestly_compressed_model(tmp_path, model):
    path = tmp_path / "compressed.npz"
    with open(path, "wb") as file:
        np.savez_compressed(file, format=np.array(FORMAT), W=model.W.data, class_names=np.array(model.class_names))
    loaded = SoftmaxClassifier.load(path)
    np.testing.assert_array_equal(loaded.W.data, model.W.data)
    assert loaded.class_names == model.class_names


def test_load_refuses_compression_methods_savez_never_uses(tmp_path, model):
    path = tmp_path / "bzip2.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("format.npy", npy_bytes(np.array(FORMAT)))
        archive.writestr("W.npy", npy_bytes(model.W.data))
    assert_not_a_model(path, "compression")


def test_load_refuses_an_archive_with_too_many_members(tmp_path, model):
    path = savez(tmp_path / "crowded.npz", format=np.array(FORMAT), W=model.W.data,
                 **{f"extra{i}": np.zeros(1) for i in range(1000)})  # fmt: skip
    assert_not_a_model(path, "members", "MAX_MEMBERS")


def test_load_refuses_an_archive_with_a_comment_or_trailing_bytes(tmp_path, model):
    """save() writes neither; where the zip directory starts is then a guess, and guesses are not loaded."""
    path = tmp_path / "model.npz"
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = b"hello"
    assert_not_a_model(path, "not a tinygrad_softmax model file")
    model.save(path)
    with open(path, "ab") as file:
        file.write(b"trailing")
    assert_not_a_model(path, "not a tinygrad_softmax model file")


def test_load_text_file_is_not_called_a_pickle(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some text\n")
    message = assert_not_a_model(path, "not a tinygrad_softmax model file")
    assert "pickle" not in message


# ------------------------------------------------------------------ architectures, names, and old files

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_a_model_file_of_version_0_1_still_loads():
    """tests/data/model_v01.npz was written by SoftmaxClassifier.save before it became a Module (iris, 20 epochs)."""
    with np.load(os.path.join(DATA, "model_v01.npz"), allow_pickle=False) as archive:
        assert sorted(archive.files) == ["W", "class_names", "format"]
        weights = archive["W"]
    loaded = SoftmaxClassifier.load(os.path.join(DATA, "model_v01.npz"))
    assert isinstance(loaded, SoftmaxClassifier) and loaded.W.shape == (3, 5)
    np.testing.assert_array_equal(loaded.W.data, weights)
    np.testing.assert_allclose(weights[0], [0.4845462057893431, 1.240488836757191, -1.7220006659271654,
                                            -0.7813683097227284, 0.24592165872733576], rtol=0, atol=0)  # fmt: skip
    assert loaded.class_names == ["setosa", "versicolor", "virginica"] and loaded.feature_names is None
    X = load_iris().X
    expected = np.argmax(np.hstack([X, np.ones((len(X), 1))]) @ weights.T, axis=1)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert np.mean(expected == load_iris().y) > 0.9
    assert nn.load_model(os.path.join(DATA, "model_v01.npz")).W.shape == (3, 5)
    old32 = SoftmaxClassifier.load(os.path.join(DATA, "model_v01_float32.npz"))
    assert old32.W.dtype == np.float32 and old32.class_names is None and old32.num_features == 2


def test_a_classifier_file_keeps_the_0_1_format_with_feature_names_added(tmp_path, model):
    """Version 0.1's reader ignores keys it does not know: it reads this file too."""
    model.feature_names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["W", "class_names", "feature_names", "format"]
        assert archive["format"].item() == FORMAT
    loaded = SoftmaxClassifier.load(path)
    assert loaded.feature_names == model.feature_names and loaded.class_names == model.class_names


def mlp(**options):
    model = nn.MLP(4, (6, 5), 3, seed=0, **options)
    model.class_names = ["setosa", "versicolor", "virginica"]
    model.feature_names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return model


@pytest.mark.parametrize("options", [{}, {"activation": "tanh", "dtype": np.float32}], ids=["relu", "tanh-float32"])
def test_an_mlp_file_round_trips_its_architecture_weights_and_names(tmp_path, options):
    model = mlp(**options)
    path = tmp_path / "mlp.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(["format", "layer_sizes", "activation", "class_names", "feature_names",
                                                "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
        assert archive["format"].item() == "tinygrad_softmax.MLP/1"
        assert archive["layer_sizes"].tolist() == [4, 6, 5, 3]
    loaded = nn.load_model(path)
    assert isinstance(loaded, nn.MLP) and repr(loaded) == repr(model)
    assert loaded.activation == model.activation and loaded.layer_sizes == [4, 6, 5, 3]
    assert loaded.class_names == model.class_names and loaded.feature_names == model.feature_names
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], array)
        assert loaded.state_dict()[name].dtype == array.dtype
    X = load_iris().X
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert nn.MLP.load(path).layer_sizes == [4, 6, 5, 3] and nn.Classifier.load(path).num_classes == 3
    assert all(p.requires_grad for p in loaded.parameters()), "a loaded model can be trained further"


def test_each_kind_of_load_refuses_the_other_kind(tmp_path, model):
    mlp().save(tmp_path / "mlp.npz")
    model.save(tmp_path / "classifier.npz")
    assert_not_a_model(tmp_path / "mlp.npz", "holds MLP 4 -> 6 -> 5 -> 3 (relu), not SoftmaxClassifier",
                       "nn.load_model")  # fmt: skip
    with pytest.raises(ValueError, match=r"holds SoftmaxClassifier \(4 features, 3 classes\), not MLP"):
        nn.MLP.load(tmp_path / "classifier.npz")


def test_save_refuses_names_that_load_would_refuse(tmp_path, model):
    model.feature_names = ["a", "b"]
    with pytest.raises(ValueError, match="feature_names must be 4 strings"):
        model.save(tmp_path / "model.npz")
    model.feature_names, model.class_names = None, ["a", "b", 3]
    with pytest.raises(ValueError, match="class_names must be 3 strings"):
        model.save(tmp_path / "model.npz")
    assert listing(tmp_path) == []


def test_save_refuses_a_model_over_the_limits_of_load(tmp_path, monkeypatch):
    monkeypatch.setattr(nn, "MAX_MEMBERS", 8)
    with pytest.raises(ValueError, match="over the limits load accepts"):
        mlp().save(tmp_path / "big.npz")
    assert listing(tmp_path) == []


def mlp_arrays(**changes):
    arrays = mlp()._file_arrays()
    arrays.update(changes)
    return {key: value for key, value in arrays.items() if value is not None}


@pytest.mark.parametrize(
    "changes, fragments",
    [
        ({"layer_sizes": None}, ["layer_sizes must be 2 or more positive integers", "got None"]),
        ({"layer_sizes": np.array([4])}, ["layer_sizes"]),
        ({"layer_sizes": np.array([4.0, 6.0, 5.0, 3.0])}, ["layer_sizes"]),
        ({"layer_sizes": np.array([4, 6, 5, 1])}, ["classes >= 2"]),
        ({"layer_sizes": np.array([4, 6, 0, 3])}, ["layer_sizes"]),
        ({"layer_sizes": np.arange(1000)}, ["layer_sizes", "(1000,)"]),
        ({"layer_sizes": np.array([4, 6, 3])}, ["2.weight must be a float array of shape (3, 6)", "(5, 6)"]),
        ({"layer_sizes": np.array([4, 1 << 40, 5, 3])}, ["0.weight must be a float array of shape (1099511627776, 4)"]),
        ({"layer_sizes": np.array([4, 6, 5, 3, 2])}, ["no 6.weight array for the layer sizes [4, 6, 5, 3, 2]"]),
        ({"activation": np.array("gelu")}, ["activation must be one of relu, tanh, sigmoid"]),
        ({"activation": None}, ["activation must be one of"]),
        ({"2.bias": None}, ["no 2.bias array"]),
        ({"2.bias": np.zeros(5, dtype=np.int64)}, ["2.bias must be a float array"]),
        ({"2.bias": np.full(5, np.nan)}, ["2.bias contains nan or inf"]),
        ({"2.bias": np.zeros(5, dtype=np.float32)}, ["mix dtypes"]),
        ({"feature_names": np.array(["a", "b"])}, ["feature_names must be 4 strings"]),
        ({"class_names": np.array([1, 2, 3])}, ["class_names must be 3 strings"]),
        ({"format": np.array("tinygrad_softmax.MLP/2")}, ["format 'tinygrad_softmax.MLP/2', from another version"]),
    ],
)
def test_load_refuses_a_damaged_mlp_file_in_one_line(tmp_path, changes, fragments):
    """The layer sizes are checked against the weights before a model is built: 2**40 allocates nothing."""
    path = savez(tmp_path / "mlp.npz", **mlp_arrays(**changes))
    assert_not_a_model(path, *fragments)
