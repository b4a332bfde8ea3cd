"""The classifier, the optimizers and fit(): shapes, the bias column, and equality with hand-written numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_softmax import Tensor
from tinygrad_softmax import functional as F
from tinygrad_softmax.datasets import load_iris, make_seed_data, train_test_split
from tinygrad_softmax.nn import SoftmaxClassifier, fit
from tinygrad_softmax.optim import SGD, Adam


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_classifier_shapes_and_bias_is_last_column():
    model = SoftmaxClassifier(4, 3, seed=0)
    assert model.W.shape == (3, 5) and model.W.requires_grad and model.W.is_leaf
    assert model.parameters() == [model.W]
    x = np.array([3.0, 4.0, 7.0, 7.0])
    W = model.W.data
    np.testing.assert_allclose(model(x).data, W @ np.append(x, 1.0), rtol=1e-14)
    X = np.random.default_rng(1).standard_normal((6, 4))
    logits = model(X)
    assert logits.shape == (6, 3)
    np.testing.assert_allclose(logits.data, np.hstack([X, np.ones((6, 1))]) @ W.T, rtol=1e-13)
    assert model(Tensor(x)).shape == (3,)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, np_softmax(logits.data), rtol=1e-13)
    np.testing.assert_array_equal(model.predict(X), logits.data.argmax(axis=1))
    with pytest.raises(ValueError, match=r"expected input of shape \(4,\) or \(n, 4\), got \(5,\)"):
        model(np.ones(5))


def test_classifier_gradient_is_closed_form_for_sample_and_batch():
    model = SoftmaxClassifier(4, 3, seed=3, init_scale=1.0)
    X, y = make_seed_data(seed=2)
    x_bias = np.append(X[0], 1.0)
    F.cross_entropy(model(X[0]), y[0]).backward()
    a = np_softmax(model.W.data @ x_bias)
    np.testing.assert_allclose(model.W.grad, np.outer(a - F.one_hot(y[0], 3), x_bias), atol=1e-12, rtol=0)
    model.W.zero_grad()
    F.cross_entropy(model(X), y).backward()
    X_bias = np.hstack([X, np.ones((len(X), 1))])
    A = np_softmax(X_bias @ model.W.data.T)
    np.testing.assert_allclose(model.W.grad, (A - F.one_hot(y, 3)).T @ X_bias / len(X), atol=1e-12, rtol=0)


def test_sgd_equals_hand_written_numpy_over_the_notebook_loop():
    X, y = make_seed_data(seed=4)
    model = SoftmaxClassifier(4, 3, seed=5, init_scale=1.0)
    W = model.W.data.copy()
    opt = SGD(model.parameters(), lr=0.1)
    for i in range(len(X)):
        opt.zero_grad()
        F.cross_entropy(model(X[i]), y[i]).backward()
        opt.step()
        x_bias = np.append(X[i], 1.0)
        grad = np.outer(np_softmax(W @ x_bias) - F.one_hot(y[i], 3), x_bias)
        W -= 0.1 * grad
        np.testing.assert_allclose(model.W.data, W, rtol=0, atol=1e-13)
    assert model.W.is_leaf and model.W.op is None


def test_sgd_momentum_matches_the_recurrence():
    p = Tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.5, momentum=0.9)
    velocity, value = np.zeros(2), np.array([1.0, -2.0])
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        velocity = 0.9 * velocity + 2 * value
        value = value - 0.5 * velocity
        np.testing.assert_allclose(p.data, value, rtol=1e-14)


def test_adam_matches_pytorch():
    torch = pytest.importorskip("torch")
    start = np.array([[0.5, -1.5, 2.0], [1.0, 0.0, -0.3]])
    ours = Tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    opt, ref = Adam([ours], lr=0.1), torch.optim.Adam([theirs], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        ((ours * ours).exp().sum()).backward()
        opt.step()
        ref.zero_grad()
        (theirs * theirs).exp().sum().backward()
        ref.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_optimizers_validate_their_arguments():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="leaf Tensor with requires_grad=True"):
        SGD([Tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=1.5)


def test_fit_on_iris_learns_and_reports_history():
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, seed=0)
    model = SoftmaxClassifier(4, 3, seed=0)
    history = fit(model, X_train, y_train, epochs=30, lr=0.05, batch_size=8, seed=0, progress=False)
    assert len(history["loss"]) == 30 and len(history["accuracy"]) == 30
    assert history["loss"][-1] < history["loss"][0] / 2
    assert np.mean(model.predict(X_test) == y_test) >= 0.9


def test_fit_is_reproducible_and_trains_in_float32():
    X, y = make_seed_data(num_samples=20, seed=1)
    runs = []
    for _ in range(2):
        model = SoftmaxClassifier(4, 3, seed=2, dtype=np.float32)
        fit(model, X, y, epochs=3, lr=0.01, seed=7, progress=False, optimizer="adam")
        runs.append(model.W.data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].dtype == np.float32


def test_fit_validates_arguments():
    model = SoftmaxClassifier(4, 3)
    X, y = make_seed_data()
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit(model, X, y, epochs=0, lr=0.1, progress=False)
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam'"):
        fit(model, X, y, epochs=1, lr=0.1, optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match=r"X of shape \(n, features\)"):
        fit(model, X, y[:3], epochs=1, lr=0.1, progress=False)


def test_fit_progress_fallback_prints_a_line_per_epoch(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = make_seed_data(seed=0)
    fit(SoftmaxClassifier(4, 3, seed=0), X, y, epochs=2, lr=0.01, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err


def test_sgd_weight_decay_and_momentum_match_torchs_recurrence_without_torch():
    """g = grad + wd * p; v = momentum * v + g (v = g first); p -= lr * v: torch.optim.SGD's definition."""
    p = Tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    velocity, value = None, np.array([1.0, -2.0])
    for _ in range(4):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        g = 2 * value + 0.5 * value
        velocity = g if velocity is None else 0.9 * velocity + g
        value = value - 0.1 * velocity
        np.testing.assert_allclose(p.data, value, rtol=1e-14)


def test_adam_counts_steps_per_parameter():
    """A parameter without a gradient is skipped, and its bias correction starts when its first gradient comes."""
    first, late = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = Adam([first, late], lr=0.1)
    (first * first).sum().backward()
    opt.step()
    assert late.data[0] == 1.0
    opt.zero_grad()
    ((first * first) + (late * late)).sum().backward()
    opt.step()
    # the first step of any parameter moves it by lr (times sign(grad)), whatever the step count of the others
    np.testing.assert_allclose(late.data, [0.9], rtol=1e-7)


def test_the_optimizers_take_any_modules_parameters():
    from tinygrad_softmax.nn import MLP

    model = MLP(4, (5,), 3, seed=0)
    X, y = make_seed_data(num_samples=8, seed=0)
    for opt in (SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3),
                Adam(model.parameters(), lr=0.01, weight_decay=1e-3)):  # fmt: skip
        before = model.state_dict()
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
        assert all(not np.array_equal(before[name], array) for name, array in model.state_dict().items())
