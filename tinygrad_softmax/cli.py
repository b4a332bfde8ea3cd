"""`tinygrad-softmax`: the notebook demo, training, prediction.

Every user error prints one line to stderr and exits with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from . import functional as F
from . import nn, viz
from ._files import atomic_write, atomic_write_all
from .datasets import Dataset, load_csv, load_iris, make_seed_data, train_test_split
from .grad_mode import no_grad
from .gradcheck import jacobian
from .nn import MLP, Classifier, SoftmaxClassifier, fit, load_model
from .optim import SGD
from .tensor import Tensor

# Per-sample SGD on raw iris features: 0.967 test accuracy with seed 0 (0.9-1.0 over seeds 0-5).
EPOCHS = 200
LEARNING_RATE = 0.01
PLOT_FORMATS = (".png", ".svg", ".pdf")


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with np.printoptions(precision=4, suppress=True):  # for this command only: main may be called in-process
            code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here at the latest, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`tinygrad-softmax predict ... | head -1`): stop quietly, as the
        # Python docs recommend, pointing stdout at devnull so the final flush cannot fail again.
        _silence_stdout()
        return 0
    except (UserError, ValueError, OSError) as exc:
        print(f"tinygrad-softmax {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is no real file (an embedding, a test's capture)
        pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), like every other user error."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument (\S+): \1 ", r"\1 ", message)  # not "argument --seed: --seed must..."
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinygrad-softmax",
        description="The course notebook's softmax classifier, with its gradient derived by autodiff.",
    )
    from . import __version__  # the package's own, read here: __init__ never imports the CLI

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="walk through the notebook, step by step, correctly")
    demo.add_argument("--out", default="tinygrad_softmax_out", help="folder for the graph files")
    demo.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    demo.set_defaults(run=run_demo)

    train = commands.add_parser("train", help="train a softmax classifier (an MLP with --hidden) on iris or a CSV")
    train.add_argument("--data", default="iris", metavar="iris|FILE.csv",
                       help="'iris', the built-in data set (the default), or a CSV file with a header row")
    train.add_argument("--target", metavar="COLUMN", help="label column of the CSV (default: the last column)")
    train.add_argument("--epochs", type=_positive(int), default=EPOCHS,
                       help="passes over the training rows (default: %(default)s)")
    train.add_argument("--lr", type=_positive(float), default=LEARNING_RATE,
                       help="learning rate (default: %(default)s)")
    train.add_argument("--batch-size", type=_positive(int), default=1,
                       help="rows per step; 1 is the notebook's per-sample loop (default: %(default)s)")
    train.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                       help="plain SGD (the notebook's update) or Adam (default: %(default)s)")
    train.add_argument("--hidden", type=_hidden_sizes, default=(), metavar="SIZES",
                       help="hidden layer sizes, e.g. 32,16: train an MLP instead of the softmax classifier "
                            "(default: none)")  # fmt: skip
    train.add_argument("--activation", choices=["relu", "tanh", "sigmoid"],
                       help="the MLP's activation after each hidden layer, with --hidden (default: relu)")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seeds the weights, the split and the shuffling: a non-negative integer (default: 0)")
    train.add_argument("--test-size", type=float, default=0.2,
                       help="fraction of the rows held out, per class, for the test accuracy (default: %(default)s)")
    train.add_argument("--save", metavar="MODEL.npz", help="write the trained model here (default: not saved)")
    train.add_argument("--plot", metavar="CURVE.png",
                       help="plot loss and accuracy per epoch: .png, .svg or .pdf (needs matplotlib; default: none)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    graph = commands.add_parser("graph", help="draw the notebook classifier's graph for one sample (or an MLP's)")
    graph.add_argument("--out", default=None,  # None: graph.svg, unless only --steps was asked for
                       help="the file: .svg, .png, .pdf, or .dot/.gv (needs no Graphviz) (default: graph.svg)")
    graph.add_argument("--steps", metavar="PAGE.html",
                       help="write the backward pass step by step as one HTML page (opens from disk; with "
                            "--collapse over composites); the picture only if --out is given too")
    graph.add_argument("--backward", action="store_true", help="draw the gradient flow with local derivatives")
    graph.add_argument("--collapse", action="store_true", help="draw softmax, cross-entropy... as single boxes")
    graph.add_argument("--values", action="store_true", help="show tensor values")
    graph.add_argument("--rankdir", choices=["TB", "LR", "BT", "RL"], default="TB",
                       help="layout direction: TB top to bottom (the default), LR left to right")
    graph.add_argument("--hidden", type=_hidden_sizes, default=(), metavar="SIZES",
                       help="draw an MLP with these hidden layer sizes (e.g. 32,16) instead of the softmax "
                            "classifier; --collapse draws one box per layer (default: none)")  # fmt: skip
    graph.add_argument("--activation", choices=["relu", "tanh", "sigmoid"],
                       help="the MLP's activation after each hidden layer, with --hidden (default: relu)")
    graph.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    graph.set_defaults(run=run_graph)

    check = commands.add_parser("check", help="check an exercise: a student's Function subclasses, or exercise 8")
    check.add_argument("file", nargs="+", help="the student's Python file (several: one report each)")
    check.add_argument("--op", metavar="NAME", help="check only the Function subclass with this class or op name")
    check.add_argument("--exercise", type=_exercise_number, metavar="N",
                       help="grade the file as exercise N (1-8), whatever its classes are called (default: by name)")
    check.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show every input case, not only one line per check"
    )
    check.add_argument(
        "--time-limit", type=_time_limit, default=120.0, metavar="SECONDS",
        help="the file's code is stopped after this long, a FAIL (more than 0, at most 3600; default: 120)",
    )
    check.add_argument("--memory-limit", type=_positive(int), default=2048, metavar="MB",
                       help="the memory the file's code may use, in MiB (default: 2048)")
    check.set_defaults(run=run_check)

    exercises = commands.add_parser("exercises", help="list the exercises, or copy their files into a folder")
    exercise_commands = exercises.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = exercise_commands.add_parser("list", help="the exercises, their skeletons and task texts")
    listing.set_defaults(run=run_exercises)
    copying = exercise_commands.add_parser("copy", help="copy the skeletons and task texts into DIR (created)")
    copying.add_argument("dir", metavar="DIR", help="the folder to copy into; it is created if needed")
    copying.add_argument("--exercise", type=_exercise_number, action="append", metavar="N",
                         help="copy only exercise N's two files (may be repeated; default: every exercise)")
    copying.add_argument("--force", action="store_true", help="replace files that exist (default: refuse)")
    copying.set_defaults(run=run_exercises)

    predict = commands.add_parser("predict", help="print the predicted class of each row of a CSV file")
    predict.add_argument("--model", required=True, metavar="MODEL.npz", help="a model written by train --save")
    predict.add_argument("--data", required=True, metavar="PATH.csv",
                         help="a CSV file with a header row and the model's feature columns")
    predict.add_argument("--target", metavar="COLUMN",
                         help="a label column in the CSV to ignore (default: every column is a feature)")
    predict.set_defaults(run=run_predict)
    return parser


def _positive(kind: type) -> object:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not value > 0 or not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _seed(text: str) -> int:
    """--seed: numpy's generators take any non-negative integer, and only those."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer, got {text!r}")
    return value


def _hidden_sizes(text: str) -> tuple[int, ...]:
    """--hidden: layer sizes separated by commas, ``32,16``."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden takes positive integers separated by commas, such as 32,16; "
                                         f"got {text!r}")  # fmt: skip
    return sizes


# ---------------------------------------------------------------------------- demo


def _title(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)))


def run_demo(args: argparse.Namespace) -> int:
    """The notebook, end to end, with each mistake it made put right, and its numbers printed."""
    out_dir = Path(args.out)
    # Refuse an unusable folder before any work, in words rather than errno text.
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {args.out}: a file, not a folder; give a folder for the pictures (it is created)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot create the folder: {exc.strerror or exc}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UserError(f"--out {args.out}: cannot write in this folder")
    num_classes = 3

    def show(array: np.ndarray) -> np.ndarray:
        return np.asarray(array, dtype=float) + 0.0  # +0.0 drops the sign of zero: "0." rather than "-0."

    _title("1. Artificial data (samples as rows; the notebook stored them as columns)")
    X, labels = make_seed_data(num_samples=5, num_features=4, num_labels=num_classes, seed=args.seed)
    Y = F.one_hot(labels, num_classes)
    print("X =\n", X, "\nlabels =", labels)
    print("one-hot labels with num_classes=3 (the notebook's to_categorical guessed the class count")
    print("from the labels present and could drop columns):\n", Y)

    _title("2. The first sample forward: z = W x (bias = W's last column), a = softmax(z), L = -log a_y")
    model, x, y, z, a, loss = notebook_sample_graph(X[0], labels[0], num_classes, args.seed)
    x_bias = np.append(x, 1.0)
    print(f"W ({num_classes} classes x {len(x)} features + the bias column) =\n", model.W.data)
    print("x with the bias feature 1 appended =", x_bias)
    print("z =", z.data, "= W x")
    print("a =", a.data, f"= softmax(z) (sums to {a.data.sum():.6f}: softmax per sample, not over a matrix)")
    print(f"y = one-hot label {labels[0]} =", y)
    nll = -a[labels[0]].log()  # the notebook's form; L itself is the categorical cross-entropy form
    print(f"L = -log a[{labels[0]}] = {nll.item():.6f};  categorical cross-entropy -sum(y log a) = {loss.item():.6f}")

    _title("3. The gradient by backward(), next to the closed form (a - y) x^T")
    loss.backward()
    closed_form = np.outer(a.data - y, x_bias)
    print("W.grad =\n", model.W.grad, "\n(a - y) x^T =\n", closed_form)
    print(f"max |difference| = {np.abs(model.W.grad - closed_form).max():.2e}")

    # The same order and layout as explain(): each factor a Jacobian, multiplied left to right.
    _title("4. The chain rule's factors: dL/dW = dL/da @ da/dz @ dz/dW")
    print(viz.LAYOUT)
    dL_da = a.grad
    print(f"dL/da (1x{a.size}) = -y / a =", show(-y / a.data), "= a.grad",
          "(the index typos of the notebook's step 7 put right)")
    J = jacobian(F.softmax, z.data)
    print(f"da/dz ({a.size}x{z.size}), the jacobian of softmax =\n", J, "\n  = diag(a) - a a^T: max |difference|",
          f"{np.abs(J - (np.diag(a.data) - np.outer(a.data, a.data))).max():.2e}")
    dL_dz = dL_da @ J
    print(f"dL/dz (1x{z.size}) = dL/da @ da/dz =", dL_dz, "\n  = a - y =", a.data - y, "= z.grad", z.grad)
    dz_dW = jacobian(lambda w: w @ x_bias, model.W.data).reshape(z.size, model.W.size)
    print(f"dz/dW ({z.size}x{model.W.size}): z_i = sum_k W_ik x_k, so dz_i/dW_ik = x_k (x with its 1) =\n", dz_dW)
    dL_dW = (dL_dz @ dz_dW).reshape(model.W.shape)
    print(f"dL/dW (1x{model.W.size}) = dL/dz @ dz/dW, reshaped to W's shape {model.W.shape} =\n", dL_dW)
    print(f"  = (a - y) x^T, the outer product: max |difference| {np.abs(dL_dW - closed_form).max():.2e}")

    lr = LEARNING_RATE
    _title(f"5. The notebook's loop: each sample in turn, W -= lr * dL/dW with lr = {lr}")
    optimizer = SGD(model.parameters(), lr=lr)  # from the weights of step 2, as the tutorial's loop
    for i in range(len(X)):
        optimizer.zero_grad()
        logits = model(X[i])
        sample_loss = F.cross_entropy(logits, labels[i])
        sample_loss.backward()
        print(f"sample {i}: loss {sample_loss.item():.4f}  dL/dz = a - y = {show(logits.grad)}  (label {labels[i]})")
        optimizer.step()
    print("(the labels are random, so there is nothing to learn: the losses need not fall)")

    _title("6. Training on iris (stratified 80/20 split)")
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, seed=args.seed)
    iris_model = SoftmaxClassifier(X_train.shape[1], len(data.class_names), seed=args.seed)
    print(f"{EPOCHS} epochs of per-sample SGD (batch size 1), lr {LEARNING_RATE}, seed {args.seed}, "
          f"on {len(X_train)} training rows")
    history = fit(iris_model, X_train, y_train, epochs=EPOCHS, lr=LEARNING_RATE, batch_size=1, seed=args.seed,
                  progress=False)  # fmt: skip
    accuracy = float(np.mean(iris_model.predict(X_test) == y_test))
    print(f"training loss {history['loss'][0]:.4f} after the first epoch, {history['loss'][-1]:.4f} after the last")
    print(f"test accuracy: {accuracy:.3f} (on the {len(X_test)} rows held out)")

    _title(f"7. The computation graph of L, written to {out_dir}/")
    # Rebuilt from the starting weights of step 2: the loop above moved W on.
    model, x, y, z, a, loss = notebook_sample_graph(X[0], labels[0], num_classes, args.seed)
    loss.backward()
    explanation = viz.explain(loss, model.W, collapse=True)
    explanation_path = out_dir / "explanation.txt"
    try:
        explanation_path.write_text(explanation)
    except OSError as exc:
        raise UserError(f"cannot write {explanation_path}: {exc.strerror or exc}") from None
    print(explanation)
    # Forward pictures show values, the backward one gradients; W's box is the one highlighted.
    pictures = [
        ("graph", {"highlight": [model.W], "show_values": True, "show_grads": False}),
        ("graph_collapsed", {"highlight": [model.W], "collapse": True, "show_values": True, "show_grads": False}),
        ("graph_backward", {"backward": True, "collapse": True}),
    ]
    dot_works = True
    for stem, options in pictures:
        path = out_dir / f"{stem}.svg"
        if dot_works:
            written, note = _render_or_dot(loss, path, options)
            if note:  # said once: the next pictures would fail the same way
                print(f"note: {note}")
                dot_works = False
        else:
            written = viz.render(loss, path.with_suffix(".dot"), **options)
        print("wrote", written)
    print("wrote", explanation_path)
    # The notebook's four steps L -> a -> z -> W, as a page to click through (numbers from its own pass).
    page = viz.stepper(loss, model.W, collapse=True, path=out_dir / "backprop.html", draw=dot_works)
    print("wrote", page.path, "(the backward pass step by step: open it in a browser)"
          + ("" if page.has_picture else "; without Graphviz its steps are text only"))
    return 0


def notebook_sample_graph(
    x: np.ndarray, label: int, num_classes: int, seed: int
) -> tuple[SoftmaxClassifier, np.ndarray, Tensor, Tensor, Tensor, Tensor]:
    """The notebook's chain for one sample, with the names it uses: z = W x, a = softmax(z), L = cce(y, a)."""
    model = SoftmaxClassifier(num_features=len(x), num_classes=num_classes, seed=seed, init_scale=0.1)
    z = model(x)
    return (model, x, *_sample_loss(z, label, num_classes))


def mlp_sample_graph(
    x: np.ndarray, label: int, num_classes: int, seed: int, hidden: Sequence[int], activation: str
) -> tuple[Tensor, Tensor]:
    """The same chain with an MLP in place of ``z = W x``: (L, the first layer's W1, deepest from L)."""
    model = MLP(len(x), hidden, num_classes, activation=activation, seed=seed)
    h = Tensor(x, name="x")
    for index, layer in enumerate(model):  # model(x), layer by layer, to name what each gives: z1, h1, z2...
        h = layer(h)
        h.name = f"{'zh'[index % 2]}{index // 2 + 1}"
    *_, loss = _sample_loss(h, label, num_classes)
    return loss, model[0].weight


def _sample_loss(z: Tensor, label: int, num_classes: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(y, z, a, L) for logits `z`, named as the notebook names them: a = softmax(z), L = cce(y, a)."""
    y = F.one_hot(label, num_classes)
    a = F.softmax(z)
    loss = F.categorical_crossentropy(y, a)
    z.name, a.name, loss.name = "z", "a", "L"
    return y, z, a, loss


def _render_or_dot(output: Tensor, path: Path, options: dict) -> tuple[Path, str | None]:
    """The picture when Graphviz's dot works, else its DOT text; returns the path written and,
    when dot could not make the picture, a note saying why."""
    dot_path = viz.render(output, path.with_suffix(".dot"), **options)  # DOT text always: it needs no Graphviz
    try:
        return viz.render(output, path, **options), None
    except viz.GraphvizNotFoundError as missing:
        return missing.dot_path, f"{missing}; the other pictures are written as DOT text too, the same way"
    except viz.GraphvizError as failed:
        return dot_path, f"{failed}; the graph is in {dot_path} as DOT text, and so are the other pictures"


def run_graph(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None or args.steps else "graph.svg"
    if args.steps is not None:  # both outputs checked before any work
        _check_output("--steps", args.steps)
        if Path(args.steps).suffix.lower() not in (".html", ".htm"):
            raise UserError(f"--steps {args.steps}: the page is HTML; give a name ending in .html")
    if out is not None:
        _check_output("--out", out)
        try:
            viz.picture_format(out)  # `--out graph`: say which suffixes work before any work is done
        except ValueError as exc:
            raise UserError(f"--out {out}: {exc}") from None
    if args.activation and not args.hidden:
        raise UserError(f"--activation {args.activation} is for an MLP: give its layer sizes with --hidden too")
    X, labels = make_seed_data(seed=args.seed)
    if args.hidden:
        loss, highlighted = mlp_sample_graph(X[0], labels[0], 3, args.seed, args.hidden, args.activation or "relu")
    else:
        model, *_, loss = notebook_sample_graph(X[0], labels[0], 3, args.seed)
        highlighted = model.W
    if args.steps is not None:  # before backward(): the page takes its numbers from its own pass
        try:
            page = viz.stepper(loss, highlighted, collapse=args.collapse, path=args.steps)
        except viz.GraphvizError as failed:  # dot is there but fails: nothing written
            raise UserError(str(failed)) from None
        print(f"wrote {page.path} ({len(page.nodes)} steps)")
        if not page.has_picture:
            print(f"note: the page shows the steps as text only: to add the picture, {viz.INSTALL_HINT}",
                  file=sys.stderr)
        if out is None:
            return 0
    loss.backward()
    options = {"backward": args.backward, "collapse": args.collapse, "show_values": args.values,
               "rankdir": args.rankdir}  # fmt: skip
    options["highlight"] = None if args.backward else [highlighted]
    try:
        path = viz.render(loss, out, **options)
    except viz.GraphvizError as failed:  # dot missing (the DOT text was written instead), failed or timed out
        raise UserError(str(failed)) from None
    print(f"wrote {path}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from .course.checker import sandbox

    sandbox.prestart()  # the child process boots (numpy...) while the checker's modules load
    from .course.checker import run_cli

    return run_cli(args)


def _time_limit(text: str) -> float:
    """--time-limit: a finite number of seconds, more than 0 (a limit that never ends is no limit)."""
    from .course.checker import validate_time_limit

    try:
        return validate_time_limit(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--time-limit must be a number of seconds above 0 and at most 3600, got {text!r}"
        ) from None


def _exercise_number(text: str) -> int:
    from .course.checker import EXERCISES

    try:
        number = int(text)
    except ValueError:
        number = -1
    if number not in EXERCISES:
        raise argparse.ArgumentTypeError(f"--exercise must be an exercise number, 1 to {max(EXERCISES)}, got {text!r}")
    return number


def run_exercises(args: argparse.Namespace) -> int:
    """``exercises list``: the table; ``exercises copy DIR``: the skeletons and task texts, into DIR."""
    from .course import EXERCISES, copy_exercises

    if args.action == "list":
        print(f"{'#':>2}  {'exercise':<30}  {'skeleton':<30}  task text")
        for number, exercise in EXERCISES.items():
            print(f"{number:>2}  {exercise.title:<30}  {exercise.skeleton:<30}  {exercise.task}")
        print("\ntinygrad-softmax exercises copy DIR puts them in DIR; "
              "tinygrad-softmax check --exercise N FILE grades one.")
        return 0
    written = copy_exercises(args.dir, args.exercise, force=args.force)
    print(f"copied {len(written)} files into {args.dir}: " + ", ".join(p.name for p in written))
    print(f"start with: tinygrad-softmax check --exercise 1 {Path(args.dir) / 'ex1_sigmoid.py'}"
          if not args.exercise else
          f"check with: tinygrad-softmax check --exercise {args.exercise[0]} {written[0]}")
    return 0


# --------------------------------------------------------------------- train / predict


IRIS_TARGET = "species"


def _load_training_data(source: str, target: str | None) -> Dataset:
    if source == "iris":
        data = load_iris()
        if target not in (None, IRIS_TARGET):
            columns = ", ".join([*data.feature_names, IRIS_TARGET])
            raise UserError(f"--target {target}: iris's label column is {IRIS_TARGET!r} (its columns: {columns})")
        return data
    if not os.path.lexists(source):  # `--data Iris`, `--data mnist`: a data set's name taken for a built-in one
        if source.lower() == "iris":
            hint = "did you mean the built-in data set, --data iris (lower case)?"
        else:
            hint = "the only built-in data set is 'iris'; anything else must be a CSV file with a header row"
        raise UserError(f"{source}: no such file; {hint}")
    # default: the last column; float32 features when they are exact (pixels 0-255): half the memory
    data = load_csv(source, target=-1 if target is None else target, dtype="auto")
    if len(data.class_names) < 2:
        raise UserError(f"{source}: the label column has only one class ({data.class_names[0]}); need at least two")
    return data


def _check_output(option: str, path: str) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    A symbolic link is written through (its target is replaced, in the target's folder), so it
    must lead to a file; a dangling link is refused.
    """
    if not path:  # Path("") is ".", the current folder: never what was meant
        raise UserError(f"{option}: empty file name; give a file name")
    target = Path(path)
    if target.is_symlink():
        try:
            os.stat(target)
        except FileNotFoundError:
            link = os.readlink(target)
            raise UserError(f"{option} {path}: a symbolic link to {link}, which does not exist") from None
        except OSError as exc:  # a loop of links
            raise UserError(f"{option} {path}: {exc.strerror}") from None
    try:
        folder = target.resolve().parent
    except (OSError, RuntimeError) as exc:  # pathlib reports a loop of links in the folders as RuntimeError
        raise UserError(f"{option} {path}: {getattr(exc, 'strerror', None) or exc}") from None
    shown = folder if target.is_symlink() else target.parent
    if not folder.is_dir():
        raise UserError(f"{option} {path}: the folder {shown} does not exist")
    if target.is_dir():
        raise UserError(f"{option} {path}: is a directory; give a file name")
    if target.exists() and not target.is_file():  # writing renames over it: /dev/null would be replaced
        raise UserError(f"{option} {path}: not a regular file (a device, pipe or socket)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: cannot write in the folder {shown}")


def _quiet_numerics(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command with numpy's floating-point warnings off: the command checks for inf and nan
    itself and says what went wrong in one line, instead of numpy's RuntimeWarnings."""

    @functools.wraps(run)
    def quiet(args: argparse.Namespace) -> int:
        with np.errstate(all="ignore"):
            return run(args)

    return quiet


def _logits(model: SoftmaxClassifier, X: np.ndarray, where: str) -> np.ndarray:
    """The model's outputs on `X`, refused if any overflowed to inf or nan."""
    with no_grad():
        logits = model(X).data
    if not np.all(np.isfinite(logits)):
        hint = _scale_hint(X)
        raise UserError(f"{where}: the model's outputs overflow on this data" + (f" ({hint})" if hint else ""))
    return logits


def _scale_hint(X: np.ndarray) -> str:
    largest = float(np.max(np.abs(X))) if X.size else 0.0
    return f"features as large as {largest:.3g}; scale them down" if largest > 1e6 else ""


def _new_model(args: argparse.Namespace, data: Dataset) -> Classifier:
    """The untrained model `train` asked for, named after the data's features and classes."""
    features, classes = data.X.shape[1], len(data.class_names)
    sizes = (features, *args.hidden, classes)
    weights = [(sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1)]  # with the biases
    if max(weights) > nn.MAX_ARRAY_ELEMENTS or sum(weights) * data.X.itemsize > nn.MAX_MODEL_BYTES:
        raise UserError(f"--hidden {','.join(map(str, args.hidden))}: an MLP {' -> '.join(map(str, sizes))} has "
                        f"{sum(weights):,} weights, more than a model file holds (nn.MAX_ARRAY_ELEMENTS, "
                        "nn.MAX_MODEL_BYTES)")  # fmt: skip
    try:
        # a float32 data set trains a float32 model: no float64 copy of it is ever made
        if args.hidden:
            model: Classifier = MLP(features, args.hidden, classes, activation=args.activation or "relu",
                                    seed=args.seed, dtype=data.X.dtype)  # fmt: skip
        else:
            model = SoftmaxClassifier(features, classes, seed=args.seed, dtype=data.X.dtype)
    except MemoryError:
        raise UserError(f"--hidden {','.join(map(str, args.hidden))}: not enough memory for an MLP "
                        f"{' -> '.join(map(str, sizes))}") from None  # fmt: skip
    model.class_names = data.class_names
    model.feature_names = data.feature_names
    if args.save:
        model._file_arrays()  # a model too large to load back is refused before training, not after
    return model


@_quiet_numerics
def run_train(args: argparse.Namespace) -> int:
    if not 0 < args.test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1, got {args.test_size}")
    if args.activation and not args.hidden:
        raise UserError(f"--activation {args.activation} is for an MLP: give its layer sizes with --hidden too")
    # Check every output before training, so a bad path never leaves a partial set of files.
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None:
            _check_output(option, path)
    if args.save and args.plot and os.path.realpath(args.save) == os.path.realpath(args.plot):
        raise UserError(f"--save {args.save} and --plot {args.plot} are the same file; give each its own name")
    if args.plot:
        _require_matplotlib()
        if Path(args.plot).suffix.lower() not in PLOT_FORMATS:
            raise UserError(f"--plot {args.plot}: use one of {', '.join(PLOT_FORMATS)}")
    data = _load_training_data(args.data, args.target)
    try:
        # in place: the two parts are views of data.X, not a second copy of the data set
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=args.test_size, seed=args.seed, inplace=True
        )
    except MemoryError:
        rows, features = data.X.shape
        raise UserError(
            f"{args.data}: not enough memory to split its {rows:,} rows x {features} features "
            f"({data.X.nbytes / 1e6:,.0f} MB in memory)"
        ) from None
    model = _new_model(args, data)
    with no_grad():  # the untrained model's loss: a final loss above it means training made things worse
        initial = F.cross_entropy(model(X_train), y_train).item()
    history = fit(
        model, X_train, y_train, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        optimizer=args.optimizer, seed=args.seed, progress=not args.quiet,
    )
    final = history["loss"][-1]
    if not np.isfinite(final):
        hint = _scale_hint(data.X) or f"try a smaller --lr than {args.lr:g}"
        raise UserError(f"training diverged (loss {final}); {hint}")
    _logits(model, X_train, args.data)
    accuracy = float(np.mean(np.argmax(_logits(model, X_test, args.data), axis=-1) == y_test))
    if args.hidden:
        print(f"model: {model._summary()}")
    print(f"final training loss: {final:.4f}" if final < 1e6 else f"final training loss: {final:.4g}")
    print(f"test accuracy: {accuracy:.3f}")
    if final > initial:
        print(f"warning: training diverged: the mean loss rose from {initial:.4g} before training to {final:.4g} "
              f"(try a smaller --lr than {args.lr:g})", file=sys.stderr)  # fmt: skip
    # Both files or neither: the plot is drawn in memory first, then the two are written together.
    outputs = []
    if args.save:
        outputs.append((args.save, model._write_npz))
    if args.plot:
        picture = _draw_plot(history, args.plot)
        outputs.append((args.plot, lambda file: file.write(picture)))
    atomic_write_all(outputs)
    if args.save:
        print(f"saved model to {args.save}")
    if args.plot:
        print(f"saved plot to {args.plot}")
    return 0


def _listing(names: Sequence[str], limit: int = 6) -> str:
    """``a, b, c`` for a few names, ``a, b, c, d, e, f and 778 more`` for many (a CSV of pixels)."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _check_same_data(model: Classifier, data: Dataset, args: argparse.Namespace) -> None:
    """Refuse, in one line, data unlike what the model was trained on: a model of another data set
    with as many features would otherwise print predictions that mean nothing."""
    expected = model.feature_names  # None for models saved without them (version 0.1)
    if data.X.shape[1] != model.num_features:
        raise UserError(
            f"{args.data}: has {data.X.shape[1]} feature columns but the model expects {model.num_features}"
            + (f" ({_listing(expected)})" if expected else "")
            + ("" if args.target else " (use --target to drop a label column)")
        )
    if expected is not None and data.feature_names != expected:
        if sorted(data.feature_names) == sorted(expected):
            raise UserError(f"{args.data}: has the model's feature columns in another order: "
                            f"{_listing(data.feature_names)}; the model expects {_listing(expected)}")  # fmt: skip
        differ = [f"column {index} is {got!r} where the model has {want!r}"
                  for index, (got, want) in enumerate(zip(data.feature_names, expected), start=1) if got != want]
        more = f" and {len(differ) - 3} more" if len(differ) > 3 else ""
        raise UserError(f"{args.data}: not the data the model was trained on: {', '.join(differ[:3])}{more} "
                        f"(the model's features: {_listing(expected)})")  # fmt: skip
    if args.target and model.class_names is not None:
        unknown = [name for name in data.class_names if name not in model.class_names]
        if unknown:
            raise UserError(f"{args.data}: the column {args.target} holds classes the model was not trained on: "
                            f"{_listing(unknown)} (the model's classes: {_listing(model.class_names)})")  # fmt: skip


@_quiet_numerics
def run_predict(args: argparse.Namespace) -> int:
    if not args.model:
        raise UserError("--model: empty file name; give a model file")
    model = load_model(args.model)  # any architecture; refuses, in one line, files too large to unpack
    try:
        data = load_csv(args.data, target=args.target)
    except ValueError as exc:
        if args.target is None and "is not a number" in str(exc):  # most often: the label column is still there
            raise UserError(f"{exc} (use --target COLUMN to leave out a label column)") from None
        raise
    _check_same_data(model, data, args)
    labels = np.argmax(_logits(model, data.X, args.data), axis=-1)
    names = model.class_names
    for label in labels:
        print(names[label] if names else label)
    return 0


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'tinygrad_softmax[plot]'") from None


def _plot(history: dict[str, list[float]], path: str) -> None:
    """Draw the loss and accuracy curves and write them to `path` atomically."""
    picture = _draw_plot(history, path)
    atomic_write(path, lambda file: file.write(picture))


def _draw_plot(history: dict[str, list[float]], path: str) -> bytes:
    """The curves as a picture in the format of `path`'s suffix, drawn in memory: a plot that
    fails to draw must not leave a model written without it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    picture = io.BytesIO()
    try:
        epochs = np.arange(1, len(history["loss"]) + 1)
        left.plot(epochs, history["loss"])
        left.set(xlabel="epoch", ylabel="mean cross-entropy", title="training loss")
        right.plot(epochs, history["accuracy"])
        right.set(xlabel="epoch", ylabel="accuracy", title="training accuracy", ylim=(0, 1.05))
        fig.tight_layout()
        fig.savefig(picture, format=Path(path).suffix.lower().lstrip("."))
    except Exception as exc:  # matplotlib fails in many types; the user gets one line, as for every error
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--plot {path}: cannot draw the plot: {reason}") from None
    finally:
        plt.close(fig)
    return picture.getvalue()


if __name__ == "__main__":
    sys.exit(main())
