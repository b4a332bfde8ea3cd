"""The MLP and the optimizers against PyTorch: same initial weights, same data, 20 steps, weights equal to 1e-10.

Momentum and weight decay follow torch's definitions (``torch.optim.SGD``, ``torch.optim.Adam``), so the
two libraries must stay together step after step, not only after one update.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_nn_modules import make_moons  # tests/ is on sys.path: pytest puts it there

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F
from tinygrad_softmax.nn import MLP
from tinygrad_softmax.optim import SGD, Adam

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny ops on several threads of a busy machine spin for ~50 ms a step; one thread takes 1 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

STEPS = 20
OPTIMIZERS = {
    "sgd": (SGD, "SGD", {"lr": 0.1}),
    "sgd-momentum-weight-decay": (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    "adam": (Adam, "Adam", {"lr": 0.01}),
    "adam-weight-decay": (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
}


def torch_twin(model: MLP, activation: type) -> torch.nn.Sequential:
    """A torch.nn.Sequential of the same layers, loaded with the same weights through the state dict's names."""
    layers = []
    for fan_in, fan_out in zip(model.layer_sizes, model.layer_sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out, dtype=torch.float64), activation()]
    twin = torch.nn.Sequential(*layers[:-1])
    twin.load_state_dict({name: torch.from_numpy(array) for name, array in model.state_dict().items()})
    return twin


def max_difference(model: MLP, twin: torch.nn.Sequential) -> float:
    theirs = {name: p.detach().numpy() for name, p in twin.named_parameters()}
    return max(float(np.abs(array - theirs[name]).max()) for name, array in model.state_dict().items())


@pytest.mark.parametrize("case", list(OPTIMIZERS))
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_two_layer_mlp_follows_pytorch_for_20_steps(case, activation):
    ours_class, torch_name, options = OPTIMIZERS[case]
    X, y = make_moons(64, seed=3)
    model = MLP(2, (16,), 2, activation=activation, seed=0)
    twin = torch_twin(model, {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation])
    assert max_difference(model, twin) == 0.0
    optimizer = ours_class(model.parameters(), **options)
    reference = getattr(torch.optim, torch_name)(twin.parameters(), **options)
    X_torch, y_torch = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(STEPS):
        batch = slice(16 * (step % 4), 16 * (step % 4 + 1))  # mini-batches: every step sees other data
        optimizer.zero_grad()
        F.cross_entropy(model(X[batch]), y[batch]).backward()
        optimizer.step()
        reference.zero_grad()
        torch.nn.functional.cross_entropy(twin(X_torch[batch]), y_torch[batch]).backward()
        reference.step()
    assert max_difference(model, twin) <= 1e-10
    assert max_difference(model, torch_twin(MLP(2, (16,), 2, seed=0), torch.nn.ReLU)) > 1e-3, "the weights moved"


@pytest.mark.parametrize("case", list(OPTIMIZERS))
def test_the_optimizers_follow_pytorch_on_a_parameter_without_a_gradient_some_steps(case):
    """A parameter left out of a loss is skipped, and Adam counts its steps per parameter, as torch does."""
    ours_class, torch_name, options = OPTIMIZERS[case]
    start = [np.array([[0.5, -0.4], [0.2, 0.1]]), np.array([1.0, -0.3])]
    ours = [Tensor(value, requires_grad=True) for value in start]
    theirs = [torch.tensor(value, requires_grad=True) for value in start]
    optimizer = ours_class(ours, **options)
    reference = getattr(torch.optim, torch_name)(theirs, **options)
    for step in range(6):
        for params, opt, exp in ((ours, optimizer, lambda t: t.exp()), (theirs, reference, torch.exp)):
            opt.zero_grad()
            loss = exp(params[0] * params[0]).sum()
            if step % 2:
                loss = loss + (params[1] * params[1] * 3.0).sum()
            loss.backward()
            opt.step()
    for mine, reference_value in zip(ours, theirs):
        assert np.all(np.isfinite(mine.data))
        np.testing.assert_allclose(mine.data, reference_value.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_optimizers_refuse_bad_weight_decay_and_duplicate_parameters():
    p = Tensor([1.0], requires_grad=True)
    for cls in (SGD, Adam):
        for bad in (-0.1, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="weight_decay must be a number >= 0"):
                cls([p], lr=0.1, weight_decay=bad)
        with pytest.raises(ValueError, match="parameter 1 is parameter 0 again"):
            cls([p, p], lr=0.1)
