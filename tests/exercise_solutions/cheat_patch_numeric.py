"""A cheat: the numeric gradient (the library's central differences, the old checker's numeric) returns
whatever backward says, so the two always agree."""

import contextlib
import importlib

import numpy as np

import tinygrad_softmax.gradcheck
from tinygrad_softmax import Function

tinygrad_softmax.gradcheck.numeric_gradient = lambda f, x, eps=1e-6: np.tanh(x) ** 2 - 1
tinygrad_softmax.gradcheck.gradcheck = lambda *args, **kwargs: True
with contextlib.suppress(ImportError):
    importlib.import_module("tinygrad_softmax.exercises.gradients").numeric = lambda *args: None


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
