"""Fused optimizer updates, in place: SGD (momentum, dampening, Nesterov, weight decay, maximize) and
Adam/AdamW (coupled or decoupled weight decay, amsgrad, maximize) in one pass over each parameter.

Layout: param, grad and the state buffers are C-contiguous arrays of one shape, viewed as flat arrays
of n elements. Loop: one pass that reads grad and the state and writes param and the state (torch's
single-tensor path makes 5–8 passes), in blocks of BLOCK elements: ``prange`` over the blocks, with a
team sized by the bytes the call moves (``cpu.threads_for``), a plain vectorizable loop inside each block;
a team of one runs the whole array as one block outside any OpenMP region. Arithmetic: torch.optim's single-tensor ops in the same order,
in the parameter's dtype with the scalars rounded to it first, so float32 results agree with
PyTorch's to rounding. Dtypes: float32 and float64 through the fused type ``floating``.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf
from minigrad._ops.cpu cimport threads_for

cdef enum:
    # Bytes moved (param, grad and the state, each read or written) from which a second thread pays
    # for its wake-up on the pass (128 Ki float32 SGD-momentum elements); each further thread needs
    # half as many (docs/kernels.md).
    FIRST_BYTES = 5 << 19
    BLOCK = 4096            # elements per task: the inner loop is a plain C loop the compiler vectorizes


cdef inline int _threads_for(Py_ssize_t n, Py_ssize_t streams, Py_ssize_t itemsize) noexcept nogil:
    """Team for a pass over n elements of `streams` array reads and writes."""
    return threads_for(<double>n * streams * itemsize, FIRST_BYTES, FIRST_BYTES // 2)


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


# The per-block loops are separate functions with every flag a plain argument: inside a prange body,
# Cython makes the loop's temporaries lastprivate, which stops the compiler from vectorizing. Flags
# that guard a store (momentum, amsgrad) select between whole loops; the others are selects.
cdef inline floating _sgd_direction(floating* param, const floating* grad, Py_ssize_t i, floating sign,
                                    floating wd, bint decay) noexcept nogil:
    cdef floating g = sign * grad[i]  # sign = ±1 (maximize): exact
    return g + wd * param[i] if decay else g


cdef void _sgd_block(floating* param, const floating* grad, floating* buf, Py_ssize_t n, floating sign,
                     floating lr, floating mu, floating keep, floating wd, bint decay, bint use_momentum,
                     bint nesterov, bint first) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, b
    if not use_momentum:
        for i in range(n):
            param[i] = param[i] - lr * _sgd_direction(param, grad, i, sign, wd, decay)
        return
    for i in range(n):
        g = _sgd_direction(param, grad, i, sign, wd, decay)
        b = g if first else buf[i] * mu + keep * g
        buf[i] = b
        param[i] = param[i] - lr * (g + mu * b if nesterov else b)


cdef inline floating _adam_moments(floating* param, const floating* grad, floating* exp_avg,
                                   floating* exp_avg_sq, Py_ssize_t i, floating sign, floating wd,
                                   floating shrink, bint coupled, floating w1, floating w1c, bint lerp_low,
                                   floating b2, floating w2) noexcept nogil:
    """Weight decay on param[i] (decoupled) or on the gradient (coupled), then m and v at i; returns v."""
    cdef floating g = sign * grad[i]
    cdef floating p = param[i] * shrink  # shrink = 1 − lr·λ for AdamW, exactly 1 otherwise
    cdef floating m = exp_avg[i], v
    param[i] = p
    g = g + wd * p if coupled else g
    # torch.lerp's two forms (weight < 0.5 and ≥ 0.5), for the same rounding
    exp_avg[i] = m + w1 * (g - m) if lerp_low else g - (g - m) * w1c
    v = exp_avg_sq[i] * b2 + w2 * g * g
    exp_avg_sq[i] = v
    return v


cdef void _adam_block(floating* param, const floating* grad, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n, floating sign, floating wd, floating shrink,
                      floating w1, floating w1c, bint lerp_low, floating b2, floating w2, floating eps,
                      floating step_size, floating bc2, bint coupled, bint amsgrad) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v
    if not amsgrad:
        for i in range(n):
            v = _adam_moments(param, grad, exp_avg, exp_avg_sq, i, sign, wd, shrink, coupled, w1, w1c,
                              lerp_low, b2, w2)
            param[i] = param[i] - step_size * (exp_avg[i] / (_sqrt(v) / bc2 + eps))
        return
    for i in range(n):
        v = _adam_moments(param, grad, exp_avg, exp_avg_sq, i, sign, wd, shrink, coupled, w1, w1c,
                          lerp_low, b2, w2)
        v = v if v >= max_exp_avg_sq[i] else max_exp_avg_sq[i]
        max_exp_avg_sq[i] = v
        param[i] = param[i] - step_size * (exp_avg[i] / (_sqrt(v) / bc2 + eps))


def _sgd_step(floating[::1] param, const floating[::1] grad, floating[::1] buf, double lr, double momentum,
              double dampening, double weight_decay, bint nesterov, bint maximize, bint first):
    cdef Py_ssize_t blk, start, n = param.shape[0], nblocks = (n + BLOCK - 1) // BLOCK
    cdef floating sign = -1 if maximize else 1, lr_ = <floating>lr, mu = <floating>momentum
    cdef floating keep = <floating>(1 - dampening), wd = <floating>weight_decay
    cdef bint decay = weight_decay != 0, use_momentum = momentum != 0
    cdef int threads = _threads_for(n, 5 if use_momentum else 3, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:  # one block and no OpenMP region (entering one costs ~1 µs on Zen 4)
            _sgd_block(&param[0], &grad[0], &buf[0], n, sign, lr_, mu, keep, wd, decay, use_momentum,
                       nesterov, first)
        else:
            for blk in prange(nblocks, schedule="static", num_threads=threads):
                start = blk * BLOCK
                _sgd_block(&param[start], &grad[start], &buf[start], min(<Py_ssize_t>BLOCK, n - start), sign,
                           lr_, mu, keep, wd, decay, use_momentum, nesterov, first)


def _adam_step(floating[::1] param, const floating[::1] grad, floating[::1] exp_avg, floating[::1] exp_avg_sq,
               floating[::1] max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
               double weight_decay, double step_size, double bias_correction2_sqrt, bint amsgrad,
               bint maximize, bint decoupled):
    cdef Py_ssize_t blk, start, n = param.shape[0], nblocks = (n + BLOCK - 1) // BLOCK
    cdef floating sign = -1 if maximize else 1
    cdef floating w1 = <floating>(1 - beta1)
    cdef floating shrink = <floating>(1 - lr * weight_decay) if decoupled else 1
    cdef bint coupled = weight_decay != 0 and not decoupled
    cdef floating wd = <floating>weight_decay, b2 = <floating>beta2, w2 = <floating>(1 - beta2)
    cdef floating eps_ = <floating>eps, step = <floating>step_size, bc2 = <floating>bias_correction2_sqrt
    cdef int threads = _threads_for(n, 9 if amsgrad else 7, sizeof(floating))
    with nogil:
        if threads == 1 and n > 0:  # one block and no OpenMP region (entering one costs ~1 µs on Zen 4)
            _adam_block(&param[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], &max_exp_avg_sq[0], n, sign, wd,
                        shrink, w1, 1 - w1, w1 < 0.5, b2, w2, eps_, step, bc2, coupled, amsgrad)
        else:
            for blk in prange(nblocks, schedule="static", num_threads=threads):
                start = blk * BLOCK
                _adam_block(&param[start], &grad[start], &exp_avg[start], &exp_avg_sq[start],
                            &max_exp_avg_sq[start], min(<Py_ssize_t>BLOCK, n - start), sign, wd, shrink, w1,
                            1 - w1, w1 < 0.5, b2, w2, eps_, step, bc2, coupled, amsgrad)


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """In-place SGD update of ``param`` (and ``momentum_buffer`` when momentum ≠ 0); see reference.py."""
    flat = param.reshape(-1)
    _sgd_step(flat, grad.reshape(-1), flat if momentum_buffer is None else momentum_buffer.reshape(-1),
              lr, momentum, dampening, weight_decay, nesterov, maximize, first)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
              step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled):
    """In-place Adam/AdamW update of ``param`` and its state; see reference.py."""
    v = exp_avg_sq.reshape(-1)
    _adam_step(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), v,
               v if max_exp_avg_sq is None else max_exp_avg_sq.reshape(-1), lr, beta1, beta2, eps,
               weight_decay, step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled)
