"""Known wrong: dL/dyhat of the categorical cross-entropy with the notebook's index typos.

L = -sum_k y_k log(yhat_k), so dL/dyhat_k = -y_k / yhat_k. The notebook's step 7
wrote the vector as [-y0/yhat0, -y1/yhat2, -y0/yhat2]: two entries use the wrong index.
"""

import numpy as np

from tinygrad_softmax import Function


class CategoricalCrossEntropy(Function):
    domain = ((0.05, 1.0), "onehot")  # predicted probabilities, then the one-hot label

    @staticmethod
    def forward(ctx, yhat, y):
        ctx.save_for_backward(yhat, y)
        return -np.sum(y * np.log(yhat), axis=-1)

    @staticmethod
    def backward(ctx, grad):
        yhat, y = ctx.saved_tensors
        typo = np.stack(
            [-y[..., 0] / yhat[..., 0], -y[..., 1] / yhat[..., 2], -y[..., 0] / yhat[..., 2]], axis=-1
        )
        return grad[..., None] * typo, None
