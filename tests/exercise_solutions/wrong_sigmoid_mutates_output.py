"""Known wrong: a sigmoid whose backward overwrites its saved output, which is the forward's output too."""

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
        s *= 1 - s  # wrong: s is the output the user holds, and backward may run again
        return grad * s
