"""The course: exercises to write ops with, the checker that grades them, and the notebook's Layer API.

- `checker`: ``tinygrad-softmax check FILE`` (`check`, `check_function`): the student's code runs in
  a child process; the verdict is computed here;
- `material`: the exercises' skeletons and task texts, shipped with the package
  (``tinygrad-softmax exercises list`` / ``exercises copy DIR``);
- `layers`: the course notebook's manual Layer API (forward and backward by hand, in numpy).

Nothing in the library imports this package. Its names load on first use (PEP 562), so that
``tinygrad-softmax check`` can start the child process before the checker's own modules load.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "EXERCISES": ".checker", "CheckReport": ".checker", "CheckResult": ".checker", "Exercise": ".checker",
    "check": ".checker", "check_function": ".checker", "copy_exercises": ".material", "exercise_files": ".material",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
