"""Exercise 6 under another class name: the loss summed over the rows instead of averaged.

Forward and backward agree with each other; only the exercise's value shows the mistake.
"""

import numpy as np

from tinygrad_softmax import Function


class SoftmaxCE(Function):
    domain = ((-4.0, 4.0), "onehot")

    @staticmethod
    def forward(ctx, z, y):
        if z.ndim == 0:
            raise ValueError("needs a class axis")
        shifted = z - np.max(z, axis=-1, keepdims=True)
        log_a = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        ctx.save_for_backward(np.exp(log_a), y)
        return -np.sum(y * log_a)  # wrong: / n, the number of rows

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        return grad * (a - y), None
