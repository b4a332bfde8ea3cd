"""The exercises, and what a student's op is compared with when its name matches one.

Each reference is a composite of the library's own tested ops (no backward code of
its own), so it says what the op must compute without giving away a backward.
A student's op matches exercise N when its `Function.name` (the lower-cased
class name unless set) equals the exercise's op name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from ..tensor import Tensor


@dataclass(frozen=True)
class Special:
    """Inputs on which forward, and the gradient (upstream all ones), must equal the reference's.

    Attributes:
        inputs: one array per input of the op.
        why: what these inputs test, said in a FAIL.
    """

    inputs: tuple[np.ndarray, ...]
    why: str


@dataclass(frozen=True)
class Exercise:
    """One exercise of ``docs/exercises``.

    Attributes:
        number: 1 to 8.
        title: what to build.
        task: the task text's file in docs/exercises.
        op_name: the `Function.name` a solution has (None for exercise 8, which is not an op).
        class_name: the class name the skeleton uses.
        reference: a composite computing the op from library ops; takes Tensors (targets as arrays).
        specials: inputs checked value by value (a subgradient, huge logits...).
        linear_memory: backward must not build a (k, k) matrix per row.
        inputs: how many positional inputs the op's forward takes.
    """

    number: int
    title: str
    task: str
    op_name: str | None = None
    class_name: str | None = None
    reference: Callable[..., Tensor] | None = None
    specials: tuple[Special, ...] = field(default=())
    linear_memory: bool = False
    inputs: int = 1


def _relu(x: Tensor) -> Tensor:
    return x * (x.data > 0)  # a constant mask: gradient 1 where x > 0 and 0 elsewhere, 0 included


HUGE = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
HUGE_TARGET = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # one-hot: what every target kind accepts
STABLE = "logits like 1000 and -1000 (forward and gradient must stay finite: subtract the row's max first)"

EXERCISES: dict[int, Exercise] = {
    1: Exercise(1, "Sigmoid", "ex1_sigmoid.md", "sigmoid", "Sigmoid", lambda x: 1 / (1 + (-x).exp())),
    2: Exercise(2, "Tanh", "ex2_tanh.md", "tanh", "Tanh", lambda x: 2 / (1 + (-2 * x).exp()) - 1),
    3: Exercise(
        3, "ReLU", "ex3_relu.md", "relu", "ReLU", _relu,
        specials=(Special((np.array([-1.5, 0.0, 0.0, 2.0]),), "x = 0, where the exercise's subgradient is 0"),),
    ),
    4: Exercise(4, "Square root", "ex4_sqrt.md", "sqrt", "Sqrt", lambda x: x**0.5),
    5: Exercise(
        5, "fused Softmax", "ex5_softmax.md", "softmax", "Softmax", lambda x: F.softmax(x, axis=-1),
        specials=(Special((HUGE,), STABLE),), linear_memory=True,
    ),
    6: Exercise(
        6, "fused softmax cross-entropy", "ex6_softmax_cross_entropy.md", "softmaxcrossentropy",
        "SoftmaxCrossEntropy", lambda x, y: F.cross_entropy(x, y, axis=-1, reduction="mean"),
        specials=(Special((HUGE, HUGE_TARGET), STABLE),), linear_memory=True, inputs=2,
    ),
    7: Exercise(
        7, "LogSumExp", "ex7_logsumexp.md", "logsumexp", "LogSumExp", lambda x: F.logsumexp(x, axis=-1),
        specials=(Special((HUGE,), STABLE),), linear_memory=True,
    ),
    8: Exercise(8, "The notebook's training loop", "ex8_training_loop.md"),
}


def exercise_for(op_name: str) -> Exercise | None:
    """The exercise whose op is called `op_name`, if any."""
    return next((e for e in EXERCISES.values() if e.op_name == op_name), None)
