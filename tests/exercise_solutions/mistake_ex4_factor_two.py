"""Exercise 4, a classic mistake: d sqrt(x)/dx written as 1 / sqrt(x), a factor 2 too large."""

import numpy as np

from tinygrad_softmax import Function


class Sqrt(Function):
    domain = (0.1, 4.0)

    @staticmethod
    def forward(ctx, x):
        r = np.sqrt(x)
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, grad):
        (r,) = ctx.saved_tensors
        return grad / r  # wrong: grad / (2 * r)
