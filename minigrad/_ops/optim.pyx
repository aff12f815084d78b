"""Fused optimizer updates, in place: SGD (momentum, dampening, Nesterov, weight decay, maximize) and
Adam/AdamW (coupled or decoupled weight decay, amsgrad, maximize) in one pass over each parameter.

Layout: param, grad and the state buffers are C-contiguous arrays of one shape, viewed as flat arrays
of n elements. Loop: one pass that reads grad and the state and writes param and the state (torch's
single-tensor path makes 5–8 passes); parallel over element blocks with ``prange`` when n is large
enough to repay waking the threads. Arithmetic: torch.optim's single-tensor ops in the same order,
in the parameter's dtype with the scalars rounded to it first, so float32 results agree with
PyTorch's to rounding. Dtypes: float32 and float64 through the fused type ``floating``.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf
from minigrad._ops.cpu cimport num_threads

cdef enum:
    PARALLEL_MIN = 1 << 16  # below this, thread start-up costs more than the pass


cdef inline int _threads_for(Py_ssize_t n) noexcept nogil:
    return num_threads() if n >= PARALLEL_MIN else 1


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


def _sgd_step(floating[::1] param, const floating[::1] grad, floating[::1] buf, double lr, double momentum,
              double dampening, double weight_decay, bint nesterov, bint maximize, bint first):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating g, b
    cdef floating lr_ = <floating>lr, mu = <floating>momentum, wd = <floating>weight_decay
    cdef floating keep = <floating>(1 - dampening)
    cdef bint use_momentum = momentum != 0, decay = weight_decay != 0
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n)):
            g = -grad[i] if maximize else grad[i]
            if decay:
                g = g + wd * param[i]
            if use_momentum:
                b = g if first else buf[i] * mu + keep * g
                buf[i] = b
                g = g + mu * b if nesterov else b
            param[i] = param[i] - lr_ * g


def _adam_step(floating[::1] param, const floating[::1] grad, floating[::1] exp_avg, floating[::1] exp_avg_sq,
               floating[::1] max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
               double weight_decay, double step_size, double bias_correction2_sqrt, bint amsgrad,
               bint maximize, bint decoupled):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating g, p, m, v
    cdef floating w1 = <floating>(1 - beta1), b2 = <floating>beta2, w2 = <floating>(1 - beta2)
    cdef floating w1c = 1 - w1  # torch's lerp: end − (end − start)·(1 − w) when w ≥ 0.5
    cdef floating wd = <floating>weight_decay, shrink = <floating>(1 - lr * weight_decay)
    cdef floating eps_ = <floating>eps, ss = <floating>step_size, bc2 = <floating>bias_correction2_sqrt
    cdef bint decay = weight_decay != 0, lerp_low = w1 < 0.5
    with nogil:
        for i in prange(n, schedule="static", num_threads=_threads_for(n)):
            g = -grad[i] if maximize else grad[i]
            p = param[i]
            if decay:
                if decoupled:
                    p = p * shrink
                else:
                    g = g + wd * p
            m = exp_avg[i]
            m = m + w1 * (g - m) if lerp_low else g - (g - m) * w1c
            exp_avg[i] = m
            v = exp_avg_sq[i] * b2 + w2 * g * g
            exp_avg_sq[i] = v
            if amsgrad:
                if v < max_exp_avg_sq[i]:
                    v = max_exp_avg_sq[i]
                max_exp_avg_sq[i] = v
            param[i] = p - ss * (m / (_sqrt(v) / bc2 + eps_))


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
