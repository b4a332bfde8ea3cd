"""Reference solution of exercise 2: the hyperbolic tangent."""

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    """t = tanh(x); x receives grad * (1 - t^2), from the saved output."""

    label = "g * (1 - t^2)"

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (1 - t * t)
