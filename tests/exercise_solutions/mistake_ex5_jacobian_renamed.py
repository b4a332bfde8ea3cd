"""Exercise 5 under another class name: right values, but backward builds the (k, k) Jacobian of each row."""

import numpy as np

from tinygrad_softmax import Function


class MySoftmax(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0:
            raise ValueError("softmax needs an axis")
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        a = e / np.sum(e, axis=-1, keepdims=True)
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        jacobian = a[..., :, None] * (np.eye(a.shape[-1]) - a[..., None, :])  # (..., k, k): quadratic memory
        return np.einsum("...ij,...i->...j", jacobian, grad)
