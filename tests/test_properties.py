"""Property-based gradient suite: every op over many shapes, axes and extreme values.

Each example also checks the engine's promises: inputs and the upstream gradient
are not mutated, and no two gradients share memory. The example count comes from
the hypothesis profile (conftest.py): quick by default, thousands with
``--hypothesis-profile=long``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F


def sum_to(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


def run(fn, arrays, seed):
    """fn over leaf tensors; backward with a random upstream; checks no mutation and no shared memory."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    originals = [a.copy() for a in arrays]
    out = fn(*leaves)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    upstream_copy = upstream.copy()
    out.backward(upstream)
    np.testing.assert_array_equal(upstream, upstream_copy)
    for leaf, original in zip(leaves, originals):
        np.testing.assert_array_equal(leaf.data, original)
        assert leaf.grad.shape == leaf.shape
        assert not np.shares_memory(leaf.grad, leaf.data)
    for x, y in itertools.combinations([t.grad for t in leaves] + [out.grad], 2):
        assert not np.shares_memory(x, y)
    return out, upstream, [t.grad for t in leaves]


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b**2)),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_broadcast(name, shapes, seed):
    forward, local = BINARY[name]
    rng = np.random.default_rng(seed)
    a = rng.uniform(-3, 3, shapes.input_shapes[0])
    b = rng.uniform(0.5, 3, shapes.input_shapes[1]) * rng.choice([-1, 1], shapes.input_shapes[1])
    out, g, (ga, gb) = run(forward, [a, b], seed)
    np.testing.assert_allclose(out.data, forward(a, b), rtol=1e-10, atol=0)
    expected_a, expected_b = local(a, b, g)
    np.testing.assert_allclose(ga, sum_to(np.broadcast_to(expected_a, g.shape), a.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, sum_to(np.broadcast_to(expected_b, g.shape), b.shape), rtol=1e-10, atol=1e-12)


@given(shapes=mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=4), seed=st.integers())
def test_matmul_over_its_signature(shapes, seed):
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(seed % 2**32)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    out, g, (ga, gb) = run(lambda x, y: x @ y, [a, b], seed % 2**32)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-10, atol=1e-12)
    # the closed forms, with 1-D operands promoted the way numpy's matmul promotes them
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2 if b.ndim > 1 else -1)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    expected_a = g2 @ np.swapaxes(b2, -1, -2)
    expected_b = np.swapaxes(a2, -1, -2) @ g2
    expected_a = expected_a[..., 0, :] if a.ndim == 1 else expected_a
    expected_b = expected_b[..., 0] if b.ndim == 1 else expected_b
    np.testing.assert_allclose(ga, sum_to(expected_a, a.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, sum_to(expected_b, b.shape), rtol=1e-10, atol=1e-12)


@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=4))
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        )
    )
    return shape, axis


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@given(case=shape_and_axis(), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_over_every_axis(reduction, case, keepdims, seed):
    shape, axis = case
    x = np.random.default_rng(seed).permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape)
    out, g, (gx,) = run(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), [x], seed)
    reference = getattr(np, reduction)(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, reference, rtol=1e-12)
    g_full = np.broadcast_to(g if keepdims or axis is None else np.expand_dims(g, axis), shape)
    if reduction == "sum":
        expected = g_full
    elif reduction == "mean":
        expected = g_full * reference.size / x.size
    else:  # distinct values: exactly one max per slice receives g
        expected = g_full * (x == np.broadcast_to(np.max(x, axis=axis, keepdims=True), shape))
    np.testing.assert_allclose(gx, expected, rtol=1e-12)


@given(shape=array_shapes(min_dims=0, max_dims=4, max_side=4), seed=st.integers(0, 2**16), data=st.data())
def test_reshape_transpose_getitem(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    new_shape = data.draw(st.permutations(list(shape)).map(tuple))
    out, g, (gx,) = run(lambda t: t.reshape(new_shape), [x], seed)
    np.testing.assert_array_equal(out.data, x.reshape(new_shape))
    np.testing.assert_array_equal(gx, g.reshape(shape))
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    out, g, (gx,) = run(lambda t: t.transpose(axes) if axes else t.T, [x], seed)
    np.testing.assert_array_equal(gx, np.transpose(g, np.argsort(axes)) if axes else g.T)
    assume(x.ndim >= 1 and x.shape[0] >= 1)
    index = rng.integers(0, x.shape[0], size=data.draw(st.integers(1, 6)))  # repeats add up
    out, g, (gx,) = run(lambda t: t[index], [x], seed)
    expected = np.zeros_like(x)
    np.add.at(expected, index, g)
    np.testing.assert_allclose(gx, expected, rtol=1e-12)


logits_rows = array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6)


@given(shape=logits_rows, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 50.0, 709.0]))
def test_softmax_family_is_finite_normalised_and_shift_invariant(shape, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-scale, scale, shape)
    for fn in (F.softmax, F.log_softmax):
        out, _, (gx,) = run(fn, [x], seed)
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(gx))
    a = F.softmax(x).data
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x - 300.0).data, a, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(np.exp(F.log_softmax(x).data), a, rtol=1e-9, atol=1e-300)


@given(shape=logits_rows, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 709.0]))
def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(shape, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-scale, scale, shape)
    labels = rng.integers(0, shape[1], shape[0])
    for loss_fn in (F.cross_entropy, F.softmax_cross_entropy):
        out, _, (gx,) = run(lambda t, f=loss_fn: f(t, labels), [x], seed)
        assert np.isfinite(out.item())
        expected = (F.softmax(x).data - F.one_hot(labels, shape[1])) * (out.grad / shape[0])
        np.testing.assert_allclose(gx, expected, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(gx.sum(axis=1), 0.0, atol=1e-14)


def test_minus_inf_logit_gives_a_finite_loss():
    for loss_fn in (F.cross_entropy, F.softmax_cross_entropy):
        x = Tensor([[-np.inf, 0.0, 0.0]], requires_grad=True)
        loss = loss_fn(x, np.array([1]))
        assert loss.item() == pytest.approx(np.log(2))
        loss.backward()
        np.testing.assert_allclose(x.grad, [[0.0, -0.5, 0.5]])
