"""Write docs/softmax_classifier.ipynb from the cells below: run ``python docs/make_notebook.py``.

``python docs/make_notebook.py --executed`` also runs it (Graphviz's ``dot`` needed for
the pictures) and writes docs/softmax_classifier_executed.ipynb, the exported copy
with every output and rendered graph, for reading on the web without running it.

The notebook is generated so that it can be reviewed as plain Python, and it is
committed with its outputs cleared (tests/test_notebook.py executes it and
checks that it matches this script). Edit the cells here, never the .ipynb.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

PATH = Path(__file__).resolve().parent / "softmax_classifier.ipynb"
EXECUTED = PATH.with_name("softmax_classifier_executed.ipynb")

# (cell id, "md" or "code", source). Ids are fixed so that regenerating gives the same file.
CELLS: list[tuple[str, str, str]] = [
    ("title", "md", r"""
# The softmax classifier, with its gradient derived by autodiff

This notebook redoes the course notebook's lesson with `tinygrad_softmax`: a
softmax classifier for 3 classes, one sample at a time, and the gradient of its
loss with respect to the weights, `dL/dW = dL/da · da/dz · dz/dW`. Here
`backward()` computes the gradient, and each factor of the chain rule is
computed on its own, printed, and multiplied back together to check it.

All randomness is seeded, so you get the numbers of
[tutorial.md](tutorial.md), which tells the same story in more words and lists
the original notebook's mistakes.

The graph pictures need Graphviz's `dot` program (`apt-get install graphviz`,
`brew install graphviz`, or `conda install -c conda-forge graphviz`). Without
it, the graph cells show the DOT text and how to install Graphviz instead.
"""),
    ("setup", "code", r"""
import numpy as np
from IPython.display import Markdown

from tinygrad_softmax import functional as F
from tinygrad_softmax import jacobian, viz
from tinygrad_softmax.datasets import load_iris, make_seed_data, train_test_split
from tinygrad_softmax.nn import SoftmaxClassifier, fit
from tinygrad_softmax.optim import SGD

np.set_printoptions(precision=4, suppress=True)
"""),
    ("data-md", "md", r"""
## The data and its one-hot labels

Five artificial samples with 4 integer features between 3 and 9, and a random
label in {0, 1, 2} each. Samples are **rows** here (`X[i]` is sample `i`); the
course notebook stored them as columns, which is `X.T`.

One-hot encoding turns label $k$ into a row with a 1 in column $k$. Always pass
`num_classes`: guessing it from the labels present can drop classes.
"""),
    ("data", "code", r"""
X, labels = make_seed_data(num_samples=5, num_features=4, num_labels=3, seed=0)
Y = F.one_hot(labels, num_classes=3)
print("X =", X, "labels =", labels, "one-hot =", Y, sep="\n")
"""),
    ("scores-md", "md", r"""
## Step 1: raw scores $\mathbf{z} = \mathbf{W}\mathbf{x}$

`W` has one row per class and the bias as its **last column**; the sample gets a
constant feature 1 appended, so that $\mathbf{W}\mathbf{x}$ includes the bias.
`SoftmaxClassifier` stores `W` that way, shape `(3, 5)`, and computes the same
product without copying `x`. Naming tensors labels them in the pictures below.
"""),
    ("scores", "code", r"""
model = SoftmaxClassifier(num_features=4, num_classes=3, seed=0, init_scale=0.1)
W = model.W
x, label, y = X[0], labels[0], Y[0]
z = model(x)
z.name = "z"
print("W =", W.data, "x with its 1 =", np.append(x, 1.0), "z = W x =", z.data, sep="\n")
"""),
    ("softmax-md", "md", r"""
## Step 2: softmax probabilities

$$a_k = \frac{e^{z_k}}{\sum_j e^{z_j}}$$

`F.softmax` is built from Tensor ops (subtract the max, `exp`, `sum`, `div`), so
the engine differentiates it like any other expression. Subtracting the max
changes nothing mathematically and keeps `exp` from overflowing.
"""),
    ("softmax", "code", r"""
a = F.softmax(z)
a.name = "a"
print("a =", a.data, " sum =", round(a.data.sum(), 12))
"""),
    ("loss-md", "md", r"""
## Steps 3 to 5: the loss, two ways

With the integer label, $L = -\log a_y$. With the one-hot row $\mathbf{y}$ and
$\hat{\mathbf{y}} = \mathbf{a}$, the categorical cross-entropy
$L = -\sum_k y_k \log \hat{y}_k$; every term with $y_k = 0$ vanishes, which
leaves $-\log a_y$ again.
"""),
    ("loss", "code", r"""
L = F.categorical_crossentropy(y, a)
L.name = "L"
print("label", label, " -log a_y =", -np.log(a.data[label]), " cross-entropy =", L.item())
"""),
    ("graph-md", "md", r"""
## The computation graph

Every op above was recorded. `L.graph(...)` draws the graph (it returns a
`graphviz.Digraph`, which Jupyter displays). With `collapse=True` each
composite is one box, which is the notebook's chain $W \to z \to a \to L$; the
path from `L` back to `W` is highlighted.
"""),
    ("graph-collapsed", "code", r"""
L.graph(collapse=True, highlight=[W], show_values=True)
"""),
    ("graph-expanded-md", "md", r"""
Without `collapse`, every primitive the engine recorded, each composite's in a
dashed frame: `getitem` splits `W` into weights and bias, then `matmul` and
`add` give `z`; softmax is `sub` (of `max(z)`, a constant), `exp`, `sum`,
`div`; the loss is `clip`, `log`, `mul` (by `y`), `sum`, `neg`.
"""),
    ("graph-expanded", "code", r"""
L.graph(highlight=[W], show_values=True)
"""),
    ("backward-md", "md", r"""
## Step 6: the gradient by the chain rule

$$\frac{\partial L}{\partial \mathbf{W}} = \frac{\partial L}{\partial \mathbf{a}}
\cdot \frac{\partial \mathbf{a}}{\partial \mathbf{z}} \cdot \frac{\partial \mathbf{z}}{\partial \mathbf{W}}$$

Each factor $\partial A / \partial B$ is a Jacobian with one row per element of
$A$ and one column per element of $B$ (arrays flattened row by row), so the
factors multiply in this order: $1 \times 3$, $3 \times 3$ and $3 \times 15$
give the $1 \times 15$ row that is $\partial L / \partial \mathbf{W}$ once
reshaped to $3 \times 5$. (The course notebook wrote the product in the
other order, which multiplies only with every factor transposed.)

One `backward()` computes all of it. For this model the product simplifies to
$(\mathbf{a} - \mathbf{y})\,\mathbf{x}^\top$ (with the 1 appended to $\mathbf{x}$):
"""),
    ("backward", "code", r"""
L.backward()
x1 = np.append(x, 1.0)
print("W.grad =", W.grad, sep="\n")
print("largest difference from (a - y) x^T:", np.abs(W.grad - np.outer(a.data - y, x1)).max())
"""),
    ("last-term-md", "md", r"""
## Step 7: the last factor, $\partial L / \partial \hat{\mathbf{y}}$

$\partial L / \partial \hat{y}_k = -y_k / \hat{y}_k$, with the same index $k$
on top and bottom. The engine keeps `.grad` on intermediate tensors, so
`a.grad` is this factor.
"""),
    ("last-term", "code", r"""
print("a.grad =", a.grad, "  -y / a =", -y / a.data)
"""),
    ("jacobian-md", "md", r"""
## Step 8: the middle factor, the softmax Jacobian

$\partial a_i / \partial z_j = a_i(\delta_{ij} - a_j)$, that is
$\mathrm{diag}(\mathbf{a}) - \mathbf{a}\mathbf{a}^\top$. `jacobian` builds it
with one backward pass per output. Multiplied with the last factor it gives
$\partial L / \partial \mathbf{z} = \mathbf{a} - \mathbf{y}$, which the engine
stored in `z.grad`.
"""),
    ("jacobian", "code", r"""
J = jacobian(F.softmax, z.data)
print("da/dz =", J, sep="\n")
print("equals diag(a) - a a^T:", np.allclose(J, np.diag(a.data) - np.outer(a.data, a.data)))
dl_dz = a.grad @ J
print("dL/dz =", dl_dz, " z.grad =", z.grad, " a - y =", a.data - y)
"""),
    ("first-term-md", "md", r"""
## Step 9: the first factor, $\partial \mathbf{z} / \partial \mathbf{W}$

`z` has 3 entries and `W` has 3 × 5, so `jacobian` gives this factor the shape
`(3, 3, 5)`: $\partial z_i / \partial W_{jk} = x_k$ when $i = j$, else 0.
Flattened to $3 \times 15$, it multiplies $\partial L / \partial \mathbf{z}$
from the right, and the product is the outer product
$(\mathbf{a} - \mathbf{y})\,\mathbf{x}^\top$, which is `W.grad`.
"""),
    ("first-term", "code", r"""
dz_dw = jacobian(lambda w: w @ x1, W.data)
print(f"dz/dW has shape {dz_dw.shape}; its first slice, dz_0/dW:", dz_dw[0], sep="\n")
dl_dw = (dl_dz @ dz_dw.reshape(3, 15)).reshape(3, 5)
print("product of the three factors equals W.grad:", np.allclose(dl_dw, W.grad))
"""),
    ("backward-graph-md", "md", r"""
## The backward graph and the chain rule in words

The backward view reverses the arrows and labels each with what the step does
to the incoming gradient `g`, written with the names of its operands: the
three factors above, on the picture.
"""),
    ("backward-graph", "code", r"""
L.graph(backward=True, collapse=True)
"""),
    ("explain-md", "md", r"""
`viz.explain` reads the same chain off the graph, step by step, with numbers
(`format="markdown"` renders the matrices with LaTeX):
"""),
    ("explain", "code", r"""
Markdown(viz.explain(L, W, collapse=True, format="markdown"))
"""),
    ("sgd-md", "md", r"""
## The training loop: one sample at a time

The course notebook's Steps 1 to 6 as a loop: for each sample, forward, loss,
backward, and the update $\mathbf{W} \leftarrow \mathbf{W} - \eta\,\partial L/\partial \mathbf{W}$.
`zero_grad()` comes first because gradients accumulate across `backward()` calls.
Each printed $\partial L / \partial \mathbf{z}$ sums to 0 and is negative only at
the sample's true class: it is $\mathbf{a} - \mathbf{y}$.
"""),
    ("sgd", "code", r"""
optimizer = SGD(model.parameters(), lr=0.01)
for i in range(len(X)):
    logits = model(X[i])
    loss = F.cross_entropy(logits, labels[i])
    optimizer.zero_grad()
    loss.backward()
    print(f"sample {i}: loss {loss.item():.4f}  dL/dz {logits.grad}")
    optimizer.step()
"""),
    ("iris-md", "md", r"""
## Training on iris

Random labels leave nothing to learn. Fisher's iris data have the same shape (4
features, 3 classes) and a real pattern. `fit` runs the loop above over shuffled
samples for many epochs; accuracy is measured on 20% of the data kept out of
training.
"""),
    ("iris", "code", r"""
iris = load_iris()
X_train, X_test, y_train, y_test = train_test_split(iris.X, iris.y, test_size=0.2, seed=0)
clf = SoftmaxClassifier(num_features=4, num_classes=3, seed=0)
history = fit(clf, X_train, y_train, epochs=200, lr=0.01, batch_size=1, seed=0, progress=False)
print(f"training loss {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}")
print(f"test accuracy {np.mean(clf.predict(X_test) == y_test):.3f}")
"""),
    ("next-md", "md", r"""
## Where next

- [tutorial.md](tutorial.md): this lesson in prose, and the course notebook's mistakes, shown with numbers.
- [visualisation.md](visualisation.md): every option of the graph pictures and of `explain`.
- [extending.md](extending.md): write an op of your own, check its gradient, register it as a method.
"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook, outputs empty, cells in order."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for cell_id, kind, source in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        cell = make(source.strip("\n"))
        cell.id = cell_id
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render() -> str:
    return nbformat.writes(build()) + "\n"


def export_executed() -> None:
    """Run the notebook with this interpreter's python3 kernel and save it with its outputs."""
    import nbclient

    nb = build()
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(PATH.parent)}}).execute()
    for cell in nb.cells:  # execution counts and timings only add noise to diffs
        cell.get("metadata", {}).pop("execution", None)
    EXECUTED.write_text(nbformat.writes(nb) + "\n")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        current = PATH.read_text() if PATH.exists() else ""
        sys.exit(0 if current == render() else f"{PATH.name} is out of date: run python docs/make_notebook.py")
    PATH.write_text(render())
    print("wrote", PATH)
    if "--executed" in sys.argv[1:]:
        export_executed()
        print("wrote", EXECUTED)
