"""Known wrong: the course notebook's Softmax.backward, used on 1-D vectors.

The notebook normalised a whole column and wrote the backward as
np.dot((np.identity(n) - a.T) * a, grad). For a column (n, 1), a.T is a row and
the product is (diag(a) - a a^T) grad: right. For a 1-D vector a.T is a itself,
so the same line builds a different matrix: wrong.
"""

import numpy as np

from tinygrad_softmax import Function


class NotebookSoftmax(Function):
    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - np.max(x))
        a = e / np.sum(e)  # the notebook's softmax: over every element
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = np.size(a)
        return np.dot((np.identity(n) - a.T) * a, grad)
