"""A file that leaves a non-daemon thread running: a process waiting for it at exit never ends."""

import threading
import time

import numpy as np

from tinygrad_softmax import Function

threading.Thread(target=lambda: time.sleep(3600), daemon=False).start()


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (t * t - 1)  # wrong sign: the verdict must still come, and be a FAIL
