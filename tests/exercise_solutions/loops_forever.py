"""A student's op whose forward never returns: the checker must stop it and say so."""

import numpy as np

from tinygrad_softmax import Function


class Spin(Function):
    @staticmethod
    def forward(ctx, x):
        while True:  # the mistake
            x = np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        return grad
