"""Exercise 5 under another class name: the notebook's softmax over the whole matrix (mistake #1).

Forward and backward agree with each other (central differences pass), but it is not the
exercise's softmax: each row must sum to 1. Graded with --exercise 5 whatever it is called.
"""

import numpy as np

from tinygrad_softmax import Function


class RowSoftmax(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("softmax needs an axis")
        e = np.exp(x - np.max(x))
        a = e / np.sum(e)  # wrong: normalises every element together
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return a * (grad - np.sum(grad * a))
