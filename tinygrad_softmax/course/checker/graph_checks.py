"""``composite``: the op inside graphs the parent builds with its own engine.

On the batch case: ``(op(x) * c).sum()`` with ``Tensor.backward`` twice over the same graph
(the gradient right, then exactly doubled), then the op used twice in one graph,
``op(op(x))`` and ``op(x) * op(y)``, which an op keeping its state on the class instead of
on ``ctx`` gets wrong. The op's forward and backward run in the child; the graph, the
gradients that flow through it and every comparison are the parent's.
"""

from __future__ import annotations

import numpy as np

from ...autograd import BackwardError, grad
from ...gradcheck import GradcheckError, gradcheck
from ...tensor import Tensor
from . import hints
from .remote import StudentError
from .report import COMPOSITE, GRADCHECK
from .sampling import BATCH, sample
from .state import Accepted, OpRun, compare, error_text, numeric_gradients, reference_gradient

_ERRORS = (StudentError, BackwardError)


def check_composite(run: OpRun) -> None:
    """The op inside bigger graphs; one PASS, or the first failure."""
    with_grads = [a for a in run.accepted if a.grads is not None] or run.accepted
    batch = [a for a in with_grads if BATCH in a.case.shapes] or with_grads
    accepted = max(batch, key=lambda a: sum(int(np.prod(s)) for s in a.case.shapes))
    run.session.doing = f"the composite check on {accepted.case.label}"
    rng = np.random.default_rng([run.seed, 999])
    if not _twice_over_one_graph(run, accepted, rng):
        return
    reused = _used_twice(run, accepted, rng)
    if reused is None:
        return
    on = accepted.case.label
    run.add(COMPOSITE, "PASS", f"{_expression(run)} on {on}: right gradients, twice over the same graph; "
            + reused)


def _expression(run: OpRun) -> str:
    return f"({run.name}.apply({', '.join(s.name for s in run.spec.inputs)}) * c).sum()"


def _twice_over_one_graph(run: OpRun, accepted: Accepted, rng: np.random.Generator) -> bool:
    spec, on, expression = run.spec, accepted.case.label, _expression(run)
    tensors = run.input_tensors(accepted.arrays)
    try:
        out = run.proxy.apply(*tensors)
        c = rng.standard_normal(out.shape)
        loss = (out * c).sum()
        loss.backward()
        first = [None if tensors[i].grad is None else tensors[i].grad.copy() for i in spec.real]
        loss.backward()
        second = [tensors[i].grad for i in spec.real]
    except _ERRORS as exc:
        run.add(COMPOSITE, "FAIL", f"{expression} on {on} failed: {error_text(exc, run.name)}")
        return False
    gradcheck_failed = any(r.check == GRADCHECK and r.status == "FAIL" for r in run.results)
    try:
        if not _graded(run, accepted):  # the library's gradcheck decides; the numbers below only explain
            gradcheck(lambda *xs: (run.proxy.apply(*xs) * c).sum(), run.input_tensors(accepted.arrays),
                      eps=hints.EPS, atol=hints.ATOL, rtol=hints.RTOL, seed=run.seed)
        expected = _expected(run, accepted, accepted.arrays, c)
    except GradcheckError:
        expected = numeric_gradients(run, accepted.arrays, c)
    except _ERRORS as exc:
        run.add(COMPOSITE, "FAIL", f"forward raised {error_text(exc, run.name)} during central differences")
        return False
    for position, i in enumerate(spec.real):
        name, got = spec.inputs[i].name, first[position]
        if got is None:
            run.add(COMPOSITE, "FAIL", f"after {expression}.backward(), {name}.grad is None")
            return False
        comparison = compare(got, expected[position])
        if not comparison.ok:
            at = comparison.worst
            against = "the exercise" if _graded(run, accepted) else "numeric"
            details = [f"worst element: index {at}: {hints.number(got[at])} vs {against} "
                       f"{hints.number(expected[position][at])}"]
            if gradcheck_failed:
                details.append("hint: " + hints.SAME_AS_GRADCHECK)
            run.add(COMPOSITE, "FAIL", f"after {expression}.backward() on {on}, {name}.grad is wrong", details=details)
            return False
        again = second[position]
        if again is None or not np.allclose(again, 2 * got, rtol=1e-10, atol=1e-12):
            run.add(
                COMPOSITE, "FAIL", f"a second backward() over the same graph added a different gradient to {name}.grad",
                details=["hint: backward changed something forward saved, so the graph cannot be used twice"],
            )
            return False
    return True


def _graded(run: OpRun, accepted: Accepted) -> bool:
    return run.graded and bool(accepted.matches)


def _expected(run: OpRun, accepted: Accepted, arrays: list[np.ndarray], upstream: np.ndarray) -> list[np.ndarray]:
    """The right gradient of sum(op * upstream): the exercise's where forward is the exercise's, else numeric."""
    if _graded(run, accepted):
        assert run.exercise is not None
        return reference_gradient(run.exercise, run.spec, arrays, upstream)
    return numeric_gradients(run, arrays, upstream)


def _used_twice(run: OpRun, accepted: Accepted, rng: np.random.Generator) -> str | None:
    """op(op(x)) (one-input ops) and op(x) * op(y): the PASS text, or None after a FAIL.

    The gradient through the parent's graph (the op's backward run once per use) is compared
    with the exercise's, or with central differences of single forwards chained by hand: each
    forward alone is right, so only state shared between the two uses can make them disagree.
    """
    spec, name, on = run.spec, run.name, accepted.case.label
    proxy, count = run.proxy, len(spec.inputs)
    second = sample(spec, accepted.case, rng)
    said = []
    expressions: list[tuple[str, list[np.ndarray]]] = []
    if count == 1:
        expressions.append((f"{name}({name}(x))", accepted.arrays))
    expressions.append((f"{name}(x) * {name}(y)" if count == 1 else f"{name}(...) * {name}(...)",
                        accepted.arrays + second))
    for expression, arrays in expressions:
        nested = expression.endswith("(x))")
        inputs = run.input_tensors(arrays[:count]) + run.input_tensors(arrays[count:])
        try:
            inner = proxy.apply(*inputs[:count])
            low, high = spec.inputs[0].low, spec.inputs[0].high
            if nested and not np.all((inner.data >= low) & (inner.data <= high)):
                said.append(f"{expression} not tried: its output leaves the domain ({low:g}, {high:g})")
                continue
            out = proxy.apply(inner) if nested else inner * proxy.apply(*inputs[count:])
        except StudentError as exc:
            if nested:  # forward rejects its own output (a domain): nothing to compare
                said.append(f"{expression} not tried: forward rejects its own output ({exc.described})")
                continue
            run.add(COMPOSITE, "FAIL", f"{expression} on {on} failed: {error_text(exc, name)}")
            return None
        upstream = rng.standard_normal(out.shape)
        wanted = [t for t in inputs if isinstance(t, Tensor)]
        try:
            got = grad(out, wanted, upstream, allow_unused=True)
            expected = _expected_twice(run, accepted, nested, arrays, inner.data, upstream)
        except _ERRORS as exc:
            run.add(COMPOSITE, "FAIL", f"{expression} on {on} failed: {error_text(exc, name)}")
            return None
        for g, want in zip(got, expected):
            comparison = compare(np.zeros_like(want) if g is None else g, want)
            if not comparison.ok:
                at = comparison.worst
                shown = 0.0 if g is None else g[at]
                against = "the exercise" if _graded(run, accepted) else "central differences of single forwards"
                _fail_reuse(run, expression, on, f"worst element at index {at}: {hints.number(shown)} vs "
                            f"{against} {hints.number(want[at])}")
                return None
        said.append(expression)
    return " and ".join(s for s in said if "not tried" not in s) + ": right gradients" + "".join(
        f"; {s}" for s in said if "not tried" in s
    )


def _expected_twice(run: OpRun, accepted: Accepted, nested: bool, arrays: list[np.ndarray], inner: np.ndarray,
                    upstream: np.ndarray) -> list[np.ndarray]:
    """The right gradients of sum(expression * upstream) for every real input, in order."""
    count = len(run.spec.inputs)
    if _graded(run, accepted) and run.exercise is not None and run.exercise.reference is not None:
        reference = run.exercise.reference
        tensors = [Tensor(a, requires_grad=True) if s.differentiable else a
                   for a, s in zip(arrays, list(run.spec.inputs) * 2)]
        with np.errstate(all="ignore"):
            if nested:
                target = reference(reference(tensors[0]))
            else:
                target = reference(*tensors[:count]) * reference(*tensors[count:])
        found = grad(target, [t for t in tensors if isinstance(t, Tensor)], upstream, allow_unused=True)
        return [np.zeros_like(t.data) if g is None else g for g, t in
                zip(found, [t for t in tensors if isinstance(t, Tensor)])]
    if nested:  # the chain rule over two single uses: d/dx sum(f(f(x)) u) = J(x)^T J(f(x))^T u
        (through,) = numeric_gradients(run, [inner], upstream)
        return numeric_gradients(run, arrays, through)
    other = run.session.forwards(run.spec.class_name, [arrays[count:]], inner.shape)[0]
    return numeric_gradients(run, arrays[:count], upstream * other) + \
        numeric_gradients(run, arrays[count:], upstream * inner)


def _fail_reuse(run: OpRun, expression: str, on: str, detail: str) -> None:
    gradcheck_failed = any(r.check == GRADCHECK and r.status == "FAIL" for r in run.results)
    hint = hints.SAME_AS_GRADCHECK if gradcheck_failed else hints.REUSE.format(cls=run.name)
    run.add(COMPOSITE, "FAIL", f"{expression} on {on}: the gradient is wrong when the op is used twice in one graph",
            details=[detail, "hint: " + hint])
