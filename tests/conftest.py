"""Shared fixtures for the engine tests."""

import numpy as np
import pytest

from tinygrad_softmax import is_grad_enabled


@pytest.fixture
def rng():
    """A fresh, fixed-seed generator per test, so tests never depend on each other's draws."""
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _grad_mode_is_restored():
    """Every test must leave gradient recording switched on (no leaked no_grad state)."""
    assert is_grad_enabled()
    yield
    assert is_grad_enabled(), "a test left no_grad switched on"
