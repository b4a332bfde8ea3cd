"""nn's layers the torch way: Module's API, Linear (both bias layouts), activations, Sequential, MLP, and training.

The MLP is checked where it counts: it learns two moons (no line separates them) and does at least as
well as the softmax classifier on iris. tests/test_nn_torch.py compares it with PyTorch step by step.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tinygrad_softmax import Function, Tensor, gradcheck, nn, viz
from tinygrad_softmax import functional as F
from tinygrad_softmax.datasets import load_iris, train_test_split
from tinygrad_softmax.nn import MLP, Linear, Module, ReLU, Sequential, Sigmoid, SoftmaxClassifier, Tanh, fit
from tinygrad_softmax.optim import SGD


def make_moons(num_samples: int = 200, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles, ``X (n, 2)`` float64 and ``y (n,)`` in {0, 1}: no line separates them."""
    rng = np.random.default_rng(seed)
    half = num_samples // 2
    angle = rng.uniform(0.0, np.pi, num_samples)
    upper = np.stack([np.cos(angle[:half]), np.sin(angle[:half])], axis=1)
    lower = np.stack([1.0 - np.cos(angle[half:]), 0.5 - np.sin(angle[half:])], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (num_samples, 2))
    y = np.repeat([0, 1], [half, num_samples - half])
    return X, y


class TwoLayer(Module):
    """A user's own Module: attributes make the parameters and children."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = Linear(3, 4, seed=0)
        self.act = Tanh()
        self.out = Linear(4, 2, seed=1)
        self.scale = Tensor(np.ones(2), requires_grad=True)
        self.constant = np.zeros(2)  # an array is no parameter

    def forward(self, x):
        return self.out(self.act(self.hidden(x))) * self.scale


# ------------------------------------------------------------------ Module


def test_parameters_and_names_follow_the_attributes():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert model.parameters()[1] is model.hidden.weight
    assert [name for name, _ in model.named_children()] == ["hidden", "act", "out"]
    assert model.children() == [model.hidden, model.act, model.out]
    assert model.modules() == [model, model.hidden, model.act, model.out]


def test_a_shared_parameter_is_listed_once():
    layer = Linear(2, 2, seed=0)
    model = Sequential(layer, ReLU(), layer)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    SGD(model.parameters(), lr=0.1)  # an optimizer refuses duplicates: there are none


def test_zero_grad_and_train_eval():
    model = TwoLayer()
    (model(np.ones((2, 3))) ** 2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.training and model.hidden.training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trips_and_is_a_copy():
    model, other = MLP(3, (5, 4), 2, seed=0), MLP(3, (5, 4), 2, seed=1)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert not np.array_equal(state["0.weight"], other.state_dict()["0.weight"])
    assert other.load_state_dict(state) == ([], [])
    X = np.random.default_rng(2).standard_normal((6, 3))
    np.testing.assert_array_equal(other(X).data, model(X).data)
    state["0.weight"][...] = 0.0  # the dict is a copy: the models keep their weights
    assert np.all(model[0].weight.data != 0.0) and np.all(other[0].weight.data != 0.0)
    loaded = other[0].weight.data
    other.load_state_dict(model.state_dict())
    assert other[0].weight.data is not loaded, "replaced, never edited in place (graphs may have saved it)"


def test_load_state_dict_refuses_other_names_shapes_and_dtypes_and_changes_nothing():
    model = MLP(3, (5,), 2, seed=0)
    before = model.state_dict()
    state = model.state_dict()
    state["2.bias"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"MLP.load_state_dict: 2.bias has shape \(3,\) in the state dict, \(2,\)"):
        model.load_state_dict({**state, "0.weight": np.zeros((5, 3))})
    np.testing.assert_array_equal(model[0].weight.data, before["0.weight"])  # checked before any change
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"0.bias is float32 in the state dict, float64 in the model"):
        model.load_state_dict({**state, "0.bias": state["0.bias"].astype(np.float32)})
    del state["0.bias"]
    state["0.b"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"missing \['0.bias'\], unexpected \['0.b'\]"):
        model.load_state_dict(state)
    assert model.load_state_dict(state, strict=False) == (["0.bias"], ["0.b"])


def test_repr_reads_like_torch():
    assert repr(MLP(4, (8,), 3, seed=0)) == (
        "MLP(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=8, out_features=3, bias=True)\n"
        ")"
    )
    assert repr(SoftmaxClassifier(4, 3)) == (
        "SoftmaxClassifier(\n  (linear): Linear(in_features=4, out_features=3, bias_column=True)\n)"
    )
    nested = Sequential(Sequential(Linear(2, 2, bias=False, dtype=np.float32)), Sigmoid())
    assert repr(nested) == (
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=2, bias=False, dtype=float32)\n"
        "  )\n"
        "  (1): Sigmoid()\n"
        ")"
    )


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module defines no forward"):
        Module()(1.0)


def test_nn_holds_no_backward_code():
    """Every layer is a composite of Tensor ops: the engine differentiates it."""
    assert not [obj for obj in vars(nn).values() if inspect.isclass(obj) and issubclass(obj, Function)]
    assert "def backward" not in inspect.getsource(nn)


# ------------------------------------------------------------------ Linear and the activations


def test_linear_is_x_wt_plus_b_for_a_sample_and_a_batch():
    layer = Linear(3, 2, seed=0)
    W, b = layer.weight.data, layer.bias.data
    X = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_allclose(layer(X).data, X @ W.T + b, rtol=1e-14)
    np.testing.assert_allclose(layer(X[0]).data, W @ X[0] + b, rtol=1e-14)
    assert layer(Tensor(X)).shape == (5, 2) and layer.weight.name == "W" and layer.bias.name == "b"
    no_bias = Linear(3, 2, bias=False, seed=0)
    assert no_bias.bias is None and no_bias(X).shape == (5, 2)
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(3,\) or \(n, 3\), got \(5, 4\)"):
        layer(np.ones((5, 4)))


def test_the_two_bias_layouts_are_one_function_for_one_seed():
    column, separate = Linear(3, 2, bias_column=True, seed=4), Linear(3, 2, seed=4)
    assert column.weight.shape == (2, 4) and column.bias is None
    np.testing.assert_array_equal(column.weight.data, np.column_stack([separate.weight.data, separate.bias.data]))
    X = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(column(X).data, separate(X).data, rtol=1e-14)


def test_bias_column_computes_the_notebooks_op_sequence():
    """``W[:, :-1] @ x + W[:, -1]`` for a sample, ``x @ W[:, :-1].T + W[:, -1]`` for a batch."""
    layer = Linear(3, 2, bias_column=True, seed=0)
    one = layer(np.ones(3))
    assert one.op == "add" and [p.op for p in one.parents] == ["matmul", "getitem"]
    assert [viz.op_title(p) for p in one.parents[0].parents[:1]] == ["getitem[:, :-1]"]
    batch = layer(np.ones((2, 3)))
    assert [p.op for p in batch.parents] == ["matmul", "getitem"]
    assert batch.parents[0].parents[1].op == "transpose"
    assert viz.op_title(batch.parents[0].parents[1].parents[0]) == "getitem[:, :-1]"
    with pytest.raises(ValueError, match="bias_column"):
        Linear(3, 2, bias=False, bias_column=True)


def test_linear_initialisation_is_torchs_unless_a_scale_is_given():
    layer = Linear(16, 1000, seed=0)
    bound = 1 / np.sqrt(16)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    np.testing.assert_array_equal(Linear(16, 1000, seed=0).weight.data, layer.weight.data)
    scaled = Linear(4, 3, bias_column=True, seed=0, init_scale=0.01)
    np.testing.assert_array_equal(scaled.weight.data, np.random.default_rng(0).standard_normal((3, 5)) * 0.01)
    assert Linear(2, 2, dtype=np.float32).weight.dtype == np.float32
    for bad in ({"in_features": 0}, {"out_features": 2.5}, {"dtype": np.int64}):
        with pytest.raises(ValueError, match="Linear"):
            Linear(**{"in_features": 2, "out_features": 2, **bad})


@pytest.mark.parametrize(
    "layer, reference",
    [(ReLU(), lambda x: np.maximum(x, 0)), (Tanh(), np.tanh), (Sigmoid(), lambda x: 1 / (1 + np.exp(-x)))],
    ids=["relu", "tanh", "sigmoid"],
)
def test_activations_are_the_tensor_ops_in_a_scope(layer, reference):
    x = np.array([[-2.0, -0.5, 0.3], [1.0, 2.5, -3.0]])
    np.testing.assert_allclose(layer(x).data, reference(x), rtol=1e-14)  # an array is taken as a constant
    out = layer(Tensor(x, requires_grad=True))
    assert out.op == layer.scope_name and out.scope.name == layer.scope_name
    assert gradcheck(layer, [Tensor(x, requires_grad=True)])


def test_sequential_indexes_iterates_and_runs_in_order():
    model = Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 1, seed=1))
    assert len(model) == 3 and isinstance(model[1], Tanh) and list(model)[2] is model[-1]
    head = model[:2]
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is model[0]
    x = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(model(x).data, model[2](np.tanh(model[0](x).data)).data, rtol=1e-14)
    with pytest.raises(TypeError, match="layer 1 is a str, not a Module"):
        Sequential(Tanh(), "relu")


def test_gradients_through_an_mlp_match_finite_differences():
    model = MLP(3, (4, 4), 2, activation="tanh", seed=0)
    X, y = np.random.default_rng(1).standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])

    def loss(*weights):
        h = X
        for index in range(0, len(weights), 2):
            h = h @ weights[index].T + weights[index + 1]
            h = h.tanh() if index < len(weights) - 2 else h
        return F.cross_entropy(h, y)

    F.cross_entropy(model(X), y).backward()
    params = [Tensor(p.data, requires_grad=True) for p in model.parameters()]
    assert gradcheck(loss, params)
    loss(*params).backward()
    for mine, reference in zip(model.parameters(), params):
        np.testing.assert_allclose(mine.grad, reference.grad, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ graphs by layer


def test_a_collapsed_graph_draws_one_box_per_layer():
    model = MLP(4, (5, 3), 3, seed=0)
    loss = F.cross_entropy(model(np.ones((2, 4))), np.array([0, 2]))
    loss.backward()
    source = viz.to_dot(loss, collapse=True).source
    boxes = [line.split("label=")[1].split()[0] for line in source.splitlines() if line.strip().startswith("group")
             and "label=" in line]  # fmt: skip
    assert boxes == ["linear", "relu", "linear", "relu", "linear", "cross_entropy"]
    for name in ("W1", "b1", "W2", "b2", "W3", "b3"):
        assert f'label="{name}\\n' in source, name
    assert "getitem" not in source and "matmul" not in source


def test_the_classifier_graph_still_collapses_to_linear_softmax_loss():
    model = SoftmaxClassifier(4, 3, seed=0, init_scale=0.1)
    a = F.softmax(model(np.array([3.0, 4.0, 7.0, 7.0])))
    loss = F.categorical_crossentropy(F.one_hot(1, 3), a)
    source = viz.to_dot(loss, collapse=True).source
    for box in ("label=linear", "label=softmax", "label=categorical_crossentropy"):
        assert box in source
    assert "getitem[:, :-1]" in viz.to_dot(loss).source


# ------------------------------------------------------------------ the classifier as a Module


def test_the_classifier_keeps_its_weights_and_init():
    model = SoftmaxClassifier(4, 3, seed=5)
    np.testing.assert_array_equal(model.W.data, np.random.default_rng(5).standard_normal((3, 5)) * 0.01)
    assert model.W is model.linear.weight and model.W.name == "W"
    assert model.parameters() == [model.W] and list(model.state_dict()) == ["linear.weight"]
    assert isinstance(model, nn.Classifier) and isinstance(model, Module)
    with pytest.raises(ValueError, match=r"SoftmaxClassifier: expected input of shape \(4,\) or \(n, 4\)"):
        model(np.ones(3))


# ------------------------------------------------------------------ MLP


def test_mlp_layers_names_and_validation():
    model = MLP(4, (32, 16), 3, seed=0)
    assert model.layer_sizes == [4, 32, 16, 3] and model.hidden == (32, 16)
    assert model.num_features == 4 and model.num_classes == 3 and model.activation == "relu"
    assert [type(layer).__name__ for layer in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [p.name for p in model.parameters()] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert model.predict(np.ones((2, 4))).shape == (2,) and model.predict_proba(np.ones(4)).shape == (3,)
    np.testing.assert_array_equal(MLP(4, (32, 16), 3, seed=0)[2].weight.data, model[2].weight.data)
    assert isinstance(MLP(4, (), 3, seed=0)[0], Linear) and len(MLP(4, (), 3)) == 1
    assert isinstance(MLP(4, (8,), 3, activation="sigmoid")[1], Sigmoid)
    with pytest.raises(ValueError, match="activation must be one of relu, tanh, sigmoid"):
        MLP(4, (8,), 3, activation="gelu")
    with pytest.raises(ValueError, match="positive layer sizes"):
        MLP(4, (8, 0), 3)
    with pytest.raises(ValueError, match=r"MLP: expected input of shape \(4,\) or \(n, 4\), got \(2, 5\)"):
        model(np.ones((2, 5)))


def test_an_mlp_learns_two_moons_which_no_line_separates():
    X, y = make_moons(200, noise=0.15, seed=0)
    linear = SoftmaxClassifier(2, 2, seed=0)
    fit(linear, X, y, epochs=60, lr=0.05, batch_size=32, optimizer="adam", seed=0, progress=False)
    model = MLP(2, (16,), 2, seed=0)
    history = fit(model, X, y, epochs=60, lr=0.05, batch_size=32, optimizer="adam", seed=0, progress=False)
    accuracy = float(np.mean(model.predict(X) == y))
    assert accuracy >= 0.97 and history["accuracy"][-1] == accuracy
    assert np.mean(linear.predict(X) == y) < 0.92, "the data set must really need the hidden layer"
    assert model.training, "fit leaves the model in train mode"


def test_an_mlp_on_iris_does_at_least_as_well_as_the_softmax_classifier():
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, seed=0)  # as `train` does
    accuracies = {}
    for name, model in (("classifier", SoftmaxClassifier(4, 3, seed=0)), ("mlp", MLP(4, (32, 16), 3, seed=0))):
        fit(model, X_train, y_train, epochs=50, lr=0.02, batch_size=16, optimizer="adam", seed=0, progress=False)
        accuracies[name] = (np.mean(model.predict(X_test) == y_test), np.mean(model.predict(X_train) == y_train))
    assert accuracies["mlp"][0] >= accuracies["classifier"][0] >= 0.9, accuracies
    assert accuracies["mlp"][1] >= accuracies["classifier"][1], accuracies


def test_fit_trains_any_module_that_gives_logits():
    X, y = make_moons(60, seed=1)
    model = Sequential(Linear(2, 8, seed=0), Tanh(), Linear(8, 2, seed=1))
    history = fit(model, X, y, epochs=30, lr=0.05, batch_size=8, optimizer="adam", seed=0, progress=False)
    assert history["loss"][-1] < history["loss"][0] and history["accuracy"][-1] > 0.8
    with pytest.raises(ValueError, match="ReLU has no parameters"):
        fit(ReLU(), X, y, epochs=1, lr=0.1, progress=False)


def test_fit_trains_a_float32_mlp_in_float32():
    X, y = make_moons(40, seed=2)
    model = MLP(2, (4,), 2, seed=0, dtype=np.float32)
    fit(model, X, y, epochs=2, lr=0.01, batch_size=8, seed=0, progress=False)
    assert all(p.dtype == np.float32 for p in model.parameters())
