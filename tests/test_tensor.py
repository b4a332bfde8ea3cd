"""Tensor construction, attributes, dtype rules, helpers and operator dispatch."""

import numpy as np
import pytest

from tinygrad_softmax import Tensor

# ------------------------------------------------------------ construction


@pytest.mark.parametrize(
    "data, shape",
    [(2.5, ()), (3, ()), ([1, 2, 3], (3,)), ([[1.0, 2.0], [3.0, 4.0]], (2, 2)), ([1, 2.5], (2,)), ([], (0,))],
)
def test_python_numbers_and_lists_become_float64(data, shape):
    t = Tensor(data)
    assert t.dtype == np.float64
    assert t.shape == shape
    np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float64))


def test_python_int_can_require_grad():
    t = Tensor(3, requires_grad=True)
    (t * t).backward()
    assert t.grad == 6.0
    assert t.grad.dtype == np.float64


def test_float32_array_stays_float32_through_ops_and_grads():
    x = Tensor(np.array([1.0, 2.0, 4.0], dtype=np.float32), requires_grad=True)
    assert x.dtype == np.float32
    y = ((2.0 - x * 0.5) / 3.0 + 1) ** 2
    z = (1.0 / x + x.exp().log() - 7).mean() * 2.5
    for out in (y, z):
        assert out.dtype == np.float32
    (y.sum() + z).backward()
    assert x.grad.dtype == np.float32
    assert y.grad.dtype == np.float32


def test_float32_matmul_with_float32_weights_keeps_float32():
    w = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    out = (w @ np.ones(2, dtype=np.float32)).sum()
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32


def test_float32_input_with_float64_constant_gets_float32_grad():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x * np.array([1.0, 2.0, 3.0])  # numpy promotes the result to float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32  # but a grad always has its tensor's dtype
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_numpy_int_arrays_stay_int():
    t = Tensor(np.array([1, 2, 3]))
    assert t.dtype == np.array([1]).dtype
    assert (t + 1).dtype.kind == "i"
    assert (t * 2).requires_grad is False
    assert (t + 0.5).dtype == np.float64


def test_bool_tensor():
    t = Tensor(np.array([True, False]))
    assert t.dtype == np.bool_
    assert Tensor(True).dtype == np.bool_


@pytest.mark.parametrize("data", [np.array([1, 2]), np.array([True, False]), True, np.int32(3)])
def test_requires_grad_on_non_floating_raises(data):
    with pytest.raises(TypeError, match="floating"):
        Tensor(data, requires_grad=True)
    t = Tensor(data)
    with pytest.raises(TypeError, match="floating"):
        t.requires_grad = True


def test_dtype_argument():
    t = Tensor([1, 2], dtype=np.float32)
    assert t.dtype == np.float32
    assert Tensor(np.array([1.5, 2.5]), dtype=np.int64).dtype == np.int64


def test_non_numeric_data_raises():
    with pytest.raises(TypeError):
        Tensor(["a", "b"])


def test_constructor_copies_data():
    source = np.array([1.0, 2.0, 3.0])
    t = Tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0
    assert not np.shares_memory(t.data, source)
    u = Tensor(t)
    assert not np.shares_memory(u.data, t.data)
    data_list = [1.0, 2.0]
    v = Tensor(data_list)
    v.data[0] = 5.0
    assert data_list == [1.0, 2.0]


# -------------------------------------------------------------- attributes


def test_leaf_attributes():
    t = Tensor(np.ones((2, 3)), requires_grad=True, name="W")
    assert isinstance(t.data, np.ndarray)
    assert t.grad is None
    assert t.requires_grad is True
    assert t.name == "W"
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.dtype == np.float64
    assert t.size == 6
    assert t.is_leaf
    assert t.op is None
    assert t.parents == ()
    assert t.op_args == {}
    assert len(t) == 2


def test_non_leaf_attributes():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3))
    c = a * b
    assert not c.is_leaf
    assert c.op == "mul"
    assert c.parents[0] is a and c.parents[1] is b
    assert c.requires_grad
    assert c.name is None
    s = c.sum(axis=1, keepdims=True)
    assert s.op_args == {"axis": 1, "keepdims": True}
    assert s.parents == (c,)
    with pytest.raises(RuntimeError):
        s.requires_grad = False  # only leaves can be switched off


def test_ops_on_constants_do_not_record():
    a = Tensor(np.ones(3))
    b = a.exp() + 1.0
    assert not b.requires_grad
    assert b.is_leaf and b.parents == () and b.op is None


def test_constant_operand_becomes_a_parent_tensor():
    a = Tensor(np.ones(3), requires_grad=True)
    c = a + np.array([1.0, 2.0, 3.0])
    assert len(c.parents) == 2 and c.parents[0] is a
    assert isinstance(c.parents[1], Tensor) and not c.parents[1].requires_grad
    np.testing.assert_array_equal(c.parents[1].data, [1.0, 2.0, 3.0])


def test_item_numpy_float():
    t = Tensor(2.5)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert Tensor([[4.0]]).item() == 4.0
    assert float(Tensor([7.0])) == 7.0
    with pytest.raises(ValueError, match="item"):
        Tensor([1.0, 2.0]).item()
    u = Tensor([1.0, 2.0])
    assert u.numpy() is u.data


def test_detach():
    a = Tensor(np.ones(3), requires_grad=True)
    b = a * 2
    d = b.detach()
    assert d.is_leaf and not d.requires_grad and d.parents == () and d.grad is None
    np.testing.assert_array_equal(d.data, b.data)
    e = (d * a).sum()  # gradient does not flow through the detached branch
    e.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])


def test_zero_grad():
    a = Tensor(np.ones(3), requires_grad=True)
    (a * 3).sum().backward()
    assert a.grad is not None
    a.zero_grad()
    assert a.grad is None
    (a * 5).sum().backward()
    np.testing.assert_array_equal(a.grad, [5.0, 5.0, 5.0])


def test_repr_shows_values_shape_dtype_op_and_grad_state():
    a = Tensor([1.5, 2.0], requires_grad=True, name="a")
    r = repr(a)
    assert "1.5" in r and "2." in r
    assert "shape=(2,)" in r
    assert "float64" in r
    assert "has_grad=False" in r
    assert "'a'" in r
    b = a.exp()
    b.sum().backward()
    rb = repr(b)
    assert "op='exp'" in rb
    assert "has_grad=True" in rb
    r32 = repr(Tensor(np.zeros((2, 2), dtype=np.float32)))
    assert "float32" in r32 and "(2, 2)" in r32
    big = repr(Tensor(np.arange(1000.0)))
    assert "..." in big and len(big) < 300  # summarized, not a thousand numbers


# ------------------------------------------------------------------ identity


def test_identity_hashing_and_equality():
    t1 = Tensor([1.0, 2.0])
    t2 = Tensor([1.0, 2.0])
    assert (t1 == t2) is False  # identity, not elementwise
    assert (t1 == t1) is True
    assert (t1 != t2) is True
    assert len({t1, t2, t1}) == 2
    grads = {t1: "first", t2: "second"}
    assert grads[t1] == "first" and grads[t2] == "second"
    assert t1 in [t1] and t2 not in {t1}


# ---------------------------------------------------------------- operators


def _check(out, expected_value, leaf, expected_grad):
    assert isinstance(out, Tensor), type(out)
    np.testing.assert_allclose(out.data, expected_value, rtol=1e-14)
    out.backward(np.ones(out.shape))
    np.testing.assert_allclose(leaf.grad, expected_grad, rtol=1e-14)


X = np.array([1.0, 2.0, 4.0])


@pytest.mark.parametrize(
    "other",
    [2, 2.0, np.float64(2.0), np.int64(2), np.array(2.0), np.array([2.0, 2.0, 2.0])],
    ids=["int", "float", "np.float64", "np.int64", "0-d array", "array"],
)
@pytest.mark.parametrize(
    "op, value, grad",
    [
        (lambda o, t: o + t, X + 2, np.ones(3)),
        (lambda o, t: t + o, X + 2, np.ones(3)),
        (lambda o, t: o - t, 2 - X, -np.ones(3)),
        (lambda o, t: t - o, X - 2, np.ones(3)),
        (lambda o, t: o * t, 2 * X, np.full(3, 2.0)),
        (lambda o, t: t * o, 2 * X, np.full(3, 2.0)),
        (lambda o, t: o / t, 2 / X, -2 / X**2),
        (lambda o, t: t / o, X / 2, np.full(3, 0.5)),
    ],
    ids=["radd", "add", "rsub", "sub", "rmul", "mul", "rtruediv", "truediv"],
)
def test_reflected_operators(other, op, value, grad):
    t = Tensor(X, requires_grad=True)
    _check(op(other, t), value, t, grad)


def test_numpy_array_on_the_left_gives_a_tensor():
    t = Tensor(X, requires_grad=True)
    out = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]) @ t
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, [9.0, 2.0])
    out.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(t.grad, [1.0, 10.0, 2.0])
    m = Tensor(np.eye(3), requires_grad=True)
    out2 = np.ones((2, 3)) + m[:2]
    assert isinstance(out2, Tensor) and out2.shape == (2, 3)


def test_matmul_with_list_on_the_right():
    t = Tensor(np.eye(2), requires_grad=True)
    out = t @ [1.0, 2.0]
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, [1.0, 2.0])


def test_unary_neg_and_pow():
    t = Tensor(X, requires_grad=True)
    _check(-t, -X, t, -np.ones(3))
    t.zero_grad()
    _check(t**2, X**2, t, 2 * X)


# Issue 14 made tensor exponents and scalar ** Tensor ops (0.1 raised TypeError for both).
@pytest.mark.parametrize("exponent", [Tensor([2.0, 3.0, 1.0], requires_grad=True), np.array([2.0, 2.0, 2.0])])
def test_pow_with_a_tensor_exponent_differentiates_both_sides(exponent):
    t = Tensor(X, requires_grad=True)
    out = t**exponent
    out.backward(np.ones(3))
    e = np.asarray(getattr(exponent, "data", exponent))
    np.testing.assert_allclose(out.data, X**e)
    np.testing.assert_allclose(t.grad, e * X ** (e - 1))
    if isinstance(exponent, Tensor):
        np.testing.assert_allclose(exponent.grad, X**e * np.log(X))


def test_pow_with_a_string_exponent_raises_type_error():
    with pytest.raises(TypeError):
        Tensor(X, requires_grad=True) ** "2"


def test_scalar_raised_to_a_tensor():
    t = Tensor(X, requires_grad=True)
    out = 2.0**t
    out.backward(np.ones(3))
    np.testing.assert_allclose(out.data, 2.0**X)
    np.testing.assert_allclose(t.grad, 2.0**X * np.log(2.0))
