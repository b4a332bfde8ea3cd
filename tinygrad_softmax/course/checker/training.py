"""Exercise 8: the notebook's training loop by hand, checked against the autodiff classifier.

The student's file defines three functions (see the task text, ex8_training_loop.md)::

    add_bias_feature(X)                          # step 1: (n, f) -> (n, f + 1), ones last
    initialize_weights(num_features, num_labels, seed)   # step 2: (num_labels, num_features + 1)
    train_one_epoch(X, labels, W, learning_rate) # steps 3-6: -> (W, losses)

Each step is checked on its own (so a mistake is found where it is made), then
the three together: W after one epoch must equal what `SoftmaxClassifier`
trained by `fit` (per-sample SGD, same seed, samples in order) ends with. The student's
functions run in the child; the reference runs here, in the parent, and so do the comparisons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ... import functional as F
from ...datasets import make_seed_data
from ...nn import SoftmaxClassifier, fit
from ...optim import SGD
from .hints import number
from .remote import Session, StudentError
from .report import INTERNAL, CheckResult, Status
from .sandbox import ChildFailed, describe_stop

OP = "exercise 8"
STEP1, STEP2, STEP_ONE_UPDATE, STEP_EPOCH, ALL_STEPS = "step 1", "step 2", "one update", "one epoch", "all steps"
FUNCTIONS = ("add_bias_feature", "initialize_weights", "train_one_epoch")
NUM_SAMPLES, NUM_FEATURES, NUM_LABELS, LEARNING_RATE = 8, 4, 3, 0.1
NOTE = "the notebook's loop: add_bias_feature, initialize_weights, train_one_epoch; 8 samples, lr 0.1"


def is_training_loop(callables: list[str]) -> bool:
    """True when the file defines exercise 8's functions (at least train_one_epoch)."""
    return "train_one_epoch" in callables


class _StepFailedError(Exception):
    """A step failed: `message` says how, `details` give hints."""

    def __init__(self, message: str, *details: str) -> None:
        super().__init__(message)
        self.message, self.details = message, list(details)


class _Reference:
    """What the autodiff classifier does on the same data: the values the student's steps must reproduce."""

    def __init__(self, seed: int) -> None:
        self.X, self.labels = make_seed_data(NUM_SAMPLES, NUM_FEATURES, NUM_LABELS, seed=seed)
        self.seed = seed
        self.X_bias = np.hstack([self.X, np.ones((len(self.X), 1))])
        self.W0 = SoftmaxClassifier(NUM_FEATURES, NUM_LABELS, seed=seed).W.data.copy()
        self.losses, self.W_epoch = self._per_sample_sgd()
        self.W_fit = self._fit()
        if not np.allclose(self.W_fit, self.W_epoch, rtol=1e-12, atol=1e-14):
            raise RuntimeError("exercise 8 reference: fit() and the per-sample autodiff loop disagree")

    def _per_sample_sgd(self) -> tuple[np.ndarray, np.ndarray]:
        model = SoftmaxClassifier(NUM_FEATURES, NUM_LABELS, seed=self.seed)
        optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
        losses = []
        for i in range(len(self.X)):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(self.X[i]), self.labels[i])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return np.array(losses), model.W.data.copy()

    def _fit(self) -> np.ndarray:
        # fit visits the samples in the order rng.permutation(n) of a generator seeded with `seed`;
        # handing it the data in the inverse order makes it visit them 0, 1, 2, ... like the notebook.
        order = np.random.default_rng(self.seed).permutation(len(self.X))
        inverse = np.argsort(order)
        model = SoftmaxClassifier(NUM_FEATURES, NUM_LABELS, seed=self.seed)
        fit(model, self.X[inverse], self.labels[inverse], epochs=1, lr=LEARNING_RATE, batch_size=1,
            seed=self.seed, progress=False)
        return model.W.data.copy()

    def first_update(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """a, one-hot y and x (with bias) of sample 0 under W0."""
        x = self.X_bias[0]
        z = self.W0 @ x
        a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        return a, F.one_hot(self.labels[0], NUM_LABELS), x


def check_training_loop(session: Session, callables: list[str], seed: int = 0) -> list[CheckResult]:
    """Run exercise 8's checks on the file the session's child loaded (its functions: `callables`)."""
    reference = _Reference(seed)
    results: list[CheckResult] = []

    def add(check: str, status: Status, message: str, details: list[str] = ()) -> None:
        results.append(CheckResult(OP, check, status, message, None, tuple(details)))

    missing = [name for name in FUNCTIONS if name not in callables]
    if missing:
        hint = ("hint: start from exercise 8's skeleton, ex8_training_loop.py (tinygrad-softmax exercises copy DIR), "
                "which has all three")
        add(STEP1, "FAIL", f"the file defines no function {', '.join(missing)}", [hint])
        return results
    functions = {name: _Remote(session, name) for name in FUNCTIONS}
    steps: list[tuple[str, Callable[..., None]]] = [
        (STEP1, lambda: _step1(functions["add_bias_feature"], reference)),
        (STEP2, lambda: _step2(functions["initialize_weights"], reference)),
        (STEP_ONE_UPDATE, lambda: _one_update(functions["train_one_epoch"], reference)),
        (STEP_EPOCH, lambda: _one_epoch(functions["train_one_epoch"], reference)),
        (ALL_STEPS, lambda: _all_steps(functions, reference)),
    ]
    for position, (check, run) in enumerate(steps):
        try:
            message = run()
        except _StepFailedError as failure:
            add(check, "FAIL", failure.message, failure.details)
        except ChildFailed as failed:  # the child is gone: the steps left cannot run
            add(INTERNAL, "FAIL", describe_stop(failed))
            for later, _ in steps[position:]:
                add(later, "NOT RUN", "not run: the checking stopped (see checker above)")
            break
        else:
            add(check, "PASS", message)
    return results


class _Remote:
    """One of the student's functions, called in the child."""

    def __init__(self, session: Session, name: str) -> None:
        self.session, self.__name__ = session, name
        self.changed: list[int] = []  # the arguments the last call wrote into

    def __call__(self, *args: Any) -> Any:
        self.session.doing = f"calling {self.__name__}"
        value, self.changed = self.session.call(self.__name__, list(args))
        return value


def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a student's function; its exceptions become a FAIL naming the line."""
    try:
        return function(*args)
    except StudentError as exc:
        name = getattr(function, "__name__", "the function")
        if exc.not_implemented:
            raise _StepFailedError(
                f"{name} is not implemented yet (it raises NotImplementedError)",
                "hint: replace the raise NotImplementedError with the step from the task text",
            ) from None
        where = f" (line {exc.line}: {exc.text})" if exc.line else ""
        raise _StepFailedError(f"{name} raised {exc.described}{where}") from None


def _array(value: Any, what: str) -> np.ndarray:
    """A returned value as a float array; anything that is not numbers is a FAIL saying what it was."""
    if isinstance(value, dict) and "unsupported" in value:
        raise _StepFailedError(f"{what} returned a {value['unsupported']}; return a numpy array")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _StepFailedError(f"{what} returned something that is not an array of numbers") from None


def _step1(add_bias_feature: Callable[..., Any], ref: _Reference) -> str:
    X = ref.X.copy()
    out = _array(_call(add_bias_feature, X), "add_bias_feature")
    if 0 in getattr(add_bias_feature, "changed", ()):
        raise _StepFailedError("add_bias_feature modified X in place", "hint: return a new array (np.hstack)")
    n, f = ref.X.shape
    if out.shape != (n, f + 1):
        hint = "add a column (axis 1), not a row" if out.shape == (n + 1, f) else "one column of ones per sample"
        raise _StepFailedError(
            f"add_bias_feature returned shape {out.shape} for X of shape {X.shape}; expected {(n, f + 1)}",
            f"hint: {hint}",
        )
    if np.array_equal(out[:, 0], np.ones(n)) and np.array_equal(out[:, 1:], ref.X):
        raise _StepFailedError(
            "the bias feature is the first column; it must be the last",
            "hint: W's last column is the bias (the notebook's text says so; its code hstacked the ones first): "
            "np.hstack([X, np.ones((len(X), 1))])",
        )
    if not np.array_equal(out, ref.X_bias):
        raise _StepFailedError(
            "add_bias_feature(X) is not X with a column of ones appended",
            "hint: the first f columns are X unchanged, the last column is all 1.0",
        )
    return f"X {ref.X.shape} -> {out.shape}, ones in the last column"


def _step2(initialize_weights: Callable[..., Any], ref: _Reference) -> str:
    W = _array(_call(initialize_weights, NUM_FEATURES, NUM_LABELS, ref.seed), "initialize_weights")
    expected = ref.W0
    if W.shape != expected.shape:
        if W.shape == expected.shape[::-1]:
            hint = "W is (num_labels, num_features + 1): one row per class, so z = W @ x"
        elif W.shape == (NUM_LABELS, NUM_FEATURES):
            hint = "W needs one more column, for the bias feature"
        else:
            hint = "W is (num_labels, num_features + 1)"
        raise _StepFailedError(
            f"initialize_weights({NUM_FEATURES}, {NUM_LABELS}, seed) returned shape {W.shape}; "
            f"expected {expected.shape}",
            f"hint: {hint}",
        )
    if not np.allclose(W, expected, rtol=1e-12, atol=0):
        ratio = W / expected
        if np.allclose(ratio, ratio.flat[0], rtol=1e-9) and not np.isclose(ratio.flat[0], 1):
            hint = f"right draws, scaled by {number(ratio.flat[0] * 0.01)} instead of 0.01"
        else:
            hint = (
                "draw with np.random.default_rng(seed).standard_normal((num_labels, num_features + 1)) * 0.01, "
                "as SoftmaxClassifier does, so that the loop can be compared with it"
            )
        raise _StepFailedError(
            "initialize_weights does not give SoftmaxClassifier's starting weights for the same seed", f"hint: {hint}"
        )
    return f"W {W.shape} equals SoftmaxClassifier(num_features={NUM_FEATURES}, num_classes={NUM_LABELS}, seed).W"


def _train(
    train_one_epoch: Callable[..., Any], X: np.ndarray, labels: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    result = _call(train_one_epoch, X.copy(), labels.copy(), W.copy(), LEARNING_RATE)
    if not (isinstance(result, list) and len(result) == 2):  # a tuple arrives as a list
        shown = "an array" if isinstance(result, np.ndarray) else type(result).__name__
        raise _StepFailedError(
            f"train_one_epoch returned {shown}; it must return a pair (W, losses)",
            "hint: return W, losses  (losses: the loss of each sample, in order)",
        )
    W_new = _array(result[0], "train_one_epoch")
    try:
        losses = np.asarray([float(np.asarray(v).item()) for v in result[1]])
    except (TypeError, ValueError):
        raise _StepFailedError("the losses returned are not one number per sample") from None
    if W_new.shape != W.shape:
        raise _StepFailedError(
            f"train_one_epoch returned W of shape {W_new.shape}; W has shape {W.shape}",
            "hint: grad_W = np.outer(grad_z, x) has W's shape; np.outer(x, grad_z) is its transpose",
        )
    if losses.shape != (len(X),):
        raise _StepFailedError(
            f"train_one_epoch returned {losses.size} losses for {len(X)} samples",
            "hint: append each sample's loss once, inside the loop over samples",
        )
    return W_new, losses


def _one_update(train_one_epoch: Callable[..., Any], ref: _Reference) -> str:
    """One sample: the loss and the single SGD step, with the classic mistakes named."""
    W1, losses = _train(train_one_epoch, ref.X_bias[:1], ref.labels[:1], ref.W0)
    if not np.isclose(losses[0], ref.losses[0], rtol=1e-9, atol=1e-12):
        raise _StepFailedError(
            f"the loss of sample 0 is {number(losses[0])}; expected {number(ref.losses[0])}",
            "hint: forward: z = W @ x, a = softmax.forward(z), loss = cce(y, a) with y the one-hot label",
        )
    a, y, x = ref.first_update()
    step = (ref.W0 - W1) / LEARNING_RATE  # the gradient the student's update used
    right = np.outer(a - y, x)
    tolerance = {"rtol": 1e-7, "atol": 1e-9}
    if np.allclose(step, right, **tolerance):
        return "the loss and the update W - lr * outer(a - y, x) of one sample are right"
    candidates = [
        (np.zeros_like(right), "W did not change: update it, W = W - learning_rate * grad_W"),
        (-right, "the update has the wrong sign: gradient descent subtracts, W = W - learning_rate * grad_W"),
        (np.outer(a, x), "the gradient used is a x^T: dL/dz is a - y, subtract the one-hot label"),
        (np.outer(-y / a, x), "dL/da = -y / a was used as dL/dz: pass it through softmax.backward (which gives a - y)"),
        (np.outer(a - y, np.ones_like(x)), "grad_W must be np.outer(grad_z, x): the input x is missing"),
    ]
    for candidate, hint in candidates:
        if np.allclose(step, candidate, **tolerance):
            raise _StepFailedError("the update after sample 0 is wrong", f"hint: {hint}")
    significant = np.abs(right) > 1e-6
    ratio = step[significant] / right[significant]
    if ratio.size and np.allclose(ratio, ratio[0], rtol=1e-7):
        raise _StepFailedError(
            "the update after sample 0 is wrong",
            f"hint: the step is {number(ratio[0])} times learning_rate * grad_W: use the learning rate once",
        )
    raise _StepFailedError(
        "the update after sample 0 is not W - learning_rate * np.outer(a - y, x)",
        "hint: grad_z = softmax.backward(cce_gradient(y, a)); grad_W = np.outer(grad_z, x)",
    )


def _one_epoch(train_one_epoch: Callable[..., Any], ref: _Reference) -> str:
    W, losses = _train(train_one_epoch, ref.X_bias, ref.labels, ref.W0)
    wrong = np.flatnonzero(~np.isclose(losses, ref.losses, rtol=1e-9, atol=1e-12))
    if wrong.size:
        i = int(wrong[0])
        raise _StepFailedError(
            f"the loss of sample {i} is {number(losses[i])}; the autodiff classifier's is {number(ref.losses[i])}",
            "hint: each sample's loss must use the W updated by all the samples before it, in order"
            + ("" if i == 0 else " (sample 0 agrees)" if i == 1 else f" (samples 0 to {i - 1} agree)"),
        )
    return _compare_epoch(W, ref, "the losses agree, so the last update is wrong: is W updated after every sample?")


def _compare_epoch(W: np.ndarray, ref: _Reference, hint: str) -> str:
    if not np.allclose(W, ref.W_fit, rtol=1e-9, atol=1e-12):
        at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(W - ref.W_fit))), W.shape))
        raise _StepFailedError(
            f"W after one epoch differs from the autodiff classifier's at {at}: "
            f"{number(W[at])} vs {number(ref.W_fit[at])}",
            f"hint: {hint}",
        )
    error = float(np.max(np.abs(W - ref.W_fit)))
    return (
        f"W after one epoch equals fit()'s (SoftmaxClassifier, batch_size=1, lr={LEARNING_RATE}); "
        f"max difference {error:.1e}"
    )


def _all_steps(functions: dict[str, Any], ref: _Reference) -> str:
    X_bias = _array(_call(functions["add_bias_feature"], ref.X.copy()), "add_bias_feature")
    W0 = _array(_call(functions["initialize_weights"], NUM_FEATURES, NUM_LABELS, ref.seed),
                "initialize_weights")
    if X_bias.shape != ref.X_bias.shape or W0.shape != ref.W0.shape:
        raise _StepFailedError("steps 1 and 2 give the wrong shapes; fix them first")
    W, _ = _train(functions["train_one_epoch"], X_bias, ref.labels, W0)
    message = _compare_epoch(W, ref, "fix the first failing step above")
    return "your three steps together: " + message
