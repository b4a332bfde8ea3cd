"""What to feed an op: its inputs, read from ``forward``'s signature, their domains, and the shapes to try.

An op's inputs are the positional parameters of ``forward`` after ``ctx`` that
have no default; parameters with defaults are settings, left at their default.
The optional class attribute ``domain`` says where inputs are drawn from:

- ``domain = (low, high)``: every input uniform in that interval (default ``(-2, 2)``);
- one entry per input, e.g. ``domain = ((-2, 2), "onehot")``, where an entry is
  ``(low, high)``, or ``"onehot"`` / ``"probs"`` for a constant target: rows
  along the last axis that are one-hot, or positive and summing to 1, shaped
  like the first real input. Targets get no gradient and are not gradchecked.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..function import Function

DEFAULT_DOMAIN = (-2.0, 2.0)
TARGET_KINDS = ("onehot", "probs")

# The shapes every op is tried on. A vector of 3 is the notebook's 3 classes; the
# batch is not square, so a transposed gradient cannot go unnoticed. The scalar
# comes last so that a failure is first shown on a case with several elements.
SCALAR, VECTOR, LONG_VECTOR, COLUMN, BATCH = (), (3,), (5,), (4, 1), (4, 3)
SAME_SHAPE_CASES = (
    ("vector", VECTOR), ("vector", LONG_VECTOR), ("column", COLUMN), ("batch", BATCH), ("scalar", SCALAR),
)
# For ops with two or more real inputs: pairs that only work through broadcasting.
BROADCAST_PAIRS = (((4, 3), (3,)), ((4, 1), (1, 3)), ((4, 3), ()))


class SpecError(Exception):
    """The op cannot be checked as written (its forward's signature or its domain); the message says why."""


@dataclass(frozen=True)
class InputSpec:
    """One positional input of ``forward``.

    Attributes:
        name: the parameter's name (``x``, ``logits``...).
        kind: ``"real"`` (sampled in ``[low, high]``, gradchecked), ``"onehot"`` or ``"probs"`` (constant targets).
        low, high: the sampling interval of a real input.
    """

    name: str
    kind: str = "real"
    low: float = DEFAULT_DOMAIN[0]
    high: float = DEFAULT_DOMAIN[1]

    @property
    def differentiable(self) -> bool:
        return self.kind == "real"

    def describe(self) -> str:
        if self.differentiable:
            return f"{self.name} in ({_number(self.low)}, {_number(self.high)})"
        return f"{self.name} constant {'one-hot rows' if self.kind == 'onehot' else 'probability rows'}"


@dataclass(frozen=True)
class OpSpec:
    """An op as the checker sees it: its class and its inputs."""

    cls: type[Function]
    inputs: tuple[InputSpec, ...]

    @property
    def real(self) -> list[int]:
        """Indices of the inputs that get gradients."""
        return [i for i, spec in enumerate(self.inputs) if spec.differentiable]

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        return tuple(spec.differentiable for spec in self.inputs)

    def describe(self) -> str:
        count = len(self.inputs)
        return f"op name {self.cls.name!r}; {count} input{'s' * (count != 1)}: " + ", ".join(
            s.describe() for s in self.inputs
        )


@dataclass(frozen=True)
class Case:
    """One way of calling the op: the shape of each real input.

    Attributes:
        kind: ``"scalar"``, ``"vector"``, ``"column"``, ``"batch"`` or ``"broadcast"``.
        shapes: one shape per input (targets take the shape of the first real input).
        label: how the case is printed, e.g. ``"x (4, 3)"`` or ``"a (4, 3), b (3,)"``.
    """

    kind: str
    shapes: tuple[tuple[int, ...], ...]
    label: str


def read_spec(cls: type[Function]) -> OpSpec:
    """Read an op's inputs from ``forward``'s signature and its ``domain`` attribute.

    Raises:
        SpecError: the signature or the domain cannot be used, with what to change.
    """
    try:
        signature = inspect.signature(cls.forward)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"cannot read the signature of {cls.__name__}.forward: {exc}") from None
    params = list(signature.parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not params or params[0].kind not in positional:
        raise SpecError("forward must take ctx first: def forward(ctx, x) (a @staticmethod)")
    if params[0].name == "self":
        raise SpecError("forward takes self: write it as a @staticmethod, def forward(ctx, x), with no self")
    names = []
    for p in params[1:]:
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            raise SpecError(
                f"forward(ctx, *{p.name}) does not say how many inputs the op has; name them, e.g. forward(ctx, x, y)"
            )
        if p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty:
            raise SpecError(
                f"forward's keyword-only argument {p.name!r} has no default; give it one (the checker "
                f"uses defaults for settings) or make it a positional input"
            )
        if p.kind in positional and p.default is inspect.Parameter.empty:
            names.append(p.name)
    if not names:
        raise SpecError("forward takes no input after ctx: def forward(ctx, x)")
    domains = _read_domain(getattr(cls, "domain", DEFAULT_DOMAIN), names)
    inputs = tuple(InputSpec(name, *domain) for name, domain in zip(names, domains))
    if not any(s.differentiable for s in inputs):
        raise SpecError(
            "every input is a constant target; at least one input must be real, e.g. domain = ((-2, 2), 'onehot')"
        )
    return OpSpec(cls, inputs)


def _is_interval(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value)
    )


def _read_domain(domain: Any, names: list[str]) -> list[tuple[str, float, float]]:
    entries = [domain] * len(names) if _is_interval(domain) else domain
    expected = (
        f"domain must be (low, high), or one entry per input ({', '.join(names)}), each (low, high), "
        f"'onehot' or 'probs'; got {domain!r}"
    )
    if not isinstance(entries, (tuple, list)) or len(entries) != len(names):
        raise SpecError(expected)
    result = []
    for name, entry in zip(names, entries):
        if isinstance(entry, str) and entry in TARGET_KINDS:
            result.append((entry, *DEFAULT_DOMAIN))
        elif _is_interval(entry):
            low, high = float(entry[0]), float(entry[1])
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise SpecError(f"the domain of {name} must be a finite interval with low < high, got {entry!r}")
            result.append(("real", low, high))
        else:
            raise SpecError(expected)
    return result


def make_cases(spec: OpSpec) -> list[Case]:
    """Vectors, a column, a batch of rows, a scalar; plus broadcasting pairs when two or more inputs are real."""
    real = spec.real
    cases = []
    for kind, shape in SAME_SHAPE_CASES:
        cases.append(_case(spec, kind, {i: shape for i in real}))
    if len(real) >= 2:
        for pair in BROADCAST_PAIRS:
            cases.append(_case(spec, "broadcast", {i: pair[min(n, 1)] for n, i in enumerate(real)}))
    return cases


def _case(spec: OpSpec, kind: str, real_shapes: dict[int, tuple[int, ...]]) -> Case:
    first = real_shapes[spec.real[0]]
    shapes = tuple(real_shapes.get(i, first) for i in range(len(spec.inputs)))
    if len(real_shapes) == 1:
        label = f"{spec.inputs[spec.real[0]].name} {shape_text(first)}"
    else:
        label = ", ".join(f"{spec.inputs[i].name} {shape_text(real_shapes[i])}" for i in spec.real)
    return Case(kind, shapes, label)


def sample(spec: OpSpec, case: Case, rng: np.random.Generator) -> list[np.ndarray]:
    """Fresh float64 inputs for `case`, drawn from each input's domain."""
    arrays = []
    for input_spec, shape in zip(spec.inputs, case.shapes):
        arrays.append(sample_input(input_spec, shape, rng))
    return arrays


def sample_input(spec: InputSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """One input of `shape`: uniform in its interval, or a constant target (one 1, or probabilities, per row)."""
    if spec.kind == "real":
        return rng.uniform(spec.low, spec.high, size=shape)
    if shape == ():
        return np.array(1.0)
    if spec.kind == "onehot":
        target = np.zeros(shape)
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        np.put_along_axis(target, labels[..., None], 1.0, axis=-1)
        return target
    weights = rng.uniform(0.1, 1.0, size=shape)
    return weights / weights.sum(axis=-1, keepdims=True)


def shape_text(shape: tuple[int, ...]) -> str:
    """``()``, ``(3,)``, ``(4, 3)``: how numpy prints shapes."""
    return str(tuple(shape))


def _number(value: float) -> str:
    return f"{value:g}"
