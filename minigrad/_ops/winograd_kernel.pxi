# Winograd F(2×2, 3×3) convolution, included by gemm_kernel.pxi after conv_kernel.pxi: a 3 x 3,
# stride-1, one-group convolution as 16 small GEMMs on the GEMM's own _gemm_thread (spec:
# reference.conv2d_winograd; error bound and measurements: docs/kernels.md).
#
# A 2 x 2 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A summed over the input channels, for its 4 x 4
# input tile d (tiles step by 2) and each 3 x 3 filter g: with U_ξ = (G g Gᵀ)[ξ] as a Cout x C
# matrix and V_ξ = (Bᵀ d B)[ξ] as C x tiles, the 16 positions ξ of a 4 x 4 tile are 16 products
# M_ξ = U_ξ · V_ξ (2.25x fewer multiplications than the 36 of a direct 2 x 2 tile), and
# y tile = Aᵀ M A. U is computed once per call (16·Cout·C values). The tiles of the batch (sample,
# tile row, tile column) are cut into blocks of T tiles, whole blocks per thread: each thread
# transforms its block's input into V (16 x C x T), runs the 16 products into M (16 x Cout x T),
# and transforms M into y (+ bias); V and M are sized to stay in L2. Scratch: U, then per thread
# V, M and one B~ and A~ block; none of it grows with the batch.
#
# Non-finite values: an inf or NaN in a tile reaches all 4 outputs of the tile (and inf - inf in
# the transforms makes NaN), where a direct convolution puts it only in the outputs that read it.
# So when an output comes out non-finite the call is redone by the implicit GEMM
# (conv2d_forward): the result then has PyTorch's inf/NaN pattern.

cdef extern from *:
    """
    /* The tile transforms. IN, per two pieces of tile rows (na, nb <= WINO_PIECE tiles: 7
       floats or 3 doubles, so that the 2n + 2 columns under a piece fit one vector; a 14 x 14
       image's tile row has 7 tiles, and two of them fill a float vector): v[ξ·vs + k] =
       (Bᵀ d B)[ξ] for tile k's 4 x 4 input d, d[r][q] = pa[r][ca + 2k + q] for k < na and
       pb[r][cb + 2(k − na) + q] for na <= k < na + nb, 0 where that column is outside 0 .. W − 1
       (the padding) or the row pointer is NULL (a padding row): read straight from x, with no
       padded copy of its rows and no gathered 4 x 4 inputs in memory. Bᵀ's rows: d0 − d2,
       d1 + d2, d2 − d1, d1 − d3; the rows are combined first (whole vectors), then each
       combination's 4 columns picked per tile by one permutation each and combined by B.
       v[ξ·vs + na + nb ..] may be written too (up to 16 floats or 8 doubles from v[ξ·vs]).
       OUT, per two pieces likewise (m: M_ξ of the first tile at m[ξ·ms]): the 2 x 2 outputs
       (Aᵀ M A)[i, j] + b of tile k (Aᵀ's rows: m0 + m1 + m2, m1 − m2 − m3) go to ya[i][2k + j]
       for k < na and yb[i][2(k − na) + j] for the rest, the first wa (wb) of each row only (cut
       at the edge; a NULL row is below the image). Returns nonzero if one of them is inf or NaN
       (v − v is then NaN). m[ξ·ms + na + nb ..] may be read (up to 16 floats, 8 doubles).
       With AVX-512, IN loads 8 rows masked (masked-off lanes do not touch memory, so the
       padding costs nothing) and OUT interleaves each output row by one permutation and a
       masked store; with AVX2 the same one piece at a time, in 8-lane vectors (two halves of a
       piece's 16 float columns); with SSE2 in 4-lane vectors (the lanes of a vector across an
       edge read one by one); elsewhere a loop per tile. The same operations in the same order
       in every build: bit-identical V and y.
       Not inlined: inlined into Cython's OpenMP function the loops lost their restrict and
       stayed scalar (GCC 12). */
    #if defined(__GNUC__)
    #define MG_WINO_NOINLINE __attribute__((noinline))
    #else
    #define MG_WINO_NOINLINE
    #endif
    #if defined(__AVX512F__) || defined(__AVX2__)
    #include <immintrin.h>
    #elif defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* the cache lines of p[0 .. bytes − 1], for reading */
    static void mg_wino_prefetch(const char *p, Py_ssize_t bytes) {
    #if defined(__GNUC__)
        Py_ssize_t i;
        for (i = 0; i < bytes; i += 64)
            __builtin_prefetch(p + i, 0, 3);
    #endif
    }
    /* y[2i + j] = (Aᵀ M A)[i, j] + B for M_ξ = M(ξ) (type V); z is NaN if one of them is inf
       or NaN (v − v is then NaN) */
    #define MG_WINO_AT(V, M, B)                                                                  \\
        {                                                                                        \\
            V s0 = M(0) + M(4) + M(8), s1 = M(1) + M(5) + M(9);  /* row 0 of Aᵀ M */             \\
            V s2 = M(2) + M(6) + M(10), s3 = M(3) + M(7) + M(11);                                \\
            y[0] = s0 + s1 + s2 + B, y[1] = s1 - s2 - s3 + B;  /* times A */                     \\
            s0 = M(4) - M(8) - M(12), s1 = M(5) - M(9) - M(13);  /* row 1 */                     \\
            s2 = M(6) - M(10) - M(14), s3 = M(7) - M(11) - M(15);                                \\
            y[2] = s0 + s1 + s2 + B, y[3] = s1 - s2 - s3 + B;                                    \\
            z = ((y[0] - y[0]) + (y[1] - y[1])) + ((y[2] - y[2]) + (y[3] - y[3]));               \\
        }
    #if defined(__AVX512F__)
    /* lanes lo .. hi - 1 of a 16-lane mask (none when hi <= lo) */
    static inline unsigned mg_wino_lanes(Py_ssize_t lo, Py_ssize_t hi) {
        lo = lo < 0 ? 0 : lo, hi = hi > 16 ? 16 : hi;
        return hi <= lo ? 0u : ((1u << hi) - 1) & ~((1u << lo) - 1);
    }
    /* src[c0 .. c0 + L − 1] in lanes 0 .. L − 1 (L <= 16 floats, 8 doubles), zero outside
       columns 0 .. W − 1 and when src is NULL */
    static inline __m512 mg_wino_row_f(const float *src, Py_ssize_t c0, Py_ssize_t L, Py_ssize_t W) {
        if (!src)
            return _mm512_setzero_ps();
        return _mm512_maskz_loadu_ps((__mmask16)mg_wino_lanes(-c0, W - c0 < L ? W - c0 : L), src + c0);
    }
    static inline __m512d mg_wino_row_d(const double *src, Py_ssize_t c0, Py_ssize_t L, Py_ssize_t W) {
        if (!src)
            return _mm512_setzero_pd();
        return _mm512_maskz_loadu_pd((__mmask8)(mg_wino_lanes(-c0, W - c0 < L ? W - c0 : L) & 0xFF),
                                     src + c0);
    }
    /* Bᵀ d B of one row of 4 rows: t[r] = rows X OP Y (Bᵀ's row r), then its columns 2k + q
       (q < 4) picked per lane k by idx + q and combined by B */
    #define MG_WINO_TIN(V, PERM, ADD, SET1)                                                      \\
        V t[4], u[4];                                                                            \\
        int r, q;                                                                                \\
        t[0] = ra[0] - ra[2], t[1] = ra[1] + ra[2], t[2] = ra[2] - ra[1], t[3] = ra[1] - ra[3];   \\
        u[0] = rb[0] - rb[2], u[1] = rb[1] + rb[2], u[2] = rb[2] - rb[1], u[3] = rb[1] - rb[3];   \\
        for (r = 0; r < 4; r++) {                                                                \\
            V col[4];                                                                            \\
            for (q = 0; q < 4; q++)                                                              \\
                col[q] = PERM(t[r], ADD(idx, SET1(q)), u[r]);                                    \\
            STORE(v + (4 * r) * vs, col[0] - col[2]);                                            \\
            STORE(v + (4 * r + 1) * vs, col[1] + col[2]);                                        \\
            STORE(v + (4 * r + 2) * vs, col[2] - col[1]);                                        \\
            STORE(v + (4 * r + 3) * vs, col[1] - col[3]);                                        \\
        }
    static MG_WINO_NOINLINE void mg_wino_in_f(const float *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const float *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, float *v, Py_ssize_t vs) {
        const __m512i two_i = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8,
                                                                 7, 6, 5, 4, 3, 2, 1, 0), 1);
        /* lane k < na: column 2k + q of a; lane k >= na: 2(k − na) + q of b (index 16 + ...) */
        const __m512i idx = _mm512_mask_blend_epi32((__mmask16)((1u << na) - 1),
            _mm512_add_epi32(two_i, _mm512_set1_epi32((int)(16 - 2 * na))), two_i);
        __m512 ra[4], rb[4];
        int i;
        for (i = 0; i < 4; i++) {
            ra[i] = mg_wino_row_f(pa[i], ca, 2 * na + 2, W);
            rb[i] = nb ? mg_wino_row_f(pb[i], cb, 2 * nb + 2, W) : _mm512_setzero_ps();
        }
        {
        #define STORE _mm512_storeu_ps
        MG_WINO_TIN(__m512, _mm512_permutex2var_ps, _mm512_add_epi32, _mm512_set1_epi32)
        #undef STORE
        }
    }
    static MG_WINO_NOINLINE void mg_wino_in_d(const double *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const double *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, double *v, Py_ssize_t vs) {
        const __m512i two_i = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i idx = _mm512_mask_blend_epi64((__mmask8)((1u << na) - 1),
            _mm512_add_epi64(two_i, _mm512_set1_epi64(8 - 2 * na)), two_i);
        __m512d ra[4], rb[4];
        int i;
        for (i = 0; i < 4; i++) {
            ra[i] = mg_wino_row_d(pa[i], ca, 2 * na + 2, W);
            rb[i] = nb ? mg_wino_row_d(pb[i], cb, 2 * nb + 2, W) : _mm512_setzero_pd();
        }
        {
        #define STORE _mm512_storeu_pd
        MG_WINO_TIN(__m512d, _mm512_permutex2var_pd, _mm512_add_epi64, _mm512_set1_epi64)
        #undef STORE
        }
    }
    #define MG_WINO_MV_F(xi) _mm512_loadu_ps(m + (xi) * ms)
    #define MG_WINO_MV_D(xi) _mm512_loadu_pd(m + (xi) * ms)
    static MG_WINO_NOINLINE int mg_wino_out_f(const float *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, float b, float *const *ya,
                                              Py_ssize_t wa, float *const *yb, Py_ssize_t wb) {
        /* output 2t + p: lane t of y[2i + p] (lane t + na for piece b) */
        const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        const __m512 bv = _mm512_set1_ps(b);
        __m512 y[4], z;
        int i;
        MG_WINO_AT(__m512, MG_WINO_MV_F, bv)
        for (i = 0; i < 2; i++) {
            if (ya[i])
                _mm512_mask_storeu_ps(ya[i], (__mmask16)((1u << wa) - 1),
                                      _mm512_permutex2var_ps(y[2 * i], lo, y[2 * i + 1]));
            if (nb && yb[i])
                _mm512_mask_storeu_ps(yb[i], (__mmask16)((1u << wb) - 1),
                    _mm512_permutex2var_ps(y[2 * i], _mm512_add_epi32(lo, _mm512_set1_epi32((int)na)), y[2 * i + 1]));
        }
        return _mm512_mask_cmp_ps_mask((__mmask16)((1u << (na + nb)) - 1), z, z, _CMP_UNORD_Q) != 0;
    }
    static MG_WINO_NOINLINE int mg_wino_out_d(const double *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, double b, double *const *ya,
                                              Py_ssize_t wa, double *const *yb, Py_ssize_t wb) {
        const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
        const __m512d bv = _mm512_set1_pd(b);
        __m512d y[4], z;
        int i;
        MG_WINO_AT(__m512d, MG_WINO_MV_D, bv)
        for (i = 0; i < 2; i++) {
            if (ya[i])
                _mm512_mask_storeu_pd(ya[i], (__mmask8)((1u << wa) - 1),
                                      _mm512_permutex2var_pd(y[2 * i], lo, y[2 * i + 1]));
            if (nb && yb[i])
                _mm512_mask_storeu_pd(yb[i], (__mmask8)((1u << wb) - 1),
                    _mm512_permutex2var_pd(y[2 * i], _mm512_add_epi64(lo, _mm512_set1_epi64(na)), y[2 * i + 1]));
        }
        return _mm512_mask_cmp_pd_mask((__mmask8)((1u << (na + nb)) - 1), z, z, _CMP_UNORD_Q) != 0;
    }
    #elif defined(__AVX2__)
    /* 32-bit (64-bit) lanes lo .. hi − 1 of an 8-lane (4-lane) load mask */
    static inline __m256i mg_wino_mask8(Py_ssize_t lo, Py_ssize_t hi) {
        lo = lo < 0 ? 0 : lo > 8 ? 8 : lo, hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
        const __m256i i = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        return _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32((int)lo - 1)),
                                _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), i));
    }
    static inline __m256i mg_wino_mask4(Py_ssize_t lo, Py_ssize_t hi) {
        lo = lo < 0 ? 0 : lo > 4 ? 4 : lo, hi = hi < 0 ? 0 : hi > 4 ? 4 : hi;
        const __m256i i = _mm256_set_epi64x(3, 2, 1, 0);
        return _mm256_and_si256(_mm256_cmpgt_epi64(i, _mm256_set1_epi64x(lo - 1)),
                                _mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), i));
    }
    /* src[c0 .. c0 + 15] (floats; 7 doubles: c0 .. c0 + 7) as two vectors, zero outside columns
       0 .. W − 1, from c0 + L on, and when src is NULL (masked-off lanes do not touch memory) */
    static inline void mg_wino_row8_f(const float *src, Py_ssize_t c0, Py_ssize_t L, Py_ssize_t W,
                                      __m256 *lo, __m256 *hi) {
        Py_ssize_t e = W - c0 < L ? W - c0 : L;
        if (!src) {
            *lo = *hi = _mm256_setzero_ps();
            return;
        }
        *lo = _mm256_maskload_ps(src + c0, mg_wino_mask8(-c0, e));
        *hi = e > 8 ? _mm256_maskload_ps(src + c0 + 8, mg_wino_mask8(-c0 - 8, e - 8)) : _mm256_setzero_ps();
    }
    static inline void mg_wino_row4_d(const double *src, Py_ssize_t c0, Py_ssize_t L, Py_ssize_t W,
                                      __m256d *lo, __m256d *hi) {
        Py_ssize_t e = W - c0 < L ? W - c0 : L;
        if (!src) {
            *lo = *hi = _mm256_setzero_pd();
            return;
        }
        *lo = _mm256_maskload_pd(src + c0, mg_wino_mask4(-c0, e));
        *hi = e > 4 ? _mm256_maskload_pd(src + c0 + 4, mg_wino_mask4(-c0 - 4, e - 4)) : _mm256_setzero_pd();
    }
    /* Bᵀ d B of one piece (rows lo[r], hi[r]: its 16 float or 8 double columns) into v, tile k
       in lane k: t[r] = rows X OP Y (Bᵀ's row r) on both halves, then column 2k + q (q < 4)
       of t[r] in lane k: the even and odd columns deinterleaved by one shuffle and one
       cross-lane permutation each (q = 0, 1), the next ones by a shift of those by one lane
       (q = 2, 3; the last lane then holds no tile); then B on the columns. */
    #define MG_WINO_TIN8(V, EVEN, ODD, NEXT, STORE)                                              \\
        {                                                                                        \\
            V tl[4], th[4], col[4];                                                              \\
            int r;                                                                               \\
            tl[0] = lo[0] - lo[2], tl[1] = lo[1] + lo[2], tl[2] = lo[2] - lo[1], tl[3] = lo[1] - lo[3]; \\
            th[0] = hi[0] - hi[2], th[1] = hi[1] + hi[2], th[2] = hi[2] - hi[1], th[3] = hi[1] - hi[3]; \\
            for (r = 0; r < 4; r++) {                                                            \\
                col[0] = EVEN(tl[r], th[r]), col[1] = ODD(tl[r], th[r]);                         \\
                col[2] = NEXT(col[0]), col[3] = NEXT(col[1]);                                    \\
                STORE(v + (4 * r) * vs, col[0] - col[2]);                                        \\
                STORE(v + (4 * r + 1) * vs, col[1] + col[2]);                                    \\
                STORE(v + (4 * r + 2) * vs, col[2] - col[1]);                                    \\
                STORE(v + (4 * r + 3) * vs, col[1] - col[3]);                                    \\
            }                                                                                    \\
        }
    #define MG_WINO_EVEN_F(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(                         \\
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8))
    #define MG_WINO_ODD_F(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(                          \\
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8))
    #define MG_WINO_NEXT_F(a) _mm256_permutevar8x32_ps(a, _mm256_set_epi32(7, 7, 6, 5, 4, 3, 2, 1))
    #define MG_WINO_EVEN_D(a, b) _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), 0xD8)
    #define MG_WINO_ODD_D(a, b) _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), 0xD8)
    #define MG_WINO_NEXT_D(a) _mm256_permute4x64_pd(a, 0xF9)
    static MG_WINO_NOINLINE void mg_wino_in_f(const float *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const float *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, float *v, Py_ssize_t vs) {
        __m256 lo[4], hi[4];
        int i;
        for (i = 0; i < 4; i++)
            mg_wino_row8_f(pa[i], ca, 2 * na + 2, W, lo + i, hi + i);
        MG_WINO_TIN8(__m256, MG_WINO_EVEN_F, MG_WINO_ODD_F, MG_WINO_NEXT_F, _mm256_storeu_ps)
        if (!nb)
            return;
        v += na;  /* after piece a: its lanes from na on are overwritten */
        for (i = 0; i < 4; i++)
            mg_wino_row8_f(pb[i], cb, 2 * nb + 2, W, lo + i, hi + i);
        MG_WINO_TIN8(__m256, MG_WINO_EVEN_F, MG_WINO_ODD_F, MG_WINO_NEXT_F, _mm256_storeu_ps)
    }
    static MG_WINO_NOINLINE void mg_wino_in_d(const double *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const double *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, double *v, Py_ssize_t vs) {
        __m256d lo[4], hi[4];
        int i;
        for (i = 0; i < 4; i++)
            mg_wino_row4_d(pa[i], ca, 2 * na + 2, W, lo + i, hi + i);
        MG_WINO_TIN8(__m256d, MG_WINO_EVEN_D, MG_WINO_ODD_D, MG_WINO_NEXT_D, _mm256_storeu_pd)
        if (!nb)
            return;
        v += na;
        for (i = 0; i < 4; i++)
            mg_wino_row4_d(pb[i], cb, 2 * nb + 2, W, lo + i, hi + i);
        MG_WINO_TIN8(__m256d, MG_WINO_EVEN_D, MG_WINO_ODD_D, MG_WINO_NEXT_D, _mm256_storeu_pd)
    }
    /* the first w (1 .. 8 floats, 1 .. 4 doubles) lanes of x to p, by plain stores (a masked
       store is slow on Zen 2 and 3) */
    static inline void mg_wino_put_f(float *p, __m256 x, Py_ssize_t w) {
        __m128 h = _mm256_castps256_ps128(x);
        if (w >= 8) {
            _mm256_storeu_ps(p, x);
            return;
        }
        if (w & 4)
            _mm_storeu_ps(p, h), p += 4, h = _mm256_extractf128_ps(x, 1);
        if (w & 2)
            _mm_storel_pi((__m64 *)p, h), p += 2, h = _mm_movehl_ps(h, h);
        if (w & 1)
            _mm_store_ss(p, h);
    }
    static inline void mg_wino_put_d(double *p, __m256d x, Py_ssize_t w) {
        __m128d h = _mm256_castpd256_pd128(x);
        if (w >= 4) {
            _mm256_storeu_pd(p, x);
            return;
        }
        if (w & 2)
            _mm_storeu_pd(p, h), p += 2, h = _mm256_extractf128_pd(x, 1);
        if (w & 1)
            _mm_storel_pd(p, h);
    }
    /* Aᵀ M A + b of one piece of n tiles (M_ξ of its first tile at m[ξ·ms]) to its 2 rows yr
       (first w outputs): each output row y[2i], y[2i + 1] interleaved by unpacking and one
       128-bit lane exchange. Returns nonzero if one of the outputs is inf or NaN. */
    #define MG_WINO_OUT8(NAME, T, V, LOAD, SET1, UNLO, UNHI, PERM2, PUT, CMP, MOVEMASK, L)       \\
    static inline int NAME(const T *m, Py_ssize_t ms, Py_ssize_t n, T b, T *const *yr,           \\
                           Py_ssize_t w) {                                                       \\
        const V bv = SET1(b);                                                                    \\
        V y[4], z;                                                                               \\
        int i;                                                                                   \\
        MG_WINO_AT(V, LOAD, bv)                                                                  \\
        for (i = 0; i < 2; i++)                                                                  \\
            if (yr[i]) {                                                                         \\
                V l = UNLO(y[2 * i], y[2 * i + 1]), h = UNHI(y[2 * i], y[2 * i + 1]);            \\
                PUT(yr[i], PERM2(l, h, 0x20), w);                                                \\
                if (w > L)                                                                       \\
                    PUT(yr[i] + L, PERM2(l, h, 0x31), w - L);                                    \\
            }                                                                                    \\
        return MOVEMASK(CMP(z, z, _CMP_UNORD_Q)) & ((1 << n) - 1);                               \\
    }
    #define MG_WINO_MV8_F(xi) _mm256_loadu_ps(m + (xi) * ms)
    #define MG_WINO_MV4_D(xi) _mm256_loadu_pd(m + (xi) * ms)
    MG_WINO_OUT8(mg_wino_out8_f, float, __m256, MG_WINO_MV8_F, _mm256_set1_ps, _mm256_unpacklo_ps,
                 _mm256_unpackhi_ps, _mm256_permute2f128_ps, mg_wino_put_f, _mm256_cmp_ps,
                 _mm256_movemask_ps, 8)
    MG_WINO_OUT8(mg_wino_out4_d, double, __m256d, MG_WINO_MV4_D, _mm256_set1_pd, _mm256_unpacklo_pd,
                 _mm256_unpackhi_pd, _mm256_permute2f128_pd, mg_wino_put_d, _mm256_cmp_pd,
                 _mm256_movemask_pd, 4)
    static MG_WINO_NOINLINE int mg_wino_out_f(const float *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, float b, float *const *ya,
                                              Py_ssize_t wa, float *const *yb, Py_ssize_t wb) {
        int bad = mg_wino_out8_f(m, ms, na, b, ya, wa);
        return nb ? bad | mg_wino_out8_f(m + na, ms, nb, b, yb, wb) : bad;
    }
    static MG_WINO_NOINLINE int mg_wino_out_d(const double *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, double b, double *const *ya,
                                              Py_ssize_t wa, double *const *yb, Py_ssize_t wb) {
        int bad = mg_wino_out4_d(m, ms, na, b, ya, wa);
        return nb ? bad | mg_wino_out4_d(m + na, ms, nb, b, yb, wb) : bad;
    }
    #elif defined(__SSE2__)
    /* src[c .. c + 3] (floats; doubles: c, c + 1), zero outside columns 0 .. W − 1 (SSE2 has no
       masked load: the lanes of a vector across an edge are read one by one) */
    #define MG_WINO_AT_F(i) (0 <= c + (i) && c + (i) < W ? src[c + (i)] : 0.0f)
    static inline __m128 mg_wino_load4_f(const float *src, Py_ssize_t c, Py_ssize_t W) {
        if (!src || c >= W || c + 4 <= 0)
            return _mm_setzero_ps();
        if (c >= 0 && c + 4 <= W)
            return _mm_loadu_ps(src + c);
        return _mm_set_ps(MG_WINO_AT_F(3), MG_WINO_AT_F(2), MG_WINO_AT_F(1), MG_WINO_AT_F(0));
    }
    #define MG_WINO_AT_D(i) (0 <= c + (i) && c + (i) < W ? src[c + (i)] : 0.0)
    static inline __m128d mg_wino_load2_d(const double *src, Py_ssize_t c, Py_ssize_t W) {
        if (!src || c >= W || c + 2 <= 0)
            return _mm_setzero_pd();
        if (c >= 0 && c + 2 <= W)
            return _mm_loadu_pd(src + c);
        return _mm_set_pd(MG_WINO_AT_D(1), MG_WINO_AT_D(0));
    }
    /* Bᵀ d B of one piece as the AVX2 code does, in vectors of 4 floats (2 doubles): x[r][h]
       holds columns 4h .. 4h + 3 (2h, 2h + 1) of row r; per half of the piece's tiles (4 floats,
       2 doubles) its columns 2k + q of t[r] picked by shuffles, then B; v as in AVX2. */
    #define MG_WINO_TIN4(V, HT, PICK, STORE)                                                     \\
        {                                                                                        \\
            V t[4], col[4];                                                                      \\
            int r, h;                                                                            \\
            for (r = 0; r < 4; r++) {                                                            \\
                for (h = 0; h < 4; h++)                                                          \\
                    t[h] = r == 0 ? x[0][h] - x[2][h] : r == 1 ? x[1][h] + x[2][h]               \\
                         : r == 2 ? x[2][h] - x[1][h] : x[1][h] - x[3][h];                       \\
                for (h = 0; h < 2; h++) {                                                        \\
                    PICK                                                                         \\
                    STORE(v + (4 * r) * vs + h * HT, col[0] - col[2]);                           \\
                    STORE(v + (4 * r + 1) * vs + h * HT, col[1] + col[2]);                       \\
                    STORE(v + (4 * r + 2) * vs + h * HT, col[2] - col[1]);                       \\
                    STORE(v + (4 * r + 3) * vs + h * HT, col[1] - col[3]);                       \\
                }                                                                                \\
            }                                                                                    \\
        }
    /* floats: tiles 4h .. 4h + 3 read columns 8h .. 8h + 9 (t[2h], t[2h + 1], t[2h + 2]) */
    #define MG_WINO_PICK_F                                                                       \\
        {                                                                                        \\
            __m128 e = _mm_shuffle_ps(t[2 * h], t[2 * h + 1], _MM_SHUFFLE(2, 0, 2, 0));          \\
            __m128 o = _mm_shuffle_ps(t[2 * h], t[2 * h + 1], _MM_SHUFFLE(3, 1, 3, 1));          \\
            __m128 n = h ? t[3] : t[2];  /* column 8h + 8, 8h + 9 in lanes 0, 1 (h = 1: unused) */ \\
            __m128 e2 = _mm_shuffle_ps(e, n, _MM_SHUFFLE(0, 0, 3, 3));                           \\
            __m128 o2 = _mm_shuffle_ps(o, n, _MM_SHUFFLE(1, 1, 3, 3));                           \\
            col[0] = e, col[1] = o;                                                              \\
            col[2] = _mm_shuffle_ps(e, e2, _MM_SHUFFLE(2, 0, 2, 1));                             \\
            col[3] = _mm_shuffle_ps(o, o2, _MM_SHUFFLE(2, 0, 2, 1));                             \\
        }
    /* doubles: tiles 2h, 2h + 1 read columns 4h .. 4h + 5 (t[2h], t[2h + 1], t[2h + 2]) */
    #define MG_WINO_PICK_D                                                                       \\
        {                                                                                        \\
            __m128d n = h ? t[3] : t[2];                                                         \\
            col[0] = _mm_unpacklo_pd(t[2 * h], t[2 * h + 1]);                                    \\
            col[1] = _mm_unpackhi_pd(t[2 * h], t[2 * h + 1]);                                    \\
            col[2] = _mm_unpacklo_pd(t[2 * h + 1], n);                                           \\
            col[3] = _mm_unpackhi_pd(t[2 * h + 1], n);                                           \\
        }
    static MG_WINO_NOINLINE void mg_wino_in_f(const float *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const float *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, float *v, Py_ssize_t vs) {
        __m128 x[4][4];
        int i, h;
        for (i = 0; i < 4; i++)
            for (h = 0; h < 4; h++)
                x[i][h] = 4 * h < 2 * na + 2 ? mg_wino_load4_f(pa[i], ca + 4 * h, W) : _mm_setzero_ps();
        MG_WINO_TIN4(__m128, 4, MG_WINO_PICK_F, _mm_storeu_ps)
        if (!nb)
            return;
        v += na;  /* after piece a: its lanes from na on are overwritten */
        for (i = 0; i < 4; i++)
            for (h = 0; h < 4; h++)
                x[i][h] = 4 * h < 2 * nb + 2 ? mg_wino_load4_f(pb[i], cb + 4 * h, W) : _mm_setzero_ps();
        MG_WINO_TIN4(__m128, 4, MG_WINO_PICK_F, _mm_storeu_ps)
    }
    static MG_WINO_NOINLINE void mg_wino_in_d(const double *const *pa, Py_ssize_t ca, Py_ssize_t na,
                                              const double *const *pb, Py_ssize_t cb, Py_ssize_t nb,
                                              Py_ssize_t W, double *v, Py_ssize_t vs) {
        __m128d x[4][4];
        int i, h;
        for (i = 0; i < 4; i++)
            for (h = 0; h < 4; h++)
                x[i][h] = 2 * h < 2 * na + 2 ? mg_wino_load2_d(pa[i], ca + 2 * h, W) : _mm_setzero_pd();
        MG_WINO_TIN4(__m128d, 2, MG_WINO_PICK_D, _mm_storeu_pd)
        if (!nb)
            return;
        v += na;
        for (i = 0; i < 4; i++)
            for (h = 0; h < 4; h++)
                x[i][h] = 2 * h < 2 * nb + 2 ? mg_wino_load2_d(pb[i], cb + 2 * h, W) : _mm_setzero_pd();
        MG_WINO_TIN4(__m128d, 2, MG_WINO_PICK_D, _mm_storeu_pd)
    }
    #undef MG_WINO_AT_F
    #undef MG_WINO_AT_D
    #define MG_WINO_MV4_F(xi) _mm_loadu_ps(m + (xi) * ms)
    #define MG_WINO_MV2_D(xi) _mm_loadu_pd(m + (xi) * ms)
    /* Aᵀ M A + b of up to 4 float (2 double) tiles at m to 2 rows yr (first w outputs, by plain
       stores of 4, 2, 1 floats); nonzero if one of the first n is inf or NaN */
    static inline int mg_wino_out4_f(const float *m, Py_ssize_t ms, Py_ssize_t n, float b,
                                     float *const *yr, Py_ssize_t w) {
        const __m128 bv = _mm_set1_ps(b);
        __m128 y[4], z, o[2];
        int i, h;
        float *p;
        MG_WINO_AT(__m128, MG_WINO_MV4_F, bv)
        for (i = 0; i < 2; i++)
            if (yr[i]) {
                o[0] = _mm_unpacklo_ps(y[2 * i], y[2 * i + 1]), o[1] = _mm_unpackhi_ps(y[2 * i], y[2 * i + 1]);
                for (h = 0, p = yr[i]; h < 2 && 4 * h < w; h++, p += 4) {
                    Py_ssize_t c = w - 4 * h;
                    __m128 q = o[h];
                    if (c >= 4) {
                        _mm_storeu_ps(p, q);
                        continue;
                    }
                    if (c & 2)
                        _mm_storel_pi((__m64 *)p, q), q = _mm_movehl_ps(q, q);
                    if (c & 1)
                        _mm_store_ss(p + (c & 2), q);
                }
            }
        return _mm_movemask_ps(_mm_cmpunord_ps(z, z)) & ((1 << (n < 4 ? n : 4)) - 1);
    }
    static inline int mg_wino_out2_d(const double *m, Py_ssize_t ms, Py_ssize_t n, double b,
                                     double *const *yr, Py_ssize_t w) {
        const __m128d bv = _mm_set1_pd(b);
        __m128d y[4], z, o[2];
        int i, h;
        MG_WINO_AT(__m128d, MG_WINO_MV2_D, bv)
        for (i = 0; i < 2; i++)
            if (yr[i]) {
                o[0] = _mm_unpacklo_pd(y[2 * i], y[2 * i + 1]), o[1] = _mm_unpackhi_pd(y[2 * i], y[2 * i + 1]);
                for (h = 0; h < 2 && 2 * h < w; h++) {
                    if (w - 2 * h >= 2)
                        _mm_storeu_pd(yr[i] + 2 * h, o[h]);
                    else
                        _mm_storel_pd(yr[i] + 2 * h, o[h]);
                }
            }
        return _mm_movemask_pd(_mm_cmpunord_pd(z, z)) & ((1 << (n < 2 ? n : 2)) - 1);
    }
    static int mg_wino_out_piece_f(const float *m, Py_ssize_t ms, Py_ssize_t n, float b,
                                   float *const *yr, Py_ssize_t w) {
        int bad = 0;
        Py_ssize_t h;
        for (h = 0; h < n; h += 4) {
            float *const r[2] = {yr[0] ? yr[0] + 2 * h : NULL, yr[1] ? yr[1] + 2 * h : NULL};
            bad |= mg_wino_out4_f(m + h, ms, n - h, b, r, w - 2 * h);
        }
        return bad;
    }
    static int mg_wino_out_piece_d(const double *m, Py_ssize_t ms, Py_ssize_t n, double b,
                                   double *const *yr, Py_ssize_t w) {
        int bad = 0;
        Py_ssize_t h;
        for (h = 0; h < n; h += 2) {
            double *const r[2] = {yr[0] ? yr[0] + 2 * h : NULL, yr[1] ? yr[1] + 2 * h : NULL};
            bad |= mg_wino_out2_d(m + h, ms, n - h, b, r, w - 2 * h);
        }
        return bad;
    }
    static MG_WINO_NOINLINE int mg_wino_out_f(const float *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, float b, float *const *ya,
                                              Py_ssize_t wa, float *const *yb, Py_ssize_t wb) {
        int bad = mg_wino_out_piece_f(m, ms, na, b, ya, wa);
        return nb ? bad | mg_wino_out_piece_f(m + na, ms, nb, b, yb, wb) : bad;
    }
    static MG_WINO_NOINLINE int mg_wino_out_d(const double *m, Py_ssize_t ms, Py_ssize_t na,
                                              Py_ssize_t nb, double b, double *const *ya,
                                              Py_ssize_t wa, double *const *yb, Py_ssize_t wb) {
        int bad = mg_wino_out_piece_d(m, ms, na, b, ya, wa);
        return nb ? bad | mg_wino_out_piece_d(m + na, ms, nb, b, yb, wb) : bad;
    }
    #else
    #define MG_WINO_MOVES(IN, OUT, T)                                                        \\
    static void IN(const T *const *pa, Py_ssize_t ca, Py_ssize_t na, const T *const *pb,        \\
                   Py_ssize_t cb, Py_ssize_t nb, Py_ssize_t W, T *v, Py_ssize_t vs) {            \\
        Py_ssize_t k, i;                                                                         \\
        const T *src;                                                                            \\
        T d[4][4], t[4];                                                                         \\
        int r, q;                                                                                \\
        for (k = 0; k < na + nb; k++) {                                                          \\
            for (r = 0; r < 4; r++)                                                              \\
                for (q = 0; q < 4; q++) {                                                        \\
                    src = k < na ? pa[r] : pb[r];                                                \\
                    i = k < na ? ca + 2 * k + q : cb + 2 * (k - na) + q;                         \\
                    d[r][q] = src && i >= 0 && i < W ? src[i] : 0;                               \\
                }                                                                                \\
            for (q = 0; q < 4; q++) {  /* Bᵀ d, column by column */                             \\
                T d0 = d[0][q], d1 = d[1][q], d2 = d[2][q], d3 = d[3][q];                        \\
                d[0][q] = d0 - d2, d[1][q] = d1 + d2, d[2][q] = d2 - d1, d[3][q] = d1 - d3;      \\
            }                                                                                    \\
            for (r = 0; r < 4; r++) {  /* times B */                                             \\
                for (q = 0; q < 4; q++) t[q] = d[r][q];                                          \\
                v[(4 * r) * vs + k] = t[0] - t[2];                                               \\
                v[(4 * r + 1) * vs + k] = t[1] + t[2];                                           \\
                v[(4 * r + 2) * vs + k] = t[2] - t[1];                                           \\
                v[(4 * r + 3) * vs + k] = t[1] - t[3];                                           \\
            }                                                                                    \\
        }                                                                                        \\
    }                                                                                            \\
    static int OUT(const T *m, Py_ssize_t ms, Py_ssize_t na, Py_ssize_t nb, T b, T *const *ya,    \\
                   Py_ssize_t wa, T *const *yb, Py_ssize_t wb) {                                 \\
        Py_ssize_t k, c, w;                                                                      \\
        T *const *yr;                                                                            \\
        T y[4], z;                                                                               \\
        int i, bad = 0;                                                                          \\
        for (k = 0; k < na + nb; k++) {                                                          \\
            MG_WINO_AT(T, MG_WINO_MS, b)                                                         \\
            bad |= z != z;                                                                       \\
            yr = k < na ? ya : yb, c = 2 * (k < na ? k : k - na), w = k < na ? wa : wb;          \\
            for (i = 0; i < 2; i++)                                                              \\
                if (yr[i]) {                                                                     \\
                    if (c < w) yr[i][c] = y[2 * i];                                              \\
                    if (c + 1 < w) yr[i][c + 1] = y[2 * i + 1];                                  \\
                }                                                                                \\
        }                                                                                        \\
        return bad;                                                                              \\
    }
    #define MG_WINO_MS(xi) m[(xi) * ms + k]
    MG_WINO_MOVES(mg_wino_in_f, mg_wino_out_f, float)
    MG_WINO_MOVES(mg_wino_in_d, mg_wino_out_d, double)
    #endif
    """
    int mg_wino_out_f(const float* m, Py_ssize_t ms, Py_ssize_t na, Py_ssize_t nb, float b,
                      float* const* ya, Py_ssize_t wa, float* const* yb, Py_ssize_t wb) noexcept nogil
    int mg_wino_out_d(const double* m, Py_ssize_t ms, Py_ssize_t na, Py_ssize_t nb, double b,
                      double* const* ya, Py_ssize_t wa, double* const* yb, Py_ssize_t wb) noexcept nogil
    void mg_wino_in_f(const float* const* pa, Py_ssize_t ca, Py_ssize_t na, const float* const* pb,
                      Py_ssize_t cb, Py_ssize_t nb, Py_ssize_t W, float* v, Py_ssize_t vs) noexcept nogil
    void mg_wino_in_d(const double* const* pa, Py_ssize_t ca, Py_ssize_t na,
                      const double* const* pb, Py_ssize_t cb, Py_ssize_t nb, Py_ssize_t W,
                      double* v, Py_ssize_t vs) noexcept nogil
    void mg_wino_prefetch(const char* p, Py_ssize_t bytes) noexcept nogil


cdef enum:
    # Bytes of one block's V and M: half of a 1 MB L2.
    WINO_BLOCK_BYTES = 1 << 19
    # The 16 matrices of V (and of M, U, ∂U) lie this many elements more than a multiple of their
    # size apart: a power-of-two distance put the transforms' 16 streams in the same L1 sets
    # (U of 64 x 32 channels, 8 KB planes, took 40 ns per 3 x 3 filter, ∂W's adjoint likewise). (It
    # also takes the lanes that mg_wino_in writes, and mg_wino_out reads, past the last
    # channel's row: up to 15.)
    WINO_SKEW = 16
    # Tiles of one piece of a tile row for mg_wino_in: the 2n + 2 columns under n tiles fit one
    # 16-float vector (7) or 8-double one (3), so a 14-wide image's tile row (7 tiles) and the
    # next share one call.
    WINO_PIECE = 7
    WINO_PIECE_D = 3
    # _wino_input prefetches x's rows under the block this many channels ahead.
    WINO_PREFETCH = 2
    # Tiles per block are rounded up to a multiple of this where the threads stay balanced
    # (_wino_blocks): whole 64-byte lines of V's and M's float32 rows.
    WINO_ALIGN_TILES = 16


cdef void _wino_weights(const floating* w, floating* u, Py_ssize_t Cout, Py_ssize_t C, Py_ssize_t us,
                        int nt) noexcept nogil:
    """U[ξ, o, c] (U_ξ at ξ·us) = (G g Gᵀ)[ξ] for g = w[o, c] (3 x 3) and ξ = 4·i + j, the output channels
    split over nt threads; rows of G: g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2 (halving is exact
    above the subnormals)."""
    cdef int tid, team
    if nt == 1:
        _wino_weights_rows(w, u, Cout, C, us, 0, Cout)
        return
    with parallel(num_threads=nt):  # serial, U had been 4 % of (b)'s 2-thread forward (perf)
        tid = threadid()
        team = mg_gemm_team_size()
        _wino_weights_rows(w, u, Cout, C, us, tid * Cout // team, (tid + 1) * Cout // team)


cdef void _wino_weights_rows(const floating* w, floating* u, Py_ssize_t Cout, Py_ssize_t C,
                             Py_ssize_t plane, Py_ssize_t o0, Py_ssize_t o1) noexcept nogil:
    """_wino_weights for the output channels o0 .. o1 − 1 (plane: us)."""
    cdef Py_ssize_t o, c, i, j
    cdef floating t[4][3]
    cdef floating r[3]
    cdef const floating* g
    for o in range(o0, o1):
        for c in range(C):
            g = w + (o * C + c) * 9
            for j in range(3):  # t = G g, column by column
                t[0][j] = g[j]
                t[1][j] = ((g[j] + g[6 + j]) + g[3 + j]) * <floating>0.5
                t[2][j] = ((g[j] + g[6 + j]) - g[3 + j]) * <floating>0.5
                t[3][j] = g[6 + j]
            for i in range(4):  # row i of t Gᵀ
                r[0], r[1], r[2] = t[i][0], t[i][1], t[i][2]
                u[(4 * i + 0) * plane + o * C + c] = r[0]
                u[(4 * i + 1) * plane + o * C + c] = ((r[0] + r[2]) + r[1]) * <floating>0.5
                u[(4 * i + 2) * plane + o * C + c] = ((r[0] + r[2]) - r[1]) * <floating>0.5
                u[(4 * i + 3) * plane + o * C + c] = r[2]


cdef struct WinoJob:
    Py_ssize_t N, C, Cout, H, W, OH, OW, PT, PL
    Py_ssize_t TW, TT, ntiles  # tile columns, tiles per sample, tiles of the batch
    Py_ssize_t T               # tiles per block (the row stride of V and M)
    Py_ssize_t vs, ms          # elements from one matrix V_ξ (M_ξ) to the next
    Py_ssize_t us              # elements from one matrix U_ξ (∂U_ξ) to the next: Cout·C + WINO_SKEW
    Py_ssize_t S               # most samples a block touches
    const void* bias           # b (Cout) or NULL


cdef struct WinoSeg:           # the tiles of a block in one sample n: from tile (th0, tw0) to
    Py_ssize_t n, th0, tw0, th1, tw1  # (th1, tw1), row-major


cdef Py_ssize_t _wino_segments(const WinoJob* job, Py_ssize_t t0, Py_ssize_t nb,
                               WinoSeg* seg) noexcept nogil:
    """The segments of the block of tiles t0 .. t0 + nb (one per sample); returns how many."""
    cdef Py_ssize_t t, n, ns = 0
    t = t0
    while t < t0 + nb:
        n = t // job.TT
        seg[ns].n, seg[ns].th0, seg[ns].tw0 = n, t % job.TT // job.TW, t % job.TT % job.TW
        t = min(t0 + nb, (n + 1) * job.TT)  # past the segment
        seg[ns].th1, seg[ns].tw1 = (t - 1) % job.TT // job.TW, (t - 1) % job.TT % job.TW
        ns += 1
    return ns


cdef void _wino_input(const WinoJob* job, const floating* x, const WinoSeg* seg, Py_ssize_t ns,
                      Py_ssize_t nb, floating* v) noexcept nogil:
    """V[ξ, c, j] = (Bᵀ d B)[ξ] for the tile d of the block's tile j and channel c (V_ξ at
    ξ·job.vs), read straight from x: per channel, the block's tile rows cut into pieces of at
    most WINO_PIECE tiles, two pieces per mg_wino_in (zeros for the padding)."""
    cdef Py_ssize_t T = job.T, C = job.C, H = job.H, W = job.W
    cdef Py_ssize_t most = WINO_PIECE if floating is float else WINO_PIECE_D
    cdef Py_ssize_t c, s, r, ih, th, e, j, k, n, ca = 0, na
    cdef const floating* pa[4]  # the 4 input rows of the piece waiting for its pair (NULL: padding)
    cdef const floating* pb[4]
    for c in range(C):
        if c + WINO_PREFETCH < C:  # x comes from L3 or memory: its rows for a later channel
            for s in range(ns):
                ih = max(0, 2 * seg[s].th0 - job.PT)
                mg_wino_prefetch(<const char*>(x + ((seg[s].n * C + c + WINO_PREFETCH) * H + ih) * W),
                                 (min(H, 2 * seg[s].th1 + 4 - job.PT) - ih) * W * sizeof(floating))
        j = na = 0  # na > 0: the piece (pa, ca, na) waits for its pair
        for s in range(ns):
            for th in range(seg[s].th0, seg[s].th1 + 1):
                for r in range(4):
                    ih = 2 * th + r - job.PT
                    pb[r] = x + ((seg[s].n * C + c) * H + ih) * W if 0 <= ih < H else NULL
                k = seg[s].tw0 if th == seg[s].th0 else 0
                e = seg[s].tw1 + 1 if th == seg[s].th1 else job.TW
                while k < e:
                    n = min(most, e - k)
                    if na == 0:
                        pa[0], pa[1], pa[2], pa[3], ca, na = pb[0], pb[1], pb[2], pb[3], 2 * k - job.PL, n
                    else:
                        if floating is float:
                            mg_wino_in_f(pa, ca, na, pb, 2 * k - job.PL, n, W, v + c * T + j, job.vs)
                        else:
                            mg_wino_in_d(pa, ca, na, pb, 2 * k - job.PL, n, W, v + c * T + j, job.vs)
                        j += na + n
                        na = 0
                    k += n
        if na > 0:
            if floating is float:
                mg_wino_in_f(pa, ca, na, NULL, 0, 0, W, v + c * T + j, job.vs)
            else:
                mg_wino_in_d(pa, ca, na, NULL, 0, 0, W, v + c * T + j, job.vs)


cdef int _wino_output(const WinoJob* job, const floating* m, const WinoSeg* seg, Py_ssize_t ns,
                      floating* y) noexcept nogil:
    """y tiles = Aᵀ M A (+ b) for the block's tiles (M_ξ at ξ·job.ms), cut at the edge: per
    output channel, the block's tile rows cut into pieces of at most WINO_PIECE tiles, two pieces
    per mg_wino_out, which writes their 2 rows of outputs interleaved. Returns nonzero if an
    output is inf or NaN."""
    cdef Py_ssize_t T = job.T, Cout = job.Cout, OH = job.OH, OW = job.OW
    cdef Py_ssize_t most = WINO_PIECE if floating is float else WINO_PIECE_D
    cdef Py_ssize_t o, s, th, e, j, k, n, wa = 0, na, wb
    cdef floating* ya[2]  # output rows 2·th and 2·th + 1 (NULL: below the image) of the piece
    cdef floating* yb[2]  # waiting for its pair, and of the current one
    cdef floating bv
    cdef int bad = 0
    for o in range(Cout):
        bv = 0 if job.bias == NULL else (<const floating*>job.bias)[o]
        j = na = 0
        for s in range(ns):
            for th in range(seg[s].th0, seg[s].th1 + 1):
                k = seg[s].tw0 if th == seg[s].th0 else 0
                e = seg[s].tw1 + 1 if th == seg[s].th1 else job.TW
                while k < e:
                    n = min(most, e - k)
                    yb[0] = y + ((seg[s].n * Cout + o) * OH + 2 * th) * OW + 2 * k
                    yb[1] = yb[0] + OW if 2 * th + 1 < OH else NULL
                    wb = min(2 * n, OW - 2 * k)
                    if na == 0:
                        ya[0], ya[1], wa, na = yb[0], yb[1], wb, n
                    else:
                        if floating is float:
                            bad |= mg_wino_out_f(m + o * T + j, job.ms, na, n, bv, ya, wa, yb, wb)
                        else:
                            bad |= mg_wino_out_d(m + o * T + j, job.ms, na, n, bv, ya, wa, yb, wb)
                        j += na + n
                        na = 0
                    k += n
        if na > 0:
            if floating is float:
                bad |= mg_wino_out_f(m + o * T + j, job.ms, na, 0, bv, ya, wa, NULL, 0)
            else:
                bad |= mg_wino_out_d(m + o * T + j, job.ms, na, 0, bv, ya, wa, NULL, 0)
    return bad


cdef void _wino_run(const WinoJob* job, Plan* plan, int nt, const floating* x,
                    const floating* u, floating* y, char* ws, Py_ssize_t per,
                    int* bad) noexcept nogil:
    """All blocks of tiles, whole blocks per thread (ws: per bytes each: V, M, B~, A~, the
    segments). bad[tid] (zeroed): nonzero if an output of thread tid
    came out inf or NaN."""
    cdef Py_ssize_t T = job.T, C = job.C, Cout = job.Cout, nblocks = _ceil_div(job.ntiles, T)
    cdef Py_ssize_t blk, t0, nb, xi, ns
    cdef floating* v
    cdef floating* m
    cdef floating* bp
    cdef floating* ap
    cdef WinoSeg* seg
    cdef int tid, team
    with parallel(num_threads=nt):
        tid = threadid()
        team = mg_gemm_team_size()  # may be smaller than asked for
        v = <floating*>(ws + tid * per)
        m = v + _round_up(16 * job.vs, ALIGN)
        bp = m + _round_up(16 * job.ms, ALIGN)
        ap = bp + plan.bsize
        seg = <WinoSeg*>(ap + _round_up(plan.asize, ALIGN))
        for blk in range(tid * nblocks // team, (tid + 1) * nblocks // team):
            t0 = blk * T
            nb = min(T, job.ntiles - t0)
            ns = _wino_segments(job, t0, nb, seg)
            _wino_input(job, x, seg, ns, nb, v)
            for xi in range(16):
                _gemm_thread(Cout, nb, C, plan.kc, plan.nc, 1, u + xi * job.us, C, 1,
                             v + xi * job.vs, T, 1, 0, m + xi * job.ms, T, bp, ap, 0, 1, False, NULL)
            bad[tid] |= _wino_output(job, m, seg, ns, y)


cdef int _wino_job(WinoJob* job, cnp.ndarray x, Py_ssize_t Cout, padding, output_size):
    """Fills in job for x (N, C, H, W), Cout output channels, padding (top, left) and the output
    size (no bias); returns the threads (0 when there are no tiles or no channels: then nothing
    else is filled in). _wino_blocks does the blocks."""
    job.N, job.C, job.H, job.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    job.Cout = Cout
    job.PT, job.PL = padding
    job.OH, job.OW = output_size
    job.TW = _ceil_div(job.OW, 2)
    job.TT = _ceil_div(job.OH, 2) * job.TW
    job.ntiles = job.N * job.TT
    job.bias = NULL
    if job.ntiles == 0 or job.Cout == 0 or job.C == 0:
        return 0
    return _wino_blocks(job, cnp.PyArray_ITEMSIZE(x))


cdef int _wino_blocks(WinoJob* job, Py_ssize_t itemsize) noexcept nogil:
    """Fills in job's tiles per block T, V's and M's strides and S from its geometry; returns
    the threads. T: V and M (16·(C + Cout)·T values; ∂W's Ĝ is M's size) in WINO_BLOCK_BYTES, a
    multiple of NR (the GEMM's column panels), then evened out so the threads get equal numbers of
    blocks, then rounded up to a multiple of WINO_ALIGN_TILES if the threads stay within 10 % of
    an equal share of tiles."""
    cdef Py_ssize_t T, nblocks, ta
    cdef int nt
    T = max(<Py_ssize_t>NR, WINO_BLOCK_BYTES // (16 * (job.C + job.Cout) * itemsize) // NR * NR)
    T = min(T, job.ntiles)
    nt = threads_capped(32.0 * job.Cout * job.C * job.ntiles, PARALLEL_MIN_FLOPS, GRAIN_FLOPS,
                        num_threads())
    nblocks = _round_up(_ceil_div(job.ntiles, T), nt)
    T = _ceil_div(job.ntiles, nblocks)
    # Rows of V and M a multiple of WINO_ALIGN_TILES long, unless that leaves a thread over 10 %
    # more tiles than its share: (b) on 2 threads had T = 63 (50 blocks) and ran 5-10 % slower
    # than with T = 64 (49 blocks).
    ta = min(_round_up(T, WINO_ALIGN_TILES), job.ntiles)
    if 10 * _ceil_div(_ceil_div(job.ntiles, ta), nt) * ta * nt <= 11 * job.ntiles:
        T = ta
    job.T = T
    job.vs, job.ms = job.C * T + WINO_SKEW, job.Cout * T + WINO_SKEW
    job.us = job.Cout * job.C + WINO_SKEW
    job.S = min(job.N, T // job.TT + 2)
    return <int>min(<Py_ssize_t>nt, _ceil_div(job.ntiles, T))


def conv2d_winograd(cnp.ndarray x, cnp.ndarray weight, padding, output_size, cnp.ndarray bias=None):
    """y (N, Cout, OH, OW) = conv2d_forward(x, weight, 1, padding, 1, output_size, 1, bias) for a
    3 x 3 weight (Cout, C, 3, 3), by Winograd F(2×2, 3×3) (module comment); redone by
    conv2d_forward when an output is not finite. ``padding`` is (top, left). Validated by the door
    (_ops.conv2d_winograd)."""
    global _conv_scratch
    cdef WinoJob job
    cdef Plan plan
    cdef Scratch scratch
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(x), T, per, usize
    cdef int nt
    cdef cnp.ndarray bad, y
    nt = _wino_job(&job, x, weight.shape[0], padding, output_size)
    if nt == 0:
        return conv2d_forward(x, weight, (1, 1), padding, (1, 1), output_size, 1, bias)
    job.bias = NULL if bias is None else cnp.PyArray_DATA(bias)
    y = np.empty((job.N, job.Cout, job.OH, job.OW), dtype=x.dtype)
    T = job.T
    plan = _plan(job.Cout, T, job.C, s, 1)
    usize = _round_up(16 * job.us, ALIGN)
    per = s * (_round_up(16 * job.vs, ALIGN) + _round_up(16 * job.ms, ALIGN) + plan.bsize
               + _round_up(plan.asize, ALIGN)) \
        + _round_up(job.S * sizeof(WinoSeg), ALIGN)
    _conv_scratch = s * usize + nt * per
    bad = np.zeros(nt, np.intc)
    scratch = _scratch_take(_conv_scratch)
    with nogil:
        if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
            _wino_weights[float](<const float*>cnp.PyArray_DATA(weight), <float*>scratch.data,
                                 job.Cout, job.C, job.us, nt)
            _wino_run[float](&job, &plan, nt, <const float*>cnp.PyArray_DATA(x),
                             <const float*>scratch.data, <float*>cnp.PyArray_DATA(y),
                             scratch.data + s * usize, per, <int*>cnp.PyArray_DATA(bad))
        else:
            _wino_weights[double](<const double*>cnp.PyArray_DATA(weight), <double*>scratch.data,
                                  job.Cout, job.C, job.us, nt)
            _wino_run[double](&job, &plan, nt, <const double*>cnp.PyArray_DATA(x),
                              <const double*>scratch.data, <double*>cnp.PyArray_DATA(y),
                              scratch.data + s * usize, per, <int*>cnp.PyArray_DATA(bad))
    _scratch_give(scratch)
    if bad.any():  # an output is inf or NaN
        return conv2d_forward(x, weight, (1, 1), padding, (1, 1), output_size, 1, bias)
    return y


# ∂W of the same convolution by Winograd F(2×2, 3×3) (spec: reference.conv2d_winograd_backward_weight),
# the adjoint of the forward with respect to U: y tile = Aᵀ(U ⊙ V)A gives, per tile and ξ,
# ∂U_ξ += (A ∂y Aᵀ)[ξ]·V_ξ, so with Ĝ_ξ = (A ∂y Aᵀ)[ξ] as Cout x tiles the 16 products
# ∂U_ξ (Cout x C) += Ĝ_ξ · V_ξᵀ (2.25x fewer multiplications than the direct ∂W), and
# ∂W[o, c] = Gᵀ ∂U[o, c] G. The blocks of tiles are the forward's; each thread adds its blocks
# into its own ∂U (16·Cout·C), the threads' ∂U are summed at the end. ∂b = Σ ∂y is Σ Ĝ_5 (the
# middle entry (A ∂y Aᵀ)[1, 1] is the sum of the tile's 4 gradients). A non-finite ∂W or ∂b is
# redone by the implicit GEMM (conv2d_backward_weight), as the forward does.

cdef extern from *:
    """
    /* SPLIT: e[k] = src[2k], o[k] = src[2k + 1] (0 where 2k + 1 >= len) for k < n, len in
       {2n - 1, 2n}: a row of ∂y under n output tiles, deinterleaved (AVX-512: masked loads, two
       permutations, masked stores; elsewhere a loop per value).
       GRAD: m[ξ·ms + k] = (A ∂y Aᵀ)[ξ] for tile k's 2 x 2 gradient ∂y[i][j] = g[(2i + j)·ld + k];
       A ∂y's rows: ∂y0, ∂y0 + ∂y1, ∂y0 − ∂y1, −∂y1 (rows ∂yi of ∂y), each row (p, q) times Aᵀ:
       p, p + q, p − q, −q. */
    /* row r of A ∂y (P, Q: its two values from the tile's a = ∂y00, b = ∂y01, c = ∂y10,
       d = ∂y11), times Aᵀ: Ĝ_4r .. Ĝ_4r+3 (a row per loop: 16 stores in one loop stayed scalar) */
    #define MG_WINO_GRAD_ROW(T, r, P, Q)                                                          \\
        for (k = 0; k < R; k++) {                                                                \\
            T a = g[k], b = g[ld + k], c = g[2 * ld + k], d = g[3 * ld + k];                     \\
            T p = P, q = Q;                                                                      \\
            m[(4 * r) * ms + k] = p;                                                             \\
            m[(4 * r + 1) * ms + k] = p + q;                                                     \\
            m[(4 * r + 2) * ms + k] = p - q;                                                     \\
            m[(4 * r + 3) * ms + k] = -q;                                                        \\
            (void)a; (void)b; (void)c; (void)d;                                                  \\
        }
    #define MG_WINO_GRAD(GRAD, T)                                                                \\
    static MG_WINO_NOINLINE void GRAD(const T *restrict g, Py_ssize_t ld, Py_ssize_t R,          \\
                                      T *restrict m, Py_ssize_t ms) {                            \\
        Py_ssize_t k;                                                                            \\
        MG_WINO_GRAD_ROW(T, 0, a, b)                                                             \\
        MG_WINO_GRAD_ROW(T, 1, a + c, b + d)                                                     \\
        MG_WINO_GRAD_ROW(T, 2, a - c, b - d)                                                     \\
        MG_WINO_GRAD_ROW(T, 3, -c, -d)                                                           \\
    }
    MG_WINO_GRAD(mg_wino_grad_f, float)
    MG_WINO_GRAD(mg_wino_grad_d, double)
    #if defined(__AVX512F__)
    static MG_WINO_NOINLINE void mg_wino_split_f(const float *src, Py_ssize_t len, float *e,
                                                 float *o, Py_ssize_t n) {
        const __m512i ev = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8,
                                                               7, 6, 5, 4, 3, 2, 1, 0), 1);
        const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
        Py_ssize_t k0;
        for (k0 = 0; k0 < n; k0 += 16) {
            int m = n - k0 < 16 ? (int)(n - k0) : 16;
            int L = len - 2 * k0 < 2 * m ? (int)(len - 2 * k0) : 2 * m;  /* values read */
            __mmask16 mt = (__mmask16)(m >= 16 ? 0xFFFFu : (1u << m) - 1);
            __m512 a = _mm512_maskz_loadu_ps((__mmask16)(L >= 16 ? 0xFFFFu : (1u << L) - 1), src + 2 * k0);
            __m512 b = _mm512_maskz_loadu_ps((__mmask16)(L >= 32 ? 0xFFFFu : L > 16 ? (1u << (L - 16)) - 1 : 0),
                                             src + 2 * k0 + 16);
            _mm512_mask_storeu_ps(e + k0, mt, _mm512_permutex2var_ps(a, ev, b));
            _mm512_mask_storeu_ps(o + k0, mt, _mm512_permutex2var_ps(a, od, b));
        }
    }
    static MG_WINO_NOINLINE void mg_wino_split_d(const double *src, Py_ssize_t len, double *e,
                                                 double *o, Py_ssize_t n) {
        const __m512i ev = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i od = _mm512_add_epi64(ev, _mm512_set1_epi64(1));
        Py_ssize_t k0;
        for (k0 = 0; k0 < n; k0 += 8) {
            int m = n - k0 < 8 ? (int)(n - k0) : 8;
            int L = len - 2 * k0 < 2 * m ? (int)(len - 2 * k0) : 2 * m;
            __mmask8 mt = (__mmask8)(m >= 8 ? 0xFFu : (1u << m) - 1);
            __m512d a = _mm512_maskz_loadu_pd((__mmask8)(L >= 8 ? 0xFFu : (1u << L) - 1), src + 2 * k0);
            __m512d b = _mm512_maskz_loadu_pd((__mmask8)(L >= 16 ? 0xFFu : L > 8 ? (1u << (L - 8)) - 1 : 0),
                                              src + 2 * k0 + 8);
            _mm512_mask_storeu_pd(e + k0, mt, _mm512_permutex2var_pd(a, ev, b));
            _mm512_mask_storeu_pd(o + k0, mt, _mm512_permutex2var_pd(a, od, b));
        }
    }
    #else
    #define MG_WINO_SPLIT(SPLIT, T)                                                              \\
    static void SPLIT(const T *src, Py_ssize_t len, T *e, T *o, Py_ssize_t n) {                  \\
        Py_ssize_t k;                                                                            \\
        for (k = 0; k < n; k++) {                                                                \\
            e[k] = src[2 * k];                                                                   \\
            o[k] = 2 * k + 1 < len ? src[2 * k + 1] : 0;                                         \\
        }                                                                                        \\
    }
    MG_WINO_SPLIT(mg_wino_split_f, float)
    MG_WINO_SPLIT(mg_wino_split_d, double)
    #endif
    """
    void mg_wino_grad_f(const float* g, Py_ssize_t ld, Py_ssize_t R, float* m, Py_ssize_t ms) noexcept nogil
    void mg_wino_grad_d(const double* g, Py_ssize_t ld, Py_ssize_t R, double* m, Py_ssize_t ms) noexcept nogil
    void mg_wino_split_f(const float* src, Py_ssize_t len, float* e, float* o, Py_ssize_t n) noexcept nogil
    void mg_wino_split_d(const double* src, Py_ssize_t len, double* e, double* o, Py_ssize_t n) noexcept nogil


cdef void _wino_grad_input(const WinoJob* job, const floating* dy, const WinoSeg* seg, Py_ssize_t ns,
                           Py_ssize_t nb, floating* m, floating* g, double* db) noexcept nogil:
    """Ĝ[ξ, o, j] = (A ∂y Aᵀ)[ξ] for the block's tile j and output channel o (Ĝ_ξ at ξ·job.ms):
    per output channel, the tiles' 2 x 2 gradients split out of ∂y's rows into g (4 x T, zero
    where a tile is cut), then transformed together (mg_wino_grad); db[o] (unless NULL) += Σ Ĝ_5."""
    cdef Py_ssize_t T = job.T, Cout = job.Cout, OW = job.OW, o, s, i, th, a, e, j
    cdef const floating* src
    for o in range(Cout):
        j = 0
        for s in range(ns):
            for th in range(seg[s].th0, seg[s].th1 + 1):
                a = seg[s].tw0 if th == seg[s].th0 else 0
                e = seg[s].tw1 + 1 if th == seg[s].th1 else job.TW
                for i in range(2):
                    if 2 * th + i < job.OH:
                        src = dy + ((seg[s].n * Cout + o) * job.OH + 2 * th + i) * OW + 2 * a
                        if floating is float:
                            mg_wino_split_f(src, min(2 * (e - a), OW - 2 * a), g + 2 * i * T + j,
                                            g + (2 * i + 1) * T + j, e - a)
                        else:
                            mg_wino_split_d(src, min(2 * (e - a), OW - 2 * a), g + 2 * i * T + j,
                                            g + (2 * i + 1) * T + j, e - a)
                    else:  # the bottom row of a cut tile
                        memset(g + 2 * i * T + j, 0, (e - a) * sizeof(floating))
                        memset(g + (2 * i + 1) * T + j, 0, (e - a) * sizeof(floating))
                j += e - a
        if floating is float:
            mg_wino_grad_f(g, T, nb, m + o * T, job.ms)
        else:
            mg_wino_grad_d(g, T, nb, m + o * T, job.ms)
        if db != NULL:
            db[o] += _row_sum(m + 5 * job.ms + o * T, nb)


cdef void _wino_wgrad_run(const WinoJob* job, Plan* plan, int nt, const floating* x,
                          const floating* dy, char* ws, Py_ssize_t per, double* db) noexcept nogil:
    """All blocks of tiles, whole blocks per thread, each thread adding into its own ∂U (ws: per
    bytes each: ∂U, V, Ĝ, B~, A~, g (4 x T gradients), the segments); db: Cout partial sums of
    ∂b per thread, or NULL. All nt ∂U are zeroed here, those of threads the team lacks too."""
    cdef Py_ssize_t T = job.T, C = job.C, Cout = job.Cout, nblocks = _ceil_div(job.ntiles, T)
    cdef Py_ssize_t blk, t0, nb, xi, ns, q
    cdef floating* du
    cdef floating* v
    cdef floating* m
    cdef floating* bp
    cdef floating* ap
    cdef floating* g
    cdef WinoSeg* seg
    cdef int tid, team
    with parallel(num_threads=nt):
        tid = threadid()
        team = mg_gemm_team_size()  # may be smaller than asked for
        du = <floating*>(ws + tid * per)
        v = du + _round_up(16 * job.us, ALIGN)
        m = v + _round_up(16 * job.vs, ALIGN)
        bp = m + _round_up(16 * job.ms, ALIGN)
        ap = bp + plan.bsize
        g = ap + _round_up(plan.asize, ALIGN)
        seg = <WinoSeg*>(g + _round_up(4 * T, ALIGN))
        for q in range(_ceil_div(nt - tid, team)):  # partials tid, tid + team, ..
            memset(ws + (tid + q * team) * per, 0, 16 * job.us * sizeof(floating))
        for blk in range(tid * nblocks // team, (tid + 1) * nblocks // team):
            t0 = blk * T
            nb = min(T, job.ntiles - t0)
            ns = _wino_segments(job, t0, nb, seg)
            _wino_input(job, x, seg, ns, nb, v)
            _wino_grad_input(job, dy, seg, ns, nb, m, g, NULL if db == NULL else db + tid * Cout)
            for xi in range(16):
                _gemm_thread(Cout, C, nb, plan.kc, plan.nc, 1, m + xi * job.ms, T, 1,
                             v + xi * job.vs, 1, T, 1, du + xi * job.us, C, bp, ap, 0, 1, False, NULL)


cdef void _wino_weights_adjoint(floating* du, floating* gw, Py_ssize_t Cout, Py_ssize_t C,
                                Py_ssize_t us, int nt, Py_ssize_t stride) noexcept nogil:
    """∂U = the nt threads' ∂U (stride elements apart) summed in a fixed order, into the first;
    then ∂W[o, c] = Gᵀ ∂U[o, c] G (3 x 3 from 4 x 4; ∂U_ξ at ξ·us): the 3 rows of Gᵀ r for
    the 4 rows r are r0 + (r1 + r2)/2, (r1 − r2)/2, (r1 + r2)/2 + r3, and the same on columns.
    The output channels are split over nt threads (serial, the sum alone grows with the threads)."""
    cdef int tid, team
    if nt == 1:
        _wino_weights_adjoint_rows(du, gw, Cout, C, us, nt, stride, 0, Cout)
        return
    with parallel(num_threads=nt):
        tid = threadid()
        team = mg_gemm_team_size()
        _wino_weights_adjoint_rows(du, gw, Cout, C, us, nt, stride, tid * Cout // team, (tid + 1) * Cout // team)


cdef void _wino_weights_adjoint_rows(floating* du, floating* gw, Py_ssize_t Cout, Py_ssize_t C,
                                     Py_ssize_t plane, int nt, Py_ssize_t stride, Py_ssize_t o0,
                                     Py_ssize_t o1) noexcept nogil:
    """_wino_weights_adjoint for the output channels o0 .. o1 − 1 (plane: us)."""
    cdef Py_ssize_t o, c, i, j, xi
    cdef int tid
    for tid in range(1, nt):
        for xi in range(16):
            for i in range(xi * plane + o0 * C, xi * plane + o1 * C):
                du[i] += du[tid * stride + i]
    cdef floating t[3][4]
    cdef floating r[4]
    cdef floating* w
    for o in range(o0, o1):
        for c in range(C):
            for j in range(4):  # t = Gᵀ ∂U, column by column
                for i in range(4):
                    r[i] = du[(4 * i + j) * plane + o * C + c]
                t[0][j] = r[0] + (r[1] + r[2]) * <floating>0.5
                t[1][j] = (r[1] - r[2]) * <floating>0.5
                t[2][j] = (r[1] + r[2]) * <floating>0.5 + r[3]
            w = gw + (o * C + c) * 9
            for i in range(3):  # row i of t G
                w[3 * i] = t[i][0] + (t[i][1] + t[i][2]) * <floating>0.5
                w[3 * i + 1] = (t[i][1] - t[i][2]) * <floating>0.5
                w[3 * i + 2] = (t[i][1] + t[i][2]) * <floating>0.5 + t[i][3]


def conv2d_winograd_backward_weight(cnp.ndarray grad_out, cnp.ndarray x, padding, output_size,
                                    bint grad_bias=False):
    """∂W (Cout, C, 3, 3) = conv2d_backward_weight(grad_out, x, (Cout, C, 3, 3), 1, padding, 1,
    output_size, 1) by Winograd F(2×2, 3×3) (the comment above _wino_grad_input's helpers); with
    grad_bias the pair (∂W, ∂b). Redone by conv2d_backward_weight when ∂W or ∂b is not finite.
    ``padding`` is (top, left). Validated by the door (_ops.conv2d_winograd_backward_weight)."""
    global _conv_scratch
    cdef WinoJob job
    cdef Plan plan
    cdef Scratch scratch
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(x), T, per, usize
    cdef int nt
    cdef cnp.ndarray gw, db = None
    weight_shape = (grad_out.shape[1], x.shape[1], 3, 3)
    nt = _wino_job(&job, x, grad_out.shape[1], padding, output_size)  # the forward's blocks (Ĝ in M's place)
    if nt == 0:
        return conv2d_backward_weight(grad_out, x, weight_shape, (1, 1), padding, (1, 1), output_size, 1,
                                      grad_bias)
    T = job.T
    plan = _plan(job.Cout, job.C, T, s, 1)
    usize = _round_up(16 * job.us, ALIGN)
    per = s * (usize + _round_up(16 * job.vs, ALIGN) + _round_up(16 * job.ms, ALIGN) + plan.bsize
               + _round_up(plan.asize, ALIGN) + _round_up(4 * T, ALIGN)) \
        + _round_up(job.S * sizeof(WinoSeg), ALIGN)
    _conv_scratch = nt * per
    if grad_bias:  # per-thread partial sums of ∂b, in double (Cout values each)
        db = np.zeros((nt, job.Cout), np.float64)
    gw = np.empty(weight_shape, dtype=x.dtype)
    scratch = _scratch_take(_conv_scratch)
    with nogil:
        if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
            _wino_wgrad_run[float](&job, &plan, nt, <const float*>cnp.PyArray_DATA(x),
                                   <const float*>cnp.PyArray_DATA(grad_out), scratch.data, per,
                                   NULL if db is None else <double*>cnp.PyArray_DATA(db))
            _wino_weights_adjoint[float](<float*>scratch.data, <float*>cnp.PyArray_DATA(gw),
                                         job.Cout, job.C, job.us, nt, per // s)
        else:
            _wino_wgrad_run[double](&job, &plan, nt, <const double*>cnp.PyArray_DATA(x),
                                    <const double*>cnp.PyArray_DATA(grad_out), scratch.data, per,
                                    NULL if db is None else <double*>cnp.PyArray_DATA(db))
            _wino_weights_adjoint[double](<double*>scratch.data, <double*>cnp.PyArray_DATA(gw),
                                          job.Cout, job.C, job.us, nt, per // s)
    _scratch_give(scratch)
    gb = None if db is None else db.sum(axis=0).astype(x.dtype)
    if not np.isfinite(gw).all() or (gb is not None and not np.isfinite(gb).all()):
        return conv2d_backward_weight(grad_out, x, weight_shape, (1, 1), padding, (1, 1), output_size, 1,
                                      grad_bias)
    return (gw, gb) if grad_bias else gw
