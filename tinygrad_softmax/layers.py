"""Kept so that ``tinygrad_softmax.layers`` still imports: the Layer API lives in `tinygrad_softmax.course.layers`."""

from .course.layers import Dense, Layer, Softmax, cce, cce_gradient

__all__ = ["Dense", "Layer", "Softmax", "cce", "cce_gradient"]
