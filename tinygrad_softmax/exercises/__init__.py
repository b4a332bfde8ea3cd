"""Kept so that ``tinygrad_softmax.exercises`` still imports: the checker now lives in `tinygrad_softmax.course`.

New code imports ``from tinygrad_softmax.course import check``.
"""

from __future__ import annotations

from ..course.checker import (
    DEFAULT_DOMAIN,
    EXERCISES,
    CheckReport,
    CheckResult,
    Exercise,
    LoadError,
    check,
    check_function,
    find_functions,
    run_cli,
)
from . import hints, report

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
    "hints",
    "report",
    "run_cli",
]
