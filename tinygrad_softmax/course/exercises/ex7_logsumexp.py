"""Exercise 7: log-sum-exp along the last axis, with the max shift. The task: ex7_logsumexp.md.

Check your work with:  tinygrad-softmax check --exercise 7 ex7_logsumexp.py
"""

import numpy as np

from tinygrad_softmax import Function


class LogSumExp(Function):
    """log(sum(exp(x))) along the last axis, computed as m + log(sum(exp(x - m))) with m the max.

    Shapes: (k,) -> (), (b, k) -> (b,). x receives grad * softmax(x), grad's axis put back.
    A 0-d input has no axis: raise ValueError for it.
    """

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError
