"""Per-thread switches (no_grad, enable_grad, detect_anomaly, scope): each block restores exactly what it found.

Issue 11, item 3: two interleaved no_grad blocks (one held open by a suspended generator)
left grad mode off after both had ended, and scopes ended out of order attached ops to
the wrong composite.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from tinygrad_softmax import Tensor, detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope


def is_anomaly_enabled():
    """Whether anomaly detection is on, seen from outside: an op that makes a nan raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            Tensor([-1.0], requires_grad=True).log()
        except FloatingPointError:
            return True
    return False


def held_open(block):
    """A generator suspended inside `block`: its block ends when the generator is resumed."""

    def inside():
        with block:
            yield

    generator = inside()
    next(generator)
    return generator


def finish(generator):
    next(generator, None)


def test_interleaved_no_grad_blocks_leave_grad_mode_on():
    first = held_open(no_grad())
    second = held_open(no_grad())
    finish(first)  # ends before the block that started after it
    assert not is_grad_enabled()  # the second block is still open
    finish(second)
    assert is_grad_enabled()


def test_enable_grad_inside_no_grad_ended_out_of_order():
    outer = held_open(no_grad())
    inner = held_open(enable_grad())
    assert is_grad_enabled()
    finish(outer)
    assert is_grad_enabled()  # enable_grad is still open
    finish(inner)
    assert is_grad_enabled()
    inner = held_open(enable_grad())
    outer = held_open(no_grad())  # the newest open block decides
    assert not is_grad_enabled()
    finish(inner)
    assert not is_grad_enabled()
    finish(outer)
    assert is_grad_enabled()


def test_the_same_no_grad_object_nested_in_itself():
    block = no_grad()
    with block:
        with block:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_anomaly_switch_out_of_order():
    first = held_open(detect_anomaly())
    second = held_open(no_grad())
    finish(first)
    assert not is_anomaly_enabled() and not is_grad_enabled()
    finish(second)
    assert not is_anomaly_enabled() and is_grad_enabled()


def test_scopes_ended_out_of_order_attach_ops_to_the_open_one():
    x = Tensor([1.0, 2.0], requires_grad=True)
    outer = scope("outer")
    inner = scope("inner")
    outer_frame = outer.__enter__()
    inner_frame = inner.__enter__()
    assert (x * 2.0).scope is inner_frame and inner_frame.parent is outer_frame
    outer.__exit__(None, None, None)  # ends first
    assert (x * 3.0).scope is inner_frame  # inner is still open
    inner.__exit__(None, None, None)
    assert (x * 4.0).scope is None


def test_scopes_nest_and_restore_after_an_exception():
    x = Tensor([1.0], requires_grad=True)
    try:
        with scope("a") as a:
            with scope("b") as b:
                assert (x * 1.0).scope is b and b.parent is a
                raise KeyError("boom")
    except KeyError:
        pass
    assert (x * 1.0).scope is None


def test_switches_in_one_thread_do_not_reach_another():
    seen = {}
    started, release = threading.Event(), threading.Event()

    def worker():
        with no_grad(), scope("theirs"):
            started.set()
            release.wait(5)
            seen["worker"] = (is_grad_enabled(), (Tensor([1.0], requires_grad=True) * 2.0).scope)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(5)
    seen["main"] = (is_grad_enabled(), (Tensor([1.0], requires_grad=True) * 2.0).scope)
    release.set()
    thread.join()
    assert seen["main"] == (True, None)
    assert seen["worker"][0] is False and seen["worker"][1] is None  # no_grad records nothing, so no scope


def test_a_recorded_op_keeps_the_scope_it_was_made_in():
    x = Tensor(np.ones(2), requires_grad=True)
    with scope("kept") as frame:
        y = x.exp()
    assert y.scope is frame and y.op == "exp"
    with no_grad(), scope("unrecorded"):
        assert x.exp().scope is None  # nothing recorded: a plain leaf
