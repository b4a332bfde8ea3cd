"""Exercise 1, a backward written for vectors and matrices only: zero for 3-d inputs."""

import numpy as np

from tinygrad_softmax import Function


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        if s.ndim > 2:  # wrong: "batches are 2-d"
            return np.zeros_like(s)
        return grad * s * (1 - s)
