"""Exercise 2, a backward that is right only where an old checker sampled: 0 for |x| >= 2."""

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = np.tanh(x)
        return np.where(np.abs(x) < 2, grad * (1 - t * t), 0.0)  # wrong outside (-2, 2)
