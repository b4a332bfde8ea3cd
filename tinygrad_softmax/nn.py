"""The notebook's softmax classifier, and a training loop for it."""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import functional as F
from ._files import atomic_write
from .grad_mode import no_grad, scope
from .optim import SGD, Adam, Optimizer
from .tensor import Tensor

_FORMAT = "tinygrad_softmax.SoftmaxClassifier/1"


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
        """Write the weights to an ``.npz`` file atomically.

        The file is written under a temporary name in the same folder and renamed
        over `path` only when complete, so a crash never leaves a half-written model.
        It gets the permissions of any new file (``0o666`` minus the umask).

        Raises:
            OSError: saying ``cannot write PATH: reason`` (a missing folder, `path` is a folder...).
        """
        extra = {} if self.class_names is None else {"class_names": np.array(self.class_names, dtype=str)}
        atomic_write(path, lambda file: np.savez(file, format=np.array(_FORMAT), W=self.W.data, **extra))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SoftmaxClassifier:
        """Read a model written by `save`. Raises ValueError for anything that is not one."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                contents = {key: archive[key] for key in archive.files}
        except FileNotFoundError:
            raise ValueError(f"{path}: no such model file") from None
        except Exception as exc:  # zip, npy and pickle refusals all mean "not a model file"
            # numpy's own text would suggest allow_pickle=True: never advise an unsafe load
            reason = "it holds pickled objects, which are never loaded" if "pickle" in str(exc) else "unreadable"
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
    """
    X = np.asarray(X, dtype=model.W.dtype)
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
            loss = F.cross_entropy(model(X[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        history["loss"].append(total / len(X))
        history["accuracy"].append(float(np.mean(model.predict(X) == y)))
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
