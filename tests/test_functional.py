"""Composite functions: values and gradients against numpy closed forms, finite differences and PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_softmax import Tensor, gradcheck, jacobian
from tinygrad_softmax import functional as F

rng = np.random.default_rng(0)


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def leaf(array):
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("shape, axis", [((4,), -1), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1)])
def test_softmax_values_and_gradient(shape, axis):
    x = rng.standard_normal(shape)
    out = F.softmax(leaf(x), axis=axis)
    np.testing.assert_allclose(out.data, np_softmax(x, axis), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out.data.sum(axis=axis), 1.0, rtol=1e-13)
    assert gradcheck(lambda t: F.softmax(t, axis=axis), [leaf(x)])


def test_softmax_graph_is_made_of_primitives():
    out = F.softmax(leaf([1.0, 2.0, 3.0]))
    assert out.op == "div"
    ops_seen, stack = set(), [out]
    while stack:
        node = stack.pop()
        if node.op:
            ops_seen.add(node.op)
        stack.extend(node.parents)
    assert {"exp", "sum", "div", "sub"} <= ops_seen


def test_softmax_jacobian_is_diag_minus_outer():
    z = rng.standard_normal(4)
    a = np_softmax(z)
    np.testing.assert_allclose(jacobian(F.softmax, z), np.diag(a) - np.outer(a, a), atol=1e-15)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.logsumexp])
def test_extreme_logits_are_finite_without_warnings(fn):
    x = leaf([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(x)
        out.backward(np.ones(out.shape))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


def test_log_softmax_and_logsumexp_closed_forms():
    x = rng.standard_normal((3, 4))
    lse = np.log(np.exp(x).sum(axis=1))
    np.testing.assert_allclose(F.logsumexp(x).data, lse, rtol=1e-13)
    assert F.logsumexp(x, keepdims=True).shape == (3, 1)
    np.testing.assert_allclose(F.log_softmax(x).data, x - lse[:, None], rtol=1e-13)
    assert gradcheck(F.log_softmax, [leaf(x)])
    assert gradcheck(lambda t: F.logsumexp(t, axis=0), [leaf(x)])


def test_softmax_is_shift_invariant_and_handles_all_minus_inf_row():
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(F.softmax(x + 500.0).data, F.softmax(x).data, rtol=1e-12)
    out = F.log_softmax(np.array([-np.inf, 0.0, 0.0]))
    np.testing.assert_allclose(out.data, [-np.inf, -np.log(2), -np.log(2)])


# ------------------------------------------------------------------ cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_labels_matches_closed_form(reduction):
    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    x = leaf(logits)
    loss = F.cross_entropy(x, labels, reduction=reduction)
    per_sample = -np.log(np_softmax(logits)[np.arange(6), labels])
    expected = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13)
    loss.backward(np.ones(loss.shape))
    scale = 1 / 6 if reduction == "mean" else 1.0
    np.testing.assert_allclose(x.grad, (np_softmax(logits) - F.one_hot(labels, 4)) * scale, atol=1e-15)


def test_cross_entropy_gradient_rows_sum_to_zero_and_gradcheck():
    logits, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    x = leaf(logits)
    F.cross_entropy(x, labels).backward()
    np.testing.assert_allclose(x.grad.sum(axis=1), 0.0, atol=1e-15)
    assert gradcheck(lambda t: F.cross_entropy(t, labels), [leaf(logits)])


def test_cross_entropy_single_sample_and_probability_targets():
    logits = rng.standard_normal(3)
    np.testing.assert_allclose(F.cross_entropy(logits, 2).data, -np.log(np_softmax(logits)[2]), rtol=1e-13)
    batch = rng.standard_normal((4, 3))
    probs = np_softmax(rng.standard_normal((4, 3)))
    expected = -(probs * np.log(np_softmax(batch))).sum(axis=1).mean()
    np.testing.assert_allclose(F.cross_entropy(batch, probs).data, expected, rtol=1e-13)
    onehot = F.one_hot([0, 2, 1, 1], 3)
    np.testing.assert_allclose(
        F.cross_entropy(batch, onehot).data, F.cross_entropy(batch, np.array([0, 2, 1, 1])).data, rtol=1e-13
    )
    assert gradcheck(lambda t: F.cross_entropy(t, probs, reduction="sum"), [leaf(batch)])


def test_cross_entropy_class_axis_zero_equals_transposed():
    logits, labels = rng.standard_normal((3, 5)), rng.integers(0, 3, 5)  # classes in columns, like the notebook
    np.testing.assert_allclose(
        F.cross_entropy(logits, labels, axis=0).data, F.cross_entropy(logits.T, labels).data, rtol=1e-13
    )


def test_cross_entropy_extreme_logits_are_finite():
    x = leaf([800.0, -800.0])
    loss = F.cross_entropy(x, 1)
    assert loss.item() == pytest.approx(1600.0)
    loss.backward()
    np.testing.assert_allclose(x.grad, [1.0, -1.0])
    inf_logits = leaf([-np.inf, 0.0, 0.0])
    loss = F.cross_entropy(inf_logits, 1)
    assert loss.item() == pytest.approx(np.log(2))
    loss.backward()
    np.testing.assert_allclose(inf_logits.grad, [0.0, -0.5, 0.5])


@pytest.mark.parametrize(
    "target, message",
    [
        (np.array([0, 3]), r"labels must be in \[0, 3\).*\[3\]"),
        (np.array([0, -1]), r"\[-1\]"),
        (np.array([0, 1, 2]), r"labels of shape \(3,\) do not match logits of shape \(2, 3\)"),
        (np.zeros((2, 2)), r"integer labels of shape \(2,\) or probability rows of shape \(2, 3\)"),
    ],
)
def test_cross_entropy_bad_targets_are_named(target, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(np.zeros((2, 3)), target)


def test_cross_entropy_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg")


def test_categorical_crossentropy_notebook_form_and_log0_guard():
    y = F.one_hot([1, 0], 3)
    a = np_softmax(rng.standard_normal((2, 3)))
    np.testing.assert_allclose(F.categorical_crossentropy(y, a).data, -(y * np.log(a)).sum(axis=1), rtol=1e-13)
    zero = leaf([0.0, 1.0, 0.0])
    loss = F.categorical_crossentropy(np.array([1.0, 0.0, 0.0]), zero)
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(-np.log(np.finfo(np.float64).eps))
    loss.backward()
    assert np.all(np.isfinite(zero.grad))
    with pytest.raises(ValueError, match="same shape"):
        F.categorical_crossentropy(np.ones(3), np.ones(4))


def test_categorical_crossentropy_of_softmax_equals_cross_entropy():
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 1, 2, 1])
    x1, x2 = leaf(logits), leaf(logits)
    F.categorical_crossentropy(F.one_hot(labels, 3), F.softmax(x1)).mean().backward()
    F.cross_entropy(x2, labels).backward()
    np.testing.assert_allclose(x1.grad, x2.grad, atol=1e-14)


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot([0, 1, 0]), [[1, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(F.one_hot([0, 1, 0], 3), [[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    assert F.one_hot(2, 4).tolist() == [0, 0, 1, 0]
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="integers"):
        F.one_hot([0.5])


# ------------------------------------------------------------ fused softmax + CE


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(3,), (5, 4)])
def test_fused_softmax_cross_entropy_equals_composite(reduction, shape):
    logits = rng.standard_normal(shape)
    labels = rng.integers(0, shape[-1], shape[:-1])
    fused, composite = leaf(logits), leaf(logits)
    a = F.softmax_cross_entropy(fused, labels, reduction=reduction)
    b = F.cross_entropy(composite, labels, reduction=reduction)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-13)
    upstream = rng.standard_normal(a.shape)
    a.backward(upstream)
    b.backward(upstream)
    np.testing.assert_allclose(fused.grad, composite.grad, atol=1e-14)
    assert a.op == "softmaxcrossentropy"
    assert gradcheck(lambda t: F.softmax_cross_entropy(t, labels, reduction=reduction), [leaf(logits)])


def test_fused_softmax_cross_entropy_probability_targets_and_float32():
    logits = rng.standard_normal((4, 3))
    probs = np_softmax(rng.standard_normal((4, 3)))
    np.testing.assert_allclose(
        F.softmax_cross_entropy(logits, probs).data, F.cross_entropy(logits, probs).data, rtol=1e-13
    )
    x = Tensor(logits.astype(np.float32), requires_grad=True)
    loss = F.softmax_cross_entropy(x, np.array([0, 1, 2, 0]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(ValueError, match="softmaxcrossentropy"):
        F.softmax_cross_entropy(logits, np.array([0, 5, 1, 1]))


# ---------------------------------------------------------------------- PyTorch


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    logits, labels = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    probs = np_softmax(rng.standard_normal((7, 5)))
    for target, torch_target in ((labels, torch.tensor(labels)), (probs, torch.tensor(probs))):
        for reduction in ("mean", "sum", "none"):
            ours = leaf(logits)
            loss = F.cross_entropy(ours, target, reduction=reduction)
            loss.backward(np.ones(loss.shape))
            theirs = torch.tensor(logits, requires_grad=True)
            ref = torch.nn.functional.cross_entropy(theirs, torch_target, reduction=reduction)
            ref.backward(torch.ones_like(ref))
            np.testing.assert_allclose(loss.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    x = leaf(logits)
    F.log_softmax(x, axis=0).backward(np.cos(logits))
    t = torch.tensor(logits, requires_grad=True)
    torch.log_softmax(t, dim=0).backward(torch.tensor(np.cos(logits)))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.logsumexp(logits).data, torch.logsumexp(torch.tensor(logits), 1).numpy(), rtol=1e-12)
