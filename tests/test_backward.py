"""Backward-pass semantics: what lands in .grad, accumulation, memory, deep graphs, freeing, no_grad."""

import gc
import itertools
import sys
import threading
import weakref

import numpy as np
import pytest

from tinygrad_softmax import Tensor, enable_grad, is_grad_enabled, no_grad

# --------------------------------------------------------- leaves and intermediates


def _small_graph(rng):
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True, name="W")
    x = Tensor(rng.standard_normal(4), name="x")
    z = W @ x
    e = z.exp()
    L = (e * e).sum()
    return W, x, z, e, L


def test_leaves_and_intermediates_receive_their_gradients(rng):
    W, x, z, e, L = _small_graph(rng)
    L.backward()
    E = np.exp(W.data @ x.data)
    np.testing.assert_allclose(L.grad, 1.0)
    np.testing.assert_allclose(e.grad, 2 * E, rtol=1e-14)  # dL/de
    np.testing.assert_allclose(z.grad, 2 * E * E, rtol=1e-14)  # dL/dz
    np.testing.assert_allclose(W.grad, np.outer(2 * E * E, x.data), rtol=1e-14)
    assert x.grad is None  # does not require grad


def test_backward_on_a_one_element_non_scalar_defaults_to_one():
    w = Tensor([[2.0]], requires_grad=True)
    out = w * 3.0
    out.backward()
    np.testing.assert_array_equal(w.grad, [[3.0]])


def test_backward_of_a_leaf_itself():
    w = Tensor(5.0, requires_grad=True)
    w.backward()
    assert w.grad == 1.0


@pytest.mark.parametrize("kind", ["ndarray", "list", "Tensor"])
def test_backward_accepts_array_likes(kind):
    w = Tensor(np.ones(2), requires_grad=True)
    out = w * np.array([3.0, 4.0])
    grad = {"ndarray": np.array([1.0, 2.0]), "list": [1.0, 2.0], "Tensor": Tensor([1.0, 2.0])}[kind]
    out.backward(grad)
    np.testing.assert_array_equal(w.grad, [3.0, 8.0])


# -------------------------------------------------------------- accumulation


def test_gradients_accumulate_across_calls():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * 3.0).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0 + 2.0, 3.0 + 4.0])


def _graph_with_reuse(rng):
    """A node (h) used twice, and a leaf (x) used three times."""
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    h = x.exp()
    y = h * x + h.sum() * x
    L = (y * y).sum()
    return x, h, y, L


@pytest.mark.parametrize("build", ["small", "reuse"])
def test_backward_twice_gives_exactly_twice_the_gradient(rng, build):
    if build == "small":
        tensors = _small_graph(rng)
        W, _, z, e, L = tensors
        watched = [W, z, e, L]
    else:
        x, h, y, L = _graph_with_reuse(rng)
        watched = [x, h, y, L]
    L.backward()
    once = [t.grad.copy() for t in watched]
    L.backward()
    for t, g in zip(watched, once):
        np.testing.assert_allclose(t.grad, 2 * g, rtol=1e-14, atol=0)


def test_backward_twice_with_explicit_upstream(rng):
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = x.exp() * x
    g = rng.standard_normal((2, 3))
    y.backward(g)
    once_x, once_y = x.grad.copy(), y.grad.copy()
    y.backward(g)
    np.testing.assert_allclose(x.grad, 2 * once_x, rtol=1e-14)
    np.testing.assert_allclose(y.grad, 2 * once_y, rtol=1e-14)


def test_x_times_x_gives_2x():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])


def test_diamond_graph_sums_both_paths():
    # x -> a = 2x, b = x^2 (x used twice), s = a * b shares nothing; then c = s + s (s used twice)
    x = Tensor(3.0, requires_grad=True)
    a = x * 2.0
    b = x**2
    s = a * b  # 2x^3
    c = s + s  # 4x^3
    L = c * a  # 8x^4
    L.backward()
    np.testing.assert_allclose(x.grad, 32 * 3.0**3)  # d(8x^4) = 32x^3
    np.testing.assert_allclose(s.grad, 2 * a.data)
    np.testing.assert_allclose(a.grad, b.data * s.grad + c.data)


def test_shared_subexpression_across_matrix_ops(rng):
    X = rng.standard_normal((3, 4))
    x = Tensor(X, requires_grad=True)
    shared = x.exp()
    L = (shared.sum(axis=0) * shared.max(axis=0)).sum() + (shared @ x.T).sum()
    L.backward()

    def f(X):
        S = np.exp(X)
        return float((S.sum(axis=0) * S.max(axis=0)).sum() + (S @ X.T).sum())

    numeric = np.zeros_like(X)
    for i in np.ndindex(*X.shape):
        d = np.zeros_like(X)
        d[i] = 1e-6
        numeric[i] = (f(X + d) - f(X - d)) / 2e-6
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-8)


def test_zero_grad_resets_for_the_next_pass():
    x = Tensor([1.0, 2.0], requires_grad=True)
    L = (x * x).sum()
    L.backward()
    x.zero_grad()
    L.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_branches_that_do_not_reach_the_output_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    unused = x.exp()
    (x * 2.0).sum().backward()
    assert unused.grad is None


# -------------------------------------------------------------------- memory


def test_grads_never_share_memory_and_inputs_are_not_mutated(rng):
    a = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = Tensor(rng.standard_normal(3), requires_grad=True)
    inputs_before = [t.data.copy() for t in (a, b, c)]
    s = a + b  # add hands the same upstream array to both inputs
    r = s.reshape(3, 2).T  # views of the gradient
    t = r + c[::-1]  # broadcast, and a basic-index view
    u = t.sum(axis=0)  # backward gives a broadcast view
    out = u + c
    g = rng.standard_normal(3)
    g_before = g.copy()
    out.backward(g)

    tensors = [a, b, c, s, r, t, u, out]
    grads = [x.grad for x in tensors]
    for grad, x in zip(grads, tensors):
        assert grad is not None and grad.shape == x.shape
        assert grad.flags.writeable and grad.flags.owndata
    for (i, g1), (j, g2) in itertools.combinations(enumerate(grads), 2):
        assert not np.shares_memory(g1, g2), (i, j)
    for grad in grads:
        assert not np.shares_memory(grad, g)
        for x in tensors:
            assert not np.shares_memory(grad, x.data)
    np.testing.assert_array_equal(g, g_before)
    for x, before in zip((a, b, c), inputs_before):
        np.testing.assert_array_equal(x.data, before)

    # accumulating a second pass must not write through to anything else either
    out.backward(g)
    np.testing.assert_array_equal(g, g_before)
    np.testing.assert_allclose(a.grad, b.grad)
    for x, before in zip((a, b, c), inputs_before):
        np.testing.assert_array_equal(x.data, before)


def test_upstream_gradient_of_matching_dtype_is_not_mutated_or_aliased():
    x = Tensor(np.ones(4), requires_grad=True)
    y = x * 1.0
    g = np.arange(4.0)
    y.backward(g)
    y.backward(g)
    np.testing.assert_array_equal(g, np.arange(4.0))
    assert not np.shares_memory(y.grad, g) and not np.shares_memory(x.grad, g)
    np.testing.assert_array_equal(y.grad, 2 * g)


def test_saved_arrays_are_not_mutated_by_backward(rng):
    A = rng.standard_normal((3, 3))
    a = Tensor(A, requires_grad=True)
    out = (a * a).exp() / a.sum()
    out.backward(np.ones((3, 3)))
    out.backward(np.ones((3, 3)))
    np.testing.assert_array_equal(a.data, A)


# ---------------------------------------------------------------- deep graphs


def test_chain_of_100000_ops_under_default_recursion_limit():
    limit = sys.getrecursionlimit()
    assert limit < 100_000, "the test is meaningless with a raised recursion limit"
    x = Tensor(1.0, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 1.0 if i % 2 else y + 0.0
    y.backward()
    assert x.grad == 1.0
    assert sys.getrecursionlimit() == limit
    del y  # freeing a deep chain must not crash either


# -------------------------------------------------------------------- freeing


def _build_graph(x):
    W = Tensor(np.full((3, 2), 0.5), requires_grad=True)
    z = W @ x
    e = (z - z.max().detach()).exp()
    a = e / e.sum()
    L = -(a.log() * np.array([0.0, 1.0, 0.0])).sum()
    nodes = [W, z, e, a, L, *a.parents, *L.parents]
    return L, [weakref.ref(t) for t in nodes], weakref.ref(a._ctx)


@pytest.mark.parametrize("run_backward", [False, True])
def test_dropping_the_output_frees_the_graph_by_refcount(run_backward):
    gc.disable()
    try:
        x = Tensor([1.0, -1.0], requires_grad=True)
        L, refs, ctx_ref = _build_graph(x)
        assert all(r() is not None for r in refs)
        if run_backward:
            L.backward()
            assert x.grad is not None
        del L
        alive = [r() for r in refs if r() is not None]
        assert alive == [], f"{len(alive)} graph tensors outlived the output"
        assert ctx_ref() is None
        assert x.grad is None or x.grad.shape == (2,)  # the input itself is still ours
    finally:
        gc.enable()


def test_the_weakref_check_would_catch_a_cycle():
    """The method of the test above detects cycles: a tensor kept alive by one is reported."""
    gc.disable()
    try:
        t = Tensor([1.0], requires_grad=True) * 2.0
        ref = weakref.ref(t)
        cycle = [t]
        cycle.append(cycle)
        del t, cycle
        assert ref() is not None
    finally:
        gc.enable()
        gc.collect()
    assert ref() is None


# -------------------------------------------------------------------- errors


def test_backward_on_non_scalar_without_grad_raises():
    y = Tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="gradient must be given for non-scalar outputs"):
        y.backward()


@pytest.mark.parametrize("bad", [np.ones(4), np.ones((3, 1)), np.ones(1), np.array(1.0), np.ones((1, 3))])
def test_backward_with_wrongly_shaped_grad_raises(bad):
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    with pytest.raises((ValueError, RuntimeError), match="shape"):
        y.backward(bad)
    assert x.grad is None and y.grad is None


def test_backward_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match=r"requires? grad"):
        Tensor(2.0).backward()
    with pytest.raises(RuntimeError):
        (Tensor([1.0, 2.0]) * 3.0).sum().backward()


# -------------------------------------------------------------------- no_grad


def test_no_grad_context_records_nothing():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2.0).exp().sum()
    assert is_grad_enabled()
    assert y.requires_grad is False
    assert y.parents == () and y.is_leaf and y.op is None
    np.testing.assert_allclose(y.data, 3 * np.exp(2.0))
    with pytest.raises(RuntimeError):
        y.backward()


def test_no_grad_decorator():
    x = Tensor(np.ones(3), requires_grad=True)

    @no_grad()
    def update(t):
        """Docstring kept."""
        assert not is_grad_enabled()
        return t * 2.0

    y = update(x)
    assert not y.requires_grad and y.parents == ()
    assert is_grad_enabled()
    assert update.__name__ == "update" and update.__doc__ == "Docstring kept."
    assert (x * 2.0).requires_grad  # recording again outside


def test_no_grad_decorator_restores_state_after_exception():
    @no_grad()
    def boom():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        boom()
    assert is_grad_enabled()


def test_no_grad_nests_and_enable_grad_inside():
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        with no_grad():
            assert not (x * 1.0).requires_grad
        assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled()
            y = x * 3.0
        assert not is_grad_enabled()
        assert not (x * 1.0).requires_grad
    assert is_grad_enabled()
    assert y.requires_grad and y.parents[0] is x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_no_grad_state_restored_after_exception():
    with pytest.raises(ValueError):
        with no_grad():
            with enable_grad():
                with no_grad():
                    raise ValueError("inner")
    assert is_grad_enabled()
    with no_grad():
        with pytest.raises(ZeroDivisionError):
            with enable_grad():
                1 / 0  # noqa: B018
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_is_thread_local():
    x = Tensor(np.ones(3), requires_grad=True)
    barrier = threading.Barrier(2, timeout=10)
    results = {}
    errors = []

    def quiet_thread():
        try:
            with no_grad():
                barrier.wait()  # 1: both threads are running; this one is inside no_grad
                results["quiet"] = x * 2.0
                results["quiet_enabled"] = is_grad_enabled()
                barrier.wait()  # 2: the other thread has recorded while we are still inside
                results["quiet_after"] = x * 2.0
            results["quiet_restored"] = is_grad_enabled()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    def recording_thread():
        try:
            barrier.wait()  # 1
            results["recording"] = x * 3.0
            results["recording_enabled"] = is_grad_enabled()
            barrier.wait()  # 2
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=quiet_thread), threading.Thread(target=recording_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    assert results["quiet_enabled"] is False
    assert results["recording_enabled"] is True
    assert not results["quiet"].requires_grad and not results["quiet_after"].requires_grad
    assert results["recording"].requires_grad and results["recording"].parents[0] is x
    assert results["quiet_restored"] is True
    assert is_grad_enabled()  # the main thread was never affected


def test_no_grad_in_main_thread_does_not_leak_into_a_new_thread():
    seen = []
    with no_grad():
        worker = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        worker.start()
        worker.join(timeout=10)
    assert seen == [True]
