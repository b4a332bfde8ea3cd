"""Shared fixtures for the engine tests."""

import os

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


# Hypothesis: a quick default for every run (CI), and a thorough profile for hardening sessions:
#   pytest --hypothesis-profile=long      or      TINYGRAD_SOFTMAX_HYPOTHESIS=long pytest
from hypothesis import settings  # noqa: E402

settings.register_profile("default", max_examples=40, deadline=None, derandomize=True, database=None)
settings.register_profile("long", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("TINYGRAD_SOFTMAX_HYPOTHESIS", "default"))
