"""`train --hidden` (an MLP on the same data and options), the model file's names checked by `predict`,
and the small train/predict fixes: help with defaults, the built-in data set's name, divergence warnings.

Run in this process through `cli.main` (as a user's shell would run the command, minus the interpreter start).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tinygrad_softmax import cli, nn, viz
from tinygrad_softmax.datasets import load_csv, make_seed_data

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
QUICK = ["--epochs", "15", "--batch-size", "16", "--optimizer", "adam", "--lr", "0.02", "--quiet"]


def run(capsys, *args):
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, out, err, *fragments):
    assert code == 2, (code, out, err)
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = (resources.files("tinygrad_softmax.datasets") / "iris.csv").read_text().splitlines()
    Path("iris.csv").write_text("\n".join(lines) + "\n")
    Path("features.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    return tmp_path


# ------------------------------------------------------------------ train --hidden


def test_train_hidden_trains_saves_and_predicts_with_an_mlp(folder, capsys):
    code, out, err = run(capsys, "train", "--hidden", "32,16", *QUICK, "--epochs", "60", "--save", "mlp.npz")
    assert code == 0, err
    assert "model: MLP 4 -> 32 -> 16 -> 3 (relu)" in out and "saved model to mlp.npz" in out
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert accuracy >= 0.9
    model = nn.load_model("mlp.npz")
    assert isinstance(model, nn.MLP) and model.layer_sizes == [4, 32, 16, 3]
    assert model.feature_names == IRIS_FEATURES and model.class_names == ["setosa", "versicolor", "virginica"]
    code, out, err = run(capsys, "predict", "--model", "mlp.npz", "--data", "features.csv")
    assert code == 0, err
    expected = [model.class_names[i] for i in model.predict(load_csv("features.csv").X)]
    assert out.splitlines() == expected and len(expected) == 150


def test_train_hidden_is_reproducible_and_takes_the_activation(folder, capsys):
    outputs = [run(capsys, "train", "--hidden", "8", "--activation", "tanh", *QUICK, "--seed", "3")[1] for _ in "ab"]
    assert outputs[0] == outputs[1] and "model: MLP 4 -> 8 -> 3 (tanh)" in outputs[0]


@pytest.mark.parametrize("text", ["0", "32,,16", "a,b", "", "-4", "3.5"])
def test_train_refuses_hidden_sizes_that_are_not_positive_integers(folder, capsys, text):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--hidden", text, "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--hidden takes positive integers separated by commas, such as 32,16" in err
    assert len(err.strip().splitlines()) == 1


def test_activation_without_hidden_is_refused(folder, capsys):
    one_line_error(*run(capsys, "train", "--activation", "tanh", "--quiet"), "--activation tanh is for an MLP")


def test_train_hidden_refuses_a_model_too_large_to_load_back_before_training(folder, capsys, monkeypatch):
    monkeypatch.setattr(nn, "MAX_MEMBERS", 8)
    one_line_error(*run(capsys, "train", "--hidden", "4,4", *QUICK, "--save", "m.npz"), "over the limits load accepts")
    assert not Path("m.npz").exists()


def test_train_hidden_refuses_an_mlp_too_large_for_a_model_file_before_allocating_it(folder, capsys):
    one_line_error(*run(capsys, "train", "--hidden", "100000000", "--quiet"),
                   "an MLP 4 -> 100000000 -> 3 has 800,000,003 weights, more than a model file holds")  # fmt: skip


# ------------------------------------------------------------------ predict: a model of another data set


def write_csv(path, header, rows):
    Path(path).write_text(",".join(header) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))


@pytest.fixture
def other_model(folder, capsys):
    """A model of another data set with iris's feature count: 4 measurements of something else."""
    rng = np.random.default_rng(0)
    rows = [(*np.round(rng.uniform(0, 8, 4), 2), "yes" if i % 2 else "no") for i in range(40)]
    write_csv("other.csv", ["height", "width", "depth", "weight", "label"], rows)
    assert run(capsys, "train", "--data", "other.csv", *QUICK, "--save", "other.npz")[0] == 0
    return Path("other.npz")


@pytest.mark.parametrize("kind", [[], ["--hidden", "5"]], ids=["classifier", "mlp"])
def test_predict_refuses_a_model_of_another_data_set_with_as_many_features(folder, capsys, kind):
    assert run(capsys, "train", *kind, *QUICK, "--save", "iris.npz")[0] == 0
    write_csv("other.csv", ["height", "width", "sepal_length", "weight"], [(1, 2, 3, 4), (5, 6, 7, 8)])
    err = one_line_error(*run(capsys, "predict", "--model", "iris.npz", "--data", "other.csv"),
                         "other.csv: not the data the model was trained on",
                         "column 1 is 'height' where the model has 'sepal_length'",
                         "column 3 is 'sepal_length' where the model has 'petal_length'",
                         "(the model's features: sepal_length, sepal_width, petal_length, petal_width)")  # fmt: skip
    assert "column 2 is 'width' where the model has 'sepal_width'" in err and "and 1 more (the model's" in err


def test_predict_refuses_the_models_columns_in_another_order(folder, capsys, other_model):
    write_csv("shuffled.csv", ["width", "height", "depth", "weight"], [(1, 2, 3, 4)])
    one_line_error(*run(capsys, "predict", "--model", other_model, "--data", "shuffled.csv"),
                   "feature columns in another order: width, height, depth, weight",
                   "the model expects height, width, depth, weight")  # fmt: skip


def test_predict_refuses_labels_the_model_never_saw(folder, capsys, other_model):
    header = ["height", "width", "depth", "weight", "label"]
    write_csv("labelled.csv", header, [(1, 2, 3, 4, "yes"), (1, 2, 3, 4, "maybe")])
    one_line_error(*run(capsys, "predict", "--model", other_model, "--data", "labelled.csv", "--target", "label"),
                   "the column label holds classes the model was not trained on: maybe",
                   "(the model's classes: no, yes)")  # fmt: skip
    write_csv("known.csv", ["height", "width", "depth", "weight", "label"], [(1, 2, 3, 4, "yes")])
    code, out, err = run(capsys, "predict", "--model", other_model, "--data", "known.csv", "--target", "label")
    assert code == 0 and out.strip() in ("yes", "no"), err


def test_predict_with_the_wrong_feature_count_names_the_models_features(folder, capsys, other_model):
    write_csv("two.csv", ["a", "b"], [(1, 2)])
    one_line_error(*run(capsys, "predict", "--model", other_model, "--data", "two.csv"),
                   "has 2 feature columns but the model expects 4 (height, width, depth, weight)")  # fmt: skip


def test_predict_with_a_model_of_version_0_1_checks_only_the_count(folder, capsys):
    """Old files have no feature names: nothing to compare them with."""
    old = Path(__file__).parent / "data" / "model_v01.npz"
    write_csv("renamed.csv", ["a", "b", "c", "d"], [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3)])
    code, out, err = run(capsys, "predict", "--model", old, "--data", "renamed.csv")
    assert code == 0, err
    assert out.split() == ["setosa", "virginica"]


# ------------------------------------------------------------------ help, data names, divergence


def train_actions():
    subparsers = next(a for a in cli._parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return subparsers.choices["train"]._actions, subparsers.choices["predict"]._actions


def test_every_train_and_predict_option_has_help_and_says_its_default():
    for actions in train_actions():
        for action in actions:
            assert action.help, f"{action.option_strings} has no help text"
            if action.default not in (None, False, (), "==SUPPRESS==") and action.option_strings != ["-h", "--help"]:
                assert "default" in action.help, f"{action.option_strings} does not say its default"


def test_train_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 200)", "(default: 0.01)", "(default: sgd)", "(default: 0.2)", "'iris', the built-in",
                  "--hidden SIZES", "(default: relu)"):  # fmt: skip
        assert shown in text, shown


@pytest.mark.parametrize(
    "name, hint",
    [("Iris", "did you mean the built-in data set, --data iris (lower case)?"),
     ("IRIS", "did you mean the built-in data set, --data iris (lower case)?"),
     ("mnist", "the only built-in data set is 'iris'; anything else must be a CSV file")],
)
def test_a_data_set_name_that_is_no_file_says_which_name_is_built_in(folder, capsys, name, hint):
    one_line_error(*run(capsys, "train", "--data", name, "--quiet"), f"{name}: no such file; {hint}")


def test_a_diverging_loss_is_a_clear_warning(folder, capsys):
    code, out, err = run(capsys, "train", "--lr", "1e6", "--epochs", "3", "--quiet", "--save", "m.npz")
    assert code == 0, err
    assert re.search(r"warning: training diverged: the mean loss rose from 1\.\d+ before training to [\d.]+e\+0\d",
                     err), err  # fmt: skip
    assert "try a smaller --lr than 1e+06" in err
    assert re.search(r"final training loss: [\d.]+e\+0\d\n", out), "a huge loss is shown in e-notation"
    assert Path("m.npz").exists()


def test_a_nan_loss_exits_non_zero_and_writes_nothing(folder, capsys):
    for hidden in ([], ["--hidden", "4"]):
        one_line_error(*run(capsys, "train", *hidden, "--lr", "1e308", "--epochs", "2", "--quiet", "--save", "m.npz"),
                       "training diverged (loss nan); try a smaller --lr than 1e+308")  # fmt: skip
        assert not Path("m.npz").exists()


def test_a_converging_run_gives_no_warning(folder, capsys):
    code, out, err = run(capsys, "train", *QUICK)
    assert code == 0 and err == "" and "test accuracy" in out, err



# ------------------------------------------------------------------ graph --hidden: an MLP, drawn by layer


def mlp_graph(hidden=(8, 6), activation="relu"):
    X, labels = make_seed_data(seed=0)
    return cli.mlp_sample_graph(X[0], labels[0], 3, 0, hidden, activation)


def test_graph_hidden_collapsed_is_one_box_per_layer_named_as_the_notebook_would(folder, capsys):
    loss, W1 = mlp_graph()
    steps, _ = viz.graph_steps(viz.graph_nodes(loss), collapse=True)
    names = viz.Names(loss)
    assert [(s.title, [names[p] for p in s.inputs], [names[o] for o in s.outputs]) for s in steps] == [
        ("linear", ["W1", "x", "b1"], ["z1"]), ("relu", ["z1"], ["h1"]),
        ("linear", ["W2", "h1", "b2"], ["z2"]), ("relu", ["z2"], ["h2"]),
        ("linear", ["W3", "h2", "b3"], ["z"]), ("softmax", ["z"], ["a"]),
        ("categorical_crossentropy", ["a", "y"], ["L"]),
    ]
    assert names[W1] == "W1"
    code, out, err = run(capsys, "graph", "--hidden", "8,6", "--collapse", "--out", "mlp.dot")
    assert (code, out, err) == (0, "wrote mlp.dot\n", "")
    loss.backward()  # the command draws after backward(), W1 and its path highlighted
    assert Path("mlp.dot").read_text() == viz.to_dot(loss, collapse=True, highlight=[W1]).source


def test_graph_hidden_takes_the_activation(folder, capsys):
    for activation in ("tanh", "sigmoid"):
        loss, _ = mlp_graph((5,), activation)
        assert [s.title for s in viz.graph_steps(viz.graph_nodes(loss), collapse=True)[0]] == [
            "linear", activation, "linear", "softmax", "categorical_crossentropy"]
        code, _, err = run(capsys, "graph", "--hidden", "5", "--activation", activation, "--collapse",
                             "--out", f"{activation}.dot")
        assert code == 0, err
        assert f"label={activation} " in Path(f"{activation}.dot").read_text()


def test_graph_hidden_steps_page_ends_at_w1(folder, capsys):
    code, out, err = run(capsys, "graph", "--hidden", "8,6", "--collapse", "--steps", "mlp.html")
    assert code == 0, err
    assert out == "wrote mlp.html (13 steps)\n"
    page = Path("mlp.html").read_text()
    assert re.findall(r"Step (\d+) of 13: ([^<]*)<", page)[:7] == [
        ("1", "L"), ("2", "a"), ("3", "z"), ("4", "h2"), ("5", "z2"), ("6", "h1"), ("7", "z1")]
    assert "<h3>The result: dL/dW1</h3>" in page


def test_graph_activation_without_hidden_is_refused(folder, capsys):
    one_line_error(*run(capsys, "graph", "--activation", "tanh"), "--activation tanh is for an MLP", "--hidden")
    with pytest.raises(SystemExit) as info:
        cli.main(["graph", "--hidden", "8,,6"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--hidden takes positive integers separated by commas" in err and len(err.strip().splitlines()) == 1
