"""A cheat: sys.exit(0) in backward (and os._exit(0) if that is caught)."""

import os
import sys

import numpy as np

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        try:
            sys.exit(0)
        finally:
            os._exit(0)
