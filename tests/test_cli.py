"""The `tinygrad-softmax` command, run as a subprocess: demo, train, predict, and how user errors are reported.

A few tests run `cli.main` in this process instead, to break one step of writing the outputs (a plot that
cannot be drawn, a full disk, a refused rename) and check that no file is left half-written or alone.
"""

from __future__ import annotations

import errno
import math
import os
import re
import resource
import stat
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from test_model_files import zip_bomb  # tests/ is on sys.path: pytest puts it there

from tinygrad_softmax import cli
from tinygrad_softmax.datasets import load_csv
from tinygrad_softmax.nn import SoftmaxClassifier

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IRIS_CLASSES = {"setosa", "versicolor", "virginica"}
FLOAT = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def run(*args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.fixture
def iris_csv(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_bytes((resources.files("tinygrad_softmax.datasets") / "iris.csv").read_bytes())
    return path


@pytest.fixture
def features_csv(tmp_path):
    """Iris without its label column, for predict."""
    path = tmp_path / "features.csv"
    lines = (resources.files("tinygrad_softmax.datasets") / "iris.csv").read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    return path


# ------------------------------------------------------------------ the console script and --help


def test_console_script_is_installed_next_to_the_interpreter(tmp_path):
    script = Path(sys.executable).parent / "tinygrad-softmax"
    assert script.is_file(), f"no console script at {script}"
    done = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: tinygrad-softmax" in done.stdout
    for command in ("demo", "train", "predict"):
        assert command in done.stdout


def test_train_help_lists_its_options(tmp_path):
    done = run("train", "--help", cwd=tmp_path)
    assert done.returncode == 0
    options = ("--data", "--target", "--epochs", "--lr", "--batch-size", "--optimizer", "--seed", "--save", "--plot")
    for option in options:
        assert option in done.stdout


def test_no_command_is_a_usage_error(tmp_path):
    done = run(cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "required: command" in done.stderr


# ------------------------------------------------------------------ demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    out = cwd / "nested" / "graphs"  # parents do not exist yet
    done = run("demo", "--out", out, cwd=cwd)
    return done, out, cwd


def section(stdout, number):
    """The text of the demo's section `number` (from its '=== N.' title to the next title)."""
    match = re.search(rf"^=== {number}\. (.*?)(?=^=== |\Z)", stdout, flags=re.S | re.M)
    assert match, f"no section {number} in the demo's output"
    return match.group(1)


def test_demo_exits_cleanly(demo):
    done, _, _ = demo
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_demo_prints_the_data_and_its_one_hot_labels(demo):
    stdout = demo[0].stdout
    text = section(stdout, 1)
    assert "one-hot labels" in text
    labels = [int(v) for v in re.search(r"labels = \[([\d ]+)\]", text).group(1).split()]
    assert len(labels) == 5 and all(0 <= v < 3 for v in labels)
    one_hot_text = text[text.index("one-hot labels") :]
    rows = [[float(v) for v in row.split()] for row in re.findall(r"\[([\d.\s]+)\]", one_hot_text)]
    assert len(rows) == 5
    np.testing.assert_array_equal(rows, np.eye(3)[labels])


def test_demo_prints_z_a_and_the_loss(demo):
    text = section(demo[0].stdout, 2)
    z = [float(v) for v in re.search(r"^z = \[([^\]]*)\]", text, flags=re.M).group(1).split()]
    a = [float(v) for v in re.search(r"^a = \[([^\]]*)\]", text, flags=re.M).group(1).split()]
    assert len(z) == 3 and len(a) == 3
    assert math.isclose(sum(a), 1.0, abs_tol=2e-4)
    np.testing.assert_allclose(a, np.exp(z) / np.exp(z).sum(), atol=2e-4)
    assert "sums to 1.000000" in text
    label, loss, cce = re.search(rf"L = -log a\[(\d)\] = {FLOAT};.*-sum\(y log a\) = {FLOAT}", text).groups()
    assert float(loss) == float(cce)
    assert math.isclose(float(loss), -math.log(a[int(label)]), rel_tol=1e-3)


def test_demo_gradient_matches_the_closed_form(demo):
    text = section(demo[0].stdout, 3)
    assert "W.grad" in text and "(a - y) x^T" in text
    difference = float(re.search(rf"max \|difference\| = {FLOAT}", text).group(1))
    assert difference < 1e-12


def test_demo_prints_the_chain_rule_factors_and_the_softmax_jacobian(demo):
    text = section(demo[0].stdout, 4)
    assert "dL/da" in text and "-y / a" in text
    assert "jacobian" in text and "diag(a) - a a^T" in text
    difference = float(re.search(rf"diag\(a\) - a a\^T: max \|difference\| {FLOAT}", text).group(1))
    assert difference < 1e-12
    assert "dz/dW" in text


def test_demo_runs_the_per_sample_loop(demo):
    text = section(demo[0].stdout, 5)
    losses = re.findall(rf"^sample (\d): loss {FLOAT}", text, flags=re.M)
    assert [int(i) for i, _ in losses] == [0, 1, 2, 3, 4]
    assert all(math.isfinite(float(v)) and float(v) >= 0 for _, v in losses)


def test_demo_trains_on_iris(demo):
    text = section(demo[0].stdout, 6)
    accuracy = float(re.search(r"test accuracy: (\d\.\d{3})\b", text).group(1))
    assert accuracy >= 0.9


def check_dot_text(text):
    assert text.lstrip().startswith("digraph")
    assert text.rstrip().endswith("}") and text.count("{") == text.count("}")
    assert "->" in text
    for op in ("matmul", "exp", "log"):
        assert re.search(rf'label="{op}\b', text), f"{op} missing from the graph"


def test_demo_writes_the_graph_of_L(demo):
    """The graph of L: DOT text, or an SVG rendered by Graphviz when it is installed."""
    done, out, cwd = demo
    dot, svg = out / "graph.dot", out / "graph.svg"
    assert dot.is_file() or svg.is_file(), listing(out)
    if dot.is_file():
        check_dot_text(dot.read_text())
    if svg.is_file():
        text = svg.read_text()
        assert "<svg" in text and text.rstrip().endswith("</svg>")
        for op in ("matmul", "exp", "log"):
            assert f">{op}" in text, f"{op} missing from the picture"
    assert any(str(p) in done.stdout for p in (dot, svg)), "the demo says where the graph went"
    assert not (cwd / "tinygrad_softmax_out").exists(), "--out was given; the default folder must not be made"


def test_demo_writes_graph_dot(demo):
    _, out, _ = demo
    assert (out / "graph.dot").is_file(), listing(out)
    check_dot_text((out / "graph.dot").read_text())


def test_demo_default_out_folder(tmp_path):
    done = run("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "tinygrad_softmax_out"
    assert out.is_dir() and listing(tmp_path) == ["tinygrad_softmax_out"]
    assert {"graph.dot", "graph.svg"} & set(listing(out)), listing(out)


def test_demo_out_is_a_file_is_a_user_error(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    done = run("demo", "--out", tmp_path / "taken", cwd=tmp_path)
    assert_user_error(done, "taken")
    assert (tmp_path / "taken").read_text() == "not a folder"


# ------------------------------------------------------------------ train and predict


ACCURACY_LINE = re.compile(r"^test accuracy: (0\.\d\d\d|1\.000)$", flags=re.M)


def test_train_iris_reaches_the_promised_accuracy(tmp_path):
    done = run("train", "--data", "iris", "--seed", "0", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^test accuracy: 0\.\d\d\d$", done.stdout, flags=re.M), done.stdout
    accuracy = float(ACCURACY_LINE.search(done.stdout).group(1))
    assert accuracy >= 0.93
    assert done.stderr == "", "--quiet shows no progress bar"
    assert listing(tmp_path) == [], "train writes nothing unless asked to"


def test_train_is_reproducible_with_seed(tmp_path):
    first = run("train", "--data", "iris", "--epochs", "5", "--seed", "3", "--quiet", cwd=tmp_path)
    second = run("train", "--data", "iris", "--epochs", "5", "--seed", "3", "--quiet", cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert ACCURACY_LINE.search(first.stdout)


def test_train_shows_a_progress_bar_on_stderr(tmp_path):
    done = run("train", "--data", "iris", "--epochs", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "5/5" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert ACCURACY_LINE.search(done.stdout)


def test_train_adam_with_batches(tmp_path):
    done = run(
        "train", "--data", "iris", "--optimizer", "adam", "--lr", "0.05", "--batch-size", "16",
        "--epochs", "30", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert float(ACCURACY_LINE.search(done.stdout).group(1)) > 0.5


def test_train_save_then_predict_prints_one_class_name_per_row(tmp_path, iris_csv):
    model = tmp_path / "model.npz"
    done = run("train", "--data", iris_csv, "--target", "species", "--epochs", "5", "--quiet", "--save", model,
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert model.is_file()
    assert sorted(p for p in listing(tmp_path)) == ["iris.csv", "model.npz"], "no temp files left"
    predicted = run("predict", "--model", model, "--data", iris_csv, "--target", "species", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.splitlines()
    assert len(lines) == 150
    assert set(lines) <= IRIS_CLASSES
    # the same answers as the saved model gives in this process
    loaded = SoftmaxClassifier.load(model)
    assert loaded.class_names == sorted(IRIS_CLASSES)
    data = load_csv(iris_csv, target="species")
    assert lines == [loaded.class_names[i] for i in loaded.predict(data.X)]


def test_predict_on_a_features_only_csv(tmp_path, features_csv):
    model = tmp_path / "model.npz"
    assert run("train", "--data", "iris", "--epochs", "20", "--quiet", "--save", model, cwd=tmp_path).returncode == 0
    done = run("predict", "--model", model, "--data", features_csv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 150 and set(lines) <= IRIS_CLASSES
    assert len(set(lines)) >= 2, "20 epochs on iris should tell at least two species apart"


def test_train_numeric_labels_and_predict_prints_them(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = np.where(X[:, 0] > 0, 10, 2)
    data = tmp_path / "num.csv"
    data.write_text("f1,f2,label\n" + "".join(f"{a:.6f},{b:.6f},{c}\n" for (a, b), c in zip(X, y)))
    model = tmp_path / "m.npz"
    done = run("train", "--data", data, "--target", "label", "--epochs", "10", "--lr", "0.1", "--quiet",
               "--save", model, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SoftmaxClassifier.load(model).class_names == ["2", "10"]
    predicted = run("predict", "--model", model, "--data", data, "--target", "label", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert set(predicted.stdout.split()) <= {"2", "10"} and len(predicted.stdout.split()) == 60


def test_train_default_target_is_the_last_column(tmp_path, iris_csv):
    done = run("train", "--data", iris_csv, "--epochs", "5", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ACCURACY_LINE.search(done.stdout)


def test_train_plot_writes_a_png(tmp_path):
    curve = tmp_path / "curve.png"
    done = run("train", "--data", "iris", "--epochs", "5", "--quiet", "--plot", curve, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert curve.read_bytes()[:8] == PNG_MAGIC
    assert curve.stat().st_size > 1000
    assert listing(tmp_path) == ["curve.png"], "no temp files left"


def test_train_plot_honours_the_suffix_or_refuses_it(tmp_path):
    curve = tmp_path / "curve.svg"
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--plot", curve, cwd=tmp_path)
    if done.returncode == 2:  # refusing a non-PNG name is fine too, if it writes nothing
        assert not curve.exists()
    else:
        assert done.returncode == 0, done.stderr
        assert b"<svg" in curve.read_bytes()[:1000]


# ------------------------------------------------------------------ user errors


def assert_user_error(done, *fragments):
    """Exit code 2, exactly one line on stderr naming each fragment, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "test accuracy" not in done.stdout


@pytest.fixture
def bad_files(tmp_path, iris_csv):
    files = {
        "text.csv": "a,b,y\n1,2,p\n3,x,q\n5,6,p\n",
        "one_class.csv": "a,b,y\n" + "".join(f"{i},{i * 2},same\n" for i in range(20)),
        "tiny.csv": "a,y\n1,p\n",
        "fake_model.npz": "this is not a model\n",
        "two_features.csv": "a,b\n1,2\n3,4\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


TRAIN_OUTPUTS = ("--save", "out.npz", "--plot", "out.png")

USER_ERRORS = {
    "missing-data": (["train", "--data", "missing.csv", "--quiet", *TRAIN_OUTPUTS], ["missing.csv", "no such file"]),
    "data-is-a-folder": (["train", "--data", ".", "--quiet", *TRAIN_OUTPUTS], ["directory"]),
    "bad-target": (["train", "--data", "iris.csv", "--target", "nope", "--quiet", *TRAIN_OUTPUTS], ["'nope'"]),
    "non-numeric": (
        ["train", "--data", "text.csv", "--target", "y", "--quiet", *TRAIN_OUTPUTS],
        ["text.csv", "line 3", "'b'", "'x'"],
    ),
    "one-class": (
        ["train", "--data", "one_class.csv", "--target", "y", "--quiet", *TRAIN_OUTPUTS],
        ["one_class.csv", "one class"],
    ),
    "too-few-rows": (["train", "--data", "tiny.csv", "--target", "y", "--quiet", *TRAIN_OUTPUTS], []),
    "bad-test-size": (["train", "--data", "iris", "--test-size", "1.5", "--quiet", *TRAIN_OUTPUTS], ["--test-size"]),
    "predict-missing-model": (
        ["predict", "--model", "nothing.npz", "--data", "two_features.csv"],
        ["nothing.npz", "no such model file"],
    ),
    "predict-not-a-model": (
        ["predict", "--model", "fake_model.npz", "--data", "two_features.csv"],
        ["fake_model.npz", "not a tinygrad_softmax model file"],
    ),
    "predict-missing-data": (["predict", "--model", "model.npz", "--data", "missing.csv"], ["missing.csv"]),
    "predict-wrong-feature-count": (
        ["predict", "--model", "model.npz", "--data", "two_features.csv"],
        ["two_features.csv", "2 feature columns", "expects 4"],
    ),
    "predict-label-column-not-dropped": (
        ["predict", "--model", "model.npz", "--data", "iris.csv"],
        ["iris.csv", "line 2", "'species'"],
    ),
}


@pytest.fixture
def iris_model(bad_files):
    """A real model file (4 features, iris classes) in the test folder, written in-process."""
    model = SoftmaxClassifier(4, 3, seed=0)
    model.class_names = sorted(IRIS_CLASSES)
    model.save(bad_files / "model.npz")
    return bad_files / "model.npz"


@pytest.mark.parametrize("case", list(USER_ERRORS))
def test_user_errors_are_one_line_exit_2_and_write_nothing(bad_files, iris_model, case):
    args, fragments = USER_ERRORS[case]
    before = listing(bad_files)
    done = run(*args, cwd=bad_files)
    assert_user_error(done, *fragments)
    assert done.stderr.startswith("tinygrad-softmax ")
    assert listing(bad_files) == before, "a failed command must not write files"
    assert done.stdout == ""


ARGUMENT_ERRORS = {
    "negative-lr": (["--lr=-0.1"], "--lr"),
    "negative-lr-separate": (["--lr", "-0.1"], "--lr"),
    "zero-lr": (["--lr", "0"], "--lr"),
    "nan-lr": (["--lr", "nan"], "--lr"),
    "zero-epochs": (["--epochs", "0"], "--epochs"),
    "negative-epochs": (["--epochs", "-3"], "--epochs"),
    "fractional-epochs": (["--epochs", "2.5"], "--epochs"),
    "zero-batch-size": (["--batch-size", "0"], "--batch-size"),
    "unknown-optimizer": (["--optimizer", "lbfgs"], "--optimizer"),
}


@pytest.mark.parametrize("case", list(ARGUMENT_ERRORS))
def test_bad_arguments_exit_2_without_traceback_or_files(tmp_path, case):
    extra, option = ARGUMENT_ERRORS[case]
    done = run("train", "--data", "iris", "--quiet", *extra, *TRAIN_OUTPUTS, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "error" in last and option in last, done.stderr
    assert listing(tmp_path) == []
    assert done.stdout == ""


@pytest.mark.parametrize("case", ["negative-lr", "zero-epochs"])
def test_bad_arguments_are_reported_in_one_line(tmp_path, case):
    extra, option = ARGUMENT_ERRORS[case]
    done = run("train", "--data", "iris", "--quiet", *extra, cwd=tmp_path)
    assert_user_error(done, option)


def test_csv_with_a_huge_field_is_a_user_error(tmp_path):
    (tmp_path / "huge.csv").write_text("a,y\n1," + "x" * 200_000 + "\n2,q\n")
    done = run("train", "--data", "huge.csv", "--target", "y", "--quiet", cwd=tmp_path)
    assert_user_error(done, "huge.csv")


def test_save_into_a_missing_folder_names_the_users_path(tmp_path):
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "nodir/model.npz", cwd=tmp_path)
    assert_user_error(done, "nodir/model.npz")
    assert ".tmp" not in done.stderr
    assert listing(tmp_path) == []


def test_failing_plot_leaves_no_model_file(tmp_path):
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "model.npz",
               "--plot", "nodir/curve.png", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert listing(tmp_path) == []


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_an_empty_output_name_is_refused_before_training(tmp_path, option):
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", option, "", cwd=tmp_path)
    assert_user_error(done, option, "empty file name")
    assert done.stdout == "" and listing(tmp_path) == []


def test_predict_with_an_empty_model_name_is_refused(tmp_path, features_csv):
    done = run("predict", "--model", "", "--data", features_csv, cwd=tmp_path)
    assert_user_error(done, "--model", "empty file name")
    assert done.stdout == ""


def test_save_and_plot_to_one_file_is_refused_before_training(tmp_path):
    (tmp_path / "out.png").symlink_to("same.png")
    (tmp_path / "same.png").write_bytes(b"old")
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "same.png", "--plot", "out.png",
               cwd=tmp_path)  # fmt: skip
    assert_user_error(done, "--save same.png", "--plot out.png", "same file")
    assert done.stdout == "" and (tmp_path / "same.png").read_bytes() == b"old"


def test_train_save_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "iris.npz"
    SoftmaxClassifier(4, 3, seed=9).save(real)
    os.chmod(real, 0o600)
    (tmp_path / "current.npz").symlink_to("models/iris.npz")
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "current.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "current.npz").is_symlink() and os.readlink(tmp_path / "current.npz") == "models/iris.npz"
    assert SoftmaxClassifier.load(real).class_names == sorted(IRIS_CLASSES), "the link's target has the new model"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["current.npz", "models"] and listing(tmp_path / "models") == ["iris.npz"]


def test_train_save_to_a_dangling_symlink_is_refused_before_training(tmp_path):
    (tmp_path / "model.npz").symlink_to("old/model.npz")
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "model.npz", cwd=tmp_path)
    assert_user_error(done, "--save model.npz", "old/model.npz", "does not exist")
    assert done.stdout == "" and listing(tmp_path) == ["model.npz"] and (tmp_path / "model.npz").is_symlink()


def test_train_save_onto_a_pipe_is_refused_before_training(tmp_path):
    os.mkfifo(tmp_path / "model.npz")
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", "--save", "model.npz", cwd=tmp_path)
    assert_user_error(done, "--save model.npz", "not a regular file")
    assert done.stdout == "" and stat.S_ISFIFO(os.lstat(tmp_path / "model.npz").st_mode)


def test_predict_from_a_pipe_is_refused_instead_of_waiting_forever(tmp_path, features_csv):
    os.mkfifo(tmp_path / "model.npz")  # opening a FIFO to read waits for a writer, who never comes
    done = run("predict", "--model", "model.npz", "--data", features_csv, cwd=tmp_path, timeout=60)
    assert_user_error(done, "model.npz", "not a regular file")


# ------------------------------------------------------------------ --save and --plot: both files or neither


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    """Run `main` in this process (so a test can break one step of it), in tmp_path; put numpy's printing back."""
    monkeypatch.chdir(tmp_path)
    options = np.get_printoptions()
    yield lambda *args: cli.main(["train", "--data", "iris", "--epochs", "2", "--quiet", *args])
    np.set_printoptions(**options)


@pytest.fixture(params=["new", "existing"])
def previous_model(request, tmp_path):
    """None, or the bytes of a model already at model.npz (mode 0600) that a failed train must leave alone."""
    if request.param == "new":
        return None
    path = tmp_path / "model.npz"
    SoftmaxClassifier(4, 3, seed=99).save(path)
    os.chmod(path, 0o600)
    return path.read_bytes()


def assert_model_untouched(folder, previous):
    path = Path(folder) / "model.npz"
    if previous is None:
        assert listing(folder) == [], "no model, no plot, no temp file"
    else:
        assert listing(folder) == ["model.npz"], "no plot, no temp file"
        assert path.read_bytes() == previous and stat.S_IMODE(path.stat().st_mode) == 0o600


def one_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_a_plot_that_fails_to_draw_writes_no_model(tmp_path, in_process, previous_model, monkeypatch, capsys):
    from matplotlib.figure import Figure

    def crash(*args, **kwargs):
        raise RuntimeError("the renderer crashed")

    monkeypatch.setattr(Figure, "savefig", crash)
    assert in_process("--save", "model.npz", "--plot", "curve.png") == 2
    line = one_error_line(capsys)
    assert "--plot curve.png" in line and "the renderer crashed" in line, line
    assert_model_untouched(tmp_path, previous_model)


def test_a_full_disk_on_the_second_file_writes_neither(tmp_path, in_process, previous_model, monkeypatch, capsys):
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # where a full disk (or quota, or NFS) shows up for buffered writes
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert in_process("--save", "model.npz", "--plot", "curve.png") == 2
    line = one_error_line(capsys)
    assert "No space left on device" in line and ".tmp" not in line, line
    assert_model_untouched(tmp_path, previous_model)


def test_a_failed_rename_of_the_plot_puts_the_model_back(tmp_path, in_process, previous_model, monkeypatch, capsys):
    real_replace = os.replace

    def replace(source, destination):
        if os.path.basename(destination) == "curve.png":
            raise PermissionError(errno.EACCES, "Permission denied")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    assert in_process("--save", "model.npz", "--plot", "curve.png") == 2
    line = one_error_line(capsys)
    assert "cannot write curve.png: Permission denied" in line, line
    assert_model_untouched(tmp_path, previous_model)


def test_save_and_plot_both_written_when_nothing_fails(tmp_path, in_process, previous_model, capsys):
    assert in_process("--save", "model.npz", "--plot", "curve.png") == 0
    out = capsys.readouterr().out
    assert "saved model to model.npz" in out and "saved plot to curve.png" in out
    assert listing(tmp_path) == ["curve.png", "model.npz"]
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG_MAGIC
    assert SoftmaxClassifier.load(tmp_path / "model.npz").class_names == sorted(IRIS_CLASSES)
    if previous_model is not None:
        assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o600, "retraining keeps the mode"


# ------------------------------------------------------------------ model files too large to load


def test_predict_refuses_a_zip_bomb_in_bounded_memory(tmp_path, features_csv):
    """The attack of the issue: a few MB of .npz that unpack to gigabytes. With 1 GiB of address space
    the command must still answer with its one line: it reads the headers, never the data."""
    zip_bomb(tmp_path / "bomb.npz")

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_softmax", "predict", "--model", "bomb.npz", "--data", str(features_csv)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit_memory,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},  # each BLAS thread reserves address space
    )  # fmt: skip
    assert_user_error(done, "bomb.npz", "MAX_MODEL_BYTES")
    assert done.stdout == ""


# ------------------------------------------------------------------ numbers too large for float64


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def test_train_on_huge_values_is_one_line_without_numpy_warnings(tmp_path):
    rows = [(1e308 if i % 3 == 0 else i, -1e308 if i % 5 == 0 else 2 * i, "pq"[i % 2]) for i in range(30)]
    write_csv(tmp_path / "huge.csv", ["a", "b", "y"], rows)
    done = run("train", "--data", "huge.csv", "--epochs", "3", "--quiet", "--save", "m.npz", cwd=tmp_path)
    assert_user_error(done, "diverged", "1e+308", "scale")
    assert "RuntimeWarning" not in done.stderr
    assert done.stdout == "" and listing(tmp_path) == ["huge.csv"]


def test_predict_refuses_data_that_overflows_the_model(tmp_path):
    model = SoftmaxClassifier(4, 3, seed=0)
    model.W.data[...] = np.arange(15.0).reshape(3, 5)
    model.class_names = sorted(IRIS_CLASSES)
    model.save(tmp_path / "model.npz")
    write_csv(tmp_path / "big.csv", ["a", "b", "c", "d"], [(1e308, 1e308, 1e308, 1e308), (1, 2, 3, 4)])
    done = run("predict", "--model", "model.npz", "--data", "big.csv", cwd=tmp_path)
    assert_user_error(done, "big.csv", "the model's outputs overflow on this data")
    assert "RuntimeWarning" not in done.stderr
    assert done.stdout == "", "no garbage classes"


# ------------------------------------------------------------------ --seed


SEED_COMMANDS = {
    "demo": ["demo", "--out", "out"],
    "train": ["train", "--data", "iris", "--quiet", "--epochs", "1"],
    "graph": ["graph", "--out", "g.dot"],
    "check": ["check", "student.py"],
}


@pytest.mark.parametrize("seed", ["-3", "-1", "1.5", "abc", ""])
@pytest.mark.parametrize("command", list(SEED_COMMANDS))
def test_seed_must_be_a_non_negative_integer(tmp_path, command, seed):
    (tmp_path / "student.py").write_text("x = 1\n")
    done = run(*SEED_COMMANDS[command], f"--seed={seed}", cwd=tmp_path)
    assert_user_error(done, "--seed must be a non-negative integer", repr(seed))
    assert not done.stderr.count("--seed") > 1, done.stderr
    assert listing(tmp_path) == ["student.py"] and done.stdout == ""


def test_seed_zero_and_large_seeds_are_accepted(tmp_path):
    for seed in ("0", str(2**70)):
        done = run("train", "--data", "iris", "--quiet", "--epochs", "1", "--seed", seed, cwd=tmp_path)
        assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ options that cannot work, refused up front


def test_iris_with_another_target_is_a_user_error(tmp_path):
    done = run("train", "--data", "iris", "--target", "petal_width", "--quiet", cwd=tmp_path)
    assert_user_error(done, "--target petal_width", "'species'", "sepal_length", "petal_width")
    assert done.stdout == ""


def test_iris_with_target_species_is_fine(tmp_path):
    done = run("train", "--data", "iris", "--target", "species", "--epochs", "2", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_train_output_that_is_a_directory_is_refused_before_training(tmp_path, option):
    name = "taken.png" if option == "--plot" else "taken.npz"
    (tmp_path / name).mkdir()
    done = run("train", "--data", "iris", "--epochs", "2", "--quiet", option, name, cwd=tmp_path)
    assert_user_error(done, f"{option} {name}", "is a directory")
    assert done.stdout == "", "refused before training"
    assert listing(tmp_path) == [name] and listing(tmp_path / name) == []


def test_graph_into_a_missing_folder_is_refused_before_rendering(tmp_path):
    done = run("graph", "--out", tmp_path / "missing" / "folder" / "g.svg", cwd=tmp_path)
    assert_user_error(done, f"the folder {tmp_path / 'missing' / 'folder'} does not exist")
    assert ".tmp" not in done.stderr
    assert listing(tmp_path) == [] and done.stdout == ""


def test_graph_onto_a_directory_is_refused(tmp_path):
    (tmp_path / "g.dot").mkdir()
    done = run("graph", "--out", "g.dot", cwd=tmp_path)
    assert_user_error(done, "--out g.dot", "is a directory")
    assert listing(tmp_path) == ["g.dot"]


# ------------------------------------------------------------------ a reader that stops early


def test_predict_into_a_closed_pipe_exits_quietly(tmp_path):
    """`predict ... | head -1`: no "Broken pipe" error and no traceback once the reader has gone."""
    model = SoftmaxClassifier(4, 3, seed=0)
    model.class_names = sorted(IRIS_CLASSES)
    model.save(tmp_path / "model.npz")
    write_csv(tmp_path / "many.csv", ["a", "b", "c", "d"], [(1, 2, 3, 4)] * 50_000)  # far more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_softmax", "predict", "--model", "model.npz", "--data", "many.csv"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    first = process.stdout.readline()
    process.stdout.close()  # what head does after its line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, stderr
    assert first.strip().decode() in IRIS_CLASSES
    assert stderr == ""


def test_demo_into_a_closed_pipe_exits_quietly(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_softmax", "demo"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""


def test_predict_names_target_when_the_label_column_is_still_there(tmp_path):
    rows = ["a,b,label"] + [f"{i % 5},{(i * 3) % 7},{'yes' if i % 2 else 'no'}" for i in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    done = run("train", "--data", "d.csv", "--target", "label", "--epochs", "2", "--quiet", "--save", "m.npz",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run("predict", "--model", "m.npz", "--data", "d.csv", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "use --target COLUMN" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert run("predict", "--model", "m.npz", "--data", "d.csv", "--target", "label", cwd=tmp_path).returncode == 0
