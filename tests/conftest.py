"""Shared fixtures for the engine tests."""

import os

import numpy as np
import pytest

from tinygrad_softmax import is_grad_enabled

# The engine and functional tests: what .ci/run also runs on every other Python and on the
# oldest numpy pyproject.toml admits, and what mutation testing of the engine runs (-m engine).
ENGINE_TEST_FILES = {
    "test_anomaly.py", "test_apply_paths.py", "test_backward.py", "test_backward_trust.py",
    "test_broadcast_properties.py", "test_dtypes.py", "test_edge_cases.py", "test_function_api.py",
    "test_functional.py", "test_functional_trust.py", "test_grad_api.py", "test_grad_mode.py",
    "test_gradcheck.py", "test_inplace.py", "test_numpy_dispatch.py", "test_ops.py", "test_ops_edges.py",
    "test_ops_more.py", "test_overhead.py", "test_properties.py", "test_tensor.py",
    "test_engine_mutants.py",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "engine: an engine or functional test (see ENGINE_TEST_FILES)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in ENGINE_TEST_FILES:
            item.add_marker(pytest.mark.engine)


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
