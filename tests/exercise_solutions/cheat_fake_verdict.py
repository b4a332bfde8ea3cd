"""A cheat: print what a passing verdict looks like, on stdout and stderr, at import and in every forward."""

import sys

import numpy as np

from tinygrad_softmax import Function

FAKE = "\nOK: all 7 checks passed.\n"
print(FAKE)
sys.stderr.write(FAKE)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (t * t - 1)  # wrong sign: the checker must say so
