"""The course notebook's softmax classifier, built by hand from graph ops.

The notebook derives dL/dW = (a - y) x^T for z = W x, a = softmax(z),
L = -sum(y * log a). The engine, given only exp/sum/div/log/matmul, must agree.
"""

import itertools

import numpy as np
import pytest

from tinygrad_softmax import Tensor, gradcheck

N_FEATURES, N_CLASSES = 4, 3


def _with_bias(features):
    """Append the constant bias feature 1 (the notebook's trick instead of a separate b)."""
    features = np.asarray(features, dtype=np.float64)
    ones = np.ones((*features.shape[:-1], 1))
    return np.concatenate([features, ones], axis=-1)


def softmax(z, axis=None):
    """Numerically stable softmax from graph ops; the shift is a constant (detached)."""
    keep = axis is not None
    e = (z - z.max(axis=axis, keepdims=keep).detach()).exp()
    return e / e.sum(axis=axis, keepdims=keep)


@pytest.fixture
def single_example(rng):
    x = _with_bias(rng.standard_normal(N_FEATURES))
    W = Tensor(rng.standard_normal((N_CLASSES, N_FEATURES + 1)) * 0.5, requires_grad=True, name="W")
    label = 2
    y = np.eye(N_CLASSES)[label]
    return W, x, y


def test_single_example_gradient_is_outer_a_minus_y_x(single_example):
    W, x, y = single_example
    z = W @ x
    e = (z - z.max().detach()).exp()
    a = e / e.sum()
    L = -(y * a.log()).sum()
    L.backward()

    a_np = a.data
    Z = W.data @ x
    np.testing.assert_allclose(a_np, np.exp(Z) / np.exp(Z).sum(), rtol=1e-14)
    np.testing.assert_allclose(L.item(), -np.log(a_np[2]), rtol=1e-14)
    np.testing.assert_allclose(W.grad, np.outer(a_np - y, x), atol=1e-12, rtol=0)
    # the intermediate gradients the notebook derives on the way
    np.testing.assert_allclose(a.grad, -y / a_np, atol=1e-12, rtol=0)
    np.testing.assert_allclose(z.grad, a_np - y, atol=1e-12, rtol=0)
    assert z.op == "matmul" and a.op == "div" and L.op == "neg"


def test_single_example_with_label_indexing(single_example):
    """L = -log a[y] (indexing instead of a one-hot product) gives the same gradient."""
    W, x, y = single_example
    a = softmax(W @ x)
    L = -a[2].log()
    L.backward()
    np.testing.assert_allclose(W.grad, np.outer(a.data - y, x), atol=1e-12, rtol=0)


def test_the_stable_shift_does_not_change_the_gradient(single_example):
    W, x, y = single_example
    a = softmax(W @ x)
    (-(y * a.log()).sum()).backward()
    shifted = W.grad.copy()
    W.zero_grad()
    e = (W @ x).exp()  # unshifted softmax: same maths, less stable
    a2 = e / e.sum()
    (-(y * a2.log()).sum()).backward()
    np.testing.assert_allclose(W.grad, shifted, atol=1e-12, rtol=0)


def test_stable_softmax_survives_huge_logits():
    W = Tensor(np.array([[1000.0, 0.0], [0.0, 1000.0], [500.0, 500.0]]), requires_grad=True)
    x = np.array([1.0, 0.999])
    a = softmax(W @ x)
    assert np.all(np.isfinite(a.data))
    (-(np.array([0.0, 1.0, 0.0]) * a.log()).sum()).backward()
    assert np.all(np.isfinite(W.grad))
    np.testing.assert_allclose(W.grad, np.outer(a.data - [0.0, 1.0, 0.0], x), atol=1e-12, rtol=0)


def test_batch_mean_loss_gradient_is_a_minus_y_transposed_x_over_n(rng):
    n = 6
    X = _with_bias(rng.standard_normal((n, N_FEATURES)))
    labels = np.array([0, 2, 1, 1, 0, 2])
    Y = np.eye(N_CLASSES)[labels]
    W = Tensor(rng.standard_normal((N_CLASSES, N_FEATURES + 1)) * 0.5, requires_grad=True)

    Z = X @ W.T  # (n, classes)
    A = softmax(Z, axis=1)
    picked = A[np.arange(n), labels]  # one probability per row
    L = -picked.log().mean()
    L.backward()

    A_np = A.data
    np.testing.assert_allclose(A_np.sum(axis=1), np.ones(n), rtol=1e-14)
    np.testing.assert_allclose(L.item(), -np.mean(np.log(A_np[np.arange(n), labels])), rtol=1e-14)
    np.testing.assert_allclose(W.grad, (A_np - Y).T @ X / n, atol=1e-12, rtol=0)
    np.testing.assert_allclose(Z.grad, (A_np - Y) / n, atol=1e-12, rtol=0)
    expected_a_grad = np.zeros_like(A_np)
    expected_a_grad[np.arange(n), labels] = -1 / (n * A_np[np.arange(n), labels])
    np.testing.assert_allclose(A.grad, expected_a_grad, atol=1e-12, rtol=0)


def test_batch_with_repeated_labels_and_one_hot_product_agree(rng):
    n = 5
    X = _with_bias(rng.standard_normal((n, N_FEATURES)))
    labels = np.array([1, 1, 1, 0, 1])
    W0 = rng.standard_normal((N_CLASSES, N_FEATURES + 1))

    W1 = Tensor(W0, requires_grad=True)
    A1 = softmax(X @ W1.T, axis=1)
    (-(A1[np.arange(n), labels].log().sum()) / n).backward()

    W2 = Tensor(W0, requires_grad=True)
    A2 = softmax(X @ W2.T, axis=1)
    (-(np.eye(N_CLASSES)[labels] * A2.log()).sum() / n).backward()

    np.testing.assert_allclose(W1.grad, W2.grad, atol=1e-12, rtol=0)


def test_classifier_loss_passes_gradcheck(rng):
    X = _with_bias(rng.standard_normal((4, N_FEATURES)))
    labels = np.array([2, 0, 1, 2])

    def loss(W):
        return -softmax(X @ W.T, axis=1)[np.arange(4), labels].log().mean()

    assert gradcheck(loss, [Tensor(rng.standard_normal((N_CLASSES, N_FEATURES + 1)), requires_grad=True)])


def test_a_few_sgd_steps_reduce_the_loss(rng):
    X = _with_bias(rng.standard_normal((30, N_FEATURES)))
    labels = np.argmax(X[:, :N_CLASSES], axis=1)  # a learnable rule
    W = Tensor(np.zeros((N_CLASSES, N_FEATURES + 1)), requires_grad=True)
    losses = []
    for _ in range(20):
        L = -softmax(X @ W.T, axis=1)[np.arange(30), labels].log().mean()
        losses.append(L.item())
        W.zero_grad()
        L.backward()
        W.data -= 0.5 * W.grad
    np.testing.assert_allclose(losses[0], np.log(N_CLASSES), rtol=1e-14)
    assert losses[-1] < 0.5 * losses[0]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
