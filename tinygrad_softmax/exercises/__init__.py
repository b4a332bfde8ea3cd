"""The exercise checker behind ``tinygrad-softmax check FILE``.

Students write ops (``Function`` subclasses) in a file; the checker imports the
file safely, finds every op in it, and runs a battery of named checks on each
(forward, inputs kept, backward, gradcheck, no mutation, composite, and for
an exercise's op the reference and memory checks), printing one PASS/FAIL
line per check with the worst element and a hint on failure::

    from tinygrad_softmax.exercises import check
    report = check("sigmoid.py")          # or check("loop.py", exercise=8)
    print(report)
    report.passed, report.exit_code       # (True, 0) when every check passed

`check_function(MyOp)` runs the same checks on a class already in memory.
The modules: `loader` (importing the student's file), `sampling` (inputs and
shapes), `gradients` (analytic vs numeric), `checks` (the named checks),
`hints` (the classic causes), `reference` (the exercises), `training`
(exercise 8), `report` (results and their printing), `runner` (the entry points).
"""

from __future__ import annotations

from .loader import LoadError
from .reference import EXERCISES, Exercise
from .report import CheckReport, CheckResult
from .runner import check, check_function, find_functions, run_cli
from .sampling import DEFAULT_DOMAIN

__all__ = [
    "DEFAULT_DOMAIN",
    "EXERCISES",
    "CheckReport",
    "CheckResult",
    "Exercise",
    "LoadError",
    "check",
    "check_function",
    "find_functions",
    "run_cli",
]
