"""The notebook's softmax classifier, and a training loop for it."""

from __future__ import annotations

import math
import numbers
import os
import stat
import struct
import sys
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from . import functional as F
from ._files import atomic_write
from .grad_mode import no_grad, scope
from .optim import SGD, Adam, Optimizer
from .tensor import Tensor

_FORMAT = "tinygrad_softmax.SoftmaxClassifier/1"

# What SoftmaxClassifier.load agrees to unpack. A few MB of .npz can declare, or deflate to, many
# GB; every member's size is checked against these from the zip directory and the .npy headers
# before anything is unpacked. A model of k classes and f features holds k * (f + 1) weights, so
# these leave room for any model this package trains, not for an archive built to exhaust memory.
MAX_MODEL_BYTES = 1 << 30  # 1 GiB: all members together, unpacked
MAX_ARRAY_ELEMENTS = 1 << 27  # one array: 134 million elements, 1 GiB of float64
MAX_COMPRESSION_RATIO = 100  # unpacked / stored, for members over 1 MiB; real weights deflate to about 1.1
MAX_MEMBERS = 16  # save() writes 3
_RATIO_FLOOR = 1 << 20  # tiny members (the format string) may compress well and harm nobody
_MAX_DIRECTORY_ENTRY = 1024  # bytes per zip directory entry, names included
_PICKLED = "it holds pickled objects, which are never loaded"


class _NotAModelError(Exception):
    """The file is no model file written by `save`; the message says why."""


class _TooLargeError(Exception):
    """The file would unpack to more than the limits above allow; the message says which."""


def _size(nbytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes} bytes"


def _read_model_archive(file: BinaryIO) -> dict[str, np.ndarray]:
    """The arrays of an .npz, refused before anything is unpacked if any member is larger than allowed."""
    if file.read(4) != b"PK\x03\x04":
        file.seek(0)
        raise _NotAModelError(_not_an_archive(file))
    _check_zip_end(file)
    with zipfile.ZipFile(file) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise _TooLargeError(f"it has {len(members)} members, over the limit nn.MAX_MEMBERS = {MAX_MEMBERS}")
        names = [member.filename for member in members]
        if len(set(names)) != len(names):
            raise _NotAModelError("two members have one name")
        total = 0
        for member in members:
            total += member.file_size
            if member.file_size > MAX_MODEL_BYTES:
                raise _TooLargeError(f"{member.filename} unpacks to {_size(member.file_size)}, over the limit "
                                     f"nn.MAX_MODEL_BYTES = {_size(MAX_MODEL_BYTES)}")  # fmt: skip
            if total > MAX_MODEL_BYTES:
                raise _TooLargeError(f"the members up to {member.filename} unpack to {_size(total)}, over the "
                                     f"limit nn.MAX_MODEL_BYTES = {_size(MAX_MODEL_BYTES)}")  # fmt: skip
            _check_member(archive, member)
        return {member.filename[: -len(".npy")]: _read_member(archive, member) for member in members}


def _not_an_archive(file: BinaryIO) -> str:
    """Why a file that is no zip archive is no model file (without unpickling anything to find out)."""
    start = file.read(8)
    if not start:
        return "it is empty"
    if start[:1] == b"\x80":  # how pickles of protocol 2 and later begin
        return _PICKLED
    if start.startswith(np.lib.format.MAGIC_PREFIX):
        try:
            file.seek(0)
            if _read_npy_header(file, "the file")[1].hasobject:
                return _PICKLED
        except Exception:  # a damaged header: then it is only not an archive
            pass
        return "a single .npy array, not the .npz archive save() writes"
    return "not an .npz archive"


def _check_zip_end(file: BinaryIO) -> None:
    """Refuse an oversized zip directory before zipfile reads it (and makes objects for every entry).

    save() writes no zip comment and no zip64 records, so that record is exactly the last 22 bytes;
    an archive where it is elsewhere is refused rather than searched, so this check and zipfile
    agree on which directory they read.
    """
    end = file.seek(0, os.SEEK_END)
    file.seek(max(end - 22, 0))
    record = file.read(22)
    signature, _, _, _, entries, directory_bytes, _, comment = struct.unpack("<4s4H2LH", record.rjust(22, b"\0"))
    if signature != b"PK\x05\x06" or comment:
        raise _NotAModelError("no zip directory at its very end: truncated, or bytes appended")
    if end >= 42:
        file.seek(end - 42)
        if file.read(4) == b"PK\x06\x07":
            raise _NotAModelError("a zip64 archive, which save() never writes")
    if entries > MAX_MEMBERS or directory_bytes > MAX_MEMBERS * _MAX_DIRECTORY_ENTRY:
        raise _TooLargeError(f"it has {entries} members ({_size(directory_bytes)} of zip directory), over the "
                             f"limit nn.MAX_MEMBERS = {MAX_MEMBERS}")  # fmt: skip
    file.seek(0)


def _read_npy_header(stream: BinaryIO, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header; the stream is left at the first byte of data."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:  # 3.0 is only for structured dtypes with non-latin-1 field names, which no model has
        raise _NotAModelError(f"{name} is a .npy of version {version[0]}.{version[1]}")
    return shape, dtype


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Refuse a member whose unpacking could take more memory than its checked, declared size."""
    name = member.filename
    if not name.endswith(".npy"):
        raise _NotAModelError(f"member {name!r} is no .npy array")
    if member.flag_bits & 0x1:
        raise _NotAModelError(f"{name} is encrypted")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):  # what savez writes
        raise _NotAModelError(f"{name} uses zip compression method {member.compress_type}; only stored and "
                              "deflated members are read")  # fmt: skip
    if member.file_size > _RATIO_FLOOR and member.file_size > MAX_COMPRESSION_RATIO * member.compress_size:
        ratio = member.file_size / max(member.compress_size, 1)
        raise _TooLargeError(f"{name} would unpack to {ratio:.0f} times its stored size ({_size(member.file_size)}), "
                             f"over the limit nn.MAX_COMPRESSION_RATIO = {MAX_COMPRESSION_RATIO}")  # fmt: skip
    with archive.open(member) as stream:
        shape, dtype = _read_npy_header(stream, name)
        header_bytes = stream.tell()
    if dtype.hasobject:
        raise _NotAModelError(_PICKLED)
    if any(length < 0 for length in shape):
        raise _NotAModelError(f"{name} declares the shape {shape}")
    elements = math.prod(shape)
    if elements > MAX_ARRAY_ELEMENTS:
        raise _TooLargeError(f"{name} holds {elements:,} elements, over the limit nn.MAX_ARRAY_ELEMENTS = "
                             f"{MAX_ARRAY_ELEMENTS:,}")  # fmt: skip
    declared = header_bytes + elements * dtype.itemsize
    if declared != member.file_size:  # numpy would allocate what the header says, whatever the data holds
        raise _NotAModelError(f"{name} holds {member.file_size:,} bytes but its header declares {shape} {dtype}, "
                              f"{declared:,} bytes")  # fmt: skip


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(member) as stream:
        array = np.lib.format.read_array(stream, allow_pickle=False)
        if stream.read(1):  # reading to the end is also what makes zipfile check the CRC
            raise _NotAModelError(f"{member.filename} holds more than its array")
    return array


class SoftmaxClassifier:
    """``z = W x`` with the bias absorbed as W's last column; ``softmax(z)`` gives class probabilities.

    Args:
        num_features: length of one sample ``x``.
        num_classes: number of classes (rows of W).
        seed: seeds the random initial weights.
        init_scale: standard deviation of the initial weights.
        dtype: float64 (default) or float32.

    Attributes:
        W: the weights, a Tensor of shape ``(num_classes, num_features + 1)``;
            ``W[:, -1]`` is the bias.
        class_names: optional names of the classes, saved with the model.
    """

    def __init__(
        self,
        num_features: int,
        num_classes: int,
        seed: int | None = None,
        init_scale: float = 0.01,
        dtype: Any = np.float64,
    ) -> None:
        if num_features < 1 or num_classes < 2:
            raise ValueError(
                f"SoftmaxClassifier: need num_features >= 1 and num_classes >= 2, "
                f"got {num_features} and {num_classes}"
            )
        rng = np.random.default_rng(seed)
        weights = rng.standard_normal((num_classes, num_features + 1)) * init_scale
        self.W = Tensor(weights, requires_grad=True, name="W", dtype=dtype)
        self.class_names: list[str] | None = None

    @property
    def num_features(self) -> int:
        return self.W.shape[1] - 1

    @property
    def num_classes(self) -> int:
        return self.W.shape[0]

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        """Logits: ``(num_features,) -> (num_classes,)`` or ``(n, num_features) -> (n, num_classes)``.

        Computes ``W[:, :-1] @ x + W[:, -1]``, which is ``W @ [x; 1]`` without
        copying the data to append the bias feature.
        """
        if not isinstance(x, Tensor):
            x = Tensor._leaf(np.asarray(x), name="x")  # no copy: inputs are constants
        if x.ndim not in (1, 2) or x.shape[-1] != self.num_features:
            raise ValueError(
                f"SoftmaxClassifier: expected input of shape ({self.num_features},) or "
                f"(n, {self.num_features}), got {x.shape}"
            )
        with scope("linear", label="dz_i/dW_ij = x_j, so dL/dW = dL/dz x^T"):
            weights, bias = self.W[:, :-1], self.W[:, -1]
            if x.ndim == 1:
                return weights @ x + bias
            return x @ weights.T + bias  # samples as rows: (n, f) @ (f, k)

    def parameters(self) -> list[Tensor]:
        return [self.W]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n, num_classes)`` (or ``(num_classes,)`` for one sample)."""
        with no_grad():
            return F.softmax(self(np.asarray(X))).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, ``(n,)`` integers."""
        with no_grad():
            return np.argmax(self(np.asarray(X)).data, axis=-1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the weights to an ``.npz`` file atomically (with `tinygrad_softmax._files.atomic_write`).

        The file is written under a temporary name in the same folder and renamed
        over `path` only when complete, so a crash never leaves a half-written model.
        A new file gets the permissions of any new file (``0o666`` minus the umask); a
        model saved over keeps its permission bits. A symbolic link is written through:
        the file it points to is replaced and the link stays; a dangling link is refused.
        Temp files left by saves of the same `path` that were killed mid-write are removed.

        Raises:
            OSError: saying ``cannot write PATH: reason`` (a missing folder, `path` is a folder...).
        """
        atomic_write(path, self._write_npz)

    def _write_npz(self, file: BinaryIO) -> None:
        """The archive `save` writes, to an open binary file (so the CLI can write it together with a plot)."""
        extra = {} if self.class_names is None else {"class_names": np.array(self.class_names, dtype=str)}
        np.savez(file, format=np.array(_FORMAT), W=self.W.data, **extra)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SoftmaxClassifier:
        """Read a model written by `save`. Raises ValueError for anything that is not one.

        Nothing is ever unpickled. Before unpacking anything, every member's size is read from the
        zip directory and its .npy header, and the file is refused if it would unpack to more than
        MAX_MODEL_BYTES in all, an array has more than MAX_ARRAY_ELEMENTS elements, a member holds
        other than what its header declares, or it is compressed more than MAX_COMPRESSION_RATIO
        times: a small file cannot make this take gigabytes of memory.
        """
        try:
            # not blocking: open() of a FIFO would wait for a writer forever
            handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
            with os.fdopen(handle, "rb") as file:
                kind = os.fstat(file.fileno()).st_mode
                if stat.S_ISDIR(kind):
                    raise _NotAModelError("it is a directory")
                if not stat.S_ISREG(kind):
                    raise _NotAModelError("it is not a regular file (a device, pipe or socket)")
                contents = _read_model_archive(file)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such model file") from None
        except _TooLargeError as exc:
            raise ValueError(f"{path}: too large to load: {exc}") from None
        except MemoryError:
            raise ValueError(f"{path}: not enough memory to load it") from None
        except Exception as exc:  # zip, npy and pickle refusals all mean "not a model file"
            if isinstance(exc, _NotAModelError):
                reason = str(exc)
            elif isinstance(exc, IsADirectoryError):
                reason = "it is a directory"
            elif isinstance(exc, OSError):
                raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
            else:  # numpy's and zipfile's own words: damaged data, or a suggestion to allow pickles
                reason = "unreadable"
            raise ValueError(
                f"{path}: not a tinygrad_softmax model file ({reason}); expected a .npz written by "
                "SoftmaxClassifier.save or `tinygrad-softmax train --save`"
            ) from None
        marker = contents.get("format", np.array(""))
        if marker.shape != () or marker.dtype.kind != "U" or marker.item() != _FORMAT or "W" not in contents:
            raise ValueError(f"{path}: not a tinygrad_softmax model file (keys {sorted(contents)})")
        weights = contents["W"]
        if weights.ndim != 2 or weights.shape[0] < 2 or weights.shape[1] < 2 or weights.dtype.kind != "f":
            raise ValueError(f"{path}: weights must be a float matrix (classes, features + 1), got {weights.shape}")
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"{path}: weights contain nan or inf")
        model = cls(weights.shape[1] - 1, weights.shape[0], dtype=weights.dtype)
        model.W.data[...] = weights
        names = contents.get("class_names")
        if names is not None:
            if names.dtype.kind != "U" or names.shape != (weights.shape[0],):
                raise ValueError(f"{path}: class_names must be {weights.shape[0]} strings, got {names.shape}")
            model.class_names = names.tolist()
        return model


def fit(
    model: SoftmaxClassifier,
    X: Any,
    y: Any,
    epochs: int,
    lr: float,
    batch_size: int = 1,
    optimizer: str | Optimizer = "sgd",
    seed: int | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train with mini-batch gradient descent on the mean cross-entropy.

    Args:
        model: the classifier to train in place.
        X: samples as rows, ``(n, num_features)``.
        y: integer labels ``(n,)``.
        epochs: passes over the data.
        lr: learning rate.
        batch_size: samples per step; 1 is the notebook's per-sample loop.
        optimizer: ``"sgd"``, ``"adam"`` or an Optimizer over ``model.parameters()``.
        seed: seeds the shuffling of samples each epoch.
        progress: show a progress bar (tqdm when installed, else a line per epoch on stderr).

    Returns:
        ``{"loss": [...], "accuracy": [...]}``, the mean loss and the training
        accuracy of each epoch.

    `X` is never copied whole: each batch is converted to the model's dtype as it is
    taken, so a float32 data set can train a float64 model without a float64 copy.
    """
    dtype = model.W.dtype
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":  # lists of numbers as objects, or strings: convert (or refuse) them up front
        X = np.asarray(X, dtype=dtype)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"fit: expected X of shape (n, features) and y of shape (n,), got {X.shape} and {y.shape}")
    if not (isinstance(epochs, numbers.Integral) and epochs >= 1):
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(batch_size, numbers.Integral) and batch_size >= 1):
        raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
    opt = _make_optimizer(optimizer, model, lr)
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for _ in _epochs(epochs, progress, history):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(X[batch].astype(dtype, copy=False)), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        history["loss"].append(total / len(X))
        if X.dtype == dtype:
            predicted = model.predict(X)
        else:  # converted a block of rows at a time, again not X whole
            rows = max(1, (1 << 20) // max(1, X.shape[1] * dtype.itemsize))
            predicted = np.concatenate([model.predict(X[i : i + rows].astype(dtype)) for i in range(0, len(X), rows)])
        history["accuracy"].append(float(np.mean(predicted == y)))
    return history


def _make_optimizer(optimizer: str | Optimizer, model: SoftmaxClassifier, lr: float) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    choices = {"sgd": SGD, "adam": Adam}
    if optimizer not in choices:
        raise ValueError(f"fit: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    return choices[optimizer](model.parameters(), lr=lr)


def _epochs(epochs: int, progress: bool, history: dict[str, list[float]]) -> Iterator[int]:
    """range(epochs), with a progress display that shows the latest loss and accuracy."""
    if not progress:
        yield from range(epochs)
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(range(epochs), desc="training", unit="epoch", file=sys.stderr)
        for epoch in bar:
            yield epoch
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", acc=f"{history['accuracy'][-1]:.3f}")
        return
    for epoch in range(epochs):
        yield epoch
        print(
            f"epoch {epoch + 1}/{epochs}  loss {history['loss'][-1]:.4f}  accuracy {history['accuracy'][-1]:.3f}",
            file=sys.stderr,
        )
