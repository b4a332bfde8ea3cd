"""Exercise 1, a wrong op made to look right: sigmoid replaced by its tangent line at 0, 0.5 + x/4,
with a domain so narrow that the two cannot be told apart there."""

from tinygrad_softmax import Function


class Sigmoid(Function):
    domain = (0.0, 1e-3)  # wrong: the exercise decides where the op is tested

    @staticmethod
    def forward(ctx, x):
        return 0.5 + x / 4

    @staticmethod
    def backward(ctx, grad):
        return grad / 4
