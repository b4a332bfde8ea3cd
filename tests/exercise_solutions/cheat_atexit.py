"""A cheat: whatever the checker decides, the process ends with status 0."""

import atexit
import os

import numpy as np

from tinygrad_softmax import Function

atexit.register(lambda: os._exit(0))


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
