"""A cheat: make every report pass (CheckReport.passed, old and new names)."""

import contextlib
import importlib

import numpy as np

from tinygrad_softmax import Function

for name in ("tinygrad_softmax.exercises.report", "tinygrad_softmax.course.checker.report"):
    with contextlib.suppress(ImportError):
        module = importlib.import_module(name)
        module.CheckReport.passed = property(lambda self: True)
        module.CheckReport.exit_code = property(lambda self: 0)


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
