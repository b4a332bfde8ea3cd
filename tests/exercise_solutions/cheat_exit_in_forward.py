"""A cheat: os._exit(0) in forward, so the checking process ends "successfully" mid-check."""

import os

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        os._exit(0)

    @staticmethod
    def backward(ctx, grad):
        return grad
