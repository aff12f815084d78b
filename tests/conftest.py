"""Shared fixtures: a fixed seed for every test, ``dtype`` with its tolerances, ``backend``, ``threads``.

``make test`` runs the whole suite twice (compiled kernels, then ``MINIGRAD_KERNELS=numpy``), so only
kernel-specific tests need the ``backend`` fixture, which switches in-process.
"""
import numpy as np
import pytest

import minigrad
from minigrad import _ops

# Tolerances for comparing minigrad against an oracle (PyTorch or float64 math) in each dtype.
# float32: a few ulps of the values plus reduction-order differences; float64: near round-off.
TOLERANCES = {
    np.dtype(np.float32): {"rtol": 2e-5, "atol": 5e-6},
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-12},
}


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same minigrad generator state, whatever ran before it."""
    minigrad.manual_seed(0)
    yield


@pytest.fixture
def rng():
    """A numpy generator for test data, independent of minigrad's own generator."""
    return np.random.default_rng(1234)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def tol(dtype):
    """``dict(rtol=..., atol=...)`` for the current ``dtype``, ready for ``assert_allclose(**tol)``."""
    return TOLERANCES[dtype]


@pytest.fixture(params=["compiled", "numpy"])
def backend(request):
    """Run the test once on the compiled kernels and once on their numpy twins."""
    with _ops.use_backend(request.param):
        yield request.param


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = _ops.get_num_threads()
    _ops.set_num_threads(request.param)
    yield request.param
    _ops.set_num_threads(before)


@pytest.fixture
def both():
    """``both(fn, *args)`` → (result on the compiled kernels, result on their numpy twins)."""
    def run(fn, *args, **kwargs):
        with _ops.use_backend("compiled"):
            got = fn(*args, **kwargs)
        with _ops.use_backend("numpy"):
            want = fn(*args, **kwargs)
        return got, want
    return run
