"""Exercise 8: the notebook's training loop, by hand, with the Layer API. The task: ex8_training_loop.md.

Check your work with:  tinygrad-softmax check --exercise 8 ex8_training_loop.py
"""

import numpy as np

from tinygrad_softmax.course.layers import Softmax, cce, cce_gradient  # noqa: F401  (you will need them)


def add_bias_feature(X: np.ndarray) -> np.ndarray:
    """Step 1: X (n, f), samples as rows -> (n, f + 1), with a column of ones appended last."""
    raise NotImplementedError


def initialize_weights(num_features: int, num_labels: int, seed: int) -> np.ndarray:
    """Step 2: W (num_labels, num_features + 1) = np.random.default_rng(seed).standard_normal(...) * 0.01."""
    raise NotImplementedError


def train_one_epoch(
    X: np.ndarray, labels: np.ndarray, W: np.ndarray, learning_rate: float
) -> tuple[np.ndarray, list[float]]:
    """Steps 3-6: one pass over the samples, in order, updating W after each one.

    Args:
        X: (n, f + 1) samples with the bias feature (the output of step 1).
        labels: (n,) integer class labels.
        W: (num_labels, f + 1) weights (the output of step 2).
        learning_rate: the step size.

    Returns:
        The updated W, and the list of the n per-sample losses (each computed before its update).
    """
    # Step 3: create the softmax layer object.
    # Step 4: loop over the samples.
    #   Step 5: forward: z = W x, a = softmax.forward(z), loss = cce(y, a) with y one-hot.
    #   Step 6: backward: grad_z = softmax.backward(cce_gradient(y, a)), grad_W = outer(grad_z, x),
    #           then the update W = W - learning_rate * grad_W.
    raise NotImplementedError
