"""Known wrong: the notebook's grad_z = a; grad_z[y] -= 1, inside a fused softmax cross-entropy.

grad_z = a gives the softmax output a second name; it does not copy it. So
grad_z[...] -= 1 subtracts from a itself: the first backward is right, and a is
ruined for anything that uses it afterwards (a second backward gets a - 2y).
"""

import numpy as np

from tinygrad_softmax import Function


class SoftmaxCrossEntropy(Function):
    domain = ((-4.0, 4.0), "onehot")

    @staticmethod
    def forward(ctx, logits, y):
        if logits.ndim == 0:
            raise ValueError("softmax cross-entropy needs a class axis; got a 0-d array")
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_a = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        a = np.exp(log_a)
        ctx.save_for_backward(a, y)
        ctx.n = logits.size // logits.shape[-1]
        return -np.sum(y * log_a) / ctx.n

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        grad_z = a
        grad_z[y == 1] -= 1  # wrong: changes a, the saved softmax output
        return grad * grad_z / ctx.n, None
