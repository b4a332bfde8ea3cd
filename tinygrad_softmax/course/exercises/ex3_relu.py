"""Exercise 3: ReLU as a Function. The task: ex3_relu.md.

Check your work with:  tinygrad-softmax check --exercise 3 ex3_relu.py
"""

import numpy as np

from tinygrad_softmax import Function


class ReLU(Function):
    """max(x, 0), elementwise; x receives grad where x > 0, and 0 where x <= 0 (at 0 too)."""

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError
