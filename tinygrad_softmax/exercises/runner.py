"""`check` a student's file (or `check_function` a class in memory), and the ``check`` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import types
from collections.abc import Iterator

from ..function import Function
from .checks import check_op, describe
from .loader import LoadError, load_student_file
from .reference import EXERCISES, Exercise
from .report import SIGNATURE, CheckReport, CheckResult
from .training import NOTE, OP, check_training_loop, is_training_loop


def check(
    path: str | os.PathLike[str],
    op: str | None = None,
    seed: int = 0,
    verbose: bool = False,
    exercise: int | None = None,
) -> CheckReport:
    """Check the Function subclasses defined in a student's file, or exercise 8's training loop.

    Args:
        path: the student's ``.py`` file.
        op: check only the op with this class name (or op name, e.g. ``"sigmoid"``).
        seed: seeds every input the checks draw.
        verbose: ``str(report)`` lists every input case, not only one line per check.
        exercise: 1-7 checks the file's op for that exercise (it must exist, and is
            compared with the exercise's reference); 8 checks the training loop.
            By default every op is checked, and a file with no op but a
            ``train_one_epoch`` function is checked as exercise 8.

    Returns:
        The report; ``report.passed`` and ``report.exit_code`` give the verdict.
        A file that cannot be imported gives a report with `load_error` set.

    Raises:
        FileNotFoundError: `path` does not exist (IsADirectoryError: it is a folder).
        ValueError: `exercise` is not 1-8, or no op in the file is called `op`.
    """
    if exercise is not None and exercise not in EXERCISES:
        raise ValueError(f"there is no exercise {exercise}; the exercises are 1 to {max(EXERCISES)}")
    report = CheckReport(path=str(path), seed=seed, verbose=verbose)
    try:
        with load_student_file(path) as module:
            _check_module(module, report, op, seed, None if exercise is None else EXERCISES[exercise])
    except LoadError as error:
        report.load_error = str(error)
    return report


def check_function(cls: type[Function], seed: int = 0, verbose: bool = False) -> CheckReport:
    """Check one Function subclass that is already defined (in a notebook, say); same checks as `check`."""
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise TypeError(f"check_function: expected a Function subclass, got {cls!r}")
    report = CheckReport(path=f"class {cls.__name__}", seed=seed, verbose=verbose)
    _add_op(report, cls, seed, None)
    return report


def run_cli(args: argparse.Namespace) -> int:
    """The ``tinygrad-softmax check FILE [--op NAME] [--exercise N] [--seed S] [-v]`` command.

    Prints the report and returns the exit code: 0 when every check passed, 1 when
    one failed or the file could not be imported. A usage error (no such file,
    no such op or exercise) raises, and the CLI prints it with exit code 2.
    """
    limit = getattr(args, "time_limit", TIME_LIMIT)
    try:
        with _time_limit(limit):
            report = check(
                args.file,
                op=getattr(args, "op", None),
                seed=getattr(args, "seed", 0),
                verbose=getattr(args, "verbose", False),
                exercise=getattr(args, "exercise", None),
            )
    except _TimedOut:
        print(
            f"FAILED: checking {args.file} stopped after {limit:g} s: the file or one of its ops seems to "
            "loop forever (look for a while loop that never ends); --time-limit changes the limit"
        )
        return 1
    print(report.format())
    return report.exit_code


TIME_LIMIT = 120.0  # seconds: a student's endless loop must not hang the checker


class _TimedOut(BaseException):
    """Raised by the alarm; a BaseException so the checks' `except Exception` cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop the block after `seconds` (main thread on Unix; elsewhere no limit is possible)."""
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def find_functions(module: types.ModuleType) -> list[type[Function]]:
    """The Function subclasses defined in `module` (not imported into it), in the order they were defined.

    A class that does not write its own forward (an abstract helper base) is left out.
    """
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Function)
            and value is not Function
            and value.__module__ == module.__name__
            and "forward" in _own_attributes(value)
        ):
            found.append(value)
    return found


def _own_attributes(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(vars(klass))
    return names


def _check_module(
    module: types.ModuleType, report: CheckReport, op: str | None, seed: int, exercise: Exercise | None
) -> None:
    classes = find_functions(module)
    wants_loop = exercise is not None and exercise.op_name is None
    looks_like_loop = exercise is None and op is None and not classes and is_training_loop(module)
    if wants_loop or looks_like_loop:
        report.ops.append(OP)
        report.op_notes[OP] = NOTE
        report.results += check_training_loop(module, seed)
        return
    if op is not None:
        chosen = [c for c in classes if op in (c.__name__, c.name)]
        if not chosen:
            names = ", ".join(c.__name__ for c in classes) or "none"
            raise ValueError(f"--op {op}: {report.path} defines no Function subclass of that name (found: {names})")
        classes = chosen
    if exercise is not None:
        chosen = [c for c in classes if c.name == exercise.op_name]
        if not chosen:
            name = f"exercise {exercise.number}"
            report.ops.append(name)
            report.results.append(CheckResult(
                name, SIGNATURE, "FAIL",
                f"no Function subclass named {exercise.class_name} (op name {exercise.op_name!r}) in the file",
                details=(f"hint: start from docs/exercises/{exercise.task.replace('.md', '.py')}",),
            ))
            return
        classes = chosen
    if not classes:
        report.ops.append("(no op)")
        report.results.append(CheckResult(
            "(no op)", SIGNATURE, "FAIL", "the file defines no Function subclass to check",
            details=("hint: an op is a class Name(Function) with static forward(ctx, ...) and backward(ctx, grad)",),
        ))
        return
    for cls in classes:
        _add_op(report, cls, seed, exercise)


def _add_op(report: CheckReport, cls: type[Function], seed: int, exercise: Exercise | None) -> None:
    name = cls.__name__
    report.ops.append(name)
    report.op_notes[name] = describe(cls)
    report.results += check_op(cls, seed, exercise)
