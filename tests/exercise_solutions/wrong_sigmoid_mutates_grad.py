"""Known wrong: a sigmoid whose backward writes into grad (right values, but grad is not its to change)."""

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
        grad *= s * (1 - s)  # wrong: in place
        return grad
