"""SoftmaxClassifier.save / load: round trips, atomic writes, permissions, and refusing files that are not models."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinygrad_softmax import _files
from tinygrad_softmax._files import atomic_write
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


def test_saving_over_a_file_gives_the_new_file_umask_permissions(tmp_path, model):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    model.save(path)
    assert mode(path) == 0o666 & ~current_umask()


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
