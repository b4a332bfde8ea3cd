"""Exercise 6, a classic mistake: n = len(z), right for (b, k) but not for a 1-D or a 3-d z."""

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
        ctx.n = len(z)  # wrong: z.size // z.shape[-1]
        ctx.save_for_backward(np.exp(log_a), y)
        return -np.sum(y * log_a) / ctx.n

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        return grad * (a - y) / ctx.n, None
