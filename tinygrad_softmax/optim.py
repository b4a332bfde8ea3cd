"""Optimizers: they update parameters in place, outside the graph, so parameters stay leaves."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    """Holds the parameters; `zero_grad` forgets their gradients, `step` updates them."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} must be a leaf Tensor with requires_grad=True"
                )
        if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: learning rate must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """``W -= lr * grad`` (with momentum: ``v = momentum * v + grad; W -= lr * v``).

    Without momentum the update is the notebook's hand-written one, bit for bit.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            update = p.grad
            if self.momentum:
                velocity = self._velocity[index]
                velocity = update.copy() if velocity is None else self.momentum * velocity + update
                self._velocity[index] = update = velocity
            # A new array, not an in-place edit: ops saved p.data for their backward, so
            # editing it in place would silently change the gradient of a graph kept alive.
            p.data = p.data - self.lr * update


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moment estimates."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas!r}")
        self.betas = betas
        self.eps = eps
        self._steps = 0
        self._moments = [(np.zeros_like(p.data), np.zeros_like(p.data)) for p in self.params]

    def step(self) -> None:
        self._steps += 1
        beta1, beta2 = self.betas
        correction1 = 1 - beta1**self._steps
        correction2 = 1 - beta2**self._steps
        for p, (mean, square) in zip(self.params, self._moments):
            if p.grad is None:
                continue
            mean *= beta1
            mean += (1 - beta1) * p.grad
            square *= beta2
            square += (1 - beta2) * p.grad**2
            p.data = p.data - self.lr * (mean / correction1) / (np.sqrt(square / correction2) + self.eps)
