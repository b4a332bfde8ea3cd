"""Engine behaviours that no other engine test pinned, found by mutation testing (tools/mutate.py).

Each test states one behaviour and checks it against an independent oracle: numpy, a closed
form, float64 central differences or PyTorch. tools/mutation-report.md lists the mutants.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings

import numpy as np
import pytest

from tinygrad_softmax import (
    BackwardError,
    Function,
    Tensor,
    detect_anomaly,
    grad,
    no_grad,
    register_op,
    scope,
    unregister_op,
)
from tinygrad_softmax import functional as F


def central_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f(x) / dx for a scalar float64 function f, by central differences."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


# ------------------------------------------------------------------------------ matmul


def test_matmul_with_a_python_number_on_either_side_is_a_valueerror():
    t = Tensor(np.ones(3), requires_grad=True)
    for call in (lambda: t @ 2.0, lambda: 2.0 @ t, lambda: t @ 3, lambda: t.matmul(2.0)):
        with pytest.raises(ValueError, match="scalars cannot be matrix-multiplied"):
            call()


# ------------------------------------------------------------------------------ mean


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), True), (-1, False)])
def test_mean_of_integer_data_is_numpys_float64_mean(axis, keepdims):
    data = np.arange(12, dtype=np.int64).reshape(3, 4) ** 2
    out = Tensor(data).mean(axis=axis, keepdims=keepdims)
    expected = np.mean(data, axis=axis, keepdims=keepdims)
    assert out.dtype == np.float64 and out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, True), (1, False)])
def test_mean_of_float16_stays_float16_and_its_gradient_is_one_over_n(axis, keepdims, rng):
    data = rng.standard_normal((4, 2)).astype(np.float16)
    x = Tensor(data, requires_grad=True)
    out = x.mean(axis=axis, keepdims=keepdims)
    expected = np.mean(data, axis=axis, keepdims=keepdims)
    assert out.dtype == np.float16 and out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.data, expected)
    out.backward(np.ones(out.shape))
    n = data.size // np.size(expected)
    assert x.grad.dtype == np.float16
    np.testing.assert_array_equal(x.grad, np.full(data.shape, 1 / n, dtype=np.float16))


def test_mean_over_an_empty_axis_is_nan_and_its_gradient_is_empty():
    x = Tensor(np.empty((0, 3)), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = x.mean(axis=0)
        assert out.shape == (3,) and np.isnan(out.data).all()
        out.backward(np.ones(3))
    assert x.grad.shape == (0, 3) and x.grad.dtype == np.float64


# ------------------------------------------------------------------------------ getitem


def test_a_tuple_inside_an_index_picks_positions_again_and_their_gradients_add_up():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = x[0, (1, 1)]  # numpy reads the inner tuple as a list of positions
    np.testing.assert_array_equal(out.data, [1.0, 1.0])
    out.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("index, torch_index", [
    (1, 1), (slice(0, 2), slice(0, 2)), ((Ellipsis, 1), (Ellipsis, 1)), (np.int64(2), 2), (np.array(1), 1),
    ((None, 0), (None, 0)),
], ids=["int", "slice", "ellipsis", "numpy int", "0-d array", "newaxis"])
def test_basic_indexing_passes_the_gradient_on_exactly_even_a_negative_zero(index, torch_index):
    torch = pytest.importorskip("torch")
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = x[index]
    out.backward(np.full(out.shape, -0.0))
    tx = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    tout = tx[torch_index]
    tout.backward(torch.full(tout.shape, -0.0, dtype=torch.float64))
    np.testing.assert_array_equal(np.signbit(x.grad), torch.signbit(tx.grad).numpy())


# ------------------------------------------------------------------------------ fused loss


def test_fused_cross_entropy_refuses_an_unknown_reduction():
    logits = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.softmax_cross_entropy(logits, np.array([0, 1]), reduction="avg")


# ------------------------------------------------------------------------------ in place


def test_an_in_place_update_of_unrelated_data_leaves_an_older_graph_usable():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = np.array([3.0, -0.5])
    loss = (w * x).exp().sum()  # mul saves its inputs, exp its output
    other = Tensor([0.0, 1.0])
    other += 1.0  # no gradient at stake: changed in place, and noted as such
    with no_grad():
        other *= 2.0
    loss.backward()
    np.testing.assert_allclose(w.grad, x * np.exp(w.data * x), rtol=1e-13)


def test_freeing_arrays_updated_in_place_raises_nothing_in_the_background():
    caught = []
    previous = sys.unraisablehook
    sys.unraisablehook = caught.append
    try:
        for _ in range(3):
            t = Tensor(np.ones(3))
            t += 1.0
            del t
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert [str(c.exc_value) for c in caught] == []


# ------------------------------------------------------------------------------ the backward pass


@pytest.mark.parametrize("build", [lambda x: x * x.exp(), lambda x: x.exp() * x, lambda x: x / (x * x + 1.0)],
                         ids=["leaf first", "leaf second", "leaf first in div"])
def test_a_leaf_used_directly_and_through_an_op_gets_both_contributions(build):
    data = np.array([0.5, -1.0, 2.0])
    x = Tensor(data, requires_grad=True)
    build(x).sum().backward()
    expected = central_difference(lambda v: build(Tensor(v)).data.sum(), data)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-8, atol=1e-9)
    y = Tensor(data, requires_grad=True)
    (dy,) = grad(build(y).sum(), y)
    np.testing.assert_allclose(dy, expected, rtol=1e-8, atol=1e-9)


class _FirstGetsNone(Function):
    """A user op of three inputs, 0 a + 2 b + 3 c, whose backward gives the first no gradient (None)."""

    @staticmethod
    def forward(ctx, a, b, c):
        return 2 * b + 3 * c + 0 * a

    @staticmethod
    def backward(ctx, g):
        return None, 2 * g, 3 * g


def test_a_user_backward_returning_none_for_one_input_still_feeds_the_others():
    a, b, c = (Tensor(np.full(2, v), requires_grad=True) for v in (1.0, 2.0, 3.0))
    _FirstGetsNone.apply(a, b, c).backward(np.array([1.0, -1.0]))
    assert a.grad is None
    np.testing.assert_array_equal(b.grad, [2.0, -2.0])
    np.testing.assert_array_equal(c.grad, [3.0, -3.0])


class _ListGrad(Function):
    """A user op, 3 x, whose backward gives plain Python data: a number for a 0-d input, else a nested list.

    (A list returned bare would be read as one gradient per input, so the list comes in a tuple.)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return 3.0 * x

    @staticmethod
    def backward(ctx, g):
        return 3.0 * float(g) if ctx.shape == () else ((3.0 * g).tolist(),)


@pytest.mark.parametrize("data", [2.0, [1.0, -2.0], [[1.0], [2.0]]], ids=["0-d, a float", "1-d, a list", "2-d"])
def test_a_user_backward_may_return_python_numbers_or_lists(data):
    x = Tensor(data, requires_grad=True)
    _ListGrad.apply(x).backward(np.ones(x.shape))
    assert type(x.grad) is np.ndarray and x.grad.dtype == np.float64 and x.grad.shape == x.shape
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 3.0))


# ------------------------------------------------------------------------------ grad() and seeds


def test_grad_returns_arrays_sharing_memory_with_nothing_even_for_an_input_and_its_transpose():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    xt = x.T  # the transpose's gradient is a view of the gradient that reaches xt
    r = xt.reshape(6)
    out = (r * np.arange(6.0)).sum() + (x * x).sum()
    dx, dxt, dr = grad(out, [x, xt, r])
    np.testing.assert_array_equal(dr, np.arange(6.0))
    np.testing.assert_array_equal(dxt, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(dx, np.arange(6.0).reshape(3, 2).T + 2 * x.data)
    for a, b in [(dx, dxt), (dx, dr), (dxt, dr)]:
        assert not np.shares_memory(a, b)
    for g in (dx, dxt, dr):
        assert g.base is None and g.flags.writeable


def test_grad_of_the_same_input_twice_gives_two_separate_arrays():
    x = Tensor([1.0, 2.0], requires_grad=True)
    first, second = grad((x * x).sum(), [x, x])
    np.testing.assert_array_equal(first, [2.0, 4.0])
    np.testing.assert_array_equal(second, [2.0, 4.0])
    assert not np.shares_memory(first, second)


@pytest.mark.parametrize("given", [np.ones(3, dtype=np.float64), [1, 2, 3], np.array([1, 2, 3])],
                         ids=["float64 array", "list of ints", "int array"])
def test_an_upstream_gradient_is_cast_to_the_outputs_dtype(given):
    x = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    y = x * np.float32(2.0)
    y.backward(given)
    assert y.grad.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(y.grad, np.asarray(given, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, 2 * np.asarray(given, dtype=np.float32))
    (dx,) = grad(x * np.float32(2.0), x, grad_outputs=given)
    assert dx.dtype == np.float32


# ------------------------------------------------------------------------------ Tensor as an array


def test_numpy_array_of_a_tensor_is_a_copy_and_asarray_is_not():
    t = Tensor([1.0, 2.0, 3.0])
    for copy in (np.array(t), np.array(t, copy=True), np.array(t, dtype=np.float32)):
        assert not np.shares_memory(copy, t.data)
        np.testing.assert_array_equal(copy, [1.0, 2.0, 3.0])
    assert np.shares_memory(np.asarray(t), t.data)


def test_repr_rounds_values_to_four_decimals_and_says_whether_grad_is_required():
    assert "0.3333," in repr(Tensor([1 / 3, 2.0]))
    assert "0.33333" not in repr(Tensor([1 / 3, 2.0]))
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))
    assert "requires_grad" not in repr(Tensor([1.0]))


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_graph_passes_its_options_to_the_drawing(direction):
    pytest.importorskip("graphviz")
    x = Tensor([1.0, 2.0], requires_grad=True)
    source = (x * 2.0).sum().graph(rankdir=direction).source
    assert f"rankdir={direction}" in source


# ------------------------------------------------------------------------------ Tensor methods


def test_a_nested_list_times_a_tensor_is_a_recorded_matmul():
    W = Tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), requires_grad=True)
    out = [[1.0, -1.0, 2.0]] @ W  # a list has no @, so Tensor.__rmatmul__ answers
    np.testing.assert_array_equal(out.data, [[8.0, 10.0]])
    out.sum().backward()
    np.testing.assert_array_equal(W.grad, [[1.0, 1.0], [-1.0, -1.0], [2.0, 2.0]])


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_logsumexp_reduces_the_last_axis_by_default(shape, rng):
    data = rng.standard_normal(shape)
    x = Tensor(data, requires_grad=True)
    out = x.logsumexp()
    expected = np.log(np.exp(data).sum(axis=-1))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)
    out.backward(np.ones(out.shape))
    np.testing.assert_allclose(x.grad, np.exp(data) / np.exp(data).sum(axis=-1, keepdims=True), rtol=1e-13)


def test_a_registered_op_keeps_the_functions_docstring():
    def halve(t):
        """Half of t."""
        return t * 0.5

    register_op("halve_for_docs", halve)
    try:
        assert Tensor.halve_for_docs.__doc__ == "Half of t."
        assert Tensor.halve_for_docs.__name__ == "halve_for_docs"
        np.testing.assert_array_equal(Tensor([2.0]).halve_for_docs().data, [1.0])
    finally:
        unregister_op("halve_for_docs")


# ------------------------------------------------------------------------------ constants


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_list_operand_is_kept_with_the_values_it_had_when_the_op_ran(side):
    x = Tensor([1.0, 2.0], requires_grad=True)
    values = [10.0, 20.0]
    out = x * values if side == "right" else values * x
    values[0] = -1.0
    constant = out.parents[1 if side == "right" else 0]
    np.testing.assert_array_equal(constant.data, [10.0, 20.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [10.0, 20.0])


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_list_holding_a_tensor_is_refused_as_an_operand_on_either_side(side):
    x = Tensor([1.0, 2.0], requires_grad=True)
    other = [Tensor(1.0, requires_grad=True), 2.0]
    with pytest.raises(TypeError, match="holding Tensors"):
        _ = x + other if side == "right" else other + x


@pytest.mark.parametrize("constant", [np.array([1j, 2j]), [1j, 2j], np.array(["a", "b"]), [None, None]],
                         ids=["complex array", "complex list", "strings", "objects"])
def test_a_non_real_constant_is_refused_instead_of_dropping_the_gradient(constant):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="as a tensor"):
        _ = x + constant


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("axis", [2, -3])
def test_an_axis_out_of_range_is_a_valueerror_naming_the_function(fn, axis):
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: axis {axis} "):
        fn(x, axis=axis)


def test_categorical_crossentropy_clips_predictions_above_one_too():
    y_pred = Tensor([0.25, 2.0, 0.5], requires_grad=True)  # 2.0 is clipped to 1: log 1 = 0, gradient 0
    loss = F.categorical_crossentropy(np.array([0.0, 1.0, 1.0]), y_pred)
    np.testing.assert_allclose(loss.data, -np.log(0.5), rtol=1e-15)
    loss.backward()
    np.testing.assert_allclose(y_pred.grad, [0.0, 0.0, -2.0], rtol=1e-15)


# ------------------------------------------------------------------------------ scopes


def test_a_scope_names_itself_keeps_its_label_and_holds_the_constants_of_its_ops():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with scope("double", label="2 g") as outer:
        with scope("inner") as inner:
            y = x * 2.0
    assert repr(outer) == "Scope('double')" and repr(inner) == "Scope('inner')"
    assert (outer.name, outer.label, outer.parent) == ("double", "2 g", None)
    assert (inner.name, inner.label, inner.parent) == ("inner", None, outer)
    assert y.scope is inner
    left, constant = y.parents
    assert left is x and x.scope is None  # a leaf made outside keeps no scope
    assert constant.scope is inner and not constant.requires_grad  # a constant is shown inside its op's scope
    np.testing.assert_array_equal(constant.data, 2.0)


# ------------------------------------------------------------------------------ reductions and losses


def test_max_gives_a_nan_its_slices_whole_gradient_and_splits_ties_in_the_others():
    x = Tensor(np.array([[1.0, np.nan, 3.0], [4.0, 6.0, 6.0]]), requires_grad=True)
    out = x.max(axis=1)
    np.testing.assert_array_equal(out.data, [np.nan, 6.0])  # numpy's max: a nan wins its slice
    out.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize("reduction, loss", [("mean", np.nan), ("sum", 0.0), ("none", 0.0)])
def test_cross_entropy_of_one_sample_whose_label_is_ignored(reduction, loss):
    torch = pytest.importorskip("torch")
    logits = np.array([0.5, -1.0, 2.0])
    z = Tensor(logits, requires_grad=True)
    out = F.cross_entropy(z, np.array(1), ignore_index=1, reduction=reduction)
    tz = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tz, torch.tensor(1), ignore_index=1, reduction=reduction)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_array_equal(out.data, loss)
    if reduction != "mean":  # (the mean of nothing is nan; torch then gives a zero gradient, this engine nan)
        out.backward()
        expected.backward()
        np.testing.assert_array_equal(z.grad, tz.grad.numpy())


@pytest.mark.parametrize("n", [0, 1, 3])
def test_binary_cross_entropy_with_logits_mean_of_n_samples(n, rng):
    logits, target = rng.standard_normal(n), rng.random(n)
    x = Tensor(logits, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, target)
    closed = np.logaddexp(0.0, logits) - target * logits  # log(1 + e^x) - t x
    if n == 0:
        assert np.isnan(out.data)
        return
    np.testing.assert_allclose(out.data, closed.mean(), rtol=1e-13)
    out.backward()
    sigmoid = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(x.grad, (sigmoid - target) / n, rtol=1e-12)


# ------------------------------------------------------------------------------ in-place errors and constants


def test_an_in_place_change_of_saved_data_is_an_error_naming_the_op_and_what_changed():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    y = w * w  # mul saved its inputs
    with no_grad():
        w += 1.0
    with pytest.raises(BackwardError, match=r"^mul: input 0 w \(2,\) was changed in place") as info:
        y.sum().backward()
    assert (info.value.op, info.value.reason, info.value.input_index) == ("mul", "modified", 0)
    v = Tensor([1.0, 2.0], requires_grad=True, name="v")
    e = v.exp()  # exp saved its output
    e.name = "e"
    loss = e.sum()
    with no_grad():
        e += 1.0
    with pytest.raises(BackwardError, match=r"^exp: its output e \(2,\) was changed in place") as info:
        loss.backward()
    assert (info.value.op, info.value.input_index) == ("exp", None)


class _Scale(Function):
    """A user op, x * c, with c a constant input (a list, a number): c gets no gradient."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = np.asarray(c)
        return x * ctx.c

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c, None


def test_a_user_op_keeps_a_list_constant_as_the_array_it_had_when_the_op_ran():
    x = Tensor([1.0, 2.0], requires_grad=True)
    values = [3.0, -4.0]
    out = _Scale.apply(x, values)
    values[0] = 100.0
    parent = out.parents[1]
    assert isinstance(parent, Tensor) and not parent.requires_grad
    np.testing.assert_array_equal(parent.data, [3.0, -4.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])


# ------------------------------------------------------------------------------ retain_graph, bool


@pytest.mark.parametrize("anomaly", [False, True], ids=["plain", "under detect_anomaly"])
def test_a_graph_kept_with_retain_graph_gives_the_same_gradient_again(anomaly):
    data = np.array([0.5, -1.0, 2.0])
    x = Tensor(data, requires_grad=True)
    with detect_anomaly() if anomaly else contextlib.nullcontext():
        y = (x * x).exp().sum()  # mul and exp both save arrays
        y.backward(retain_graph=True)
        y.backward(retain_graph=False)
        with pytest.raises(RuntimeError, match="freed by an earlier backward with retain_graph=False"):
            y.backward()
    np.testing.assert_allclose(x.grad, 2 * (2 * data * np.exp(data * data)), rtol=1e-14)


def test_bool_of_a_tensor_is_the_truth_of_its_one_value_as_numpy_says():
    assert bool(Tensor(0.0)) is False and bool(Tensor([3.0])) is True and bool(Tensor([[-0.5]])) is True
    assert not Tensor(np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"^bool: the truth value of a tensor of shape \(2,\) is ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_is_anomaly_enabled_says_whether_detect_anomaly_is_open():
    from tinygrad_softmax.grad_mode import is_anomaly_enabled

    outside = is_anomaly_enabled()
    assert outside is False or os.environ.get("TINYGRAD_SOFTMAX_ANOMALY") == "1"
    with detect_anomaly():
        assert is_anomaly_enabled() is True
    assert is_anomaly_enabled() is outside


@pytest.mark.parametrize("method", ["max", "min"])
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_and_min_with_indices_match_torch_for_every_axis_sign(method, axis, keepdims):
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 5.0, 5.0], [7.0, -2.0, 0.5]])
    x = Tensor(data, requires_grad=True)
    values, indices = getattr(x, method)(axis=axis, keepdims=keepdims, return_indices=True)
    tx = torch.tensor(data, requires_grad=True)
    tvalues, tindices = getattr(tx, method)(dim=axis, keepdim=keepdims)
    np.testing.assert_array_equal(values.data, tvalues.detach().numpy())
    np.testing.assert_array_equal(indices.data, tindices.numpy())
    seed = np.arange(1.0, 1.0 + values.size).reshape(values.shape)
    values.backward(seed)
    tvalues.backward(torch.tensor(seed))
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())  # only the first extremum gets the gradient


@pytest.mark.parametrize("fn", [F.stack, F.concatenate])
@pytest.mark.parametrize("empty", [[], ()], ids=["list", "tuple"])
def test_joining_no_tensors_is_a_valueerror_naming_the_function(fn, empty):
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: needs at least one tensor$"):
        fn(empty)


@pytest.mark.parametrize("method", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_and_argmin_are_numpys_with_keepdims(method, axis, keepdims):
    data = np.array([[1.0, 5.0, 5.0], [7.0, -2.0, 0.5]])
    out = getattr(Tensor(data, requires_grad=True), method)(axis=axis, keepdims=keepdims)
    expected = getattr(np, method)(data, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected) and not out.requires_grad
    np.testing.assert_array_equal(out.data, expected)
