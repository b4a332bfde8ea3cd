"""Property tests: binary ops over every pair of mutually broadcastable shapes up to 3-D.

The gradient oracle is the closed form written here with plain numpy: the local
derivative times the upstream gradient, summed down to each input's shape.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from tinygrad_softmax import Tensor

# The example count and randomisation come from the profile in conftest.py (quick and
# reproducible by default; --hypothesis-profile=long for thousands).
SETTINGS = settings(deadline=None)


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum the leading extra axes, then the axes that were stretched from 1."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1)
    return grad.sum(axis=stretched, keepdims=True).reshape(shape)


CLOSED_FORMS = {
    "add": (lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, lambda a, b, g: (g / b, -g * a / b**2)),
}

two_shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4)


def _draw_arrays(seed, shapes, out_shape):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1]) * rng.choice([-1.0, 1.0], shapes[1])  # safe denominators
    g = rng.standard_normal(out_shape)
    return a, b, g


@SETTINGS
@given(op=st.sampled_from(sorted(CLOSED_FORMS)), shapes=two_shapes, seed=st.integers(0, 2**32 - 1))
def test_binary_op_values_and_gradients(op, shapes, seed):
    forward, local_grads = CLOSED_FORMS[op]
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a, b, g = _draw_arrays(seed, (shape_a, shape_b), out_shape)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)

    out = forward(ta, tb)
    assert isinstance(out, Tensor)
    assert out.shape == out_shape
    np.testing.assert_array_equal(out.data, forward(a, b))

    out.backward(g)
    assert ta.grad.shape == shape_a
    assert tb.grad.shape == shape_b
    ga, gb = local_grads(a, b, g)
    np.testing.assert_allclose(ta.grad, sum_to_shape(np.broadcast_to(ga, out_shape), shape_a), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad, sum_to_shape(np.broadcast_to(gb, out_shape), shape_b), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(op=st.sampled_from(sorted(CLOSED_FORMS)), shapes=two_shapes, seed=st.integers(0, 2**32 - 1))
def test_binary_op_with_a_numpy_operand_on_either_side(op, shapes, seed):
    """The constant side may be a plain array, on the left (reflected operator) or the right."""
    forward, local_grads = CLOSED_FORMS[op]
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a, b, g = _draw_arrays(seed, (shape_a, shape_b), out_shape)

    tb = Tensor(b, requires_grad=True)
    left = forward(a, tb)  # ndarray (op) Tensor
    assert isinstance(left, Tensor)
    np.testing.assert_array_equal(left.data, forward(a, b))
    left.backward(g)
    gb = local_grads(a, b, g)[1]
    np.testing.assert_allclose(tb.grad, sum_to_shape(np.broadcast_to(gb, out_shape), shape_b), rtol=1e-12, atol=1e-12)

    ta = Tensor(a, requires_grad=True)
    right = forward(ta, b)  # Tensor (op) ndarray
    right.backward(g)
    ga = local_grads(a, b, g)[0]
    np.testing.assert_allclose(ta.grad, sum_to_shape(np.broadcast_to(ga, out_shape), shape_a), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_values_and_gradients(shapes, seed):
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a, b, g = rng.standard_normal(shape_a), rng.standard_normal(shape_b), rng.standard_normal(out_shape)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)

    out = ta @ tb
    assert out.shape == out_shape
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-13, atol=1e-13)
    out.backward(g)
    assert ta.grad.shape == shape_a and tb.grad.shape == shape_b

    # Closed form on matrices: promote 1-D operands as numpy does, then g @ B^T and A^T @ g.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g.reshape((a2 @ b2).shape)
    grad_a = sum_to_shape(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(shape_a)
    grad_b = sum_to_shape(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(shape_b)
    np.testing.assert_allclose(ta.grad, grad_a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad, grad_b, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(shapes=two_shapes, seed=st.integers(0, 2**32 - 1))
def test_same_tensor_broadcast_against_itself_accumulates(shapes, seed):
    """x used twice in one broadcasting op: both contributions are summed into x.grad."""
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a, b, g = _draw_arrays(seed, (shape_a, shape_b), out_shape)
    ta = Tensor(a, requires_grad=True)
    out = ta * b + ta  # ta reaches out through mul and through add
    out.backward(g)
    expected = sum_to_shape(np.broadcast_to(g * b, out_shape), shape_a) + sum_to_shape(
        np.broadcast_to(g, out_shape), shape_a
    )
    np.testing.assert_allclose(ta.grad, expected, rtol=1e-12, atol=1e-12)
