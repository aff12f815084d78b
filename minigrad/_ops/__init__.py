"""The only door to the kernels: ndarray in, ndarray out; knows nothing of Tensor or autograd.

Each public function here validates its arrays (dtype, shape, contiguity) in Python, then calls the
selected implementation: the compiled Cython kernel, or its numpy twin in ``reference.py`` (same
name, same signature). Compiled code is therefore only ever entered with arrays it can handle.

Backend selection: ``MINIGRAD_KERNELS=compiled`` (default) or ``numpy``. If the extension is missing,
the default falls back to numpy with a warning; an explicit ``compiled`` raises ImportError.
"""
import contextlib
import importlib
import os
import warnings

import numpy as np

from . import reference

# Compiled modules; each defines a subset of ``reference.__all__`` under the same names.
COMPILED_MODULES = ("elementwise",)
FLOAT_DTYPES = (np.float32, np.float64)


def _load_compiled():
    kernels, errors = {}, []
    for mod in COMPILED_MODULES:
        try:
            m = importlib.import_module(f"{__name__}.{mod}")
        except ImportError as e:
            errors.append(f"{mod}: {e}")
            continue
        kernels.update({k: getattr(m, k) for k in reference.__all__ if hasattr(m, k)})
    return kernels, errors


try:
    from . import cpu as _cpu
except ImportError:  # not built: single-threaded reference kernels only
    _cpu = None
_compiled, _compile_errors = _load_compiled() if _cpu is not None else ({}, ["cpu: not built"])


def _select(name):
    if name not in ("compiled", "numpy"):
        raise ValueError(f"MINIGRAD_KERNELS must be 'compiled' or 'numpy', got {name!r}")
    if name == "compiled" and _compile_errors:
        raise ImportError(
            "minigrad's compiled kernels are not built ("
            + "; ".join(_compile_errors)
            + "). Run `pip install -e .` (or `make build`), or set MINIGRAD_KERNELS=numpy."
        )
    impl = {k: getattr(reference, k) for k in reference.__all__}
    if name == "compiled":
        impl.update(_compiled)
    return impl


_requested = os.environ.get("MINIGRAD_KERNELS", "")
if _requested == "" and _compile_errors:
    warnings.warn(
        "minigrad: compiled kernels unavailable, using the numpy reference kernels ("
        + "; ".join(_compile_errors) + ")",
        RuntimeWarning,
        stacklevel=2,
    )
    _requested = "numpy"
backend = _requested or "compiled"
_impl = _select(backend)


def get_backend():
    """'compiled' or 'numpy': which implementation the kernels below call."""
    return backend


@contextlib.contextmanager
def use_backend(name):
    """Temporarily switch every kernel to the 'compiled' or 'numpy' implementation (for tests)."""
    global backend, _impl
    saved = backend, _impl
    _impl, backend = _select(name), name
    try:
        yield
    finally:
        backend, _impl = saved


# ---------------------------------------------------------------- threads

def _default_threads():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def set_num_threads(n):
    """Number of threads the compiled kernels use (like ``torch.set_num_threads``)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if _cpu is not None:
        _cpu.set_num_threads(int(n))


def get_num_threads():
    return _cpu.get_num_threads() if _cpu is not None else 1


def openmp_enabled():
    return _cpu is not None and _cpu.openmp_enabled()


def cpu_features():
    return _cpu.cpu_features() if _cpu is not None else ["generic"]


set_num_threads(int(os.environ.get("MINIGRAD_NUM_THREADS", 0)) or _default_threads())


# ---------------------------------------------------------------- validation

def check_float(name, x):
    """``x`` as a C-contiguous float32/float64 ndarray, or a TypeError naming ``name``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {x.dtype}")
    return np.ascontiguousarray(x)


def check_same(name, x, ref_name, ref):
    """``x`` validated like ``ref``: same dtype and shape, or an error naming both."""
    x = check_float(name, x)
    if x.dtype != ref.dtype:
        raise TypeError(f"{name}: expected dtype {ref.dtype} (the dtype of {ref_name}), got {x.dtype}")
    if x.shape != ref.shape:
        raise ValueError(f"{name}: expected shape {ref.shape} (the shape of {ref_name}), got {x.shape}")
    return x


# ---------------------------------------------------------------- elementwise

def relu_forward(x):
    x = check_float("x", x)
    return _impl["relu_forward"](x)


def relu_backward(grad_out, x):
    x = check_float("x", x)
    grad_out = check_same("grad_out", grad_out, "x", x)
    return _impl["relu_backward"](grad_out, x)


# ---------------------------------------------------------------- GEMM

def gemm(a, b, alpha=1.0, beta=0.0, out=None):
    """C = α·A·B + β·out. A (M, K) and B (K, N) may be transposed views: no copy is made for them."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError("gemm: a and b must be numpy.ndarray")
    if a.dtype not in FLOAT_DTYPES or a.dtype != b.dtype:
        raise TypeError(f"gemm: expected a and b of the same float dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: shapes {a.shape} and {b.shape} cannot be multiplied (expected (M, K) and (K, N))")
    if out is not None:
        out = check_float("out", out)
        if out.shape != (a.shape[0], b.shape[1]) or out.dtype != a.dtype:
            raise ValueError(f"gemm: out must be {a.dtype} of shape {(a.shape[0], b.shape[1])}, got {out.dtype} {out.shape}")
    return _impl["gemm"](a, b, alpha, beta, out)


def matmul(a, b):
    """Batched A @ B: (..., M, K) @ (..., K, N) with the leading dims broadcast, like numpy."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError("matmul: a and b must be numpy.ndarray")
    if a.dtype not in FLOAT_DTYPES or a.dtype != b.dtype:
        raise TypeError(f"matmul: expected a and b of the same float dtype, got {a.dtype} and {b.dtype}")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied")
    if a.ndim == 2 and b.ndim == 2:
        return _impl["gemm"](a, b, 1.0, 0.0, None)
    return _impl["matmul"](a, b)
