"""The public `grad()` (issue 12), `retain_graph`, `BackwardError`'s fields and `topological_order`."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import BackwardError, Function, Tensor, grad, no_grad
from tinygrad_softmax import functional as F
from tinygrad_softmax.viz import graph_nodes


def leaf(values, name=None):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True, name=name)


def test_grad_gives_the_gradients_and_touches_no_grad():
    x, w = leaf([1.0, 2.0, 3.0]), leaf([0.5, -1.0, 2.0])
    y = (w * x * x).sum()
    dx, dw = grad(y, [x, w])
    np.testing.assert_array_equal(dx, 2 * w.data * x.data)
    np.testing.assert_array_equal(dw, x.data**2)
    assert x.grad is None and w.grad is None and y.grad is None


def test_grad_equals_backward_on_the_classifier_and_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    W0, X, labels = rng.standard_normal((3, 5)), rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    W = leaf(W0)
    loss = F.cross_entropy(X @ W[:, :-1].T + W[:, -1], labels)
    (dW,) = grad(loss, W)
    loss.backward()
    np.testing.assert_array_equal(dW, W.grad)
    tW = torch.tensor(W0, requires_grad=True)
    torch.nn.functional.cross_entropy(torch.tensor(X) @ tW[:, :-1].T + tW[:, -1], torch.tensor(labels)).backward()
    np.testing.assert_allclose(dW, tW.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_grad_with_grad_outputs_and_several_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 3.0, x * x
    (dx,) = grad([a, b], x, grad_outputs=[np.array([1.0, 0.0]), np.array([0.0, 10.0])])
    np.testing.assert_array_equal(dx, [3.0, 40.0])
    (single,) = grad(a, x, np.array([2.0, 2.0]))  # one output: its gradient need not be in a list
    np.testing.assert_array_equal(single, [6.0, 6.0])


def test_grad_results_never_share_memory():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    s = a + b  # add hands the same array to both inputs
    ga, gb, gs = grad(s.sum(), [a, b, s])
    assert not np.shares_memory(ga, gb) and not np.shares_memory(ga, gs) and not np.shares_memory(gb, gs)
    ga += 100.0
    np.testing.assert_array_equal(gb, [1.0, 1.0])


def test_grad_refuses_inputs_it_cannot_answer_for():
    x, unused, constant = leaf([1.0]), leaf([2.0]), Tensor([3.0])
    y = (x * 2.0).sum()
    with pytest.raises(ValueError, match=r"grad: the outputs do not depend on inputs\[1\].*allow_unused=True"):
        grad(y, [x, unused])
    assert grad(y, [x, unused], allow_unused=True)[1] is None
    with pytest.raises(ValueError, match=r"grad: inputs\[0\] does not require grad"):
        grad(y, constant)
    with pytest.raises(TypeError, match=r"grad: inputs\[0\] is a ndarray, not a Tensor"):
        grad(y, np.ones(1))
    with pytest.raises(RuntimeError, match="grad: a gradient must be given for non-scalar outputs"):
        grad(x * np.ones(2), x)
    with pytest.raises(ValueError, match=r"grad: grad has shape \(2,\) but the tensor has shape \(1,\)"):
        grad(x * 2.0, x, np.ones(2))
    with no_grad():
        detached = x * 2.0
    with pytest.raises(RuntimeError, match="grad: this tensor does not require grad"):
        grad(detached.sum(), x)


def test_retain_graph_false_frees_saved_arrays_and_a_second_pass_says_so():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    (first,) = grad(y, x, retain_graph=False)
    np.testing.assert_allclose(first, np.exp(x.data) * (1 + x.data))
    with pytest.raises(RuntimeError, match=r"^(mul|exp): backward through this graph a second time.*retain_graph"):
        grad(y, x)
    z = (x * x).sum()
    z.backward(retain_graph=False)
    with pytest.raises(RuntimeError, match="retain_graph=False"):
        z.backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)  # the failed pass added nothing


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


def broken(backward):
    return type("Broken", (Square,), {"backward": staticmethod(backward)})


@pytest.mark.parametrize("backward, reason, index, got, expected", [
    (lambda ctx, g: (g, g), "count", None, 2, 1),
    (lambda ctx, g: (2 * ctx.saved_tensors[0] * g).T, "shape", 0, (3, 2), (2, 3)),
    (lambda ctx, g: g * 1j, "dtype", 0, np.dtype(complex), np.dtype(float)),
    (lambda ctx, g: g.__imul__(2), "read-only", None, None, None),
    (lambda ctx, g: g[10], "raised", None, None, None),
])
def test_backward_errors_carry_fields(backward, reason, index, got, expected):
    x = leaf(np.ones((2, 3)))
    out = broken(backward).apply(x)
    with pytest.raises(BackwardError) as info:
        out.backward(np.ones((2, 3)))
    error = info.value
    assert str(error).startswith("broken: Broken.backward")
    assert (error.op, error.reason, error.input_index) == ("broken", reason, index)
    assert error.function.__name__ == "Broken"
    if got is not None:
        assert error.got == got and error.expected == expected
    if reason == "raised":
        assert isinstance(error.got, IndexError)
    assert x.grad is None


def test_a_complex_gradient_is_refused_not_cast():
    x = leaf([1.0, 2.0])
    with pytest.raises(BackwardError, match="dtype complex128 for input 0"):
        broken(lambda ctx, g: g * (1 + 1j)).apply(x).sum().backward()


def test_graph_nodes_puts_inputs_before_their_users():
    x = leaf(3.0, "x")
    c = Tensor(5.0, name="c")
    m = x * x
    m.name = "m"
    y = m + x * c
    y.name = "y"
    order = graph_nodes(y)
    names = [t.name or t.op for t in order]
    assert names[-1] == "y" and len(order) == 5  # x, c, m, x*c, y
    position = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for p in t.parents:
            assert position[id(p)] < position[id(t)]


def test_graph_nodes_of_a_long_chain_without_recursion():
    x = leaf([1.0])
    h = x
    for _ in range(20_000):
        h = h * 1.0
    order = graph_nodes(h)
    assert order[0] is x and order[-1] is h
    assert len(order) == 40_001  # every mul's constant 1.0 too


def test_backward_pass_observe_sees_every_contribution_in_the_pass_order():
    from tinygrad_softmax.autograd import backward_pass, seeds

    x = leaf([1.0, 2.0], "x")
    a = x * 3.0
    b = x * x
    out = (a + b).sum()
    seen = []
    nodes, totals = backward_pass([out], seeds([out], None, "test"), observe=lambda *edge: seen.append(edge))
    position = {id(n): i for i, n in enumerate(nodes)}
    summed = {}
    for node, index, parent, gradient in seen:
        assert node._ctx._parents[index] is parent
        assert position[id(node)] < position[id(parent)]  # an op is visited before its inputs
        summed[id(parent)] = summed.get(id(parent), 0) + gradient
    for node, total in zip(nodes, totals):
        if node is not out:
            np.testing.assert_array_equal(summed[id(node)], total)  # the contributions add up to the total
    np.testing.assert_array_equal(totals[position[id(x)]], 3.0 + 2 * x.data)
    assert len(seen) == 6  # sum -> add; add -> a, b; a -> x; b -> x twice (x * x)
