"""Edge cases found in review: each was a silent wrong answer or an unclear error before."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor, detect_anomaly, is_grad_enabled, no_grad
from tinygrad_softmax import functional as F
from tinygrad_softmax.grad_mode import state as _grad_mode
from tinygrad_softmax.layers import Dense, Softmax
from tinygrad_softmax.nn import SoftmaxClassifier
from tinygrad_softmax.optim import SGD, Adam


@pytest.mark.parametrize("optimizer", [lambda p: SGD(p, lr=0.5), lambda p: SGD(p, lr=0.5, momentum=0.9),
                                       lambda p: Adam(p, lr=0.5)])
def test_a_kept_graph_gives_the_same_gradient_after_an_optimizer_step(optimizer):
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    first = w.grad.copy()
    optimizer([w]).step()
    w.zero_grad()
    loss.backward()  # the graph saved w's old values: the gradient it describes is unchanged
    np.testing.assert_array_equal(w.grad, first)


def test_classifier_graph_survives_the_update():
    model = SoftmaxClassifier(2, 3, seed=0, init_scale=1.0)
    x = Tensor([0.3, -0.7], requires_grad=True)
    loss = F.cross_entropy(model(x), 1)
    loss.backward()
    before = x.grad.copy()
    SGD(model.parameters(), lr=1.0).step()
    x.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(x.grad, before)


def test_switches_restore_their_own_state_when_blocks_end_out_of_order():
    def suspended():
        with no_grad():
            yield

    generator = suspended()
    next(generator)  # now inside no_grad
    with detect_anomaly():
        next(generator, None)  # the generator's no_grad block ends first
        assert _grad_mode.anomaly and is_grad_enabled()
    assert not _grad_mode.anomaly and is_grad_enabled()


def test_no_grad_decorator_is_reentrant():
    @no_grad()
    def depth(n):
        assert not is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and is_grad_enabled()


def test_max_with_nan_sends_the_gradient_to_the_nan():
    x = Tensor([1.0, np.nan, 3.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_user_backward_cannot_corrupt_another_tensors_gradient():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            grad *= 2  # wrong: in place
            return grad

    x, w = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Double.backward failed: .*read-only.*must not modify grad"):
        (Double.apply(x) + w).backward(np.ones(1))


def test_user_backward_returning_grad_itself_gets_its_own_copy():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    y.backward(np.array([3.0, 4.0]))
    assert not np.shares_memory(x.grad, y.grad)
    x.grad += 1  # a writeable gradient of its own
    np.testing.assert_array_equal(y.grad, [3.0, 4.0])


def test_user_backward_type_errors_name_the_function():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad * None

    with pytest.raises(RuntimeError, match=r"Broken\.backward failed: TypeError"):
        Broken.apply(Tensor([1.0], requires_grad=True)).sum().backward()


def test_lists_holding_tensors_are_refused_as_operands_and_warned_in_the_constructor():
    w = Tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match="no gradient would reach those Tensors"):
        Tensor([1.0, 1.0], requires_grad=True) * [w, [w]]
    with pytest.warns(UserWarning, match="no gradient will flow back"):
        Tensor([w, 3.0])


def test_cross_entropy_probability_target_with_minus_inf_logit():
    for loss_fn in (F.cross_entropy, F.softmax_cross_entropy):
        x = Tensor([-np.inf, 0.0, 0.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = loss_fn(x, np.array([0.0, 1.0, 0.0]))
            loss.backward()
        assert loss.item() == pytest.approx(np.log(2))
        np.testing.assert_allclose(x.grad, [0.0, -0.5, 0.5])
    assert F.cross_entropy([-np.inf, 0.0, 0.0], np.array([1.0, 0.0, 0.0])).item() == np.inf  # truly infinite


def test_errors_name_the_op_for_bad_axes():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"softmax: axis 5 of a tensor of shape \(2, 3\)"):
        F.softmax(t, axis=5)
    with pytest.raises(TypeError, match=r"^sum: "):
        t.sum(axis=1.5)
    with pytest.raises(ValueError, match=r"logsumexp: axis 5 .*\(input shapes \(3, 2\)\)"):
        F.logsumexp(np.zeros((3, 2)), axis=5)
    # an empty row is no error (the issue #11 change): numpy's answer, log(0) = -inf
    np.testing.assert_array_equal(F.logsumexp(np.zeros((3, 0))).data, [-np.inf] * 3)


def test_python_protocols():
    assert [row.shape for row in Tensor(np.ones((2, 3)))] == [(3,), (3,)]
    with pytest.raises(TypeError, match="0-d"):
        list(Tensor(5.0))
    assert 2.0 in Tensor([1.0, 2.0]) and 7.0 not in Tensor([1.0, 2.0])
    assert Tensor(2**70).dtype == np.float64 and Tensor(2**70).item() == float(2**70)


def test_layers_check_shapes_and_order():
    with pytest.raises(ValueError, match=r"Dense.forward: expected a sample \(3,\)"):
        Dense(3, 2).forward(np.ones(4))
    with pytest.raises(RuntimeError, match="call forward first"):
        Dense(3, 2).backward(np.ones(2), 0.1)
    with pytest.raises(RuntimeError, match="call forward first"):
        Softmax().backward(np.ones(2))


def test_numpy_scalars_are_accepted_as_hyperparameters():
    from tinygrad_softmax.datasets import make_seed_data
    from tinygrad_softmax.nn import fit

    w = Tensor([1.0], requires_grad=True)
    SGD([w], lr=np.float32(0.1))
    X, y = make_seed_data(seed=0)
    fit(SoftmaxClassifier(4, 3, seed=0), X, y, epochs=np.int64(1), lr=np.float64(0.01), progress=False)
