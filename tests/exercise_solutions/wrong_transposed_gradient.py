"""Known wrong: x^2 whose backward returns the gradient transposed."""

from tinygrad_softmax import Function


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (2 * x * grad).T  # wrong: a gradient has its input's shape
