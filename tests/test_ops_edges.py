"""Corners of the primitives that mutation testing found untested (issue 11, "gaps in the tests")."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------------------ clip

X = [-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]


@pytest.mark.parametrize("low, high, value, gradient", [
    (-1.0, 1.0, [-1.0, -1.0, 0.0, 0.5, 1.0, 1.0], [0, 1, 1, 1, 1, 0]),  # at exactly low and high: g passes
    (None, 0.5, [-2.0, -1.0, 0.0, 0.5, 0.5, 0.5], [1, 1, 1, 1, 0, 0]),  # high alone
    (0.0, None, [0.0, 0.0, 0.0, 0.5, 1.0, 3.0], [0, 0, 1, 1, 1, 1]),  # low alone (relu-like; 1 at 0)
])
def test_clip_values_and_gradient_at_and_beyond_the_bounds(low, high, value, gradient):
    x = leaf(X)
    out = x.clip(low, high)
    np.testing.assert_array_equal(out.data, value)
    out.backward(np.full(6, 3.0))
    np.testing.assert_array_equal(x.grad, 3.0 * np.array(gradient))


def test_clip_gradient_at_the_bounds_matches_torch():
    torch = pytest.importorskip("torch")
    for low, high in [(-1.0, 1.0), (None, 0.5), (0.0, None)]:
        x = leaf(X)
        x.clip(low, high).sum().backward()
        tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        torch.clamp(tx, low, high).sum().backward()
        np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_clip_without_bounds_is_refused():
    with pytest.raises(ValueError, match="clip: give low, high or both"):
        leaf(X).clip()


def test_categorical_crossentropy_of_a_probability_of_exactly_one_has_a_gradient():
    """clip(eps, 1) must let the gradient through at 1 (a perfect prediction): -y / yhat = -1."""
    y_pred = leaf([0.0, 1.0, 0.0])
    loss = F.categorical_crossentropy(np.array([0.0, 1.0, 0.0]), y_pred)
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(y_pred.grad, [0.0, -1.0, 0.0])


# -------------------------------------------------------------------- indexing


@pytest.mark.parametrize("index, expected", [
    (([0, 0], 1), [[0, 2, 0], [0, 0, 0]]),  # a list inside a tuple: repeats add up
    ([1, 1, 0], [[1, 1, 1], [2, 2, 2]]),
    ((np.array([1, 1]), [2, 2]), [[0, 0, 0], [0, 0, 2]]),
    ((slice(None), [0, 0, 2]), [[2, 0, 1], [2, 0, 1]]),
])
def test_repeated_indices_given_as_lists_add_their_gradients(index, expected):
    x = leaf(np.arange(6.0).reshape(2, 3))
    out = x[index]
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(x.grad, expected)


# -------------------------------------------------------------- Tensors in lists


@pytest.mark.parametrize("operand", [
    lambda t: [t], lambda t: [[t]], lambda t: [[1.0, [t]]], lambda t: ([1.0], (t,))])
def test_tensors_nested_in_lists_are_refused_as_operands(operand):
    t = leaf([1.0])
    with pytest.raises(TypeError, match="no gradient would reach those Tensors"):
        t * operand(t)


# Found by PyTorch's OpInfo samples (tests/test_opinfo_samples.py); these need no torch.


def test_clip_by_an_array_bound_that_broadcasts_x_larger_sums_the_gradient_back():
    x = Tensor(np.linspace(-1, 1, 5).reshape(5, 1), requires_grad=True)
    out = x.clip(np.zeros(5), None)  # (5, 1) against (5,): a (5, 5) result, as np.clip gives
    np.testing.assert_array_equal(out.data, np.clip(x.data, np.zeros(5), None))
    (out * np.arange(25.0).reshape(5, 5)).sum().backward()
    # row i gets the sum of its five weights where x_i >= 0 (at the bound too), else nothing
    expected = np.where(x.data >= 0, np.arange(25.0).reshape(5, 5).sum(axis=1, keepdims=True), 0.0)
    np.testing.assert_array_equal(x.grad, expected)


def test_clip_takes_a_constant_tensor_bound_and_refuses_one_that_needs_a_gradient():
    x = Tensor([[-2.0, 0.5, 3.0]], requires_grad=True)
    low = Tensor([0.0, 1.0, 0.0])
    x.clip(low, 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0]])  # below, below, above
    with pytest.raises(TypeError, match=r"clip: the high bound is a tensor that requires grad.*minimum"):
        x.clip(None, Tensor([1.0, 1.0, 1.0], requires_grad=True))


def test_logsumexp_of_a_0d_tensor_is_the_value_with_gradient_one():
    for keepdims in (False, True):
        x = Tensor(np.array(0.5), requires_grad=True)
        out = x.logsumexp(axis=None, keepdims=keepdims)
        assert isinstance(out.data, np.ndarray) and out.shape == () and out.item() == 0.5
        (out * 3.0).backward()
        assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 3.0


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_indices_of_a_0d_tensor_is_the_value_at_index_0(name):
    x = Tensor(np.array(1.5), requires_grad=True)
    for axis in (0, -1):
        value, index = getattr(x, name)(axis=axis, return_indices=True)
        assert value.item() == 1.5 and index.shape == () and index.item() == 0 and index.dtype.kind == "i"
    (value * 2.0).backward()
    assert x.grad == 2.0
    with pytest.raises(ValueError, match=rf"{name}: axis 1 is out of range for a tensor of shape \(\)"):
        getattr(x, name)(axis=1, return_indices=True)
    with pytest.raises(ValueError, match=rf"{name}: axis -3 is out of range for a tensor of shape \(2, 3\)"):
        getattr(Tensor(np.ones((2, 3))), name)(axis=-3, return_indices=True)


# Found by a second mutation sample (tools/mutate.py --sample 20 --seed 2): untested without torch.


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_the_functional_maximum_and_minimum_send_the_gradient_to_the_chosen_side(name):
    a = Tensor([[1.0, 5.0, 3.0]], requires_grad=True)
    b = Tensor([[4.0], [2.0]], requires_grad=True)  # broadcast to (2, 3) against a
    out = getattr(F, name)(a, b)
    np.testing.assert_array_equal(out.data, getattr(np, name)(a.data, b.data))
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    (out * weights).sum().backward()
    a_wins = (a.data > b.data) if name == "maximum" else (a.data < b.data)  # no ties here
    np.testing.assert_array_equal(a.grad, (weights * a_wins).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(b.grad, (weights * ~a_wins).sum(axis=1, keepdims=True))


def test_where_sends_the_gradient_to_the_branch_it_took():
    a, b = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([10.0, 20.0, 30.0], requires_grad=True)
    out = F.where(np.array([True, False, True]), a, b)
    np.testing.assert_array_equal(out.data, [1.0, 20.0, 3.0])
    (out * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(b.grad, [0.0, 2.0, 0.0])


def test_an_index_tensor_inside_a_tuple_is_kept_as_its_array():
    """op_args is public (pictures read it): the index an op keeps holds arrays, never the Tensor."""
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = Tensor(np.array([0, 0, 1]))
    picked = x[rows, [1, 1, 2]]
    np.testing.assert_array_equal(picked.data, [1.0, 1.0, 5.0])
    kept = picked.op_args["index"]
    assert all(isinstance(part, np.ndarray) for part in kept), kept
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("name", ["std", "var"])
def test_std_and_var_of_no_rows_are_empty_as_numpys(name):
    """(0, 3) reduced over its length-3 axis: no results, each of 3 values (std once counted 0 values and refused)."""
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = getattr(x, name)(axis=1, ddof=1)
    assert out.shape == getattr(np.zeros((0, 3)), name)(axis=1, ddof=1).shape == (0,)
    out.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ValueError, match=rf"{name}: ddof=1 leaves no degrees of freedom for 1 value"):
        getattr(Tensor(np.zeros((2, 1))), name)(axis=1, ddof=1)
