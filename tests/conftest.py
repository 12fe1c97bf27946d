"""Shared fixtures. Course modules are imported with dl4cv_tools.testing.course_module so that the
three `cs231n` packages (and the EECS flat modules) never shadow one another."""
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("DL4CV_SMOKE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# One torch thread per test process: the tests use small tensors, where intra-op threads only
# add synchronisation, and under xdist the workers already use every core.
torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reference(assignment, *functions): the test compares these student functions "
        "(\"<path in the assignment>::<qualname>\") with an independent reference; read statically "
        "by dl4cv_tools.verification for the README's verification table")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_everything():
    from dl4cv.seeding import seed_everything
    seed_everything(0)
    yield
