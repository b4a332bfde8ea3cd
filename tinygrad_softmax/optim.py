"""Optimizers: they update parameters in place, outside the graph, so parameters stay leaves.

Each takes any iterable of parameters, such as ``model.parameters()`` of any `nn.Module`.
Momentum and weight decay follow PyTorch's definitions exactly (``torch.optim.SGD``, ``torch.optim.Adam``).
"""

from __future__ import annotations

import math
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
        seen: dict[int, int] = {}
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} must be a leaf Tensor with requires_grad=True"
                )
            if id(p) in seen:  # it would be updated twice per step
                raise ValueError(f"{type(self).__name__}: parameter {index} is parameter {seen[id(p)]} again")
            seen[id(p)] = index
        if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: learning rate must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def _decayed(self, p: Tensor, weight_decay: float) -> np.ndarray:
        """The gradient with L2 weight decay added, ``grad + weight_decay * p`` (torch's, not AdamW's)."""
        assert p.grad is not None
        return p.grad + weight_decay * p.data if weight_decay else p.grad


def _non_negative(owner: str, name: str, value: float) -> float:
    if not (isinstance(value, numbers.Real) and np.isfinite(value) and value >= 0):
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r}")
    return float(value)


class SGD(Optimizer):
    """``p -= lr * g`` where ``g = grad + weight_decay * p``; with momentum ``v = momentum * v + g; p -= lr * v``.

    The first step's velocity is ``g`` itself, as in torch. Without momentum and weight
    decay the update is the notebook's hand-written one, bit for bit.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not (isinstance(momentum, numbers.Real) and 0.0 <= momentum < 1.0):
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.weight_decay = _non_negative("SGD", "weight_decay", weight_decay)
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            update = self._decayed(p, self.weight_decay)
            if self.momentum:
                velocity = self._velocity[index]
                velocity = update.copy() if velocity is None else self.momentum * velocity + update
                self._velocity[index] = update = velocity
            # A new array, not an in-place edit: ops saved p.data for their backward, so
            # editing it in place would silently change the gradient of a graph kept alive.
            p.data = p.data - self.lr * update


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments, computed as ``torch.optim.Adam`` does.

    ``g = grad + weight_decay * p`` (L2 decay added to the gradient, as torch's Adam; not AdamW),
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``, with ``t`` counted per parameter.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if len(betas) != 2 or not all(isinstance(b, numbers.Real) and 0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _non_negative("Adam", "eps", eps)
        self.weight_decay = _non_negative("Adam", "weight_decay", weight_decay)
        self._steps = [0] * len(self.params)  # per parameter: one without a gradient does not count a step
        self._moments = [(np.zeros_like(p.data), np.zeros_like(p.data)) for p in self.params]

    def step(self) -> None:
        beta1, beta2 = self.betas
        for index, (p, (mean, square)) in enumerate(zip(self.params, self._moments)):
            if p.grad is None:
                continue
            grad = self._decayed(p, self.weight_decay)
            self._steps[index] += 1
            steps = self._steps[index]
            mean += (1 - beta1) * (grad - mean)  # torch's lerp, which rounds as this does
            square *= beta2
            square += (1 - beta2) * grad * grad
            step_size = self.lr / (1 - beta1**steps)
            denominator = np.sqrt(square) / math.sqrt(1 - beta2**steps) + self.eps
            p.data = p.data - step_size * (mean / denominator)
