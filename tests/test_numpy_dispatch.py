"""numpy functions on Tensors (issue 11, item 5): recorded where there is an op, refused where a gradient is lost.

Before, np.reshape, np.transpose, np.dot, np.squeeze, np.ravel and np.clip on a Tensor that
requires grad returned a plain ndarray, losing the gradient without a word; np.sum(t, axis=1)
failed inside numpy and ufuncs said "operand 'Tensor' does not support ufuncs".
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor, gradcheck, no_grad

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3))
B = rng.standard_normal((3, 4))


def leaf(a):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


# (numpy call on a Tensor, the same written with Tensor methods)
RECORDED = {
    "np.exp": (lambda t: np.exp(t), lambda t: t.exp()),
    "np.log": (lambda t: np.log(t * t + 1.0), lambda t: (t * t + 1.0).log()),
    "np.add": (lambda t: np.add(t, 2.0), lambda t: t + 2.0),
    "np.subtract array first": (lambda t: np.subtract(A, t), lambda t: A - t),
    "np.multiply": (lambda t: np.multiply(t, t), lambda t: t * t),
    "np.divide": (lambda t: np.divide(1.0, t * t + 1.0), lambda t: 1.0 / (t * t + 1.0)),
    "np.true_divide": (lambda t: np.true_divide(t, 4.0), lambda t: t / 4.0),
    "np.negative": (lambda t: np.negative(t), lambda t: -t),
    "np.power": (lambda t: np.power(t, 3), lambda t: t**3),
    "np.matmul": (lambda t: np.matmul(t, B), lambda t: t @ B),
    "np.dot 2-D": (lambda t: np.dot(t, B), lambda t: t @ B),
    "np.dot scalar": (lambda t: np.dot(t, 3.0), lambda t: t * 3.0),
    "np.sum": (lambda t: np.sum(t), lambda t: t.sum()),
    "np.sum axis": (lambda t: np.sum(t, axis=1), lambda t: t.sum(axis=1)),
    "np.sum keepdims": (lambda t: np.sum(t, 0, keepdims=True), lambda t: t.sum(axis=0, keepdims=True)),
    "np.sum dtype=None": (lambda t: np.sum(t, axis=1, dtype=None, out=None), lambda t: t.sum(axis=1)),
    "np.mean": (lambda t: np.mean(t, axis=-1), lambda t: t.mean(axis=-1)),
    "np.max": (lambda t: np.max(t, axis=0), lambda t: t.max(axis=0)),
    "np.amax": (lambda t: np.amax(t), lambda t: t.max()),
    "np.reshape": (lambda t: np.reshape(t, (3, 2)), lambda t: t.reshape(3, 2)),
    "np.reshape -1": (lambda t: np.reshape(t, -1), lambda t: t.reshape(-1)),
    "np.transpose": (lambda t: np.transpose(t), lambda t: t.T),
    "np.transpose axes": (lambda t: np.transpose(t, (1, 0)), lambda t: t.transpose(1, 0)),
    "np.squeeze": (lambda t: np.squeeze(t.reshape(1, 2, 1, 3)), lambda t: t),
    "np.ravel": (lambda t: np.ravel(t), lambda t: t.reshape(6)),
    "np.clip": (lambda t: np.clip(t, -0.5, 0.5), lambda t: t.clip(-0.5, 0.5)),
    "np.clip one side": (lambda t: np.clip(t, None, 0.2), lambda t: t.clip(high=0.2)),
    "np.add.reduce": (lambda t: np.add.reduce(t, axis=1), lambda t: t.sum(axis=1)),
    "np.maximum.reduce": (lambda t: np.maximum.reduce(t), lambda t: t.max(axis=0)),
    "array + Tensor": (lambda t: A + t, lambda t: t + A),
    "array * Tensor": (lambda t: A * t, lambda t: t * A),
    "numpy scalar * Tensor": (lambda t: np.float64(3.0) * t, lambda t: t * 3.0),
}


@pytest.mark.parametrize("name", list(RECORDED))
def test_numpy_functions_record_like_the_tensor_op(name):
    numpy_call, tensor_call = RECORDED[name]
    t, u = leaf(A), leaf(A)
    out, expected = numpy_call(t), tensor_call(u)
    assert isinstance(out, Tensor) and out.requires_grad, type(out)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-14)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(upstream)
    np.testing.assert_allclose(t.grad, u.grad, rtol=1e-14)
    assert gradcheck(numpy_call, [leaf(A)])


def test_numpy_function_on_a_constant_tensor_gives_a_tensor_without_graph():
    out = np.exp(Tensor([0.0, 1.0]))
    assert isinstance(out, Tensor) and not out.requires_grad
    with no_grad():
        out = np.sum(leaf([1.0, 2.0]), axis=0)
    assert isinstance(out, Tensor) and out.op is None and out.item() == 3.0


@pytest.mark.parametrize("call, name", [
    (lambda t: np.median(t), "np.median"),
    (lambda t: np.sort(t), "np.sort"),
    (lambda t: np.cumsum(t), "np.cumsum"),
    (lambda t: np.sum(t, dtype=np.float32), "np.sum"),  # an argument the op does not take
    (lambda t: np.sum(t, 1, np.float32), "np.sum"),  # the same, by position: not taken for keepdims
    (lambda t: np.sin(t), "np.sin"),
    (lambda t: np.add.accumulate(t), "np.add.accumulate"),
    (lambda t: np.exp(t, out=np.empty(t.shape)), "np.exp"),
    (lambda t: np.tile(t, 2), "np.tile"),
    (lambda t: np.dot(t.reshape(1, 2, 3), np.ones((3, 2))), "np.dot"),  # beyond 2-D, dot is not matmul
])
def test_numpy_functions_that_would_lose_the_gradient_raise_naming_the_function(call, name):
    with pytest.raises(TypeError, match=rf"^{name} .*gradient to the Tensor would be lost.*t\.data"):
        call(leaf(A))


def test_array_in_place_with_a_tensor_that_requires_grad_is_refused():
    target = np.zeros((2, 3))
    with pytest.raises(TypeError, match=r"np\.add writes its result into an array"):
        target += leaf(A)
    np.testing.assert_array_equal(target, 0.0)


@pytest.mark.parametrize("call", [
    lambda t: np.median(t), lambda t: np.sort(t, axis=None), lambda t: np.sin(t), lambda t: np.cumsum(t)])
def test_numpy_functions_without_an_op_work_on_data_when_no_gradient_is_at_stake(call):
    values = np.asarray(A)
    expected = call(values)
    np.testing.assert_array_equal(call(Tensor(A)), expected)
    with no_grad():
        np.testing.assert_array_equal(call(leaf(A)), expected)
    np.testing.assert_array_equal(call(leaf(A).detach()), expected)


@pytest.mark.parametrize("call, expected", [
    (lambda t: np.isnan(t), np.zeros((2, 3), bool)),
    (lambda t: np.greater(t, 0), A > 0),
    (lambda t: t.data > 0, A > 0),
    (lambda t: np.argmax(t), np.argmax(A)),
    (lambda t: np.shape(t), (2, 3)),
    (lambda t: np.allclose(t, A), True),
    (lambda t: np.floor(t), np.floor(A)),
    (lambda t: np.atleast_2d(t), A),
])
def test_results_that_carry_no_gradient_are_plain_values(call, expected):
    result = call(leaf(A))
    assert not isinstance(result, Tensor)
    np.testing.assert_array_equal(result, expected)


def test_asarray_and_plotting_keep_working():
    t = leaf(A)
    assert np.asarray(t) is t.data
    assert np.array(t).base is None and np.array_equal(np.array(t), A)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    try:
        (line,) = axes.plot(leaf([1.0, 3.0, 2.0]))
        np.testing.assert_array_equal(line.get_ydata(), [1.0, 3.0, 2.0])
        axes.hist(leaf(A).ravel())
        axes.scatter(leaf([1.0, 2.0]), Tensor([3.0, 4.0]))
    finally:
        plt.close(figure)


def test_out_into_a_tensor_without_gradient_is_an_in_place_update():
    t = Tensor([1.0, 2.0])
    data = t.data
    result = np.multiply(t, 2.0, out=t)
    assert result is t and t.data is data
    np.testing.assert_array_equal(t.data, [2.0, 4.0])
