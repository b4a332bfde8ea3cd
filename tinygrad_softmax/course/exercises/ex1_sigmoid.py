"""Exercise 1: the sigmoid as a Function. The task: ex1_sigmoid.md.

Check your work with:  tinygrad-softmax check --exercise 1 ex1_sigmoid.py
"""

import numpy as np

from tinygrad_softmax import Function


class Sigmoid(Function):
    """s = 1 / (1 + exp(-x)), elementwise; x receives grad * s * (1 - s)."""

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        # Compute s, save what backward needs with ctx.save_for_backward(...), return s.
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        # grad is dL/ds, shaped like s. Return dL/dx, shaped like x.
        raise NotImplementedError
