"""Exercise 1, a classic mistake: forward keeps its output on the class, not on ctx.

Right while the op is used once; used twice in one graph, the second forward overwrites
Sigmoid.s and the first use's backward computes with the other use's output.
"""

import numpy as np

from tinygrad_softmax import Function


class Sigmoid(Function):
    s = None

    @staticmethod
    def forward(ctx, x):
        Sigmoid.s = 1 / (1 + np.exp(-x))  # wrong: shared by every use of the op
        return Sigmoid.s

    @staticmethod
    def backward(ctx, grad):
        return grad * Sigmoid.s * (1 - Sigmoid.s)
