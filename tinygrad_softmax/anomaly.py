"""Anomaly detection: find the first op whose output or gradient is nan or inf, and where it was written.

Off by default. ``with detect_anomaly(): ...`` (or ``TINYGRAD_SOFTMAX_ANOMALY=1`` in the
environment) makes every op check its forward output, and every backward check the
gradients it returns, raising `FloatingPointError` that names the op, the tensors'
names and shapes, and the file and line of the user's code that created the op.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGE_DIR = Path(__file__).resolve().parent


def enabled_by_environment() -> bool:
    return os.environ.get("TINYGRAD_SOFTMAX_ANOMALY", "").strip().lower() in ("1", "true", "yes", "on")


def call_site() -> str:
    """``file:line`` of the innermost frame outside this package: where the user called the op."""
    frame = sys._getframe(1)
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def describe(inputs: Any) -> str:
    """``W (3, 5), constant (5,)``: each input's name (or kind) and shape."""
    parts = []
    for x in inputs:
        name = getattr(x, "name", None) or ("unnamed" if hasattr(x, "requires_grad") else "constant")
        parts.append(f"{name} {np.shape(getattr(x, 'data', x))}")
    return ", ".join(parts) or "none"


def _bad_values(array: np.ndarray) -> str:
    kinds = []
    if np.isnan(array).any():
        kinds.append("nan")
    if np.isinf(array).any():
        kinds.append("inf")
    return " and ".join(kinds)


def check_forward(name: str, out: np.ndarray, inputs: Any, site: str) -> None:
    """Raise FloatingPointError when an op's output has nan or inf."""
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise FloatingPointError(
            f"anomaly: forward of {name} produced {_bad_values(out)} in its output of shape {out.shape}; "
            f"inputs: {describe(inputs)}; the op was created at {site}"
        )


def check_backward(name: str, grads: Any, inputs: Any, site: str) -> None:
    """Raise FloatingPointError when a backward returns a gradient with nan or inf."""
    for index, (grad, parent) in enumerate(zip(grads, inputs)):
        if grad is None:
            continue
        grad = np.asarray(grad)
        if grad.dtype.kind == "f" and not np.isfinite(grad).all():
            raise FloatingPointError(
                f"anomaly: backward of {name} returned {_bad_values(grad)} in the gradient for input {index} "
                f"({describe([parent])}); inputs: {describe(inputs)}; "
                f"the op was created at {site}"
            )
