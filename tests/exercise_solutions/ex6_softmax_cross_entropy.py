"""Reference solution of exercise 6: softmax and cross-entropy fused, mean over the rows."""

import numpy as np

from tinygrad_softmax import Function


class SoftmaxCrossEntropy(Function):
    """L = -sum(y * log softmax(z)) / n over the n rows; z receives g * (a - y) / n, y nothing."""

    label = "g * (a - y) / n"
    domain = ((-4.0, 4.0), "onehot")  # logits, then a constant one-hot target of the same shape

    @staticmethod
    def forward(ctx, logits, y):
        if logits.ndim == 0:
            raise ValueError("softmax cross-entropy needs a class axis; got a 0-d array")
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_a = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        n = logits.size // logits.shape[-1]  # the number of rows (samples)
        ctx.save_for_backward(np.exp(log_a), y)
        ctx.n = n
        return -np.sum(y * log_a) / n

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        return grad * (a - y) / ctx.n, None  # the target is a constant: no gradient
