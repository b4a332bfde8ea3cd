"""The ops of issue 14: values and every input's gradient against PyTorch (float64), gradcheck,
boundary inputs (each choice matches torch), float32 fidelity and shapes drawn by hypothesis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_softmax as tg
from tinygrad_softmax import Tensor, gradcheck
from tinygrad_softmax import functional as F

DOMAINS = {
    "real": lambda rng, shape: rng.standard_normal(shape) * 2,  # |x| >= 2 often: wider than the unit interval
    "pos": lambda rng, shape: rng.uniform(0.5, 3.0, shape),
    "unit": lambda rng, shape: rng.uniform(0.05, 0.95, shape),
    "distinct": lambda rng, shape: rng.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.37 - 1.0,
}


@dataclass
class Case:
    op: str
    fn: Callable  # on Tensors (and, through numpy dispatch, the same call as numpy's where noted)
    torch_fn: Callable
    shapes: tuple[tuple[int, ...], ...]
    domains: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.op}-" + "x".join(str(s).replace(" ", "") for s in self.shapes)

    def arrays(self, seed: int = 0, dtype: type = np.float64) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [np.asarray(DOMAINS[d](rng, s), dtype=dtype) for d, s in zip(self.domains, self.shapes)]


def _t():
    import torch

    return torch


UNARY = {
    "relu": (lambda a: a.relu(), lambda a: a.relu(), "real"),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: a.sigmoid(), "real"),
    "tanh": (lambda a: a.tanh(), lambda a: a.tanh(), "real"),
    "abs": (lambda a: a.abs(), lambda a: a.abs(), "real"),
    "sqrt": (lambda a: a.sqrt(), lambda a: a.sqrt(), "pos"),
    "log1p": (lambda a: a.log1p(), lambda a: a.log1p(), "pos"),
    "rpow": (lambda a: 2.5**a, lambda a: 2.5**a, "real"),
}
BINARY_SHAPES = [((4,), (4,)), ((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1, 3), (4, 1))]
BINARY = {
    "maximum": (lambda a, b: a.maximum(b), lambda a, b: _t().maximum(a, b), ("real", "real")),
    "minimum": (lambda a, b: tg.minimum(a, b), lambda a, b: _t().minimum(a, b), ("real", "real")),
    "pow_tensor": (lambda a, b: a**b, lambda a, b: a**b, ("pos", "real")),
}
REDUCTIONS = {
    "min": (lambda axis, k: lambda a: a.min(axis=axis, keepdims=k),
            lambda axis, k: lambda a: _t().amin(a, dim=axis, keepdim=k)),
    "prod": (lambda axis, k: lambda a: a.prod(axis=axis, keepdims=k),
             lambda axis, k: lambda a: _t().prod(a, dim=axis, keepdim=k) if isinstance(axis, int) else
             a.reshape(-1).prod()),
    "var": (lambda axis, k: lambda a: a.var(axis=axis, ddof=1, keepdims=k),
            lambda axis, k: lambda a: _t().var(a, dim=axis, correction=1, keepdim=k)),
    "std": (lambda axis, k: lambda a: a.std(axis=axis, ddof=0, keepdims=k),
            lambda axis, k: lambda a: _t().std(a, dim=axis, correction=0, keepdim=k)),
    "logsumexp": (lambda axis, k: lambda a: a.logsumexp(axis=axis, keepdims=k),
                  lambda axis, k: lambda a: _t().logsumexp(a, dim=axis, keepdim=k)),
}


def build() -> list[Case]:
    cases = []
    for op, (fn, torch_fn, domain) in UNARY.items():
        for shape in [(), (5,), (2, 3), (2, 3, 2)]:
            cases.append(Case(op, fn, torch_fn, (shape,), (domain,)))
    for op, (fn, torch_fn, domains) in BINARY.items():
        for shapes in BINARY_SHAPES:
            cases.append(Case(op, fn, torch_fn, shapes, domains))
    for op, (fn, torch_fn) in REDUCTIONS.items():
        for shape, axes in [((5,), [0]), ((2, 3), [0, 1, -1]), ((2, 3, 4), [1, (0, 2)])]:
            for axis in axes:
                if op == "prod" and not isinstance(axis, int):
                    continue
                for keepdims in (False, True):
                    case = Case(op, fn(axis, keepdims), torch_fn(axis, keepdims), (shape,), ("real",))
                    case.op = f"{op}"
                    cases.append(case)
    shape_cases = [
        ("concatenate", lambda a, b: tg.concatenate([a, b], axis=0), lambda a, b: _t().cat([a, b], 0),
         ((2, 3), (4, 3))),
        ("concatenate", lambda a, b: F.concatenate([a, b, a], axis=-1), lambda a, b: _t().cat([a, b, a], -1),
         ((2, 1), (2, 3))),
        ("stack", lambda a, b: tg.stack([a, b, a], axis=1), lambda a, b: _t().stack([a, b, a], 1), ((2, 3), (2, 3))),
        ("where", lambda a, b: tg.where(a.data > 0, a, b), lambda a, b: _t().where(a > 0, a, b), ((2, 3), (2, 3))),
        ("where", lambda a, b: tg.where(a.data > 0, a, b), lambda a, b: _t().where(a > 0, a, b), ((3, 1), (4,))),
        ("expand_dims", lambda a: a.expand_dims(1), lambda a: a.unsqueeze(1), ((2, 3),)),
        ("unsqueeze", lambda a: a.unsqueeze(0), lambda a: a.unsqueeze(0), ((3,),)),
        ("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), ((2, 1, 3),)),
        ("flatten", lambda a: a.flatten(), lambda a: a.flatten(), ((2, 3, 2),)),
        ("swapaxes", lambda a: a.swapaxes(0, 2), lambda a: a.swapaxes(0, 2), ((2, 3, 4),)),
        ("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), lambda a: a.broadcast_to((2, 3, 4)), ((3, 1),)),
        ("pad", lambda a: a.pad(((1, 0), (2, 1)), constant_values=5.0),
         lambda a: _t().nn.functional.pad(a, (2, 1, 1, 0), value=5.0), ((2, 3),)),
        ("max_indices", lambda a: a.max(axis=1, return_indices=True)[0],
         lambda a: a.max(dim=1).values, ((3, 4),)),
        ("min_indices", lambda a: a.min(axis=0, keepdims=True, return_indices=True)[0],
         lambda a: a.min(dim=0, keepdim=True).values, ((3, 4),)),
    ]
    for op, fn, torch_fn, shapes in shape_cases:
        domains = ("distinct",) * len(shapes) if op.endswith("_indices") else ("real",) * len(shapes)
        cases.append(Case(op, fn, torch_fn, shapes, domains))
    return cases


CASES = build()


def ours(case: Case, arrays: list[np.ndarray]):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    return tensors, case.fn(*tensors)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_values_and_every_gradient_match_torch(case):
    torch = pytest.importorskip("torch")
    arrays = case.arrays()
    tensors, out = ours(case, arrays)
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_out = case.torch_fn(*torch_inputs)
    np.testing.assert_allclose(out.data, torch_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    torch_out.backward(torch.tensor(upstream))
    for mine, theirs in zip(tensors, torch_inputs):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradcheck(case):
    tensors = [Tensor(a, requires_grad=True) for a in case.arrays(seed=2)]
    assert gradcheck(case.fn, tensors, rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_float32_stays_float32_and_agrees_with_float64(case):
    tensors32, out32 = ours(case, case.arrays(seed=3, dtype=np.float32))
    tensors64, out64 = ours(case, case.arrays(seed=3))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, rtol=2e-5, atol=2e-5)
    out32.backward(np.ones(out32.shape, np.float32))
    out64.backward(np.ones(out64.shape))
    for t32, t64 in zip(tensors32, tensors64):
        assert t32.grad.dtype == np.float32
        np.testing.assert_allclose(t32.grad, t64.grad, rtol=2e-4, atol=2e-4)


# ---------------------------------------------- boundary inputs: each choice is torch's


def grads_of(fn, *values):
    tensors = [Tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]
    out = fn(*tensors)
    out.backward(np.ones(out.shape))
    return [t.grad for t in tensors], out.data


def torch_grads_of(fn, *values):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*tensors)
    out.sum().backward()
    return [t.grad.numpy() for t in tensors], out.detach().numpy()


@pytest.mark.parametrize("name, fn, torch_fn, values, expected", [
    ("relu at 0", lambda x: x.relu(), lambda x: x.relu(), ([0.0, -1.0, 2.0],), [[0.0, 0.0, 1.0]]),
    ("abs at 0", lambda x: x.abs(), lambda x: x.abs(), ([0.0, -1.0, 2.0],), [[0.0, -1.0, 1.0]]),
    ("sqrt at 0", lambda x: x.sqrt(), lambda x: x.sqrt(), ([0.0, 4.0],), [[np.inf, 0.25]]),
    ("maximum ties share", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b),
     ([1.0, 2.0, 3.0], [1.0, 1.0, 4.0]), [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]),
    ("minimum ties share", lambda a, b: a.minimum(b), lambda a, b: a.minimum(b),
     ([1.0, 2.0, 3.0], [1.0, 1.0, 4.0]), [[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]]),
    ("maximum with nan", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b),
     ([np.nan, 1.0], [1.0, np.nan]), [[1.0, 1.0], [1.0, 1.0]]),
    ("max ties share", lambda x: x.max(), lambda x: x.amax(), ([1.0, 3.0, 3.0],), [[0.0, 0.5, 0.5]]),
    ("max with indices picks the first", lambda x: x.max(axis=0, return_indices=True)[0],
     lambda x: x.max(dim=0).values, ([1.0, 3.0, 3.0],), [[0.0, 1.0, 0.0]]),
    ("prod with zeros", lambda x: x.prod(axis=1), lambda x: x.prod(dim=1),
     ([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [1.0, 2.0, 3.0]],), [[[0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]]]),
    ("std of a constant", lambda x: x.std(), lambda x: x.std(correction=0), ([2.0, 2.0, 2.0],), [[0.0, 0.0, 0.0]]),
    ("pow base 0", lambda a, b: a**b, lambda a, b: a**b, ([0.0, 0.0, 2.0], [2.0, 0.0, 0.5]), None),
    ("sigmoid at +-1000", lambda x: x.sigmoid(), lambda x: x.sigmoid(), ([-1000.0, 0.0, 1000.0],),
     [[0.0, 0.25, 0.0]]),
    ("tanh at +-1000", lambda x: x.tanh(), lambda x: x.tanh(), ([-1000.0, 0.0, 1000.0],), [[0.0, 1.0, 0.0]]),
])
def test_boundary_inputs_match_torch(name, fn, torch_fn, values, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # infinite slopes are answers, not warnings
        mine, out = grads_of(fn, *values)
    theirs, torch_out = torch_grads_of(torch_fn, *values)
    np.testing.assert_array_equal(out, torch_out)
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m, t)
    if expected is not None:
        for m, e in zip(mine, expected):
            np.testing.assert_array_equal(m, e)


def test_sigmoid_is_finite_and_exact_at_the_extremes():
    x = np.array([-745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 745.0])
    out = Tensor(x).sigmoid().data
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    np.testing.assert_allclose(out[2:5], 1 / (1 + np.exp(-x[2:5])), rtol=1e-15)
    assert out[-1] == 1.0 and out[0] < 1e-300


def test_argmax_argmin_give_integers_and_no_graph():
    t = Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    for result, expected in ((t.argmax(), 3), (t.argmax(axis=1), [1, 0]), (t.argmin(axis=0), [0, 1, 0])):
        assert result.dtype.kind == "i" and not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)
    values, indices = t.max(axis=1, return_indices=True)
    np.testing.assert_array_equal(indices.data, [1, 0])
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    with pytest.raises(TypeError, match="return_indices needs one int axis"):
        t.max(return_indices=True)


def test_comparisons_give_boolean_tensors_outside_the_graph():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in ((t > 2, [0, 0, 1]), (t >= 2, [0, 1, 1]), (t < 2, [1, 0, 0]),
                             (t <= Tensor(2.0), [1, 1, 0])):
        assert result.dtype == bool and not result.requires_grad
        np.testing.assert_array_equal(result.data, np.array(expected, bool))
    assert (t == t) is True  # identity: tensors stay usable as dict keys


@pytest.mark.parametrize("call", [
    lambda t: np.maximum(t, 0), lambda t: np.minimum(t, 1.0), lambda t: np.where(t.data > 0, t, 0.0),
    lambda t: np.concatenate([t, t * 2]), lambda t: np.stack([t, t]), lambda t: np.tanh(t), lambda t: np.sqrt(t * t),
    lambda t: np.abs(t), lambda t: np.prod(t), lambda t: np.min(t), lambda t: np.var(t, ddof=1), lambda t: np.std(t),
    lambda t: np.expand_dims(t, 0), lambda t: np.swapaxes(t.reshape(2, 2), 0, 1), lambda t: np.pad(t, 1),
    lambda t: np.broadcast_to(t, (3, 4)), lambda t: np.square(t), lambda t: np.power(2.0, t), lambda t: np.log1p(t * t),
])
def test_numpy_calls_of_the_new_ops_record_tensors(call):
    t = Tensor([0.5, -1.5, 2.0, 0.25], requires_grad=True)
    out = call(t)
    assert isinstance(out, Tensor) and out.requires_grad
    out.backward(np.ones(out.shape))
    assert t.grad is not None and np.all(np.isfinite(t.grad))
    assert gradcheck(call, [Tensor([0.5, -1.5, 2.0, 0.25], requires_grad=True)])


# ------------------------------------------------------------------- hypothesis over shapes

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@given(shape=shapes, data=st.data())
def test_elementwise_ops_keep_shape_and_gradient_on_any_shape(shape, data):
    values = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    for op in ("relu", "sigmoid", "tanh", "abs"):
        t = Tensor(values, requires_grad=True)
        out = getattr(t, op)()
        assert out.shape == shape
        out.backward(np.ones(shape))
        assert t.grad.shape == shape and np.all(np.isfinite(t.grad))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_reductions_match_numpy_on_any_shape_and_axis(shape, data):
    values = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    t = Tensor(values, requires_grad=True)
    for name in ("min", "prod", "std"):
        out = getattr(t, name)(axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, getattr(np, name)(values, axis=axis, keepdims=keepdims), rtol=1e-12)
    concatenated = tg.concatenate([t, t], axis=axis)
    assert concatenated.shape == np.concatenate([values, values], axis=axis).shape
    concatenated.backward(np.ones(concatenated.shape))
    np.testing.assert_array_equal(t.grad, np.full(shape, 2.0))


# -------------------------------------------------------------------------- losses

LOSS_KWARGS = [dict(), dict(weight=True), dict(ignore_index=3), dict(label_smoothing=0.2),
               dict(weight=True, ignore_index=3, label_smoothing=0.3)]


@pytest.mark.parametrize("kwargs", LOSS_KWARGS, ids=lambda k: ",".join(k) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_options_match_torch(kwargs, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    z, labels, w = rng.standard_normal((6, 4)) * 3, np.array([0, 3, 1, 2, 3, 1]), rng.uniform(0.5, 2, 4)
    ours_kw = {**kwargs, "weight": w} if kwargs.get("weight") else dict(kwargs)
    x = Tensor(z, requires_grad=True)
    out = F.cross_entropy(x, labels, reduction=reduction, **ours_kw)
    tx = torch.tensor(z, requires_grad=True)
    torch_kw = {k: torch.tensor(v) if k == "weight" else v for k, v in ours_kw.items()}
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(labels), reduction=reduction, **torch_kw)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.backward(np.ones(out.shape))
    tout.backward(torch.ones(tout.shape, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("kwargs", [dict(), dict(weight=True), dict(label_smoothing=0.25)], ids=str)
def test_cross_entropy_gradient_with_respect_to_a_probability_target(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    z, t, w = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3)), rng.uniform(0.5, 2, 3)
    ours_kw = {**kwargs, "weight": w} if kwargs.get("weight") else dict(kwargs)
    x, target = Tensor(z, requires_grad=True), Tensor(t, requires_grad=True)
    F.cross_entropy(x, target, **ours_kw).backward()
    tx, ttarget = torch.tensor(z, requires_grad=True), torch.tensor(t, requires_grad=True)
    torch_kw = {k: torch.tensor(v) if k == "weight" else v for k, v in ours_kw.items()}
    torch.nn.functional.cross_entropy(tx, ttarget, **torch_kw).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-11)
    np.testing.assert_allclose(target.grad, ttarget.grad.numpy(), rtol=1e-11)


def test_cross_entropy_option_errors():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(z, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(z, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        F.cross_entropy(z, np.array([0, -100]), ignore_index=None)
    assert np.isnan(F.cross_entropy(z, np.array([-100, -100])).item())  # all ignored: nan, as torch


@pytest.mark.parametrize("kwargs", [dict(), dict(pos_weight=True), dict(weight=True)], ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits_matches_torch_for_large_logits(kwargs, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    z, t = rng.standard_normal((4, 3)) * 40, rng.uniform(0, 1, (4, 3))
    extra = {"pos_weight": rng.uniform(0.5, 2, 3)} if kwargs.get("pos_weight") else {}
    extra.update({"weight": rng.uniform(0.5, 2, (4, 3))} if kwargs.get("weight") else {})
    x, target = Tensor(z, requires_grad=True), Tensor(t, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, target, reduction=reduction, **extra)
    tx, ttarget = torch.tensor(z, requires_grad=True), torch.tensor(t, requires_grad=True)
    tout = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, ttarget, reduction=reduction, **{k: torch.tensor(v) for k, v in extra.items()})
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.backward(np.ones(out.shape))
    tout.backward(torch.ones(tout.shape, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(target.grad, ttarget.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    p, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = Tensor(p, requires_grad=True)
    out = F.mse_loss(x, t, reduction=reduction)
    tx = torch.tensor(p, requires_grad=True)
    tout = torch.nn.functional.mse_loss(tx, torch.tensor(t), reduction=reduction)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-13)
    out.backward(np.ones(out.shape))
    tout.backward(torch.ones(tout.shape, dtype=torch.float64))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-13)


def test_shape_op_errors_name_the_op():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"^squeeze: .*\(tensor shape \(2, 3\)\)"):
        t.squeeze(0)
    with pytest.raises(ValueError, match=r"^concatenate: "):
        tg.concatenate([t, Tensor(np.ones((2, 2)))], axis=0)
    with pytest.raises(ValueError, match=r"^stack: all tensors must have one shape"):
        tg.stack([t, Tensor(np.ones((2, 2)))])
    with pytest.raises(ValueError, match=r"^pad: widths must be >= 0"):
        t.pad(-1)
    with pytest.raises(ValueError, match=r"^broadcast_to: "):
        t.broadcast_to((3, 3))
    with pytest.raises(TypeError, match=r"^where: the condition must be boolean"):
        tg.where(np.ones((2, 3)), t, 0.0)
    with pytest.raises(ValueError, match=r"^std: ddof=3 leaves no degrees of freedom"):
        t.std(axis=1, ddof=3)
