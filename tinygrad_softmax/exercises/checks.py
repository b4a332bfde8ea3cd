"""The battery of named checks one op goes through, case by case.

For every input case (scalar, vectors, column, batch, broadcasting pairs):

- ``forward``: it runs and returns a float64 array of a sensible shape, finite
  on the op's domain. A case whose forward raises is a SKIP (the op does not
  accept that input) unless the op accepts no case at all;
- ``inputs kept``: forward did not write into its inputs;
- ``backward``: it runs and returns one gradient per input that the engine can
  sum to the input's shape (the engine's own check and message);
- ``gradcheck``: the gradient equals float64 central differences;
- ``no mutation``: backward left grad, the saved arrays, the inputs and the output alone.

Then, once per op: ``composite`` (``(op(x) * c).sum()`` on a batch, backward twice
through `Tensor.backward`), and, for an op named like an exercise, ``reference``
(forward values, and gradients on special inputs) and ``memory`` (no (k, k) matrix).
"""

from __future__ import annotations

import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import autograd
from ..function import Function
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import hints
from .gradients import (
    Comparison,
    MissingGradientError,
    analytic,
    call_forward,
    compare,
    number,
    numeric,
)
from .loader import locate
from .reference import Exercise, exercise_for
from .report import (
    BACKWARD,
    COMPOSITE,
    FORWARD,
    GRADCHECK,
    INPUTS,
    INTERNAL,
    MEMORY,
    MUTATION,
    REFERENCE,
    SHAPE,
    SIGNATURE,
    CheckResult,
    Status,
)
from .sampling import BATCH, Case, OpSpec, SpecError, make_cases, read_spec, sample, sample_input, shape_text


class _UnfinishedError(Exception):
    """The op's forward or backward still raises NotImplementedError: stop checking it."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass
class _Accepted:
    """A case whose forward ran, with what later checks need."""

    case: Case
    arrays: list[np.ndarray]
    out_shape: tuple[int, ...]
    gradcheck_ok: bool | None = None  # None: backward failed, so the values were not compared
    trivial: bool = False  # the true gradient is ~0 here (softmax over one element): a pass proves little


@dataclass
class _OpRun:
    """The state of checking one op."""

    spec: OpSpec
    seed: int
    results: list[CheckResult] = field(default_factory=list)
    accepted: list[_Accepted] = field(default_factory=list)
    skipped: list[tuple[Case, str]] = field(default_factory=list)
    ran: int = 0  # cases whose forward returned (whatever it returned)

    @property
    def name(self) -> str:
        return self.spec.cls.__name__

    def add(self, check: str, status: Status, message: str, case: Case | None = None, details: list[str] = ()) -> None:
        label = None if case is None else case.label
        self.results.append(CheckResult(self.name, check, status, message, label, tuple(details)))

    def where(self, exc: BaseException) -> str:
        """`` (line 12 of sigmoid.py: return grad * s)`` when the error comes from the op's own code."""
        found = locate(exc, _source_files(self.spec.cls))
        if not found:
            return ""
        filename = Path(found.filename).name
        if not found.text or found.text.startswith("raise "):  # the message already says what the line says
            return f" (line {found.line} of {filename})"
        return f" (line {found.line} of {filename}: {found.text})"


def describe(cls: type[Function]) -> str:
    """The op's header line: its name, inputs and domains (or why it cannot be checked)."""
    try:
        return read_spec(cls).describe()
    except SpecError as exc:
        return f"cannot be checked: {exc}"


def check_op(cls: type[Function], seed: int = 0, exercise: Exercise | None = None) -> list[CheckResult]:
    """Run every check on one Function subclass.

    Args:
        cls: the op.
        seed: seeds every input drawn (each case has its own generator, so results
            do not depend on which other cases ran).
        exercise: compare with this exercise's reference; by default the exercise
            whose op name equals ``cls.name``, if any.

    Returns:
        The results, in the order the checks ran.
    """
    try:
        spec = read_spec(cls)
    except SpecError as exc:
        return [CheckResult(cls.__name__, SIGNATURE, "FAIL", str(exc))]
    run = _OpRun(spec, seed)
    exercise = exercise or exercise_for(cls.name)
    try:
        for number_, case in enumerate(make_cases(spec)):
            _check_case(run, case, np.random.default_rng([seed, number_]))
        _after_cases(run)
        if run.accepted:
            _check_composite(run)
            if exercise is not None and exercise.reference is not None:
                _check_reference(run, exercise)
                if exercise.linear_memory:
                    _check_memory(run, exercise)
    except _UnfinishedError as stop:
        run.results.append(stop.result)
    except Exception as exc:  # the student's code can fail in ways no check foresaw: report, never crash
        run.add(INTERNAL, "FAIL", f"checking stopped: {_error(exc)}{run.where(exc)}")
    return run.results


# ----------------------------------------------------------------------------- per case


def _check_case(run: _OpRun, case: Case, rng: np.random.Generator) -> None:
    spec = run.spec
    arrays = sample(spec, case, rng)
    given = [a.copy() for a in arrays]
    try:
        _, out = call_forward(spec, given)
    except NotImplementedError as exc:
        raise _UnfinishedError(_not_implemented(run, FORWARD, exc)) from None
    except Exception as exc:
        reason = f"forward rejects this input: {_error(exc)}{run.where(exc)}"
        run.skipped.append((case, reason))
        return
    run.ran += 1
    problem = _forward_problem(spec, case, out)
    if problem:
        run.add(FORWARD, "FAIL", problem[0], case, problem[1:])
        return
    out = np.asarray(out)
    run.add(FORWARD, "PASS", f"output {out.dtype} {shape_text(out.shape)}", case)
    changed = [spec.inputs[i].name for i, (a, b) in enumerate(zip(given, arrays)) if not _same(a, b)]
    if changed:
        run.add(
            INPUTS, "FAIL", f"forward modified its input {', '.join(changed)} in place", case,
            ["hint: forward receives the input tensors' own data; compute new arrays (x - m, not x -= m)"],
        )
    else:
        run.add(INPUTS, "PASS", "inputs unchanged", case)
    accepted = _Accepted(case, arrays, out.shape)
    run.accepted.append(accepted)
    upstream = rng.standard_normal(out.shape)
    grads = _check_backward(run, accepted, upstream)
    if grads is None:
        return
    _check_gradients(run, accepted, upstream, grads)
    _check_mutation(run, case, arrays, upstream)


def _forward_problem(spec: OpSpec, case: Case, out: Any) -> list[str]:
    """What is wrong with forward's return value, as [message, detail lines...]; empty if nothing."""
    if out is None:
        return ["forward returned None", "hint: did you forget the return statement?"]
    if isinstance(out, Tensor):
        return ["forward returned a Tensor", "hint: forward computes with numpy and returns an array (np.exp(x))"]
    if isinstance(out, (list, tuple)):
        return [f"forward returned a {type(out).__name__}", "hint: return one numpy array, not a list or tuple"]
    array = np.asarray(out)
    if array.dtype.kind not in "f":
        kind = {"i": "integer", "u": "integer", "b": "boolean"}.get(array.dtype.kind, str(array.dtype))
        return [
            f"forward returned {kind} values ({array.dtype})",
            "hint: the engine records only floating outputs, so no gradient would flow; compute in float64",
        ]
    if array.dtype != np.float64:
        return [
            f"forward returned {array.dtype} for float64 inputs",
            "hint: precision is lost and gradchecks become unreliable; keep the input's dtype (no astype/float32)",
        ]
    broadcast = _broadcast_shape(case.shapes)
    if broadcast is not None and not _reduces(array.shape, broadcast):
        return [
            f"forward returned shape {shape_text(array.shape)} for inputs of shape "
            + " and ".join(shape_text(s) for s in case.shapes),
            f"hint: expected {shape_text(broadcast)} (elementwise) or that shape with some axes reduced",
        ]
    if not np.all(np.isfinite(array)):
        domains = ", ".join(s.describe() for s in spec.inputs)
        return ["forward returned nan or inf", "hint: " + hints.nonfinite_forward_hint(domains)]
    return []


def _broadcast_shape(shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _reduces(shape: tuple[int, ...], full: tuple[int, ...]) -> bool:
    """`shape` is `full`, or `full` with some axes removed or kept with size 1."""
    if len(shape) == len(full) and all(s in (f, 1) for s, f in zip(shape, full)):
        return True
    position = 0
    for size in shape:  # a subsequence of full's axes
        while position < len(full) and full[position] != size:
            position += 1
        if position == len(full):
            return False
        position += 1
    return True


def _check_backward(run: _OpRun, accepted: _Accepted, upstream: np.ndarray) -> list[np.ndarray] | None:
    spec, case = run.spec, accepted.case
    try:
        grads = analytic(spec, accepted.arrays, upstream)
    except NotImplementedError as exc:
        raise _UnfinishedError(_not_implemented(run, BACKWARD, exc)) from None
    except MissingGradientError as missing:
        name = spec.inputs[missing.index].name
        run.add(
            BACKWARD, "FAIL", f"backward returned None for {name}, which needs a gradient", case,
            ["hint: return a gradient for every real input (None only for constant targets)"],
        )
        return None
    except RuntimeError as exc:  # the engine's verdict on the returned gradients, or a wrapped ValueError
        message = str(exc).strip()
        details = []
        hint = hints.backward_error_hint(exc, accepted.out_shape, list(case.shapes))
        if hint:
            details.append("hint: " + hint)
        run.add(BACKWARD, "FAIL", message + run.where(exc), case, details)
        return None
    except Exception as exc:
        hint = hints.backward_error_hint(exc, accepted.out_shape, list(case.shapes))
        details = ["hint: " + hint] if hint else []
        run.add(BACKWARD, "FAIL", f"backward raised {_error(exc)}{run.where(exc)}", case, details)
        return None
    run.add(BACKWARD, "PASS", "one gradient per input, shapes " + ", ".join(shape_text(g.shape) for g in grads), case)
    return grads


def _check_gradients(run: _OpRun, accepted: _Accepted, upstream: np.ndarray, grads: list[np.ndarray]) -> None:
    spec, case = run.spec, accepted.case
    worst: tuple[int, Comparison] | None = None
    errors = []
    for index, grad in zip(spec.real, grads):
        try:
            expected = numeric(spec, accepted.arrays, upstream, index)
        except Exception as exc:  # x +- eps left the op's domain, or forward is not a function of x alone
            run.add(
                GRADCHECK, "FAIL", f"forward raised {_error(exc)} at x +- 1e-6 for central differences{run.where(exc)}",
                case, ["hint: keep the sampled inputs away from the domain's edges with domain = (low, high)"],
            )
            return
        comparison = compare(grad, expected)
        errors.append(comparison.max_error)
        accepted.trivial = accepted.trivial or bool(np.all(np.abs(expected) < 1e-9))
        if not comparison.ok and worst is None:
            worst = (index, comparison)
    if worst is None:
        accepted.gradcheck_ok = True
        run.add(GRADCHECK, "PASS", f"max |analytic - numeric| {max(errors):.1e}", case)
        return
    accepted.gradcheck_ok = False
    index, comparison = worst
    name = spec.inputs[index].name
    position = comparison.worst
    details = [
        f"worst element: {name} {shape_text(case.shapes[index])} at index {position}: "
        f"analytic {number(comparison.analytic[position])} vs numeric {number(comparison.numeric[position])}"
    ]
    doubled = _analytic_or_none(spec, accepted.arrays, 2 * upstream, spec.real.index(index))
    x = accepted.arrays[index]
    batch_rows = int(np.prod(x.shape[:-1])) if x.ndim >= 2 else None
    found = hints.gradient_hints(
        comparison.analytic, comparison.numeric, doubled, upstream, accepted.out_shape, x, batch_rows
    )
    details += ["hint: " + h for h in found]
    run.add(GRADCHECK, "FAIL", f"the gradient of {name} is wrong", case, details)


def _analytic_or_none(spec: OpSpec, arrays: list[np.ndarray], upstream: np.ndarray, position: int) -> np.ndarray | None:
    try:
        return analytic(spec, arrays, upstream)[position]
    except Exception:
        return None


def _check_mutation(run: _OpRun, case: Case, arrays: list[np.ndarray], upstream: np.ndarray) -> None:
    """Call forward and backward directly, as the engine does, and look for arrays written in place."""
    spec = run.spec
    inputs = [a.copy() for a in arrays]
    ctx, out = call_forward(spec, inputs)
    out = out if isinstance(out, np.ndarray) else np.asarray(out)
    saved = _saved_arrays(ctx)
    watched: list[tuple[str, np.ndarray]] = [(f"input {spec.inputs[i].name}", a) for i, a in enumerate(inputs)]
    watched.append(("the forward's output", out))
    watched += saved
    grad = upstream.copy()
    watched.append(("grad", grad))
    before = [(label, array, array.copy()) for label, array in watched]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            spec.cls.backward(ctx, grad)
    except Exception as exc:
        run.add(MUTATION, "FAIL", f"backward raised {_error(exc)}{run.where(exc)}", case)
        return
    changed = [(label, array) for label, array, copy in before if not _same(array, copy)]
    if not changed:
        run.add(MUTATION, "PASS", "nothing modified", case)
        return
    labels = [label for label, _ in changed]
    for label, array in changed:
        if label.startswith("ctx") and np.shares_memory(array, out):  # one array, two names: say so once
            labels.remove(label)
            if "the forward's output" in labels:
                labels[labels.index("the forward's output")] = f"the forward's output (saved as {label})"
    details = []
    if any(label == "grad" for label, _ in changed):
        details.append(
            "hint: grad is the upstream gradient, which the engine may pass on to other ops or give as a "
            "read-only view: compute a new array (return grad * local), never grad *= local"
        )
    if any(label != "grad" for label, _ in changed):
        details.append(
            "hint: arrays saved in forward must survive backward unchanged (backward may run twice, and the "
            "output is the value the user sees). `b = a` does not copy, so `b[y] -= 1` changes a too, like the "
            "notebook's grad_z = a; grad_z[y] -= 1: write a new array, e.g. a - y, or a.copy() first"
        )
    run.add(MUTATION, "FAIL", "backward modified " + ", ".join(labels) + " in place", case, details)


def _saved_arrays(ctx: Any) -> list[tuple[str, np.ndarray]]:
    saved = [(f"ctx.saved_tensors[{i}]", a) for i, a in enumerate(ctx.saved_tensors) if isinstance(a, np.ndarray)]
    for key, value in vars(ctx).items():
        if isinstance(value, np.ndarray) and not key.startswith("_"):
            saved.append((f"ctx.{key}", value))
    return saved


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _error(exc: BaseException) -> str:
    """``ValueError: message``, without the trailing spaces numpy leaves in some messages."""
    return f"{type(exc).__name__}: {str(exc).strip()}"


def _not_implemented(run: _OpRun, check: str, exc: BaseException) -> CheckResult:
    method = "forward" if check == FORWARD else "backward"
    return CheckResult(
        run.name, check, "FAIL",
        f"{method} is not implemented yet (it raises NotImplementedError){run.where(exc)}",
        details=(f"hint: replace the raise NotImplementedError in {method} with the formula from the task text",),
    )


# ---------------------------------------------------------------------------- whole op


def _after_cases(run: _OpRun) -> None:
    """Report skipped cases; fail an op that accepts nothing; add hints that need several cases."""
    if not run.ran:
        reasons = [f"{case.label}: {reason}" for case, reason in run.skipped]
        run.add(FORWARD, "FAIL", "forward accepts none of the tested inputs", details=reasons)
        return
    for case, reason in run.skipped:
        run.results.append(CheckResult(run.name, SHAPE, "SKIP", reason, case.label))
    # A pass where the true gradient is ~0 (e.g. softmax along an axis of length 1) would
    # "pass" almost any backward, so it is no evidence that a layout is handled.
    passed = {a.case.kind for a in run.accepted if a.gradcheck_ok and not a.trivial}
    failed = {a.case.kind for a in run.accepted if a.gradcheck_ok is False}
    extra = hints.cross_case_hint(passed, failed)
    if extra:  # it replaces "no classic slip recognised", never a specific hint
        fallback = "hint: " + hints.FALLBACK
        run.results = [
            replace(r, details=(*(d for d in r.details if d != fallback), "hint: " + extra))
            if r.check == GRADCHECK and r.status == "FAIL" and fallback in r.details
            else r
            for r in run.results
        ]


def _check_composite(run: _OpRun) -> None:
    """``(op(x) * c).sum()`` through Tensor.backward, twice: x.grad right, then exactly doubled."""
    spec = run.spec
    batch = [a for a in run.accepted if BATCH in a.case.shapes] or run.accepted
    accepted = max(batch, key=lambda a: sum(int(np.prod(s)) for s in a.case.shapes))
    on = accepted.case.label
    rng = np.random.default_rng([run.seed, 999])
    expression = f"({run.name}.apply({', '.join(s.name for s in spec.inputs)}) * c).sum()"
    tensors = [Tensor(a, requires_grad=s.differentiable) for a, s in zip(accepted.arrays, spec.inputs)]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = spec.cls.apply(*tensors)
            c = rng.standard_normal(out.shape)
            loss = (out * c).sum()
            loss.backward()
            first = [None if tensors[i].grad is None else tensors[i].grad.copy() for i in spec.real]
            loss.backward()
            second = [tensors[i].grad for i in spec.real]
    except Exception as exc:
        message = f"{expression} on {on} failed: {_error(exc)}{run.where(exc)}"
        run.add(COMPOSITE, "FAIL", message)
        return
    gradcheck_failed = any(r.check == GRADCHECK and r.status == "FAIL" for r in run.results)
    for position, i in enumerate(spec.real):
        name, grad = spec.inputs[i].name, first[position]
        if grad is None:
            run.add(COMPOSITE, "FAIL", f"after {expression}.backward(), {name}.grad is None")
            return
        try:
            comparison = compare(grad, numeric(spec, accepted.arrays, c, i))
        except Exception as exc:
            run.add(COMPOSITE, "FAIL", f"forward raised {_error(exc)} during central differences{run.where(exc)}")
            return
        if not comparison.ok:
            at = comparison.worst
            details = [f"worst element: index {at}: {number(grad[at])} vs numeric {number(comparison.numeric[at])}"]
            if gradcheck_failed:
                details.append("hint: the same error as in gradcheck, now inside a graph: fix that first")
            run.add(COMPOSITE, "FAIL", f"after {expression}.backward() on {on}, {name}.grad is wrong", details=details)
            return
        if not np.allclose(second[position], 2 * grad, rtol=1e-10, atol=1e-12):
            run.add(
                COMPOSITE, "FAIL", f"a second backward() over the same graph added a different gradient to {name}.grad",
                details=["hint: backward changed something forward saved, so the graph cannot be used twice"],
            )
            return
    run.add(COMPOSITE, "PASS", f"{expression} on {on}: right gradients, twice over the same graph")


def _check_reference(run: _OpRun, exercise: Exercise) -> None:
    """Forward values equal the exercise's reference on every case; values and gradients on its special inputs."""
    spec = run.spec
    reference = exercise.reference
    assert reference is not None
    what = f"exercise {exercise.number} ({exercise.title})"
    if len(spec.inputs) != exercise.inputs:
        run.add(REFERENCE, "FAIL", f"{what} takes {exercise.inputs} input(s); this forward takes {len(spec.inputs)}")
        return
    problems: list[str] = []
    compared = []
    for accepted in run.accepted:
        problem = _compare_forward(spec, reference, accepted.arrays, accepted.case.label)
        if problem:
            problems.append(problem)
        compared.append(accepted.case.label)
    for case, reason in run.skipped:
        if _reference_accepts(spec, reference, case, run.seed):
            problems.append(f"{case.label}: the exercise's op accepts this input, but {reason}")
    for special in exercise.specials:
        problem, raised = _compare_special(spec, reference, special.inputs)
        if raised:  # not a matter of the special values: say what happened, not what they test
            problems.append(problem)
        elif problem:
            problems.append(f"on {special.why}: {problem}")
    if problems:
        run.add(REFERENCE, "FAIL", f"differs from {what}: {problems[0]}", details=[f"also: {p}" for p in problems[1:]])
    else:
        checked = len(compared) + len(exercise.specials)
        run.add(REFERENCE, "PASS", f"forward matches {what} on {checked} inputs" + (
            ", gradients too on its special inputs" if exercise.specials else ""
        ))


def _reference_value(reference: Callable[..., Tensor], spec: OpSpec, arrays: list[np.ndarray]) -> np.ndarray:
    args = [Tensor(a) if s.differentiable else a for a, s in zip(arrays, spec.inputs)]
    with no_grad(), np.errstate(all="ignore"):
        return reference(*args).data


def _reference_accepts(spec: OpSpec, reference: Callable[..., Tensor], case: Case, seed: int) -> bool:
    try:
        _reference_value(reference, spec, sample(spec, case, np.random.default_rng(seed)))
    except Exception:
        return False
    return True


def _compare_forward(
    spec: OpSpec, reference: Callable[..., Tensor], arrays: list[np.ndarray], label: str
) -> str | None:
    try:
        want = _reference_value(reference, spec, arrays)
    except Exception:
        return None  # the exercise's op does not take this input either: nothing to compare
    try:
        _, got = call_forward(spec, [a.copy() for a in arrays])
    except Exception as exc:
        return f"{label}: forward raised {_error(exc)}"
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        return f"{label}: forward returns shape {shape_text(got.shape)}, the exercise asks for {shape_text(want.shape)}"
    if not np.allclose(got, want, rtol=1e-7, atol=1e-10):
        at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape))
        return f"{label}: forward gives {number(got[at])} at index {at}, the exercise asks for {number(want[at])}"
    return None


def _compare_special(
    spec: OpSpec, reference: Callable[..., Tensor], arrays: tuple[np.ndarray, ...]
) -> tuple[str | None, bool]:
    """What differs from the reference on one special input, and whether it was the op raising."""
    label = f"input {shape_text(arrays[0].shape)}"
    try:
        call_forward(spec, [a.copy() for a in arrays])
    except Exception as exc:
        return f"{label}: forward raised {_error(exc)}", True
    problem = _compare_forward(spec, reference, list(arrays), label)
    if problem:
        return problem, False
    want_tensors = [Tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, spec.inputs)]
    with np.errstate(all="ignore"):
        out = reference(*[t if s.differentiable else a for t, a, s in zip(want_tensors, arrays, spec.inputs)])
        out.backward(np.ones(out.shape))
    try:
        got = analytic(spec, list(arrays), np.ones(out.shape))
    except Exception as exc:
        return f"{label}: backward raised {_error(exc)}", True
    for position, i in enumerate(spec.real):
        want, mine = want_tensors[i].grad, got[position]
        if not np.allclose(mine, want, rtol=1e-7, atol=1e-10):
            distance = np.where(np.isfinite(mine), np.abs(mine - want), np.inf)
            at = tuple(int(k) for k in np.unravel_index(int(np.argmax(distance)), want.shape))
            return (
                f"the gradient of {spec.inputs[i].name} at index {at} (value {number(arrays[i][at])}) is "
                f"{number(mine[at])}, the exercise asks for {number(want[at])}"
            ), False
    return None, False


def _check_memory(run: _OpRun, exercise: Exercise) -> None:
    """backward's peak memory on a (2, 1000) input must be a small multiple of the input's size."""
    spec = run.spec
    shape = (2, 1000)
    rng = np.random.default_rng([run.seed, 1000])
    arrays = [sample_input(s, shape, rng) for s in spec.inputs]
    try:
        peak = _backward_peak_memory(spec, arrays, rng)
    except Exception as exc:
        run.add(MEMORY, "FAIL", f"backward on a {shape} input raised {_error(exc)}{run.where(exc)}")
        return
    size = arrays[0].nbytes
    limit = max(64 * size, 1 << 20)  # generous for temporaries; a (k, k) matrix per row is far above it
    if peak > limit:
        jacobian = shape[-1] ** 2 * 8
        run.add(
            MEMORY, "FAIL",
            f"backward on a {shape} input allocated {peak / 1e6:.1f} MB at its peak; the input is {size / 1e3:.0f} kB",
            details=[
                f"hint: one (k, k) matrix is {jacobian / 1e6:.0f} MB here. Compute the vector-Jacobian product "
                "directly, e.g. a * (g - (g * a).sum(axis=-1, keepdims=True)), never diag(a) - a a^T"
            ],
        )
    else:
        run.add(MEMORY, "PASS", f"backward on a {shape} input peaks at {peak / 1e3:.0f} kB: no (k, k) matrix is built")


def _backward_peak_memory(spec: OpSpec, arrays: list[np.ndarray], rng: np.random.Generator) -> int:
    """Bytes allocated at the peak of one backward pass, beyond what was allocated before it."""
    tensors = [Tensor(a, requires_grad=s.differentiable) for a, s in zip(arrays, spec.inputs)]
    out = spec.cls.apply(*tensors)
    upstream = rng.standard_normal(out.shape)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        with np.errstate(all="ignore"):
            autograd.grad(out, [tensors[i] for i in spec.real], upstream, allow_unused=True)
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _source_files(cls: type[Function]) -> set[str]:
    files = set()
    for method in ("forward", "backward"):
        function = getattr(cls, method, None)
        code = getattr(function, "__code__", None) or getattr(getattr(function, "__func__", None), "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return files
