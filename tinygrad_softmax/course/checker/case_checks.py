"""The checks run on every input case (scalar, vectors, column, batches, broadcasting pairs).

- ``forward``: it runs and returns a float64 array of a sensible shape, finite on the
  domain. A case whose forward raises is a SKIP (the op does not accept that input);
- ``inputs kept``: forward did not write into its inputs;
- ``backward``: through the engine, one gradient per input that can be summed to the
  input's shape (the engine's verdict, read from `BackwardError`'s fields);
- ``gradcheck``: the gradient equals float64 central differences of the op's forward,
  and, graded as an exercise, the exercise's own gradient;
- ``no mutation``: backward left the saved arrays, the inputs and the output alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...autograd import BackwardError
from . import hints
from .remote import ForwardResult, Modified, StudentError
from .report import BACKWARD, FORWARD, GRADCHECK, INPUTS, MUTATION, SHAPE, CheckResult
from .sampling import Case, OpSpec, sample, shape_text
from .state import (
    Accepted,
    OpRun,
    UnfinishedError,
    case_seed,
    compare,
    error_text,
    numeric_gradients,
    reference_gradient,
    reference_value,
    upstream_for,
)


def check_case(run: OpRun, number: int, case: Case) -> None:
    """Every per-case check of one input case."""
    spec = run.spec
    arrays = sample(spec, case, np.random.default_rng([run.seed, number]))
    run.session.doing = f"forward on {case.label}"
    result = run.session.forward(spec.class_name, arrays, spec.needs)
    if result.error is not None:
        if result.error.not_implemented:
            raise UnfinishedError(not_implemented(run, FORWARD, result.error))
        if result.error.fatal:  # sys.exit() in forward is no way of rejecting an input
            run.ran += 1
            run.add(FORWARD, "FAIL", f"forward raised {error_text(result.error, run.name)}", case,
                    ["hint: forward must return an array or raise an ordinary exception (ValueError)"])
            return
        run.skipped.append((case, f"forward rejects this input: {error_text(result.error, run.name)}"))
        return
    run.ran += 1
    problem = forward_problem(spec, case, result)
    if problem:
        run.add(FORWARD, "FAIL", problem[0], case, problem[1:])
        return
    assert result.out is not None
    run.add(FORWARD, "PASS", f"output {result.out.dtype} {shape_text(result.out.shape)}", case)
    changed = [spec.inputs[i].name for i in result.changed if i < len(spec.inputs)]
    if changed:
        run.add(
            INPUTS, "FAIL", f"forward modified its input {', '.join(changed)} in place", case,
            ["hint: forward receives the input tensors' own data; compute new arrays (x - m, not x -= m)"],
        )
    else:
        run.add(INPUTS, "PASS", "inputs unchanged", case)
    accepted = Accepted(case, arrays, result.out)
    if run.graded:
        assert run.exercise is not None
        accepted.want = reference_value(run.exercise, spec, arrays)
        accepted.matches = accepted.want is not None and accepted.want.shape == result.out.shape \
            and bool(np.allclose(result.out, accepted.want, rtol=1e-7, atol=1e-10))
    run.accepted.append(accepted)
    seed = case_seed(run.seed, number)
    accepted.upstream = upstream_for(result.out.shape, seed)
    if result.id is None:
        return
    modified = _check_backward(run, accepted, result)
    if accepted.grads is not None:
        _check_gradients(run, accepted)
        _report_mutation(run, case, modified)


def forward_problem(spec: OpSpec, case: Case, result: ForwardResult) -> list[str]:
    """What is wrong with forward's return value, as [message, detail lines...]; empty if nothing."""
    if result.raw == "None":
        return ["forward returned None", "hint: did you forget the return statement?"]
    if result.raw == "Tensor":
        return ["forward returned a Tensor", "hint: forward computes with numpy and returns an array (np.exp(x))"]
    if result.raw in ("list", "tuple"):
        return [f"forward returned a {result.raw}", "hint: return one numpy array, not a list or tuple"]
    array = result.out
    if array is None:
        return [f"forward returned {result.raw} of dtype {_dtype_name(result.dtype)}",
                "hint: return a float64 numpy array"]
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


def _dtype_name(text: str) -> str:
    try:
        return str(np.dtype(text))
    except TypeError:
        return "unknown"


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


def _check_backward(run: OpRun, accepted: Accepted, result: ForwardResult) -> list[Modified]:
    """Sets ``accepted.grads`` when backward gives a usable gradient per input; returns what it modified."""
    spec, case = run.spec, accepted.case
    assert result.id is not None and accepted.upstream is not None
    run.session.doing = f"backward on {case.label}"
    reply = run.session.backward(result.id, accepted.upstream, len(spec.real), run.proxy)
    error = reply.error
    if isinstance(error, StudentError) and error.not_implemented:
        raise UnfinishedError(not_implemented(run, BACKWARD, error))
    if error is not None:
        hint = hints.backward_error_hint(error, accepted.out.shape, list(case.shapes), result.saved)
        message = error_text(error, run.name)
        if isinstance(error, StudentError):
            message = f"backward raised {message}"
        run.add(BACKWARD, "FAIL", message, case, ["hint: " + hint] if hint else [])
        return []
    assert reply.grads is not None
    for i, g in zip(spec.real, reply.grads):
        if g is None:
            run.add(
                BACKWARD, "FAIL", f"backward returned None for {spec.inputs[i].name}, which needs a gradient", case,
                ["hint: return a gradient for every real input (None only for constant targets)"],
            )
            return []
    grads = [np.asarray(g, dtype=np.float64) for g in reply.grads if g is not None]
    run.add(BACKWARD, "PASS", "one gradient per input, shapes " + ", ".join(shape_text(g.shape) for g in grads), case)
    accepted.grads = grads
    return reply.modified


def _report_mutation(run: OpRun, case: Case, modified: list[Modified]) -> None:
    """The arrays backward wrote into, as the child saw them change (its own copies: see the docs)."""
    if not modified:
        run.add(MUTATION, "PASS", "nothing modified", case)
        return
    labels: list[str] = []
    output_alias = None
    for m in modified:
        if m.kind == "input" and isinstance(m.key, int) and m.key < len(run.spec.inputs):
            labels.append(f"input {run.spec.inputs[m.key].name}")
        elif m.kind == "saved":
            label = f"ctx.saved_tensors[{m.key}]"
            output_alias = output_alias or (label if m.is_output else None)
            if not m.is_output:
                labels.append(label)
        elif m.kind == "attribute":
            labels.append(f"ctx.{m.key}")
        elif m.kind == "output":
            labels.append("the forward's output")
    if output_alias and "the forward's output" in labels:  # one array, two names: say so once
        labels[labels.index("the forward's output")] = f"the forward's output (saved as {output_alias})"
    elif output_alias:
        labels.append(output_alias)
    run.add(MUTATION, "FAIL", "backward modified " + ", ".join(labels) + " in place", case, [
        "hint: arrays saved in forward must survive backward unchanged (backward may run twice, and the "
        "output is the value the user sees). `b = a` does not copy, so `b[y] -= 1` changes a too, like the "
        "notebook's grad_z = a; grad_z[y] -= 1: write a new array, e.g. a - y, or a.copy() first"
    ])


def _check_gradients(run: OpRun, accepted: Accepted) -> None:
    """Central differences of the op's own forward; graded as an exercise, the exercise's gradient too."""
    spec, case = run.spec, accepted.case
    assert accepted.grads is not None and accepted.upstream is not None
    run.session.doing = f"central differences on {case.label}"
    try:
        numeric = numeric_gradients(run, accepted.arrays, accepted.upstream)
    except (StudentError, BackwardError) as exc:  # x +- eps left the op's domain, or forward is not a function of x
        run.add(
            GRADCHECK, "FAIL", f"forward raised {error_text(exc, run.name)} at x +- 1e-6 for central differences",
            case, ["hint: keep the sampled inputs away from the domain's edges with domain = (low, high)"],
        )
        accepted.gradcheck_ok = False
        return
    accepted.trivial = all(bool(np.all(np.abs(n) < 1e-9)) for n in numeric)
    comparisons = [compare(g, n) for g, n in zip(accepted.grads, numeric)]
    expected, against = numeric, "numeric"
    if all(c.ok for c in comparisons) and run.graded and accepted.matches:
        assert run.exercise is not None
        expected = reference_gradient(run.exercise, spec, accepted.arrays, accepted.upstream)
        comparisons = [compare(g, e) for g, e in zip(accepted.grads, expected)]
        against = f"exercise {run.exercise.number}'s"
    bad = next((k for k, c in enumerate(comparisons) if not c.ok), None)
    if bad is None:
        accepted.gradcheck_ok = True
        error = max((c.max_error for c in comparisons), default=0.0)
        also = f"; equals exercise {run.exercise.number}'s gradient" if run.graded and accepted.matches else ""
        run.add(GRADCHECK, "PASS", f"max |analytic - numeric| {error:.1e}{also}", case)
        return
    accepted.gradcheck_ok = False
    index = spec.real[bad]
    name, analytic, want = spec.inputs[index].name, accepted.grads[bad], expected[bad]
    at = comparisons[bad].worst
    details = [
        f"worst element: {name} {shape_text(case.shapes[index])} at index {at}: "
        f"analytic {hints.number(analytic[at])} vs {against} {hints.number(want[at])}"
    ]
    if against != "numeric":
        details.append("central differences of your forward agree with your backward here, but the exercise's "
                       "gradient differs: is forward the exercise's function at every point?")
    x = accepted.arrays[index]
    found = hints.gradient_hints(
        analytic, want, _doubled(run, accepted, bad), accepted.upstream, accepted.out.shape, x,
        int(np.prod(x.shape[:-1])) if x.ndim >= 2 else None, _slips(run, accepted) if bad == 0 else (),
    )
    details += ["hint: " + h for h in found]
    message = f"the gradient of {name} is wrong" if against == "numeric" else f"the gradient of {name} differs " \
        f"from {against}"
    run.add(GRADCHECK, "FAIL", message, case, details)


def _doubled(run: OpRun, accepted: Accepted, position: int) -> np.ndarray | None:
    """The analytic gradient again, with the upstream gradient doubled, on a fresh forward."""
    assert accepted.upstream is not None
    result = run.session.forward(run.spec.class_name, accepted.arrays, run.spec.needs)
    if result.id is None:
        return None
    reply = run.session.backward(result.id, 2 * accepted.upstream, len(run.spec.real), run.proxy)
    if reply.grads is None or reply.grads[position] is None:
        return None
    return np.asarray(reply.grads[position], dtype=np.float64)


def _slips(run: OpRun, accepted: Accepted) -> list[tuple[np.ndarray, str]]:
    """What each of the exercise's classic slips gives on this case."""
    if not run.graded:
        return []
    assert run.exercise is not None and accepted.upstream is not None
    found = []
    for slip in run.exercise.slips:
        try:
            with np.errstate(all="ignore"):
                wrong = np.asarray(slip.gradient(accepted.arrays, accepted.upstream), dtype=np.float64)
        except (ValueError, TypeError, IndexError):
            continue
        found.append((wrong, slip.hint))
    return found


def not_implemented(run: OpRun, check: str, error: StudentError) -> CheckResult:
    method = "forward" if check == FORWARD else "backward"
    return CheckResult(
        run.name, check, "FAIL",
        f"{method} is not implemented yet (it raises NotImplementedError){error.where()}",
        details=(f"hint: replace the raise NotImplementedError in {method} with the formula from the task text",),
    )


def after_cases(run: OpRun) -> None:
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
    if extra:  # it replaces "no classic slip recognised" or "zeros", never a specific hint
        vague = {"hint: " + hints.FALLBACK, "hint: " + hints.ZERO}
        run.results = [
            replace(r, details=(*(d for d in r.details if d not in vague), "hint: " + extra))
            if r.check == GRADCHECK and r.status == "FAIL" and vague & set(r.details)
            else r
            for r in run.results
        ]
