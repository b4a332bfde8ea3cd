"""Grades a teacher can trust (issue 13, items 1, 2, 2b, 3): the real CLI on mistaken and cheating files.

The files are checked by the real command, ``tinygrad-softmax check``, in subprocesses: a few
command lines, each checking many files (one report each), started together in threads by one
module fixture (the hanging files alone, with ``--time-limit 2``), so the module costs about as
long as its slowest command rather than the sum of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tinygrad_softmax.course import check

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
README = ROOT / "docs" / "exercises" / "README.md"

# The 34 typical mistakes of the exercise table (docs/exercises/README.md shows the same rows):
# (row, exercise, fixture, the mistake, the check that fails, a phrase of the hint or message shown).
MISTAKES = [
    (1, 1, "wrong_sigmoid_missing_grad.py", "backward returns s * (1 - s), without grad", "gradcheck",
     "backward ignores grad"),
    (2, 1, "wrong_sigmoid_mutates_grad.py", "grad *= s * (1 - s), in place", "backward", "read-only"),
    (3, 1, "mistake_ex1_state_on_class.py", "the output kept on the class (Sigmoid.s = ...), not on ctx",
     "composite", "used twice in one graph"),
    (4, 1, "mistake_ex1_forgot_save.py", "forward never calls ctx.save_for_backward", "backward",
     "forward never called ctx.save_for_backward"),
    (5, 1, "mistake_ex1_linear_narrow_domain.py", "0.5 + x/4, with its own domain = (0, 1e-3)", "reference",
     "does not cover exercise 1's (-4, 4)"),
    (6, 1, "mistake_ex1_slightly_off.py", "a gradient 1.0009 times the right one", "gradcheck",
     "1.0009 times the right one"),
    (7, 1, "mistake_ex1_zero_for_3d.py", "a gradient of 0 for 3-d inputs", "gradcheck", "wrong for 3-d inputs"),
    (8, 2, "wrong_tanh_sign.py", "t * t - 1 instead of 1 - t * t", "gradcheck", "wrong sign everywhere"),
    (9, 2, "mistake_ex2_exp_formula.py", "tanh from exponentials: nan at +-1000", "reference",
     "forward gives nan"),
    (10, 2, "mistake_ex2_zero_beyond_2.py", "a gradient of 0 for |x| >= 2", "gradcheck",
     "derivative cut off outside some range"),
    (11, 3, "mistake_ex3_subgradient_one.py", "x >= 0: subgradient 1 at x = 0", "reference", "subgradient is 0"),
    (12, 3, "mistake_ex3_output_not_mask.py", "grad * relu(x) instead of grad * (x > 0)", "gradcheck",
     "not relu(x) itself"),
    (13, 3, "mistake_ex3_forward_in_place.py", "np.maximum(x, 0, out=x) in forward", "inputs kept",
     "forward modified its input x in place"),
    (14, 4, "mistake_ex4_skeleton_domain.py", "the skeleton's domain = (-2.0, 2.0) left in", "reference",
     "does not cover exercise 4's (0.1, 4)"),
    (15, 4, "mistake_ex4_factor_two.py", "grad / sqrt(x): a factor 2", "gradcheck", "2 times the right one"),
    (16, 5, "mistake_ex5_whole_matrix_renamed.py", "softmax over the whole matrix, class renamed RowSoftmax",
     "reference", "normalises the whole array at once"),
    (17, 5, "mistake_ex5_axis0.py", "softmax down the columns (axis=0)", "reference",
     "normalises each column (axis=0)"),
    (18, 5, "mistake_ex5_no_max_shift.py", "no max shift", "reference", "exp(1000) overflows"),
    (19, 5, "mistake_ex5_global_max.py", "the whole array's max subtracted, not each row's", "reference",
     "each row's own max"),
    (20, 5, "mistake_ex5_notebook_backward.py", "the notebook's np.dot((np.identity(n) - a.T) * a, grad)",
     "gradcheck", "right for column vectors (n, 1) but wrong for 1-D vectors"),
    (21, 5, "mistake_ex5_sum_no_axis.py", "np.sum(grad * a) without axis=-1", "gradcheck",
     "right for a single vector but wrong for a batch"),
    (22, 5, "mistake_ex5_jacobian_renamed.py", "the (k, k) Jacobian built, class renamed MySoftmax", "memory",
     "one (k, k) matrix is 8 MB"),
    (23, 5, "wrong_softmax_forgot_grad.py", "backward returns a * (1 - a), without grad", "gradcheck",
     "backward ignores grad"),
    (24, 6, "mistake_ex6_sum_renamed.py", "the loss summed, not averaged, class renamed SoftmaxCE", "reference",
     "a sum over the 6 rows where the exercise asks for their mean"),
    (25, 6, "mistake_ex6_len_z.py", "n = len(z)", "reference", "n = len(z) = 2 counts only the first axis"),
    (26, 6, "mistake_ex6_mean_all.py", "the mean over every element of z", "reference",
     "a mean over all 24 elements"),
    (27, 6, "mistake_ex6_backward_no_n.py", "forward averages, backward forgets / n", "gradcheck",
     "a missing division by n = 4"),
    (28, 6, "wrong_softmax_ce_notebook_mutation.py", "the notebook's grad_z = a; grad_z[y] -= 1", "no mutation",
     "grad_z = a; grad_z[y] -= 1"),
    (29, 6, "mistake_ex6_log_softmax.py", "np.log(softmax(z))", "reference",
     "compute the log-probabilities directly"),
    (30, 7, "mistake_ex7_no_shift.py", "log(sum(exp(x))) without the max shift", "reference",
     "exp(1000) overflows"),
    (31, 7, "mistake_ex7_reduced_axis.py", "grad * a, grad's reduced axis not put back", "backward",
     "put the reduced axis back"),
    (32, 8, "wrong_ex8_update_sign.py", "W + lr * grad_W", "one update", "the update has the wrong sign"),
    (33, 8, "wrong_ex8_bias_first.py", "the bias column put first", "step 1", "W's last column is the bias"),
    (34, 8, "wrong_ex8_skips_softmax_backward.py", "dL/da = -y / a used as dL/dz", "one update",
     "pass it through softmax.backward"),
]

# Cheats, all on a wrong tanh (or an op that never returns), graded as exercise 2.
PATCHES = ["cheat_patch_compare.py", "cheat_patch_passed.py", "cheat_patch_reference.py", "cheat_patch_allclose.py",
           "cheat_patch_numeric.py", "cheat_stack_inspection.py"]
EXITS = ["cheat_exit_at_import.py", "cheat_sysexit_at_import.py", "cheat_exit_in_forward.py",
         "cheat_sysexit_in_backward.py", "cheat_atexit.py", "cheat_fake_verdict.py"]
HANGS = ["cheat_catch_timeout.py", "cheat_ignore_alarm.py", "cheat_thread.py", "cheat_long_numpy.py"]
LIMIT = 2  # seconds, for the hanging cheats


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "tinygrad_softmax", "check", *map(str, args)]


RENAMED = {"mistake_ex5_whole_matrix_renamed.py": 5, "mistake_ex5_jacobian_renamed.py": 5,
           "mistake_ex6_sum_renamed.py": 6}
ALONE = ["cheat_exit_at_import.py", "cheat_atexit.py"]  # their own runs: the exit status is theirs alone


def commands() -> dict[str, list[str]]:
    """The command lines, few of them: a run checks many files, and its report has a section per file."""
    found = {}
    for group in ((1, 2, 3), (4, 5), (6, 7, 8)):  # graded by their class names (exercise 8: by its functions)
        files = [SOLUTIONS / m[2] for m in MISTAKES if m[1] in group and m[2] not in RENAMED]
        found[f"mistakes {group}"] = command(*files)
    found["spy"] = command(SOLUTIONS / "spy_on_the_checker.py")
    for number in sorted(set(RENAMED.values())):
        found[f"renamed {number}"] = command("--exercise", number, *(SOLUTIONS / n for n, e in RENAMED.items()
                                                                       if e == number))
    found["cheats"] = command("--exercise", 2, *(SOLUTIONS / n for n in PATCHES + EXITS if n not in ALONE))
    for name in ALONE:
        found[name] = command("--exercise", 2, SOLUTIONS / name)
    for name in HANGS:
        found[name] = command("--exercise", 2, "--time-limit", LIMIT, SOLUTIONS / name)
    return found


def report_of(cli: dict, name: str) -> str:
    """The report of one file, from whichever run checked it."""
    for done, _ in cli.values():
        found = sections(done.stdout).get(name)
        if found is not None:
            return found
    raise KeyError(name)


def run(argv: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT)
    return done, time.monotonic() - start


@pytest.fixture(scope="module")
def cli() -> dict[str, tuple[subprocess.CompletedProcess, float]]:
    """Every command line of this module, run concurrently (most time is spent waiting for children)."""
    jobs = commands()
    with ThreadPoolExecutor(max_workers=min(len(jobs), 2 * (os.cpu_count() or 2) + 2)) as pool:
        return dict(zip(jobs, pool.map(run, jobs.values())))


def sections(stdout: str) -> dict[str, str]:
    """One CLI run's reports, by file name."""
    parts = re.split(r"^(?=Checking \S+ \(seed \d+\)$)", stdout, flags=re.M)
    return {Path(p.split()[1]).name: p for p in parts if p.startswith("Checking ")}


def verdict(report: str) -> str:
    """The report's own last line (OK... or FAILED...)."""
    return [line for line in report.strip().splitlines() if line.startswith(("OK", "FAILED"))][-1]


# ------------------------------------------------------------------ the 34 mistakes


@pytest.mark.parametrize(("row", "number", "name", "mistake", "failing", "said"), MISTAKES,
                         ids=[m[2] for m in MISTAKES])
def test_each_typical_mistake_fails_its_check_with_its_hint(cli, row, number, name, mistake, failing, said):
    report = report_of(cli, name)
    assert verdict(report).startswith("FAILED"), report
    assert re.search(rf"^  FAIL  {re.escape(failing)}\s", report, re.M), report
    assert said in report, report


def test_renamed_classes_get_the_exercise_checks(cli):
    # issue 13, item 1: RowSoftmax, MySoftmax and SoftmaxCE are graded as exercises 5 and 6 all the same
    for key in ("renamed 5", "renamed 6"):
        assert cli[key][0].returncode == 1
    reports = {**sections(cli["renamed 5"][0].stdout), **sections(cli["renamed 6"][0].stdout)}
    for name, number, cls in (("mistake_ex5_whole_matrix_renamed.py", 5, "RowSoftmax"),
                              ("mistake_ex5_jacobian_renamed.py", 5, "MySoftmax"),
                              ("mistake_ex6_sum_renamed.py", 6, "SoftmaxCE")):
        report = reports[name]
        assert f"{cls}  (op name" in report and f"graded as exercise {number}" in report
        assert "  PASS  reference" in report or "  FAIL  reference" in report
        assert not verdict(report).startswith("OK")


def test_the_exercise_readme_lists_the_34_mistakes_with_their_check_and_hint():
    text = README.read_text()
    rows = re.findall(r"^\| (\d+) \| (\d) \| (.+?) \| `([^`]+)` \| (.+?) \|$", text, re.M)
    assert [(int(r[0]), int(r[1]), r[3]) for r in rows] == [(m[0], m[1], m[4]) for m in MISTAKES]
    for (_, _, described, _, hint), mistake in zip(rows, MISTAKES):
        assert described.replace("\\|", "|") == mistake[3], described  # a | in a Markdown table is written \|
        assert mistake[5] in hint, (mistake[2], hint)


# ------------------------------------------------------------------ cheats


@pytest.mark.parametrize("name", PATCHES)
def test_patching_the_checker_numpy_or_the_library_in_the_file_changes_no_verdict(cli, name):
    assert cli["cheats"][0].returncode == 1
    report = report_of(cli, name)
    assert verdict(report) == "FAILED: 2 of 7 checks failed: Tanh gradcheck, Tanh composite.", report
    assert "wrong sign everywhere" in report


@pytest.mark.parametrize("name", EXITS)
def test_ending_the_process_or_printing_a_verdict_is_a_fail(cli, name):
    report = report_of(cli, name)
    lines = report.strip().splitlines()
    assert verdict(report).startswith("FAILED"), report
    assert not any(line.startswith("OK") for line in lines)  # a printed verdict is shown quoted: "  | OK..."
    assert "Traceback" not in report
    if name in ALONE:
        done, _ = cli[name]
        assert done.returncode == 1 and lines[-1].startswith("FAILED"), done.stdout + done.stderr


def test_a_printed_verdict_is_shown_apart_from_the_real_one(cli):
    report = report_of(cli, "cheat_fake_verdict.py")
    assert "What the file printed while it was checked (not part of the verdict):" in report
    assert "  | OK: all 7 checks passed." in report


@pytest.mark.parametrize("name", HANGS)
def test_a_file_that_hangs_is_stopped_within_the_time_limit(cli, name):
    done, elapsed = cli[name]
    assert done.returncode == 1, done.stdout + done.stderr
    assert elapsed < LIMIT + 15, elapsed  # the parent kills the child; a loaded machine may start it slowly
    assert done.stdout.strip().splitlines()[-1].startswith("FAILED")
    if name != "cheat_thread.py":  # its op returns: the verdict is the wrong sign, not a timeout
        assert f"stopped after {LIMIT} s" in done.stdout


def test_the_child_shows_a_student_file_no_checker(cli):
    report = report_of(cli, "spy_on_the_checker.py")
    spied = [line for line in report.splitlines() if line.startswith("  | spied:")]
    assert spied == ["  | spied: modules [] frames []"], report


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "-1", "0"])
def test_a_time_limit_that_is_no_limit_is_refused_in_one_line(value, capsys):
    from tinygrad_softmax.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["check", "--time-limit", value, str(SOLUTIONS / "ex1_sigmoid.py")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--time-limit must be a number of seconds above 0 and at most 3600" in err[0]


def test_one_process_grading_many_files_gives_each_file_its_verdict(cli):
    # The cheats first: whatever they did in their children, this process still grades right.
    allclose = np.allclose
    for name in [*PATCHES, "cheat_atexit.py", "cheat_exit_in_forward.py"]:
        assert check(SOLUTIONS / name, exercise=2).exit_code == 1, name
    differences = sys.modules["tinygrad_softmax.gradcheck"].numeric_gradient
    assert np.allclose is allclose and differences.__module__ == "tinygrad_softmax.gradcheck"
    assert check(SOLUTIONS / "ex2_tanh.py", exercise=2).passed
    for name in ("mistake_ex5_axis0.py", "mistake_ex5_jacobian_renamed.py", "wrong_softmax_forgot_grad.py"):
        report = check(SOLUTIONS / name, exercise=5)
        assert report.format().strip().splitlines()[-1] == verdict(report_of(cli, name)), name


def test_an_exercise_file_with_several_ops_must_say_which(tmp_path):
    done = subprocess.run(command("--exercise", 1, SOLUTIONS / "two_ops.py"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "defines 2 Function subclasses (Square, Cube) and none is named Sigmoid" in done.stderr
    assert "say which one is exercise 1 with --op NAME" in done.stderr
    report = check(SOLUTIONS / "two_ops.py", exercise=1, op="Square")
    assert report.ops == ["Square"] and report.exercises == {"Square": 1}
    assert "differs from exercise 1 (Sigmoid)" in report.results_for(check="reference")[0].message


def test_checks_that_did_not_run_are_listed_and_never_ok(tmp_path):
    skeleton = tmp_path / "ex5_softmax.py"
    skeleton.write_bytes((ROOT / "tinygrad_softmax" / "course" / "exercises" / "ex5_softmax.py").read_bytes())
    report = check(skeleton)
    lines = report.format().splitlines()
    assert "  ----  memory       not run: forward is not implemented yet" in lines
    assert {r.check for r in report.not_run} == {"inputs kept", "backward", "gradcheck", "no mutation", "composite",
                                                 "reference", "memory"}
    assert lines[-1].startswith("FAILED: 1 of 8 checks failed: Softmax forward. 7 of 8 checks did not run")


def test_an_op_not_graded_as_an_exercise_says_so():
    report = check(SOLUTIONS / "two_ops.py", op="Square")
    assert report.passed
    assert report.format().splitlines()[-1].endswith(
        "Not compared with any exercise: --exercise N grades the file as exercise N "
        "(its reference, domain and special inputs)."
    )


def test_the_memory_limit_stops_a_file_that_allocates_too_much(tmp_path):
    path = tmp_path / "greedy.py"
    path.write_text("import numpy as np\n\nhog = np.ones(1_000_000_000)  # 8 GB\n")
    report = check(path, memory_limit=512)
    assert report.load_error is not None and "MemoryError" in report.load_error


def test_the_student_prints_reach_the_report(tmp_path):
    path = tmp_path / "chatty.py"
    path.write_text((SOLUTIONS / "ex1_sigmoid.py").read_text().replace(
        "        return s\n", "        print('forward saw', x.shape)\n        return s\n"))
    report = check(path)
    assert report.passed and "  | forward saw (3,)" in report.format()


def test_the_max_shift_remark_comes_only_when_the_shift_is_missing(cli):
    # issue 13, item 3: a student who subtracted each row's max is not told to subtract it
    subtracted = report_of(cli, "mistake_ex5_sum_no_axis.py")  # right forward, wrong backward on huge logits
    assert "  FAIL  reference" in subtracted and "on logits like 1000 and -1000" in subtracted
    assert "subtract" not in subtracted
    assert "subtract each row's max before exp" in report_of(cli, "mistake_ex5_no_max_shift.py")
