"""What the checker found: one `CheckResult` per named check and input case, gathered in a `CheckReport`.

A report prints compactly by default: one line per named check of each op (the
cases it covered folded into that line), with the details of the first failing
case under a FAIL. ``verbose`` prints every case on its own line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["PASS", "FAIL", "SKIP"]

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

# What each check proves, for the PASS line that covers all its input cases.
DESCRIPTIONS = {
    FORWARD: "runs, float64 output of a sensible shape",
    INPUTS: "forward leaves its inputs unchanged",
    BACKWARD: "one gradient per input, reducible to the input's shape",
    GRADCHECK: "agrees with float64 central differences",
    MUTATION: "backward leaves grad, saved arrays, inputs and output unchanged",
}

_INDENT = "        "


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check, on one input case or on the whole op.

    Attributes:
        op: the class name of the op (or ``"exercise 8"``).
        check: the check's name (``"gradcheck"``, ``"forward"``...).
        status: ``"PASS"``, ``"FAIL"`` or ``"SKIP"``.
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
        seed: the seed the inputs were drawn with.
        verbose: whether ``str(report)`` shows every case.
    """

    path: str
    results: list[CheckResult] = field(default_factory=list)
    load_error: str | None = None
    ops: list[str] = field(default_factory=list)
    op_notes: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    verbose: bool = False

    @property
    def passed(self) -> bool:
        """True when the file loaded, something was checked, and no check failed."""
        return self.load_error is None and bool(self.results) and not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "FAIL"]

    @property
    def exit_code(self) -> int:
        """0 when every check of every op passed, 1 otherwise."""
        return 0 if self.passed else 1

    def results_for(self, op: str | None = None, check: str | None = None) -> list[CheckResult]:
        """The results of one op and/or one named check."""
        return [r for r in self.results if (op is None or r.op == op) and (check is None or r.check == check)]

    def format(self, verbose: bool | None = None) -> str:
        """The report as the command line prints it."""
        verbose = self.verbose if verbose is None else verbose
        lines = [f"Checking {self.path} (seed {self.seed})"]
        if self.load_error is not None:
            lines += ["", *self.load_error.splitlines(), ""]
            lines.append("FAILED: the file could not be imported, so nothing was checked.")
            return "\n".join(lines)
        for op in self.ops:
            lines.append("")
            note = self.op_notes.get(op)
            lines.append(op if note is None else f"{op}  ({note})")
            lines += _format_op([r for r in self.results if r.op == op], verbose)
        lines += ["", self._summary()]
        return "\n".join(lines)

    def _summary(self) -> str:
        if not self.results:
            return "FAILED: nothing to check."
        groups = _group(r for r in self.results if r.check != SHAPE)
        failed = [(op, check) for (op, check), rs in groups.items() if any(r.status == "FAIL" for r in rs)]
        skipped = sum(1 for r in self.results if r.check == SHAPE)
        skip_note = ""
        if skipped:
            cases = "1 input case was" if skipped == 1 else f"{skipped} input cases were"
            skip_note = f" {cases} skipped: the forward rejects {'it' if skipped == 1 else 'them'}."
        if not failed:
            return f"OK: all {len(groups)} checks passed.{skip_note}"
        names = ", ".join(f"{op} {check}" for op, check in failed)
        return f"FAILED: {len(failed)} of {len(groups)} checks failed: {names}.{skip_note}"

    def __str__(self) -> str:
        return self.format()


def _group(results: Iterable[CheckResult]) -> dict[tuple[str, str], list[CheckResult]]:
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.op, r.check), []).append(r)
    return groups


def _line(status: str, check: str, message: str) -> str:
    return f"  {status:<4}  {check:<11}  {message}"


def _format_op(results: list[CheckResult], verbose: bool) -> list[str]:
    lines = []
    for r in results:
        if r.check == SHAPE:
            lines.append(_line("SKIP", r.case or "", r.message))
    for (_, check), group in _group(r for r in results if r.check != SHAPE).items():
        lines += _format_check(check, group, verbose)
    return lines


def _format_check(check: str, group: list[CheckResult], verbose: bool) -> list[str]:
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
        description = DESCRIPTIONS.get(check, group[0].message)
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
