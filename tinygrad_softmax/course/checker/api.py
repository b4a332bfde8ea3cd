"""`check` a student's file (or `check_function` a class in memory), and the ``check`` command.

A file is imported and run only in a child process (`sandbox.Child`); everything here, in
the parent, decides which op is graded as what, and builds the report from the checks'
results. Checking many files in one process gives each its own child, so the verdicts
are those of one file per run.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from ...function import Function
from .battery import check_op, expected_checks
from .exercises import EXERCISES, Exercise, exercise_for, get_exercise
from .host import OpHost, describe_function, source_files
from .remote import Session
from .report import SIGNATURE, CheckReport, CheckResult
from .sampling import FunctionInfo
from .sandbox import MAX_TIME_LIMIT, MEMORY_LIMIT_MB, TIME_LIMIT, ChildFailed, LocalRunner, new_child
from .training import NOTE, OP, check_training_loop, is_training_loop


def check(
    path: str | os.PathLike[str],
    op: str | None = None,
    seed: int = 0,
    verbose: bool = False,
    exercise: int | None = None,
    time_limit: float = TIME_LIMIT,
    memory_limit: int = MEMORY_LIMIT_MB,
) -> CheckReport:
    """Check the Function subclasses defined in a student's file, or exercise 8's training loop.

    The file runs in a child process; its ops are run there on inputs chosen here, and every
    value they are compared with is computed here.

    Args:
        path: the student's ``.py`` file.
        op: check only the op with this class name (or op name, e.g. ``"sigmoid"``).
        seed: seeds every input the checks draw.
        verbose: ``str(report)`` lists every input case, not only one line per check.
        exercise: 1-7 grades the file's op as that exercise, whatever its class is called (the
            file's one Function subclass, or the one `op` names, or the one named like the
            exercise's); 8 checks the training loop. By default every op is checked, an op
            named like an exercise's as that exercise, and a file with no op but a
            ``train_one_epoch`` function as exercise 8.
        time_limit: seconds for the whole file (importing it and every check), 0 < limit <= 3600.
        memory_limit: the child's address space in MiB (0: no limit).

    Returns:
        The report; ``report.passed`` and ``report.exit_code`` give the verdict.
        A file that cannot be imported gives a report with `load_error` set.

    Raises:
        FileNotFoundError: `path` does not exist (IsADirectoryError: it is a folder).
        ValueError: `exercise` is not 1-8, `time_limit` is out of range, no op in the file is
            called `op`, or the file has several ops and nothing says which is the exercise.
    """
    chosen = None if exercise is None else get_exercise(exercise)
    validate_time_limit(time_limit)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give the .py file to check")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    report = CheckReport(path=str(path), seed=seed, verbose=verbose)
    child = new_child()
    try:
        try:
            first = child.start(str(path.resolve()), time_limit, memory_limit)
        except ChildFailed as failed:
            report.load_error = _import_stopped(path, failed)
            return report
        if isinstance(first.get("load_error"), str):
            report.load_error = first["load_error"][:5000]
            return report
        infos = [i for i in map(FunctionInfo.from_data, first.get("functions") or []) if i is not None]
        callables = [c for c in first.get("callables") or [] if isinstance(c, str)]
        _check_file(report, Session(child), infos, callables, op, seed, chosen)
    finally:
        child.close()
        report.output = child.output()
    return report


def validate_time_limit(seconds: Any) -> float:
    """A time limit must be a finite number of seconds in (0, 3600]; ValueError otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or not 0 < seconds <= MAX_TIME_LIMIT:
        raise ValueError(f"the time limit must be a number of seconds above 0 and at most {MAX_TIME_LIMIT:g}, "
                         f"got {seconds!r}")
    return float(seconds)


def _import_stopped(path: Path, failed: ChildFailed) -> str:
    if failed.timed_out:
        return (f"{path.name}: importing the file did not finish ({failed.reason}): its top-level code seems to "
                "loop forever; move work under if __name__ == \"__main__\":, or raise --time-limit")
    return f"{path.name}: {failed.reason} while the file was imported; a file must not end the process it runs in"


def check_function(
    cls: type[Function], seed: int = 0, verbose: bool = False, exercise: int | None = None
) -> CheckReport:
    """Check one Function subclass already defined (in a notebook, say): the same checks as `check`.

    The class runs in this process (it exists only here), so no time or memory limit applies and
    nothing is isolated: use `check` to grade files.

    Args:
        cls: the op.
        seed: seeds every input drawn.
        verbose: ``str(report)`` lists every input case.
        exercise: grade it as this exercise (1-7); by default the exercise named like it, if any.
    """
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise TypeError(f"check_function: expected a Function subclass, got {cls!r}")
    chosen = None if exercise is None else get_exercise(exercise)
    report = CheckReport(path=f"class {cls.__name__}", seed=seed, verbose=verbose)
    info = FunctionInfo.from_data(describe_function(cls))
    assert info is not None
    session = Session(LocalRunner(OpHost({cls.__name__: cls}, source_files([cls]))))
    _add_op(report, session, info, seed, chosen or exercise_for(info.op_name))
    return report


def run_cli(args: argparse.Namespace) -> int:
    """The ``tinygrad-softmax check FILE... [--op NAME] [--exercise N] [--seed S] [--time-limit S] [-v]`` command.

    Prints each file's report (and, for several files, a last line counting them) and returns
    the exit code: 0 when every check of every file ran and passed, 1 when one failed or did
    not run, or a file could not be imported. A usage error (no such file, no such op or
    exercise, an ambiguous file) raises, and the CLI prints it with exit code 2.
    """
    files = [args.file] if isinstance(args.file, (str, os.PathLike)) else list(args.file)
    for path in files:  # every usage error about the files before any is checked
        if Path(path).is_dir():
            raise IsADirectoryError(f"{path}: is a folder; give the .py file to check")
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such file")
    failed = []
    for number, path in enumerate(files):
        report = check(
            path,
            op=getattr(args, "op", None),
            seed=getattr(args, "seed", 0),
            verbose=getattr(args, "verbose", False),
            exercise=getattr(args, "exercise", None),
            time_limit=getattr(args, "time_limit", TIME_LIMIT),
            memory_limit=getattr(args, "memory_limit", MEMORY_LIMIT_MB),
        )
        if number:
            print()
        print(report.format())
        if not report.passed:
            failed.append(str(path))
    if len(files) > 1:
        print(f"\nChecked {len(files)} files: {len(files) - len(failed)} passed"
              + (f", {len(failed)} failed: {', '.join(failed)}." if failed else "."))
    return 1 if failed else 0


def choose(infos: list[FunctionInfo], op: str | None, exercise: Exercise | None, path: str) -> list[FunctionInfo]:
    """The ops to check: the one `op` names, or for an exercise the file's one op (or the one named like it).

    Raises:
        ValueError: no op is called `op`, or an exercise's op cannot be told apart from the others.
    """
    names = ", ".join(i.class_name for i in infos) or "none"
    if op is not None:
        chosen = [i for i in infos if op in (i.class_name, i.op_name)]
        if not chosen:
            raise ValueError(f"--op {op}: {path} defines no Function subclass of that name (found: {names})")
        return chosen[:1]
    if exercise is None or len(infos) <= 1:
        return infos
    named = [i for i in infos if exercise.class_name in (i.class_name,) or i.op_name == exercise.op_name]
    if len(named) == 1:
        return named
    raise ValueError(
        f"{path} defines {len(infos)} Function subclasses ({names}) and none is named {exercise.class_name}: "
        f"say which one is exercise {exercise.number} with --op NAME"
    )


def _check_file(report: CheckReport, session: Session, infos: list[FunctionInfo], callables: list[str],
                op: str | None, seed: int, exercise: Exercise | None) -> None:
    loop = exercise is not None and exercise.op_name is None
    if loop or (exercise is None and op is None and not infos and is_training_loop(callables)):
        _check_loop(report, session, callables, seed)
        return
    chosen = choose(infos, op, exercise, report.path)
    if not chosen:
        if exercise is not None:
            name = f"exercise {exercise.number}"
            hint = (f"hint: exercise {exercise.number} asks for a class {exercise.class_name}(Function); start from "
                    f"its skeleton {exercise.skeleton} (tinygrad-softmax exercises copy DIR)")
        else:
            name = "(no op)"
            hint = "hint: an op is a class Name(Function) with static forward(ctx, ...) and backward(ctx, grad)"
        report.ops.append(name)
        report.results.append(CheckResult(name, SIGNATURE, "FAIL", "the file defines no Function subclass to check",
                                          details=(hint,)))
        return
    stopped: ChildFailed | None = None
    for info in chosen:
        graded = exercise or exercise_for(info.op_name)
        if stopped is None:
            stopped = _add_op(report, session, info, seed, graded)
        else:  # the child is gone: list this op's checks as not run
            report.ops.append(info.class_name)
            report.results += [CheckResult(info.class_name, c, "NOT RUN", "not run: the checking stopped earlier")
                               for c in expected_checks(graded)]


def _add_op(report: CheckReport, session: Session, info: FunctionInfo, seed: int,
            exercise: Exercise | None) -> ChildFailed | None:
    results, note, stopped = check_op(session, info, seed, exercise)
    report.ops.append(info.class_name)
    report.op_notes[info.class_name] = note
    if exercise is not None and exercise.reference is not None:
        report.exercises[info.class_name] = exercise.number
    report.results += results
    return stopped


def _check_loop(report: CheckReport, session: Session, callables: list[str], seed: int) -> None:
    report.ops.append(OP)
    report.op_notes[OP] = NOTE
    report.exercises[OP] = 8
    report.results += check_training_loop(session, callables, seed)


__all__ = ["EXERCISES", "check", "check_function", "choose", "run_cli", "validate_time_limit"]
