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
from . import viz
from ._files import atomic_write, atomic_write_all
from .datasets import Dataset, load_csv, load_iris, make_seed_data, train_test_split
from .grad_mode import no_grad
from .gradcheck import jacobian
from .nn import SoftmaxClassifier, fit
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
    np.set_printoptions(precision=4, suppress=True)
    try:
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
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="walk through the notebook, step by step, correctly")
    demo.add_argument("--out", default="tinygrad_softmax_out", help="folder for the graph files")
    demo.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    demo.set_defaults(run=run_demo)

    train = commands.add_parser("train", help="train a softmax classifier on iris or a CSV file")
    train.add_argument("--data", default="iris", help="'iris' or a CSV file with a header row")
    train.add_argument("--target", help="label column of the CSV (default: the last column)")
    train.add_argument("--epochs", type=_positive(int), default=EPOCHS)
    train.add_argument("--lr", type=_positive(float), default=LEARNING_RATE)
    train.add_argument("--batch-size", type=_positive(int), default=1)
    train.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    train.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    train.add_argument("--test-size", type=float, default=0.2)
    train.add_argument("--save", metavar="MODEL.npz", help="write the trained model here")
    train.add_argument("--plot", metavar="CURVE.png", help="plot loss and accuracy (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    graph = commands.add_parser("graph", help="draw the notebook classifier's graph for one sample")
    graph.add_argument("--out", default="graph.svg", help=".svg, .png, .pdf, or .dot (needs no Graphviz)")
    graph.add_argument("--backward", action="store_true", help="draw the gradient flow with local derivatives")
    graph.add_argument("--collapse", action="store_true", help="draw softmax, cross-entropy... as single boxes")
    graph.add_argument("--values", action="store_true", help="show tensor values")
    graph.add_argument("--rankdir", choices=["LR", "TB", "RL", "BT"], default=None,
                       help="layout direction (default: LR when collapsed, TB when expanded)")
    graph.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    graph.set_defaults(run=run_graph)

    check = commands.add_parser("check", help="check an exercise: a student's Function subclasses, or exercise 8")
    check.add_argument("file", help="the student's Python file")
    check.add_argument("--op", help="check only the Function subclass with this class name")
    check.add_argument("--exercise", type=int, help="check a non-Function exercise by number (8: the training loop)")
    check.add_argument("--seed", type=_seed, default=0, help="a non-negative integer (default: 0)")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show every input case, not only one line per check"
    )
    check.add_argument(
        "--time-limit", type=float, default=120.0, metavar="SECONDS",
        help="stop a file that seems to loop forever after this long (default 120; 0: no limit)",
    )
    check.set_defaults(run=run_check)

    predict = commands.add_parser("predict", help="print the predicted class of each row of a CSV file")
    predict.add_argument("--model", required=True, metavar="MODEL.npz")
    predict.add_argument("--data", required=True, metavar="PATH.csv")
    predict.add_argument("--target", help="a label column in the CSV to ignore")
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


# ---------------------------------------------------------------------------- demo


def _title(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)))


def run_demo(args: argparse.Namespace) -> int:
    """The notebook, end to end, with each mistake it made put right."""
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    num_classes = 3

    _title("1. Artificial data (samples as rows; the notebook stored them as columns)")
    X, labels = make_seed_data(num_samples=5, num_features=4, num_labels=num_classes, seed=args.seed)
    Y = F.one_hot(labels, num_classes)
    print("X =\n", X, "\nlabels =", labels)
    print("one-hot labels with num_classes=3 (the notebook's to_categorical guessed the class count")
    print("from the labels present and could drop columns):\n", Y)

    _title("2. One sample forward: z = W x (bias = W's last column), a = softmax(z), L = -log a_y")
    model, x, y, z, a, loss = notebook_sample_graph(X[0], labels[0], num_classes, args.seed)
    x_bias = np.append(x, 1.0)
    print("z =", z.data, "\na =", a.data, f"(sums to {a.data.sum():.6f}: softmax per sample, not over a matrix)")
    nll = -a[labels[0]].log()  # the notebook's form; L itself is the categorical cross-entropy form
    print(f"L = -log a[{labels[0]}] = {nll.item():.6f};  categorical cross-entropy -sum(y log a) = {loss.item():.6f}")

    _title("3. The gradient by backward(), next to the closed form (a - y) x^T")
    loss.backward()
    closed_form = np.outer(a.data - y, x_bias)
    print("W.grad =\n", model.W.grad, "\n(a - y) x^T =\n", closed_form)
    print(f"max |difference| = {np.abs(model.W.grad - closed_form).max():.2e}")

    _title("4. The chain rule's factors: dL/dW = dz/dW x da/dz x dL/da")
    dL_da = a.grad
    print("dL/da =", dL_da, "\n  = -y / a =", -y / a.data, "(the index typos of the notebook's step 7 put right)")
    J = jacobian(F.softmax, z.data)
    print("da/dz (jacobian of softmax) =\n", J, "\n  = diag(a) - a a^T: max |difference|",
          f"{np.abs(J - (np.diag(a.data) - np.outer(a.data, a.data))).max():.2e}")
    dL_dz = J.T @ dL_da
    print("dL/dz = (da/dz)^T dL/da =", dL_dz, "\n  = a - y =", a.data - y, "= z.grad", z.grad)
    print("dz/dW: z_i = sum_k W_ik x_k, so dz_i/dW_ik = x_k and dL/dW = dL/dz x^T =\n", np.outer(dL_dz, x_bias))

    _title("5. The notebook's loop: SGD one sample at a time (lr = 0.1)")
    optimizer = SGD(model.parameters(), lr=0.1)
    for i in range(len(X)):
        optimizer.zero_grad()
        sample_loss = F.cross_entropy(model(X[i]), labels[i])
        sample_loss.backward()
        print(f"sample {i}: loss {sample_loss.item():.4f}  gradient row norms {np.linalg.norm(model.W.grad, axis=1)}")
        optimizer.step()

    _title("6. Training on iris (stratified 80/20 split)")
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, seed=args.seed)
    iris_model = SoftmaxClassifier(X_train.shape[1], len(data.class_names), seed=args.seed)
    history = fit(iris_model, X_train, y_train, epochs=EPOCHS, lr=LEARNING_RATE, seed=args.seed, progress=False)
    accuracy = float(np.mean(iris_model.predict(X_test) == y_test))
    print(f"final training loss {history['loss'][-1]:.4f}; test accuracy: {accuracy:.3f}")

    _title(f"7. The computation graph of L, written to {out_dir}/")
    # Rebuilt from the starting weights of step 2: the loop above moved W on.
    model, x, y, z, a, loss = notebook_sample_graph(X[0], labels[0], num_classes, args.seed)
    loss.backward()
    explanation = viz.explain(loss, model.W, collapse=True)
    (out_dir / "explanation.txt").write_text(explanation)
    print(explanation)
    pictures = [
        ("graph", {"highlight": [model.W]}),
        ("graph_collapsed", {"highlight": [model.W], "collapse": True}),
        ("graph_backward", {"backward": True, "collapse": True}),
    ]
    for stem, options in pictures:
        print("wrote", _render_or_dot(loss, out_dir / f"{stem}.svg", options))
    print("wrote", out_dir / "explanation.txt")
    return 0


def notebook_sample_graph(
    x: np.ndarray, label: int, num_classes: int, seed: int
) -> tuple[SoftmaxClassifier, np.ndarray, np.ndarray, Tensor, Tensor, Tensor]:
    """The notebook's chain for one sample, with the names it uses: z = W x, a = softmax(z), L = cce(y, a)."""
    model = SoftmaxClassifier(num_features=len(x), num_classes=num_classes, seed=seed, init_scale=0.1)
    y = F.one_hot(label, num_classes)
    z = model(x)
    z.name = "z"
    a = F.softmax(z)
    a.name = "a"
    loss = F.categorical_crossentropy(y, a)
    loss.name = "L"
    return model, x, y, z, a, loss


def _render_or_dot(output: Tensor, path: Path, options: dict) -> Path:
    """An SVG when Graphviz's dot works, else the DOT text (and a note saying why)."""
    dot_path = viz.render(output, path.with_suffix(".dot"), **options)  # DOT text always: it needs no Graphviz
    try:
        return viz.render(output, path, **options)
    except viz.GraphvizNotFoundError as missing:
        print(f"note: {missing}")
        return missing.dot_path
    except viz.GraphvizError as failed:
        print(f"note: {failed}; the graph is in {dot_path} as DOT text")
        return dot_path


def run_graph(args: argparse.Namespace) -> int:
    _check_output("--out", args.out)
    X, labels = make_seed_data(seed=args.seed)
    model, *_, loss = notebook_sample_graph(X[0], labels[0], 3, args.seed)
    loss.backward()
    rankdir = args.rankdir or ("LR" if args.collapse else "TB")  # the expanded graph is too wide in LR
    options = {"backward": args.backward, "collapse": args.collapse, "show_values": args.values, "rankdir": rankdir}
    options["highlight"] = None if args.backward else [model.W]
    try:
        path = viz.render(loss, args.out, **options)
    except viz.GraphvizError as failed:  # dot missing (the DOT text was written instead), failed or timed out
        raise UserError(str(failed)) from None
    print(f"wrote {path}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from .exercises import run_cli  # the checker imports student code: load it only when asked

    return run_cli(args)


# --------------------------------------------------------------------- train / predict


IRIS_TARGET = "species"


def _load_training_data(source: str, target: str | None) -> Dataset:
    if source == "iris":
        data = load_iris()
        if target not in (None, IRIS_TARGET):
            columns = ", ".join([*data.feature_names, IRIS_TARGET])
            raise UserError(f"--target {target}: iris's label column is {IRIS_TARGET!r} (its columns: {columns})")
        return data
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


@_quiet_numerics
def run_train(args: argparse.Namespace) -> int:
    if not 0 < args.test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1, got {args.test_size}")
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
    # a float32 data set trains a float32 model: no float64 copy of it is ever made
    model = SoftmaxClassifier(data.X.shape[1], len(data.class_names), seed=args.seed, dtype=data.X.dtype)
    model.class_names = data.class_names
    history = fit(
        model, X_train, y_train, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        optimizer=args.optimizer, seed=args.seed, progress=not args.quiet,
    )
    if not np.isfinite(history["loss"][-1]):
        hint = _scale_hint(data.X) or "try a smaller --lr"
        raise UserError(f"training diverged (loss {history['loss'][-1]}); {hint}")
    _logits(model, X_train, args.data)
    accuracy = float(np.mean(np.argmax(_logits(model, X_test, args.data), axis=-1) == y_test))
    print(f"final training loss: {history['loss'][-1]:.4f}")
    print(f"test accuracy: {accuracy:.3f}")
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


@_quiet_numerics
def run_predict(args: argparse.Namespace) -> int:
    if not args.model:
        raise UserError("--model: empty file name; give a model file")
    model = SoftmaxClassifier.load(args.model)  # refuses, in one line, files too large to unpack
    try:
        data = load_csv(args.data, target=args.target)
    except ValueError as exc:
        if args.target is None and "is not a number" in str(exc):  # most often: the label column is still there
            raise UserError(f"{exc} (use --target COLUMN to leave out a label column)") from None
        raise
    if data.X.shape[1] != model.num_features:
        raise UserError(
            f"{args.data}: has {data.X.shape[1]} feature columns but the model expects {model.num_features}"
            + ("" if args.target else " (use --target to drop a label column)")
        )
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
