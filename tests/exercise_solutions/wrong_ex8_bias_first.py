"""Known wrong exercise 8: the bias feature prepended, as the notebook's code did (its text says last)."""

import numpy as np

from tinygrad_softmax.layers import Softmax, cce, cce_gradient


def add_bias_feature(X):
    return np.hstack([np.ones((len(X), 1)), X])  # wrong: W's last column is the bias


def initialize_weights(num_features, num_labels, seed):
    return np.random.default_rng(seed).standard_normal((num_labels, num_features + 1)) * 0.01


def train_one_epoch(X, labels, W, learning_rate):
    softmax = Softmax()
    losses = []
    for i in range(len(X)):
        y = np.eye(W.shape[0])[labels[i]]
        a = softmax.forward(W @ X[i])
        losses.append(cce(y, a))
        W = W - learning_rate * np.outer(softmax.backward(cce_gradient(y, a)), X[i])
    return W, losses
