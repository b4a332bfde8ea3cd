"""The course's one home (issue 13, item 10): the exercises shipped in the package, copied by the CLI,
and the old import paths kept."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_softmax import course, exercises, layers
from tinygrad_softmax.course import EXERCISES, copy_exercises, exercise_files
from tinygrad_softmax.course import layers as course_layers

ROOT = Path(__file__).resolve().parent.parent
MATERIAL = ROOT / "tinygrad_softmax" / "course" / "exercises"


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_softmax", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_every_exercise_ships_its_skeleton_and_task_text():
    names = exercise_files()
    assert names == sorted(p.name for p in MATERIAL.iterdir() if p.suffix in (".py", ".md"))
    for number, exercise in EXERCISES.items():
        assert exercise_files(number) == [exercise.skeleton, exercise.task]
        assert set(exercise.files) <= set(names)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"course/exercises/*.py", "course/exercises/*.md"' in pyproject  # package data, so pip installs them


def test_exercises_copy_creates_the_folder_and_never_overwrites_without_force(tmp_path):
    target = tmp_path / "a" / "backprop"
    done = cli("exercises", "copy", target)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in target.iterdir()) == exercise_files()
    assert (target / "ex5_softmax.py").read_bytes() == (MATERIAL / "ex5_softmax.py").read_bytes()
    (target / "ex1_sigmoid.py").write_text("my work")
    done = cli("exercises", "copy", target)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "exist already; nothing was copied (--force replaces them)" in done.stderr
    assert (target / "ex1_sigmoid.py").read_text() == "my work"
    done = cli("exercises", "copy", target, "--exercise", 1, "--force")
    assert done.returncode == 0 and "copied 2 files" in done.stdout
    assert (target / "ex1_sigmoid.py").read_bytes() == (MATERIAL / "ex1_sigmoid.py").read_bytes()


def test_exercises_list_names_every_exercise_and_its_files():
    done = cli("exercises", "list")
    assert done.returncode == 0
    for number, exercise in EXERCISES.items():
        assert re.search(rf"^ ?{number}  {re.escape(exercise.title)}\s+{exercise.skeleton}\s+{exercise.task}$",
                         done.stdout, re.M), done.stdout


def test_copy_exercises_refuses_a_file_as_the_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        copy_exercises(tmp_path / "file")
    assert [p.name for p in copy_exercises(tmp_path / "one", [3])] == ["ex3_relu.py", "ex3_relu.md"]


def test_no_hint_names_a_docs_path_that_an_installed_package_lacks():
    sources = [p for p in (ROOT / "tinygrad_softmax" / "course").rglob("*.py") if "exercises" not in p.parts]
    assert sources
    for path in sources:
        assert "docs/exercises" not in path.read_text(), path


def test_the_old_import_paths_still_work():
    assert layers.Softmax is course_layers.Softmax and layers.cce_gradient is course_layers.cce_gradient
    assert exercises.check is course.check and exercises.EXERCISES is course.EXERCISES
    from tinygrad_softmax.exercises.report import GRADCHECK, CheckReport

    assert GRADCHECK == "gradcheck" and CheckReport is course.CheckReport


@pytest.mark.parametrize("page", sorted(MATERIAL.glob("*.md")), ids=lambda p: p.name)
def test_the_task_texts_examples_run_and_print_what_they_say(page, tmp_path, monkeypatch):
    # The task texts left docs/ for the package; tests/test_docs.py's own rules run them here.
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import test_docs
    finally:
        sys.path.pop(0)
    test_docs.test_python_blocks_run(page, tmp_path, monkeypatch)
    test_docs.test_printed_values_match_their_comments(page, tmp_path, monkeypatch)
