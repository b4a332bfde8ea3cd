"""Kept for old imports: the hints live in `tinygrad_softmax.course.checker.hints`."""

from ..course.checker.hints import (
    CHAIN,
    COLUMN_ONLY,
    FALLBACK,
    GRAD_ONLY,
    REDUCTION,
    SIGN,
    TRANSPOSED,
    VECTOR_ONLY,
    backward_error_hint,
    cross_case_hint,
    gradient_hints,
)

__all__ = [
    "CHAIN",
    "COLUMN_ONLY",
    "FALLBACK",
    "GRAD_ONLY",
    "REDUCTION",
    "SIGN",
    "TRANSPOSED",
    "VECTOR_ONLY",
    "backward_error_hint",
    "cross_case_hint",
    "gradient_hints",
]
