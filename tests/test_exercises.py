"""The exercise checker: it passes every reference solution and fails each known-wrong op for the right reason."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinygrad_softmax import Function, Tensor
from tinygrad_softmax.exercises import EXERCISES, check, check_function, run_cli
from tinygrad_softmax.exercises.report import (
    BACKWARD,
    COMPOSITE,
    FORWARD,
    GRADCHECK,
    INPUTS,
    MEMORY,
    MUTATION,
    REFERENCE,
    SHAPE,
    SIGNATURE,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
SKELETONS = ROOT / "tinygrad_softmax" / "course" / "exercises"  # moved from docs/exercises (issue 13, item 10)
EXERCISE_FILES = {
    1: "ex1_sigmoid.py",
    2: "ex2_tanh.py",
    3: "ex3_relu.py",
    4: "ex4_sqrt.py",
    5: "ex5_softmax.py",
    6: "ex6_softmax_cross_entropy.py",
    7: "ex7_logsumexp.py",
    8: "ex8_training_loop.py",
}


def run_check(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", "check", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def student(tmp_path: Path, source: str, name: str = "student.py") -> Path:
    """Write a student's file; every source starts with the usual imports."""
    path = tmp_path / name
    header = "import numpy as np\n\nfrom tinygrad_softmax import Function, register_op\n\n\n"
    path.write_text(header + textwrap.dedent(source))
    return path


def failed_checks(report) -> set[str]:
    return {r.check for r in report.failures}


def failure_text(report, check_name: str) -> str:
    return "\n".join(r.text for r in report.failures if r.check == check_name)


# -------------------------------------------------------------------- reference solutions pass


@pytest.mark.parametrize("number", range(1, 9))
def test_every_reference_solution_passes_as_its_exercise(number):
    report = check(SOLUTIONS / EXERCISE_FILES[number], exercise=number)
    assert report.passed, report.format(verbose=True)
    assert report.exit_code == 0
    if number <= 7:  # compared with the exercise's reference, and for 5-7 the memory check ran
        assert [r.status for r in report.results_for(check=REFERENCE)] == ["PASS"]
        assert [r.status for r in report.results_for(check=MEMORY)] == (["PASS"] if number >= 5 else [])


def test_a_binary_op_passes_every_broadcasting_case():
    report = check(SOLUTIONS / "binary_logaddexp.py")
    assert report.passed, report.format(verbose=True)
    cases = {r.case for r in report.results_for(check=GRADCHECK)}
    assert {"a (4, 3), b (3,)", "a (4, 1), b (1, 3)", "a (4, 3), b ()"} <= cases


def test_the_cli_passes_a_reference_solution_with_exit_code_0(tmp_path):
    done = run_check(SOLUTIONS / "ex5_softmax.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in (FORWARD, INPUTS, BACKWARD, GRADCHECK, MUTATION, COMPOSITE, REFERENCE, MEMORY):
        assert sum(line.startswith(f"  PASS  {name}") for line in lines) == 1, name
    assert any(line.startswith("  SKIP  x ()") and "ValueError" in line for line in lines)
    assert lines[-1].startswith("OK: all 8 checks passed.")


def test_the_cli_checks_exercise_8(tmp_path):
    done = run_check("--exercise", 8, SOLUTIONS / "ex8_training_loop.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "W after one epoch equals fit()'s" in done.stdout


# -------------------------------------------------------------------- known-wrong ops, right reasons


def test_the_notebook_softmax_backward_is_wrong_on_vectors_and_right_on_columns():
    report = check(SOLUTIONS / "wrong_softmax_notebook_backward.py")
    status = {r.case: r.status for r in report.results_for("NotebookSoftmax", GRADCHECK)}
    assert status["x (3,)"] == status["x (5,)"] == "FAIL"
    assert status["x (4, 1)"] == "PASS"
    assert "right for column vectors (n, 1) but wrong for 1-D vectors" in failure_text(report, GRADCHECK)
    assert "worst element: x (3,) at index" in failure_text(report, GRADCHECK)
    # on a batch the (n, n) identity meets a (3, 4) a.T: backward raises, which is a FAIL, never a SKIP
    batch = [r for r in report.results_for("NotebookSoftmax", BACKWARD) if r.case == "x (4, 3)"]
    assert batch[0].status == "FAIL" and "could not be broadcast" in batch[0].message
    assert report.exit_code == 1


def test_the_notebook_index_typos_in_dl_dyhat_are_found_at_the_wrong_entries():
    report = check(SOLUTIONS / "wrong_cce_index_typos.py")
    text = failure_text(report, GRADCHECK)
    assert "yhat (3,)" in {r.case for r in report.failures if r.check == GRADCHECK}
    assert "index typo" in text and "wrong at index" in text
    assert "worst element: yhat (3,) at index" in text


def test_a_sigmoid_backward_without_grad_is_told_about_the_chain_factor():
    report = check(SOLUTIONS / "wrong_sigmoid_missing_grad.py")
    assert failed_checks(report) == {GRADCHECK, COMPOSITE}
    text = failure_text(report, GRADCHECK)
    assert "backward ignores grad" in text and "chain rule" in text
    assert "analytic" in text and "numeric" in text


def test_a_wrong_sign_is_named():
    report = check(SOLUTIONS / "wrong_tanh_sign.py")
    assert failed_checks(report) == {GRADCHECK, COMPOSITE}
    assert "wrong sign everywhere" in failure_text(report, GRADCHECK)


def test_a_backward_that_mutates_grad_is_stopped_by_the_read_only_grad():
    # The engine hands a user's backward a read-only grad (an in-place edit would corrupt
    # other tensors' gradients), so the mistake surfaces as a failing backward with the cause.
    report = check(SOLUTIONS / "wrong_sigmoid_mutates_grad.py")
    assert failed_checks(report) == {BACKWARD, COMPOSITE}
    text = failure_text(report, BACKWARD)
    assert "read-only" in text and "grad *= s * (1 - s)" in text and "compute a new array" in text


def test_the_notebook_grad_z_alias_is_caught_mutating_the_saved_softmax_output():
    report = check(SOLUTIONS / "wrong_softmax_ce_notebook_mutation.py")
    assert failed_checks(report) == {MUTATION, COMPOSITE}
    text = failure_text(report, MUTATION)
    assert "backward modified ctx.saved_tensors[0] in place" in text
    assert "grad_z = a; grad_z[y] -= 1" in text
    assert "second backward() over the same graph" in failure_text(report, COMPOSITE)


def test_a_backward_that_mutates_the_forward_output_says_so():
    report = check(SOLUTIONS / "wrong_sigmoid_mutates_output.py")
    assert "the forward's output (saved as ctx.saved_tensors[0])" in failure_text(report, MUTATION)


def test_a_transposed_gradient_is_reported_by_the_engine_with_a_hint():
    report = check(SOLUTIONS / "wrong_transposed_gradient.py")
    batch = [r for r in report.failures if r.check == BACKWARD and r.case == "x (4, 3)"]
    assert batch, report.format()
    assert "Square.backward: gradient for input 0 has shape (3, 4)" in batch[0].message
    assert "input's shape (4, 3)" in batch[0].message
    assert any("transposed" in hint for hint in batch[0].hints)
    # on vectors .T changes nothing: those cases pass
    assert all(r.status == "PASS" for r in report.results_for("Square", GRADCHECK))


def test_the_cli_fails_a_wrong_op_with_exit_code_1_and_the_reason(tmp_path):
    done = run_check(SOLUTIONS / "wrong_tanh_sign.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "  FAIL  gradcheck    x (3,): the gradient of x is wrong" in done.stdout
    assert "hint: the gradient has the wrong sign everywhere" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("FAILED: 2 of 7 checks failed")


# --------------------------------------------------------------------------- loading the file


def test_a_syntax_error_is_one_message_with_the_line(tmp_path):
    path = tmp_path / "student.py"
    shutil.copy(SOLUTIONS / "syntax_error.py.txt", path)
    done = run_check(path, cwd=tmp_path)
    assert done.returncode == 1
    assert "student.py, line 9: SyntaxError: invalid syntax" in done.stdout
    assert "def forward(ctx x):" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_an_import_error_is_one_message_with_the_line(tmp_path):
    done = run_check(SOLUTIONS / "import_error.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "import_error.py, line 5: ImportError: cannot import name 'Functoin'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_errors_at_import_time_and_sys_exit_are_reported_not_raised(tmp_path):
    report = check(student(tmp_path, "x = 1\nraise RuntimeError('oops')\n"))
    assert report.exit_code == 1 and report.load_error.startswith("student.py, line 7: RuntimeError: oops")
    report = check(student(tmp_path, "import sys\nsys.exit(3)\n", name="quits.py"))
    assert "called sys.exit()" in report.load_error


def test_usage_errors_exit_with_2(tmp_path):
    done = run_check(tmp_path / "missing.py", cwd=tmp_path)
    assert done.returncode == 2 and "no such file" in done.stderr
    done = run_check("--op", "Nope", SOLUTIONS / "two_ops.py", cwd=tmp_path)
    assert done.returncode == 2 and "found: Square, Cube" in done.stderr
    with pytest.raises(ValueError, match="no exercise 9"):
        check(SOLUTIONS / "ex1_sigmoid.py", exercise=9)


def test_ops_registered_by_the_file_are_removed_after_the_check(tmp_path):
    path = student(tmp_path, """
        class Double(Function):
            @staticmethod
            def forward(ctx, x):
                return 2 * x

            @staticmethod
            def backward(ctx, grad):
                return 2 * grad


        register_op("double", Double)
    """)
    assert check(path).passed
    assert check(path).passed  # a second import does not collide with the first registration
    assert not hasattr(Tensor, "double")


def test_registrations_are_undone_even_when_the_import_fails(tmp_path):
    path = student(tmp_path, """
        class Twice(Function):
            @staticmethod
            def forward(ctx, x):
                return 2 * x


        register_op("twice", Twice)
        raise ImportError("a later line fails")
    """)
    assert check(path).load_error.startswith("student.py, line 14: ImportError: a later line fails")
    assert not hasattr(Tensor, "twice")


def test_a_folder_is_a_usage_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check(tmp_path)


def test_function_subclasses_imported_into_the_file_are_not_checked(tmp_path):
    path = student(tmp_path, "from tinygrad_softmax.ops import Exp  # noqa: F401\n")
    report = check(path)
    assert report.ops == ["(no op)"] and "defines no Function subclass" in report.failures[0].message


# ------------------------------------------------------------------------ options and the API


def test_op_selects_one_class_by_class_or_op_name():
    path = SOLUTIONS / "two_ops.py"
    assert check(path).exit_code == 1  # Cube is wrong
    square = check(path, op="Square")
    assert square.passed and square.ops == ["Square"]
    cube = check(path, op="cube")
    assert cube.ops == ["Cube"] and failed_checks(cube) == {GRADCHECK, COMPOSITE}
    assert "a factor x is missing" in failure_text(cube, GRADCHECK)
    with pytest.raises(ValueError, match="defines no Function subclass of that name"):
        check(path, op="Nope")


def test_the_cli_op_option_and_exit_codes(tmp_path):
    assert run_check("--op", "Square", SOLUTIONS / "two_ops.py", cwd=tmp_path).returncode == 0
    assert run_check("--op", "Cube", SOLUTIONS / "two_ops.py", cwd=tmp_path).returncode == 1


def test_run_cli_returns_the_exit_code(capsys):
    args = argparse.Namespace(file=str(SOLUTIONS / "two_ops.py"), op="Square", exercise=None, seed=3, verbose=True)
    assert run_cli(args) == 0
    out = capsys.readouterr().out
    assert "(seed 3)" in out and "  PASS  gradcheck    x (4, 3): max |analytic - numeric|" in out


def test_exercise_option_grades_the_file_op_as_that_exercise_whatever_its_name():
    # issue 13, item 1: the exercise's checks run on the file's one op, not only on a class named like it
    report = check(SOLUTIONS / "ex1_sigmoid.py", exercise=5)
    assert report.exit_code == 1 and report.exercises == {"Sigmoid": 5}
    assert "differs from exercise 5 (fused Softmax)" in failure_text(report, REFERENCE)
    assert [r.status for r in report.results_for(check=MEMORY)] == ["PASS"]


def test_exercise_8_is_recognised_without_the_option():
    report = check(SOLUTIONS / "ex8_training_loop.py")
    assert report.passed and report.ops == ["exercise 8"]


def test_check_function_checks_a_class_in_memory():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor=3.0):  # a parameter with a default is a setting, not an input
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.factor

    report = check_function(Scale)
    assert report.passed, report.format()
    assert "1 input: x in (-2, 2)" in report.op_notes["Scale"]
    with pytest.raises(TypeError):
        check_function(len)


def test_verbose_lists_every_case_and_the_default_folds_them():
    report = check(SOLUTIONS / "ex1_sigmoid.py")
    folded = [line for line in report.format().splitlines() if "gradcheck" in line]
    # issue 13, item 2b: 3-d inputs too, and an exercise's op is compared with the exercise's gradient
    expected = (
        "  PASS  gradcheck    agrees with float64 central differences and with exercise 1's gradient "
        "on x: (3,), (5,), (4, 1), (4, 3), (2, 3, 4), ()"
    )
    assert folded == [expected]
    assert sum("gradcheck" in line for line in report.format(verbose=True).splitlines()) == 6


# -------------------------------------------------------------------------- skeletons


@pytest.mark.parametrize("name", sorted(EXERCISE_FILES.values()))
def test_each_skeleton_fails_cleanly_as_not_implemented(name, tmp_path):
    path = tmp_path / name
    shutil.copy(SKELETONS / name, path)
    report = check(path)
    assert report.load_error is None
    assert report.exit_code == 1
    assert report.failures and all("not implemented yet" in r.message for r in report.failures)
    assert not (tmp_path / "__pycache__").exists()  # the checker writes nothing next to the file


def test_every_exercise_has_a_task_text_and_a_skeleton():
    for exercise in EXERCISES.values():
        assert (SKELETONS / exercise.task).is_file()
        assert (SKELETONS / exercise.task.replace(".md", ".py")).is_file()


# --------------------------------------------------------------------- skips and rejections


def test_a_shape_the_forward_rejects_is_a_skip_with_the_reason():
    report = check(SOLUTIONS / "ex5_softmax.py")
    (skip,) = report.results_for(check=SHAPE)
    assert skip.status == "SKIP" and skip.case == "x ()"
    assert "forward rejects this input: ValueError: softmax needs an axis" in skip.message
    assert report.passed


def test_an_op_whose_forward_accepts_nothing_fails():
    report = check(SOLUTIONS / "rejects_everything.py")
    assert report.exit_code == 1
    assert report.failures[0].message == "forward accepts none of the tested inputs"
    assert "only shape (7,) is supported" in report.failures[0].text


def test_a_backward_that_raises_is_a_fail_not_a_skip(tmp_path):
    path = student(tmp_path, """
        class Fussy(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.shape = x.shape
                return x * 1.0

            @staticmethod
            def backward(ctx, grad):
                if len(ctx.shape) == 2:
                    raise ValueError("no batches in backward")
                return grad
    """)
    report = check(path)
    backward = {r.case: r for r in report.results_for("Fussy", BACKWARD)}
    assert backward["x (4, 3)"].status == "FAIL" and "no batches in backward" in backward["x (4, 3)"].message
    assert "line 16 of student.py" in backward["x (4, 3)"].message
    assert not report.results_for(check=SHAPE)


# ----------------------------------------------------------------------- domains and targets


LOG_OP = """
    class Log(Function):
        {domain}
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.log(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad / x
"""


def test_the_domain_attribute_keeps_inputs_inside_the_op_domain(tmp_path):
    without = check(student(tmp_path, LOG_OP.format(domain="")))
    assert FORWARD in failed_checks(without)
    assert "nan or inf" in failure_text(without, FORWARD) and "domain = (low, high)" in failure_text(without, FORWARD)
    assert check(student(tmp_path, LOG_OP.format(domain="domain = (0.5, 3.0)"), name="log2.py")).passed


def test_a_probability_target_is_drawn_when_asked(tmp_path):
    source = (SOLUTIONS / "ex6_softmax_cross_entropy.py").read_text().replace('"onehot"', '"probs"')
    path = tmp_path / "probs.py"
    path.write_text(source)
    report = check(path)
    assert report.passed and "y constant probability rows" in report.op_notes["SoftmaxCrossEntropy"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('domain = "positive"', "domain must be (low, high)"),
        ("domain = (2.0, 1.0)", "finite interval with low < high"),
        ("@staticmethod\ndef forward(ctx, *xs):\n    return xs[0]", "does not say how many inputs"),
        ("@staticmethod\ndef forward(ctx, x, *, axis):\n    return x", "keyword-only argument 'axis' has no default"),
        ("def forward(self, ctx, x):\n    return x", "write it as a @staticmethod"),
    ],
)
def test_an_op_the_checker_cannot_call_gets_a_clear_signature_failure(tmp_path, body, message):
    lines = ["class Odd(Function):", *("    " + line for line in body.splitlines())]
    if "def forward" not in body:
        lines += ["    @staticmethod", "    def forward(ctx, x):", "        return x"]
    lines += ["    @staticmethod", "    def backward(ctx, grad):", "        return grad"]
    report = check(student(tmp_path, "\n".join(lines) + "\n"))
    assert [r.check for r in report.failures] == [SIGNATURE]
    assert message in report.failures[0].message


# -------------------------------------------------------------- more classic slips, more hints


def test_relu_with_gradient_one_at_zero_fails_the_reference_subgradient(tmp_path):
    source = (SOLUTIONS / "ex3_relu.py").read_text().replace("positive = x > 0", "positive = x >= 0")
    path = tmp_path / "relu.py"
    path.write_text(source)
    report = check(path)
    assert failed_checks(report) == {REFERENCE}  # random inputs never hit 0: only the special input shows it
    assert "subgradient is 0" in failure_text(report, REFERENCE)


SOFTMAX = """
    class Softmax(Function):
        @staticmethod
        def forward(ctx, x):
            if x.ndim == 0:
                raise ValueError("softmax needs an axis")
            e = np.exp({shifted})
            a = e / np.sum(e, axis=-1, keepdims=True)
            ctx.save_for_backward(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            {backward}
"""
RIGHT_VJP = "return a * (grad - np.sum(grad * a, axis=-1, keepdims=True))"


def softmax_file(tmp_path, shifted="x - np.max(x, axis=-1, keepdims=True)", backward=RIGHT_VJP):
    return student(tmp_path, SOFTMAX.format(shifted=shifted, backward=backward), name="softmax.py")


def test_softmax_without_the_max_shift_fails_on_huge_logits(tmp_path):
    report = check(softmax_file(tmp_path, shifted="x"))
    assert failed_checks(report) == {REFERENCE}
    assert "logits like 1000 and -1000" in failure_text(report, REFERENCE)


def test_softmax_backward_summing_over_the_whole_array_is_wrong_for_batches(tmp_path):
    report = check(softmax_file(tmp_path, backward="return a * (grad - np.sum(grad * a))"))
    status = {r.case: r.status for r in report.results_for("Softmax", GRADCHECK)}
    assert status["x (3,)"] == "PASS" and status["x (4, 3)"] == "FAIL"
    assert "right for a single vector but wrong for a batch" in failure_text(report, GRADCHECK)


def test_softmax_backward_that_builds_the_jacobian_fails_the_memory_check(tmp_path):
    jacobian = (
        "jac = a[..., :, None] * (np.eye(a.shape[-1]) - a[..., None, :])\n"
        "            return np.einsum('...ij,...i->...j', jac, grad)"
    )
    report = check(softmax_file(tmp_path, backward=jacobian))
    assert failed_checks(report) == {MEMORY}  # right values, quadratic memory
    assert "diag(a) - a a^T" in failure_text(report, MEMORY)


def test_softmax_cross_entropy_without_the_mean_is_a_missing_division_by_n(tmp_path):
    source = (SOLUTIONS / "ex6_softmax_cross_entropy.py").read_text()
    source = source.replace("return grad * (a - y) / ctx.n, None", "return grad * (a - y), None")
    path = tmp_path / "sce.py"
    path.write_text(source)
    report = check(path)
    assert "a missing division by n = 4" in failure_text(report, GRADCHECK)


def test_logsumexp_backward_without_the_reduced_axis_is_explained(tmp_path):
    source = (SOLUTIONS / "ex7_logsumexp.py").read_text().replace("grad[..., None] * a", "grad * a")
    path = tmp_path / "lse.py"
    path.write_text(source)
    report = check(path)
    text = failure_text(report, BACKWARD) + failure_text(report, GRADCHECK)
    assert "put the reduced axis back" in text


@pytest.mark.parametrize(
    ("forward", "check_name", "message"),
    [
        ("np.exp(x)", None, None),
        ("None", FORWARD, "forget the return statement"),
        ("[1.0, 2.0]", FORWARD, "not a list or tuple"),
        ("np.exp(x).astype(np.float32)", FORWARD, "float32"),
        ("np.round(np.exp(x)).astype(int)", FORWARD, "no gradient would flow"),
        ("np.exp(x).T.copy() if x.ndim == 2 else np.exp(x)", FORWARD, "returned shape (3, 4)"),
    ],
)
def test_forward_return_values_are_checked(tmp_path, forward, check_name, message):
    report = check(student(tmp_path, f"""
        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                out = {forward}
                ctx.save_for_backward(np.exp(x))
                return out

            @staticmethod
            def backward(ctx, grad):
                (e,) = ctx.saved_tensors
                return grad * e
    """))
    if check_name is None:
        assert report.passed, report.format()
    else:
        assert check_name in failed_checks(report) and message in failure_text(report, check_name)


def test_a_backward_returning_grad_unchanged_is_missing_the_local_derivative(tmp_path):
    report = check(student(tmp_path, """
        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                return np.exp(x)

            @staticmethod
            def backward(ctx, grad):
                return grad
    """))
    assert failed_checks(report) == {GRADCHECK, COMPOSITE}
    assert "backward returns grad unchanged: the local derivative is missing" in failure_text(report, GRADCHECK)


def test_forward_writing_into_its_input_fails(tmp_path):
    report = check(student(tmp_path, """
        class Shift(Function):
            @staticmethod
            def forward(ctx, x):
                x -= 1.0
                return x * 1.0

            @staticmethod
            def backward(ctx, grad):
                return grad
    """))
    assert INPUTS in failed_checks(report)
    assert "forward modified its input x in place" in failure_text(report, INPUTS)


def test_backward_returning_none_or_too_few_gradients_fails(tmp_path):
    report = check(student(tmp_path, """
        class Product(Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b

            @staticmethod
            def backward(ctx, grad):
                return grad
    """))
    assert "returned 1 gradient(s) but the op has 2 input(s)" in failure_text(report, BACKWARD)
    report = check(student(tmp_path, """
        class Half(Function):
            @staticmethod
            def forward(ctx, x):
                return x / 2

            @staticmethod
            def backward(ctx, grad):
                return None
    """, name="half.py"))
    assert "backward returned None for x, which needs a gradient" in failure_text(report, BACKWARD)


# ------------------------------------------------------------------------------- exercise 8


@pytest.mark.parametrize(
    ("name", "failed", "hint"),
    [
        ("wrong_ex8_update_sign.py", {"one update", "one epoch", "all steps"}, "the update has the wrong sign"),
        ("wrong_ex8_bias_first.py", {"step 1", "all steps"}, "W's last column is the bias"),
        ("wrong_ex8_skips_softmax_backward.py", {"one update", "one epoch", "all steps"}, "pass it through softmax"),
    ],
)
def test_a_wrong_training_loop_fails_where_the_mistake_is(name, failed, hint):
    report = check(SOLUTIONS / name, exercise=8)
    assert report.exit_code == 1
    assert failed_checks(report) == failed
    assert any(hint in r.text for r in report.failures)


def test_a_training_loop_missing_a_function_fails(tmp_path):
    report = check(student(tmp_path, "def train_one_epoch(X, labels, W, learning_rate):\n    return W, []\n"))
    assert report.ops == ["exercise 8"]
    assert "no function add_bias_feature, initialize_weights" in report.failures[0].message


def test_a_training_loop_returning_only_w_is_told_to_return_the_losses(tmp_path):
    source = (SOLUTIONS / "ex8_training_loop.py").read_text().replace("return W, losses", "return W")
    path = tmp_path / "loop.py"
    path.write_text(source)
    report = check(path, exercise=8)
    assert "it must return a pair (W, losses)" in failure_text(report, "one update")


def test_an_endless_loop_is_stopped_with_a_clear_verdict():
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", "check", str(SOLUTIONS / "loops_forever.py"), "--time-limit", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "stopped after 1 s" in done.stdout and "loop forever" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_trivially_passing_column_does_not_add_the_column_vector_hint():
    # Softmax along an axis of length 1 is constant, so (4, 1) "passes" any backward that
    # multiplies by (1 - a); that must not be read as "right for columns, wrong for 1-D".
    from tinygrad_softmax.exercises import hints

    report = check(SOLUTIONS / "wrong_softmax_forgot_grad.py")
    text = failure_text(report, GRADCHECK)
    assert "backward ignores grad" in text
    assert hints.COLUMN_ONLY not in text
