"""Every check of one op, in order, and the list of those that could not run.

The order: the per-case checks (`case_checks`), then ``composite`` (`graph_checks`), then,
graded as an exercise, ``reference`` and ``memory`` (`exercise_checks`). A check that has
no result at the end gets a NOT RUN result saying why, so a report never reads as complete
when it is not.
"""

from __future__ import annotations

from .case_checks import after_cases, check_case
from .exercise_checks import check_memory, check_reference, domain_problems, exercise_spec
from .exercises import Exercise
from .graph_checks import check_composite
from .remote import Session
from .report import COMPOSITE, INTERNAL, MEMORY, OP_CHECKS, REFERENCE, SIGNATURE, CheckResult
from .sampling import FunctionInfo, OpSpec, SpecError, make_cases, read_spec, spec_from
from .sandbox import ChildFailed, describe_stop
from .state import OpRun, UnfinishedError


def expected_checks(exercise: Exercise | None) -> list[str]:
    """The checks an op gets: every op's, and an exercise's reference (and memory for exercises 5-7)."""
    checks = list(OP_CHECKS)
    if exercise is not None and exercise.reference is not None:
        checks.append(REFERENCE)
        if exercise.linear_memory:
            checks.append(MEMORY)
    return checks


def op_spec(info: FunctionInfo, exercise: Exercise | None) -> tuple[OpSpec, list[str]]:
    """The inputs to draw (the exercise's domain when graded) and what is wrong with the class's own domain.

    Raises:
        SpecError: forward's signature (or, not graded, the domain) cannot be used.
    """
    names = info.input_names()
    if exercise is None or exercise.reference is None or len(names) != exercise.inputs:
        return read_spec(info), []
    try:
        declared = info.declared_domains(names)
    except SpecError:
        declared = None
    spec = exercise_spec(spec_from(info, names, None), exercise, declared)
    return spec, domain_problems(names, exercise, info.domain, info.domain_text)


def check_op(session: Session, info: FunctionInfo, seed: int, exercise: Exercise | None) -> tuple[
        list[CheckResult], str, ChildFailed | None]:
    """Run every check on one op.

    Args:
        session: the child (or this process) running the op.
        info: the op as the child described it.
        seed: seeds every input drawn (each case has its own generator, so results
            do not depend on which other cases ran).
        exercise: grade the op as this exercise (its domain, reference and specials).

    Returns:
        The results in the order the checks ran (NOT RUN ones last), the op's header note, and
        the child's failure if it ended the checking (then no other op can be checked).
    """
    checks = expected_checks(exercise)
    try:
        spec, problems = op_spec(info, exercise)
    except SpecError as exc:
        results = [CheckResult(info.class_name, SIGNATURE, "FAIL", str(exc))]
        return results + _missing(info.class_name, checks, results, {}, "the op cannot be called (see signature)"), \
            f"cannot be checked: {exc}", None
    run = OpRun(spec, info, session, seed, exercise, problems)
    note = spec.describe()
    if exercise is not None and exercise.reference is not None:
        note += f"; graded as exercise {exercise.number} ({exercise.title})"
    stopped: ChildFailed | None = None
    default = "did not run"
    try:
        for number, case in enumerate(make_cases(spec)):
            check_case(run, number, case)
        after_cases(run)
        if run.accepted:
            check_composite(run)
        else:
            run.not_run[COMPOSITE] = "forward accepted no input case"
        if REFERENCE in checks:
            check_reference(run)
            if MEMORY in checks:
                check_memory(run)
        session.doing = "cleaning up"
        session.forget()
    except UnfinishedError as stop:
        run.results.append(stop.result)
        default = f"{stop.result.check} is not implemented yet"
    except ChildFailed as failed:
        stopped = failed
        run.add(INTERNAL, "FAIL", describe_stop(failed))
        default = "the checking stopped (see checker above)"
    finished = default == "did not run"  # else the reason for every missing check is why the checking stopped
    return run.results + _missing(run.name, checks, run.results, run.not_run, default, run if finished else None), \
        note, stopped


def _missing(op: str, checks: list[str], results: list[CheckResult], reasons: dict[str, str], default: str,
             run: OpRun | None = None) -> list[CheckResult]:
    done = {r.check for r in results}
    missing = []
    for check in checks:
        if check in done:
            continue
        why = reasons.get(check) or _why(check, run) or default
        missing.append(CheckResult(op, check, "NOT RUN", f"not run: {why}"))
    return missing


def _why(check: str, run: OpRun | None) -> str | None:
    """The usual reasons a check has no result, read from what did run."""
    if run is None:
        return None
    if not run.accepted and run.ran:
        return "forward failed on every input case"
    if not run.ran and run.skipped:
        return "forward accepts none of the tested inputs"
    if run.accepted and all(a.grads is None for a in run.accepted) and check not in (REFERENCE, MEMORY):
        return "backward failed on every input case"
    return None
