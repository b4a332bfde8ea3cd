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
    logits: Tensor | Any, target: Any, axis: int = -1, reduction: Reduction = "mean", weight: Any = None,
    ignore_index: int = -100, label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from raw scores, ``-log softmax(logits)[target]``, as torch's ``cross_entropy``.

    Args:
        logits: ``(k,)`` for one sample or ``(n, k)`` for a batch (classes along `axis`;
            the last axis by default, also for more dimensions).
        target: integer class labels, shape ``()`` or ``(n,)``; or probability / one-hot
            rows with the same shape as `logits` (a Tensor that requires grad gets its gradient).
        axis: the class axis.
        reduction: ``"mean"`` over samples (weighted by `weight`; nan for an empty batch),
            ``"sum"``, or ``"none"`` (shape ``(n,)``).
        weight: ``(k,)`` per-class weights.
        ignore_index: labels equal to it add nothing and are left out of the mean.
        label_smoothing: in [0, 1]: the target becomes ``(1 - s) y + s / k``.

    For labels the loss is ``log(sum(exp(z - m))) - (z - m)[y]`` (m the row's max: precise
    and stable); its gradient with respect to the logits is ``(softmax(z) - onehot(y)) / n``.
    """
    logits = _tensor(logits)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class axis, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    axis = axis % logits.ndim
    classes = logits.shape[axis]
    probability = isinstance(target, Tensor) and target.dtype.kind == "f"
    target_array = target.data if isinstance(target, Tensor) else np.asarray(target)
    labelled = target_array.dtype.kind in "iu"
    if not labelled and not (target_array.dtype.kind == "f" and target_array.shape == logits.shape):
        raise ValueError(
            f"cross_entropy: target must be integer labels of shape {_without(logits.shape, axis)} "
            f"or probability rows of shape {logits.shape}; got {target_array.dtype} of shape {target_array.shape}"
        )
    weight = None if weight is None else _class_weights(weight, classes, logits.dtype)
    ignored = _ignored(target_array, ignore_index) if labelled else None
    if labelled:
        ops.check_labels(np.where(ignored, 0, target_array) if ignored is not None else target_array,
                         logits.shape, axis, "cross_entropy")
    plain = weight is None and ignored is None and label_smoothing == 0
    label = "softmax(z) - y" if reduction != "mean" or logits.ndim == 1 else "(softmax(z) - y) / n"
    with scope("cross_entropy", label=label):
        shifted = logits - _max_shift(logits, axis, "cross_entropy")
        if labelled and plain:  # the notebook's case, in six ops
            losses = shifted.exp().sum(axis=axis).log() - _pick(shifted, target_array, axis)
            if reduction == "none" or losses.ndim == 0:  # one sample: its loss is the mean and the sum
                return losses
            return _reduce(losses, reduction, None)
        log_probs = shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
        if labelled:
            return _labelled_loss(log_probs, target_array, axis, reduction, weight, ignored, label_smoothing)
        if not probability:  # probabilities are data, not a precision choice: use the logits' dtype
            target = target_array.astype(logits.dtype, copy=False)
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        infinite = ~np.isfinite(log_probs.data)
        if infinite.any() and not (np.asarray(getattr(target, "data", target))[infinite] != 0).any():
            # a -inf logit gives log p = -inf, and 0 * -inf would be nan where the target is 0;
            # the clipped entries get gradient 0, which is what 0 * d(log p) is anyway
            log_probs = log_probs.clip(low=float(np.finfo(log_probs.dtype).min))
        weighted = log_probs * target if weight is None else log_probs * target * _along(weight, axis, logits.ndim)
        losses = -weighted.sum(axis=axis)
        return losses if reduction == "none" or losses.ndim == 0 else _reduce(losses, reduction, None)


def _class_weights(weight: Any, classes: int, dtype: np.dtype) -> np.ndarray:
    weight = np.asarray(getattr(weight, "data", weight), dtype=dtype)
    if weight.shape != (classes,):
        raise ValueError(f"cross_entropy: weight must have shape ({classes},), one per class; got {weight.shape}")
    return weight


def _ignored(labels: np.ndarray, ignore_index: int | None) -> np.ndarray | None:
    """Where the labels equal ignore_index, or None when none does (the usual case)."""
    if ignore_index is None:
        return None
    if labels.ndim == 0:
        return np.asarray(True) if int(labels) == ignore_index else None
    found = labels == ignore_index
    return found if found.any() else None


def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A (k,) array shaped to broadcast along `axis` of an ndim-dimensional tensor."""
    return values.reshape([-1 if i == axis else 1 for i in range(ndim)])


def _labelled_loss(log_probs: Tensor, labels: np.ndarray, axis: int, reduction: str, weight: np.ndarray | None,
                   ignored: np.ndarray | None, smoothing: float) -> Tensor:
    """torch's cross-entropy with class weights, ignored labels and label smoothing, written with Tensor ops."""
    kept = np.ones(labels.shape, dtype=bool) if ignored is None else ~ignored
    safe = np.where(kept, labels, 0)
    sample_weight = (np.ones(labels.shape) if weight is None else weight[safe]) * kept  # 0 for ignored samples
    losses = -_pick(log_probs, safe, axis) * sample_weight.astype(log_probs.dtype)
    if smoothing:
        per_class = log_probs if weight is None else log_probs * _along(weight, axis, log_probs.ndim)
        spread = -per_class.sum(axis=axis) * (kept / log_probs.shape[axis]).astype(log_probs.dtype)
        losses = losses * (1 - smoothing) + spread * smoothing
    if reduction == "none":
        return losses
    return _reduce(losses, reduction, float(np.sum(sample_weight)))


def _reduce(losses: Tensor, reduction: str, total_weight: float | None) -> Tensor:
    """The mean (over samples, or divided by the weight of the kept ones) or the sum of per-sample losses."""
    if reduction == "sum":
        return losses.sum()
    if total_weight is None:
        if losses.size == 0:
            return losses.sum() * np.nan  # the mean of nothing, as torch gives it (numpy would warn)
        return losses.mean()
    return losses.sum() / total_weight if total_weight else losses.sum() * np.nan


def binary_cross_entropy_with_logits(
    logits: Tensor | Any, target: Any, weight: Any = None, pos_weight: Any = None, reduction: Reduction = "mean"
) -> Tensor:
    """``-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]`` from raw scores, stable for large |x|.

    Shapes: `target` (probabilities; a Tensor that requires grad gets its gradient) like
    `logits`; `weight` broadcasts against them; `pos_weight` weighs the positive term, per
    class along the last axis. Computed as ``(1 - t) x + (1 + (p - 1) t) (log1p(exp(-|x|)) + max(-x, 0))``,
    as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    x = _tensor(logits)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"binary_cross_entropy_with_logits: reduction must be 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    t = target if isinstance(target, Tensor) else np.asarray(target, dtype=x.dtype)
    if np.shape(t) != x.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target of shape {np.shape(t)} must match logits {x.shape}")
    with scope("binary_cross_entropy_with_logits", label="sigmoid(x) - t"):
        softplus = (-x.abs()).exp().log1p() + (-x).relu()  # log(1 + exp(-x)), without overflow
        if pos_weight is None:
            losses = (1 - t) * x + softplus
        else:
            losses = (1 - t) * x + (1 + (np.asarray(getattr(pos_weight, "data", pos_weight)) - 1) * t) * softplus
        if weight is not None:
            losses = losses * weight
        return losses if reduction == "none" else _reduce(losses, reduction, None)


def mse_loss(prediction: Tensor | Any, target: Any, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error ``mean((prediction - target)^2)`` (or its sum, or per element with "none")."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"mse_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    with scope("mse_loss", label="2 (p - t) / n"):
        difference = _tensor(prediction) - target
        squared = difference * difference
        return squared if reduction == "none" else _reduce(squared, reduction, None)


# ----------------------------------------------------------- tensors from parts


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis, like ``np.concatenate``: ``[(2, 3), (4, 3)] -> (6, 3)``."""
    return ops.Concatenate.apply(*_sequence(tensors, "concatenate"), axis=axis)


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis, like ``np.stack``: three ``(2,)`` -> ``(3, 2)``."""
    parts = [_tensor(t) for t in _sequence(tensors, "stack")]
    shapes = {t.shape for t in parts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    return ops.Concatenate.apply(*[t.expand_dims(axis) for t in parts], axis=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where `condition` is true, else ``b``, broadcast like ``np.where``; both branches get gradients."""
    condition = np.asarray(getattr(condition, "data", condition))
    return ops.Where.apply(condition, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise larger of `a` and `b`, like ``np.maximum``; ties share the gradient (as torch)."""
    return ops.Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise smaller of `a` and `b`, like ``np.minimum``; ties share the gradient (as torch)."""
    return ops.Minimum.apply(a, b)


def _sequence(tensors: Any, who: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{who}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{who}: needs at least one tensor")
    return list(tensors)


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
    "binary_cross_entropy_with_logits",
    "categorical_crossentropy",
    "concatenate",
    "cross_entropy",
    "log_softmax",
    "logsumexp",
    "maximum",
    "minimum",
    "mse_loss",
    "one_hot",
    "scope",
    "softmax",
    "softmax_cross_entropy",
    "stack",
    "where",
]
