"""The four benchmark workloads (issue 8), written once per peer.

Every peer computes the same thing from the same starting weights, and `run.py`
checks that before timing anything:

W1  one SGD step of the notebook's classifier on one sample: 4 features + bias,
    3 classes, ``z = W[:, :-1] @ x + W[:, -1]``, mean softmax cross-entropy, ``W -= lr * dW``.
W2  the same step on a digits-sized full batch: 1797 samples x 64 features -> 10 classes,
    samples as rows (``z = X @ W[:, :-1].T + W[:, -1]``).
W3  the same step on 8192 x 784 -> 10 (MNIST-sized), float64 and float32.
W4  a 2,000-op elementwise chain on a (16,) float64 vector, forward then backward:
    500 times the cycle ``h * 0.5 -> + 0.25 -> exp -> log`` (bounded values), then
    ``sum`` and the gradient with respect to the input. Reported per op.
W5  a 2,000-op chain of scalar ``*`` and ``+`` on a 1-element tensor (issue 12): 1,000
    times ``h * 0.5 -> + 0.25``, then the gradient with respect to the input; per op.
    Pure bookkeeping: numpy's own work is one tiny multiply or add per op.

``baseline`` (run.py --baseline) adds the same tinygrad_softmax peers from another
checkout, imported under another name, so before/after ratios come from one run.

A peer is a `Peer`: ``step()`` runs one full step (forward, backward, update) and
``result()`` returns what the step produced (weights, or W4's input gradient) for
the cross-check. Optional peers (torch, HIPS autograd) are built only when importable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LR = 0.01
CHAIN_CYCLES = 500  # W4: 4 ops per cycle -> 2,000 ops
CHAIN_OPS = 4 * CHAIN_CYCLES
CHAIN_WIDTH = 16
SCALAR_CYCLES = 1000  # W5: 2 ops per cycle -> 2,000 ops


@dataclass
class Peer:
    name: str
    step: Callable[[], Any]
    result: Callable[[], np.ndarray]
    numpy_memory: bool = True  # its arrays are numpy's, so tracemalloc sees them


@dataclass
class Workload:
    key: str
    title: str
    data: dict[str, Any]
    per: int = 1  # report time per `per` units (W4: per op)
    unit: str = "step"
    peers: list[Peer] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# ------------------------------------------------------------------------- data


def classifier_data(n: int | None, features: int, classes: int, dtype: Any, seed: int) -> dict[str, Any]:
    """Samples as rows (n, features) with integer labels; n None means one sample (features,)."""
    rng = np.random.default_rng(seed)
    shape = (features,) if n is None else (n, features)
    X = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, classes, size=() if n is None else (n,))
    W = (rng.standard_normal((classes, features + 1)) * 0.1).astype(dtype)
    return {"X": X, "y": y, "W": W}


def chain_data(seed: int = 0, width: int = CHAIN_WIDTH) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(0.5, 1.5, width)}


# ---------------------------------------------------------- hand-written numpy


def numpy_classifier(data: dict[str, Any]) -> Peer:
    """The notebook's closed-form gradient, written plainly (no in-place tricks)."""
    X, y = data["X"], data["y"]
    W = data["W"].copy()
    if X.ndim == 1:

        def step() -> float:
            z = W[:, :-1] @ X + W[:, -1]
            shifted = z - z.max()
            exps = np.exp(shifted)
            probs = exps / exps.sum()
            loss = -np.log(probs[y])
            dz = probs.copy()
            dz[y] -= 1.0
            grad = np.empty_like(W)
            grad[:, :-1] = np.outer(dz, X)
            grad[:, -1] = dz
            W[...] -= LR * grad
            return loss

    else:
        n = X.shape[0]
        rows = np.arange(n)

        def step() -> float:
            z = X @ W[:, :-1].T + W[:, -1]
            shifted = z - z.max(axis=1, keepdims=True)
            exps = np.exp(shifted)
            probs = exps / exps.sum(axis=1, keepdims=True)
            loss = -np.log(probs[rows, y]).mean()
            dz = probs.copy()
            dz[rows, y] -= 1.0
            dz /= n
            grad = np.empty_like(W)
            grad[:, :-1] = dz.T @ X
            grad[:, -1] = dz.sum(axis=0)
            W[...] -= LR * grad
            return loss

    return Peer("numpy (by hand)", step, lambda: W)


def numpy_chain(data: dict[str, Any]) -> Peer:
    x = data["x"]
    grad_x: list[np.ndarray] = [np.zeros_like(x)]

    def step() -> np.ndarray:
        saved = []
        h = x
        for _ in range(CHAIN_CYCLES):
            h = h * 0.5
            h = h + 0.25
            h = np.exp(h)
            saved.append((h, h))  # exp's output; log's input is the same array
            h = np.log(h)
        g = np.ones_like(h)
        for exp_out, log_in in reversed(saved):
            g = g / log_in
            g = g * exp_out
            g = g * 0.5
        grad_x[0] = g
        return g

    return Peer("numpy (by hand)", step, lambda: grad_x[0])


def numpy_scalar_chain(data: dict[str, Any]) -> Peer:
    x = data["x"]
    grad_x: list[np.ndarray] = [np.zeros_like(x)]

    def step() -> np.ndarray:
        h = x
        for _ in range(SCALAR_CYCLES):
            h = h * 0.5
            h = h + 0.25
        g = np.ones_like(h)
        for _ in range(SCALAR_CYCLES):  # + passes g on; * multiplies it by the constant
            g = g * 0.5
        grad_x[0] = g
        return g

    return Peer("numpy (by hand)", step, lambda: grad_x[0])


# ------------------------------------------------------------- tinygrad_softmax


def tgs_classifier(data: dict[str, Any], fused: bool, package: str = "tinygrad_softmax") -> Peer:
    F = importlib.import_module(f"{package}.functional")
    SoftmaxClassifier = importlib.import_module(f"{package}.nn").SoftmaxClassifier
    SGD = importlib.import_module(f"{package}.optim").SGD

    X, y = data["X"], data["y"]
    classes, columns = data["W"].shape
    model = SoftmaxClassifier(columns - 1, classes, dtype=data["W"].dtype)
    model.W.data[...] = data["W"]
    optimizer = SGD(model.parameters(), lr=LR)
    loss_fn = F.softmax_cross_entropy if fused else F.cross_entropy

    def step() -> Any:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    name = ("tinygrad_softmax fused" if fused else "tinygrad_softmax") + _suffix(package)
    return Peer(name, step, lambda: model.W.data)


def _suffix(package: str) -> str:
    return "" if package == "tinygrad_softmax" else " (baseline)"


def tgs_chain(data: dict[str, Any], package: str = "tinygrad_softmax") -> Peer:
    Tensor = importlib.import_module(package).Tensor
    x = Tensor(data["x"], requires_grad=True)

    def step() -> Any:
        x.grad = None
        h = x
        for _ in range(CHAIN_CYCLES):
            h = (h * 0.5 + 0.25).exp().log()
        h.sum().backward()
        return x.grad

    return Peer("tinygrad_softmax" + _suffix(package), step, lambda: x.grad)


def tgs_scalar_chain(data: dict[str, Any], package: str = "tinygrad_softmax") -> Peer:
    Tensor = importlib.import_module(package).Tensor
    x = Tensor(data["x"], requires_grad=True)

    def step() -> Any:
        x.grad = None
        h = x
        for _ in range(SCALAR_CYCLES):
            h = h * 0.5 + 0.25
        h.backward()
        return x.grad

    return Peer("tinygrad_softmax" + _suffix(package), step, lambda: x.grad)


# ------------------------------------------------------------------- PyTorch


def torch_classifier(data: dict[str, Any], fused: bool, compiled: bool = False) -> Peer:
    import torch

    X = torch.from_numpy(data["X"])
    y = torch.from_numpy(np.asarray(data["y"]))
    W = torch.tensor(data["W"], requires_grad=True)
    one = X.ndim == 1

    def loss_fn(W: Any, X: Any, y: Any) -> Any:
        z = W[:, :-1] @ X + W[:, -1] if one else X @ W[:, :-1].T + W[:, -1]
        if fused:
            return torch.nn.functional.cross_entropy(z[None] if one else z, y[None] if one else y)
        # the notebook's composite, with the same ops as tinygrad_softmax's cross_entropy
        shifted = z - z.max(dim=-1, keepdim=True).values.detach()
        log_probs = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
        picked = log_probs[y] if one else log_probs[torch.arange(len(y)), y]
        return -picked.mean()

    forward = torch.compile(loss_fn) if compiled else loss_fn

    def step() -> Any:
        W.grad = None
        loss = forward(W, X, y)
        loss.backward()
        with torch.no_grad():
            W.sub_(LR * W.grad)
        return loss

    name = "torch.compile (fused CE)" if compiled else ("PyTorch fused CE" if fused else "PyTorch eager")
    return Peer(name, step, lambda: W.detach().numpy(), numpy_memory=False)


def torch_chain(data: dict[str, Any]) -> Peer:
    import torch

    x = torch.tensor(data["x"], requires_grad=True)

    def step() -> Any:
        x.grad = None
        h = x
        for _ in range(CHAIN_CYCLES):
            h = (h * 0.5 + 0.25).exp().log()
        h.sum().backward()
        return x.grad

    return Peer("PyTorch eager", step, lambda: x.grad.numpy(), numpy_memory=False)


def torch_scalar_chain(data: dict[str, Any]) -> Peer:
    import torch

    x = torch.tensor(data["x"], requires_grad=True)

    def step() -> Any:
        x.grad = None
        h = x
        for _ in range(SCALAR_CYCLES):
            h = h * 0.5 + 0.25
        h.backward()
        return x.grad

    return Peer("PyTorch eager", step, lambda: x.grad.numpy(), numpy_memory=False)


# ----------------------------------------------------------------- micrograd


def micrograd_scalar_chain(data: dict[str, Any]) -> Peer:
    """micrograd's Value: pure Python floats. Its backward sorts the graph recursively, so the
    recursion limit is raised for it (it would raise RecursionError on a 2,000-op chain)."""
    import sys

    from micrograd.engine import Value

    start = float(data["x"][0])
    grad_x = [np.zeros(1)]

    def step() -> Any:
        x = Value(start)
        h = x
        for _ in range(SCALAR_CYCLES):
            h = h * 0.5 + 0.25
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * SCALAR_CYCLES + 1000))
        try:
            h.backward()
        finally:
            sys.setrecursionlimit(limit)
        grad_x[0] = np.array([x.grad])
        return x.grad

    return Peer("micrograd", step, lambda: grad_x[0])


# -------------------------------------------------------------- HIPS autograd


def hips_classifier(data: dict[str, Any]) -> Peer:
    import autograd
    import autograd.numpy as anp

    X, y = data["X"], data["y"]
    W = data["W"].copy()
    one = X.ndim == 1
    rows = None if one else np.arange(X.shape[0])

    def loss_fn(W: Any) -> Any:
        z = anp.dot(W[:, :-1], X) + W[:, -1] if one else anp.dot(X, W[:, :-1].T) + W[:, -1]
        shifted = z - anp.max(z, axis=-1, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=-1, keepdims=True))
        return -(log_probs[y] if one else anp.mean(log_probs[rows, y]))

    grad_and_loss = autograd.value_and_grad(loss_fn)

    def step() -> Any:
        loss, grad = grad_and_loss(W)
        W[...] -= LR * grad
        return loss

    return Peer("HIPS autograd", step, lambda: W)


def hips_chain(data: dict[str, Any]) -> Peer:
    import autograd
    import autograd.numpy as anp

    x = data["x"]
    grad_x: list[np.ndarray] = [np.zeros_like(x)]

    def chain(v: Any) -> Any:
        h = v
        for _ in range(CHAIN_CYCLES):
            h = anp.log(anp.exp(h * 0.5 + 0.25))
        return anp.sum(h)

    gradient = autograd.grad(chain)

    def step() -> Any:
        grad_x[0] = gradient(x)
        return grad_x[0]

    return Peer("HIPS autograd", step, lambda: grad_x[0])


def hips_scalar_chain(data: dict[str, Any]) -> Peer:
    import autograd

    x = data["x"]
    grad_x: list[np.ndarray] = [np.zeros_like(x)]

    def chain(v: Any) -> Any:
        h = v
        for _ in range(SCALAR_CYCLES):
            h = h * 0.5 + 0.25
        return h[0]

    gradient = autograd.grad(chain)

    def step() -> Any:
        grad_x[0] = gradient(x)
        return grad_x[0]

    return Peer("HIPS autograd", step, lambda: grad_x[0])


# ---------------------------------------------------------------- assembling


def build(selected: list[str], compile_torch: bool, compile_note: str, baseline: str | None = None) -> list[Workload]:
    """The workloads in `selected` (keys like "W1", "W3-f32") with every available peer.

    `baseline` names another tinygrad_softmax package (already importable) whose peers run too.
    """
    torch = optional("torch")
    micrograd = optional("micrograd.engine")
    hips = optional("autograd")
    if hips is not None and not hasattr(hips, "value_and_grad"):
        hips = None  # some other package named autograd
    specs = {
        "W1": ("W1: 4 features + bias, 3 classes, batch 1", lambda: classifier_data(None, 4, 3, np.float64, 1)),
        "W2": ("W2: digits-sized 1797 x 64 -> 10, full batch", lambda: classifier_data(1797, 64, 10, np.float64, 2)),
        "W3": ("W3: 8192 x 784 -> 10, full batch, float64", lambda: classifier_data(8192, 784, 10, np.float64, 3)),
        "W3-f32": (
            "W3: 8192 x 784 -> 10, full batch, float32",
            lambda: classifier_data(8192, 784, 10, np.float32, 3),
        ),
        "W4": (f"W4: {CHAIN_OPS:,}-op elementwise chain, per op fwd+bwd", chain_data),
        "W5": (f"W5: {2 * SCALAR_CYCLES:,}-op chain of scalar * and + on 1 element, per op fwd+bwd",
               lambda: chain_data(width=1)),
    }
    packages = ["tinygrad_softmax"] + ([baseline] if baseline else [])
    workloads = []
    for key in selected:
        title, make_data = specs[key]
        data = make_data()
        if key == "W4":
            work = Workload(key, title, data, per=CHAIN_OPS, unit="op")
            work.peers += [numpy_chain(data), *(tgs_chain(data, p) for p in packages)]
            if torch is not None:
                work.peers.append(torch_chain(data))
            if hips is not None:
                work.peers.append(hips_chain(data))
        elif key == "W5":
            work = Workload(key, title, data, per=2 * SCALAR_CYCLES, unit="op")
            work.peers += [numpy_scalar_chain(data), *(tgs_scalar_chain(data, p) for p in packages)]
            if torch is not None:
                work.peers.append(torch_scalar_chain(data))
            if micrograd is not None:
                work.peers.append(micrograd_scalar_chain(data))
            else:
                work.skipped.append("micrograd: not installed (pip install micrograd)")
            if hips is not None:
                work.peers.append(hips_scalar_chain(data))
        else:
            work = Workload(key, title, data)
            work.peers.append(numpy_classifier(data))
            work.peers += [tgs_classifier(data, fused, p) for p in packages for fused in (False, True)]
            if torch is not None:
                work.peers += [torch_classifier(data, False), torch_classifier(data, True)]
                if compile_torch:
                    work.peers.append(torch_classifier(data, True, compiled=True))
                elif compile_note:
                    work.skipped.append(f"torch.compile: {compile_note}")
            if hips is not None:
                work.peers.append(hips_classifier(data))
        if torch is None:
            work.skipped.append("PyTorch: not installed (pip install torch)")
        if hips is None:
            work.skipped.append("HIPS autograd: not installed (pip install autograd)")
        workloads.append(work)
    return workloads
