"""Exercise 6, a classic mistake: the mean over every element of z, not over the rows."""

import numpy as np

from tinygrad_softmax import Function


class SoftmaxCrossEntropy(Function):
    domain = ((-4.0, 4.0), "onehot")

    @staticmethod
    def forward(ctx, z, y):
        if z.ndim == 0:
            raise ValueError("needs a class axis")
        shifted = z - np.max(z, axis=-1, keepdims=True)
        log_a = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        ctx.save_for_backward(np.exp(log_a), y)
        return np.mean(-y * log_a)  # wrong: sum over classes, mean over rows

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        return grad * (a - y) / a.size, None
