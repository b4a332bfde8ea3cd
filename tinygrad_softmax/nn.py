"""Layers the torch way (Module, Linear, ReLU, Tanh, Sigmoid, Sequential), the notebook's softmax
classifier and an MLP built from them, their model files, and a training loop.

Layers are composites: their forward calls Tensor ops, and no backward code lives here.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import stat
import struct
import sys
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TypeVar

import numpy as np

from . import functional as F
from ._files import atomic_write
from .grad_mode import no_grad, scope
from .optim import SGD, Adam, Optimizer
from .tensor import Tensor

# The `format` member of a model file says which kind of model it holds. The classifier's is the
# one version 0.1 wrote (so files of either version load in the other); an MLP has its own.
_FORMAT = "tinygrad_softmax.SoftmaxClassifier/1"
_MLP_FORMAT = "tinygrad_softmax.MLP/1"

# What load_model agrees to unpack. A few MB of .npz can declare, or deflate to, many
# GB; every member's size is checked against these from the zip directory and the .npy headers
# before anything is unpacked. A model of k classes and f features holds k * (f + 1) weights, so
# these leave room for any model this package trains, not for an archive built to exhaust memory.
MAX_MODEL_BYTES = 1 << 30  # 1 GiB: all members together, unpacked
MAX_ARRAY_ELEMENTS = 1 << 27  # one array: 134 million elements, 1 GiB of float64
MAX_COMPRESSION_RATIO = 100  # unpacked / stored, for members over 1 MiB; real weights deflate to about 1.1
MAX_MEMBERS = 64  # save() writes 3-4 for a SoftmaxClassifier, 5 + 2 per layer for an MLP
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


# ---------------------------------------------------------------------------- modules


def _as_input(x: Any) -> Tensor:
    """A Tensor as it is; anything else as a constant leaf named ``x``, without copying it."""
    return x if isinstance(x, Tensor) else Tensor._leaf(np.asarray(x), name="x")


class Module:
    """The base of layers and models, as ``torch.nn.Module``: parameters, sub-modules, modes, state.

    A subclass sets its parameters and sub-modules as attributes in ``__init__`` (after
    ``super().__init__()``) and defines `forward`; calling the module runs `forward`. Every
    attribute that is a Tensor is a parameter and every attribute that is a Module a
    sub-module: there is no separate ``Parameter`` class, so keep constants as numpy arrays.

    A layer names itself in `scope_name`: its forward then runs inside ``scope(scope_name)``,
    and graph pictures with ``collapse=True`` draw the layer as one box. Containers
    (`Sequential`, the classifiers) leave it None, so their layers stay separate boxes
    (pictures collapse to the outermost scope).

    Attributes:
        training: True after `train()` (the default), False after `eval()`. No layer here
            behaves differently in the two modes; the flag is for layers that will (dropout).
    """

    scope_name: str | None = None
    scope_label: str | None = None  # the derivative in words, shown on the collapsed box's edges

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.scope_name is None:
            return self.forward(*args, **kwargs)
        with scope(self.scope_name, label=self.scope_label):
            return self.forward(*args, **kwargs)

    def named_children(self) -> list[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, in the order they were set."""
        return [(name, value) for name, value in vars(self).items() if isinstance(value, Module)]

    def children(self) -> list[Module]:
        return [child for _, child in self.named_children()]

    def modules(self) -> list[Module]:
        """This module and every module inside it, parents before children."""
        found, stack = [], [self]
        while stack:
            module = stack.pop()
            found.append(module)
            stack.extend(reversed(module.children()))
        return found

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """``(dotted name, Tensor)`` of every parameter, this module's own first, each Tensor once.

        The names are the keys of `state_dict`: ``"weight"``, ``"0.bias"``, ``"linear.weight"``.
        A Tensor shared by two layers is listed once, under its first name (as torch does).
        """
        found: list[tuple[str, Tensor]] = []
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            for name, value in vars(module).items():
                if isinstance(value, Tensor) and id(value) not in seen:
                    seen.add(id(value))
                    found.append((path + name, value))
            stack.extend(reversed([(f"{path}{name}.", child) for name, child in module.named_children()]))
        return found

    def parameters(self) -> list[Tensor]:
        """Every parameter, in `named_parameters` order: what an optimizer takes."""
        return [tensor for _, tensor in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``, torch's default)."""
        for tensor in self.parameters():
            tensor.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set `training` on this module and all inside it; returns the module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data by name: later training does not change it."""
        return {name: tensor.data.copy() for name, tensor in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Set the parameters from `state` (arrays or Tensors by `state_dict` name).

        Every entry is checked before any parameter changes: the same names (with `strict`),
        and for each name the same shape and dtype. Each parameter gets a copy, as a new
        array: a graph recorded earlier keeps the data it saved.

        Returns:
            ``(missing, unexpected)``: model keys absent from `state`, and keys of `state`
            the model lacks (both empty when `strict`, which raises instead).

        Raises:
            ValueError: naming the keys that differ, or the key with its two shapes or dtypes.
        """
        where = f"{type(self).__name__}.load_state_dict"
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        if strict and (missing or unexpected):
            parts = [f"missing {missing}"] * bool(missing) + [f"unexpected {unexpected}"] * bool(unexpected)
            raise ValueError(f"{where}: keys {', '.join(parts)} (the model's keys: {list(own)})")
        updates = []
        for name, tensor in own.items():
            if name not in state:
                continue
            value = state[name]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != tensor.shape:
                raise ValueError(f"{where}: {name} has shape {array.shape} in the state dict, "
                                 f"{tensor.shape} in the model")  # fmt: skip
            if array.dtype != tensor.dtype:
                raise ValueError(f"{where}: {name} is {array.dtype} in the state dict, {tensor.dtype} in the "
                                 f"model; convert it first (array.astype(np.{tensor.dtype}))")  # fmt: skip
            updates.append((tensor, array))
        for tensor, array in updates:
            tensor.data = array.copy()  # not in place: ops may have saved the old array for backward
        return missing, unexpected

    def extra_repr(self) -> str:
        """The constructor arguments shown by ``repr`` (``in_features=4, out_features=3, bias=True``)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = extra.splitlines() + [f"({name}): {child!r}".replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _dtype_name(dtype: np.dtype) -> str:
    return "" if dtype == np.float64 else f", dtype={dtype}"


class Linear(Module):
    """``z = x W^T + b``: ``(in_features,) -> (out_features,)`` or ``(n, in_features) -> (n, out_features)``.

    Args:
        in_features: length of one input sample.
        out_features: length of one output.
        bias: add a bias ``b`` of shape ``(out_features,)``.
        bias_column: keep the bias as W's last column instead, as the notebook does: then
            `weight` is ``(out_features, in_features + 1)``, `bias` is None, and the layer
            computes ``W[:, :-1] @ x + W[:, -1]`` for one sample and
            ``x @ W[:, :-1].T + W[:, -1]`` for a batch (``W @ [x; 1]`` without copying ``x``).
        seed: an int, or a ``np.random.Generator`` to draw from (a model's layers share one).
        dtype: of the parameters, float64 (default) or float32.
        init_scale: None draws every weight and bias from ``U(-1/sqrt(in_features),
            1/sqrt(in_features))``, torch's default; a number draws them from a normal
            distribution with that standard deviation (the notebook's).

    Weights and bias are drawn as one ``(out_features, in_features + 1)`` matrix whose last
    column is the bias, so both layouts give the same function for the same seed.

    Attributes:
        weight: Tensor ``(out_features, in_features)`` (``+ 1`` with `bias_column`), named ``"W"``.
        bias: Tensor ``(out_features,)`` named ``"b"``, or None.
    """

    scope_name = "linear"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_column: bool = False,
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if not (isinstance(size, numbers.Integral) and size >= 1):
                raise ValueError(f"Linear: {name} must be a positive integer, got {size!r}")
        if bias_column and not bias:
            raise ValueError("Linear: bias_column=True keeps the bias in W; it cannot go with bias=False")
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"Linear: dtype must be a float dtype, got {np.dtype(dtype)}")
        rng = np.random.default_rng(seed)  # a Generator is used as it is
        shape = (out_features, in_features + 1 if bias else in_features)
        if init_scale is None:
            bound = 1.0 / math.sqrt(in_features)
            values = rng.uniform(-bound, bound, size=shape)
        else:
            values = rng.standard_normal(shape) * init_scale
        self.in_features, self.out_features, self.bias_column = int(in_features), int(out_features), bias_column
        if bias_column:
            self.weight = Tensor(values, requires_grad=True, name="W", dtype=dtype)
            self.bias: Tensor | None = None
            self.scope_label = "dz_i/dW_ij = x_j, so dL/dW = dL/dz x^T"
        else:
            self.weight = Tensor(values[:, :in_features], requires_grad=True, name="W", dtype=dtype)
            self.bias = Tensor(values[:, in_features], requires_grad=True, name="b", dtype=dtype) if bias else None
            self.scope_label = "dL/dx = g W, dL/dW = g^T x, dL/db = sum of g over samples"

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        """``(in_features,) -> (out_features,)`` or ``(n, in_features) -> (n, out_features)``."""
        x = _as_input(x)
        shape = x.data.shape  # the array's, not Tensor.shape: no Python call per step (tests/test_overhead.py)
        if len(shape) not in (1, 2) or shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape ({self.in_features},) or (n, {self.in_features}), "
                             f"got {shape}")  # fmt: skip
        if self.bias_column:
            weights, bias = self.weight[:, :-1], self.weight[:, -1]
        else:
            weights, bias = self.weight, self.bias
        z = weights @ x if len(shape) == 1 else x @ weights.T  # samples as rows: (n, in) @ (in, out)
        return z if bias is None else z + bias

    def extra_repr(self) -> str:
        layout = "bias_column=True" if self.bias_column else f"bias={self.bias is not None}"
        return f"in_features={self.in_features}, out_features={self.out_features}, {layout}" + _dtype_name(
            self.weight.dtype
        )


class ReLU(Module):
    """``max(x, 0)`` elementwise, any shape (``x.relu()``)."""

    scope_name, scope_label = "relu", "1 where x > 0, else 0"

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return _as_input(x).relu()


class Tanh(Module):
    """``tanh(x)`` elementwise, any shape (``x.tanh()``)."""

    scope_name, scope_label = "tanh", "1 - tanh(x)^2"

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return _as_input(x).tanh()


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise, any shape (``x.sigmoid()``)."""

    scope_name, scope_label = "sigmoid", "s (1 - s)"

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return _as_input(x).sigmoid()


class Sequential(Module):
    """The layers applied one after the other; children are named ``"0"``, ``"1"``... as in torch.

    Indexing gives a layer (``model[0]``), a slice a new Sequential of the same layers.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {index} is a {type(layer).__name__}, not a Module")
        self._layers = list(layers)

    def named_children(self) -> list[tuple[str, Module]]:
        return [(str(index), layer) for index, layer in enumerate(self._layers)] + super().named_children()

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def forward(self, x: Any) -> Any:
        for layer in self._layers:
            x = layer(x)
        return x


# ---------------------------------------------------------------------------- classifiers


_Model = TypeVar("_Model", bound="Classifier")


class Classifier(Module):
    """A Module mapping samples to class logits, with `predict`, `predict_proba` and model files.

    `SoftmaxClassifier` and `MLP` are the two kinds; `load_model` reads either back.

    Attributes:
        class_names: optional names of the classes (``num_classes`` strings), saved with the model.
        feature_names: optional names of the input features (``num_features`` strings), saved
            with the model: ``tinygrad-softmax predict`` refuses data whose columns differ.
    """

    def __init__(self) -> None:
        super().__init__()
        self.class_names: list[str] | None = None
        self.feature_names: list[str] | None = None

    @property
    def num_features(self) -> int:
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    def _input(self, x: Any) -> Tensor:
        x = _as_input(x)
        shape, features = x.data.shape, self.num_features
        if len(shape) not in (1, 2) or shape[-1] != features:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape ({features},) or (n, {features}), got {shape}"
            )
        return x

    def _summary(self) -> str:
        """The architecture in a few words, for messages."""
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n, num_classes)`` (or ``(num_classes,)`` for one sample)."""
        with no_grad():
            return F.softmax(self(np.asarray(X))).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, ``(n,)`` integers."""
        with no_grad():
            return np.argmax(self(np.asarray(X)).data, axis=-1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to an ``.npz`` file atomically (with `tinygrad_softmax._files.atomic_write`).

        The file is written under a temporary name in the same folder and renamed
        over `path` only when complete, so a crash never leaves a half-written model.
        A new file gets the permissions of any new file (``0o666`` minus the umask); a
        model saved over keeps its permission bits. A symbolic link is written through:
        the file it points to is replaced and the link stays; a dangling link is refused.
        Temp files left by saves of the same `path` that were killed mid-write are removed.

        Raises:
            OSError: saying ``cannot write PATH: reason`` (a missing folder, `path` is a folder...).
            ValueError: the model is one `load` would refuse (names of the wrong length, over the limits).
        """
        self._file_arrays()  # refuse before touching the file system
        atomic_write(path, self._write_npz)

    def _file_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the model file, checked against what `load_model` accepts."""
        arrays = self._architecture_arrays()
        for key, names, count in (("class_names", self.class_names, self.num_classes),
                                  ("feature_names", self.feature_names, self.num_features)):  # fmt: skip
            if names is None:
                continue
            if len(names) != count or not all(isinstance(name, str) for name in names):
                raise ValueError(f"{type(self).__name__}: {key} must be {count} strings, got {list(names)!r}")
            arrays[key] = np.array(names, dtype=str)
        _check_saveable(arrays)
        return arrays

    def _architecture_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _write_npz(self, file: BinaryIO) -> None:
        """The archive `save` writes, to an open binary file (so the CLI can write it together with a plot)."""
        np.savez(file, **self._file_arrays())

    @classmethod
    def load(cls: type[_Model], path: str | os.PathLike[str]) -> _Model:
        """Read a model written by `save` (as `load_model`), refused if it is not of this class.

        ``Classifier.load`` accepts every kind.
        """
        model = load_model(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path}: holds {model._summary()}, not {cls.__name__}; read it with nn.load_model")
        return model


class SoftmaxClassifier(Classifier):
    """``z = W x`` with the bias absorbed as W's last column; ``softmax(z)`` gives class probabilities.

    One `Linear` layer with ``bias_column=True`` (the attribute `linear`).

    Args:
        num_features: length of one sample ``x``.
        num_classes: number of classes (rows of W).
        seed: seeds the random initial weights.
        init_scale: standard deviation of the initial weights (normal); None: torch's uniform.
        dtype: float64 (default) or float32.

    Attributes:
        W: the weights, a Tensor of shape ``(num_classes, num_features + 1)``;
            ``W[:, -1]`` is the bias.
        class_names: optional names of the classes, saved with the model.
        feature_names: optional names of the features, saved with the model.
    """

    def __init__(
        self,
        num_features: int,
        num_classes: int,
        seed: int | None = None,
        init_scale: float | None = 0.01,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        if num_features < 1 or num_classes < 2:
            raise ValueError(
                f"SoftmaxClassifier: need num_features >= 1 and num_classes >= 2, "
                f"got {num_features} and {num_classes}"
            )
        self.linear = Linear(num_features, num_classes, bias_column=True, seed=seed, dtype=dtype,
                             init_scale=init_scale)  # fmt: skip

    @property
    def W(self) -> Tensor:  # noqa: N802  (the notebook's name)
        return self.linear.weight

    @W.setter
    def W(self, value: Tensor) -> None:  # noqa: N802  (`model.W -= lr * model.W.grad` under no_grad sets it)
        if not isinstance(value, Tensor) or value.shape != self.linear.weight.shape:
            raise ValueError(f"SoftmaxClassifier: W must be a Tensor of shape {self.linear.weight.shape}, got "
                             f"{getattr(value, 'shape', type(value).__name__)}")  # fmt: skip
        self.linear.weight = value

    @property
    def num_features(self) -> int:
        return self.linear.in_features

    @property
    def num_classes(self) -> int:
        return self.linear.out_features

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        """Logits: ``(num_features,) -> (num_classes,)`` or ``(n, num_features) -> (n, num_classes)``.

        Computes ``W[:, :-1] @ x + W[:, -1]``, which is ``W @ [x; 1]`` without
        copying the data to append the bias feature.
        """
        return self.linear(self._input(x))

    def _summary(self) -> str:
        return f"SoftmaxClassifier ({self.num_features} features, {self.num_classes} classes)"

    def _architecture_arrays(self) -> dict[str, np.ndarray]:
        return {"format": np.array(_FORMAT), "W": self.W.data}

    @classmethod
    def _from_arrays(cls, contents: dict[str, np.ndarray], path: Any) -> SoftmaxClassifier:
        weights = contents.get("W")
        if weights is None:
            raise ValueError(f"{path}: not a tinygrad_softmax model file (keys {sorted(contents)})")
        if weights.ndim != 2 or weights.shape[0] < 2 or weights.shape[1] < 2 or weights.dtype.kind != "f":
            raise ValueError(f"{path}: weights must be a float matrix (classes, features + 1), got {weights.shape}")
        if not np.all(np.isfinite(weights)):
            raise ValueError(f"{path}: weights contain nan or inf")
        model = cls(weights.shape[1] - 1, weights.shape[0], dtype=weights.dtype)
        model.load_state_dict({"linear.weight": weights})
        return model


class MLP(Sequential, Classifier):
    """A multi-layer perceptron: ``Linear, activation, Linear, activation, ..., Linear`` to logits.

    A `Sequential` (so its parameters are named ``"0.weight"``, ``"0.bias"``, ``"2.weight"``...,
    as a ``torch.nn.Sequential`` of the same layers names them) and a `Classifier`.

    Args:
        num_features: length of one sample.
        hidden: the hidden layers' sizes, e.g. ``(32, 16)``; ``()`` is one Linear layer.
        num_classes: number of classes (outputs of the last layer).
        activation: ``"relu"`` (default), ``"tanh"`` or ``"sigmoid"``, after every hidden layer.
        seed: seeds the initial weights (torch's default initialisation, see `Linear`).
        dtype: float64 (default) or float32.

    The Linear layers' tensors are named ``W1, b1, W2, b2...`` in graph pictures.
    """

    def __init__(
        self,
        num_features: int,
        hidden: Sequence[int],
        num_classes: int,
        activation: str = "relu",
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        sizes = [num_features, *hidden, num_classes]
        if not all(isinstance(size, numbers.Integral) and size >= 1 for size in sizes) or num_classes < 2:
            raise ValueError(f"MLP: need positive layer sizes and num_classes >= 2, got {num_features}, "
                             f"hidden={tuple(hidden)}, {num_classes}")  # fmt: skip
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
        rng = np.random.default_rng(seed)  # one generator: each layer draws the next numbers
        layers: list[Module] = []
        for number, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
            linear = Linear(int(fan_in), int(fan_out), seed=rng, dtype=dtype)
            linear.weight.name, linear.bias.name = f"W{number}", f"b{number}"  # type: ignore[union-attr]
            layers += [linear, _ACTIVATIONS[activation]()]
        super().__init__(*layers[:-1])  # no activation after the last layer: it gives logits
        self.activation = activation

    @property
    def layer_sizes(self) -> list[int]:
        """``[num_features, *hidden, num_classes]``."""
        linears = [layer for layer in self if isinstance(layer, Linear)]
        return [linears[0].in_features] + [layer.out_features for layer in linears]

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(self.layer_sizes[1:-1])

    @property
    def num_features(self) -> int:
        return self[0].in_features

    @property
    def num_classes(self) -> int:
        return self[-1].out_features

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        """Logits: ``(num_features,) -> (num_classes,)`` or ``(n, num_features) -> (n, num_classes)``."""
        return super().forward(self._input(x))

    def _summary(self) -> str:
        return f"MLP {' -> '.join(map(str, self.layer_sizes))} ({self.activation})"

    def _architecture_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"format": np.array(_MLP_FORMAT), "layer_sizes": np.array(self.layer_sizes, dtype=np.int64),
                  "activation": np.array(self.activation)}  # fmt: skip
        return {**arrays, **self.state_dict()}

    @staticmethod
    def _parameter_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            shapes[f"{2 * index}.weight"] = (fan_out, fan_in)
            shapes[f"{2 * index}.bias"] = (fan_out,)
        return shapes

    @classmethod
    def _from_arrays(cls, contents: dict[str, np.ndarray], path: Any) -> MLP:
        sizes = contents.get("layer_sizes")
        if (sizes is None or sizes.ndim != 1 or sizes.dtype.kind not in "iu" or not 2 <= len(sizes) <= MAX_MEMBERS
                or np.any(sizes < 1) or sizes[-1] < 2):  # fmt: skip
            shown = None if sizes is None else (sizes.tolist() if sizes.size <= MAX_MEMBERS else sizes.shape)
            raise ValueError(f"{path}: layer_sizes must be 2 or more positive integers (features, hidden..., "
                             f"classes >= 2), got {shown}")  # fmt: skip
        sizes_list = [int(size) for size in sizes]
        activation = contents.get("activation", np.array(None))
        if activation.shape != () or activation.dtype.kind != "U" or activation.item() not in _ACTIVATIONS:
            raise ValueError(f"{path}: activation must be one of {', '.join(_ACTIVATIONS)}")
        # Check the weights against the sizes before building the model: the sizes alone must
        # not make it allocate more than the (already bounded) arrays in the file.
        shapes = cls._parameter_shapes(sizes_list)
        dtypes = set()
        for name, shape in shapes.items():
            array = contents.get(name)
            if array is None:
                raise ValueError(f"{path}: no {name} array for the layer sizes {sizes_list}")
            if array.shape != shape or array.dtype.kind != "f":
                raise ValueError(f"{path}: {name} must be a float array of shape {shape} for the layer sizes "
                                 f"{sizes_list}, got {array.dtype} {array.shape}")  # fmt: skip
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{path}: {name} contains nan or inf")
            dtypes.add(array.dtype)
        if len(dtypes) != 1:
            raise ValueError(f"{path}: the weights mix dtypes {sorted(map(str, dtypes))}")
        model = cls(sizes_list[0], sizes_list[1:-1], sizes_list[-1], activation=activation.item(), dtype=dtypes.pop())
        model.load_state_dict({name: contents[name] for name in shapes})
        return model


_ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
_KINDS: dict[str, type[Any]] = {_FORMAT: SoftmaxClassifier, _MLP_FORMAT: MLP}


# ---------------------------------------------------------------------------- model files


def _check_saveable(arrays: dict[str, np.ndarray]) -> None:
    """Refuse to write a file that `load_model` would refuse for its size."""
    total = sum(array.nbytes for array in arrays.values())
    largest = max(arrays.values(), key=lambda array: array.size)
    if len(arrays) > MAX_MEMBERS or total > MAX_MODEL_BYTES or largest.size > MAX_ARRAY_ELEMENTS:
        raise ValueError(
            f"cannot save: {len(arrays)} arrays of {_size(total)} in all, over the limits load "
            "accepts (nn.MAX_MEMBERS, nn.MAX_MODEL_BYTES, nn.MAX_ARRAY_ELEMENTS); raise them first"
        )


def _read_names(contents: dict[str, np.ndarray], key: str, count: int, path: Any) -> list[str] | None:
    names = contents.get(key)
    if names is None:
        return None
    if names.dtype.kind != "U" or names.shape != (count,):
        raise ValueError(f"{path}: {key} must be {count} strings, got {names.dtype} {names.shape}")
    return names.tolist()


def load_model(path: str | os.PathLike[str]) -> Classifier:
    """Read any model written by `Classifier.save`: a `SoftmaxClassifier` or an `MLP`, names included.

    Raises ValueError, in one line naming the file, for anything that is not one.

    Nothing is ever unpickled. Before unpacking anything, every member's size is read from the
    zip directory and its .npy header, and the file is refused if it would unpack to more than
    MAX_MODEL_BYTES in all, an array has more than MAX_ARRAY_ELEMENTS elements, a member holds
    other than what its header declares, or it is compressed more than MAX_COMPRESSION_RATIO
    times: a small file cannot make this take gigabytes of memory. The architecture's sizes
    are checked against the weights before a model is built.
    """
    contents = _read_model_file(path)
    marker = contents.get("format", np.array(""))
    kind = _KINDS.get(marker.item()) if marker.shape == () and marker.dtype.kind == "U" else None
    if kind is None:
        newer = marker.shape == () and marker.dtype.kind == "U" and marker.item().startswith("tinygrad_softmax.")
        detail = f"format {marker.item()!r}, from another version" if newer else f"keys {sorted(contents)}"
        raise ValueError(f"{path}: not a tinygrad_softmax model file ({detail})")
    model = kind._from_arrays(contents, path)
    model.class_names = _read_names(contents, "class_names", model.num_classes, path)
    model.feature_names = _read_names(contents, "feature_names", model.num_features, path)
    return model


def _read_model_file(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a model file, with every refusal as one ValueError line naming `path`."""
    try:
        # not blocking: open() of a FIFO would wait for a writer forever
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(handle, "rb") as file:
            kind = os.fstat(file.fileno()).st_mode
            if stat.S_ISDIR(kind):
                raise _NotAModelError("it is a directory")
            if not stat.S_ISREG(kind):
                raise _NotAModelError("it is not a regular file (a device, pipe or socket)")
            return _read_model_archive(file)
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


# ---------------------------------------------------------------------------- training


def fit(
    model: Module,
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
        model: any Module mapping ``(n, num_features)`` samples to ``(n, num_classes)``
            logits (a `SoftmaxClassifier`, an `MLP`, a `Sequential`...), trained in place.
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
        accuracy of each epoch (measured in `eval` mode; the model is left in `train` mode).

    `X` is never copied whole: each batch is converted to the model's dtype as it is
    taken, so a float32 data set can train a float64 model without a float64 copy.
    """
    parameters = model.parameters()
    if not parameters:
        raise ValueError(f"fit: {type(model).__name__} has no parameters to train")
    dtype = parameters[0].dtype
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
    opt = _make_optimizer(optimizer, parameters, lr)
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for _ in _epochs(epochs, progress, history):
        model.train()
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
        model.eval()
        history["accuracy"].append(float(np.mean(_predict(model, X, dtype) == y)))
    model.train()
    return history


def _predict(model: Module, X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The most probable class of each row of `X`, converted to `dtype` a block of rows at a time."""
    with no_grad():
        if X.dtype == dtype:
            return np.argmax(model(X).data, axis=-1)
        rows = max(1, (1 << 20) // max(1, X.shape[1] * dtype.itemsize))  # not a converted copy of X whole
        return np.concatenate([np.argmax(model(X[i : i + rows].astype(dtype)).data, axis=-1)
                               for i in range(0, len(X), rows)])  # fmt: skip


def _make_optimizer(optimizer: str | Optimizer, parameters: list[Tensor], lr: float) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    choices = {"sgd": SGD, "adam": Adam}
    if optimizer not in choices:
        raise ValueError(f"fit: optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    return choices[optimizer](parameters, lr=lr)


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
