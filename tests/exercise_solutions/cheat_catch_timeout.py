"""A cheat against a time limit raised inside the process: forward swallows every exception, forever."""

import time

from tinygrad_softmax import Function


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        while True:
            try:
                time.sleep(0.05)
            except BaseException:  # a timeout raised in here would be caught too
                pass

    @staticmethod
    def backward(ctx, grad):
        return grad
