"""In-place operators (issue 11, item 4): PyTorch's semantics, and saved data that changed is never used silently.

Before, ``W -= lr * W.grad`` on a leaf that requires grad rebound W to a new non-leaf tensor:
the graph grew every step (613 nodes after 300 steps) while the loss still fell.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_softmax as tg
from tinygrad_softmax import Tensor, no_grad
from tinygrad_softmax import functional as F


def graph_size(t):
    seen, stack = set(), [t]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.parents)
    return len(seen)


def test_the_optimizer_idiom_updates_in_place_and_keeps_a_leaf():
    W = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True, name="W")
    data = W.data
    x = np.array([1.0, 2.0])
    losses = []
    for _ in range(300):
        loss = ((W @ x) ** 2).sum()
        losses.append(loss.item())
        W.zero_grad()
        loss.backward()
        with no_grad():
            W -= 0.01 * W.grad
    assert W.is_leaf and W.requires_grad and W.data is data
    assert graph_size(loss) < 10  # the graph of one step, not of 300
    assert losses[-1] < losses[0] * 1e-3


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_in_place_on_a_leaf_that_requires_grad_while_recording_is_an_error(op):
    W = Tensor([1.0, 2.0], requires_grad=True, name="W")
    before = W.data.copy()
    symbol = re.escape(op)
    expected = rf"(?s)`W {symbol} \.\.\.` .*leaf that requires grad.*with no_grad\(\):\n.*W {symbol}"
    with pytest.raises(RuntimeError, match=expected):
        exec(f"W {op} 2.0", {}, {"W": W})
    np.testing.assert_array_equal(W.data, before)


@pytest.mark.parametrize("op, expected", [("+=", [3.0, 4.0]), ("-=", [-1.0, 0.0]), ("*=", [2.0, 4.0]),
                                          ("/=", [0.5, 1.0])])
def test_in_place_under_no_grad_changes_the_data_in_place(op, expected):
    W = Tensor([1.0, 2.0], requires_grad=True)
    data = W.data
    names = {"W": W}
    with no_grad():
        exec(f"W {op} 2.0", {}, names)
    assert names["W"] is W and W.data is data
    np.testing.assert_array_equal(W.data, expected)


def test_in_place_with_a_tensor_operand_and_broadcasting():
    W = Tensor(np.ones((2, 3)), requires_grad=True)
    with no_grad():
        W += Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(W.data, [[2, 3, 4], [2, 3, 4]])


def test_in_place_without_any_gradient_at_stake_is_in_place_even_while_recording():
    t = Tensor([1.0, 2.0])
    data = t.data
    t *= 3
    assert t.data is data and t.op is None
    np.testing.assert_array_equal(t.data, [3.0, 6.0])


def test_in_place_on_a_recorded_tensor_while_recording_rebinds_and_keeps_earlier_graphs_right():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    old = h
    h += x  # like h = h + x: a new node; `old` and graphs using it are unchanged
    assert h is not old and h.op == "add"
    np.testing.assert_array_equal(old.data, [2.0, 4.0])
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


@pytest.mark.parametrize("make, message", [
    (lambda: Tensor(np.arange(3)), "cannot update a tensor of shape (3,) and dtype int64 in place"),
    (lambda: Tensor(np.ones(3)), "cannot update a tensor of shape (3,)"),
])
def test_in_place_updates_numpy_cannot_do_name_the_op_and_shapes(make, message):
    t = make()
    other = 0.5 if t.dtype.kind == "i" else np.ones((2, 3))
    with pytest.raises((TypeError, ValueError)) as info:
        t += other
    assert str(info.value).startswith("add: ") and message in str(info.value)


def test_backward_through_data_changed_in_place_is_refused_naming_the_op_and_tensor():
    W = Tensor([1.0, 2.0], requires_grad=True, name="W")
    loss = (W * W).sum()
    loss.backward()
    first = W.grad.copy()
    with no_grad():
        W -= 0.1 * W.grad
    W.zero_grad()
    refused = getattr(tg, "BackwardError", RuntimeError)  # 0.1 had no such class
    with pytest.raises(refused, match=r"^mul: input 0 W \(2,\) was changed in place") as info:
        loss.backward()
    assert info.value.reason == "modified" and info.value.op == "mul" and info.value.input_index == 0
    assert W.grad is None  # nothing was half-added
    fresh = (W * W).sum()  # a graph recorded after the update is fine
    fresh.backward()
    np.testing.assert_allclose(W.grad, 2 * W.data)
    assert not np.allclose(W.grad, first)


def test_a_change_through_a_view_or_a_detached_tensor_is_caught_too():
    W = Tensor(np.ones((2, 3)), requires_grad=True, name="W")
    x = np.array([1.0, 2.0, 3.0])
    loss = (W @ x).sum()  # matmul saved W.data
    row = W.detach()[0]  # a view of W's memory
    row += 5.0
    with pytest.raises(getattr(tg, "BackwardError", RuntimeError), match="matmul: input 0 W"):
        loss.backward()


def test_a_change_of_an_ops_own_saved_output_is_caught():
    x = Tensor([0.0, 1.0], requires_grad=True)
    e = x.exp()  # exp saves its output
    with no_grad():
        e *= 2.0
    with pytest.raises(getattr(tg, "BackwardError", RuntimeError), match=r"^exp: its output"):
        e.sum().backward()


def test_changes_to_data_an_op_did_not_save_do_not_block_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0])
    out = (x + b).sum()  # add saves nothing
    b += 1.0
    out.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_the_optimizers_replace_data_so_kept_graphs_stay_valid():
    from tinygrad_softmax.optim import SGD

    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    SGD([w], lr=0.1).step()
    w.zero_grad()
    loss.backward()  # the graph's saved copy of w is untouched
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_the_classifier_trains_with_the_in_place_idiom():
    from tinygrad_softmax.nn import SoftmaxClassifier

    model = SoftmaxClassifier(2, 3, seed=0, init_scale=0.1)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    y = np.array([0, 1, 2])
    first = None
    for _ in range(200):
        loss = F.cross_entropy(model(X), y)
        first = first if first is not None else loss.item()
        model.W.zero_grad()
        loss.backward()
        with no_grad():
            model.W -= 0.5 * model.W.grad
    assert model.W.is_leaf and loss.item() < first / 5
