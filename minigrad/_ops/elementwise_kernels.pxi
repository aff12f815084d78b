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
    BLOCK = 4096  # elements per prange task of GELU, sigmoid and tanh


cdef inline int _threads_for(Py_ssize_t n, Py_ssize_t streams, Py_ssize_t itemsize) noexcept nogil:
    """Team for a pass over n elements of `streams` arrays."""
    return threads_for(<double>n * streams * itemsize, FIRST_BYTES, FIRST_BYTES // 2)


cdef inline Py_ssize_t _blocks(Py_ssize_t n) noexcept nogil:
    return (n + BLOCK - 1) // BLOCK


# Entering an OpenMP region, even with a team of one, costs ~1 µs on Zen 4: as much as a ReLU pass
# over 10⁴ elements or a sigmoid pass over ~2·10³. So every loop runs without one when its team is a
# single thread (any pass under FIRST_BYTES, whatever set_num_threads says). GELU, sigmoid and tanh
# keep their loop in a block function over raw pointers, run on the whole array by one thread or on
# BLOCK-element blocks by a team, so each formula is written once. float64 GELU always enters the
# region: its scalar erf calls (8–13 ns an element) ran 7 % slower in the plain loop on 2¹⁷ elements
# (Zen 4, every ISA build; the loop's code is the same but for two reloads from the stack), more than
# the region's 1 µs saves it from ~10³ elements up.

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

cdef void _gelu_forward_block(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            out[i] = mg_gelu_f32(x[i])
        else:
            out[i] = x[i] * _cdf(x[i])


def _gelu_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t b, n = x.shape[0]
    cdef int threads = _threads_for(n, 2, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0 and floating is float:
            _gelu_forward_block(&x[0], &out[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _gelu_forward_block(&x[b * BLOCK], &out[b * BLOCK], min(<Py_ssize_t>BLOCK, n - b * BLOCK))


cdef void _gelu_backward_block(const floating* grad_out, const floating* x, floating* grad_x,
                               Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef double v
    for i in range(n):
        if floating is float:
            grad_x[i] = grad_out[i] * mg_gelu_grad_f32(x[i])
        else:  # Φ(x) + x·φ(x)
            v = x[i]
            grad_x[i] = grad_out[i] * (_cdf(v) + v * INV_SQRT_2PI * exp(-0.5 * v * v))


def _gelu_backward(const floating[::1] grad_out, const floating[::1] x, floating[::1] grad_x):
    cdef Py_ssize_t b, n = x.shape[0]
    cdef int threads = _threads_for(n, 3, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0 and floating is float:
            _gelu_backward_block(&grad_out[0], &x[0], &grad_x[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _gelu_backward_block(&grad_out[b * BLOCK], &x[b * BLOCK], &grad_x[b * BLOCK],
                                     min(<Py_ssize_t>BLOCK, n - b * BLOCK))


cdef void _sigmoid_forward_block(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            out[i] = mg_sigmoid_f32(x[i])
        else:
            out[i] = mg_sigmoid_f64(x[i])


def _sigmoid_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t b, n = x.shape[0]
    cdef int threads = _threads_for(n, 2, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:
            _sigmoid_forward_block(&x[0], &out[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _sigmoid_forward_block(&x[b * BLOCK], &out[b * BLOCK], min(<Py_ssize_t>BLOCK, n - b * BLOCK))


cdef void _sigmoid_backward_block(const floating* grad_out, const floating* y, floating* grad_x,
                                  Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v, one = 1  # a literal 1 would make Cython compute in double
    for i in range(n):
        v = y[i]
        grad_x[i] = grad_out[i] * v * (one - v)


def _sigmoid_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t b, n = y.shape[0]
    cdef int threads = _threads_for(n, 3, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:
            _sigmoid_backward_block(&grad_out[0], &y[0], &grad_x[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _sigmoid_backward_block(&grad_out[b * BLOCK], &y[b * BLOCK], &grad_x[b * BLOCK],
                                        min(<Py_ssize_t>BLOCK, n - b * BLOCK))


cdef void _tanh_forward_block(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            out[i] = mg_tanh_f32(x[i])
        else:
            out[i] = mg_tanh_f64(x[i])


def _tanh_forward(const floating[::1] x, floating[::1] out):
    cdef Py_ssize_t b, n = x.shape[0]
    cdef int threads = _threads_for(n, 2, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:
            _tanh_forward_block(&x[0], &out[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _tanh_forward_block(&x[b * BLOCK], &out[b * BLOCK], min(<Py_ssize_t>BLOCK, n - b * BLOCK))


cdef void _tanh_backward_block(const floating* grad_out, const floating* y, floating* grad_x,
                               Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v, one = 1
    for i in range(n):
        v = y[i]
        grad_x[i] = grad_out[i] * (one - v) * (one + v)  # 1 − y², no cancellation as |y| → 1


def _tanh_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_x):
    cdef Py_ssize_t b, n = y.shape[0]
    cdef int threads = _threads_for(n, 3, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:
            _tanh_backward_block(&grad_out[0], &y[0], &grad_x[0], n)
        else:
            for b in prange(_blocks(n), schedule="static", num_threads=threads):
                _tanh_backward_block(&grad_out[b * BLOCK], &y[b * BLOCK], &grad_x[b * BLOCK],
                                     min(<Py_ssize_t>BLOCK, n - b * BLOCK))


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
