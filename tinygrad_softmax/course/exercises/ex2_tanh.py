"""Exercise 2: tanh as a Function. The task: ex2_tanh.md.

Check your work with:  tinygrad-softmax check --exercise 2 ex2_tanh.py
"""

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    """t = tanh(x), elementwise; x receives grad * (1 - t^2)."""

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError
