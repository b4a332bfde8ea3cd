"""The checks of an op graded as an exercise: ``reference`` (the domain, forward values, special
inputs) and ``memory`` (no (k, k) matrix in backward).

The exercise's values and gradients are computed here, in the parent, from the library's ops;
the child only runs the student's forward and backward on the inputs chosen here.
"""

from __future__ import annotations

import numpy as np

from . import hints
from .exercises import Exercise, Special
from .report import MEMORY, REFERENCE
from .sampling import OpSpec, read_domain, sample, sample_input, shape_text
from .state import OpRun, error_text, reference_gradient, reference_value

TRACED_LIMIT_FACTOR = 64  # tracemalloc's peak may be this many times the input (temporaries), and at least 1 MB
RSS_LIMIT = 6 << 20  # resident memory a backward may add: one (1000, 1000) float64 matrix is 8 MB


def exercise_spec(run_spec: OpSpec, exercise: Exercise, declared: list[tuple[str, float, float]] | None) -> OpSpec:
    """The op's inputs with the exercise's domain (a target kind the class asks for, if the exercise allows it)."""
    inputs = []
    for k, (entry, spec) in enumerate(zip(exercise.domain, run_spec.inputs)):
        if isinstance(entry, str):
            kind = entry
            if declared is not None and declared[k][0] in exercise.targets:
                kind = declared[k][0]
            inputs.append(type(spec)(spec.name, kind))
        else:
            inputs.append(type(spec)(spec.name, "real", float(entry[0]), float(entry[1])))
    return OpSpec(run_spec.class_name, run_spec.op_name, tuple(inputs))


def domain_problems(names: list[str], exercise: Exercise, domain: object, shown: str | None) -> list[str]:
    """Why the class's own ``domain`` does not fit the exercise's: narrower, or a target where a real input is."""
    if domain is None and shown is None:
        return []
    what = f"exercise {exercise.number}"
    try:
        if shown is not None:
            raise ValueError(shown)
        declared = read_domain(domain, names)
    except Exception as exc:  # SpecError, or a domain that is no plain data
        return [f"the class's domain cannot be read ({exc}); {what} draws the inputs itself: remove it or fix it"]
    problems = []
    for name, (kind, low, high), entry in zip(names, declared, exercise.domain):
        if isinstance(entry, str):
            if kind not in exercise.targets:
                problems.append(f"{name} is {what}'s constant {entry} target, but the class's domain makes it a real "
                                f"input; write domain = ((low, high), {entry!r})")
        elif kind != "real":
            problems.append(f"{name} is a real input of {what}, but the class's domain makes it a {kind} target")
        elif low > entry[0] or high < entry[1]:
            problems.append(
                f"the class's domain draws {name} from ({low:g}, {high:g}), which does not cover {what}'s "
                f"({entry[0]:g}, {entry[1]:g}): the exercise decides where the op is tested, and an op must be right "
                f"on all of it; write domain = ({entry[0]:g}, {entry[1]:g}) (or no domain)"
            )
    return problems


def check_reference(run: OpRun) -> None:
    """The domain, forward values on every case, and values and gradients on the exercise's special inputs."""
    exercise = run.exercise
    assert exercise is not None and exercise.reference is not None
    spec = run.spec
    what = f"exercise {exercise.number} ({exercise.title})"
    if len(spec.inputs) != exercise.inputs:
        run.add(REFERENCE, "FAIL", f"{what} takes {exercise.inputs} input(s); this forward takes {len(spec.inputs)}")
        return
    problems = list(run.domain_problems)
    extra: list[str] = []
    ratios = []
    rows = ""
    for accepted in run.accepted:
        want, got, label = accepted.want, accepted.out, accepted.case.label
        if want is None:
            continue
        if exercise.number == 6 and got.shape == want.shape == () and want != 0:
            ratios.append((accepted.case.shapes[0], float(got / want)))
        if accepted.matches:
            continue
        if got.shape != want.shape:
            problems.append(f"{label}: forward returns shape {shape_text(got.shape)}, the exercise asks for "
                            f"{shape_text(want.shape)}")
            extra.append(hints.shape_hint(got.shape, want.shape) or "")
            continue
        at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape)) if got.ndim else ()
        problems.append(f"{label}: forward gives {hints.number(got[at])} at index {at}, the exercise asks for "
                        f"{hints.number(want[at])}")
        if exercise.number == 5 and accepted.case.kind in ("batch", "3-d") and not rows:  # a column tells no axes
            rows = hints.softmax_rows_hint(got) or ""
            extra.append(rows)
    if ratios:
        extra.append(hints.loss_ratio_hint(ratios) or "")
    for case, reason in run.skipped:
        arrays = sample(spec, case, np.random.default_rng(run.seed))
        if reference_value(exercise, spec, arrays) is not None:
            problems.append(f"{case.label}: the exercise's op accepts this input, but {reason}")
    notes = []
    for special in exercise.specials:
        problem, hint, note = _special(run, exercise, special)
        if problem:
            problems.append(problem)
        if hint:
            extra.append(hint)
        if note:
            notes.append(note)
    details = [f"also: {p}" for p in problems[1:]] + [f"hint: {h}" for h in dict.fromkeys(extra) if h]
    if problems:
        run.add(REFERENCE, "FAIL", f"differs from {what}: {problems[0]}", details=details)
        return
    checked = sum(a.want is not None for a in run.accepted) + len(exercise.specials)
    message = f"forward matches {what} on {checked} inputs"
    if exercise.specials:
        message += ", gradients too on its special inputs" if not notes else f"; {notes[0]}"
    run.add(REFERENCE, "PASS", message)


def _special(run: OpRun, exercise: Exercise, special: Special) -> tuple[str | None, str | None, str | None]:
    """(problem, hint, note) on one special input: forward's values, then the gradient for upstream ones."""
    spec, arrays = run.spec, list(special.inputs)
    label = f"input {shape_text(arrays[0].shape)}"
    run.session.doing = f"the reference check on {special.why}"
    result = run.session.forward(spec.class_name, arrays, spec.needs)
    if result.error is not None or result.out is None:
        why = error_text(result.error, run.name) if result.error else f"returned {result.raw}"
        return f"{label}: forward raised {why}", None, None
    want = reference_value(exercise, spec, arrays)
    assert want is not None
    got = result.out
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-7, atol=1e-10):
        hint = hints.overflow_hint(got, reduces=got.ndim < arrays[0].ndim) if special.overflow else None
        if got.shape != want.shape:
            return f"on {special.why}: forward returns shape {shape_text(got.shape)}, the exercise asks for " \
                f"{shape_text(want.shape)}", hint, None
        with np.errstate(all="ignore"):
            distance = np.where(np.isfinite(got), np.abs(got - want), np.inf)
        at = tuple(int(i) for i in np.unravel_index(int(np.argmax(distance)), got.shape)) if got.ndim else ()
        return (f"on {special.why}: forward gives {hints.number(got[at])} at index {at}, the exercise asks for "
                f"{hints.number(want[at])}"), hint, None
    if result.id is None:
        return None, None, None
    ones = np.ones(got.shape)
    reply = run.session.backward(result.id, ones, len(spec.real), run.proxy)
    if reply.grads is None or any(g is None for g in reply.grads):
        return None, None, "gradients on its special inputs not compared: backward fails there (see backward)"
    expected = reference_gradient(exercise, spec, arrays, ones)
    for position, i in enumerate(spec.real):
        mine, want_grad = np.asarray(reply.grads[position], dtype=np.float64), expected[position]
        if mine.shape != want_grad.shape or not np.allclose(mine, want_grad, rtol=1e-7, atol=1e-10):
            if mine.shape != want_grad.shape:
                return f"on {special.why}: the gradient of {spec.inputs[i].name} has shape {mine.shape}", None, None
            with np.errstate(all="ignore"):
                distance = np.where(np.isfinite(mine), np.abs(mine - want_grad), np.inf)
            at = tuple(int(k) for k in np.unravel_index(int(np.argmax(distance)), want_grad.shape))
            hint = None
            if special.overflow and not np.all(np.isfinite(mine)):
                hint = ("the gradient is not finite on huge logits: compute it from the saved, stable output "
                        "(a, or exp(x - out)), not from exp(x) again")
            return (f"on {special.why}: the gradient of {spec.inputs[i].name} at index {at} (value "
                    f"{hints.number(arrays[i][at])}) is {hints.number(mine[at])}, the exercise asks for "
                    f"{hints.number(want_grad[at])}"), hint, None
    return None, None, None


def check_memory(run: OpRun) -> None:
    """backward's memory on a (2, 1000) input must be a small multiple of the input's size.

    Two measures: the peak of what Python allocated (tracemalloc, in the child) and, where the
    kernel reports it (Linux), the growth of the child's peak resident memory, read by the
    parent. A (k, k) matrix per row shows in both; both must stay under their limits.
    """
    spec, shape = run.spec, (2, 1000)
    rng = np.random.default_rng([run.seed, 1000])
    arrays = [sample_input(s, shape, rng) for s in spec.inputs]
    run.session.doing = f"the memory check on a {shape} input"
    result = run.session.forward(spec.class_name, arrays, spec.needs)
    if result.error is not None or result.out is None or result.id is None:
        why = error_text(result.error, run.name) if result.error else f"forward returned {result.raw}"
        run.add(MEMORY, "FAIL", f"forward on a {shape} input failed: {why}")
        return
    upstream = rng.standard_normal(result.out.shape)
    ident = result.id
    reply, resident = run.session.runner.measure_peak(
        lambda: run.session.backward(ident, upstream, len(spec.real), run.proxy, measure=True)
    )
    if reply.error is not None:  # already a backward FAIL: no memory to measure
        run.add(MEMORY, "NOT RUN", f"not run: backward fails on a {shape} input ({error_text(reply.error, run.name)})")
        return
    size = arrays[0].nbytes
    peak = reply.peak if reply.peak is not None else 0
    traced_limit = max(TRACED_LIMIT_FACTOR * size, 1 << 20)  # generous for temporaries
    too_much = peak > traced_limit or (resident is not None and resident > RSS_LIMIT)
    if too_much:
        shown = max(peak, resident or 0)
        jacobian = shape[-1] ** 2 * 8
        run.add(
            MEMORY, "FAIL",
            f"backward on a {shape} input allocated {shown / 1e6:.1f} MB at its peak; the input is {size / 1e3:.0f} kB",
            details=[
                f"hint: one (k, k) matrix is {jacobian / 1e6:.0f} MB here. Compute the vector-Jacobian product "
                "directly, e.g. a * (g - (g * a).sum(axis=-1, keepdims=True)), never diag(a) - a a^T"
            ],
        )
    else:
        run.add(MEMORY, "PASS", f"backward on a {shape} input peaks at {peak / 1e3:.0f} kB: no (k, k) matrix is built")
