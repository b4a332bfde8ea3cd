"""Exercise 5 with the grad factor forgotten: the hint must be the chain rule, not the column-vector one."""

import numpy as np

from tinygrad_softmax import Function


class Softmax(Function):
    @staticmethod
    def forward(ctx, z):
        if z.ndim == 0:
            raise ValueError("softmax needs an axis")
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        a = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return a * (1 - a)
