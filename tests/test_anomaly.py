"""detect_anomaly: the first nan/inf, named with its op, its inputs and the user's line."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

from tinygrad_softmax import Tensor, detect_anomaly, is_grad_enabled
from tinygrad_softmax import functional as F


def this_line() -> int:
    return sys._getframe(1).f_lineno


def test_forward_nan_names_op_inputs_and_user_line():
    x = Tensor([-1.0, 1.0], requires_grad=True, name="x")
    with detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError) as info:
            line = this_line() + 1
            x.log()
    message = str(info.value)
    assert "forward of log produced nan" in message and "x (2,)" in message
    assert f"{__file__}:{line}" in message


def test_backward_inf_names_op_and_where_it_was_created():
    x = Tensor([0.0, 4.0], requires_grad=True, name="x")
    with detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        line = this_line() + 1
        root = x**0.5
        with pytest.raises(FloatingPointError) as info:
            root.sum().backward()
    message = str(info.value)
    assert "backward of pow returned inf in the gradient for input 0 (x (2,))" in message
    assert f"{__file__}:{line}" in message


def test_off_by_default_and_restored_after_an_exception():
    x = Tensor([0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(x.log().data).all()  # no anomaly check outside the block
        with pytest.raises(KeyError), detect_anomaly():
            raise KeyError("boom")
        assert np.isinf(x.log().data).all()
    assert is_grad_enabled()


def test_finite_training_step_is_unchanged_under_detect_anomaly():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, -3.0]])
    plain = Tensor(logits, requires_grad=True)
    F.cross_entropy(plain, np.array([0, 2])).backward()
    checked = Tensor(logits, requires_grad=True)
    with detect_anomaly():
        F.cross_entropy(checked, np.array([0, 2])).backward()
    np.testing.assert_array_equal(plain.grad, checked.grad)


def test_anomaly_mode_is_per_thread():
    inside, done = threading.Event(), threading.Event()
    outcome = {}

    def checking():
        with detect_anomaly():
            inside.set()
            done.wait(5)

    def other():
        assert inside.wait(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            outcome["value"] = Tensor([0.0], requires_grad=True).log().data[0]  # no exception here
        done.set()

    threads = [threading.Thread(target=checking), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome.get("value") == -np.inf  # missing if the other thread's wait timed out


def test_environment_variable_turns_it_on():
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from tinygrad_softmax import Tensor\n"
        "try:\n"
        "    Tensor([0.0], requires_grad=True, name='z').log()\n"
        "except FloatingPointError as e:\n"
        "    print('caught', e)\n"
    )
    env = {"TINYGRAD_SOFTMAX_ANOMALY": "1", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "caught anomaly: forward of log produced inf" in result.stdout, result.stderr
