"""The state of checking one op, shared by the checks, and the few helpers they all use.

Every value a verdict depends on is computed here, in the parent: the exercise's reference
values and gradients (`reference_value`, `reference_gradient`, with the library's `grad`) and
numeric gradients (the library's central differences over forwards run in the child).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...autograd import BackwardError, grad
from ...function import Function
from ...grad_mode import no_grad
from ...gradcheck import numeric_gradient  # the library's own differences: one numeric checker
from ...tensor import Tensor
from .exercises import Exercise
from .hints import ATOL, EPS, RTOL
from .remote import Session, StudentError, describe_backward_error
from .report import CheckResult, Status
from .sampling import Case, FunctionInfo, OpSpec


class UnfinishedError(Exception):
    """The op's forward or backward still raises NotImplementedError: stop checking it."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass
class Accepted:
    """A case whose forward ran, with what later checks need.

    Attributes:
        case, arrays: the input case and the inputs drawn for it.
        out: forward's output.
        upstream: the upstream gradient its backward was given (the output's shape).
        grads: backward's gradient for each real input (None: backward failed).
        gradcheck_ok: the gradients were right (None: not compared).
        trivial: the true gradient is ~0 here (softmax over one element): a pass proves little.
        want: the exercise's forward value on these inputs (None: no exercise, or it rejects them).
        matches: forward equals the exercise's value here.
    """

    case: Case
    arrays: list[np.ndarray]
    out: np.ndarray
    upstream: np.ndarray | None = None
    grads: list[np.ndarray] | None = None
    gradcheck_ok: bool | None = None
    trivial: bool = False
    want: np.ndarray | None = None
    matches: bool | None = None


@dataclass
class OpRun:
    """Checking one op: its spec, the child session, the exercise it is graded as, and the results so far."""

    spec: OpSpec
    info: FunctionInfo
    session: Session
    seed: int
    exercise: Exercise | None = None
    domain_problems: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    skipped: list[tuple[Case, str]] = field(default_factory=list)
    ran: int = 0  # cases whose forward returned (whatever it returned)
    not_run: dict[str, str] = field(default_factory=dict)  # check -> why it did not run

    @property
    def name(self) -> str:
        return self.spec.class_name

    @property
    def proxy(self) -> type[Function]:
        """The student's op as a Function of this process (forward and backward run in the child)."""
        return self.session.proxy(self.spec.class_name, self.spec.op_name)

    @property
    def graded(self) -> bool:
        """Compared with an exercise (whose inputs match the op's)."""
        return self.exercise is not None and self.exercise.reference is not None \
            and self.exercise.inputs == len(self.spec.inputs)

    def add(self, check: str, status: Status, message: str, case: Case | None = None,
            details: Sequence[str] = ()) -> None:
        label = None if case is None else case.label
        self.results.append(CheckResult(self.name, check, status, message, label, tuple(details)))

    def input_tensors(self, arrays: Sequence[np.ndarray]) -> list[Any]:
        """Fresh Tensors that require grad for the real inputs; targets stay constant arrays."""
        return [Tensor(a.copy(), requires_grad=True) if s.differentiable else a.copy()
                for a, s in zip(arrays, self.spec.inputs)]


def case_seed(seed: int, number: int) -> int:
    """One integer seed per case (gradcheck takes an int), the same whatever other cases ran."""
    return seed * 1009 + number


def upstream_for(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The random upstream gradient `gradcheck` draws for this seed, so both sides use the same one."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float64)


def error_text(exc: BaseException, name: str) -> str:
    """What went wrong, in words, from the error's data (a `StudentError`, or a `BackwardError`'s fields)."""
    if isinstance(exc, BackwardError):
        return describe_backward_error(exc.reason, exc.input_index, exc.got, exc.expected, name)
    if isinstance(exc, StudentError):
        return f"{exc.described}{exc.where()}"
    return f"{type(exc).__name__}: {exc}"


def numeric_gradients(run: OpRun, arrays: Sequence[np.ndarray], upstream: np.ndarray) -> list[np.ndarray]:
    """Central differences of ``sum(op(*arrays) * upstream)`` for each real input.

    The library's own loop (`gradcheck`'s) runs twice: once to note the points it evaluates,
    which the child then runs in one request, and once more on those values, so the arithmetic
    is the library's and a case costs one round trip instead of two per element.

    Raises:
        StudentError: forward raised at one of the points.
    """
    work = [np.array(a, dtype=np.float64) for a in arrays]
    return [_differences(run, work, i, upstream) for i in run.spec.real]


def _differences(run: OpRun, work: list[np.ndarray], i: int, upstream: np.ndarray) -> np.ndarray:
    points: list[list[np.ndarray]] = []

    def note() -> float:
        points.append([w.copy() for w in work])
        return 0.0

    numeric_gradient(note, work[i], EPS)
    outs = run.session.forwards(run.spec.class_name, points, upstream.shape) if points else []
    values = iter([float(np.sum(out * upstream)) for out in outs])
    return numeric_gradient(lambda: next(values), work[i], EPS)


def reference_value(exercise: Exercise, spec: OpSpec, arrays: Sequence[np.ndarray]) -> np.ndarray | None:
    """The exercise's forward on these inputs, or None if the exercise does not take them either."""
    assert exercise.reference is not None
    args = [Tensor(a) if s.differentiable else a for a, s in zip(arrays, spec.inputs)]
    try:
        with no_grad(), np.errstate(all="ignore"):
            return exercise.reference(*args).data
    except (ValueError, TypeError, IndexError):
        return None


def reference_gradient(exercise: Exercise, spec: OpSpec, arrays: Sequence[np.ndarray],
                       upstream: np.ndarray) -> list[np.ndarray]:
    """The exercise's gradient for each real input: the library's `grad` through the reference."""
    assert exercise.reference is not None
    tensors = [Tensor(a, requires_grad=True) if s.differentiable else a for a, s in zip(arrays, spec.inputs)]
    with np.errstate(all="ignore"):
        out = exercise.reference(*tensors)
        found = grad(out, [tensors[i] for i in spec.real], upstream, allow_unused=True)
    return [np.zeros_like(arrays[i]) if g is None else g for i, g in zip(spec.real, found)]


@dataclass(frozen=True)
class Comparison:
    """One gradient against the expected one.

    Attributes:
        ok: every element within ``ATOL + RTOL * |expected|`` (and no nan).
        worst: the index of the element furthest outside the tolerance.
        max_error: the largest ``|analytic - expected|``.
    """

    ok: bool
    worst: tuple[int, ...]
    max_error: float


def compare(analytic: np.ndarray, expected: np.ndarray) -> Comparison:
    """Element by element, as `gradcheck` decides: ``|analytic - expected| <= atol + rtol * |expected|``."""
    if analytic.shape != expected.shape:
        return Comparison(False, (), float("inf"))
    with np.errstate(all="ignore"):
        error = np.abs(analytic - expected)
        excess = error - (ATOL + RTOL * np.abs(expected))
    bad = ~np.isfinite(excess)
    ok = not bad.any() and (excess.size == 0 or float(np.max(excess)) <= 0)
    worst: tuple[int, ...] = ()
    if excess.size:
        ranking = np.where(bad, np.inf, excess)
        worst = tuple(int(k) for k in np.unravel_index(int(np.argmax(ranking)), excess.shape))
    max_error = float(np.nanmax(error)) if error.size and not np.isnan(error).all() else 0.0
    return Comparison(ok, worst, max_error)
