"""Exercise 4: the square root as a Function, with its domain. The task: ex4_sqrt.md.

Check your work with:  tinygrad-softmax check --exercise 4 ex4_sqrt.py
"""

import numpy as np

from tinygrad_softmax import Function


class Sqrt(Function):
    """r = sqrt(x), elementwise, for x > 0; x receives grad / (2 r)."""

    # Where x is drawn from: sqrt needs x >= 0 and its derivative x > 0. Choose a (low, high)
    # interval inside the domain (see the task text); graded as exercise 4 it must cover (0.1, 4).
    domain = (-2.0, 2.0)

    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError
