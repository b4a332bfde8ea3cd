"""Reference solution of exercise 8: the notebook's training loop with the Layer API."""

import numpy as np

from tinygrad_softmax.layers import Softmax, cce, cce_gradient


def add_bias_feature(X):
    """Step 1: (n, f) -> (n, f + 1), with the bias feature 1 as the last column."""
    return np.hstack([X, np.ones((len(X), 1))])


def initialize_weights(num_features, num_labels, seed):
    """Step 2: W (num_labels, num_features + 1), small random numbers, the bias last."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((num_labels, num_features + 1)) * 0.01


def train_one_epoch(X, labels, W, learning_rate):
    """Steps 3-6 over the samples in order; returns the new W and each sample's loss."""
    softmax = Softmax()  # step 3
    num_labels = W.shape[0]
    losses = []
    for i in range(len(X)):  # step 4
        x = X[i]
        y = np.eye(num_labels)[labels[i]]
        z = W @ x  # step 5: forward and loss
        a = softmax.forward(z)
        losses.append(cce(y, a))
        grad_z = softmax.backward(cce_gradient(y, a), learning_rate)  # step 6: backward, a - y
        grad_W = np.outer(grad_z, x)
        W = W - learning_rate * grad_W
    return W, losses
