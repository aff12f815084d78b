# Implicit-GEMM convolution, included by gemm_kernel.pxi: the GEMM's own loop nest, micro-kernels,
# blocking and thread grid (its A, the weights or one sample's grad_out, is read in place, not
# packed per product: _gemm_thread), with one difference: the B operand is the column matrix
# of im2col (layout in im2col.pyx), and its packed panels are gathered straight from the NCHW input
# by _pack_b_conv, one kc x NR panel at a time, so the column matrix never exists in memory.
#
# Per sample n and group g (cols_n,g: the ckk_g x OH·OW columns of that sample's group):
#   forward   Y_n,g (cout_g, OH·OW)  = W_g (cout_g, ckk_g) @ cols_n,g       B[k = tap, j = pixel]
#   ∂W        ∂W_g  (cout_g, ckk_g) += G_n,g (cout_g, OH·OW) @ cols_n,gᵀ    B[k = pixel, j = tap]
#   ∂x        ∂x_n,g += col2im(W_gᵀ (ckk_g, cout_g) @ G_n,g[:, block])     one block of pixels at a time
# where a tap is (c, kh, kw) and a pixel (oh, ow). A packed value of cols is found through a tap
# table (_tap_table: the plane offset each tap reads at each output pixel, -1 in the padding),
# built once per call; ∂x's col2im adds through the same table (_dgrad_product). A 1 x 1 kernel
# with stride 1 and no padding has cols_n,g = x_n,g itself: that product reads x in place like any
# matrix (no gather). ∂W of few output channels and taps (case (a): 30 x 25) is not a GEMM but dot
# products over the pixels (_wgrad_dot): its (Cout, taps) block would fill the GEMM's 32-column
# panels poorly, and its B would have to be gathered pixel-major and transposed.
#
# Threads: the (sample, group) products are split over the team, each thread running whole
# products with its own packing buffers (no barriers), when there are enough of them to split
# evenly; else one product after the other, each on the GEMM's own thread grid (rows of C x
# column panels: output channels x output pixels). The team is sized from the flops of the whole
# convolution (cpu.threads_for's rule, GEMM constants). ∂W's threads accumulate private partial
# sums (one Cout x ckk_g block each; the dot products' vector accumulators: DOT_ACC_MAX bytes at
# most, summed across lanes first), added up at the end. Scratch: the tap table (KH·KW·(OH·OW+1)
# ints), one B~ and one A~ block per thread, and those partial sums or ∂x's block of columns
# (DGRAD_COLS) per thread: none of it grows with the batch.

cdef extern from *:
    """
    /* The packing's two copies, in C so that no compiler may read a padding position: the
       table gather dst[j] = idx[j] >= 0 ? plane[idx[j]] : 0, and the copy of a run of the
       table (_tap_table) dst[j] = idx[j] >= 0 ? src[j] : 0, where src = plane + b + the
       first pixel lies outside the plane wherever idx is -1. The run is copied with masked loads
       (AVX-512, AVX2: masked-off lanes are not accessed and cannot fault); everything else takes a
       branch per value, and GCC's loop vectorizer is kept off these functions: GCC 12 vectorized
       the plain conditional with unmasked loads, which read before the start of x and faulted when
       x began on a fresh page (tests/_ops/test_conv.py::test_never_reads_outside_the_input). */
    #if defined(__GNUC__) && !defined(__clang__)
    #define MG_CONV_NOVEC __attribute__((optimize("no-tree-vectorize")))
    #else
    #define MG_CONV_NOVEC
    #endif
    #if defined(__AVX2__)
    #include <immintrin.h>
    #endif
    #if defined(__AVX512F__)
    #define MG_RUN_LANES_F 16
    #define MG_RUN_LANES_D 8
    #define MG_RUN_LOAD_F(s, i) _mm512_maskz_loadu_ps(_mm512_cmpge_epi32_mask(_mm512_loadu_si512((const void *)(i)), _mm512_setzero_si512()), s)
    #define MG_RUN_LOAD_D(s, i) _mm512_maskz_loadu_pd(_mm256_cmpge_epi32_mask(_mm256_loadu_si256((const __m256i *)(i)), _mm256_setzero_si256()), s)
    #define MG_RUN_STORE_F(d, v) _mm512_storeu_ps(d, v)
    #define MG_RUN_STORE_D(d, v) _mm512_storeu_pd(d, v)
    #define MG_RUN_ADD_F(d, s, i) do { __mmask16 m_ = _mm512_cmpge_epi32_mask(_mm512_loadu_si512((const void *)(i)), _mm512_setzero_si512()); \
        _mm512_mask_storeu_ps(d, m_, _mm512_add_ps(_mm512_maskz_loadu_ps(m_, d), _mm512_loadu_ps(s))); } while (0)
    #define MG_RUN_ADD_D(d, s, i) do { __mmask8 m_ = _mm256_cmpge_epi32_mask(_mm256_loadu_si256((const __m256i *)(i)), _mm256_setzero_si256()); \
        _mm512_mask_storeu_pd(d, m_, _mm512_add_pd(_mm512_maskz_loadu_pd(m_, d), _mm512_loadu_pd(s))); } while (0)
    /* the last r < LANES values of a run in one masked step (t_: the lanes that exist; idx, src
       and dst are not accessed past them): row runs are as short as an output row */
    #define MG_RUN_HAS_TAIL 1
    #define MG_RUN_TAIL_F(d, s, i, r) do { __mmask16 t_ = (__mmask16)((1u << (r)) - 1u); \
        __mmask16 m_ = _mm512_mask_cmpge_epi32_mask(t_, _mm512_maskz_loadu_epi32(t_, i), _mm512_setzero_si512()); \
        _mm512_mask_storeu_ps(d, t_, _mm512_maskz_loadu_ps(m_, s)); } while (0)
    #define MG_RUN_TAIL_D(d, s, i, r) do { __mmask8 t_ = (__mmask8)((1u << (r)) - 1u); \
        __mmask8 m_ = _mm256_mask_cmpge_epi32_mask(t_, _mm256_maskz_loadu_epi32(t_, i), _mm256_setzero_si256()); \
        _mm512_mask_storeu_pd(d, t_, _mm512_maskz_loadu_pd(m_, s)); } while (0)
    #define MG_RUN_TAIL_ADD_F(d, s, i, r) do { __mmask16 t_ = (__mmask16)((1u << (r)) - 1u); \
        __mmask16 m_ = _mm512_mask_cmpge_epi32_mask(t_, _mm512_maskz_loadu_epi32(t_, i), _mm512_setzero_si512()); \
        _mm512_mask_storeu_ps(d, m_, _mm512_add_ps(_mm512_maskz_loadu_ps(m_, d), _mm512_maskz_loadu_ps(m_, s))); } while (0)
    #define MG_RUN_TAIL_ADD_D(d, s, i, r) do { __mmask8 t_ = (__mmask8)((1u << (r)) - 1u); \
        __mmask8 m_ = _mm256_mask_cmpge_epi32_mask(t_, _mm256_maskz_loadu_epi32(t_, i), _mm256_setzero_si256()); \
        _mm512_mask_storeu_pd(d, m_, _mm512_add_pd(_mm512_maskz_loadu_pd(m_, d), _mm512_maskz_loadu_pd(m_, s))); } while (0)
    #elif defined(__AVX2__)
    #define MG_RUN_LANES_F 8
    #define MG_RUN_LANES_D 4
    #define MG_RUN_LOAD_F(s, i) _mm256_maskload_ps(s, _mm256_cmpgt_epi32(_mm256_loadu_si256((const __m256i *)(i)), _mm256_set1_epi32(-1)))
    #define MG_RUN_LOAD_D(s, i) _mm256_maskload_pd(s, _mm256_cvtepi32_epi64(_mm_cmpgt_epi32(_mm_loadu_si128((const __m128i *)(i)), _mm_set1_epi32(-1))))
    #define MG_RUN_STORE_F(d, v) _mm256_storeu_ps(d, v)
    #define MG_RUN_STORE_D(d, v) _mm256_storeu_pd(d, v)
    #define MG_RUN_ADD_F(d, s, i) do { __m256i m_ = _mm256_cmpgt_epi32(_mm256_loadu_si256((const __m256i *)(i)), _mm256_set1_epi32(-1)); \
        _mm256_maskstore_ps(d, m_, _mm256_add_ps(_mm256_maskload_ps(d, m_), _mm256_loadu_ps(s))); } while (0)
    #define MG_RUN_ADD_D(d, s, i) do { __m256i m_ = _mm256_cvtepi32_epi64(_mm_cmpgt_epi32(_mm_loadu_si128((const __m128i *)(i)), _mm_set1_epi32(-1))); \
        _mm256_maskstore_pd(d, m_, _mm256_add_pd(_mm256_maskload_pd(d, m_), _mm256_loadu_pd(s))); } while (0)
    #else
    #define MG_RUN_LANES_F 0
    #define MG_RUN_LANES_D 0
    #define MG_RUN_LOAD_F(s, i) 0
    #define MG_RUN_LOAD_D(s, i) 0
    #define MG_RUN_STORE_F(d, v) ((void)(v))
    #define MG_RUN_STORE_D(d, v) ((void)(v))
    #define MG_RUN_ADD_F(d, s, i) ((void)0)
    #define MG_RUN_ADD_D(d, s, i) ((void)0)
    #endif
    #ifndef MG_RUN_HAS_TAIL  /* AVX2 and generic: the tail takes the scalar loop */
    #define MG_RUN_HAS_TAIL 0
    #define MG_RUN_TAIL_F(d, s, i, r) ((void)0)
    #define MG_RUN_TAIL_D(d, s, i, r) ((void)0)
    #define MG_RUN_TAIL_ADD_F(d, s, i, r) ((void)0)
    #define MG_RUN_TAIL_ADD_D(d, s, i, r) ((void)0)
    #endif
    #define MG_CONV_COPIES(RUN, GATHER, RUN_ADD, SCATTER_ADD, T, LANES, LOAD, STORE, ADD, TAIL,    \
                           TAIL_ADD)                                                             \
    static MG_CONV_NOVEC void RUN(const T *src, const int *idx, T *dst, Py_ssize_t n) {          \
        Py_ssize_t j = 0;                                                                        \
        if (LANES) {                                                                             \
            for (; j + LANES <= n; j += LANES)                                                   \
                STORE(dst + j, LOAD(src + j, idx + j));                                          \
            if (MG_RUN_HAS_TAIL && j < n) {                                                      \
                TAIL(dst + j, src + j, idx + j, n - j);                                          \
                return;                                                                          \
            }                                                                                    \
        }                                                                                        \
        for (; j < n; j++) {                                                                     \
            if (idx[j] >= 0) dst[j] = src[j];                                                    \
            else dst[j] = (T)0;                                                                  \
        }                                                                                        \
    }                                                                                            \
    static MG_CONV_NOVEC void GATHER(const T *plane, const int *idx, T *dst, Py_ssize_t n) {     \
        Py_ssize_t j;                                                                            \
        for (j = 0; j < n; j++) {                                                                \
            if (idx[j] >= 0) dst[j] = plane[idx[j]];                                             \
            else dst[j] = (T)0;                                                                  \
        }                                                                                        \
    }                                                                                            \
    /* col2im's adds, the adjoints: dst[j] += src[j] where idx[j] >= 0 (dst = plane + b + the  \
       first pixel, masked: outside the plane wherever idx is -1), and plane[idx[j]] += src[j] */ \
    static MG_CONV_NOVEC void RUN_ADD(T *dst, const int *idx, const T *src, Py_ssize_t n) {     \
        Py_ssize_t j = 0;                                                                        \
        if (LANES) {                                                                             \
            for (; j + LANES <= n; j += LANES)                                                   \
                ADD(dst + j, src + j, idx + j);                                                  \
            if (MG_RUN_HAS_TAIL && j < n) {                                                      \
                TAIL_ADD(dst + j, src + j, idx + j, n - j);                                      \
                return;                                                                          \
            }                                                                                    \
        }                                                                                        \
        for (; j < n; j++)                                                                       \
            if (idx[j] >= 0) dst[j] += src[j];                                                   \
    }                                                                                            \
    static MG_CONV_NOVEC void SCATTER_ADD(T *plane, const int *idx, const T *src, Py_ssize_t n) { \
        Py_ssize_t j;                                                                            \
        for (j = 0; j < n; j++)                                                                  \
            if (idx[j] >= 0) plane[idx[j]] += src[j];                                            \
    }
    MG_CONV_COPIES(mg_conv_run_f, mg_conv_gather_f, mg_conv_run_add_f, mg_conv_scatter_add_f, float,
                   MG_RUN_LANES_F, MG_RUN_LOAD_F, MG_RUN_STORE_F, MG_RUN_ADD_F, MG_RUN_TAIL_F,
                   MG_RUN_TAIL_ADD_F)
    MG_CONV_COPIES(mg_conv_run_d, mg_conv_gather_d, mg_conv_run_add_d, mg_conv_scatter_add_d, double,
                   MG_RUN_LANES_D, MG_RUN_LOAD_D, MG_RUN_STORE_D, MG_RUN_ADD_D, MG_RUN_TAIL_D,
                   MG_RUN_TAIL_ADD_D)

    /* One run tap's rows of a B~ panel for nch consecutive channels (forward packing):
       dst[c * ldd + j] = j < n && idx[j] >= 0 ? src[c * hw + j] : 0 for j < w (w <= NR: the
       panel's packed width, so its zero columns come with it). The tap's padding mask is the
       same for every channel: it is worked out once, in MG_CH-lane pieces, and each channel's row
       is then masked loads and plain stores only (one _tap_copy per channel reloaded the table
       and compared it each time: 16 % of case (b)'s forward, perf, Zen 4). */
    #if defined(__AVX512F__)
    #define MG_CH 8
    typedef __mmask8 mg_ch_mask;
    #define MG_CH_MASK(i, r) _mm256_mask_cmpge_epi32_mask((__mmask8)((1u << (r)) - 1u), \
        _mm256_maskz_loadu_epi32((__mmask8)((1u << (r)) - 1u), i), _mm256_setzero_si256())
    #define MG_CH_COPY_F(d, s, m) _mm256_storeu_ps(d, _mm256_maskz_loadu_ps(m, s))
    #define MG_CH_COPY_D(d, s, m) _mm512_storeu_pd(d, _mm512_maskz_loadu_pd(m, s))
    #elif defined(__AVX2__)
    #define MG_CH 8
    typedef __m256i mg_ch_mask;
    static inline __m256i mg_ch_mask8(const int *idx, int r) {
        __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        return _mm256_and_si256(lanes, _mm256_cmpgt_epi32(_mm256_maskload_epi32(idx, lanes), _mm256_set1_epi32(-1)));
    }
    #define MG_CH_MASK(i, r) mg_ch_mask8(i, r)
    #define MG_CH_COPY_F(d, s, m) _mm256_storeu_ps(d, _mm256_maskload_ps(s, m))
    #define MG_CH_COPY_D(d, s, m) do { \
        _mm256_storeu_pd(d, _mm256_maskload_pd(s, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m)))); \
        _mm256_storeu_pd((d) + 4, _mm256_maskload_pd((s) + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1)))); \
    } while (0)
    #else
    #define MG_CH 0
    typedef int mg_ch_mask;
    #define MG_CH_MASK(i, r) 0
    #define MG_CH_COPY_F(d, s, m) ((void)0)
    #define MG_CH_COPY_D(d, s, m) ((void)0)
    #endif
    #define MG_CONV_CHANNELS(NAME, T, COPY)                                                        \
    static MG_CONV_NOVEC void NAME(const T *src, Py_ssize_t hw, const int *idx, Py_ssize_t n,     \
                                   T *dst, Py_ssize_t ldd, Py_ssize_t w, Py_ssize_t nch) {       \
        Py_ssize_t c, j, k;                                                                      \
        if (MG_CH && w % (MG_CH ? MG_CH : 1) == 0) {                                             \
            mg_ch_mask m[MG_GEMM_NR / (MG_CH ? MG_CH : 1) + 1];                                  \
            for (k = 0; k * MG_CH < w; k++)                                                      \
                m[k] = MG_CH_MASK(idx + k * MG_CH, (int)(n - k * MG_CH < 0 ? 0 : n - k * MG_CH > MG_CH ? MG_CH : n - k * MG_CH)); \
            for (c = 0; c < nch; c++)                                                            \
                for (k = 0; k * MG_CH < w; k++)                                                  \
                    COPY(dst + c * ldd + k * MG_CH, src + c * hw + k * MG_CH, m[k]);             \
            return;                                                                              \
        }                                                                                        \
        for (c = 0; c < nch; c++)                                                                \
            for (j = 0; j < w; j++)                                                              \
                dst[c * ldd + j] = j < n && idx[j] >= 0 ? src[c * hw + j] : (T)0;                \
    }
    MG_CONV_CHANNELS(mg_conv_channels_f, float, MG_CH_COPY_F)
    MG_CONV_CHANNELS(mg_conv_channels_d, double, MG_CH_COPY_D)

    /* Rows of the column matrix of a convolution no tap of which reads the padding, stride 1
       along W, for at most NR pixels: the forward's B~ panel (_pack_b_conv) and ∂W's columns T
       (_wgrad_dot). dst row p (stride ldd) is tap t = pc + p (channel t / KK, (kh, kw) = t % KK),
       its column j pixel p0 + j at (oh, ow), read at x[c·hw + kh·th + kw·tw + oh·rs + ow] for
       j < nr, 0 up to w. Along a vector of the row that offset is contiguous within each output
       row, so the vector is one masked load per output row it covers (a few), worked out once
       for all kc rows; each row is then those loads and a store, with no table and no call per
       output row (_tap_copy's row runs took 34 % of case (a)'s forward and 22 % of its ∂W, perf,
       Zen 4). Masked-off lanes are not accessed. */
    #if defined(__AVX512F__)
    #define MG_PANEL 1
    #define MG_PANEL_MASK_F(a, b) ((__mmask16)(((1u << (b)) - 1u) & ~((1u << (a)) - 1u)))
    #define MG_PANEL_MASK_D(a, b) ((__mmask8)(((1u << (b)) - 1u) & ~((1u << (a)) - 1u)))
    #define MG_PANEL_LOAD_F(v, m, p) _mm512_mask_loadu_ps(v, m, p)
    #define MG_PANEL_LOAD_D(v, m, p) _mm512_mask_loadu_pd(v, m, p)
    #define MG_PANEL_STORE_F(d, v, n) do { if ((n) >= 16) _mm512_storeu_ps(d, v); \
        else _mm512_mask_storeu_ps(d, MG_PANEL_MASK_F(0, n), v); } while (0)
    #define MG_PANEL_STORE_D(d, v, n) do { if ((n) >= 8) _mm512_storeu_pd(d, v); \
        else _mm512_mask_storeu_pd(d, MG_PANEL_MASK_D(0, n), v); } while (0)
    typedef __m512 mg_panel_vf;
    typedef __m512d mg_panel_vd;
    typedef __mmask16 mg_panel_mf;
    typedef __mmask8 mg_panel_md;
    #define MG_PANEL_ZERO_F _mm512_setzero_ps()
    #define MG_PANEL_ZERO_D _mm512_setzero_pd()
    #define MG_PANEL_LANES_F 16
    #define MG_PANEL_LANES_D 8
    #elif defined(__AVX2__)
    #define MG_PANEL 1
    /* lanes a .. b - 1 of a vector; masked lanes merge by OR (the others load as +0.0) */
    #define MG_PANEL_MASK_F(a, b) _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(b)), \
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), \
        _mm256_set1_epi32((int)(a) - 1)))
    #define MG_PANEL_MASK_D(a, b) _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(b), \
        _mm256_setr_epi64x(0, 1, 2, 3)), _mm256_cmpgt_epi64(_mm256_setr_epi64x(0, 1, 2, 3), _mm256_set1_epi64x((a) - 1)))
    #define MG_PANEL_LOAD_F(v, m, p) _mm256_or_ps(v, _mm256_maskload_ps(p, m))
    #define MG_PANEL_LOAD_D(v, m, p) _mm256_or_pd(v, _mm256_maskload_pd(p, m))
    #define MG_PANEL_STORE_F(d, v, n) do { if ((n) >= 8) _mm256_storeu_ps(d, v); \
        else _mm256_maskstore_ps(d, MG_PANEL_MASK_F(0, n), v); } while (0)
    #define MG_PANEL_STORE_D(d, v, n) do { if ((n) >= 4) _mm256_storeu_pd(d, v); \
        else _mm256_maskstore_pd(d, MG_PANEL_MASK_D(0, n), v); } while (0)
    typedef __m256 mg_panel_vf;
    typedef __m256d mg_panel_vd;
    typedef __m256i mg_panel_mf;
    typedef __m256i mg_panel_md;
    #define MG_PANEL_ZERO_F _mm256_setzero_ps()
    #define MG_PANEL_ZERO_D _mm256_setzero_pd()
    #define MG_PANEL_LANES_F 8
    #define MG_PANEL_LANES_D 4
    #else
    #define MG_PANEL 0
    #endif
    #if MG_PANEL
    #define MG_CONV_PANEL(NAME, T, V, MK, LANES, MASK, ZERO, LOAD, STORE)                           \
    static void NAME(const T *x, Py_ssize_t hw, Py_ssize_t KK, Py_ssize_t KW, Py_ssize_t th,     \
                     Py_ssize_t tw, Py_ssize_t rs, Py_ssize_t OW, Py_ssize_t pc, Py_ssize_t kc,  \
                     Py_ssize_t p0, Py_ssize_t nr, Py_ssize_t w, T *dst, Py_ssize_t ldd) {       \
        /* a vector meets at most LANES / OW + 2 output rows, and OW >= ROW_RUN_MIN = 8 */       \
        MK m[MG_GEMM_NR / LANES][LANES / 8 + 2];                                                 \
        Py_ssize_t s[MG_GEMM_NR / LANES][LANES / 8 + 2], v, l, e, oh, p, t;                      \
        int np[MG_GEMM_NR / LANES], i, nv = (int)((w + LANES - 1) / LANES);                      \
        for (v = 0; v < nv; v++) {                                                               \
            np[v] = 0;                                                                           \
            for (l = v * LANES; l < (v + 1) * LANES && l < nr; l = e) {                          \
                oh = (p0 + l) / OW;                                                              \
                e = (oh + 1) * OW - p0;  /* the first lane of the next output row */             \
                if (e > (v + 1) * LANES) e = (v + 1) * LANES;                                    \
                if (e > nr) e = nr;                                                              \
                m[v][np[v]] = MASK(l - v * LANES, e - v * LANES);                                \
                s[v][np[v]++] = oh * rs + p0 - oh * OW + v * LANES;                              \
            }                                                                                    \
        }                                                                                        \
        for (p = 0; p < kc; p++) {                                                               \
            t = pc + p;                                                                          \
            const T *src = x + t / KK * hw + t % KK / KW * th + t % KK % KW * tw;                \
            for (v = 0; v < nv; v++) {                                                           \
                V a = ZERO;                                                                      \
                for (i = 0; i < np[v]; i++) a = LOAD(a, m[v][i], src + s[v][i]);                 \
                STORE(dst + p * ldd + v * LANES, a, w - v * LANES);                              \
            }                                                                                    \
        }                                                                                        \
    }
    MG_CONV_PANEL(mg_conv_panel_f, float, mg_panel_vf, mg_panel_mf, MG_PANEL_LANES_F, MG_PANEL_MASK_F,
                  MG_PANEL_ZERO_F, MG_PANEL_LOAD_F, MG_PANEL_STORE_F)
    MG_CONV_PANEL(mg_conv_panel_d, double, mg_panel_vd, mg_panel_md, MG_PANEL_LANES_D, MG_PANEL_MASK_D,
                  MG_PANEL_ZERO_D, MG_PANEL_LOAD_D, MG_PANEL_STORE_D)
    /* col2im of a stride-1 convolution (any padding): the cin planes x_c of one (sample, group)
       product from all its columns D (ckk rows of OH·OW, _dgrad_product),
       x_c[ih, iw] = Σ_{kh, kw} D[(c, kh, kw), oh·OW + ow] at oh = ih + PT − kh·DH and
       ow = iw + PL − kw·DW, over the windows inside the output (0 <= oh < OH, 0 <= ow < OW).
       Output-stationary: a vector of a plane row sums the masked loads of its taps' D rows in a
       register, in the order of the taps, and is stored once: no zeroing and no read-add-write
       of the plane per tap and output row (those adds, a call per output row and tap, took 20 %
       of case (a)'s ∂x, perf, Zen 4). */
    #define MG_CONV_COL2IM(NAME, T, V, MK, LANES, MASK, ZERO, LOAD, STORE)                         \
    static void NAME(const T *d, Py_ssize_t cin, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t DH,    \
                     Py_ssize_t DW, Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t H, Py_ssize_t W,    \
                     Py_ssize_t OH, Py_ssize_t OW, T *x) {                                       \
        Py_ssize_t c, ih, oh, v, kh, kw, a, b, OHW = OH * OW;                                    \
        const T *row;                                                                            \
        MK m[KW];  /* per kw, the lanes of vector v with 0 <= ow = iw + PL − kw·DW < OW */       \
        char any[KW];                                                                            \
        for (v = 0; v * LANES < W; v++) {                                                        \
            for (kw = 0; kw < KW; kw++) {                                                        \
                a = kw * DW - PL - v * LANES;                                                    \
                b = a + OW;                                                                      \
                if (a < 0) a = 0;                                                                \
                if (b > LANES) b = LANES;                                                        \
                if (b > W - v * LANES) b = W - v * LANES;                                        \
                any[kw] = a < b;                                                                 \
                if (a < b) m[kw] = MASK(a, b);                                                   \
            }                                                                                    \
            for (c = 0; c < cin; c++)                                                            \
                for (ih = 0; ih < H; ih++) {                                                     \
                    V acc = ZERO;                                                                \
                    for (kh = 0; kh < KH; kh++) {                                                \
                        oh = ih + PT - kh * DH;                                                  \
                        if (oh < 0 || oh >= OH) continue;                                        \
                        row = d + (c * KH + kh) * KW * OHW + oh * OW + PL + v * LANES;           \
                        for (kw = 0; kw < KW; kw++)                                              \
                            if (any[kw]) acc = acc + LOAD(ZERO, m[kw], row + kw * (OHW - DW));   \
                    }                                                                            \
                    STORE(x + (c * H + ih) * W + v * LANES, acc, W - v * LANES);                 \
                }                                                                                \
        }                                                                                        \
    }
    MG_CONV_COL2IM(mg_conv_col2im_f, float, mg_panel_vf, mg_panel_mf, MG_PANEL_LANES_F, MG_PANEL_MASK_F, MG_PANEL_ZERO_F,
                   MG_PANEL_LOAD_F, MG_PANEL_STORE_F)
    MG_CONV_COL2IM(mg_conv_col2im_d, double, mg_panel_vd, mg_panel_md, MG_PANEL_LANES_D, MG_PANEL_MASK_D, MG_PANEL_ZERO_D,
                   MG_PANEL_LOAD_D, MG_PANEL_STORE_D)
    #else  /* no vector masks: _pack_b_conv keeps _tap_copy (MG_PANEL is 0) */
    #define MG_CONV_PANEL_NONE(NAME, T)                                                            \
    static void NAME(const T *x, Py_ssize_t hw, Py_ssize_t KK, Py_ssize_t KW, Py_ssize_t th,     \
                     Py_ssize_t tw, Py_ssize_t rs, Py_ssize_t OW, Py_ssize_t pc, Py_ssize_t kc,  \
                     Py_ssize_t p0, Py_ssize_t nr, Py_ssize_t w, T *dst, Py_ssize_t ldd) {}
    MG_CONV_PANEL_NONE(mg_conv_panel_f, float)
    MG_CONV_PANEL_NONE(mg_conv_panel_d, double)
    #define MG_CONV_COL2IM_NONE(NAME, T)                                                           \
    static void NAME(const T *d, Py_ssize_t cin, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t DH,    \
                     Py_ssize_t DW, Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t H, Py_ssize_t W,    \
                     Py_ssize_t OH, Py_ssize_t OW, T *x) {}
    MG_CONV_COL2IM_NONE(mg_conv_col2im_f, float)
    MG_CONV_COL2IM_NONE(mg_conv_col2im_d, double)
    #endif
    """
    void mg_conv_run_f(const float* src, const int* idx, float* dst, Py_ssize_t n) noexcept nogil
    void mg_conv_run_d(const double* src, const int* idx, double* dst, Py_ssize_t n) noexcept nogil
    void mg_conv_gather_f(const float* plane, const int* idx, float* dst, Py_ssize_t n) noexcept nogil
    void mg_conv_gather_d(const double* plane, const int* idx, double* dst, Py_ssize_t n) noexcept nogil
    void mg_conv_run_add_f(float* dst, const int* idx, const float* src, Py_ssize_t n) noexcept nogil
    void mg_conv_run_add_d(double* dst, const int* idx, const double* src, Py_ssize_t n) noexcept nogil
    void mg_conv_scatter_add_f(float* plane, const int* idx, const float* src, Py_ssize_t n) noexcept nogil
    void mg_conv_scatter_add_d(double* plane, const int* idx, const double* src, Py_ssize_t n) noexcept nogil
    void mg_conv_channels_f(const float* src, Py_ssize_t hw, const int* idx, Py_ssize_t n, float* dst,
                            Py_ssize_t ldd, Py_ssize_t w, Py_ssize_t nch) noexcept nogil
    void mg_conv_channels_d(const double* src, Py_ssize_t hw, const int* idx, Py_ssize_t n, double* dst,
                            Py_ssize_t ldd, Py_ssize_t w, Py_ssize_t nch) noexcept nogil
    bint MG_PANEL
    void mg_conv_col2im_f(const float* d, Py_ssize_t cin, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t DH,
                          Py_ssize_t DW, Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t H, Py_ssize_t W,
                          Py_ssize_t OH, Py_ssize_t OW, float* x) noexcept nogil
    void mg_conv_col2im_d(const double* d, Py_ssize_t cin, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t DH,
                          Py_ssize_t DW, Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t H, Py_ssize_t W,
                          Py_ssize_t OH, Py_ssize_t OW, double* x) noexcept nogil
    void mg_conv_panel_f(const float* x, Py_ssize_t hw, Py_ssize_t KK, Py_ssize_t KW, Py_ssize_t th,
                         Py_ssize_t tw, Py_ssize_t rs, Py_ssize_t OW, Py_ssize_t pc, Py_ssize_t kc,
                         Py_ssize_t p0, Py_ssize_t nr, Py_ssize_t w, float* dst, Py_ssize_t ldd) noexcept nogil
    void mg_conv_panel_d(const double* x, Py_ssize_t hw, Py_ssize_t KK, Py_ssize_t KW, Py_ssize_t th,
                         Py_ssize_t tw, Py_ssize_t rs, Py_ssize_t OW, Py_ssize_t pc, Py_ssize_t kc,
                         Py_ssize_t p0, Py_ssize_t nr, Py_ssize_t w, double* dst, Py_ssize_t ldd) noexcept nogil


cdef extern from *:
    """
    /* ∂W's dot-product tiles (_wgrad_dot): acc[i·lda + j·L ..] (L lanes) += the lane-wise sums of
       g_i[p] · t_j[p] over nv vectors of p, for an MD x ND block of (output channel i, tap j):
       both operands are contiguous along the pixels p (G in place, a gathered row of columns), so
       nothing is transposed and no panel is padded to the GEMM's 32 columns; MD + ND vector loads
       feed MD·ND FMAs. Rows i >= mr (taps j >= nr) read row mr − 1 (nr − 1) and are not stored. */
    /* GCC folds the load of a T vector into each of its MD FMAs when MD is small (3 x 9: 30
       loads per 27 FMAs); an empty asm that takes it in a vector register keeps it one load */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define MG_DOT_IN_REGISTER(v) __asm__("" : "+x"(v))
    #else
    #define MG_DOT_IN_REGISTER(v) ((void)0)
    #endif
    #define MG_DOT_TILE(NAME, T, V, VU, MD, ND)                                                     \
    static void NAME(Py_ssize_t nv, const T *g, Py_ssize_t ldg, const T *t, Py_ssize_t ldt,      \
                     T *acc, Py_ssize_t lda, Py_ssize_t mr, Py_ssize_t nr) {                     \
        V a[MD][ND], out[MD][ND], gv[MD], tv;                                                    \
        const T *gp[MD], *tp[ND];                                                                \
        const Py_ssize_t L = sizeof(V) / sizeof(T);                                              \
        Py_ssize_t i, j, p;                                                                      \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (MD); i++) gp[i] = g + (i < mr ? i : mr - 1) * ldg;                      \
        MG_GEMM_UNROLL                                                                           \
        for (j = 0; j < (ND); j++) tp[j] = t + (j < nr ? j : nr - 1) * ldt;                      \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (MD); i++)                                                               \
            for (j = 0; j < (ND); j++) a[i][j] = (V){0};                                         \
        for (p = 0; p < nv; p++) {                                                               \
            MG_GEMM_UNROLL                                                                       \
            for (i = 0; i < (MD); i++) gv[i] = ((const VU *)gp[i])[p];                           \
            MG_GEMM_UNROLL                                                                       \
            for (j = 0; j < (ND); j++) {                                                         \
                tv = ((const VU *)tp[j])[p];                                                     \
                MG_DOT_IN_REGISTER(tv);                                                          \
                for (i = 0; i < (MD); i++) a[i][j] += gv[i] * tv;                                \
            }                                                                                    \
        }                                                                                        \
        /* copied out whole (constant indices), then stored by the runtime mr, nr */             \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (MD); i++)                                                               \
            for (j = 0; j < (ND); j++) out[i][j] = a[i][j];                                      \
        for (i = 0; i < mr; i++)                                                                 \
            for (j = 0; j < nr; j++) *(V *)(acc + i * lda + j * L) += out[i][j];                 \
    }
    /* The tile shapes, by the register file: MD·ND accumulators + MD + 1 operands fit 32
       registers (AVX-512) or 16; _dot_shape picks the one that pads the (Cout, taps) block least
       (case (a), 30 x 25: 5 x 5; (c), 32 x 27: 3 x 9). */
    #if MG_GEMM_VEC >= 16
    #define MG_DOT_SHAPES(X, S, T, V, VU) X(S, T, V, VU, 5, 5) X(S, T, V, VU, 4, 6) X(S, T, V, VU, 6, 4) \
        X(S, T, V, VU, 3, 8) X(S, T, V, VU, 3, 9)
    static const int mg_dot_mr[] = {5, 4, 6, 3, 3}, mg_dot_nr[] = {5, 6, 4, 8, 9};
    #else
    #define MG_DOT_SHAPES(X, S, T, V, VU) X(S, T, V, VU, 3, 3) X(S, T, V, VU, 3, 4) X(S, T, V, VU, 4, 3) \
        X(S, T, V, VU, 2, 5) X(S, T, V, VU, 5, 2)
    static const int mg_dot_mr[] = {3, 3, 4, 2, 5}, mg_dot_nr[] = {3, 4, 3, 5, 2};
    #endif
    #define MG_DOT_NSHAPES ((int)(sizeof(mg_dot_mr) / sizeof(mg_dot_mr[0])))
    #define MG_DOT_BYTES (MG_GEMM_VEC * (int)sizeof(float))  /* one vector accumulator */
    #define MG_DOT_DEF(S, T, V, VU, MD, ND) MG_DOT_TILE(mg_dot_##S##_##MD##x##ND, T, V, VU, MD, ND)
    #define MG_DOT_PTR(S, T, V, VU, MD, ND) mg_dot_##S##_##MD##x##ND,
    typedef void (*mg_dot_f_t)(Py_ssize_t, const float *, Py_ssize_t, const float *, Py_ssize_t, float *,
                               Py_ssize_t, Py_ssize_t, Py_ssize_t);
    typedef void (*mg_dot_d_t)(Py_ssize_t, const double *, Py_ssize_t, const double *, Py_ssize_t,
                               double *, Py_ssize_t, Py_ssize_t, Py_ssize_t);
    MG_DOT_SHAPES(MG_DOT_DEF, f, float, mg_gemm_vf, mg_gemm_vf_u)
    MG_DOT_SHAPES(MG_DOT_DEF, d, double, mg_gemm_vd, mg_gemm_vd_u)
    static const mg_dot_f_t mg_dot_f_tab[] = {MG_DOT_SHAPES(MG_DOT_PTR, f, float, mg_gemm_vf, mg_gemm_vf_u)};
    static const mg_dot_d_t mg_dot_d_tab[] = {MG_DOT_SHAPES(MG_DOT_PTR, d, double, mg_gemm_vd, mg_gemm_vd_u)};
    static void mg_dot_f(int shape, Py_ssize_t nv, const float *g, Py_ssize_t ldg, const float *t,
                         Py_ssize_t ldt, float *acc, Py_ssize_t lda, Py_ssize_t mr, Py_ssize_t nr) {
        mg_dot_f_tab[shape](nv, g, ldg, t, ldt, acc, lda, mr, nr);
    }
    static void mg_dot_d(int shape, Py_ssize_t nv, const double *g, Py_ssize_t ldg, const double *t,
                         Py_ssize_t ldt, double *acc, Py_ssize_t lda, Py_ssize_t mr, Py_ssize_t nr) {
        mg_dot_d_tab[shape](nv, g, ldg, t, ldt, acc, lda, mr, nr);
    }
    """
    int MG_DOT_NSHAPES
    int MG_DOT_BYTES
    const int* mg_dot_mr
    const int* mg_dot_nr
    void mg_dot_f(int shape, Py_ssize_t nv, const float* g, Py_ssize_t ldg, const float* t,
                  Py_ssize_t ldt, float* acc, Py_ssize_t lda, Py_ssize_t mr, Py_ssize_t nr) noexcept nogil
    void mg_dot_d(int shape, Py_ssize_t nv, const double* g, Py_ssize_t ldg, const double* t,
                  Py_ssize_t ldt, double* acc, Py_ssize_t lda, Py_ssize_t mr, Py_ssize_t nr) noexcept nogil


cdef inline void _run_copy(const floating* src, const int* idx, floating* dst, Py_ssize_t n) noexcept nogil:
    if floating is float:
        mg_conv_run_f(src, idx, dst, n)
    else:
        mg_conv_run_d(src, idx, dst, n)


cdef inline void _gather(const floating* plane, const int* idx, floating* dst, Py_ssize_t n) noexcept nogil:
    if floating is float:
        mg_conv_gather_f(plane, idx, dst, n)
    else:
        mg_conv_gather_d(plane, idx, dst, n)


cdef inline void _run_add(floating* dst, const int* idx, const floating* src, Py_ssize_t n) noexcept nogil:
    if floating is float:
        mg_conv_run_add_f(dst, idx, src, n)
    else:
        mg_conv_run_add_d(dst, idx, src, n)


cdef inline void _channels_copy(const floating* src, Py_ssize_t hw, const int* idx, Py_ssize_t n,
                                floating* dst, Py_ssize_t ldd, Py_ssize_t w, Py_ssize_t nch) noexcept nogil:
    if floating is float:
        mg_conv_channels_f(src, hw, idx, n, dst, ldd, w, nch)
    else:
        mg_conv_channels_d(src, hw, idx, n, dst, ldd, w, nch)


cdef inline void _scatter_add(floating* plane, const int* idx, const floating* src, Py_ssize_t n) noexcept nogil:
    if floating is float:
        mg_conv_scatter_add_f(plane, idx, src, n)
    else:
        mg_conv_scatter_add_d(plane, idx, src, n)


cdef struct ConvB:
    const void* x          # first input plane of the product's (sample, group); planes are H x W
    const int* taps        # KH·KW x OH·OW: where tap (kh, kw) reads in a plane at each output
                           # pixel (ih·W + iw), or -1 in the padding (_tap_table)
    const int* runs        # KH·KW: b with taps[kk, p] = b + p at every pixel p inside the plane,
                           # or NOT_A_RUN (a "same" convolution at stride 1 has one run per tap)
    Py_ssize_t HW, KK, OHW  # plane size, taps per channel, output pixels
    bint row_runs          # stride 1 along W, OW >= ROW_RUN_MIN: a tap without a run is a run
                           # within each output row, from _row_base (a 'valid' convolution)
    bint valid             # no tap reads the padding (no -1 in the table): with row runs, rows
                           # of columns come from mg_conv_panel and col2im's row runs are plain
                           # adds (_add), no mask from the table
    Py_ssize_t W, OW, KW, SH, SW, DH, DW, PT, PL  # the geometry _row_base and col2im need
    bint matrix            # B is the plain matrix the GEMM is given (cols = x in a 1 x 1 product,
                           # G in ∂x's col2im): packed by _pack_b, but as a conv product its A is
                           # read in place (_gemm_thread) instead of packed per product
    bint by_pixel          # B[k = pixel, j = tap] (∂W) rather than B[k = tap, j = pixel] (forward)


cdef enum:
    NOT_A_RUN = -2147483647 - 1  # INT_MIN: no tap offset b can be it (b = offset − pixel > INT_MIN)
    # Output rows at least this wide are copied as row runs (masked vector copies); narrower
    # rows take the table's gather, one value at a time.
    ROW_RUN_MIN = 8
    # The widest kernel whose ∂x col2im is written from D at once (mg_conv_col2im keeps a mask
    # per kernel column on the stack).
    COL2IM_KW_MAX = 64


cdef void _tap_table(int* taps, int* runs, Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH, Py_ssize_t KW,
                     Py_ssize_t SH, Py_ssize_t SW, Py_ssize_t PT, Py_ssize_t PL, Py_ssize_t DH,
                     Py_ssize_t DW, Py_ssize_t OH, Py_ssize_t OW) noexcept nogil:
    """taps[(kh·KW + kw)·OH·OW + oh·OW + ow] = ih·W + iw for ih = oh·SH + kh·DH − PT and
    iw = ow·SW + kw·DW − PL inside the plane, else -1. Computed once per call and shared by all
    channels, samples and threads; the gathers then need no division and no branch per output
    row, which at OW = 14 (segments of a few values) cost more than the copies. (Row runs,
    _tap_copy/_tap_add, do divide once per output row: they copy whole rows of OW ≥ ROW_RUN_MIN.)

    runs[kh·KW + kw] = b when every pixel p that reads inside the plane reads at b + p: then the
    gather is a copy from plane + b with the padding masked, which the compiler vectorizes (masked
    loads), instead of one dependent load per value. That holds for every tap of a stride-1
    convolution whose output is as wide as its input ('same' padding: the offset steps by
    W − (OW − 1) = 1 from one output row to the next)."""
    cdef Py_ssize_t kh, kw, oh, ow, ih, iw, p
    cdef int b
    for kh in range(KH):
        for kw in range(KW):
            b = NOT_A_RUN
            p = 0
            for oh in range(OH):
                ih = oh * SH + kh * DH - PT
                for ow in range(OW):
                    iw = ow * SW + kw * DW - PL
                    taps[0] = <int>(ih * W + iw) if 0 <= ih < H and 0 <= iw < W else -1
                    if taps[0] >= 0 and b == NOT_A_RUN:
                        b = <int>(taps[0] - p)
                    taps += 1
                    p += 1
            runs[0] = b
            for p in range(OH * OW):  # the run must hold at every pixel inside the plane
                if taps[p - OH * OW] >= 0 and taps[p - OH * OW] != b + p:
                    runs[0] = NOT_A_RUN
                    break
            runs += 1


cdef inline Py_ssize_t _row_base(const ConvB* cb, Py_ssize_t kk, Py_ssize_t oh) noexcept nogil:
    """The plane offset that tap kk reads at output pixel (oh, 0), with stride 1 along W: the tap
    reads base + ow at (oh, ow) wherever it is inside the plane (outside, the table says -1)."""
    return (oh * cb.SH + kk // cb.KW * cb.DH - cb.PT) * cb.W + kk % cb.KW * cb.DW - cb.PL


cdef void _tap_copy(const ConvB* cb, const floating* plane, Py_ssize_t kk, Py_ssize_t p0,
                    Py_ssize_t n, floating* dst) noexcept nogil:
    """dst[:n] = what tap kk reads in plane at output pixels p0 .. p0 + n − 1, 0 in the padding
    (a row of the column matrix): one masked copy for a run, one per output row for row runs,
    else the table's gather."""
    cdef const int* tab = cb.taps + kk * cb.OHW + p0
    cdef int b = cb.runs[kk]
    cdef Py_ssize_t i = 0, e, oh, ow
    if b != NOT_A_RUN:
        _run_copy(plane + (b + p0), tab, dst, n)
    elif not cb.row_runs:
        _gather(plane, tab, dst, n)
    else:
        while i < n:
            oh = (p0 + i) // cb.OW
            ow = p0 + i - oh * cb.OW
            e = min(n, i + cb.OW - ow)
            _run_copy(plane + (_row_base(cb, kk, oh) + ow), tab + i, dst + i, e - i)
            i = e


cdef inline void _add(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    """dst[:n] += src[:n]: no condition, so the compiler's vectors read nothing past n."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[j] += src[j]


cdef void _tap_add(const ConvB* cb, floating* plane, Py_ssize_t kk, Py_ssize_t p0, Py_ssize_t n,
                   const floating* src) noexcept nogil:
    """The adjoint of _tap_copy (col2im of a row of columns): src[:n] added where tap kk reads
    in plane at output pixels p0 .. p0 + n − 1, nothing in the padding."""
    cdef const int* tab = cb.taps + kk * cb.OHW + p0
    cdef int b = cb.runs[kk]
    cdef Py_ssize_t i = 0, e, oh, ow
    if b != NOT_A_RUN:
        _run_add(plane + (b + p0), tab, src, n)
    elif not cb.row_runs:
        _scatter_add(plane, tab, src, n)
    else:
        while i < n:
            oh = (p0 + i) // cb.OW
            ow = p0 + i - oh * cb.OW
            e = min(n, i + cb.OW - ow)
            if cb.valid:
                _add(plane + (_row_base(cb, kk, oh) + ow), src + i, e - i)
            else:
                _run_add(plane + (_row_base(cb, kk, oh) + ow), tab + i, src + i, e - i)
            i = e


cdef enum:
    # Depth blocks of a conv product up to this many times the GEMM's kc (768 float32 on Zen 4,
    # where kc is 256): its A is read in place, and fewer depth blocks mean fewer passes over C.
    # Zen 4, one thread, kc 128, 1x -> 3x: case (b) forward 5.72 -> 5.33 ms, ∂W 5.34 -> 5.13,
    # ∂x 6.12 -> 5.92; N 8, 64 -> 64, 56²  and  N 16, 128 -> 128, 28²: 2-6 % faster.
    CONV_KC_SCALE = 3
    PIX = 64  # pixels per transposed block of a ∂W panel (NR·PIX values on the stack, 16 KB at most)


cdef inline bint _rows_by_panel(const ConvB* cb) noexcept nogil:
    """Whether rows of columns (the forward's B~ panels, ∂W's T) come from _panel: no tap reads
    the padding, stride 1 along W, and the build has vector masks."""
    return MG_PANEL and cb.valid and cb.row_runs


cdef inline void _panel(const ConvB* cb, Py_ssize_t pc, Py_ssize_t kc, Py_ssize_t p0, Py_ssize_t nr,
                        Py_ssize_t w, floating* dst, Py_ssize_t ldd) noexcept nogil:
    """dst[p, :w] (row stride ldd) = row pc + p of the column matrix at pixels p0 .. p0 + nr − 1, then
    zeros, for p < kc; only where _rows_by_panel (mg_conv_panel)."""
    if floating is float:
        mg_conv_panel_f(<const float*>cb.x, cb.HW, cb.KK, cb.KW, cb.DH * cb.W, cb.DW, cb.SH * cb.W, cb.OW,
                        pc, kc, p0, nr, w, dst, ldd)
    else:
        mg_conv_panel_d(<const double*>cb.x, cb.HW, cb.KK, cb.KW, cb.DH * cb.W, cb.DW, cb.SH * cb.W, cb.OW,
                        pc, kc, p0, nr, w, dst, ldd)


cdef inline void _col2im_whole(const ConvB* cb, const floating* d, Py_ssize_t cin, floating* planes) noexcept nogil:
    """planes (cin x H x W) = col2im of all of one product's columns d (cin·KK x OH·OW), stride 1
    (mg_conv_col2im)."""
    cdef Py_ssize_t KH = cb.KK // cb.KW, H = cb.HW // cb.W, OH = cb.OHW // cb.OW
    if floating is float:
        mg_conv_col2im_f(d, cin, KH, cb.KW, cb.DH, cb.DW, cb.PT, cb.PL, H, cb.W, OH, cb.OW, planes)
    else:
        mg_conv_col2im_d(d, cin, KH, cb.KW, cb.DH, cb.DW, cb.PT, cb.PL, H, cb.W, OH, cb.OW, planes)


cdef void _pack_b_conv(const ConvB* cb, Py_ssize_t ncur, Py_ssize_t kc, Py_ssize_t pc,
                       Py_ssize_t j0, floating* dst) noexcept nogil:
    """B[pc:pc+kc, j0:j0+ncur] of the column matrix -> panels of NR columns, k-major, the last
    zero-padded (the layout of _pack_b, a last panel of at most NRM columns _tail_width wide).
    cols[(c, kh, kw), pixel] = plane c at taps[(kh, kw), pixel], 0 where that is -1."""
    cdef Py_ssize_t q, p, j, t, nr, w, pb, p0, n, kk, c0, c
    cdef floating rows[NR * PIX]  # ∂W: a panel's taps over PIX pixels, one row per tap
    cdef floating* d
    for q in range(_ceil_div(ncur, NR)):
        nr = min(<Py_ssize_t>NR, ncur - q * NR)
        w = _tail_width(nr)
        d = dst + q * NR * kc
        if not cb.by_pixel and _rows_by_panel(cb):
            _panel(cb, pc, kc, j0 + q * NR, nr, w, d, w)  # masked loads per output row, no table
        elif not cb.by_pixel:  # row p is tap pc + p, columns are pixels: contiguous writes
            # tap kk's rows are those of channels c0, c0 + 1, ..: KK rows apart in the panel
            for kk in range(cb.KK):
                c0 = _ceil_div(max(pc - kk, 0), cb.KK)
                p = c0 * cb.KK + kk - pc
                if p >= kc:
                    continue
                n = (kc - 1 - p) // cb.KK + 1
                if cb.runs[kk] != NOT_A_RUN:
                    _channels_copy(<const floating*>cb.x + c0 * cb.HW + cb.runs[kk] + j0 + q * NR,
                                   cb.HW, cb.taps + kk * cb.OHW + j0 + q * NR, nr, d + p * w,
                                   cb.KK * w, w, n)
                    continue
                for c in range(c0, c0 + n):
                    _tap_copy(cb, <const floating*>cb.x + c * cb.HW, kk, j0 + q * NR, nr, d + p * w)
                    for j in range(nr, w):
                        d[p * w + j] = 0
                    p += cb.KK
        else:  # column j is tap j0 + q·NR + j, rows are pixels
            # Each tap's PIX pixels are copied into a row of `rows` (contiguous stores), then
            # transposed into the panel by the GEMM's routine for a transposed B (vector
            # transposes) instead of being stored down the panel one value per row.
            for pb in range(_ceil_div(kc, PIX)):
                p0 = pb * PIX
                n = min(<Py_ssize_t>PIX, kc - p0)
                for j in range(nr):
                    t = j0 + q * NR + j
                    _tap_copy(cb, <const floating*>cb.x + t // cb.KK * cb.HW, t % cb.KK, pc + p0,
                              n, rows + j * PIX)
                _pack_b_transposed(nr, n, rows, PIX, d + p0 * w, w)
            if nr < w:
                for p in range(kc):
                    for j in range(nr, w):
                        d[p * w + j] = 0


cdef struct ConvJob:
    ConvB cb               # the geometry; cb.x is set per product
    Py_ssize_t C, Cout, cin_g, cout_g, ckk_g, groups
    const void* bias       # forward: b (Cout), added to each product's rows, or NULL
    double* db             # ∂W: ∂b partial sums, Cout per thread (Σ of each G row), or NULL
    bint dgrad             # ∂x: col2im of Wᵀ·G per product (_dgrad_product); x is then G
    Py_ssize_t chunk       # ∂x: output pixels per block of columns
    Py_ssize_t colsize     # ∂x: elements of one thread's block of columns (ckk_g x chunk);
                           # ∂W by dot products: of one thread's T, G tail and accumulators
    int dot                # ∂W by dot products (_wgrad_dot) with tile shape dot, or -1


cdef double _row_sum(const floating* a, Py_ssize_t n) noexcept nogil:
    """Σ a[:n] in 16 interleaved partial sums (constant bounds: vector adds; a plain running sum
    is one dependent add per value), then in double."""
    cdef floating acc[16]
    cdef Py_ssize_t i, j
    cdef double s = 0
    for j in range(16):
        acc[j] = 0
    for i in range(n // 16):
        for j in range(16):
            acc[j] += a[i * 16 + j]
    for j in range(16):
        s += acc[j]
    for i in range(n // 16 * 16, n):
        s += a[i]
    return s


cdef void _bias_rows(const ConvJob* job, Py_ssize_t grp, const floating* a, floating* c,
                     double* db) noexcept nogil:
    """The bias part of one product, while its rows are in cache: the forward adds b to its
    output rows c (y = W·cols + b: no second pass over y), ∂W adds the sums of its G rows a
    into db (∂b = Σ G: no second pass over grad_out)."""
    cdef Py_ssize_t o, p, OHW = job.cb.OHW
    cdef floating bv
    cdef floating* row
    if job.cb.by_pixel:
        for o in range(job.cout_g):
            db[grp * job.cout_g + o] += _row_sum(a + o * OHW, OHW)
        return
    for o in range(job.cout_g):
        bv = (<const floating*>job.bias)[grp * job.cout_g + o]
        row = c + o * OHW
        for p in range(OHW):
            row[p] += bv


cdef inline bint _col2im_at_once(const ConvJob* job) noexcept nogil:
    """Whether ∂x's col2im writes each product's planes from all its columns at once
    (_col2im_whole): stride 1, D in one block, a kernel at most COL2IM_KW_MAX wide."""
    return MG_PANEL and job.cb.SH == 1 and job.cb.SW == 1 and job.chunk == job.cb.OHW \
        and job.cb.KW <= COL2IM_KW_MAX


cdef bint _uses_table(const ConvJob* job, int mode) noexcept nogil:
    """Whether this call reads the tap table (13 µs to build for case (a), serial): not for a
    plain-matrix product, nor where every row of columns comes from mg_conv_panel (the forward,
    ∂W's dot products) or ∂x's col2im is done at once."""
    if job.cb.matrix:
        return False
    if _rows_by_panel(&job.cb) and (mode == FORWARD or job.dot >= 0):
        return False
    return not (mode == DGRAD and _col2im_at_once(job))


cdef void _dgrad_product(const ConvJob* job, Plan* plan, Py_ssize_t n, Py_ssize_t grp,
                         const floating* g, const floating* wt, floating* dx, floating* ws,
                         bint team) noexcept nogil:
    """∂x of sample n, group grp: its planes zeroed, then per block of job.chunk output pixels
    the columns D = W_gᵀ · G_n,g[:, block] (ckk_g x chunk, in this thread's cols buffer, which
    stays in L2) and col2im of D: D's row (c, kh, kw) added into plane c where the tap table
    says, a masked vector add per run. The column matrix of the batch never exists. At stride
    1, with D in one block, the planes are written from D at once instead (_col2im_whole)."""
    cdef ConvB cb = job.cb
    cdef Py_ssize_t OHW = cb.OHW, HW = cb.HW, M = job.ckk_g, K = job.cout_g, q, p0, nb, t
    cdef const floating* a = wt + grp * job.ckk_g * job.cout_g
    cdef const floating* b
    cdef floating* cols = ws + (plan.wsize if team else plan.bsize + plan.asize)
    cdef floating* planes = dx + (n * job.C + grp * job.cin_g) * HW
    cdef bint whole = _col2im_at_once(job)
    if not whole:
        memset(planes, 0, job.cin_g * HW * sizeof(floating))
    cb.matrix = True  # B = G_n,g[:, block], a plain matrix; Wᵀ read in place
    for q in range(_ceil_div(OHW, job.chunk)):
        p0 = q * job.chunk
        nb = min(job.chunk, OHW - p0)
        b = g + (n * job.Cout + grp * job.cout_g) * OHW + p0
        if team:
            _gemm_run(plan, M, nb, K, 1, a, K, 1, b, OHW, 1, 0, cols, nb, ws, &cb)
        else:
            _gemm_thread(M, nb, K, plan.kc, plan.nc, 1, a, K, 1, b, OHW, 1, 0, cols, nb, ws,
                         ws + plan.bsize, 0, 1, False, &cb)
        if whole:  # (one block)
            _col2im_whole(&cb, cols, job.cin_g, planes)
        else:
            for t in range(M):
                _tap_add(&cb, planes + t // cb.KK * HW, t % cb.KK, p0, nb, cols + t * nb)


cdef inline void _dot_tile(int shape, Py_ssize_t nv, const floating* g, Py_ssize_t ldg,
                           const floating* t, Py_ssize_t ldt, floating* acc, Py_ssize_t lda,
                           Py_ssize_t mr, Py_ssize_t nr) noexcept nogil:
    if floating is float:
        mg_dot_f(shape, nv, g, ldg, t, ldt, acc, lda, mr, nr)
    else:
        mg_dot_d(shape, nv, g, ldg, t, ldt, acc, lda, mr, nr)


cdef int _dot_shape(Py_ssize_t M, Py_ssize_t N) noexcept nogil:
    """The dot-product tile (mg_dot_mr x mg_dot_nr) that computes an M x N block of (output
    channel, tap) with the fewest padded FMAs, then the fewest loads."""
    cdef int i, best = 0
    cdef Py_ssize_t cost, best_cost = -1, tiles
    for i in range(MG_DOT_NSHAPES):
        tiles = _ceil_div(M, mg_dot_mr[i]) * _ceil_div(N, mg_dot_nr[i])
        cost = tiles * (4 * mg_dot_mr[i] * mg_dot_nr[i] + mg_dot_mr[i] + mg_dot_nr[i])
        if best_cost < 0 or cost < best_cost:
            best, best_cost = i, cost
    return best


cdef bint _dot_wins(Py_ssize_t M, Py_ssize_t N, Py_ssize_t itemsize) noexcept nogil:
    """Whether ∂W's dot-product tiles waste at least DOT_MIN_GAIN % fewer FMAs on padding than
    the GEMM's tiles (MR-row panels, NR-column panels with the narrower tail tiles) for an M x N
    (Cout_g, taps) product. Case (a), 30 x 25: 100 % of the dot tiles' FMAs are useful, 73 % of
    the GEMM's (1.37x: dot products); (c), 32 x 27: 97 % against 84 % (1.15x: the GEMM, which
    was as fast there; Zen 4, 1 thread)."""
    cdef Py_ssize_t rows = MR if itemsize == 4 else MR // 2, i = _dot_shape(M, N)
    cdef Py_ssize_t gemm = _round_up(M, rows) * (N // NR * NR + (_tail_width(N % NR) if N % NR else 0))
    cdef Py_ssize_t dot = _round_up(M, mg_dot_mr[i]) * _round_up(N, mg_dot_nr[i])
    return 100 * gemm >= DOT_MIN_GAIN * dot


cdef void _dot_tiles(int shape, Py_ssize_t nv, const floating* g, Py_ssize_t ldg, const floating* T,
                     Py_ssize_t ld, floating* acc, Py_ssize_t M, Py_ssize_t K, Py_ssize_t mr,
                     Py_ssize_t nr) noexcept nogil:
    """acc (M x K vectors) += the lane-wise products of nv vectors of G's rows (M, stride ldg) and
    T's rows (K, stride ld), one mr x nr tile of (output channel, tap) at a time."""
    cdef Py_ssize_t L = MG_DOT_BYTES // sizeof(floating), bt, bo, t0, o0
    for bt in range(_ceil_div(K, nr)):  # a tile's T rows stay in L1 while G's rows stream
        t0 = bt * nr
        for bo in range(_ceil_div(M, mr)):
            o0 = bo * mr
            _dot_tile(shape, nv, g + o0 * ldg, ldg, T + t0 * ld, ld, acc + (o0 * K + t0) * L, K * L,
                      min(mr, M - o0), min(nr, K - t0))


cdef void _wgrad_dot(const ConvJob* job, Py_ssize_t n, Py_ssize_t grp, const floating* x,
                     const floating* g0, floating* ws, floating* acc, double* db) noexcept nogil:
    """∂W of sample n, group grp by dot products over the pixels: per block of job.chunk output
    pixels, the block's columns T (ckk_g x chunk, one row per tap, gathered like the forward's
    rows by _tap_copy, zero-padded to whole vectors), then for each mr x nr block of (output
    channel o, tap t) the lane-wise sums of G_n,g[o, block] · T[t] (G read in place) added into
    this thread's vector accumulators acc (Cout x ckk_g vectors, summed across lanes once per
    call by _dot_run). A block's last partial vector takes G from a zero-padded copy (gt)."""
    cdef ConvB cb = job.cb
    cdef Py_ssize_t L = MG_DOT_BYTES // sizeof(floating), OHW = cb.OHW, K = job.ckk_g
    cdef Py_ssize_t M = job.cout_g, ld = job.chunk + L, mr = mg_dot_mr[job.dot], nr = mg_dot_nr[job.dot]
    cdef Py_ssize_t q, p0, np_, nv, r, t, j, o, cnt
    cdef floating* T = ws
    cdef floating* gt = ws + _round_up(K * ld, ALIGN)
    cdef const floating* g = g0 + (n * job.Cout + grp * M) * OHW
    acc += grp * M * K * L
    cb.x = x + (n * job.C + grp * job.cin_g) * cb.HW
    for q in range(_ceil_div(OHW, job.chunk)):
        p0 = q * job.chunk
        np_ = min(job.chunk, OHW - p0)
        nv = np_ // L
        r = np_ - nv * L
        if _rows_by_panel(&cb):  # NR pixels of every row at a time
            for j in range(_ceil_div(np_, NR)):
                cnt = min(<Py_ssize_t>NR, np_ - j * NR)
                _panel(&cb, 0, K, p0 + j * NR, cnt, _round_up(cnt, L), T + j * NR, ld)
        else:
            for t in range(K):
                _tap_copy(&cb, <const floating*>cb.x + t // cb.KK * cb.HW, t % cb.KK, p0, np_, T + t * ld)
                for j in range(np_, np_ + (L - r) * (r > 0)):
                    T[t * ld + j] = 0
        if r:
            for o in range(M):
                for j in range(L):
                    gt[o * L + j] = g[o * OHW + p0 + nv * L + j] if j < r else 0
        _dot_tiles(job.dot, nv, g + p0, OHW, T, ld, acc, M, K, mr, nr)
        if r:
            _dot_tiles(job.dot, 1, gt, L, T + nv * L, ld, acc, M, K, mr, nr)
    if db != NULL:
        _bias_rows(job, grp, g, NULL, db)


cdef void _dot_run(const ConvJob* job, Py_ssize_t t0, Py_ssize_t t1, const floating* x,
                   const floating* g0, floating* c, floating* ws, double* db) noexcept nogil:
    """Products t0 .. t1 − 1 of ∂W by dot products on this thread (ws: its T, G tail and
    accumulators), then c += the accumulators summed across their lanes."""
    cdef Py_ssize_t L = MG_DOT_BYTES // sizeof(floating), i, l, t
    cdef Py_ssize_t K = job.ckk_g, nacc = job.Cout * job.ckk_g
    cdef floating* acc = ws + _round_up(K * (job.chunk + L), ALIGN) + _round_up(job.cout_g * L, ALIGN)
    cdef floating sm
    memset(acc, 0, nacc * L * sizeof(floating))
    for t in range(t0, t1):
        _wgrad_dot(job, t // job.groups, t % job.groups, x, g0, ws, acc, db)
    for i in range(nacc):
        sm = 0
        for l in range(L):
            sm = sm + acc[i * L + l]
        c[i] += sm


cdef void _conv_product(const ConvJob* job, Plan* plan, Py_ssize_t n, Py_ssize_t grp,
                        const floating* x, const floating* a0, floating* c0, floating* ws,
                        double* db, bint team) noexcept nogil:
    """The product of sample n, group grp (module comment): on this thread alone (ws: its B~, A~
    and ∂x's columns), or with team on plan.nt threads (ws: plan.wsize elements, then ∂x's
    columns). ∂W accumulates into c0 (and ∂b into db); the forward adds the bias."""
    cdef ConvB cb = job.cb
    cdef Py_ssize_t HW = cb.HW, OHW = cb.OHW
    cdef Py_ssize_t M = job.cout_g, N, K, rsa, rsb, csb, ldc
    cdef const floating* a
    cdef floating* c
    cdef floating beta
    if job.dgrad:
        _dgrad_product(job, plan, n, grp, x, a0, c0, ws, team)
        return
    cb.x = x + (n * job.C + grp * job.cin_g) * HW
    if not cb.by_pixel:
        N, K, rsb, csb, ldc, beta = OHW, job.ckk_g, HW, 1, OHW, 0
        a, rsa = a0 + grp * job.cout_g * job.ckk_g, job.ckk_g
        c = c0 + (n * job.Cout + grp * job.cout_g) * OHW
    else:
        N, K, rsb, csb, ldc, beta = job.ckk_g, OHW, 1, HW, job.ckk_g, 1
        a, rsa = a0 + (n * job.Cout + grp * job.cout_g) * OHW, OHW
        c = c0 + grp * job.cout_g * job.ckk_g
    if team:
        _gemm_run(plan, M, N, K, 1, a, rsa, 1, <const floating*>cb.x, rsb, csb, beta, c, ldc, ws, &cb)
    else:
        _gemm_thread(M, N, K, plan.kc, plan.nc, 1, a, rsa, 1, <const floating*>cb.x, rsb, csb, beta,
                     c, ldc, ws, ws + plan.bsize, 0, 1, False, &cb)
    if job.bias != NULL or db != NULL:  # the forward's bias, or ∂W's ∂b
        _bias_rows(job, grp, a, c, db)


cdef void _conv_run(const ConvJob* job, Py_ssize_t nsamples, Plan* plan, int nt,
                    const floating* x, const floating* a0, floating* c0, floating* ws) noexcept nogil:
    """All products: nt > 1 threads taking whole products each (ws: nt (B~, A~, ∂x's columns)
    blocks, then for ∂W nt - 1 zeroed partial sums; ∂b's partial sums: job.db + tid·Cout), or
    nt == 1: one product after the other on plan.nt threads."""
    cdef Py_ssize_t tasks = nsamples * job.groups, per = plan.bsize + plan.asize + job.colsize, t, i
    cdef Py_ssize_t wsize = job.Cout * job.ckk_g
    cdef int tid, team, u
    cdef floating* c
    cdef floating* partial
    if job.dot >= 0:  # ∂W by dot products: ws holds each thread's T, G tail and accumulators
        per = job.colsize
    partial = ws + nt * per
    if nt == 1:
        if job.dot >= 0:
            _dot_run(job, 0, tasks, x, a0, c0, ws, job.db)
            return
        for t in range(tasks):
            _conv_product(job, plan, t // job.groups, t % job.groups, x, a0, c0, ws, job.db, True)
        return
    with parallel(num_threads=nt):
        tid = threadid()
        team = mg_gemm_team_size()  # may be smaller than asked for
        c = c0 if tid == 0 or not job.cb.by_pixel else partial + (tid - 1) * wsize
        if job.dot >= 0:
            _dot_run(job, tid * tasks // team, (tid + 1) * tasks // team, x, a0, c, ws + tid * per,
                     NULL if job.db == NULL else job.db + tid * job.Cout)
        else:
            for t in range(tid * tasks // team, (tid + 1) * tasks // team):
                _conv_product(job, plan, t // job.groups, t % job.groups, x, a0, c, ws + tid * per,
                              NULL if job.db == NULL else job.db + tid * job.Cout, False)
    if job.cb.by_pixel:
        for u in range(nt - 1):
            for i in range(wsize):
                c0[i] += partial[u * wsize + i]


# ∂W by dot products (_wgrad_dot) when one thread's vector accumulators (Cout x ckk_g vectors)
# take at most DOT_ACC_MAX bytes (they stay in L2), in blocks of pixels whose columns T take at
# most DOT_COLS elements (128 KB in float32).
cdef enum:
    DOT_ACC_MAX = 1 << 18
    DOT_COLS = 1 << 15
    DOT_MIN_GAIN = 120


# Bytes of scratch (tap table, packing buffers, partial sums, ∂x's columns) the last conv call asked for.
cdef Py_ssize_t _conv_scratch = 0

# Elements of one thread's block of ∂x columns (ckk_g x chunk; 256 KB in float32: it stays in L2
# between the GEMM that writes it and the col2im that reads it).
cdef enum:
    DGRAD_COLS = 1 << 16


# The kernel the last ∂W call took: "dot" (_wgrad_dot) or "gemm".
cdef str _wgrad_path = "gemm"


def conv_wgrad_path():
    """The kernel the last conv2d_backward_weight call ran: "dot" (dot products over the pixels,
    _wgrad_dot) or "gemm" (the GEMM with pixel-major panels); tests check that both are used."""
    return _wgrad_path


def conv_scratch_bytes():
    """Bytes of scratch the last conv2d_forward / conv2d_backward_weight / conv2d_backward_input
    call used: the tap table, one B~ and A~ block per thread, ∂W's partial sums or ∂x's blocks of
    columns (benchmarks/conv_memory.py reports it)."""
    return _conv_scratch


cdef enum:
    FORWARD = 0
    WGRAD = 1
    DGRAD = 2


cdef inline void _l2_blocks(Plan* plan, Py_ssize_t N, Py_ssize_t itemsize) noexcept nogil:
    """On one thread, B~ blocks of at most the bytes of an A~ block (a quarter of L2): a product
    of the forward or ∂x has few rows (Cout or C per group), so each B~ block is used about once,
    right after it is packed, and should not have to go through L3 (a 64-channel layer at 56²
    packed a 7 MB B~ block per sample)."""
    if plan.nt == 1:
        plan.nc = min(plan.nc, _even_block(N, max(<Py_ssize_t>NR, _mc * _kc * 4 // itemsize // plan.kc), NR))
        plan.bsize = plan.kc * plan.nc
        plan.wsize = plan.bsize + plan.asize


cdef object _conv(int mode, cnp.ndarray x, cnp.ndarray a, cnp.ndarray c, stride, padding,
                  dilation, output_size, kernel_size, Py_ssize_t groups, cnp.ndarray bias,
                  bint grad_bias):
    """One convolution's FORWARD (x, a = weight, c = y; + bias unless None), WGRAD (x, a =
    grad_out, c = ∂W, zeroed; with grad_bias returns (∂W, ∂b)) or DGRAD (x = grad_out, a = Wᵀ as
    (groups, ckk_g, cout_g), c = ∂x); the arrays are C-contiguous, of one dtype, validated by the
    door."""
    global _conv_scratch, _wgrad_path
    cdef ConvJob job
    cdef Plan plan
    cdef Scratch scratch
    if mode == WGRAD:
        _wgrad_path = "gemm"
    cdef bint wgrad = mode == WGRAD
    cdef cnp.ndarray planes = c if mode == DGRAD else x  # the NCHW input of the convolution
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(x), nsamples = x.shape[0], M, N, K, tasks, tab_bytes
    cdef Py_ssize_t H = planes.shape[2], W = planes.shape[3], KH, KW, SH, SW, PT, PL, DH, DW, OH, OW
    cdef Py_ssize_t per, extra, lanes
    cdef bint split
    cdef int nt
    cdef double flops
    cdef cnp.ndarray db = None
    KH, KW = kernel_size
    SH, SW = stride
    PT, PL = padding
    DH, DW = dilation
    OH, OW = output_size
    job.C, job.groups = planes.shape[1], groups
    job.Cout = (a.shape[1] if wgrad else x.shape[1] if mode == DGRAD else a.shape[0])
    job.cin_g, job.cout_g = job.C // groups, job.Cout // groups
    job.ckk_g = job.cin_g * KH * KW
    job.cb.HW, job.cb.KK, job.cb.OHW, job.cb.by_pixel = H * W, KH * KW, OH * OW, wgrad
    job.cb.W, job.cb.OW, job.cb.KW, job.cb.SH, job.cb.SW, job.cb.DH, job.cb.DW, job.cb.PT, job.cb.PL = \
        W, OW, KW, SH, SW, DH, DW, PT, PL
    job.cb.row_runs = SW == 1 and OW >= ROW_RUN_MIN
    job.cb.valid = PT == 0 and PL == 0 and (OH - 1) * SH + (KH - 1) * DH < H and (OW - 1) * SW + (KW - 1) * DW < W
    job.dgrad = mode == DGRAD
    job.cb.matrix = KH == 1 and KW == 1 and SH == 1 and SW == 1 and PT == 0 and PL == 0 \
        and OH == H and OW == W and not job.dgrad
    job.chunk = job.colsize = 0
    job.dot = -1
    M, N, K = job.cout_g, OH * OW, job.ckk_g
    if wgrad:
        N, K = K, N
    elif job.dgrad:  # D (ckk_g x chunk) = W_gᵀ (ckk_g x cout_g) · G_n,g[:, chunk]
        M, K = job.ckk_g, job.cout_g
        job.chunk = N if M * N <= DGRAD_COLS else min(N, max(<Py_ssize_t>NR, DGRAD_COLS // M // NR * NR))
        job.colsize = _round_up(M * job.chunk, ALIGN)
    tasks = nsamples * groups
    job.bias = NULL if bias is None else cnp.PyArray_DATA(bias)
    job.db = NULL
    if tasks == 0 or M == 0 or N == 0 or K == 0:  # nothing to multiply (y may be empty)
        if mode == FORWARD:  # no input channels: y = b, or 0
            c[...] = 0 if bias is None else bias[:, None, None]
        elif mode == DGRAD:  # no output channels: ∂x = 0
            c[...] = 0
        elif grad_bias:  # ∂W is 0 (or empty)
            return c, a.sum(axis=(0, 2, 3))
        return c
    flops = 2.0 * M * N * K * tasks
    nt = threads_capped(flops, PARALLEL_MIN_FLOPS, GRAIN_FLOPS, num_threads())
    tab_bytes = 0 if job.cb.matrix else _round_up(KH * KW * (OH * OW + 1) * sizeof(int), ALIGN)
    if job.dgrad:
        N = job.chunk  # the products' column blocks
    split = nt > 1 and tasks >= nt and (tasks % nt == 0 or tasks >= 4 * nt)
    if wgrad and not job.cb.matrix and job.Cout * job.ckk_g * MG_DOT_BYTES <= DOT_ACC_MAX and tasks >= nt \
            and _dot_wins(job.cout_g, job.ckk_g, s):
        # ∂W of a small (Cout, taps) block: dot products over the pixels (_wgrad_dot)
        lanes = MG_DOT_BYTES // s
        job.dot = _dot_shape(job.cout_g, job.ckk_g)
        _wgrad_path = "dot"
        job.chunk = min(_round_up(OH * OW, lanes), max(lanes, DOT_COLS // job.ckk_g // lanes * lanes))
        job.colsize = _round_up(job.ckk_g * (job.chunk + lanes), ALIGN) + _round_up(job.cout_g * lanes, ALIGN) \
            + _round_up(job.Cout * job.ckk_g * lanes, ALIGN)
        extra = (nt - 1) * job.Cout * job.ckk_g
        _conv_scratch = tab_bytes + s * (nt * job.colsize + extra)
        scratch = _scratch_take(_conv_scratch)
        memset(scratch.data + tab_bytes + s * nt * job.colsize, 0, s * extra)
    elif split:
        plan = _plan(M, N, K, s, 1, CONV_KC_SCALE * _kc)  # whole products per thread
        if not wgrad:
            _l2_blocks(&plan, N, s)
        per = plan.bsize + plan.asize + job.colsize
        extra = (nt - 1) * job.Cout * job.ckk_g * wgrad
        _conv_scratch = tab_bytes + s * (nt * per + extra)
        scratch = _scratch_take(_conv_scratch)
        if wgrad:
            memset(scratch.data + tab_bytes + s * nt * per, 0, s * extra)
    else:
        nt = 1
        plan = _plan(M, N, K, s, num_threads(), CONV_KC_SCALE * _kc)  # products on the GEMM's team
        if not wgrad:
            _l2_blocks(&plan, N, s)
        _conv_scratch = tab_bytes + s * (plan.wsize + job.colsize)
        scratch = _scratch_take(_conv_scratch)
    job.cb.taps = <const int*>scratch.data
    job.cb.runs = job.cb.taps + KH * KW * OH * OW
    if grad_bias:  # per-thread partial sums of ∂b, in double (Cout values each)
        db = np.zeros((nt, job.Cout), np.float64)
        job.db = <double*>cnp.PyArray_DATA(db)
    with nogil:
        if _uses_table(&job, mode):
            _tap_table(<int*>scratch.data, <int*>scratch.data + KH * KW * OH * OW, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW)
        if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
            _conv_run[float](&job, nsamples, &plan, nt, <const float*>cnp.PyArray_DATA(x),
                             <const float*>cnp.PyArray_DATA(a), <float*>cnp.PyArray_DATA(c),
                             <float*>(scratch.data + tab_bytes))
        else:
            _conv_run[double](&job, nsamples, &plan, nt, <const double*>cnp.PyArray_DATA(x),
                              <const double*>cnp.PyArray_DATA(a), <double*>cnp.PyArray_DATA(c),
                              <double*>(scratch.data + tab_bytes))
    _scratch_give(scratch)
    if grad_bias:
        return c, db.sum(axis=0).astype(x.dtype)
    return c


def conv2d_forward(cnp.ndarray x, cnp.ndarray weight, stride, padding, dilation, output_size,
                   Py_ssize_t groups, cnp.ndarray bias=None):
    """y (N, Cout, OH, OW) = the convolution (cross-correlation) of x (N, C, H, W) with weight
    (Cout, C / groups, KH, KW), + bias (Cout) unless None, by implicit GEMM. ``padding`` is
    (top, left); the bottom/right padding is implied by ``output_size`` (OH, OW). Validated by
    the door (_ops.conv2d_forward)."""
    y = np.empty((x.shape[0], weight.shape[0]) + tuple(output_size), dtype=x.dtype)
    return _conv(FORWARD, x, weight, y, stride, padding, dilation, output_size,
                 (weight.shape[2], weight.shape[3]), groups, bias, False)


def conv2d_backward_weight(cnp.ndarray grad_out, cnp.ndarray x, weight_shape, stride, padding,
                           dilation, output_size, Py_ssize_t groups, bint grad_bias=False):
    """∂W (weight_shape) = Σ_n G_n · cols_nᵀ per group, for grad_out G (N, Cout, OH, OW) of the
    convolution of x; with grad_bias the pair (∂W, ∂b = Σ G over samples and pixels, summed per
    product in double while G is in cache). Arguments as in conv2d_forward. Validated by the door."""
    gw = np.zeros(weight_shape, dtype=x.dtype)
    return _conv(WGRAD, x, grad_out, gw, stride, padding, dilation, output_size,
                 (weight_shape[2], weight_shape[3]), groups, None, grad_bias)


def conv2d_backward_input(cnp.ndarray grad_out, cnp.ndarray weight, input_shape, stride, padding,
                          dilation, output_size, Py_ssize_t groups):
    """∂x (input_shape) = col2im(W_gᵀ · G_n,g) per sample and group, for grad_out G
    (N, Cout, OH, OW) of the convolution with weight, one L2-sized block of columns at a time
    (_dgrad_product). Arguments as in conv2d_forward. Validated by the door."""
    cdef Py_ssize_t cout_g = weight.shape[0] // groups
    wt = np.ascontiguousarray(weight.reshape(groups, cout_g, weight.shape[1] * weight.shape[2] * weight.shape[3])
                              .transpose(0, 2, 1))
    gx = np.empty(input_shape, dtype=grad_out.dtype)
    return _conv(DGRAD, grad_out, wt, gx, stride, padding, dilation, output_size,
                 (weight.shape[2], weight.shape[3]), groups, None, False)
