# Shared kernel source of batchnorm_generic.pyx (baseline x86-64) and batchnorm_avx2.pyx (-mavx2
# -mfma): the same loops compiled twice; _ops picks one at import. See batchnorm_generic.pyx's docstring.
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from minigrad._ops.cpu cimport threads_for

cdef enum:
    # Bytes of x from which a second thread pays for its wake-up (32 Ki float32 elements); each
    # further thread needs half as many (docs/kernels.md). Train forward + backward reads x 3 times
    # and writes y and grad_x: the team is sized by x, the other passes scale with it.
    FIRST_BYTES = 1 << 17
    LANES = 16              # independent accumulators along a contiguous run (2 AVX2 registers of float)
    SEG = 256               # values per lane sum in the input dtype before it is folded into float64
    BLOCK_BYTES = 32768     # rows per two-pass block: the second pass must hit L1/L2


# ---------------------------------------------------------------- helpers on one contiguous run
# Sums along a run are accumulated in the input dtype over segments of SEG values (each of the LANES
# lane sums then has SEG/LANES = 16 terms, ~16 float32 roundings: ~1e-6 relative at worst), and the
# segment totals in float64. For float32 data that is 8 values per AVX2 instruction instead of 4
# float64 conversions and adds; over a whole channel the totals are still float64 sums.

cdef inline double _fold(floating* acc) noexcept nogil:
    cdef double s = 0
    cdef Py_ssize_t j
    for j in range(LANES):
        s += acc[j]
    return s


cdef inline double _run_sum(const floating* x, Py_ssize_t L, floating K) noexcept nogil:
    """Σ (x − K) over one run."""
    cdef floating acc[LANES]
    cdef double total = 0
    cdef Py_ssize_t s0 = 0, s1, i, j
    while s0 < L:
        s1 = min(s0 + SEG, L)
        for j in range(LANES):
            acc[j] = 0
        i = s0
        while i + LANES <= s1:
            for j in range(LANES):
                acc[j] += x[i + j] - K
            i += LANES
        for j in range(s1 - i):
            acc[j] += x[i + j] - K
        total += _fold(acc)
        s0 = s1
    return total


cdef inline double _run_sqdev(const floating* x, Py_ssize_t L, floating K, floating mu) noexcept nogil:
    """Σ ((x − K) − mu)² over one run (mu: the block mean of x − K, rounded to the input dtype,
    which moves M2 by m·(rounding)², negligible)."""
    cdef floating acc[LANES]
    cdef floating d
    cdef double total = 0
    cdef Py_ssize_t s0 = 0, s1, i, j
    while s0 < L:
        s1 = min(s0 + SEG, L)
        for j in range(LANES):
            acc[j] = 0
        i = s0
        while i + LANES <= s1:
            for j in range(LANES):
                d = (x[i + j] - K) - mu
                acc[j] += d * d
            i += LANES
        for j in range(s1 - i):
            d = (x[i + j] - K) - mu
            acc[j] += d * d
        total += _fold(acc)
        s0 = s1
    return total


cdef inline void _run_grad_sums(const floating* g, const floating* x, Py_ssize_t L, floating mu,
                                double* sum_g, double* sum_gxc) noexcept nogil:
    """Adds Σ g and Σ g·(x − mu) over one run to *sum_g, *sum_gxc."""
    cdef floating ag[LANES]
    cdef floating ax[LANES]
    cdef Py_ssize_t s0 = 0, s1, i, j
    while s0 < L:
        s1 = min(s0 + SEG, L)
        for j in range(LANES):
            ag[j] = 0
            ax[j] = 0
        i = s0
        while i + LANES <= s1:
            for j in range(LANES):
                ag[j] += g[i + j]
                ax[j] += g[i + j] * (x[i + j] - mu)
            i += LANES
        for j in range(s1 - i):
            ag[j] += g[i + j]
            ax[j] += g[i + j] * (x[i + j] - mu)
        sum_g[0] += _fold(ag)
        sum_gxc[0] += _fold(ax)
        s0 = s1


cdef inline void _chan_merge(double* cnt, double* mean, double* m2,
                             double cnt_b, double mean_b, double m2_b) noexcept nogil:
    """Merge (cnt_b, mean_b, M2_b) into (cnt, mean, M2): Chan, Golub & LeVeque's pairwise update."""
    cdef double n = cnt[0] + cnt_b
    cdef double d = mean_b - mean[0]
    mean[0] += d * cnt_b / n
    m2[0] += m2_b + d * d * cnt[0] * cnt_b / n
    cnt[0] = n


# ---------------------------------------------------------------- per-item statistics

cdef inline floating _shift_of(floating first) noexcept nogil:
    """The shift K of a channel: its first value, or 0 if that is ±inf or NaN (x − K would then be
    NaN everywhere: the mean of a channel holding +inf must come out +inf, as in PyTorch)."""
    return first if first - first == 0 else 0


cdef void _rows_stats(const floating* x, Py_ssize_t C, Py_ssize_t L, Py_ssize_t c,
                      Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t nb, floating K,
                      double* mean, double* m2) noexcept nogil:
    """Mean − K and M2 = Σ(x − mean)² of channel c over rows n0..n1-1 (L > 1)."""
    cdef Py_ssize_t b0 = n0, b1, n
    cdef double cnt = 0, bsum, bmean, bm2
    mean[0] = 0
    m2[0] = 0
    while b0 < n1:
        b1 = min(b0 + nb, n1)
        bsum = 0
        for n in range(b0, b1):
            bsum = bsum + _run_sum(x + (n * C + c) * L, L, K)
        bmean = bsum / ((b1 - b0) * L)
        bm2 = 0
        for n in range(b0, b1):
            bm2 = bm2 + _run_sqdev(x + (n * C + c) * L, L, K, <floating>bmean)
        _chan_merge(&cnt, mean, m2, <double>((b1 - b0) * L), bmean, bm2)
        b0 = b1


cdef void _cols_stats(const floating* x, const floating* K, Py_ssize_t C, Py_ssize_t n0,
                      Py_ssize_t n1, Py_ssize_t nb, double* acc, double* bmean,
                      double* mean, double* m2) noexcept nogil:
    """Mean − K[j] and M2 of every channel j over rows n0..n1-1 of an (N, C) array; acc and bmean
    are scratch rows of C doubles owned by the calling item."""
    cdef Py_ssize_t b0 = n0, b1, n, j
    cdef const floating* r0
    cdef double cnt = 0, bcnt, tot, d, wb, wm2
    cdef floating bm, d0, d1, d2, d3
    for j in range(C):
        mean[j] = 0
        m2[j] = 0
    while b0 < n1:
        b1 = min(b0 + nb, n1)
        bcnt = b1 - b0
        for j in range(C):
            acc[j] = 0
        # Four rows per sweep: the accumulators (in L1, not registers) are loaded and stored once
        # per four rows instead of once per row, and the four terms are added in the input dtype
        # (one float→double conversion per four values; x − K is exact for values within a
        # factor 2 of each other, so large-mean data loses nothing here).
        n = b0
        while n + 4 <= b1:
            r0 = x + n * C
            for j in range(C):
                acc[j] += <double>(((r0[j] - K[j]) + (r0[C + j] - K[j]))
                                   + ((r0[2 * C + j] - K[j]) + (r0[3 * C + j] - K[j])))
            n += 4
        while n < b1:
            r0 = x + n * C
            for j in range(C):
                acc[j] += r0[j] - <double>K[j]
            n += 1
        for j in range(C):
            bmean[j] = acc[j] / bcnt
            acc[j] = 0
        n = b0
        while n + 4 <= b1:
            r0 = x + n * C
            for j in range(C):
                bm = <floating>bmean[j]  # M2 about the rounded block mean: off by cnt·(rounding)²
                d0 = (r0[j] - K[j]) - bm
                d1 = (r0[C + j] - K[j]) - bm
                d2 = (r0[2 * C + j] - K[j]) - bm
                d3 = (r0[3 * C + j] - K[j]) - bm
                acc[j] += <double>((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3))
            n += 4
        while n < b1:
            r0 = x + n * C
            for j in range(C):
                d = (r0[j] - <double>K[j]) - bmean[j]
                acc[j] += d * d
            n += 1
        # Chan merge, written out per column: every column of the item has the same counts, so the
        # count ratios are computed once per block (a division per column cost ~10% of a 256 x 1024
        # forward on Zen 3).
        tot = cnt + bcnt
        wb = bcnt / tot
        wm2 = cnt * wb
        for j in range(C):
            d = bmean[j] - mean[j]
            mean[j] += d * wb
            m2[j] += acc[j] + d * d * wm2
        cnt = tot
        b0 = b1


cdef void _rows_grad_sums(const floating* g, const floating* x, Py_ssize_t C, Py_ssize_t L,
                          Py_ssize_t c, Py_ssize_t n0, Py_ssize_t n1, floating mu,
                          double* sum_g, double* sum_gxc) noexcept nogil:
    cdef Py_ssize_t n, off
    sum_g[0] = 0
    sum_gxc[0] = 0
    for n in range(n0, n1):
        off = (n * C + c) * L
        _run_grad_sums(g + off, x + off, L, mu, sum_g, sum_gxc)


cdef void _cols_grad_sums(const floating* g, const floating* x, const floating* mean,
                          Py_ssize_t C, Py_ssize_t n0, Py_ssize_t n1,
                          double* sum_g, double* sum_gxc) noexcept nogil:
    """Σ g and Σ g·(x − μ_B) of every channel over rows n0..n1-1 of an (N, C) array."""
    cdef Py_ssize_t n = n0, j
    cdef const floating* gr
    cdef const floating* xr
    for j in range(C):
        sum_g[j] = 0
        sum_gxc[j] = 0
    while n + 4 <= n1:  # four rows per sweep, as in _cols_stats
        gr = g + n * C
        xr = x + n * C
        for j in range(C):  # four terms in the input dtype, as in _cols_stats
            sum_g[j] += <double>((gr[j] + gr[C + j]) + (gr[2 * C + j] + gr[3 * C + j]))
            sum_gxc[j] += <double>((gr[j] * (xr[j] - mean[j]) + gr[C + j] * (xr[C + j] - mean[j]))
                                   + (gr[2 * C + j] * (xr[2 * C + j] - mean[j])
                                      + gr[3 * C + j] * (xr[3 * C + j] - mean[j])))
        n += 4
    while n < n1:
        gr = g + n * C
        xr = x + n * C
        for j in range(C):
            sum_g[j] += gr[j]
            sum_gxc[j] += gr[j] * (<double>xr[j] - mean[j])
        n += 1


# ---------------------------------------------------------------- per-item elementwise passes

cdef void _rows_normalize(const floating* x, floating* y, Py_ssize_t C, Py_ssize_t L,
                          Py_ssize_t c, Py_ssize_t n0, Py_ssize_t n1, floating mu_hi,
                          floating scale, floating shift) noexcept nogil:
    """y = (x − μ_B)·(γ·inv_std) + β on channel c, in the input dtype, computed as
    (x − mu_hi)·scale + shift: μ_B is the float64 mean split as mu_hi + mu_lo (mu_hi in the input
    dtype, mu_lo folded into shift = β − mu_lo·scale by _finish_stats). x − mu_hi is exact for x
    near the mean, so large-mean data (1e4 + randn in float32) keeps full precision instead of losing
    ~1e-3 to rounding μ_B."""
    cdef Py_ssize_t n, i, off
    for n in range(n0, n1):
        off = (n * C + c) * L
        for i in range(L):
            y[off + i] = (x[off + i] - mu_hi) * scale + shift


cdef void _cols_normalize(const floating* x, floating* y, const floating* mu_hi,
                          const floating* scale, const floating* shift,
                          Py_ssize_t C, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t n0,
                          Py_ssize_t n1) noexcept nogil:
    # One row per sweep: GCC vectorizes this after a runtime check that y does not overlap the
    # inputs; unrolling over rows here defeats that check and leaves scalar code.
    cdef Py_ssize_t n, j, off
    for n in range(n0, n1):
        off = n * C
        for j in range(c0, c1):
            y[off + j] = (x[off + j] - mu_hi[j]) * scale[j] + shift[j]


cdef void _rows_grad_input(const floating* g, const floating* x, floating* gx, Py_ssize_t C,
                           Py_ssize_t L, Py_ssize_t c, Py_ssize_t n0, Py_ssize_t n1,
                           floating mu, floating k, floating p, floating q) noexcept nogil:
    """grad_x = k·g + p·(x − μ_B) + q on channel c (coefficients from _grad_coefficients)."""
    cdef Py_ssize_t n, i, off
    for n in range(n0, n1):
        off = (n * C + c) * L
        for i in range(L):
            gx[off + i] = k * g[off + i] + p * (x[off + i] - mu) + q


cdef void _cols_grad_input(const floating* g, const floating* x, floating* gx,
                           const floating* mean, const floating* k, const floating* p,
                           const floating* q, Py_ssize_t C, Py_ssize_t c0, Py_ssize_t c1,
                           Py_ssize_t n0, Py_ssize_t n1) noexcept nogil:
    cdef Py_ssize_t n, j, off
    for n in range(n0, n1):
        off = n * C
        for j in range(c0, c1):
            gx[off + j] = k[j] * g[off + j] + p[j] * (x[off + j] - mean[j]) + q[j]


# ---------------------------------------------------------------- per-channel scalars

cdef inline void _finish_stats(Py_ssize_t c, double mu, double m2, double m, double eps,
                               const floating* weight, const floating* bias, floating* mean,
                               floating* var, floating* inv_std, floating* scale,
                               floating* shift) noexcept nogil:
    """σ²_B = M2/m (biased), inv_std = 1/sqrt(σ²_B + eps), scale = γ·inv_std; μ_B = mean + mu_lo
    with mean = μ_B rounded to the input dtype, and shift = β − mu_lo·scale, so that
    y = (x − mean)·scale + shift."""
    cdef double v = m2 / m
    cdef double istd = 1.0 / sqrt(v + eps)
    cdef double sc = weight[c] * istd
    mean[c] = <floating>mu
    var[c] = <floating>v
    inv_std[c] = <floating>istd
    scale[c] = <floating>sc
    shift[c] = <floating>(bias[c] - (mu - mean[c]) * sc)


cdef inline void _grad_coefficients(Py_ssize_t c, double sum_g, double sum_gxc, double m,
                                    const floating* inv_std, const floating* weight,
                                    floating* grad_weight, floating* grad_bias,
                                    floating* k, floating* p, floating* q) noexcept nogil:
    """From grad_x = γ·inv_std/m·(m·g − Σg − x̂·Σg·x̂) with x̂ = (x − μ_B)·inv_std:
    k = γ·inv_std, p = −k·inv_std·(Σg·x̂)/m, q = −k·Σg/m; grad_γ = Σg·x̂, grad_β = Σg."""
    cdef double istd = inv_std[c]
    cdef double sum_gxhat = sum_gxc * istd
    cdef double kc = weight[c] * istd
    grad_bias[c] = <floating>sum_g
    grad_weight[c] = <floating>sum_gxhat
    k[c] = <floating>kc
    p[c] = <floating>(-kc * istd * sum_gxhat / m)
    q[c] = <floating>(-kc * sum_g / m)


# ---------------------------------------------------------------- the plan shared by both passes

cdef inline int _threads_for(Py_ssize_t n, Py_ssize_t itemsize) noexcept nogil:
    """Team for a pass over x (n elements)."""
    return threads_for(<double>n * itemsize, FIRST_BYTES, FIRST_BYTES // 2)


cdef struct Plan:
    Py_ssize_t N, C, L
    int threads
    bint cols          # L == 1: columns path
    Py_ssize_t group   # channels per group
    Py_ssize_t G, S    # groups, splits over n
    Py_ssize_t nb      # rows per two-pass block


cdef Plan _plan(Py_ssize_t N, Py_ssize_t C, Py_ssize_t L, Py_ssize_t itemsize):
    cdef Plan pl
    pl.N, pl.C, pl.L = N, C, L
    pl.threads = _threads_for(N * C * L, itemsize)
    pl.cols = L == 1
    if pl.cols:
        # One group of all C channels, split over n: a block of rows is one contiguous range.
        # (Groups of columns would stride over rows, and with power-of-two C every row of a group
        # lands in the same cache sets, so the second pass no longer hits L1/L2.)
        pl.group = C
        pl.G = 1
        pl.S = min(<Py_ssize_t>pl.threads, N)
    else:
        pl.group = 1
        pl.G = C
        # Split over n only when the channels cannot be shared evenly (S = 1 keeps the passes
        # fused: y is written while the channel is still in cache).
        if pl.G >= 2 * pl.threads or pl.G % pl.threads == 0:
            pl.S = 1
        else:
            pl.S = min(<Py_ssize_t>pl.threads, N)
    pl.nb = max(1, BLOCK_BYTES // (pl.group * L * itemsize))
    return pl


cdef struct Item:
    Py_ssize_t s, c0, c1, n0, n1  # split index, channels c0..c1-1, rows n0..n1-1


cdef inline Item _item(Plan* pl, Py_ssize_t i) noexcept nogil:
    # Returned by value: prange must see each item variable assigned in the loop body to make it
    # thread-private (an assignment through a pointer would leave it shared: a data race).
    cdef Item it
    it.s = i % pl.S
    it.c0 = (i // pl.S) * pl.group
    it.c1 = min(it.c0 + pl.group, pl.C)
    it.n0 = it.s * pl.N // pl.S
    it.n1 = (it.s + 1) * pl.N // pl.S
    return it


cdef inline void _merge_splits(Plan* pl, Py_ssize_t c, const double* pmean, const double* pm2,
                               const floating* K, double m, double eps, const floating* weight,
                               const floating* bias, floating* mean, floating* var,
                               floating* inv_std, floating* scale, floating* shift) noexcept nogil:
    """Channel c's statistics from its S per-split (mean − K, M2) pairs (row s·C of pmean, pm2),
    merged with Chan's formula; then _finish_stats. One channel per call: the channels run in
    parallel (serially, this merge of C = 1024 channels was a sixth of the 2-D forward)."""
    cdef double cnt = 0, mu = 0, m2 = 0
    cdef Py_ssize_t s
    for s in range(pl.S):
        _chan_merge(&cnt, &mu, &m2, <double>(((s + 1) * pl.N // pl.S - s * pl.N // pl.S) * pl.L),
                    pmean[s * pl.C + c], pm2[s * pl.C + c])
    _finish_stats(c, K[c] + mu, m2, m, eps, weight, bias, mean, var, inv_std, scale, shift)


cdef inline void _sum_splits(Plan* pl, Py_ssize_t c, const double* psg, const double* psgx, double m,
                             const floating* inv_std, const floating* weight,
                             floating* grad_weight, floating* grad_bias,
                             floating* k, floating* p, floating* q) noexcept nogil:
    """Channel c's Σ g and Σ g·(x − μ_B) summed over the S splits, then _grad_coefficients."""
    cdef double sg = 0, sgx = 0
    cdef Py_ssize_t s
    for s in range(pl.S):
        sg += psg[s * pl.C + c]
        sgx += psgx[s * pl.C + c]
    _grad_coefficients(c, sg, sgx, m, inv_std, weight, grad_weight, grad_bias, k, p, q)


cdef inline void _normalize_item(Plan* pl, Item it, const floating* x, floating* y,
                                 const floating* mean, const floating* scale,
                                 const floating* shift) noexcept nogil:
    if pl.cols:
        _cols_normalize(x, y, mean, scale, shift, pl.C, it.c0, it.c1, it.n0, it.n1)
    else:
        _rows_normalize(x, y, pl.C, pl.L, it.c0, it.n0, it.n1, mean[it.c0], scale[it.c0],
                        shift[it.c0])


cdef inline void _grad_input_item(Plan* pl, Item it, const floating* g, const floating* x,
                                  floating* gx, const floating* mean, const floating* k,
                                  const floating* p, const floating* q) noexcept nogil:
    if pl.cols:
        _cols_grad_input(g, x, gx, mean, k, p, q, pl.C, it.c0, it.c1, it.n0, it.n1)
    else:
        _rows_grad_input(g, x, gx, pl.C, pl.L, it.c0, it.n0, it.n1, mean[it.c0], k[it.c0],
                         p[it.c0], q[it.c0])


# ---------------------------------------------------------------- training forward

cdef void _stats_item(Plan* pl, Item it, const floating* xp, floating* yp, const floating* K,
                      Py_ssize_t width, double* acc, double* bmean, double* pmean, double* pm2,
                      double m, double eps, const floating* weight, const floating* bias,
                      floating* mean, floating* var, floating* inv_std, floating* scale,
                      floating* shift) noexcept nogil:
    """One item of the forward's first pass: its split's statistics and, when the item owns its
    channels (S = 1), their finish and y, written while x is still cached."""
    cdef Py_ssize_t c
    if pl.cols:
        _cols_stats(xp, K, pl.C, it.n0, it.n1, pl.nb, acc + it.s * width, bmean + it.s * width,
                    pmean + it.s * pl.C, pm2 + it.s * pl.C)
    else:
        _rows_stats(xp, pl.C, pl.L, it.c0, it.n0, it.n1, pl.nb, K[it.c0],
                    pmean + it.s * pl.C + it.c0, pm2 + it.s * pl.C + it.c0)
    if pl.S == 1:
        for c in range(it.c0, it.c1):
            _finish_stats(c, K[c] + pmean[c], pm2[c], m, eps, weight, bias, mean, var, inv_std, scale, shift)
        _normalize_item(pl, it, xp, yp, mean, scale, shift)


def _forward_train(const floating[:, :, ::1] x, floating[:, :, ::1] y,
                   const floating[::1] weight, const floating[::1] bias, double eps,
                   floating[::1] mean, floating[::1] var, floating[::1] inv_std):
    cdef Plan pl = _plan(x.shape[0], x.shape[1], x.shape[2], sizeof(floating))
    # Scratch, one malloc (numpy arrays and their memoryviews cost ~3 µs a call on Zen 3, most of a
    # small layer's kernel time). pmean, pm2 (S × C): per split s and channel c, mean − K_c and M2
    # over the split's rows (row 0 is final when S = 1). The shift K_c (the channel's first value, see
    # _shift_of) keeps the merged block means O(σ) even for 1e6 + randn data, so the Chan merges lose
    # nothing to rounding the means themselves. acc, bmean (S × width, columns path only): per-split
    # block sums and block means. scale, shift, K: per channel.
    cdef Py_ssize_t width = pl.C if pl.cols else 1
    cdef double* pmean = <double*>malloc((2 * pl.S * (pl.C + width)) * sizeof(double)
                                         + 3 * pl.C * sizeof(floating))
    if pmean == NULL:
        raise MemoryError("batch_norm_forward_train: scratch allocation failed")
    cdef double* pm2 = pmean + pl.S * pl.C
    cdef double* acc = pm2 + pl.S * pl.C
    cdef double* bmean = acc + pl.S * width
    cdef floating* scale = <floating*>(bmean + pl.S * width)  # γ·inv_std and β − mu_lo·scale
    cdef floating* shift = scale + pl.C
    cdef floating* K = shift + pl.C
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* yp = &y[0, 0, 0]
    cdef double m = <double>(pl.N * pl.L)
    cdef Py_ssize_t i, c
    cdef Item it
    with nogil:
        for c in range(pl.C):
            K[c] = _shift_of(xp[c * pl.L])
        if pl.threads == 1:  # (then S = 1) no OpenMP region: entering one costs ~1 µs on Zen 4, even alone
            for i in range(pl.G):
                _stats_item(&pl, _item(&pl, i), xp, yp, K, width, acc, bmean, pmean, pm2, m, eps,
                            &weight[0], &bias[0], &mean[0], &var[0], &inv_std[0], scale, shift)
        else:
            for i in prange(pl.G * pl.S, schedule="dynamic", num_threads=pl.threads):
                it = _item(&pl, i)
                _stats_item(&pl, it, xp, yp, K, width, acc, bmean, pmean, pm2, m, eps,
                            &weight[0], &bias[0], &mean[0], &var[0], &inv_std[0], scale, shift)
        if pl.S > 1:
            for c in prange(pl.C, schedule="static", num_threads=pl.threads):
                _merge_splits(&pl, c, pmean, pm2, K, m, eps, &weight[0], &bias[0],
                              &mean[0], &var[0], &inv_std[0], scale, shift)
            for i in prange(pl.G * pl.S, schedule="dynamic", num_threads=pl.threads):
                it = _item(&pl, i)
                _normalize_item(&pl, it, xp, yp, &mean[0], scale, shift)
    free(pmean)


def batch_norm_forward_train(x, weight, bias, eps):
    """Training-mode forward of x (N, C) or (N, C, L), C-contiguous, N·L >= 1; weight/bias (C,) or
    None (γ = 1, β = 0).

    Returns (y, mean, var, inv_std): μ_B, the biased σ²_B and 1/sqrt(σ²_B + eps) per channel.
    """
    N, C = x.shape[0], x.shape[1]
    x3 = x.reshape(N, C, -1)
    y = np.empty_like(x)
    mean, var, inv_std = (np.empty(C, x.dtype) for _ in range(3))
    weight = np.ones(C, x.dtype) if weight is None else weight
    bias = np.zeros(C, x.dtype) if bias is None else bias
    _forward_train(x3, y.reshape(x3.shape), weight, bias, eps, mean, var, inv_std)
    return y, mean, var, inv_std


# ---------------------------------------------------------------- eval forward

cdef inline void _eval_sample(const floating* x, floating* y, const floating* scale,
                              const floating* shift, Py_ssize_t C, Py_ssize_t L) noexcept nogil:
    """y = x·scale[c] + shift[c] over C channels of L values each: one sample, or one (sample,
    channel) row with C = 1."""
    cdef Py_ssize_t i, c
    if L == 1:
        for c in range(C):
            y[c] = x[c] * scale[c] + shift[c]
    else:
        for c in range(C):
            for i in range(c * L, (c + 1) * L):
                y[i] = x[i] * scale[c] + shift[c]


def _forward_eval(const floating[:, :, ::1] x, floating[:, :, ::1] y, const floating[::1] weight,
                  const floating[::1] bias, const floating[::1] running_mean,
                  const floating[::1] running_var, double eps):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], L = x.shape[2], r, n, c
    cdef int threads = _threads_for(N * C * L, sizeof(floating))
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* yp = &y[0, 0, 0]
    # scale[c], shift[c] in float64, rounded once to the input dtype: the numpy twin's arithmetic
    cdef floating* scale = <floating*>malloc(2 * C * sizeof(floating))
    if scale == NULL:
        raise MemoryError("batch_norm_forward_eval: scratch allocation failed")
    cdef floating* shift = scale + C
    cdef double inv_std, sc
    with nogil:
        for c in range(C):
            inv_std = 1.0 / sqrt(<double>running_var[c] + eps)
            sc = <double>weight[c] * inv_std
            scale[c] = <floating>sc
            shift[c] = <floating>(<double>bias[c] - <double>running_mean[c] * sc)
        if threads == 1:  # no OpenMP region: entering one costs ~1 µs on Zen 4, even alone
            for n in range(N):
                _eval_sample(xp + n * C * L, yp + n * C * L, scale, shift, C, L)
        elif L == 1:
            for n in prange(N, schedule="static", num_threads=threads):
                _eval_sample(xp + n * C, yp + n * C, scale, shift, C, 1)
        else:  # parallel over (sample, channel) rows: N alone may be smaller than the team
            for r in prange(N * C, schedule="static", num_threads=threads):
                c = r % C
                _eval_sample(xp + r * L, yp + r * L, scale + c, shift + c, 1, L)
    free(scale)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps):
    """y = x·scale[c] + shift[c] for x (N, C) or (N, C, L), C-contiguous, with
    scale = γ/sqrt(running_var + eps) and shift = β − running_mean·scale computed from the buffers in
    the same call (weight, bias None: γ = 1, β = 0)."""
    y = np.empty_like(x)
    if x.size:
        C = x.shape[1]
        x3 = x.reshape(x.shape[0], C, -1)
        _forward_eval(x3, y.reshape(x3.shape), np.ones(C, x.dtype) if weight is None else weight,
                      np.zeros(C, x.dtype) if bias is None else bias, running_mean, running_var, eps)
    return y


# ---------------------------------------------------------------- backward

cdef void _grad_sums_item(Plan* pl, Item it, const floating* gp, const floating* xp, floating* gxp,
                          const floating* mean, double* psg, double* psgx, double m,
                          const floating* inv_std, const floating* weight, floating* grad_weight,
                          floating* grad_bias, floating* k, floating* p, floating* q) noexcept nogil:
    """One item of the backward's first pass: its split's Σ g and Σ g·(x − μ_B) and, when the item
    owns its channels (S = 1), their coefficients and grad_x, written while (g, x) are cached."""
    cdef Py_ssize_t c
    if pl.cols:
        _cols_grad_sums(gp, xp, mean, pl.C, it.n0, it.n1, psg + it.s * pl.C, psgx + it.s * pl.C)
    else:
        _rows_grad_sums(gp, xp, pl.C, pl.L, it.c0, it.n0, it.n1, mean[it.c0],
                        psg + it.s * pl.C + it.c0, psgx + it.s * pl.C + it.c0)
    if pl.S == 1:
        for c in range(it.c0, it.c1):
            _grad_coefficients(c, psg[c], psgx[c], m, inv_std, weight, grad_weight, grad_bias, k, p, q)
        _grad_input_item(pl, it, gp, xp, gxp, mean, k, p, q)


def _backward(const floating[:, :, ::1] g, const floating[:, :, ::1] x,
              const floating[::1] mean, const floating[::1] inv_std, const floating[::1] weight,
              floating[:, :, ::1] gx, floating[::1] grad_weight, floating[::1] grad_bias):
    cdef Plan pl = _plan(x.shape[0], x.shape[1], x.shape[2], sizeof(floating))
    # Scratch, one malloc as in _forward_train: psg, psgx (S × C), per split s and channel c, Σ g
    # and Σ g·(x − μ_B) over the split's rows; k, p, q (C): the grad_x coefficients.
    cdef double* psg = <double*>malloc(2 * pl.S * pl.C * sizeof(double) + 3 * pl.C * sizeof(floating))
    if psg == NULL:
        raise MemoryError("batch_norm_backward: scratch allocation failed")
    cdef double* psgx = psg + pl.S * pl.C
    cdef floating* k = <floating*>(psgx + pl.S * pl.C)
    cdef floating* p = k + pl.C
    cdef floating* q = p + pl.C
    cdef const floating* gp = &g[0, 0, 0]
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* gxp = &gx[0, 0, 0]
    cdef double m = <double>(pl.N * pl.L)
    cdef Py_ssize_t i, c
    cdef Item it
    with nogil:
        if pl.threads == 1:  # (then S = 1) no OpenMP region, as in _forward_train
            for i in range(pl.G):
                _grad_sums_item(&pl, _item(&pl, i), gp, xp, gxp, &mean[0], psg, psgx, m, &inv_std[0],
                                &weight[0], &grad_weight[0], &grad_bias[0], k, p, q)
        else:
            for i in prange(pl.G * pl.S, schedule="dynamic", num_threads=pl.threads):
                it = _item(&pl, i)
                _grad_sums_item(&pl, it, gp, xp, gxp, &mean[0], psg, psgx, m, &inv_std[0],
                                &weight[0], &grad_weight[0], &grad_bias[0], k, p, q)
        if pl.S > 1:
            for c in prange(pl.C, schedule="static", num_threads=pl.threads):
                _sum_splits(&pl, c, psg, psgx, m, &inv_std[0], &weight[0],
                            &grad_weight[0], &grad_bias[0], k, p, q)
            for i in prange(pl.G * pl.S, schedule="dynamic", num_threads=pl.threads):
                it = _item(&pl, i)
                _grad_input_item(&pl, it, gp, xp, gxp, &mean[0], k, p, q)
    free(psg)


def batch_norm_backward(grad_out, x, mean, inv_std, weight):
    """Gradients of the training-mode forward: (grad_x, grad_weight, grad_bias).

    All arrays C-contiguous, grad_out shaped like x; mean and inv_std as returned by the forward.
    grad_β = Σ g, grad_γ = Σ g·x̂, grad_x = γ·inv_std/m·(m·g − Σg − x̂·Σg·x̂); weight None means γ = 1.
    """
    N, C = x.shape[0], x.shape[1]
    x3 = x.reshape(N, C, -1)
    grad_x = np.empty_like(x)
    grad_weight, grad_bias = np.empty(C, x.dtype), np.empty(C, x.dtype)
    weight = np.ones(C, x.dtype) if weight is None else weight
    _backward(grad_out.reshape(x3.shape), x3, mean, inv_std, weight, grad_x.reshape(x3.shape),
              grad_weight, grad_bias)
    return grad_x, grad_weight, grad_bias
