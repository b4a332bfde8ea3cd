"""Known wrong: tanh with the sign of its derivative flipped."""

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (t * t - 1)  # wrong: d tanh / dx is 1 - t^2
