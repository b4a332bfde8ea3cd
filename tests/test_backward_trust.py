"""What backward must guarantee (issue 11): array gradients, all-or-nothing passes, no lost updates.

Each test fails on the engine before issue 11 (tinygrad_softmax 0.1) and passes now.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor


class Relu(Function):
    """A user op, as in a micrograd port: max(x, 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0)


def assert_grad_is_an_array_like(t):
    assert type(t.grad) is np.ndarray, type(t.grad)
    assert t.grad.shape == t.shape and t.grad.dtype == t.dtype


# --------------------------------------------------------------- 0-d gradients


@pytest.mark.parametrize("build", [
    lambda h: h * 2 + h * 3,
    lambda h: h * h,
    lambda h: (h + h) * h,
    lambda h: Relu.apply(h * h + h),
], ids=["sum of two paths", "square", "diamond", "user op after a sum"])
def test_a_0d_tensor_reached_along_several_paths_gets_a_0d_array_grad(build):
    x = Tensor(-4.0, requires_grad=True)
    h = Relu.apply(x * -1.0)  # a user op whose output is 0-d and used twice
    out = build(h)
    out.backward()
    for t in (x, h, out):
        assert_grad_is_an_array_like(t)


def test_a_micrograd_style_scalar_expression_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = Tensor(-4.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + Relu.apply(b + a)
    d = d + 3 * d + Relu.apply(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-4.0, 2.0))
    tc = ta + tb
    td = ta * tb + tb**3
    tc = tc + tc + 1
    tc = tc + 1 + tc + (-ta)
    td = td + td * 2 + (tb + ta).relu()
    td = td + 3 * td + (tb - ta).relu()
    tg = ((tc - td) ** 2) / 2.0
    tg = tg + 10.0 / ((tc - td) ** 2)
    tg.backward()
    assert abs(g.item() - tg.item()) < 1e-10
    np.testing.assert_allclose([a.grad, b.grad], [ta.grad.item(), tb.grad.item()], rtol=1e-12)
    assert_grad_is_an_array_like(a)


@pytest.mark.parametrize("reduce", [lambda t: t.sum(), lambda t: t.mean(), lambda t: t.max(), lambda t: t[0, 1]])
def test_reductions_to_0d_give_0d_arrays(reduce):
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = reduce(t)
    assert type(out.data) is np.ndarray and out.shape == ()
    (out * out).backward()
    assert_grad_is_an_array_like(out)


# ------------------------------------------------------ an interrupted pass changes nothing


class InterruptOnce(Function):
    """Identity whose first backward is interrupted, as Ctrl-C would interrupt a long pass."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        InterruptOnce.calls += 1
        if InterruptOnce.calls == 1:
            raise KeyboardInterrupt
        return grad


def chain_with_a_leaf_part_way(length=50):
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x
    middle = None
    for i in range(length):
        h = h * 1.0
        if i == length // 2:
            middle = Tensor([0.5, 0.5], requires_grad=True, name="middle")  # created part-way
            h = InterruptOnce.apply(h + middle)
    return x, middle, h.sum()


def all_grads(loss):
    seen, stack, grads = set(), [loss], {}
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            grads[id(t)] = None if t.grad is None else t.grad.copy()
            stack.extend(t.parents)
    return grads


def same(first, second):
    return first.keys() == second.keys() and all(
        (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
        for a, b in zip(first.values(), (second[k] for k in first)))


def test_an_interrupted_backward_leaves_every_grad_as_it_was_and_a_retry_is_right():
    InterruptOnce.calls = 0
    x, middle, loss = chain_with_a_leaf_part_way()
    before = all_grads(loss)
    with pytest.raises(KeyboardInterrupt):
        loss.backward()
    assert same(before, all_grads(loss))  # nothing half-added anywhere
    loss.backward()  # the retry
    np.testing.assert_array_equal(middle.grad, [1.0, 1.0])  # not 2.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_an_interrupted_second_backward_keeps_the_first_ones_gradients():
    InterruptOnce.calls = -1  # the first pass runs, the second is interrupted
    _, _, loss = chain_with_a_leaf_part_way()
    loss.backward()
    after_first = all_grads(loss)
    with pytest.raises(KeyboardInterrupt):
        loss.backward()
    assert same(after_first, all_grads(loss))


def test_an_error_while_adding_to_grad_undoes_the_additions_already_made():
    class Explodes:
        """A .grad set by hand to something that cannot be added to."""

        def __add__(self, other):
            raise KeyboardInterrupt

        __radd__ = __add__

    w = Tensor([1.0, 2.0], requires_grad=True)
    y = w * 3.0
    out = y.sum()
    out.backward()
    before = {"w": w.grad.copy(), "y": y.grad.copy(), "out": out.grad.copy()}
    w.grad = Explodes()  # the leaf is added to last, after y and out
    with pytest.raises(KeyboardInterrupt):
        out.backward()
    np.testing.assert_array_equal(y.grad, before["y"])
    np.testing.assert_array_equal(out.grad, before["out"])
    assert isinstance(w.grad, Explodes)


# --------------------------------------------------------- concurrent passes lose nothing


def test_backward_in_eight_threads_into_one_shared_leaf_loses_no_update():
    W = Tensor(np.zeros(100_000), requires_grad=True)
    calls, threads = 100, 8
    barrier = threading.Barrier(threads)
    errors = []

    def work(seed):
        try:
            c = np.random.default_rng(seed).integers(1, 4)  # each thread adds its own whole number
            out = (W * float(c)).sum()
            barrier.wait()
            for _ in range(calls):
                out.backward()
            work.added[seed] = c * calls
        except Exception as error:
            errors.append(error)

    work.added = {}
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    expected = float(sum(work.added.values()))
    np.testing.assert_array_equal(W.grad, np.full(100_000, expected))
