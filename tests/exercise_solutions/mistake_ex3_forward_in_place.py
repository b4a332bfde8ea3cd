"""Exercise 3, a classic mistake: forward clips its input in place (out=x), changing the caller's tensor."""

import numpy as np

from tinygrad_softmax import Function


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0.0, out=x)  # wrong: x is the input tensor's own data

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask
