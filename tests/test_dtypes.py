"""dtype fidelity: float32 stays float32 end to end (values and grads), float64 stays float64,
mixtures follow numpy's promotion (NEP 50: Python numbers are weak, numpy scalars are not)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F
from tinygrad_softmax.datasets import make_seed_data
from tinygrad_softmax.nn import SoftmaxClassifier, fit

rng = np.random.default_rng(0)

UNARY = {
    "neg": lambda t: -t,
    "exp": lambda t: t.exp(),
    "log": lambda t: t.log(),
    "pow2": lambda t: t**2,
    "pow_half": lambda t: t**0.5,
    "sum": lambda t: t.sum(axis=1),
    "mean": lambda t: t.mean(),
    "max": lambda t: t.max(axis=0, keepdims=True),
    "reshape": lambda t: t.reshape(-1),
    "transpose": lambda t: t.T,
    "getitem": lambda t: t[np.array([0, 0, 1]), 1:],
    "clip": lambda t: t.clip(0.5, 1.5),
    "softmax": lambda t: F.softmax(t),
    "log_softmax": lambda t: F.log_softmax(t, axis=0),
    "logsumexp": lambda t: F.logsumexp(t),
    "cross_entropy": lambda t: F.cross_entropy(t, np.array([0, 2])),
    "cross_entropy_probabilities": lambda t: F.cross_entropy(t, np.full((2, 3), 1 / 3)),
    "fused_cross_entropy": lambda t: F.softmax_cross_entropy(t, np.array([0, 2])),
    "categorical_crossentropy": lambda t: F.categorical_crossentropy(np.eye(3)[[0, 2]], F.softmax(t)),
}
WITH_SCALARS = {
    "add": lambda t: t + 1.5,
    "radd": lambda t: 2 + t,
    "sub": lambda t: t - 0.25,
    "rsub": lambda t: 1 - t,
    "mul": lambda t: t * 3,
    "rmul": lambda t: 0.5 * t,
    "div": lambda t: t / 7.0,
    "rdiv": lambda t: 1 / t,
    "matmul": lambda t: t @ t.T,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(UNARY) + list(WITH_SCALARS))
def test_dtype_is_kept_through_every_op_and_its_gradient(name, dtype):
    fn = {**UNARY, **WITH_SCALARS}[name]
    x = Tensor(rng.uniform(0.5, 2.0, (2, 3)).astype(dtype), requires_grad=True)
    out = fn(x)
    assert out.dtype == dtype, f"{name}: output {out.dtype}"
    out.backward(np.ones(out.shape, dtype=dtype))
    assert x.grad.dtype == dtype, f"{name}: grad {x.grad.dtype}"
    assert out.grad.dtype == dtype


def test_mixing_precisions_follows_numpy():
    f32 = Tensor(np.ones(3, np.float32), requires_grad=True)
    f64 = Tensor(np.ones(3), requires_grad=True)
    out = f32 * f64
    assert out.dtype == np.result_type(np.float32, np.float64) == np.float64
    out.sum().backward()
    assert f32.grad.dtype == np.float32 and f64.grad.dtype == np.float64  # each grad in its input's dtype
    assert (f32 * np.float64(2.0)).dtype == np.float64  # numpy scalars are strong (NEP 50)
    assert (f32 * np.float32(2.0)).dtype == np.float32
    assert (f32 * np.ones(3, np.float64)).dtype == np.float64


def test_integer_data_promotes_with_float_tensors():
    ints = Tensor(np.array([1, 2, 3]))
    assert ints.dtype.kind == "i" and not ints.requires_grad
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    out = (w * ints).sum()
    assert out.dtype == np.result_type(np.float32, np.int64)
    out.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [1, 2, 3])
    assert (ints + 0.5).dtype == np.float64  # int tensor + Python float -> float64, as numpy
    assert (Tensor(np.array([1, 2], np.int8)) + 1).dtype == np.int8  # weak Python int


def test_classifier_and_optimisers_train_in_float32():
    X, y = make_seed_data(num_samples=12, seed=0)
    for optimizer in ("sgd", "adam"):
        model = SoftmaxClassifier(4, 3, seed=0, dtype=np.float32)
        fit(model, X, y, epochs=2, lr=0.01, optimizer=optimizer, progress=False)
        assert model.W.dtype == np.float32
        logits = model(X.astype(np.float32))
        assert logits.dtype == np.float32
        loss = F.cross_entropy(logits, y)
        loss.backward()
        assert loss.dtype == np.float32 and model.W.grad.dtype == np.float32
