"""gradcheck and jacobian: they pass correct ops, catch wrong ones, and leave their inputs alone."""

import re
import warnings

import numpy as np
import pytest

from tinygrad_softmax import Function, GradcheckError, Tensor, gradcheck, jacobian


class WrongAtOneElement(Function):
    """a * b whose gradient for b is off by +1 at element (1, 2) only."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = grad * a
        grad_b[1, 2] += 1.0
        return grad * b, grad_b


class RightOnlyForOnesUpstream(Function):
    """y = 2x, whose backward is only right when the upstream gradient is constant."""

    @staticmethod
    def forward(ctx, x):
        return 2.0 * x

    @staticmethod
    def backward(ctx, grad):
        return np.full_like(grad, 2.0 * grad.mean())


def _softmax(z):
    e = (z - z.max().detach()).exp()
    return e / e.sum()


def test_gradcheck_passes_correct_ops(rng):
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.uniform(0.5, 2.0, (3,)), requires_grad=True)
    assert gradcheck(lambda x, y: ((x / y).exp() * x).sum(), [a, b]) is True
    assert gradcheck(lambda x: x.log(), Tensor(rng.uniform(0.5, 2.0, 4), requires_grad=True)) is True
    assert gradcheck(_softmax, [Tensor(rng.standard_normal(5), requires_grad=True)]) is True


def test_gradcheck_skips_inputs_that_do_not_require_grad_and_passes_other_values(rng):
    a = Tensor(rng.standard_normal(3), requires_grad=True)
    const = Tensor(rng.standard_normal(3))
    assert gradcheck(lambda x, c, k: x * c * k, [a, const, 2.5]) is True


def test_gradcheck_without_inputs_requiring_grad_refuses():
    with pytest.raises(ValueError):
        gradcheck(lambda x: x * 2.0, [Tensor([1.0])])


def test_gradcheck_reports_input_index_worst_element_and_values(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    a, b = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: WrongAtOneElement.apply(x, y), [a, b], seed=0)
    message = str(info.value)
    assert "input 1" in message
    assert "(1, 2)" in message
    assert "analytic" in message and "numeric" in message

    upstream = np.random.default_rng(0).standard_normal((2, 3))  # gradcheck's own seed=0 upstream
    numeric = upstream[1, 2] * A[1, 2]
    analytic = numeric + 1.0
    numbers = [float(x) for x in re.findall(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?", message)]
    assert any(abs(x - analytic) < 1e-6 for x in numbers), (analytic, message)
    assert any(abs(x - numeric) < 1e-6 for x in numbers), (numeric, message)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_catches_a_backward_that_is_only_right_for_scalar_losses(rng):
    x = Tensor(rng.standard_normal(4), requires_grad=True)
    # As a scalar loss (upstream is 1 everywhere) the wrong backward looks right ...
    assert gradcheck(lambda t: RightOnlyForOnesUpstream.apply(t).sum(), [x])
    # ... but the random upstream gradient on a non-scalar output exposes it.
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda t: RightOnlyForOnesUpstream.apply(t), [x])


def test_gradcheck_on_non_scalar_outputs(rng):
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    W = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(lambda w, t: (w @ t).exp(), [W, x])


def test_gradcheck_restores_inputs_exactly_and_leaves_grad_untouched(rng):
    A = rng.standard_normal((3, 4))
    a = Tensor(A, requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    data_a, data_b = a.data, b.data
    bytes_a, bytes_b = a.data.tobytes(), b.data.tobytes()
    sentinel = np.full(4, 7.0)
    b.grad = sentinel
    assert gradcheck(lambda x, y: (x * y).exp().sum(axis=0), [a, b])
    assert a.data is data_a and b.data is data_b  # same arrays ...
    assert a.data.tobytes() == bytes_a and b.data.tobytes() == bytes_b  # ... with the same bits
    assert a.grad is None
    assert b.grad is sentinel
    np.testing.assert_array_equal(sentinel, np.full(4, 7.0))


def test_gradcheck_restores_inputs_when_it_fails(rng):
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    before = a.data.tobytes(), b.data.tobytes()
    with pytest.raises(GradcheckError):
        gradcheck(lambda x, y: WrongAtOneElement.apply(x, y), [a, b])
    assert (a.data.tobytes(), b.data.tobytes()) == before
    assert a.grad is None and b.grad is None


def test_gradcheck_warns_on_float32():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float32"):
        gradcheck(lambda t: t * 3.0, [x], eps=1e-2, atol=1e-2)


def test_gradcheck_does_not_warn_on_float64():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda t: t * 3.0, [x])


def test_gradcheck_accepts_a_single_tensor():
    assert gradcheck(lambda t: (t * t).sum(), Tensor([1.0, -2.0], requires_grad=True))


def test_gradcheck_with_0d_input_and_output():
    assert gradcheck(lambda t: t.exp() * t, Tensor(0.3, requires_grad=True))


# ------------------------------------------------------------------ jacobian


def test_jacobian_of_softmax_is_diag_a_minus_a_aT(rng):
    z = rng.standard_normal(5)
    J = jacobian(_softmax, z)
    a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert J.shape == (5, 5)
    np.testing.assert_allclose(J, np.diag(a) - np.outer(a, a), rtol=0, atol=1e-10)


def test_jacobian_accepts_a_tensor_and_does_not_touch_it(rng):
    z = Tensor(rng.standard_normal(3), requires_grad=True)
    before = z.data.copy()
    J = jacobian(lambda t: t * t, z)
    np.testing.assert_allclose(J, np.diag(2 * before), rtol=1e-15)
    np.testing.assert_array_equal(z.data, before)
    assert z.grad is None


def test_jacobian_shape_is_out_shape_plus_x_shape(rng):
    X = rng.standard_normal((2, 3))
    J = jacobian(lambda t: t.sum(axis=0), X)
    assert J.shape == (3, 2, 3)
    expected = np.zeros((3, 2, 3))
    for j in range(3):
        expected[j, :, j] = 1.0
    np.testing.assert_array_equal(J, expected)

    M = rng.standard_normal((4, 2))
    J2 = jacobian(lambda t: Tensor(M) @ t, X)  # (4, 3) output
    assert J2.shape == (4, 3, 2, 3)
    np.testing.assert_allclose(J2, np.einsum("ik,jl->ijkl", M, np.eye(3)), rtol=1e-15)

    J0 = jacobian(lambda t: (t * t).sum(), X)  # 0-d output
    assert J0.shape == (2, 3)
    np.testing.assert_allclose(J0, 2 * X, rtol=1e-15)


def test_jacobian_of_a_constant_function_is_zero():
    J = jacobian(lambda t: Tensor(np.ones(2)), np.ones(3))
    assert J.shape == (2, 3)
    np.testing.assert_array_equal(J, 0.0)


def test_jacobian_matches_finite_differences(rng):
    X = rng.uniform(0.5, 2.0, (2, 2))

    def f(t):
        return (t.log() * t.T).reshape(4)

    J = jacobian(f, X)
    eps = 1e-6
    numeric = np.zeros((4, 2, 2))
    for idx in np.ndindex(2, 2):
        d = np.zeros_like(X)
        d[idx] = eps
        plus = (np.log(X + d) * (X + d).T).reshape(4)
        minus = (np.log(X - d) * (X - d).T).reshape(4)
        numeric[(slice(None), *idx)] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-8)
