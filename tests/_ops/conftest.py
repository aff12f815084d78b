"""Fixtures shared by the kernel tests: ``compiled_backend``, ``isa`` (per the module's
``ISA_FAMILY``) and ``gelu_bounds``."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import minigrad._ops as ops


@pytest.fixture
def compiled_backend():
    """The doors on the compiled kernels; the oracle's BLAS on one thread, so it does not fight ours
    for the cores; the kernels' thread count restored afterwards."""
    saved_threads = ops.get_num_threads()
    with ops.use_backend("compiled"), threadpool_limits(limits=1, user_api="blas"):
        yield
    ops.set_num_threads(saved_threads)


def pytest_generate_tests(metafunc):
    """A test taking ``isa`` runs once per ISA build this CPU runs of its module's ``ISA_FAMILY``."""
    if "isa" in metafunc.fixturenames:
        family = getattr(metafunc.module, "ISA_FAMILY", None)
        if family is None:
            raise pytest.UsageError(f"{metafunc.module.__name__}: a test takes `isa`, so the module must set "
                                    "ISA_FAMILY (the kernel family, e.g. \"gemm\")")
        metafunc.parametrize("isa", ops.available_isas(family), indirect=True)


@pytest.fixture
def isa(request):
    """The ISA build ``request.param`` of every family, for the test's duration."""
    with ops.use_isa(request.param):
        yield request.param


def _gelu_bounds(x, y, grad_out=None, grad_x=None):
    """Elementwise bounds on |compiled − reference| for GELU's forward y and backward grad_x.

    The two implementations evaluate the same float64 formula, but not with the same exp: the kernel
    calls the C library's, the numpy twin np.exp, which numpy dispatches by CPU (on AVX-512 CPUs its
    own SIMD exp, up to 1 ulp from the C library's; on AVX2 the C library's). So the contract is an
    error bound, not bitwise equality: a few float64 ulps of the terms of x·Φ(x) and of
    grad_out·(Φ(x) + x·φ(x)) (Φ ≤ 1, so |x| and |grad_out|·(1 + |x·φ|) bound them), then one
    rounding to the dtype that may go either way (an ulp of the result), plus the subnormal spacing.
    """
    eps64, info = np.finfo(np.float64).eps, np.finfo(x.dtype)
    x64 = np.abs(x.astype(np.float64))
    tiny = float(info.smallest_subnormal)
    with np.errstate(over="ignore", invalid="ignore"):
        fwd = 4 * eps64 * x64 + float(info.eps) * np.abs(y.astype(np.float64)) + tiny
        if grad_out is None:
            return fwd
        x_pdf = x64 * np.exp(-0.5 * x64 * x64) / np.sqrt(2 * np.pi)
        g64 = np.abs(grad_out.astype(np.float64))
        bwd = 4 * eps64 * g64 * (1 + x_pdf) + float(info.eps) * np.abs(grad_x.astype(np.float64)) + tiny
    return fwd, bwd


@pytest.fixture(scope="session")
def gelu_bounds():
    """``gelu_bounds(x, y[, grad_out, grad_x])``: see ``_gelu_bounds`` (a pure function: one per session)."""
    return _gelu_bounds
