"""im2col / col2im: the data movement around the GEMM of a convolution.

Layout. ``x`` is NCHW, C-contiguous. The column matrix is 2-D, C-contiguous, of shape
(C·KH·KW, N·OH·OW): rows run over (c, kh, kw), columns over (n, oh, ow)::

    cols[(c·KH + i)·KW + j, n·OH·OW + oh·OW + ow] = x_padded[n, c, oh·SH + i·DH, ow·SW + j·DW]

(zero where the index falls in the padding). With this layout every GEMM of the convolution is one
plain 2-D call on a block of N samples, with no transposes or copies of its operands:

    forward   Y  (Cout, N·OH·OW)  = W (Cout, C·KH·KW) @ cols
    backward  dW (Cout, C·KH·KW) += dY @ cols.T          (cols.T is a free view)
              dcols               = W.T @ dY,  then col2im(dcols) → dx

and for ``groups`` > 1 group g is a contiguous block of rows of ``cols`` (its channels are
consecutive). Y comes out channel-major; the caller permutes it to NCHW while adding the bias.

Padding may be asymmetric (``padding='same'`` with an even kernel): the kernels take the top and
left padding and the output size; anything beyond the bottom/right edge of ``x`` reads as zero.

Loop order and parallelism: one task per (n, c) input plane, parallel over tasks with ``prange``,
with a team sized by the bytes of ``cols`` (``cpu.threads_for``).
A task walks its KH·KW rows of ``cols`` and, for each output row, copies one contiguous run (a
``memcpy`` when SW == 1) and zeroes the padded ends. col2im does the same walk in reverse,
accumulating into the plane of ``dx``; since a plane receives only from its own task, overlapping
windows need no atomics. Dtypes: float32 and float64 through the fused type ``floating``.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memset
from minigrad._ops.cpu cimport threads_for

cdef enum:
    # Bytes of cols from which a second thread pays for its wake-up (32 Ki float32 elements); each
    # further thread needs half as many (docs/kernels.md).
    FIRST_BYTES = 1 << 17


cdef inline int _threads_for(Py_ssize_t planes, Py_ssize_t cols_size, Py_ssize_t itemsize) noexcept nogil:
    """Team for `planes` tasks filling (or reading) cols_size elements of cols."""
    return min(planes, threads_for(<double>cols_size * itemsize, FIRST_BYTES, FIRST_BYTES // 2))


cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    # b > 0; rounds toward +inf for either sign of a
    return -((-a) // b) if a < 0 else (a + b - 1) // b


cdef inline void _valid_range(Py_ssize_t size, Py_ssize_t offset, Py_ssize_t stride,
                              Py_ssize_t out_size, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    # Output positions o with 0 <= o·stride + offset < size, as [lo, hi).
    lo[0] = max(<Py_ssize_t>0, _ceil_div(-offset, stride))
    hi[0] = min(out_size, _ceil_div(size - offset, stride))
    if hi[0] < lo[0]:
        hi[0] = lo[0]


cdef inline void _im2col_plane(const floating* src, floating* dst, Py_ssize_t row_stride,
                               Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH, Py_ssize_t KW,
                               Py_ssize_t SH, Py_ssize_t SW, Py_ssize_t PT, Py_ssize_t PL,
                               Py_ssize_t DH, Py_ssize_t DW, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    # src: one H×W input plane; dst: its first cols row (KH·KW rows, row_stride apart).
    cdef Py_ssize_t i, j, oh, ow, ih, oh_lo, oh_hi, ow_lo, ow_hi, off_w
    cdef floating* d
    cdef floating* r
    cdef const floating* s
    for i in range(KH):
        _valid_range(H, i * DH - PT, SH, OH, &oh_lo, &oh_hi)
        for j in range(KW):
            off_w = j * DW - PL
            _valid_range(W, off_w, SW, OW, &ow_lo, &ow_hi)
            d = dst + (i * KW + j) * row_stride
            if oh_lo > 0:
                memset(d, 0, oh_lo * OW * sizeof(floating))
            # Output rows are short (OW ~ 10-30): plain loops beat a memcpy/memset call per row.
            for oh in range(oh_lo, oh_hi):
                ih = oh * SH + i * DH - PT
                s = src + ih * W + off_w
                r = d + oh * OW
                for ow in range(ow_lo):
                    r[ow] = 0
                if SW == 1:
                    for ow in range(ow_lo, ow_hi):
                        r[ow] = s[ow]
                else:
                    for ow in range(ow_lo, ow_hi):
                        r[ow] = s[ow * SW]
                for ow in range(ow_hi, OW):
                    r[ow] = 0
            if oh_hi < OH:
                memset(d + oh_hi * OW, 0, (OH - oh_hi) * OW * sizeof(floating))


cdef inline void _col2im_plane(const floating* src, floating* dst, Py_ssize_t row_stride,
                               Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH, Py_ssize_t KW,
                               Py_ssize_t SH, Py_ssize_t SW, Py_ssize_t PT, Py_ssize_t PL,
                               Py_ssize_t DH, Py_ssize_t DW, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    # The adjoint of _im2col_plane: dst (one H×W plane) = sum over its KH·KW rows of src.
    cdef Py_ssize_t i, j, oh, ow, ih, oh_lo, oh_hi, ow_lo, ow_hi, off_w
    cdef const floating* s
    cdef floating* d
    memset(dst, 0, H * W * sizeof(floating))
    for i in range(KH):
        _valid_range(H, i * DH - PT, SH, OH, &oh_lo, &oh_hi)
        for j in range(KW):
            off_w = j * DW - PL
            _valid_range(W, off_w, SW, OW, &ow_lo, &ow_hi)
            s = src + (i * KW + j) * row_stride
            for oh in range(oh_lo, oh_hi):
                ih = oh * SH + i * DH - PT
                d = dst + ih * W + off_w
                if SW == 1:
                    for ow in range(ow_lo, ow_hi):
                        d[ow] += s[oh * OW + ow]
                else:
                    for ow in range(ow_lo, ow_hi):
                        d[ow * SW] += s[oh * OW + ow]


def _im2col(const floating[:, :, :, ::1] x, floating[:, ::1] cols,
            Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
            Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t DH, Py_ssize_t DW,
            Py_ssize_t OH, Py_ssize_t OW):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t t, n, c, row_stride = cols.shape[1]
    cdef Py_ssize_t OHW = OH * OW
    if N * C == 0 or OHW == 0:
        return
    # Pointers, strides and the thread count are read outside prange: a memoryview access inside it
    # gets an error exit out of the OpenMP block in the checked build (MINIGRAD_CYTHON_DEBUG=1),
    # which GCC rejects.
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef floating* cp = &cols[0, 0]
    cdef Py_ssize_t sN = x.strides[0] // sizeof(floating), sC = x.strides[1] // sizeof(floating)
    cdef int nthreads = _threads_for(N * C, row_stride * cols.shape[0], sizeof(floating))
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=nthreads):
            n = t // C
            c = t % C
            _im2col_plane(xp + n * sN + c * sC, cp + c * KH * KW * row_stride + n * OHW, row_stride,
                          H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW)


def _col2im(const floating[:, ::1] cols, floating[:, :, :, ::1] x,
            Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t SH, Py_ssize_t SW,
            Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t DH, Py_ssize_t DW,
            Py_ssize_t OH, Py_ssize_t OW):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t t, n, c, row_stride = cols.shape[1]
    cdef Py_ssize_t OHW = OH * OW
    if N * C * H * W == 0:
        return
    if OHW == 0:
        x[...] = 0
        return
    cdef const floating* cp = &cols[0, 0]  # outside prange, as in _im2col
    cdef floating* xp = &x[0, 0, 0, 0]
    cdef Py_ssize_t sN = x.strides[0] // sizeof(floating), sC = x.strides[1] // sizeof(floating)
    cdef int nthreads = _threads_for(N * C, row_stride * cols.shape[0], sizeof(floating))
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=nthreads):
            n = t // C
            c = t % C
            _col2im_plane(cp + c * KH * KW * row_stride + n * OHW, xp + n * sN + c * sC, row_stride,
                          H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW)


# A call to a fused def function matches the argument types at run time (several µs); conv calls
# these once per batch block, so the wrappers pick the specialisation by dtype instead.
_IM2COL = {np.dtype(np.float32): _im2col["float"], np.dtype(np.float64): _im2col["double"]}
_COL2IM = {np.dtype(np.float32): _col2im["float"], np.dtype(np.float64): _col2im["double"]}


def im2col(x, kernel_size, stride, padding, dilation, output_size, out):
    """cols (C·KH·KW, N·OH·OW) from x (N, C, H, W); see the module docstring for the layout.

    ``padding`` is (top, left); ``output_size`` (OH, OW); ``out`` a C-contiguous buffer of the
    right shape and dtype, or None to allocate one. Arguments are validated by the door.
    """
    N, C = x.shape[:2]
    (KH, KW), (SH, SW), (PT, PL), (DH, DW), (OH, OW) = kernel_size, stride, padding, dilation, output_size
    if out is None:
        out = np.empty((C * KH * KW, N * OH * OW), dtype=x.dtype)
    _IM2COL[x.dtype](x, out, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW)
    return out


def col2im(cols, input_shape, kernel_size, stride, padding, dilation, output_size, out):
    """x (N, C, H, W) = the adjoint of im2col applied to ``cols``: overlapping windows summed."""
    (KH, KW), (SH, SW), (PT, PL), (DH, DW), (OH, OW) = kernel_size, stride, padding, dilation, output_size
    if out is None:
        out = np.empty(input_shape, dtype=cols.dtype)
    _COL2IM[cols.dtype](cols, out, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW)
    return out
