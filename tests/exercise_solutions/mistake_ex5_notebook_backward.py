"""Exercise 5 with a right per-row forward and the notebook's exact backward, written for a column."""

import numpy as np

from tinygrad_softmax import Function


class Softmax(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("softmax needs an axis")
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        a = e / np.sum(e, axis=-1, keepdims=True)
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        return np.dot((np.identity(n) - a.T) * a, grad)  # wrong for a 1-D a: a.T is a
