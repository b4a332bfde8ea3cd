"""Composite functions written only with Tensor ops: no backward code here.

Their gradients come from the chain rule through the primitives (exp, sum, div,
log, getitem...), and their graphs show those primitives. The course notebook's
softmax classifier is::

    z = W x                     (the bias is W's last column, x gets a 1 appended)
    a = softmax(z)
    L = -log a[y]  =  -sum(y_onehot * log a)

and ``cross_entropy(z, y)`` computes L from the logits z in one stable step.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from . import ops
from .grad_mode import scope
from .tensor import Tensor

Reduction = Literal["mean", "sum", "none"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _max_shift(x: Tensor, axis: int, who: str) -> np.ndarray:
    """The per-row max, as a constant (kept dimensions).

    Softmax is unchanged by subtracting any per-row constant, so no gradient is
    lost by keeping the shift out of the graph; it keeps exp() from overflowing.
    Rows whose max is not finite (all -inf), and empty rows, are shifted by 0.
    """
    data = x.data
    if not -data.ndim <= axis < data.ndim:  # numpy's error would not name the op
        raise ValueError(f"{who}: axis {axis} of a tensor of shape {data.shape} is out of range")
    shift = np.maximum.reduce(data, axis=axis, keepdims=True, initial=-np.inf)
    shift[~np.isfinite(shift)] = 0
    return shift


def softmax(x: Tensor | Any, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along `axis`, shifted by the max for stability.

    Shapes: ``(k,) -> (k,)``, ``(n, k) -> (n, k)`` (each row sums to 1 for axis=-1).
    The graph shows ``sub -> exp -> sum -> div``; its Jacobian for a vector is
    ``diag(a) - a a^T``.
    """
    x = _tensor(x)
    with scope("softmax", label="diag(a) - a a^T"):
        exps = (x - _max_shift(x, axis, "softmax")).exp()
        return exps / exps.sum(axis=axis, keepdims=True)


def logsumexp(x: Tensor | Any, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` along `axis` (an int, a tuple, or None for all), finite for ``[1000, 0, -1000]``.

    Shapes: ``(n, k) -> (n,)`` (``(n, 1)`` with keepdims). A row holding +inf gives inf, an
    all -inf or empty row -inf; the gradient ``softmax(x)`` is finite in both (see `ops.LogSumExp`).
    """
    return _tensor(x).logsumexp(axis=axis, keepdims=keepdims)


def log_softmax(x: Tensor | Any, axis: int = -1) -> Tensor:
    """``log(softmax(x))``, computed as ``(x - m) - log(sum(exp(x - m)))`` with m the row's max.

    Never takes log(0), and precise for large logits: three equal logits of 1e17 give
    ``-log 3`` each (``x - logsumexp(x)`` would round the shift into the sum). Shapes: as `x`.
    """
    x = _tensor(x)
    with scope("log_softmax", label="I - 1 a^T"):
        shifted = x - _max_shift(x, axis, "log_softmax")
        if x.shape[axis] == 0:  # no classes: the (empty) answer, without taking log(0) forward and back
            return shifted
        return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def cross_entropy(
    logits: Tensor | Any, target: Any, axis: int = -1, reduction: Reduction = "mean"
) -> Tensor:
    """Softmax cross-entropy from raw scores: ``-log softmax(logits)[target]``.

    Args:
        logits: ``(k,)`` for one sample or ``(n, k)`` for a batch (classes along `axis`;
            the last axis by default, also for more dimensions).
        target: integer class labels, shape ``()`` or ``(n,)``; or probability /
            one-hot rows with the same shape as `logits`.
        axis: the class axis.
        reduction: ``"mean"`` over samples (nan for an empty batch), ``"sum"``, or
            ``"none"`` (shape ``(n,)``).

    Matches ``torch.nn.functional.cross_entropy``. For labels the loss is
    ``log(sum(exp(z - m))) - (z - m)[y]`` (m the row's max: precise and stable), and
    the gradient with respect to the logits ``(softmax(z) - onehot(y)) / n`` for the mean.
    """
    logits = _tensor(logits)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class axis, got a 0-d tensor")
    axis = axis % logits.ndim
    target_array = np.asarray(target.data if isinstance(target, Tensor) else target)
    labelled = target_array.dtype.kind in "iu"
    if labelled:
        ops.check_labels(target_array, logits.shape, axis, "cross_entropy")
    elif not (target_array.dtype.kind == "f" and target_array.shape == logits.shape):
        raise ValueError(
            f"cross_entropy: target must be integer labels of shape {_without(logits.shape, axis)} "
            f"or probability rows of shape {logits.shape}; got {target_array.dtype} of shape {target_array.shape}"
        )
    label = "softmax(z) - y" if reduction != "mean" or logits.ndim == 1 else "(softmax(z) - y) / n"
    with scope("cross_entropy", label=label):
        shifted = logits - _max_shift(logits, axis, "cross_entropy")
        if labelled:
            losses = shifted.exp().sum(axis=axis).log() - _pick(shifted, target_array, axis)
        else:  # probabilities are data, not a precision choice: use the logits' dtype
            log_probs = shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
            infinite = ~np.isfinite(log_probs.data)
            if infinite.any() and not (target_array[infinite] != 0).any():  # else the loss is truly inf
                # a -inf logit gives log p = -inf, and 0 * -inf would be nan where the target
                # is 0; the clipped entries get gradient 0, which is what 0 * d(log p) is anyway
                log_probs = log_probs.clip(low=float(np.finfo(log_probs.dtype).min))
            losses = -(log_probs * target_array.astype(logits.dtype, copy=False)).sum(axis=axis)
        if reduction == "none" or losses.ndim == 0:  # one sample: its loss is the mean and the sum
            return losses
        if losses.size == 0:
            return losses.sum() * np.nan if reduction == "mean" else losses.sum()  # mean of nothing: nan
        return losses.mean() if reduction == "mean" else losses.sum()


def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1 :]


def _pick(values: Tensor, labels: np.ndarray, axis: int) -> Tensor:
    """values[..., labels[...], ...]: the entry of each sample's own class (a getitem op)."""
    if labels.ndim == 0:  # one sample: a 0-d index, no np.indices
        return values[labels]
    index = list(np.indices(labels.shape, sparse=True))
    index.insert(axis, labels)
    return values[tuple(index)]


def categorical_crossentropy(y_true: Any, y_pred: Tensor | Any, eps: float | None = None) -> Tensor:
    """The notebook's (and Keras') loss on probabilities: ``-sum(y * log(y_pred))`` per sample.

    Args:
        y_true: one-hot or probability rows, shape ``(k,)`` or ``(n, k)``.
        y_pred: predicted probabilities (a softmax output), same shape.
        eps: y_pred is clipped to ``[eps, 1]`` before the log, so a predicted 0
            gives a large finite loss instead of inf (and nan gradients). Defaults
            to the dtype's machine epsilon (2.2e-16 for float64, 1.2e-7 for float32).
            Where clipping happens the gradient is 0, as in Keras.

    Returns:
        The loss per sample: shape ``()`` or ``(n,)``.

    Prefer `cross_entropy` on logits: it never forms log(softmax) and needs no clipping.
    """
    y_pred = _tensor(y_pred)
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true, dtype=y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_crossentropy: y_true of shape {y_true.shape} and y_pred of shape "
            f"{y_pred.shape} must have the same shape"
        )
    if eps is None:
        eps = float(np.finfo(y_pred.dtype).eps)
    with scope("categorical_crossentropy", label="-y / yhat"):
        return -(y_pred.clip(eps, 1.0).log() * y_true).sum(axis=-1)


def one_hot(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer labels ``(n,)`` -> float64 rows ``(n, num_classes)`` with a 1 at each label.

    The notebook's ``to_categorical`` guessed the number of classes from the
    largest label present, so its 5 samples with labels 0 and 1 got only 2
    columns out of 3 classes: pass `num_classes` to get them all.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must be in [0, {num_classes}), got min {labels.min()} and max {labels.max()}"
        )
    out = np.zeros((*labels.shape, num_classes), dtype=np.float64)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def softmax_cross_entropy(logits: Tensor | Any, target: Any, reduction: Reduction = "mean") -> Tensor:
    """Fused `cross_entropy` along the last axis: one op whose backward is ``(a - y) / n``.

    Same values and gradients as the composite (tested), in a single graph node and
    with less Python per step; the composite stays the default for teaching and graphs.
    """
    return ops.SoftmaxCrossEntropy.apply(logits, target=target, reduction=reduction)


__all__ = [
    "categorical_crossentropy",
    "cross_entropy",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "scope",
    "softmax",
    "softmax_cross_entropy",
]
