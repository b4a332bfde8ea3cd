"""Exercise 3, a classic mistake: backward multiplies by relu(x) instead of the mask x > 0."""

import numpy as np

from tinygrad_softmax import Function


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0.0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out  # wrong: grad * (out > 0)
