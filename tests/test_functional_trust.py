"""The losses and composites where issue 11 found wrong results, crashes or untested corners."""

from __future__ import annotations

import decimal
import warnings

import numpy as np
import pytest

from tinygrad_softmax import Tensor, gradcheck
from tinygrad_softmax import functional as F


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


LOSSES = {"composite": F.cross_entropy, "fused": F.softmax_cross_entropy}


# ------------------------------------------------------ fused loss with soft targets (item 1)

SOFT_X = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
SOFT_T = np.array([[0.2, 0.3, 0.1], [0.6, 0.6, 0.3]])  # rows that do not sum to 1


def soft_gradient(x, t):
    a = np.exp(x - x.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    return (a * t.sum(-1, keepdims=True) - t) / len(x)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_probability_targets_that_do_not_sum_to_one_get_the_right_gradient(loss):
    x = leaf(SOFT_X)
    LOSSES[loss](x, SOFT_T).backward()
    np.testing.assert_allclose(x.grad, soft_gradient(np.array(SOFT_X), SOFT_T), rtol=1e-13)
    np.testing.assert_allclose(x.grad[0], [-0.0730, -0.0766, 0.1496], atol=5e-5)  # torch's figures


def test_soft_targets_against_torch_for_every_reduction():
    torch = pytest.importorskip("torch")
    for reduction in ("mean", "sum", "none"):
        for loss in LOSSES.values():
            x = leaf(SOFT_X)
            out = loss(x, SOFT_T, reduction=reduction)
            tx = torch.tensor(SOFT_X, dtype=torch.float64, requires_grad=True)
            tout = torch.nn.functional.cross_entropy(tx, torch.tensor(SOFT_T), reduction=reduction)
            np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13)
            upstream = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
            out.backward(upstream)
            tout.backward(torch.tensor(upstream))
            np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("target", [SOFT_T, np.array([2, 0])], ids=["soft", "labels"])
def test_a_second_backward_over_a_kept_fused_graph_gives_the_same_gradient(target):
    x = leaf(SOFT_X)
    loss = F.softmax_cross_entropy(x, target)
    loss.backward()
    first = x.grad.copy()
    x.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(x.grad, first)


# ------------------------------------------------------------- empty tensors (item 6)


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3), (2, 0, 4)])
def test_softmax_family_on_empty_tensors_gives_numpys_answers(shape):
    x = leaf(np.zeros(shape))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = F.softmax(x)
        ls = F.log_softmax(x)
        lse = F.logsumexp(x)
    assert a.shape == shape and ls.shape == shape
    assert lse.shape == shape[:-1]
    np.testing.assert_array_equal(lse.data, np.full(shape[:-1], -np.inf))  # log of an empty sum
    (lse.sum() + a.sum() + ls.sum()).backward() if lse.size else (a.sum() + ls.sum()).backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize("loss", list(LOSSES))
def test_an_empty_batch_has_mean_nan_sum_zero_and_an_empty_gradient(loss):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction, expected in (("mean", np.nan), ("sum", 0.0)):
            x = leaf(np.zeros((0, 3)))
            out = LOSSES[loss](x, np.zeros(0, dtype=int), reduction=reduction)
            np.testing.assert_array_equal(out.data, expected)
            out.backward()
            assert x.grad.shape == (0, 3)
        assert LOSSES[loss](leaf(np.zeros((0, 3))), np.zeros(0, dtype=int), reduction="none").shape == (0,)


# ---------------------------------------------------- logsumexp at the infinities (item 6)


def test_logsumexp_of_an_all_minus_inf_row_is_minus_inf_with_zero_gradient():
    x = leaf([[-np.inf, -np.inf], [1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.logsumexp(x)
        out.backward(np.ones(2))
    assert out.data[0] == -np.inf
    np.testing.assert_allclose(out.data[1], np.log(np.exp(1) + np.exp(2)))
    np.testing.assert_array_equal(x.grad[0], [0.0, 0.0])
    np.testing.assert_allclose(x.grad[1], np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum())


def test_logsumexp_of_a_row_holding_plus_inf_is_inf_and_its_gradient_goes_to_the_inf_entries():
    x = leaf([[np.inf, 0.0, -np.inf], [np.inf, np.inf, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.logsumexp(x, axis=1, keepdims=True)
        out.backward(np.array([[2.0], [1.0]]))
    np.testing.assert_array_equal(out.data, [[np.inf], [np.inf]])
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0, 0.0], [0.5, 0.5, 0.0]])


def test_logsumexp_over_several_axes_matches_torch():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(1).standard_normal((2, 3, 4)) * 50
    for axis, keepdims in [((0, 2), False), ((1, 2), True), (None, False), (-1, True)]:
        x = leaf(values)
        out = F.logsumexp(x, axis=axis, keepdims=keepdims)
        dims = tuple(range(3)) if axis is None else axis
        tx = torch.tensor(values, requires_grad=True)
        tout = torch.logsumexp(tx, dim=dims, keepdim=keepdims)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-14)
        out.backward(np.ones(out.shape))
        tout.backward(torch.ones(tout.shape, dtype=torch.float64))
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-300)
        assert gradcheck(lambda t, a=axis, k=keepdims: F.logsumexp(t, axis=a, keepdims=k), [leaf(values / 50)])


# -------------------------------------------------- precision of the stable losses (item on data)


def exact_log_softmax(row):
    """log softmax of float logits in 80-digit decimal arithmetic: each float converted exactly."""
    with decimal.localcontext() as ctx:
        ctx.prec, ctx.Emin, ctx.Emax = 80, -10**9, 10**9
        ctx.traps[decimal.Underflow] = ctx.traps[decimal.Inexact] = False
        values = [decimal.Decimal(float(v)) for v in row]
        top = max(values)
        total = sum((v - top).exp() for v in values)
        log_total = total.ln()
        return [float(v - top - log_total) for v in values]


PRECISION_CASES = [
    [1e15, 1e15, 1e15], [1e16, 1e16, 1e16], [1e17, 1e17, 1e17], [1e300, 1e300, 1e300],
    [1e300, 0.0, -1e300], [1e17, 1e17 + 32, 1e17 - 16], [1e15, 1.0, -3.0, 1e15], [700.0, -700.0, 1.5],
    [1.0, 1e-300, -1e-300], [-1e300, -1e300 + 1e284, -1e299],
]


EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("row", PRECISION_CASES, ids=[str(i) for i in range(len(PRECISION_CASES))])
def test_log_softmax_and_cross_entropy_are_exact_to_rounding_for_huge_and_mixed_logits(row):
    """Within two roundings of the exact value (absolutely, for values below 1: log(1 + tiny) rounds once)."""
    reference = np.array(exact_log_softmax(row))
    x = np.array(row)
    got = F.log_softmax(x).data
    np.testing.assert_allclose(got, reference, rtol=2 * EPS, atol=EPS)
    for label in range(len(row)):
        for loss in LOSSES.values():
            np.testing.assert_allclose(loss(x, np.array(label)).data, -reference[label], rtol=2 * EPS, atol=EPS)


def test_three_equal_huge_logits_give_log_3_not_rounding_noise():
    for scale in (1e15, 1e16, 1e17, 1e300):
        for loss in LOSSES.values():
            assert loss(np.full(3, scale), np.array(0)).item() == pytest.approx(np.log(3), rel=1e-15)


# ------------------------------------------------------------------- label validation


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("labels, message", [
    (np.array(-1), r"labels must be in \[0, 3\) for 3 classes; got \[-1\]"),
    (np.array(3), r"labels must be in \[0, 3\) for 3 classes; got \[3\]"),
    (np.array([0, 1]), r"labels of shape \(2,\) do not match logits of shape \(3,\)"),
])
def test_bad_labels_are_refused_by_both_losses_with_the_same_words(loss, labels, message):
    with pytest.raises(ValueError, match=message):
        LOSSES[loss](leaf([1.0, 2.0, 3.0]), labels)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_0d_logits_are_a_clear_value_error(loss):
    with pytest.raises(ValueError, match="logits must have a class axis"):
        LOSSES[loss](leaf(2.0), np.array(0))


def test_cross_entropy_takes_the_last_axis_as_classes_on_3d_logits():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    values, labels = rng.standard_normal((2, 5, 4)), rng.integers(0, 4, (2, 5))
    x = leaf(values)
    out = F.cross_entropy(x, labels)
    out.backward()
    tx = torch.tensor(values, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tx.permute(0, 2, 1), torch.tensor(labels))  # torch: classes on dim 1
    tout.backward()
    np.testing.assert_allclose(out.data, tout.item(), rtol=1e-13)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.softmax_cross_entropy(values, labels).data, out.data, rtol=1e-14)


def test_one_hot_accepts_whole_number_floats_and_refuses_fractions():
    np.testing.assert_array_equal(F.one_hot(np.array([2.0, 0.0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="one_hot: labels must be integers"):
        F.one_hot(np.array([0.5]), 3)
