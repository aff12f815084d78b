"""Elementwise kernels: ReLU forward and backward.

Layout: any shape, C-contiguous; treated as one flat array of n elements. Loop: one pass, parallel
over element blocks with ``prange`` when the array is large enough to repay waking the threads.
Dtypes: float32 and float64 through the fused type ``floating``.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from minigrad._ops.cpu cimport num_threads

cdef enum:
    PARALLEL_MIN = 1 << 16  # below this, thread start-up costs more than the loop


cdef inline int _threads_for(Py_ssize_t n) noexcept nogil:
    return num_threads() if n >= PARALLEL_MIN else 1


def _relu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n)):
            out[i] = 0 if x[i] <= 0 else x[i]  # NaN propagates, like torch


def _relu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating g
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n)):
            # Load grad_out unconditionally: a select instead of a branch lets the compiler vectorize
            # (with the load inside the condition it branched, ~30x slower on random signs).
            g = grad_out[i]
            grad_x[i] = 0 if x[i] <= 0 else g  # NaN passes the gradient, like torch


def relu_forward(x):
    """y = max(x, 0). ``x``: C-contiguous float32/float64 array of any shape."""
    out = np.empty_like(x)
    _relu_forward(x.reshape(-1), out.reshape(-1))
    return out


def relu_backward(grad_out, x):
    """grad_x = 0 where x ≤ 0, else grad_out (PyTorch's convention: 0 at x == 0, passed at NaN)."""
    grad_x = np.empty_like(x)
    _relu_backward(grad_out.reshape(-1), x.reshape(-1), grad_x.reshape(-1))
    return grad_x
