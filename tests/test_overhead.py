"""Regression guard for the engine's per-op overhead, without timing anything.

benchmarks/run.py measures time; timings are too noisy for CI on a shared machine. What
makes an op slow in this engine is Python work per op, so these tests count it exactly:
Python-level function calls (``sys.setprofile``) per recorded op and per backward node,
and the bytes each recorded op keeps alive (``tracemalloc``). The bounds are the counts
measured when the hot path was tuned (CPython 3.11, numpy 2.4: see docs/performance.md).
A change that adds a call per op fails here; a change that removes one should lower the
bound. Newer Pythons inline comprehensions, so they can only count fewer calls.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections import Counter

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor
from tinygrad_softmax import functional as F
from tinygrad_softmax.nn import SoftmaxClassifier
from tinygrad_softmax.optim import SGD


def python_calls(fn, *args) -> Counter:
    """Python functions entered while fn(*args) runs, by ``module:function`` (fn itself excluded)."""
    calls: Counter = Counter()
    own_code = fn.__code__

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is not own_code:
            module = frame.f_code.co_filename.replace("\\", "/").rsplit("/", 1)[-1]
            calls[f"{module}:{frame.f_code.co_name}"] += 1

    # A garbage collection during fn would run other libraries' gc callbacks (hypothesis
    # registers one) and count them as ours: collect first and hold collection off.
    gc.collect()
    gc.disable()
    sys.setprofile(profile)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
        gc.enable()
    return calls


def numpy_wrappers(calls: Counter) -> list[str]:
    """The numpy functions written in Python among `calls` (np.sum, np.mean... cost 1-3 us each)."""
    numpy_modules = ("fromnumeric.py", "_methods.py", "numeric.py", "shape_base.py", "_shape_base_impl.py",
                     "_stride_tricks_impl.py", "function_base.py", "_function_base_impl.py")
    return sorted(name for name in calls if name.split(":")[0] in numpy_modules)


@pytest.fixture
def x():
    return Tensor(np.ones(4), requires_grad=True)


# Python calls per recorded op, forward, as measured (CPython 3.11, numpy 2.4): the method, the
# engine's apply, forward, and save_for_backward where the op saves; a margin of one call each.
FORWARD_CALLS = {
    "exp": (lambda x, c: x.exp(), 4),
    "mul by a Python float": (lambda x, c: x * 0.5, 4),
    "add two tensors": (lambda x, c: x + c, 3),
    "sum over an axis": (lambda x, c: x.sum(axis=0), 4),
    "mean": (lambda x, c: x.mean(), 4),
    "slice": (lambda x, c: x[1:], 3),
    "matmul": (lambda x, c: x @ c, 4),
}
MARGIN = 1


@pytest.mark.parametrize("name", list(FORWARD_CALLS))
def test_python_calls_per_recorded_op(name, x):
    op, measured = FORWARD_CALLS[name]
    c = Tensor(np.full(4, 2.0), requires_grad=True)
    calls = python_calls(op, x, c)
    bound = measured + MARGIN
    assert sum(calls.values()) <= bound, f"{name}: {sum(calls.values())} Python calls, bound {bound}: {dict(calls)}"
    assert numpy_wrappers(calls) == [], f"{name} calls numpy's Python wrappers: {numpy_wrappers(calls)}"


def test_python_calls_per_backward_node(x):
    """One Python call per node, the op's backward; a chain needs no heap, no helper per node."""
    h = x
    for _ in range(100):
        h = (h * 0.5 + 0.25).exp().log()
    out = h.sum()
    nodes = 4 * 100 + 1
    calls = python_calls(out.backward)
    # the pass itself, the seed, Sum's backward helpers and a few first-time caches: 14 more, margin 10
    assert sum(calls.values()) <= nodes + 14 + 10, dict(calls)
    assert max(calls.values()) <= nodes, dict(calls)  # nothing else is called once per node


def w1_step(loss_fn):
    """One SGD step of benchmark W1: 4 features + bias, 3 classes, one sample."""
    model = SoftmaxClassifier(4, 3, seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    sample, label = np.array([0.5, -1.0, 2.0, 0.1]), np.array(2)

    def step():
        loss = loss_fn(model(sample), label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm: first calls may import or cache
    return step


@pytest.mark.parametrize(
    "loss_fn, measured",
    # composite: 13 ops (4 in the model, 9 in cross_entropy); fused: 5 ops; margin 10%
    [(F.cross_entropy, 161), (F.softmax_cross_entropy, 61)],
    ids=["composite", "fused"],
)
def test_python_calls_per_w1_step(loss_fn, measured):
    bound = int(measured * 1.1)
    calls = python_calls(w1_step(loss_fn))
    assert sum(calls.values()) <= bound, f"{sum(calls.values())} Python calls per W1 step, bound {bound}: {dict(calls)}"
    # What is left of numpy's Python layer in a step: the label check (.any / .all) and
    # the one broadcast that is undone (grad.sum); np.sum, np.mean, np.max,
    # np.broadcast_to, np.expand_dims and np.ones_like are gone from the hot path.
    allowed = {"_methods.py:_any", "_methods.py:_all", "_methods.py:_sum"}
    assert set(numpy_wrappers(calls)) <= allowed, numpy_wrappers(calls)


def test_bytes_kept_alive_per_recorded_op():
    """A recorded op keeps its output Tensor, Context, saved arrays and parents: ~610 bytes here.

    Bound 700 leaves room for other CPython builds' object sizes; constants used to be
    wrapped in a Tensor each (+110 bytes per op with one) before Tensor.parents did it lazily.
    """
    x = Tensor(np.ones(1), requires_grad=True)

    def chain(cycles):
        h = x
        for _ in range(cycles):
            h = (h * 0.5 + 0.25).exp().log()
        return h

    chain(10)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = chain(250)
        per_op = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert kept.requires_grad
    assert per_op <= 700, f"{per_op:.0f} bytes kept alive per recorded op"


# ------------------------------------------------ .grad arrays are stored without needless copies, safely


def test_gradients_stored_without_copy_share_nothing(rng):
    """Every way a backward can hand out an array that is also reachable elsewhere."""

    saved = {}

    class ReturnsSaved(Function):
        """Returns an array it keeps in ctx: stored as is, a later += would corrupt ctx."""

        @staticmethod
        def forward(ctx, x):
            ctx.ones = np.ones_like(x)
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            saved["array"] = ctx.ones
            return ctx.ones

    class ReturnsGlobal(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return saved.setdefault("global", np.full(grad.shape, 2.0))

    a = Tensor(rng.standard_normal(3), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    s = a + b  # the same array to both inputs
    e = s.exp()  # a fresh array: kept without a copy
    v = e.reshape(3, 1).T  # backward hands out views of the gradients it gets
    r = ReturnsSaved.apply(v.reshape(3))
    g = ReturnsGlobal.apply(r)
    out = (g * 1.0 + e).sum()
    out.backward()
    out.backward()  # the second pass adds to every .grad
    tensors = [a, b, s, e, v, r, g, out]
    for i, first in enumerate(tensors):
        assert first.grad.flags.owndata and first.grad.flags.writeable
        for second in tensors[i + 1 :]:
            assert not np.shares_memory(first.grad, second.grad)
        for value in saved.values():
            assert not np.shares_memory(first.grad, value)
    np.testing.assert_array_equal(saved["global"], 2.0)  # the += never wrote into it
    np.testing.assert_array_equal(saved["array"], 1.0)
    np.testing.assert_allclose(a.grad, b.grad)
    np.testing.assert_allclose(a.grad, 2 * 2 * np.exp(s.data))  # two passes, de/ds = e, dL/de = 1 + 1
