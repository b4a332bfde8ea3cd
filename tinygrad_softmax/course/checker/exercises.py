"""The exercises: what a student's op is compared with, where it is sampled, and its classic slips.

Each reference is built from the library's own tested ops (no backward code of its own), so
it says what the op must compute without giving away a backward; it runs in the parent only.
A file checked as exercise N (``--exercise N``, or a class named like the exercise's op) is
sampled on the exercise's domain, whatever the class's own ``domain`` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ... import functional as F
from ...tensor import Tensor
from . import hints

Entry = tuple[float, float] | str  # an interval, or a constant target's kind


@dataclass(frozen=True)
class Special:
    """Inputs on which forward, and the gradient (upstream all ones), must equal the reference's.

    Attributes:
        inputs: one array per input of the op.
        why: what these inputs test, said in a FAIL.
        overflow: they test the max shift (a non-finite result gets the shift's hint).
    """

    inputs: tuple[np.ndarray, ...]
    why: str
    overflow: bool = False


@dataclass(frozen=True)
class Slip:
    """A classic wrong backward, as numpy: ``gradient(inputs, upstream)`` for the first input, and its hint."""

    gradient: Callable[[list[np.ndarray], np.ndarray], np.ndarray]
    hint: str


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course (``tinygrad-softmax exercises list``).

    Attributes:
        number: 1 to 8.
        title: what to build.
        task: the task text's file name (``exercises copy`` writes it; the skeleton is `skeleton`).
        op_name: the `Function.name` a solution has (None for exercise 8, which is not an op).
        class_name: the class name the skeleton uses.
        reference: a composite computing the op from library ops; takes Tensors (targets as arrays).
        specials: inputs checked value by value (a subgradient, huge logits...).
        linear_memory: backward must not build a (k, k) matrix per row.
        inputs: how many positional inputs the op's forward takes.
        domain: where each input is drawn from: (low, high), or a target kind (``"onehot"``).
        targets: the target kinds a class may ask for instead (the formula holds for both).
        slips: classic wrong backwards, recognised by their values.
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
    domain: tuple[Entry, ...] = ((-4.0, 4.0),)
    targets: tuple[str, ...] = ("onehot", "probs")
    slips: tuple[Slip, ...] = field(default=())

    @property
    def skeleton(self) -> str:
        """The skeleton's file name, e.g. ``ex1_sigmoid.py``."""
        return self.task.replace(".md", ".py")

    @property
    def files(self) -> tuple[str, str]:
        """The skeleton and the task text."""
        return self.skeleton, self.task


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _notebook_softmax_backward(inputs: list[np.ndarray], g: np.ndarray) -> np.ndarray:
    a = _softmax(inputs[0])
    if a.ndim != 1:
        raise ValueError("the notebook's formula is compared on 1-D vectors")
    return np.dot((np.identity(a.size) - a.T) * a, g)


def _softmax_backward_axis_1(inputs: list[np.ndarray], g: np.ndarray) -> np.ndarray:
    a = _softmax(inputs[0])
    if a.ndim < 3:
        raise ValueError("axis 1 is the last axis of a 2-d array")
    return a * (g - np.sum(g * a, axis=1, keepdims=True))


HUGE = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
HUGE_TARGET = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # one-hot: what every target kind accepts
STABLE = "logits like 1000 and -1000"

EXERCISES: dict[int, Exercise] = {
    1: Exercise(
        1, "Sigmoid", "ex1_sigmoid.md", "sigmoid", "Sigmoid", lambda x: x.sigmoid(),
        specials=(Special((np.array([-1000.0, -30.0, 30.0, 1000.0]),), "x = +-30 and +-1000, where exp(-x) "
                          "overflows or rounds to 0 (the result must stay finite)"),),
        slips=(Slip(lambda i, g: g * i[0] * (1 - i[0]), hints.SIGMOID_OF_INPUT),),
    ),
    2: Exercise(
        2, "Tanh", "ex2_tanh.md", "tanh", "Tanh", lambda x: x.tanh(),
        specials=(Special((np.array([-1000.0, -20.0, 20.0, 1000.0]),), "x = +-20 and +-1000, where exp(x) "
                          "overflows (the task's trap: the formula from exponentials gives nan, np.tanh does not)"),),
        slips=(Slip(lambda i, g: g * (1 - i[0] ** 2), hints.TANH_OF_INPUT),),
    ),
    3: Exercise(
        3, "ReLU", "ex3_relu.md", "relu", "ReLU", lambda x: x.relu(),
        specials=(Special((np.array([-1.5, 0.0, 0.0, 2.0]),), "x = 0, where the exercise's subgradient is 0"),),
        slips=(Slip(lambda i, g: g * np.maximum(i[0], 0), hints.RELU_OUTPUT),),
    ),
    4: Exercise(
        4, "Square root", "ex4_sqrt.md", "sqrt", "Sqrt", lambda x: x.sqrt(), domain=((0.1, 4.0),),
        slips=(
            Slip(lambda i, g: g / 2 * np.sqrt(i[0]), hints.SQRT_PRECEDENCE),
            Slip(lambda i, g: g / (2 * i[0]), hints.SQRT_OF_INPUT),
        ),
    ),
    5: Exercise(
        5, "fused Softmax", "ex5_softmax.md", "softmax", "Softmax", lambda x: F.softmax(x, axis=-1),
        specials=(Special((HUGE,), STABLE, overflow=True),), linear_memory=True,
        slips=(
            Slip(_notebook_softmax_backward, hints.COLUMN_ONLY),
            Slip(lambda i, g: _softmax(i[0]) * (g - np.sum(g * _softmax(i[0]))), hints.VECTOR_ONLY),
            Slip(_softmax_backward_axis_1, hints.AXIS_1),
            Slip(lambda i, g: g * _softmax(i[0]) * (1 - _softmax(i[0])), hints.DIAGONAL_ONLY),
        ),
    ),
    6: Exercise(
        6, "fused softmax cross-entropy", "ex6_softmax_cross_entropy.md", "softmaxcrossentropy",
        "SoftmaxCrossEntropy", lambda z, y: F.cross_entropy(z, y, axis=-1, reduction="mean"),
        specials=(Special((HUGE, HUGE_TARGET), STABLE, overflow=True),), linear_memory=True, inputs=2,
        domain=((-4.0, 4.0), "onehot"),
    ),
    7: Exercise(
        7, "LogSumExp", "ex7_logsumexp.md", "logsumexp", "LogSumExp", lambda x: F.logsumexp(x, axis=-1),
        specials=(Special((HUGE,), STABLE, overflow=True),), linear_memory=True,
        slips=(Slip(lambda i, g: np.expand_dims(g, -1) * np.exp(i[0]), hints.LSE_EXP),),
    ),
    8: Exercise(8, "The notebook's training loop", "ex8_training_loop.md", domain=()),
}


def exercise_for(op_name: str) -> Exercise | None:
    """The exercise whose op is called `op_name`, if any."""
    return next((e for e in EXERCISES.values() if e.op_name == op_name), None)


def get_exercise(number: int) -> Exercise:
    """Exercise `number`; ValueError naming the range otherwise."""
    if number not in EXERCISES:
        raise ValueError(f"there is no exercise {number}; the exercises are 1 to {max(EXERCISES)}")
    return EXERCISES[number]
