"""What the checker found: one `CheckResult` per named check and input case, gathered in a `CheckReport`.

A report prints compactly by default: one line per named check of each op (the
cases it covered folded into that line), with the details of the first failing
case under a FAIL. ``verbose`` prints every case on its own line. A check that
did not run is a ``----`` line saying why, and the file is not OK then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["PASS", "FAIL", "SKIP", "NOT RUN"]

# The named checks, in the order they are printed. SHAPE is the pseudo-check of a
# whole input case that the forward rejected (every check of that case is skipped).
SIGNATURE = "signature"
SHAPE = "shape"
FORWARD = "forward"
INPUTS = "inputs kept"
BACKWARD = "backward"
GRADCHECK = "gradcheck"
MUTATION = "no mutation"
COMPOSITE = "composite"
REFERENCE = "reference"
MEMORY = "memory"
INTERNAL = "checker"

# The checks every op gets, and those an exercise's op gets besides.
OP_CHECKS = (FORWARD, INPUTS, BACKWARD, GRADCHECK, MUTATION, COMPOSITE)
EXERCISE_CHECKS = (REFERENCE,)

# What each check proves, for the PASS line that covers all its input cases.
DESCRIPTIONS = {
    FORWARD: "runs, float64 output of a sensible shape",
    INPUTS: "forward leaves its inputs unchanged",
    BACKWARD: "one gradient per input, reducible to the input's shape",
    GRADCHECK: "agrees with float64 central differences",
    MUTATION: "backward leaves grad, saved arrays, inputs and output unchanged",
}
_LABELS = {"NOT RUN": "----"}
_INDENT = "        "


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check, on one input case or on the whole op.

    Attributes:
        op: the class name of the op (or ``"exercise 8"``).
        check: the check's name (``"gradcheck"``, ``"forward"``...).
        status: ``"PASS"``, ``"FAIL"``, ``"SKIP"`` (an input case the forward rejects) or
            ``"NOT RUN"`` (the check could not run; `message` says why).
        message: one line saying what was found.
        case: the input case, e.g. ``"x (4, 3)"``; None for checks of the whole op.
        details: further lines: the worst element, measured errors, hints (``"hint: ..."``).
    """

    op: str
    check: str
    status: Status
    message: str
    case: str | None = None
    details: tuple[str, ...] = ()

    @property
    def hints(self) -> list[str]:
        """The hint lines among `details`, without their ``hint:`` prefix."""
        return [line[len("hint: ") :] for line in self.details if line.startswith("hint: ")]

    @property
    def text(self) -> str:
        """Message and details as one string (what tests search for a reason in)."""
        return "\n".join([self.message, *self.details])


@dataclass
class CheckReport:
    """Everything `check` found in one file.

    Attributes:
        path: the file checked.
        results: every check's result, in the order they ran.
        load_error: the one message explaining why the file could not be imported, or None.
        ops: the names of the ops (or exercise) checked, in order.
        op_notes: a short description of each op for its header line (inputs, domain).
        exercises: for each op graded as an exercise, the exercise's number.
        seed: the seed the inputs were drawn with.
        verbose: whether ``str(report)`` shows every case.
        output: what the student's code printed while it was checked (shown apart from the verdict).
    """

    path: str
    results: list[CheckResult] = field(default_factory=list)
    load_error: str | None = None
    ops: list[str] = field(default_factory=list)
    op_notes: dict[str, str] = field(default_factory=dict)
    exercises: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    verbose: bool = False
    output: str = ""

    @property
    def passed(self) -> bool:
        """True when the file loaded, something was checked, every check ran, and none failed."""
        return self.load_error is None and bool(self.results) and not self.failures and not self.not_run

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "FAIL"]

    @property
    def not_run(self) -> list[CheckResult]:
        """The checks that did not run, each saying why."""
        return [r for r in self.results if r.status == "NOT RUN"]

    @property
    def exit_code(self) -> int:
        """0 when every check of every op ran and passed, 1 otherwise."""
        return 0 if self.passed else 1

    def results_for(self, op: str | None = None, check: str | None = None) -> list[CheckResult]:
        """The results of one op and/or one named check."""
        return [r for r in self.results if (op is None or r.op == op) and (check is None or r.check == check)]

    def format(self, verbose: bool | None = None) -> str:
        """The report as the command line prints it."""
        verbose = self.verbose if verbose is None else verbose
        lines = [f"Checking {self.path} (seed {self.seed})"]
        if self.load_error is not None:
            lines += ["", *self.load_error.splitlines(), *self._output_lines(), ""]
            lines.append("FAILED: the file could not be imported, so nothing was checked.")
            return "\n".join(lines)
        for op in self.ops:
            lines.append("")
            note = self.op_notes.get(op)
            lines.append(op if note is None else f"{op}  ({note})")
            lines += _format_op([r for r in self.results if r.op == op], verbose, self.exercises.get(op))
        lines += self._output_lines()
        lines += ["", self._summary()]
        return "\n".join(lines)

    def _output_lines(self) -> list[str]:
        if not self.output.strip():
            return []
        shown = self.output.rstrip("\n").splitlines()
        more = len(shown) - 40
        lines = ["", "What the file printed while it was checked (not part of the verdict):"]
        lines += ["  | " + line for line in shown[:40]]
        if more > 0:
            lines.append(f"  | ... ({more} more lines)")
        return lines

    def _summary(self) -> str:
        if not self.results:
            return "FAILED: nothing to check."
        groups = _group(r for r in self.results if r.check != SHAPE)
        failed = [(op, c) for (op, c), rs in groups.items() if any(r.status == "FAIL" for r in rs)]
        missing = [(op, c) for (op, c), rs in groups.items() if rs[0].status == "NOT RUN"]
        skipped = sum(1 for r in self.results if r.check == SHAPE)
        skip_note = ""
        if skipped:
            cases = "1 input case was" if skipped == 1 else f"{skipped} input cases were"
            skip_note = f" {cases} skipped: the forward rejects {'it' if skipped == 1 else 'them'}."
        stopped = [(op, c) for op, c in failed if c == INTERNAL]  # the checking itself stopped
        failed = [(op, c) for op, c in failed if c != INTERNAL]
        total = sum(1 for _, c in groups if c != INTERNAL)
        if not failed and not missing and not stopped:
            ungraded = [op for op in self.ops if op not in self.exercises and op != "exercise 8"]
            note = ""
            if ungraded:
                note = (" Not compared with any exercise: --exercise N grades the file as exercise N "
                        "(its reference, domain and special inputs).")
            return f"OK: all {total} checks passed.{skip_note}{note}"
        parts = []
        if stopped:
            parts.append(f"the checking of {', '.join(op for op, _ in stopped)} stopped early (see checker).")
        if failed:
            names = ", ".join(f"{op} {c}" for op, c in failed)
            parts.append(f"{len(failed)} of {total} checks failed: {names}.")
        if missing:
            names = ", ".join(f"{op} {c}" for op, c in missing)
            parts.append(f"{len(missing)} of {total} checks did not run: {names}.")
        return "FAILED: " + " ".join(parts) + skip_note

    def __str__(self) -> str:
        return self.format()


def _group(results: Iterable[CheckResult]) -> dict[tuple[str, str], list[CheckResult]]:
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.op, r.check), []).append(r)
    return groups


def _line(status: str, check: str, message: str) -> str:
    return f"  {_LABELS.get(status, status):<4}  {check:<11}  {message}"


def _format_op(results: list[CheckResult], verbose: bool, exercise: int | None) -> list[str]:
    lines = []
    for r in results:
        if r.check == SHAPE:
            lines.append(_line("SKIP", r.case or "", r.message))
    descriptions = dict(DESCRIPTIONS)
    compared = [r for r in results if r.check == GRADCHECK and r.status == "PASS"]
    if exercise is not None and compared:  # the exercise's gradient is compared where forward is the exercise's
        everywhere = all("equals exercise" in r.message for r in compared)
        descriptions[GRADCHECK] += (f" and with exercise {exercise}'s gradient" if everywhere else
                                    f" (and with exercise {exercise}'s gradient where forward is the exercise's)")
    for (_, check), group in _group(r for r in results if r.check != SHAPE).items():
        lines += _format_check(check, group, verbose, descriptions)
    return lines


def _format_check(check: str, group: list[CheckResult], verbose: bool, descriptions: dict[str, str]) -> list[str]:
    failed = [r for r in group if r.status == "FAIL"]
    cases = [r.case for r in group if r.case is not None]
    if verbose or len(group) == 1:
        lines = []
        for r in group:
            label = f"{r.case}: {r.message}" if r.case is not None and len(group) > 1 else r.message
            lines.append(_line(r.status, check, label))
            if r.status != "PASS" or verbose:
                lines += [_INDENT + d for d in r.details]
        return lines
    if not failed:
        description = descriptions.get(check, group[0].message)
        return [_line("PASS", check, f"{description} on {join_cases(cases)}")]
    first = failed[0]
    lines = [_line("FAIL", check, f"{first.case}: {first.message}")]
    lines += [_INDENT + d for d in first.details]
    others = [r.case for r in failed[1:] if r.case is not None]
    if others:
        lines.append(_INDENT + f"also fails on {join_cases(others)}")
    passed = [r.case for r in group if r.status == "PASS" and r.case is not None]
    if passed:
        lines.append(_INDENT + f"passes on {join_cases(passed)}")
    return lines


def join_cases(labels: list[str]) -> str:
    """``x: (3,), (4, 3)`` for cases of a one-input op; the labels in full, or their count when that is long."""
    names = {label.split(" ", 1)[0] for label in labels}
    if len(names) == 1 and all(label.count("(") == 1 for label in labels):
        return f"{names.pop()}: " + ", ".join(label.split(" ", 1)[1] for label in labels)
    text = "; ".join(labels)
    return text if len(text) <= 60 else f"{len(labels)} input cases (-v lists them)"
