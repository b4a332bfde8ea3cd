"""Known wrong: a sigmoid whose backward forgets the chain factor grad."""

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
        return s * (1 - s)  # wrong: the local derivative alone, without grad
