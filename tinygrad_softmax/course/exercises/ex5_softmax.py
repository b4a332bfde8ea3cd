"""Exercise 5: a fused softmax along the last axis. The task: ex5_softmax.md.

Check your work with:  tinygrad-softmax check --exercise 5 ex5_softmax.py
"""

import numpy as np

from tinygrad_softmax import Function


class Softmax(Function):
    """a = exp(x) / sum(exp(x)) along the last axis, (k,) -> (k,) and (b, k) -> (b, k).

    x receives a * (g - sum(g * a)), the sum along the last axis: never build diag(a) - a a^T.
    A 0-d input has no axis: raise ValueError for it.
    """

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError
