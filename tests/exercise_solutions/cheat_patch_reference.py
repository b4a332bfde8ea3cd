"""A cheat: make the exercise's reference the student's own (wrong) op."""

import contextlib
import dataclasses
import importlib

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
        (t,) = ctx.saved_tensors
        return grad * (t * t - 1)  # wrong sign: the checker must say so


for name in ("tinygrad_softmax.exercises.reference", "tinygrad_softmax.course.checker.exercises"):
    with contextlib.suppress(ImportError):
        module = importlib.import_module(name)
        module.EXERCISES[2] = dataclasses.replace(module.EXERCISES[2], reference=Tanh.apply)
