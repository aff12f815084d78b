"""GEMM front: picks the ISA-specific GEMM module the CPU can run, once, at import.

Built with baseline flags, so it imports everywhere. The kernels live in gemm_generic (baseline
x86-64), gemm_avx2 (AVX2 + FMA) and gemm_avx512 (AVX-512), all compiled from gemm_kernel.pxi
with different flags; a module is imported only when ``cpu_features()`` lists its ISA, so an
AVX-512 build never executes (or even loads) on an AVX2-only CPU.

Choice: the best ISA the CPU supports, or MINIGRAD_GEMM_ISA=generic|avx2|avx512 (an ISA the CPU
lacks is an error), or ``set_isa(name)`` at run time (tests use it to cover every path).
``gemm``/``matmul`` here forward to the active module; data layout, loop order, threading and
dtypes are described in gemm_kernel.pxi.
"""
import importlib
import os

from minigrad._ops.cpu import cpu_features

ISAS = ("generic", "avx2", "avx512")  # worst to best

_active = None


def available_isas():
    """The GEMM paths this CPU can run and that were built, worst to best."""
    out = []
    for isa in cpu_features():
        try:
            importlib.import_module(f"minigrad._ops.gemm_{isa}")
        except ImportError:  # the compiler could not target it: not built
            continue
        out.append(isa)
    return out


def set_isa(name):
    """Use the GEMM path ``name`` ('generic', 'avx2', 'avx512') from now on."""
    global _active
    if name not in ISAS:
        raise ValueError(f"set_isa: expected one of {ISAS}, got {name!r}")
    if name not in cpu_features():
        raise ValueError(f"set_isa: this CPU cannot run the {name!r} path (it has {cpu_features()})")
    _active = importlib.import_module(f"minigrad._ops.gemm_{name}")


def active_isa():
    """Name of the GEMM path in use, e.g. 'avx2'."""
    return _active.ISA


def gemm(a, b, double alpha=1.0, double beta=0.0, out=None):
    """C = alpha * a @ b + beta * out; see gemm_kernel.pxi."""
    return _active.gemm(a, b, alpha, beta, out)


def matmul(a, b, out=None):
    """Batched a @ b with broadcast leading dims, optionally into out; see gemm_kernel.pxi."""
    return _active.matmul(a, b, out)


try:
    set_isa(os.environ.get("MINIGRAD_GEMM_ISA") or max(available_isas(), key=ISAS.index))
except ValueError as e:  # an ISA this CPU lacks: the kernels are unusable, like a missing build
    raise ImportError(f"MINIGRAD_GEMM_ISA: {e}") from None
