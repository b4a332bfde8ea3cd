"""What to feed an op: its inputs, read from ``forward``'s signature, their domains, and the shapes to try.

An op's inputs are the positional parameters of ``forward`` after ``ctx`` that
have no default; parameters with defaults are settings, left at their default.
Checked on its own, an op says where its inputs are drawn from with the class
attribute ``domain``:

- ``domain = (low, high)``: every input uniform in that interval (default ``(-2, 2)``);
- one entry per input, e.g. ``domain = ((-2, 2), "onehot")``, where an entry is
  ``(low, high)``, or ``"onehot"`` / ``"probs"`` for a constant target: rows
  along the last axis that are one-hot, or positive and summing to 1, shaped
  like the first real input. Targets get no gradient and are not gradchecked.

Checked as an exercise, the exercise decides the domain (see `exercises.py`); the
class's own ``domain`` must then cover it (`domain_problems`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_DOMAIN = (-2.0, 2.0)
TARGET_KINDS = ("onehot", "probs")

# The shapes every op is tried on. A vector of 3 is the notebook's 3 classes; the
# batch is not square, so a transposed gradient cannot go unnoticed; the 3-d batch
# catches code written for two axes. The scalar comes last so that a failure is
# first shown on a case with several elements.
SCALAR, VECTOR, LONG_VECTOR, COLUMN, BATCH, BATCH_3D = (), (3,), (5,), (4, 1), (4, 3), (2, 3, 4)
SAME_SHAPE_CASES = (
    ("vector", VECTOR), ("vector", LONG_VECTOR), ("column", COLUMN), ("batch", BATCH), ("3-d", BATCH_3D),
    ("scalar", SCALAR),
)
# For ops with two or more real inputs: pairs that only work through broadcasting.
BROADCAST_PAIRS = (((4, 3), (3,)), ((4, 1), (1, 3)), ((4, 3), ()))
POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


class SpecError(Exception):
    """The op cannot be checked as written (its forward's signature or its domain); the message says why."""


@dataclass(frozen=True)
class FunctionInfo:
    """A student's op as the child described it: names, forward's parameters, the ``domain`` attribute.

    Attributes:
        class_name: the class's name, which also identifies it in requests.
        op_name: its `Function.name` (the lower-cased class name unless set).
        params: forward's parameters: (name, kind, has a default), kind as in `inspect.Parameter`.
        signature_error: why the signature could not be read, if it could not.
        domain: the class's ``domain`` (lists for tuples), or None when it has none.
        domain_text: a ``domain`` that is no plain data, shown as written.
    """

    class_name: str
    op_name: str
    params: tuple[tuple[str, str, bool], ...] = ()
    signature_error: str | None = None
    domain: Any = None
    domain_text: str | None = None

    @classmethod
    def from_data(cls, data: Any) -> FunctionInfo | None:
        """Read the child's description; None if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("class"), str):
            return None
        params = []
        for p in data.get("params") or []:
            if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("kind"), str):
                params.append((p["name"], p["kind"], p.get("default") is True))
        name = data.get("name")
        return cls(
            data["class"][:200], name[:200] if isinstance(name, str) else data["class"].lower(), tuple(params),
            data["signature_error"] if isinstance(data.get("signature_error"), str) else None,
            data.get("domain"), data["domain_repr"] if isinstance(data.get("domain_repr"), str) else None,
        )

    def input_names(self) -> list[str]:
        """forward's inputs after ctx (positional, without a default).

        Raises:
            SpecError: forward cannot be called that way, with what to change.
        """
        if self.signature_error is not None:
            raise SpecError(f"cannot read the signature of {self.class_name}.forward: {self.signature_error}")
        params = list(self.params)
        if not params or params[0][1] not in POSITIONAL:
            raise SpecError("forward must take ctx first: def forward(ctx, x) (a @staticmethod)")
        if params[0][0] == "self":
            raise SpecError("forward takes self: write it as a @staticmethod, def forward(ctx, x), with no self")
        names = []
        for name, kind, has_default in params[1:]:
            if kind == "VAR_POSITIONAL":
                raise SpecError(
                    f"forward(ctx, *{name}) does not say how many inputs the op has; name them, e.g. forward(ctx, x, y)"
                )
            if kind == "KEYWORD_ONLY" and not has_default:
                raise SpecError(
                    f"forward's keyword-only argument {name!r} has no default; give it one (the checker "
                    f"uses defaults for settings) or make it a positional input"
                )
            if kind in POSITIONAL and not has_default:
                names.append(name)
        if not names:
            raise SpecError("forward takes no input after ctx: def forward(ctx, x)")
        return names

    def declared_domains(self, names: list[str]) -> list[tuple[str, float, float]] | None:
        """The class's ``domain``, one (kind, low, high) per input; None when the class sets none.

        Raises:
            SpecError: the domain cannot be read.
        """
        if self.domain_text is not None:
            raise SpecError(f"domain must be (low, high) or one entry per input; got {self.domain_text}")
        if self.domain is None:
            return None
        return read_domain(self.domain, names)


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
    """An op as the checker sees it: its names and its inputs."""

    class_name: str
    op_name: str
    inputs: tuple[InputSpec, ...]

    @property
    def real(self) -> list[int]:
        """Indices of the inputs that get gradients."""
        return [i for i, spec in enumerate(self.inputs) if spec.differentiable]

    @property
    def needs(self) -> list[bool]:
        """For each input: a Tensor that requires grad (True) or a constant target."""
        return [spec.differentiable for spec in self.inputs]

    def describe(self) -> str:
        count = len(self.inputs)
        return f"op name {self.op_name!r}; {count} input{'s' * (count != 1)}: " + ", ".join(
            s.describe() for s in self.inputs
        )


@dataclass(frozen=True)
class Case:
    """One way of calling the op: the shape of each input.

    Attributes:
        kind: ``"scalar"``, ``"vector"``, ``"column"``, ``"batch"``, ``"3-d"`` or ``"broadcast"``.
        shapes: one shape per input (targets take the shape of the first real input).
        label: how the case is printed, e.g. ``"x (4, 3)"`` or ``"a (4, 3), b (3,)"``.
    """

    kind: str
    shapes: tuple[tuple[int, ...], ...]
    label: str


def spec_from(info: FunctionInfo, names: list[str], domains: list[tuple[str, float, float]] | None) -> OpSpec:
    """The spec with these domains (the default interval for every input when None)."""
    domains = domains or [("real", *DEFAULT_DOMAIN)] * len(names)
    inputs = tuple(InputSpec(name, *domain) for name, domain in zip(names, domains))
    if not any(s.differentiable for s in inputs):
        raise SpecError(
            "every input is a constant target; at least one input must be real, e.g. domain = ((-2, 2), 'onehot')"
        )
    return OpSpec(info.class_name, info.op_name, inputs)


def read_spec(info: FunctionInfo) -> OpSpec:
    """The op checked on its own: inputs from forward's signature, domains from its ``domain``.

    Raises:
        SpecError: the signature or the domain cannot be used, with what to change.
    """
    names = info.input_names()
    return spec_from(info, names, info.declared_domains(names))


def _is_interval(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def read_domain(domain: Any, names: list[str]) -> list[tuple[str, float, float]]:
    """``domain`` as one (kind, low, high) per input; `SpecError` if it is not one of the documented forms."""
    entries = [domain] * len(names) if _is_interval(domain) else domain
    expected = (
        f"domain must be (low, high), or one entry per input ({', '.join(names)}), each (low, high), "
        f"'onehot' or 'probs'; got {_shown(domain)}"
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
                raise SpecError(f"the domain of {name} must be a finite interval with low < high, got {_shown(entry)}")
            result.append(("real", low, high))
        else:
            raise SpecError(expected)
    return result


def _shown(value: Any) -> str:
    """A domain as the student wrote it (the child sends tuples as lists)."""
    if isinstance(value, list):
        inner = ", ".join(_shown(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def make_cases(spec: OpSpec) -> list[Case]:
    """Vectors, a column, batches of rows, a scalar; plus broadcasting pairs when two or more inputs are real."""
    real = spec.real
    cases = [_case(spec, kind, {i: shape for i in real}) for kind, shape in SAME_SHAPE_CASES]
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
    return [sample_input(input_spec, shape, rng) for input_spec, shape in zip(spec.inputs, case.shapes)]


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
