"""Shared fixtures. Course modules are imported with dl4cv.testing.course_module so that the
three `cs231n` packages (and the EECS flat modules) never shadow one another."""
import os

import numpy as np
import pytest

os.environ.setdefault("DL4CV_SMOKE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per xdist worker: the workers already use every core.
    import torch
    torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_everything():
    from dl4cv.seeding import seed_everything
    seed_everything(0)
    yield
