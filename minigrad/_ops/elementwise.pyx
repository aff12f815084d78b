"""Elementwise kernels: ReLU, exact GELU, sigmoid and tanh, forward and backward.

Layout: any shape, C-contiguous; treated as one flat array of n elements. Loop: one pass, parallel
over element blocks with ``prange``, with a team sized by the bytes the call moves (``cpu.threads_for``).
Dtypes: float32 and float64 through the fused type ``floating``. GELU evaluates Φ through the C
library's double-precision ``erf`` (correctly rounded to within an ulp; numpy has no erf) for both
dtypes, so float32 results are Φ rounded once. Sigmoid and tanh likewise evaluate in double (the C
library's ``exp`` and ``tanh``) and round once; their backward takes the forward's output y, which is
what the autograd Function saves (σ' = y·(1 − y), tanh' = 1 − y²).

Accuracy contract, not bit patterns: the numpy twin computes the same float64 formula, but its
``np.exp`` is numpy's, which numpy picks at run time by CPU. On AVX-512 CPUs (Zen 4/5, Xeon) numpy
runs its own SIMD exp, up to 1 ulp away from the C library's ``exp`` used here (measured on Zen 4:
9,742 of 200,000 arguments differ, never by more than 1 ulp; with numpy's AVX-512 paths disabled by
``NPY_DISABLE_CPU_FEATURES`` none do); on AVX2 CPUs numpy calls the C library and the two agreed
bit for bit. So the tests bound the difference by a few float64 ulps of the formula's terms plus one
rounding to the dtype (``tests/_ops/conftest.py``), never demand equality.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport M_SQRT1_2, erf, exp, fabs, tanh
from minigrad._ops.cpu cimport threads_for

cdef double INV_SQRT_2PI = 0.3989422804014327  # 1/√(2π)

cdef enum:
    # Bytes moved (x and out, + grad_out backward) from which a second thread pays for its wake-up
    # (64 Ki float32 elements forward); each further thread needs half as many (docs/kernels.md).
    FIRST_BYTES = 1 << 19


cdef inline int _threads_for(Py_ssize_t n, Py_ssize_t streams, Py_ssize_t itemsize) noexcept nogil:
    """Team for a pass over n elements of `streams` arrays."""
    return threads_for(<double>n * streams * itemsize, FIRST_BYTES, FIRST_BYTES // 2)


def _relu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            out[i] = 0 if x[i] <= 0 else x[i]  # NaN propagates, like torch


def _relu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating g
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            # Load grad_out unconditionally: a select instead of a branch lets the compiler vectorize
            # (with the load inside the condition it branched, ~30x slower on random signs).
            g = grad_out[i]
            grad_x[i] = 0 if x[i] <= 0 else g  # NaN passes the gradient, like torch


cdef inline double _cdf(double x) noexcept nogil:
    """Φ(x) = (1 + erf(x/√2))/2, the standard normal CDF."""
    return 0.5 * (1.0 + erf(x * M_SQRT1_2))


def _gelu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            out[i] = <floating>(x[i] * _cdf(x[i]))


def _gelu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef double v
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            v = x[i]
            grad_x[i] = <floating>(grad_out[i] * (_cdf(v) + v * INV_SQRT_2PI * exp(-0.5 * v * v)))


cdef inline double _sigmoid(double v) noexcept nogil:
    """1/(1 + e⁻ᵛ), split by sign so that exp never overflows (and NaN stays NaN)."""
    cdef double e = exp(-fabs(v))
    return 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)


def _sigmoid_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            out[i] = <floating>_sigmoid(x[i])


def _sigmoid_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double v
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            v = y[i]
            grad_x[i] = <floating>(grad_out[i] * v * (1.0 - v))


def _tanh_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            out[i] = <floating>tanh(x[i])


def _tanh_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double v
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            v = y[i]
            grad_x[i] = <floating>(grad_out[i] * (1.0 - v * v))


def _forward(kernel, x):
    out = np.empty_like(x)
    kernel(x.reshape(-1), out.reshape(-1))
    return out


def _backward(kernel, grad_out, x):
    grad_x = np.empty_like(x)
    kernel(grad_out.reshape(-1), x.reshape(-1), grad_x.reshape(-1))
    return grad_x


def relu_forward(x):
    """y = max(x, 0). ``x``: C-contiguous float32/float64 array of any shape."""
    return _forward(_relu_forward, x)


def relu_backward(grad_out, x):
    """grad_x = 0 where x ≤ 0, else grad_out (PyTorch's convention: 0 at x == 0, passed at NaN)."""
    return _backward(_relu_backward, grad_out, x)


def gelu_forward(x):
    """y = x·Φ(x) (GELU, ``approximate='none'``), Φ the standard normal CDF, with the C library's erf."""
    return _forward(_gelu_forward, x)


def gelu_backward(grad_out, x):
    """grad_x = grad_out·(Φ(x) + x·φ(x)), φ the standard normal density."""
    return _backward(_gelu_backward, grad_out, x)


def sigmoid_forward(x):
    """y = 1/(1 + e⁻ˣ), in double, rounded once to x's dtype."""
    return _forward(_sigmoid_forward, x)


def sigmoid_backward(grad_out, y):
    """grad_x = grad_out·y·(1 − y), y = sigmoid(x) (the forward's output)."""
    return _backward(_sigmoid_backward, grad_out, y)


def tanh_forward(x):
    """y = tanh x, in double, rounded once to x's dtype."""
    return _forward(_tanh_forward, x)


def tanh_backward(grad_out, y):
    """grad_x = grad_out·(1 − y²), y = tanh x (the forward's output)."""
    return _backward(_tanh_backward, grad_out, y)
