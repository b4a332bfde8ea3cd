"""A cheat: replace the checker's comparison (old and new names) so that any gradient "agrees"."""

import contextlib
import importlib

import numpy as np

from tinygrad_softmax import Function


def _always_ok(*args, **kwargs):
    class Verdict:
        ok, worst, max_error = True, (), 0.0

    return Verdict()


for name in ("tinygrad_softmax.exercises.checks", "tinygrad_softmax.exercises.gradients",
             "tinygrad_softmax.course.checker.state", "tinygrad_softmax.course.checker.case_checks"):
    with contextlib.suppress(ImportError):
        importlib.import_module(name).compare = _always_ok


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
