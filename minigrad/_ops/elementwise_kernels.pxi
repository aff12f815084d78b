# Shared kernel source of elementwise_generic.pyx (baseline x86-64), elementwise_avx2.pyx and
# elementwise_avx512.pyx: the same loops compiled three times; _ops picks one at import. See
# elementwise_generic.pyx's docstring.
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport M_SQRT1_2, erf, exp
from minigrad._ops.cpu cimport threads_for

include "vecmath.pxi"

cdef double INV_SQRT_2PI = 0.3989422804014327  # 1/√(2π)

cdef enum:
    # Bytes moved (x and out, + grad_out backward) from which a second thread pays for its wake-up
    # (64 Ki float32 elements forward); each further thread needs half as many (docs/kernels.md).
    FIRST_BYTES = 1 << 19


cdef inline int _threads_for(Py_ssize_t n, Py_ssize_t streams, Py_ssize_t itemsize) noexcept nogil:
    """Team for a pass over n elements of `streams` arrays."""
    return threads_for(<double>n * streams * itemsize, FIRST_BYTES, FIRST_BYTES // 2)


# ReLU's passes are so cheap that entering an OpenMP region, even with a team of one (~1 µs on Zen 4), costs
# as much as a 10⁴-element pass: with one thread they run without one (the other ops' per-element
# work hides that cost).

def _relu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int threads = _threads_for(n, 2, sizeof(floating))
    # NaN propagates, like torch
    with nogil:
        if threads == 1:
            for i in range(n):
                out[i] = 0 if x[i] <= 0 else x[i]
        else:
            for i in prange(n, schedule="static", num_threads=threads):
                out[i] = 0 if x[i] <= 0 else x[i]


def _relu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int threads = _threads_for(n, 3, sizeof(floating))
    cdef floating g
    # Both loops load grad_out unconditionally: a select instead of a branch lets the compiler
    # vectorize (with the load inside the condition it branched: 14.9 against 1.2 ms on random
    # signs, 100x30x24x24 float32, Zen 3, 1 thread).
    # NaN passes the gradient, like torch.
    with nogil:
        if threads == 1:
            for i in range(n):
                g = grad_out[i]
                grad_x[i] = 0 if x[i] <= 0 else g
        else:
            for i in prange(n, schedule="static", num_threads=threads):
                g = grad_out[i]
                grad_x[i] = 0 if x[i] <= 0 else g


cdef inline double _cdf(double x) noexcept nogil:
    """Φ(x) = (1 + erf(x/√2))/2, the standard normal CDF."""
    return 0.5 * (1.0 + erf(x * M_SQRT1_2))


# float32 GELU on vecmath.pxi's Φ and φ in float32 (vectorized in every build; within 10 ulps,
# tests/_ops/conftest.py:GELU_FLOAT32_ULPS); float64 on the C library's erf and exp (scalar calls).

def _gelu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef double v
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            if floating is float:
                out[i] = mg_gelu_f32(x[i])
            else:
                v = x[i]
                out[i] = v * _cdf(v)


def _gelu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef double v
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            if floating is float:
                grad_x[i] = grad_out[i] * mg_gelu_grad_f32(x[i])
            else:
                v = x[i]
                grad_x[i] = grad_out[i] * (_cdf(v) + v * INV_SQRT_2PI * exp(-0.5 * v * v))


def _sigmoid_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            if floating is float:
                out[i] = mg_sigmoid_f32(x[i])
            else:
                out[i] = mg_sigmoid_f64(x[i])


def _sigmoid_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t i, n = y.shape[0]
    cdef floating v, one = 1  # a literal 1 would make Cython compute in double
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            v = y[i]
            grad_x[i] = grad_out[i] * v * (one - v)


def _tanh_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 2, sizeof(floating))):
            if floating is float:
                out[i] = mg_tanh_f32(x[i])
            else:
                out[i] = mg_tanh_f64(x[i])


def _tanh_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t i, n = y.shape[0]
    cdef floating v, one = 1
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n, 3, sizeof(floating))):
            v = y[i]
            grad_x[i] = grad_out[i] * (one - v) * (one + v)  # 1 − y², no cancellation as |y| → 1


def _unary(name, forward, backward):
    """The kernels ``<name>_forward(x)`` and ``<name>_backward(grad_out, x or y)`` over C-contiguous
    arrays of any shape (the door sees to that), from the loops over flat arrays; each returns a new
    array."""
    def forward_kernel(x):
        out = np.empty_like(x)
        forward(x.reshape(-1), out.reshape(-1))
        return out

    def backward_kernel(grad_out, x):
        grad_x = np.empty_like(x)
        backward(grad_out.reshape(-1), x.reshape(-1), grad_x.reshape(-1))
        return grad_x
    forward_kernel.__name__, backward_kernel.__name__ = f"{name}_forward", f"{name}_backward"
    return forward_kernel, backward_kernel


# The kernels the registry declares (their docstrings are their twins' in reference.py).
relu_forward, relu_backward = _unary("relu", _relu_forward, _relu_backward)
gelu_forward, gelu_backward = _unary("gelu", _gelu_forward, _gelu_backward)
sigmoid_forward, sigmoid_backward = _unary("sigmoid", _sigmoid_forward, _sigmoid_backward)
tanh_forward, tanh_backward = _unary("tanh", _tanh_forward, _tanh_backward)
