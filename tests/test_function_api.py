"""The extension API: user-defined Functions, ctx, broadcasting in the engine, register_op."""

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor, gradcheck, register_op, unregister_op


class Sigmoid(Function):
    """1 / (1 + e^-x); x receives g * s * (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        s = 1.0 / (1.0 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * s * (1.0 - s)


class Recorder(Function):
    """a * b that records what it saw, to inspect ctx from the test."""

    seen: list = []  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, b, *, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        Recorder.seen.append(("forward", ctx.needs_input_grad, scale))
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        Recorder.seen.append(("backward", ctx.needs_input_grad))
        return (grad * b * ctx.scale if need_a else None), (grad * a * ctx.scale if need_b else None)


@pytest.fixture(autouse=True)
def _clear_recorder():
    Recorder.seen.clear()
    yield
    Recorder.seen.clear()


class _Registry:
    """register_op/unregister_op that remembers what is still registered, for cleanup."""

    def __init__(self):
        self.names = []

    def __call__(self, name, function, **kwargs):
        register_op(name, function, **kwargs)
        if name not in self.names:
            self.names.append(name)

    def unregister(self, name):
        unregister_op(name)
        self.names.remove(name)


@pytest.fixture
def registered():
    """Register ops for one test and always remove them afterwards, so no test leaks a method."""
    registry = _Registry()
    yield registry
    for name in reversed(registry.names):
        unregister_op(name)


# ------------------------------------------------------------ a custom op


def test_custom_sigmoid_forward_backward_and_gradcheck(rng):
    X = rng.standard_normal((3, 4))
    x = Tensor(X, requires_grad=True)
    y = Sigmoid.apply(x)
    S = 1 / (1 + np.exp(-X))
    assert isinstance(y, Tensor)
    np.testing.assert_allclose(y.data, S, rtol=1e-15)
    assert y.op == "sigmoid"
    assert y.parents == (x,)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, S * (1 - S), rtol=1e-14)
    assert gradcheck(lambda t: Sigmoid.apply(t), [Tensor(X, requires_grad=True)])


def test_name_defaults_to_lowercased_class_name_and_can_be_set():
    class MyFancyOp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    class Named(Function):
        name = "custom_label"

    assert MyFancyOp.name == "myfancyop"
    assert Sigmoid.name == "sigmoid"
    assert Named.name == "custom_label"
    assert MyFancyOp.apply(Tensor(1.0, requires_grad=True)).op == "myfancyop"


def test_ctx_needs_input_grad_and_saved_tensors():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0])
    out = Recorder.apply(a, b)
    out.backward(np.ones(2))
    assert Recorder.seen == [("forward", (True, False), 1.0), ("backward", (True, False))]
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    assert b.grad is None


def test_ctx_needs_input_grad_is_all_false_when_nothing_is_recorded():
    Recorder.apply(Tensor([1.0]), Tensor([2.0]))
    assert Recorder.seen == [("forward", (False, False), 1.0)]


def test_apply_with_array_likes_and_kwargs():
    a = Tensor([1.0, 2.0], requires_grad=True)
    out = Recorder.apply(a, [10.0, 20.0], scale=0.5)
    assert Recorder.seen[0] == ("forward", (True, False), 0.5)
    np.testing.assert_array_equal(out.data, [5.0, 20.0])
    assert out.op_args == {"scale": 0.5}
    out.backward(np.ones(2))
    np.testing.assert_array_equal(a.grad, [5.0, 10.0])

    c = Recorder.apply(np.array([1.0, 2.0]), 3.0)  # all constants: a plain result, no graph
    assert isinstance(c, Tensor) and not c.requires_grad
    np.testing.assert_array_equal(c.data, [3.0, 6.0])
    d = Recorder.apply(2.0, a)  # a Python float on the left
    np.testing.assert_array_equal(d.data, [2.0, 4.0])


def test_forward_and_backward_receive_plain_numpy_arrays():
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, x, y):
            seen.append((type(x), type(y)))
            return x + y

        @staticmethod
        def backward(ctx, grad):
            seen.append(type(grad))
            return grad, grad

    Spy.apply(Tensor([1.0], requires_grad=True), [2.0]).backward()
    assert seen == [(np.ndarray, np.ndarray), np.ndarray]


def test_backward_may_return_broadcast_shaped_gradient():
    class BroadcastMul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a  # both have the output's (broadcast) shape

    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    b = Tensor(rng.standard_normal((4,)), requires_grad=True)
    out = BroadcastMul.apply(a, b)
    assert out.shape == (3, 4)
    g = rng.standard_normal((3, 4))
    out.backward(g)
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad, (g * b.data).sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(b.grad, (g * a.data).sum(axis=0), rtol=1e-14)
    assert gradcheck(lambda x, y: BroadcastMul.apply(x, y), [a, b])


def test_none_gradient_for_a_non_differentiable_input():
    class Scale(Function):
        """x * k where k is treated as non-differentiable."""

        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(k)
            return x * k

        @staticmethod
        def backward(ctx, grad):
            (k,) = ctx.saved_tensors
            return grad * k, None

    x = Tensor([1.0, 2.0], requires_grad=True)
    k = Tensor([3.0, 5.0], requires_grad=True)
    Scale.apply(x, k).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 5.0])
    assert k.grad is None


def test_backward_returning_a_bare_array_for_a_single_input():
    x = Tensor([1.0, 2.0], requires_grad=True)
    Sigmoid.apply(x).backward(np.ones(2))  # Sigmoid.backward returns an array, not a tuple
    assert x.grad.shape == (2,)


# ------------------------------------------------------------------- errors


def test_wrong_number_of_gradients_names_the_function():
    class TwoInputsOneGrad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad  # forgot b

    out = TwoInputsOneGrad.apply(Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True))
    with pytest.raises(RuntimeError) as info:
        out.backward()
    message = str(info.value)
    assert "TwoInputsOneGrad" in message
    assert "1" in message and "2" in message


def test_unreducible_gradient_shape_names_function_index_and_shapes():
    class BadTranspose(Function):
        @staticmethod
        def forward(ctx, other, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return None, 2.0 * grad.T  # (4, 3) for an input of shape (3, 4)

    x = Tensor(np.ones((3, 4)), requires_grad=True)
    out = BadTranspose.apply(Tensor(1.0), x)
    with pytest.raises(RuntimeError) as info:
        out.backward(np.ones((3, 4)))
    message = str(info.value)
    assert "BadTranspose" in message
    assert "input 1" in message
    assert "(4, 3)" in message and "(3, 4)" in message
    assert x.grad is None


def test_gradient_with_too_few_dims_is_refused():
    class Squash(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad.reshape(-1)  # (6,) for an input of shape (2, 3)

    with pytest.raises(RuntimeError, match=r"Squash.*input 0.*\(6,\).*\(2, 3\)"):
        Squash.apply(Tensor(np.ones((2, 3)), requires_grad=True)).backward(np.ones((2, 3)))


def test_forward_errors_name_the_custom_op():
    class Strict(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

    with pytest.raises(ValueError, match=r"strict.*\(2,\).*\(3,\)"):
        Strict.apply(Tensor(np.ones(2), requires_grad=True), np.ones(3))


def test_forward_error_keeps_the_original_as_its_cause():
    with pytest.raises(ValueError) as info:
        Tensor(np.ones(2), requires_grad=True) + np.ones(3)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.__cause__ is not info.value


def test_complete_forward_error_is_raised_unchanged_without_a_self_cause():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\)") as info:
        Tensor(np.ones((3, 4))) @ np.ones((5, 2))
    assert info.value.__cause__ is not info.value


def test_custom_error_class_with_its_own_constructor_is_not_masked():
    class OutOfDomainError(ValueError):
        def __init__(self, low, high):
            super().__init__(f"input must lie in [{low}, {high}]")
            self.low, self.high = low, high

    class Strict(Function):
        @staticmethod
        def forward(ctx, x):
            raise OutOfDomainError(0, 1)

    with pytest.raises(OutOfDomainError, match=r"\[0, 1\]") as info:
        Strict.apply(Tensor([2.0], requires_grad=True))
    assert (info.value.low, info.value.high) == (0, 1)


# -------------------------------------------------------------- register_op


def test_register_op_adds_a_tensor_method(registered):
    assert not hasattr(Tensor, "sigmoid_test")
    registered("sigmoid_test", Sigmoid)
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.sigmoid_test()
    assert y.op == "sigmoid"
    np.testing.assert_allclose(y.data, [0.5, 1 / (1 + np.exp(-1.0))])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data * (1 - y.data))


def test_registered_method_passes_args_and_kwargs(registered):
    registered("scaled_mul_test", Recorder)
    a = Tensor([1.0, 2.0], requires_grad=True)
    out = a.scaled_mul_test(np.array([3.0, 4.0]), scale=2.0)
    np.testing.assert_array_equal(out.data, [6.0, 16.0])


def test_register_op_accepts_a_composite_callable(registered):
    registered("softplus_test", lambda t: (t.exp() + 1.0).log())
    x = Tensor([0.0], requires_grad=True)
    y = x.softplus_test()
    np.testing.assert_allclose(y.data, [np.log(2.0)])
    y.backward()
    np.testing.assert_allclose(x.grad, [0.5])


def test_register_op_refuses_existing_names(registered):
    with pytest.raises(ValueError, match="exp"):
        register_op("exp", Sigmoid)
    assert Tensor([0.0]).exp().data[0] == 1.0  # untouched
    registered("twice_test", Sigmoid)
    with pytest.raises(ValueError, match="twice_test"):
        register_op("twice_test", Sigmoid)


def test_register_op_override_and_unregister_restores(registered):
    original = Tensor.exp
    registered("exp", Sigmoid, override=True)
    assert Tensor([0.0]).exp().data[0] == 0.5
    assert Tensor([0.0], requires_grad=True).exp().op == "sigmoid"
    registered.unregister("exp")
    assert Tensor.exp is original
    assert Tensor([0.0]).exp().data[0] == 1.0
    registered("exp_cleanup_check", Sigmoid)  # still registered at the end: the fixture removes it


def test_previous_test_did_not_leak_registered_names():
    assert not hasattr(Tensor, "exp_cleanup_check")
    assert not hasattr(Tensor, "sigmoid_test")


def test_unregister_removes_a_new_name():
    register_op("tmp_op_test", Sigmoid)
    try:
        assert hasattr(Tensor, "tmp_op_test")
    finally:
        unregister_op("tmp_op_test")
    assert not hasattr(Tensor, "tmp_op_test")
    with pytest.raises(ValueError):
        unregister_op("tmp_op_test")


def test_double_override_then_unregister_restores_the_first_original():
    original = Tensor.log
    register_op("log", Sigmoid, override=True)
    try:
        register_op("log", lambda t: t * 2.0, override=True)
        assert Tensor([1.0]).log().data[0] == 2.0
    finally:
        unregister_op("log")
    assert Tensor.log is original


@pytest.mark.parametrize("bad_name", ["not an identifier", "_private", "1abc"])
def test_register_op_rejects_bad_names(bad_name):
    with pytest.raises(ValueError):
        register_op(bad_name, Sigmoid)


def test_register_op_rejects_non_callables():
    with pytest.raises(TypeError):
        register_op("not_callable_test", 42)
    assert not hasattr(Tensor, "not_callable_test")
