"""A cheat: end the process with status 0 while being imported, before any check runs."""

import os

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
        return grad * (t * t - 1)  # wrong sign: the checker must say so


os._exit(0)
