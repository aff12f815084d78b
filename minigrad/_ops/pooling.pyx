"""2-D max and average pooling, forward and backward, with PyTorch's semantics.

Layout: ``x`` NCHW, C-contiguous; outputs (N, C, OH, OW). Every kernel treats the N·C planes as
independent tasks and runs them in parallel with ``prange`` (each task reads and writes only its own
plane, so the backward scatters need no atomics), with a team sized by the bytes of the input-side
tensor (``cpu.threads_for``). Within a plane: output rows, output columns,
then the window (rows, columns). Dtypes: float32 and float64 through the fused type ``floating``.

Windows are clipped to the input (padding reads as "absent", never as a value); with ``ceil_mode``
the last window may also overhang the bottom/right edge.

max_pool2d: ``indices`` (int64, same shape as the output) hold the flat position ih·W + iw of the
maximum within its input plane, as in PyTorch. Ties keep the first maximum in scan order; a NaN
always wins (the last NaN of the window), so the output is NaN like ``torch.max_pool2d``. A window
of only -inf points to its first valid element. Without indices (inference: nothing will scatter
the gradient back) the kernel only takes maxima. The common 2×2 window of stride 2 without padding,
whose windows tile the plane, is one pass over pairs of input rows with the window unrolled; without
indices the compiler vectorizes it.

avg_pool2d: the divisor is the window area clipped to the padded input (``count_include_pad``,
PyTorch's default), or only the valid elements, or ``divisor_override`` if > 0. A window lying
entirely in the padding outputs 0.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport isnan, INFINITY
from libc.stdint cimport int64_t
from libc.string cimport memset
from minigrad._ops.cpu cimport threads_for

cdef enum:
    # Bytes of x (or grad_x) from which a second thread pays for its wake-up (16 Ki float32
    # elements); each further thread needs half as many (docs/kernels.md).
    FIRST_BYTES = 1 << 16


cdef inline int _threads_for(Py_ssize_t planes, Py_ssize_t plane_size, Py_ssize_t itemsize) noexcept nogil:
    """Team for `planes` tasks of plane_size elements each (no more threads than tasks)."""
    return min(planes, threads_for(<double>planes * plane_size * itemsize, FIRST_BYTES, FIRST_BYTES // 2))


cdef inline void _max_plane(const floating* x, floating* y, int64_t* idx,
                            Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH, Py_ssize_t KW,
                            Py_ssize_t SH, Py_ssize_t SW, Py_ssize_t PH, Py_ssize_t PW,
                            Py_ssize_t DH, Py_ssize_t DW, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    cdef Py_ssize_t oh, ow, ih, iw, h0, h1, w0, w1, best
    cdef floating v, vmax
    for oh in range(OH):
        h0 = oh * SH - PH
        h1 = min(h0 + (KH - 1) * DH + 1, H)
        while h0 < 0:
            h0 += DH
        for ow in range(OW):
            w0 = ow * SW - PW
            w1 = min(w0 + (KW - 1) * DW + 1, W)
            while w0 < 0:
                w0 += DW
            best = h0 * W + w0
            vmax = -INFINITY
            ih = h0
            while ih < h1:  # a while loop: Cython cannot type a range with a runtime step
                iw = w0
                while iw < w1:
                    v = x[ih * W + iw]
                    if v > vmax or isnan(v):
                        vmax = v
                        best = ih * W + iw
                    iw += DW
                ih += DH
            y[oh * OW + ow] = vmax
            if idx != NULL:  # NULL: values only
                idx[oh * OW + ow] = best


cdef inline floating _max_then(floating m, floating v) noexcept nogil:
    # one step of _max_plane's scan (m seen first): a tie keeps m, a NaN wins; a select, not a
    # branch, so the loop vectorizes. Grouped as (a, b), (c, d) it still gives the scan's result.
    return v if (v > m or v != v) else m


cdef inline void _max_plane_2x2(const floating* x, floating* y, Py_ssize_t W,
                                Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    # 2×2 windows, stride 2, no padding, every window inside the plane: rows 2·oh and 2·oh + 1
    cdef Py_ssize_t oh, ow
    cdef const floating* r0
    cdef const floating* r1
    cdef floating* yo
    for oh in range(OH):
        r0 = x + 2 * oh * W
        r1 = r0 + W
        yo = y + oh * OW
        for ow in range(OW):
            yo[ow] = _max_then(_max_then(r0[2 * ow], r0[2 * ow + 1]), _max_then(r1[2 * ow], r1[2 * ow + 1]))


cdef inline void _argmax_plane_2x2(const floating* x, floating* y, int64_t* idx, Py_ssize_t W,
                                   Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    # _max_plane_2x2 with the indices: the scan of _max_plane (row 2·oh, then 2·oh + 1), unrolled,
    # without its per-window bounds and loop steps
    cdef Py_ssize_t oh, ow, i, best
    cdef const floating* r0
    cdef floating m, v
    cdef bint take
    for oh in range(OH):
        r0 = x + 2 * oh * W
        for ow in range(OW):
            i = 2 * ow
            m = r0[i]
            best = i
            v = r0[i + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            best = i + 1 if take else best
            v = r0[W + i]
            take = (v > m) | (v != v)
            m = v if take else m
            best = W + i if take else best
            v = r0[W + i + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            best = W + i + 1 if take else best
            y[oh * OW + ow] = m
            idx[oh * OW + ow] = 2 * oh * W + best


def _max_pool2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] idx,
                        Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
                        Py_ssize_t PH, Py_ssize_t PW, Py_ssize_t DH, Py_ssize_t DW):
    # idx None: values only
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = y.shape[2], OW = y.shape[3], t, n, c
    cdef bint with_idx = idx is not None
    cdef bint tiled_2x2 = (KH == 2 and KW == 2 and SH == 2 and SW == 2 and PH == 0 and PW == 0
                           and DH == 1 and DW == 1 and 2 * OH <= H and 2 * OW <= W)
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=_threads_for(N * C, H * W, sizeof(floating))):
            n = t // C
            c = t % C
            if tiled_2x2 and with_idx:
                _argmax_plane_2x2(&x[n, c, 0, 0], &y[n, c, 0, 0], &idx[n, c, 0, 0], W, OH, OW)
            elif tiled_2x2:
                _max_plane_2x2(&x[n, c, 0, 0], &y[n, c, 0, 0], W, OH, OW)
            else:
                _max_plane(&x[n, c, 0, 0], &y[n, c, 0, 0], &idx[n, c, 0, 0] if with_idx else NULL,
                           H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)


def _max_pool2d_backward(const floating[:, :, :, ::1] grad_out, const int64_t[:, :, :, ::1] idx,
                         floating[:, :, :, ::1] grad_x):
    # Returns the number of indices outside [0, H·W), which are skipped: a bad index array must
    # raise an error, never write out of bounds, and checking here costs no extra pass.
    cdef Py_ssize_t N = grad_x.shape[0], C = grad_x.shape[1], HW = grad_x.shape[2] * grad_x.shape[3]
    cdef Py_ssize_t OHW = grad_out.shape[2] * grad_out.shape[3], t, n, c, o, bad = 0
    cdef floating* gx
    cdef const floating* go
    cdef const int64_t* ix
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=_threads_for(N * C, HW, sizeof(floating))):
            n = t // C
            c = t % C
            gx = &grad_x[n, c, 0, 0]
            go = &grad_out[n, c, 0, 0]
            ix = &idx[n, c, 0, 0]
            memset(gx, 0, HW * sizeof(floating))
            for o in range(OHW):
                if 0 <= ix[o] < HW:
                    gx[ix[o]] += go[o]
                else:
                    bad += 1
    return bad


cdef inline Py_ssize_t _divisor(Py_ssize_t h0, Py_ssize_t w0, Py_ssize_t KH, Py_ssize_t KW,
                                Py_ssize_t H, Py_ssize_t W, Py_ssize_t PH, Py_ssize_t PW,
                                bint count_include_pad, Py_ssize_t divisor_override) noexcept nogil:
    # PyTorch's rule: the window clipped to the padded input, or to the input itself.
    cdef Py_ssize_t h1 = min(h0 + KH, H + PH), w1 = min(w0 + KW, W + PW)
    if divisor_override > 0:
        return divisor_override
    if count_include_pad:
        return (h1 - h0) * (w1 - w0)
    return (min(h1, H) - max(h0, 0)) * (min(w1, W) - max(w0, 0))


cdef inline void _avg_plane(const floating* x, floating* y, Py_ssize_t H, Py_ssize_t W,
                            Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
                            Py_ssize_t PH, Py_ssize_t PW, Py_ssize_t OH, Py_ssize_t OW,
                            bint count_include_pad, Py_ssize_t divisor_override) noexcept nogil:
    cdef Py_ssize_t oh, ow, ih, iw, h0, w0, div
    cdef floating s
    for oh in range(OH):
        h0 = oh * SH - PH
        for ow in range(OW):
            w0 = ow * SW - PW
            div = _divisor(h0, w0, KH, KW, H, W, PH, PW, count_include_pad, divisor_override)
            s = 0
            for ih in range(max(h0, 0), min(h0 + KH, H)):
                for iw in range(max(w0, 0), min(w0 + KW, W)):
                    s = s + x[ih * W + iw]
            # an all-padding window has div 0 without count_include_pad; its sum is 0 anyway
            y[oh * OW + ow] = s / div if div > 0 else 0


cdef inline void _avg_plane_backward(const floating* g, floating* gx, Py_ssize_t H, Py_ssize_t W,
                                     Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
                                     Py_ssize_t PH, Py_ssize_t PW, Py_ssize_t OH, Py_ssize_t OW,
                                     bint count_include_pad, Py_ssize_t divisor_override) noexcept nogil:
    cdef Py_ssize_t oh, ow, ih, iw, h0, w0, div
    cdef floating v
    memset(gx, 0, H * W * sizeof(floating))
    for oh in range(OH):
        h0 = oh * SH - PH
        for ow in range(OW):
            w0 = ow * SW - PW
            div = _divisor(h0, w0, KH, KW, H, W, PH, PW, count_include_pad, divisor_override)
            if div <= 0:
                continue
            v = g[oh * OW + ow] / div
            for ih in range(max(h0, 0), min(h0 + KH, H)):
                for iw in range(max(w0, 0), min(w0 + KW, W)):
                    gx[ih * W + iw] += v


def _avg_pool2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                        Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
                        Py_ssize_t PH, Py_ssize_t PW, bint count_include_pad, Py_ssize_t divisor_override):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t OH = y.shape[2], OW = y.shape[3], t, n, c
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=_threads_for(N * C, H * W, sizeof(floating))):
            n = t // C
            c = t % C
            _avg_plane(&x[n, c, 0, 0], &y[n, c, 0, 0], H, W, KH, KW, SH, SW, PH, PW, OH, OW,
                       count_include_pad, divisor_override)


def _avg_pool2d_backward(const floating[:, :, :, ::1] grad_out, floating[:, :, :, ::1] grad_x,
                         Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
                         Py_ssize_t PH, Py_ssize_t PW, bint count_include_pad, Py_ssize_t divisor_override):
    cdef Py_ssize_t N = grad_x.shape[0], C = grad_x.shape[1], H = grad_x.shape[2], W = grad_x.shape[3]
    cdef Py_ssize_t OH = grad_out.shape[2], OW = grad_out.shape[3], t, n, c
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=_threads_for(N * C, H * W, sizeof(floating))):
            n = t // C
            c = t % C
            _avg_plane_backward(&grad_out[n, c, 0, 0], &grad_x[n, c, 0, 0], H, W, KH, KW, SH, SW,
                                PH, PW, OH, OW, count_include_pad, divisor_override)


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, output_size, return_indices=True):
    """(y, indices): y[n,c,oh,ow] = max of the window, indices its flat position ih·W + iw (None
    unless ``return_indices``)."""
    N, C = x.shape[:2]
    y = np.empty((N, C) + tuple(output_size), dtype=x.dtype)
    idx = np.empty((N, C) + tuple(output_size), dtype=np.int64) if return_indices else None
    if y.size:
        _max_pool2d_forward(x, y, idx, *kernel_size, *stride, *padding, *dilation)
    return y, idx


def max_pool2d_backward(grad_out, indices, input_shape):
    """grad_x[n, c].flat[indices[n, c, o]] += grad_out[n, c, o] (scatter with accumulation)."""
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_x.size and _max_pool2d_backward(grad_out, indices, grad_x):
        raise ValueError(f"indices: every value must lie in [0, H·W) = [0, {grad_x[0, 0].size})")
    return grad_x


def avg_pool2d_forward(x, kernel_size, stride, padding, output_size, count_include_pad, divisor_override):
    """y[n,c,oh,ow] = sum of the window / divisor (see the module docstring)."""
    N, C = x.shape[:2]
    y = np.empty((N, C) + tuple(output_size), dtype=x.dtype)
    if y.size:
        _avg_pool2d_forward(x, y, *kernel_size, *stride, *padding, count_include_pad, divisor_override or 0)
    return y


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride, padding, count_include_pad,
                        divisor_override):
    """grad_x = every grad_out / divisor spread over its window (overlaps summed)."""
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_x.size:
        _avg_pool2d_backward(grad_out, grad_x, *kernel_size, *stride, *padding, count_include_pad,
                             divisor_override or 0)
    return grad_x
