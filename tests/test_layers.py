"""The notebook's manual Layer API: hand-written gradients equal autodiff's, in every layout."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F
from tinygrad_softmax.layers import Dense, Layer, Softmax, cce, cce_gradient

rng = np.random.default_rng(0)


def autodiff_softmax_vjp(z, g, axis):
    t = Tensor(z, requires_grad=True)
    F.softmax(t, axis=axis).backward(g)
    return t.grad


@pytest.mark.parametrize("shape", [(3,), (3, 1), (3, 4)])
def test_softmax_layer_backward_equals_autodiff(shape):
    z, g = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = Softmax()
    a = layer.forward(z)
    np.testing.assert_allclose(a.sum(axis=0), 1.0)
    np.testing.assert_allclose(layer.backward(g, 0.1), autodiff_softmax_vjp(z, g, axis=0), atol=1e-15)


def test_notebook_softmax_backward_is_only_right_for_columns():
    def notebook_backward(a, grad):
        return np.dot((np.identity(np.size(a)) - a.T) * a, grad)

    z, g = rng.standard_normal(3), rng.standard_normal(3)
    a = Softmax().forward(z)
    right = autodiff_softmax_vjp(z, g, axis=0)
    np.testing.assert_allclose(notebook_backward(a[:, None], g[:, None])[:, 0], right, atol=1e-15)
    assert not np.allclose(notebook_backward(a, g), right)  # a 1-D a.T is a itself: wrong matrix


@pytest.mark.parametrize("shape", [(4,), (4, 1), (4, 5)])
def test_dense_backward_equals_autodiff_and_updates(shape):
    layer = Dense(4, 3, seed=1)
    W0, b0 = layer.weights.copy(), layer.bias.copy()
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    g = rng.standard_normal(out.shape)
    W, b, xt = Tensor(W0, requires_grad=True), Tensor(b0, requires_grad=True), Tensor(x, requires_grad=True)
    ref = W @ xt + (b if x.ndim == 1 else b.reshape(3, 1))
    np.testing.assert_allclose(out, ref.data, rtol=1e-14)
    ref.backward(g)
    input_grad = layer.backward(g, learning_rate=0.1)
    np.testing.assert_allclose(input_grad, xt.grad, rtol=1e-14)
    np.testing.assert_allclose(layer.weights, W0 - 0.1 * W.grad, rtol=1e-14)
    np.testing.assert_allclose(layer.bias, b0 - 0.1 * b.grad, rtol=1e-14)


def test_cce_and_its_gradient_match_autodiff():
    y = F.one_hot(2, 3)
    yhat = Softmax().forward(rng.standard_normal(3))
    assert cce(y, yhat) == pytest.approx(-np.log(yhat[2]))
    t = Tensor(yhat, requires_grad=True)
    F.categorical_crossentropy(y, t).backward()
    np.testing.assert_allclose(cce_gradient(y, yhat), t.grad, rtol=1e-14)
    # each entry is -y_k / yhat_k with the same k (the notebook's step 7 had index typos)
    np.testing.assert_allclose(cce_gradient(y, yhat), [0.0, 0.0, -1 / yhat[2]])
    assert np.isfinite(cce(y, np.array([0.5, 0.5, 0.0])))


def test_manual_chain_equals_autodiff_chain_for_a_batch_of_columns():
    X = rng.standard_normal((4, 6))
    labels = rng.integers(0, 3, 6)
    Y = F.one_hot(labels, 3).T  # (3, 6): one column per sample, the notebook's layout
    dense, softmax = Dense(4, 3, seed=2), Softmax()
    W = Tensor(dense.weights.copy(), requires_grad=True)
    b = Tensor(dense.bias.copy(), requires_grad=True)
    a = softmax.forward(dense.forward(X))
    dense.backward(softmax.backward(cce_gradient(Y, a)), learning_rate=1.0)
    loss = F.cross_entropy(W @ X + b.reshape(3, 1), labels, axis=0, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(dense.weights, W.data - W.grad, rtol=1e-12)
    np.testing.assert_allclose(dense.bias, b.data - b.grad, rtol=1e-12)


def test_base_layer_is_abstract():
    with pytest.raises(NotImplementedError):
        Layer().forward(np.ones(2))
