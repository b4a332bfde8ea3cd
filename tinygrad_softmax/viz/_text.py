"""Short texts for numbers, indexes and op titles, shared by the graph walk and the labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def format_number(value: float) -> str:
    """A number as a label shows it: ``3``, ``0.5``, ``2.22e-16``; never ``-0``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    text = f"{value:.3g}"
    return "0" if text == "-0" else text


def op_title(t: Tensor) -> str:
    """The op with its arguments: ``sum(axis=1)``, ``pow(exponent=2)``, ``getitem[:, :-1]``."""
    args = {k: v for k, v in t.op_args.items() if v is not None and not (k == "keepdims" and v is False)}
    if t.op == "getitem" and "index" in args:
        return f"getitem[{index_text(args['index'])}]"
    if "target" in args:
        args["target"] = "y"
    if not args:
        return str(t.op)
    return f"{t.op}(" + ", ".join(f"{k}={_short(v)}" for k, v in args.items()) + ")"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else np.array2string(value, separator=",")
    if isinstance(value, float):
        return format_number(value)
    return repr(value)


def index_text(index: Any) -> str:
    """An index as Python writes it: ``:, :-1``, ``..., 0``."""
    parts = index if isinstance(index, tuple) else (index,)
    return ", ".join(_index_part(p) for p in parts)


def _index_part(part: Any) -> str:
    if isinstance(part, slice):
        start = "" if part.start is None else str(part.start)
        stop = "" if part.stop is None else str(part.stop)
        step = "" if part.step is None else f":{part.step}"
        return f"{start}:{stop}{step}"
    if part is Ellipsis:
        return "..."
    if part is None:
        return "None"
    return _short(part)
