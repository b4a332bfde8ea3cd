"""Exercise 5, a classic mistake: the sum in backward runs over the whole array, not along each row."""

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
        return a * (grad - np.sum(grad * a))  # wrong: axis=-1, keepdims=True
