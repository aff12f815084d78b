"""Fixtures shared by the kernel tests: ``compiled_backend``, ``isa`` (per the module's
``ISA_FAMILY``), ``gelu_bounds`` and ``gelu_float32_ulps``."""
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


# The float32 GELU kernels' accuracy contract (vecmath.pxi's mg_gelu_f32 and mg_gelu_grad_f32): the
# forward within this many ulps of x·Φ(x), the backward within this many ulps of the larger of its
# terms Φ(x) and |x·φ(x)| (where they cancel, near x = −0.75, no relative bound holds). Measured on
# 2.25·10⁶ points per build: at most 6.1 and 3.2 (7.7 and 4.2 in the generic build, without FMA).
GELU_FLOAT32_ULPS = {"forward": 10, "backward": 6}


def _gelu_bounds(x, y, grad_out=None, grad_x=None):
    """Elementwise bounds on |compiled − reference| for GELU's forward y and backward grad_x.

    The reference evaluates x·Φ(x) and grad_out·(Φ(x) + x·φ(x)) in float64 with (1 + erf)/2, whose
    sum cancels to an absolute error of a few float64 ulps of the terms as x → −∞ (Φ ≤ 1, so |x| and
    |grad_out|·(1 + |x·φ|) bound them), then rounds once to the dtype. The float64 kernels evaluate
    the same formula with the C library's erf and exp (numpy's exp differs by CPU: on AVX-512 CPUs
    its own SIMD exp, up to 1 ulp from the C library's), so an ulp of the result on top; the float32
    kernels have their own Φ, within GELU_FLOAT32_ULPS of exact (eps·|v| is 1 to 2 ulps of v). Plus
    as many subnormal spacings (the results run down into the float32 subnormals).
    """
    eps64, info = np.finfo(np.float64).eps, np.finfo(x.dtype)
    ulps = GELU_FLOAT32_ULPS if x.dtype == np.float32 else {"forward": 1, "backward": 1}
    x64 = np.abs(x.astype(np.float64))
    tiny = float(info.smallest_subnormal)
    with np.errstate(over="ignore", invalid="ignore"):
        y64 = np.abs(y.astype(np.float64))
        fwd = 4 * eps64 * x64 + ulps["forward"] * (float(info.eps) * y64 + tiny)
        if grad_out is None:
            return fwd
        x_pdf = x64 * np.exp(-0.5 * x64 * x64) / np.sqrt(2 * np.pi)
        g64 = np.abs(grad_out.astype(np.float64))
        # |grad_out·Φ| ≤ |grad_x| + |grad_out·x·φ|: the larger term is at most their sum
        larger = np.abs(grad_x.astype(np.float64)) + g64 * x_pdf
        bwd = 4 * eps64 * g64 * (1 + x_pdf) + ulps["backward"] * (float(info.eps) * larger + tiny)
    return fwd, bwd


@pytest.fixture(scope="session")
def gelu_bounds():
    """``gelu_bounds(x, y[, grad_out, grad_x])``: see ``_gelu_bounds`` (a pure function: one per session)."""
    return _gelu_bounds


@pytest.fixture(scope="session")
def gelu_float32_ulps():
    """GELU_FLOAT32_ULPS: the float32 GELU kernels' accuracy contract."""
    return GELU_FLOAT32_ULPS
