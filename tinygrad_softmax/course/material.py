"""The exercises' skeletons and task texts, shipped inside the package (``course/exercises/``).

A pip-installed package has no ``docs/`` folder, so the files a student starts from live
here, and ``tinygrad-softmax exercises copy DIR`` (`copy_exercises`) puts them in a folder of
the student's own.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from .checker.exercises import EXERCISES


def _folder() -> Any:  # an importlib.resources Traversable
    return resources.files(__package__).joinpath("exercises")


def exercise_files(number: int | None = None) -> list[str]:
    """The shipped file names: every exercise's skeleton and task text, or exercise `number`'s two.

    Raises:
        ValueError: there is no exercise `number`.
    """
    if number is None:
        return sorted(entry.name for entry in _folder().iterdir() if entry.name.endswith((".py", ".md")))
    if number not in EXERCISES:
        raise ValueError(f"there is no exercise {number}; the exercises are 1 to {max(EXERCISES)}")
    return list(EXERCISES[number].files)


def read_exercise_file(name: str) -> bytes:
    """The content of one shipped file (a name from `exercise_files`)."""
    if name not in exercise_files():
        raise ValueError(f"{name}: not one of the exercise files")
    return _folder().joinpath(name).read_bytes()


def copy_exercises(folder: str | os.PathLike[str], numbers: list[int] | None = None, force: bool = False) -> list[Path]:
    """Copy the skeletons and task texts into `folder`, creating it (and its parents).

    Args:
        folder: where to put them.
        numbers: only these exercises (default: all).
        force: replace files that exist; without it nothing is written when one would be replaced.

    Returns:
        The files written, in order.

    Raises:
        FileExistsError: some of the files exist already and `force` is False (none was written).
        NotADirectoryError: `folder` is a file.
        ValueError: no such exercise number.
    """
    names = exercise_files() if not numbers else [n for number in numbers for n in exercise_files(number)]
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target}: is a file, not a folder")
    existing = [name for name in names if (target / name).exists()]
    if existing and not force:
        shown = ", ".join(existing[:4]) + (f" and {len(existing) - 4} more" if len(existing) > 4 else "")
        raise FileExistsError(f"{target}: {shown} exist already; nothing was copied (--force replaces them)")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        (target / name).write_bytes(read_exercise_file(name))
        written.append(target / name)
    return written
