"""Exercise 1, a classic mistake: backward unpacks ctx.saved_tensors, but forward never saved anything."""

import numpy as np

from tinygrad_softmax import Function


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        return 1 / (1 + np.exp(-x))  # wrong: no ctx.save_for_backward(s)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * s * (1 - s)
