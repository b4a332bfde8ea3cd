"""Exercise 7, a classic mistake: grad has the output's shape (b,) and is not given its axis back."""

import numpy as np

from tinygrad_softmax import Function


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("logsumexp needs an axis")
        m = np.max(x, axis=-1, keepdims=True)
        out = m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
        ctx.save_for_backward(np.exp(x - out))
        return np.squeeze(out, axis=-1)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a  # wrong: grad[..., None] * a
