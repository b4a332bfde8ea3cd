"""Exercise 4, a classic mistake: the skeleton's domain = (-2.0, 2.0) left as it was."""

import numpy as np

from tinygrad_softmax import Function


class Sqrt(Function):
    domain = (-2.0, 2.0)  # wrong: sqrt needs x > 0; the task says (0.1, 4.0)

    @staticmethod
    def forward(ctx, x):
        r = np.sqrt(x)
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, grad):
        (r,) = ctx.saved_tensors
        return grad / (2 * r)
