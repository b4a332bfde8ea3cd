"""The exercise checker behind ``tinygrad-softmax check FILE``: grades a student's ops.

The student's file runs in a child process with a time and a memory limit; the child runs
the student's forward and backward on inputs the parent chose and sends back plain arrays
(or the errors, as data). The parent computes every reference, numeric gradient and
comparison, and the verdict, in code the child never touches::

    from tinygrad_softmax.course import check
    report = check("sigmoid.py", exercise=1)   # or check("loop.py", exercise=8)
    print(report)
    report.passed, report.exit_code            # (True, 0) when every check ran and passed

`check_function(MyOp)` runs the same checks on a class already in memory (in this process).

The modules, in the order a check goes: `api` (choosing what to check), `sandbox` (the child
process and its limits), `host` (what runs in the child), `remote` (the child's replies, checked),
`sampling` (inputs and shapes), `battery` (every check of one op), `case_checks` (per input case),
`graph_checks` (the op in bigger graphs), `exercise_checks` (reference and memory), `exercises`
(the exercise table), `hints` (the classic causes), `training` (exercise 8), `report` (the verdict).
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): ``tinygrad-softmax check`` starts the child process from
# `sandbox` first, and the child boots while the rest of the checker loads here.
_WHERE = {
    "DEFAULT_DOMAIN": ".sampling", "EXERCISES": ".exercises", "MEMORY_LIMIT_MB": ".sandbox", "TIME_LIMIT": ".sandbox",
    "CheckReport": ".report", "CheckResult": ".report", "Exercise": ".exercises", "LoadError": ".host",
    "check": ".api", "check_function": ".api", "find_functions": ".host", "run_cli": ".api",
    "validate_time_limit": ".api",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
