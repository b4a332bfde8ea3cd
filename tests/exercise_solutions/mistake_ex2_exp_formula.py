"""Exercise 2, the trap the task text names: tanh from exponentials, which gives nan for |x| > 710."""

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))  # inf / inf = nan at +-1000
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (1 - t * t)
