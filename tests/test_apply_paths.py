"""Function.apply and the fast paths Tensor's methods use (apply_unary, apply_binary) record the same node."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor, detect_anomaly, no_grad, ops, scope
from tinygrad_softmax.function import apply_binary, apply_unary

x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
c = Tensor(np.array([0.5, 0.25, 2.0]))
f32 = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)


def node(t):
    ctx = t._ctx
    described = {"data": t.data.tolist(), "dtype": t.dtype, "requires_grad": t.requires_grad}
    if ctx is not None:
        parents = [id(p) if isinstance(p, Tensor) else (type(p), np.asarray(p).tolist()) for p in ctx._parents]
        described.update(op=type(ctx), parents=parents,
                         needs=ctx.needs_input_grad, args=t.op_args, scope=t.scope)
    return described


BINARY = [(x, 2.0), (2.0, x), (x, c), (c, x), (x, x), (c, 3), (f32, 0.5), (3, f32)]


@pytest.mark.parametrize("op", [ops.Add, ops.Sub, ops.Mul, ops.Div])
@pytest.mark.parametrize("a, b", BINARY)
def test_binary_fast_path_records_what_apply_records(op, a, b):
    assert node(apply_binary(op, a, b)) == node(op.apply(a, b))


@pytest.mark.parametrize("op, kwargs", [(ops.Exp, {}), (ops.Sum, {"axis": 0, "keepdims": True}),
                                        (ops.GetItem, {"index": 1}), (ops.Pow, {"exponent": 2})])
@pytest.mark.parametrize("t", [x, c, f32])
def test_unary_fast_path_records_what_apply_records(op, kwargs, t):
    assert node(apply_unary(op, t, **kwargs)) == node(op.apply(t, **kwargs))


def test_fast_paths_agree_under_no_grad_scope_and_anomaly():
    for block in (no_grad, lambda: scope("s", label="d"), detect_anomaly):
        with block():
            fast = [apply_binary(ops.Mul, x, 2.0), apply_unary(ops.Exp, x)]
            general = [ops.Mul.apply(x, 2.0), ops.Exp.apply(x)]
        for a, b in zip(fast, general):
            first, second = node(a), node(b)
            if first.get("scope") is not None:  # two different Scope frames of the same name
                assert (first.pop("scope").name, second.pop("scope").name) == ("s", "s")
            assert first == second


def test_fast_paths_fall_back_to_apply_for_other_inputs():
    assert node(apply_binary(ops.Add, x, [1.0, 1.0, 1.0])) == node(ops.Add.apply(x, [1.0, 1.0, 1.0]))
    assert node(apply_unary(ops.Exp, [0.0, 1.0])) == node(ops.Exp.apply([0.0, 1.0]))
