"""Exercise 1, a classic mistake: a rounded constant makes the gradient 1.0009 times the right one."""

import numpy as np

from tinygrad_softmax import Function


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return 1.0009 * grad * s * (1 - s)  # wrong: 0.09% too large
