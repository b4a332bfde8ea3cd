"""The course notebook's manual Layer API: forward and backward written by hand, in numpy.

For students who backprop by hand before letting autodiff do it. The layout is the
notebook's: a sample is a vector ``(n,)`` or a column ``(n, 1)``, a batch is
columns ``(n, b)``. The tests prove these hand-written gradients equal autodiff's.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Layer:
    """A step of the network: `forward` stores and returns its output, `backward` returns dL/d(input)."""

    def __init__(self) -> None:
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None

    def forward(self, input: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, output_gradient: np.ndarray, learning_rate: float) -> np.ndarray:
        """Given dL/d(output), update any parameters by `learning_rate` and return dL/d(input)."""
        raise NotImplementedError


class Dense(Layer):
    """``W @ x + b`` with W ``(output_size, input_size)`` and b ``(output_size,)``.

    Shapes: ``(input_size,) -> (output_size,)``; ``(input_size, b) -> (output_size, b)``.
    """

    def __init__(self, input_size: int, output_size: int, seed: int | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.weights = rng.standard_normal((output_size, input_size))
        self.bias = rng.standard_normal(output_size)

    def forward(self, input: np.ndarray) -> np.ndarray:
        x = np.asarray(input, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[0] != self.weights.shape[1]:
            raise ValueError(
                f"Dense.forward: expected a sample ({self.weights.shape[1]},) or columns "
                f"({self.weights.shape[1]}, b), got shape {x.shape}"
            )
        self.input = x
        bias = self.bias if self.input.ndim == 1 else self.bias[:, None]
        self.output = self.weights @ self.input + bias
        return self.output

    def backward(self, output_gradient: np.ndarray, learning_rate: float) -> np.ndarray:
        if self.input is None:
            raise RuntimeError("Dense.backward: call forward first (backward needs the input it saw)")
        g = np.asarray(output_gradient)
        x = self.input
        if g.shape != self.output.shape:
            raise ValueError(f"Dense.backward: output_gradient has shape {g.shape}, the output had {self.output.shape}")
        if g.ndim == 1:
            weights_gradient, bias_gradient = np.outer(g, x), g
        else:  # columns: sum the per-sample gradients
            weights_gradient, bias_gradient = g @ x.T, g.sum(axis=1)
        input_gradient = self.weights.T @ g  # before the update: the forward used the old weights
        self.weights = self.weights - learning_rate * weights_gradient
        self.bias = self.bias - learning_rate * bias_gradient
        return input_gradient


class Softmax(Layer):
    """Normalise each column (axis 0) to probabilities.

    The notebook's backward, ``np.dot((np.identity(n) - a.T) * a, g)``, is right only
    for a single column ``(n, 1)``: for a 1-D vector ``a.T`` is ``a`` and the
    product builds the wrong matrix, and for a batch it mixes samples. Here the
    vector-Jacobian product ``(diag(a) - a a^T) g = a * (g - sum(a * g))`` is taken
    per column, which is right for all three layouts and never builds the matrix.
    """

    def forward(self, input: np.ndarray) -> np.ndarray:
        self.input = np.asarray(input, dtype=np.float64)
        exps = np.exp(self.input - self.input.max(axis=0, keepdims=True))
        self.output = exps / exps.sum(axis=0, keepdims=True)
        return self.output

    def backward(self, output_gradient: np.ndarray, learning_rate: float = 0.0) -> np.ndarray:
        a = self.output
        if a is None:
            raise RuntimeError("Softmax.backward: call forward first (backward needs the output a)")
        return a * (output_gradient - np.sum(a * output_gradient, axis=0, keepdims=True))


def cce(y: Any, yhat: Any) -> float:
    """Categorical cross-entropy ``-sum(y * log(yhat))`` (summed over classes and samples).

    yhat is clipped to ``[eps, 1]`` so a predicted 0 gives a large loss instead of inf.
    """
    return float(-np.sum(np.asarray(y) * np.log(_clipped(yhat))))


def cce_gradient(y: Any, yhat: Any) -> np.ndarray:
    """dL/d(yhat) = -y / yhat, elementwise: entry k is ``-y_k / yhat_k`` (same index k on top and bottom).

    The notebook's step 7 had ``-y_1/yhat_2`` and ``-y_0/yhat_2``: index typos.
    """
    return -np.asarray(y) / _clipped(yhat)


def _clipped(yhat: Any) -> np.ndarray:
    yhat = np.asarray(yhat)
    if yhat.dtype.kind != "f":
        yhat = yhat.astype(np.float64)
    return np.clip(yhat, np.finfo(yhat.dtype).eps, 1.0)
