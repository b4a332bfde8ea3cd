"""Long runs, threads and memory: what a training script running for hours relies on."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import numpy as np

from tinygrad_softmax import Tensor, no_grad
from tinygrad_softmax import functional as F
from tinygrad_softmax.datasets import make_seed_data
from tinygrad_softmax.nn import SoftmaxClassifier, fit
from tinygrad_softmax.optim import SGD


def test_ten_thousand_steps_keep_memory_flat_and_parameters_leaves():
    X, y = make_seed_data(num_samples=50, seed=0)
    model = SoftmaxClassifier(4, 3, seed=0)
    opt = SGD(model.parameters(), lr=0.001)

    def step(i):
        opt.zero_grad()
        loss = F.cross_entropy(model(X[i % 50]), y[i % 50])
        loss.backward()
        opt.step()

    for i in range(500):  # warm-up: caches, interned objects, numpy's allocator
        step(i)
    gc.collect()
    objects_before = len(gc.get_objects())
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for i in range(10_000):
            step(i)
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert end - start < 1_000_000, f"memory grew by {end - start} bytes over 10,000 steps"
    assert len(gc.get_objects()) - objects_before < 100  # no graphs kept alive from step to step
    assert model.W.is_leaf and model.W.op is None and model.W.parents == ()
    assert np.all(np.isfinite(model.W.data))


def _train(seed, results, index, barrier=None):
    if barrier is not None:
        barrier.wait()  # all threads train at the same time
    X, y = make_seed_data(num_samples=30, seed=seed)
    model = SoftmaxClassifier(4, 3, seed=seed)
    fit(model, X, y, epochs=5, lr=0.01, seed=seed, progress=False)
    results[index] = model.W.data.copy()


def test_eight_threads_train_like_one():
    expected = [None] * 8
    for i in range(8):
        _train(i, expected, i)
    results = [None] * 8
    barrier = threading.Barrier(8)
    threads = [threading.Thread(target=_train, args=(i, results, i, barrier)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_no_grad_in_one_thread_never_affects_another():
    inside, recorded = threading.Event(), threading.Event()
    outcome = {}

    def quiet():
        with no_grad():
            inside.set()
            recorded.wait(5)
            outcome["quiet"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad

    def busy():
        inside.wait(5)
        outcome["busy"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad
        recorded.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=busy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome == {"quiet": False, "busy": True}


def test_hundred_thousand_op_chain_backprops_and_frees():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0
    del y  # freeing a 200,000-node chain must not overflow the C stack either
