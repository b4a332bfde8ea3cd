"""Exercise 7, a classic mistake: log(sum(exp(x))) without the max shift: inf for x = 1000."""

import numpy as np

from tinygrad_softmax import Function


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("logsumexp needs an axis")
        out = np.log(np.sum(np.exp(x), axis=-1))  # wrong: m + log(sum(exp(x - m)))
        ctx.save_for_backward(np.exp(x - out[..., None]))
        return out

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad[..., None] * a
