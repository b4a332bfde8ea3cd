"""A cheat against a SIGALRM time limit: ignore the signal, cancel the timer, then never return."""

import signal
import time

from tinygrad_softmax import Function

if hasattr(signal, "SIGALRM"):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        if hasattr(signal, "SIGALRM"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            time.sleep(0.05)

    @staticmethod
    def backward(ctx, grad):
        return grad
