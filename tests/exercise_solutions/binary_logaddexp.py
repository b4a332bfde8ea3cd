"""A right binary op, to exercise the broadcasting cases: log(exp(a) + exp(b))."""

import numpy as np

from tinygrad_softmax import Function


class LogAddExp(Function):
    """a receives g * exp(a - out), b receives g * exp(b - out); the engine sums broadcast axes."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.logaddexp(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        return grad * np.exp(a - out), grad * np.exp(b - out)
