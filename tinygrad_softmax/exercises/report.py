"""Kept for old imports: the check names and report classes live in `tinygrad_softmax.course.checker.report`."""

from ..course.checker.report import (
    BACKWARD,
    COMPOSITE,
    DESCRIPTIONS,
    FORWARD,
    GRADCHECK,
    INPUTS,
    INTERNAL,
    MEMORY,
    MUTATION,
    REFERENCE,
    SHAPE,
    SIGNATURE,
    CheckReport,
    CheckResult,
    Status,
)

__all__ = [
    "BACKWARD",
    "COMPOSITE",
    "DESCRIPTIONS",
    "FORWARD",
    "GRADCHECK",
    "INPUTS",
    "INTERNAL",
    "MEMORY",
    "MUTATION",
    "REFERENCE",
    "SHAPE",
    "SIGNATURE",
    "CheckReport",
    "CheckResult",
    "Status",
]
