"""Exercise 5, a classic mistake: softmax down the columns (axis 0), the notebook's layout, not along rows."""

import numpy as np

from tinygrad_softmax import Function


class Softmax(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("softmax needs an axis")
        e = np.exp(x - np.max(x, axis=0, keepdims=True))
        a = e / np.sum(e, axis=0, keepdims=True)  # wrong: axis=-1
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return a * (grad - np.sum(grad * a, axis=0, keepdims=True))
