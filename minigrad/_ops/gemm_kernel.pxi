# The GEMM kernel shared by every ISA module (gemm_generic.pyx, gemm_avx2.pyx, gemm_avx512.pyx).
#
# Textually included after the includer defines its tile and blocking as compile-time constants:
#   NR   columns of the register tile (micro-kernel), the same for both dtypes: a whole number of
#        vector registers
#   MR   rows of the register tile for float32; float64 uses MR / 2 rows of the same NR columns,
#        so both dtypes hold the same bytes of accumulators (the register file)
#   KC   depth of one packed block for float32 when the L1d size is unknown; float64 uses KC / 2,
#        so a kc x NR panel of B~ has the same bytes (it must stay in L1)
#   MC   rows of one packed A block per thread (its L2-resident part) when the L2 size is unknown
#   NC   columns of one packed B block (shared by the threads, L3-resident)
# At import the depth and row blocks are set from the cache sizes read at run time (blocking_for):
# a kc x NR panel of B~ fills half of L1d (or 1/32 of L2 if more), an mc x kc block of A~ a
# quarter of L2.
# The micro-kernels are C (below), so MR, NR and NRT are C macros (MG_GEMM_MR, MG_GEMM_NR,
# MG_GEMM_NRT: the includer declares them in a verbatim C block, as extern enum values for
# Cython), with MG_GEMM_VEC, the floats of one vector register, and optionally MG_GEMM_KUNROLL,
# the pragma that unrolls the k loop (4 steps when not defined):
#   NRT  columns of the narrow tail tile (a whole number of vector registers, NR / 2 or less): a
#        last column panel of at most NRT columns is packed NRT wide and computed 2 * mrt rows at
#        a time, so N = 100 is padded to 104 instead of 112 (the padding was ~10 % of a 100-sized
#        product's time on Zen 3, 1 thread)
#   NRM  columns of the middle tail tile (NRT <= NRM <= NR / 2, whole vector registers): a last
#        panel of NRT+1..NRM columns is packed NRM wide and computed like the narrow one, so
#        N = 10 costs a 16-wide tile, not a 32-wide one, on AVX-512 (NRM = NRT: no such tile)
# and ISA, the name of the path ('generic', 'avx2', 'avx512').
#
# Algorithm (the classic Goto/BLIS loop nest), C = alpha * A @ B + beta * C:
#   for jc in N by NC:                     B block of NC columns
#     for pc in K by KC:                   depth block
#       pack B[pc:pc+kc, jc:jc+nc] into panels of NR columns, k-major ("B~"); threads share the work
#       barrier
#       for ic in (this thread's rows) by MC:
#         pack A[ic:ic+mc, pc:pc+kc] into panels of mrt rows, k-major ("A~"), per thread
#         for jr in panels of B~ (a kc x NR panel stays in L1)
#           for ir in panels of A~: micro-kernel, an mrt x NR tile of C
#       barrier (B~ is overwritten next)
# Packing reads A and B through any row/column stride, so transposed views (x.T, W.T) cost no copy.
# For small N (few column panels), and in a convolution's products, row-major A is not packed: the
# micro-kernel reads its rows in place. Edge tiles are zero-padded in the packed buffers (rows of
# A~, columns of B~), so the micro-kernel always computes the full tile; only the final write to C
# is trimmed. The first depth block applies beta, later ones accumulate; after the last, an
# optional bias row is added to each tile while it is in L1 (F.linear's b). One OpenMP parallel
# region per call: threads form a grid over the rows of C and the column panels (_grid) and meet at an
# orphaned `omp barrier` between packing B~ and using it, unless B~ is small (PRIVATE_B_MAX): then
# each thread packs its own and the region has no barrier. Products below PARALLEL_MIN_FLOPS run on
# one thread (no region); above, one thread per GRAIN_FLOPS (at least 2, at most set_num_threads and
# the micro-tiles of C); under OMP_WAIT_POLICY=passive from PASSIVE_PARALLEL_MIN_FLOPS. Batched
# matmul of small matrices runs whole matrices per thread.

import numpy as np

cimport numpy as cnp
from cpython.pythread cimport (NOWAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock,
                               PyThread_release_lock, PyThread_type_lock)
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.parallel cimport parallel, prange, threadid
from minigrad._ops.cpu cimport num_threads, threads_capped
from minigrad._ops.cpu import cache_sizes, omp_wait_passive

cnp.import_array()

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static void mg_gemm_barrier(void) {
        #pragma omp barrier
    }
    static int mg_gemm_team_size(void) { return omp_get_num_threads(); }
    #else
    static void mg_gemm_barrier(void) {}
    static int mg_gemm_team_size(void) { return 1; }
    #endif
    #if defined(__GNUC__)
    #define mg_gemm_prefetch(p) __builtin_prefetch((p), 1, 3)
    #else
    #define mg_gemm_prefetch(p) ((void)(p))
    #endif

    /* Square block transposes for packing a transposed B (columns contiguous): dst[p*ldd + j] =
       src[j*lds + p] for an 8 x 8 float / 4 x 4 double block, in vector registers (rows loaded,
       interleaved by lane shuffles, columns stored) instead of one scalar store per element.
       Only with AVX (256-bit shuffles in one instruction each); elsewhere MG_GEMM_VEC_T is 0 and
       the caller's scalar loop runs. Not expressible in Cython, hence C. */
    #if defined(__AVX__) && defined(__has_builtin)
    #if __has_builtin(__builtin_shufflevector)
    #define MG_GEMM_VEC_T 1
    #endif
    #endif
    #ifdef MG_GEMM_VEC_T
    typedef float mg_v8sf __attribute__((vector_size(32)));
    typedef double mg_v4df __attribute__((vector_size(32)));
    static inline void mg_gemm_t8x8f(const float *src, Py_ssize_t lds, float *dst, Py_ssize_t ldd) {
        mg_v8sf r[8], t[8], u[8];
        int i;
        for (i = 0; i < 8; i++) __builtin_memcpy(&r[i], src + i * lds, sizeof(mg_v8sf));
        for (i = 0; i < 8; i += 2) {  /* pairs of rows interleaved within 128-bit lanes */
            t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
            t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
        }
        for (i = 0; i < 8; i += 4) {  /* quads: u[i + k] holds depths k and k + 4 of 4 rows */
            u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
            u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
        }
        for (i = 0; i < 4; i++) {  /* 128-bit halves of rows 0-3 and 4-7 joined */
            mg_v8sf lo = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
            mg_v8sf hi = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
            __builtin_memcpy(dst + i * ldd, &lo, sizeof(mg_v8sf));
            __builtin_memcpy(dst + (i + 4) * ldd, &hi, sizeof(mg_v8sf));
        }
    }
    static inline void mg_gemm_t4x4d(const double *src, Py_ssize_t lds, double *dst, Py_ssize_t ldd) {
        mg_v4df r[4], t[4];
        int i;
        for (i = 0; i < 4; i++) __builtin_memcpy(&r[i], src + i * lds, sizeof(mg_v4df));
        for (i = 0; i < 4; i += 2) {
            t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 4, 2, 6);
            t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 1, 5, 3, 7);
        }
        for (i = 0; i < 2; i++) {
            mg_v4df lo = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 4, 5);
            mg_v4df hi = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 6, 7);
            __builtin_memcpy(dst + i * ldd, &lo, sizeof(mg_v4df));
            __builtin_memcpy(dst + (i + 2) * ldd, &hi, sizeof(mg_v4df));
        }
    }
    #else
    #define MG_GEMM_VEC_T 0
    static inline void mg_gemm_t8x8f(const float *src, Py_ssize_t lds, float *dst, Py_ssize_t ldd) {}
    static inline void mg_gemm_t4x4d(const double *src, Py_ssize_t lds, double *dst, Py_ssize_t ldd) {}
    #endif

    /* The micro-kernels, in C with vector types: C[:mr, :nr] = alpha * A @ B~ + beta * C[:mr, :nr]
       for a tile of R1 + R2 rows x NV vectors (W columns). Rows 0..R1-1 of A come from ap, rows
       R1..R1+R2-1 from ap2 (both with element (i, p) at [i * rs + p * cs]); bp: kc x W panel of
       B~, k-major. The accumulators are a local array of vectors indexed by constants only, so
       they live in registers, and `scalar * vector` compiles to FMAs with the A element as a
       memory broadcast operand (`vfmadd231ps (mem){1to16}`): one instruction per product, where
       the former loops in Cython compiled to a separate `vbroadcastss` before every two FMAs.
       Main tile: R1 = mrt rows, R2 = 0, W = NR. Narrow tail tile: two row panels (R1 = R2 = mrt,
       ap2 = ap when one row panel is left, then mr <= mrt) of W = NRT columns, so a last panel of
       <= NRT columns keeps as many independent accumulators as the full tile and the FMA latency
       stays hidden. Middle tail tile: the same with W = NRM columns. (A loop of NRT <= 8 scalar
       columns is fully unrolled by GCC before it would be vectorized, which spilled the tile;
       vector types avoid that.) */
    /* Vectors of one register width (MG_GEMM_VEC floats) for the main tile, of NRT floats for the
       narrow one (on AVX-512 a ymm: an 8-column tail, the same FMA rate as zmm on Zen 4), of NRM
       for the middle one; a float64 row is two or more of them (wider vector types are lowered
       through the stack on AVX2). */
    typedef float mg_gemm_vf __attribute__((vector_size(MG_GEMM_VEC * sizeof(float))));
    typedef double mg_gemm_vd __attribute__((vector_size(MG_GEMM_VEC * sizeof(float))));
    typedef float mg_gemm_vnf __attribute__((vector_size(MG_GEMM_NRT * sizeof(float))));
    typedef double mg_gemm_vnd __attribute__((vector_size(MG_GEMM_NRT * sizeof(float))));
    /* the same, for unaligned loads and stores (by value: a memcpy into a local array spills) */
    typedef float mg_gemm_vf_u __attribute__((vector_size(MG_GEMM_VEC * sizeof(float)), aligned(4)));
    typedef double mg_gemm_vd_u __attribute__((vector_size(MG_GEMM_VEC * sizeof(float)), aligned(8)));
    typedef float mg_gemm_vnf_u __attribute__((vector_size(MG_GEMM_NRT * sizeof(float)), aligned(4)));
    typedef double mg_gemm_vnd_u __attribute__((vector_size(MG_GEMM_NRT * sizeof(float)), aligned(8)));
    typedef float mg_gemm_vmf __attribute__((vector_size(MG_GEMM_NRM * sizeof(float))));
    typedef double mg_gemm_vmd __attribute__((vector_size(MG_GEMM_NRM * sizeof(float))));
    typedef float mg_gemm_vmf_u __attribute__((vector_size(MG_GEMM_NRM * sizeof(float)), aligned(4)));
    typedef double mg_gemm_vmd_u __attribute__((vector_size(MG_GEMM_NRM * sizeof(float)), aligned(8)));
    #if defined(__GNUC__)
    #define MG_GEMM_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define MG_GEMM_ALWAYS_INLINE static inline
    #endif
    /* Every loop over the tile's rows is unrolled whole, whatever the tile (GCC's peeling limit,
       --param=max-completely-peel-times=8 in setup.py, would leave a loop over 12 rows, and the
       accumulators in memory). */
    #define MG_GEMM_UNROLL _Pragma("GCC unroll 32")
    #ifndef MG_GEMM_KUNROLL
    #define MG_GEMM_KUNROLL _Pragma("GCC unroll 4")
    #endif
    #define MG_GEMM_TILE(NAME, T, V, VU, R1, R2, NV, W)                                            \
    MG_GEMM_ALWAYS_INLINE void NAME(Py_ssize_t kc, const T *ap, const T *ap2, Py_ssize_t rs,     \
                                    Py_ssize_t cs, const T *bp, T *c, Py_ssize_t ldc,            \
                                    Py_ssize_t mr, Py_ssize_t nr, T alpha, T beta) {             \
        V acc[(R1) + (R2)][NV], b[NV], out[(R1) + (R2)][NV];                                     \
        Py_ssize_t i, j, p, v;                                                                   \
        for (i = 0; i < mr; i++)  /* C rows arrive while the k loop runs */                      \
            mg_gemm_prefetch(c + i * ldc), mg_gemm_prefetch(c + i * ldc + (W) - 1);              \
        /* the first k step initializes the accumulators (no zeroing pass) */                     \
        for (v = 0; v < (NV); v++)                                                               \
            b[v] = ((const VU *)bp)[v];                                                          \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (R1); i++)                                                               \
            for (v = 0; v < (NV); v++)                                                           \
                acc[i][v] = ap[i * rs] * b[v];                                                   \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (R2); i++)                                                               \
            for (v = 0; v < (NV); v++)                                                           \
                acc[(R1) + i][v] = ap2[i * rs] * b[v];                                           \
        MG_GEMM_KUNROLL                                                                          \
        for (p = 1; p < kc; p++) {                                                               \
            MG_GEMM_UNROLL                                                                       \
            for (i = 0; i < (R1); i++)                                                           \
                for (v = 0; v < (NV); v++)                                                       \
                    acc[i][v] += ap[i * rs + p * cs] * ((const VU *)(bp + p * (W)))[v];                                \
            MG_GEMM_UNROLL                                                                       \
            for (i = 0; i < (R2); i++)                                                           \
                for (v = 0; v < (NV); v++)                                                       \
                    acc[(R1) + i][v] += ap2[i * rs + p * cs] * ((const VU *)(bp + p * (W)))[v];                        \
        }                                                                                        \
        if (mr == (R1) + (R2) && nr == (W)) {  /* full tile: vector stores */                    \
            MG_GEMM_UNROLL                                                                       \
            for (i = 0; i < (R1) + (R2); i++)                                                    \
                for (v = 0; v < (NV); v++) {                                                     \
                    VU *o = (VU *)(c + i * ldc) + v;                                             \
                    /* beta == 0: C is not read (it may be uninitialized or hold NaN) */         \
                    *o = beta == 0 ? alpha * acc[i][v] : alpha * acc[i][v] + beta * *o;          \
                }                                                                                \
            return;                                                                              \
        }                                                                                        \
        /* copied out whole (constant indices): indexing acc by the runtime mr would put it  \
           in memory for the whole k loop */                                                     \
        MG_GEMM_UNROLL                                                                           \
        for (i = 0; i < (R1) + (R2); i++)                                                        \
            for (v = 0; v < (NV); v++)                                                           \
                out[i][v] = acc[i][v];                                                           \
        for (i = 0; i < mr; i++) {                                                               \
            const T *o = (const T *)out[i];                                                      \
            if (beta == 0)                                                                       \
                for (j = 0; j < nr; j++) c[i * ldc + j] = alpha * o[j];                          \
            else                                                                                 \
                for (j = 0; j < nr; j++) c[i * ldc + j] = alpha * o[j] + beta * c[i * ldc + j];  \
        }                                                                                        \
    }
    #define MG_GEMM_MRD (MG_GEMM_MR / 2)
    MG_GEMM_TILE(mg_gemm_narrow_f_, float, mg_gemm_vnf, mg_gemm_vnf_u, MG_GEMM_MR, MG_GEMM_MR, 1, MG_GEMM_NRT)
    MG_GEMM_TILE(mg_gemm_narrow_d_, double, mg_gemm_vnd, mg_gemm_vnd_u, MG_GEMM_MRD, MG_GEMM_MRD, 2, MG_GEMM_NRT)
    MG_GEMM_TILE(mg_gemm_mid_f_, float, mg_gemm_vmf, mg_gemm_vmf_u, MG_GEMM_MR, MG_GEMM_MR, 1, MG_GEMM_NRM)
    MG_GEMM_TILE(mg_gemm_mid_d_, double, mg_gemm_vmd, mg_gemm_vmd_u, MG_GEMM_MRD, MG_GEMM_MRD, 2, MG_GEMM_NRM)
    MG_GEMM_TILE(mg_gemm_tile_f_, float, mg_gemm_vf, mg_gemm_vf_u, MG_GEMM_MR, 0, MG_GEMM_NR / MG_GEMM_VEC, MG_GEMM_NR)
    MG_GEMM_TILE(mg_gemm_tile_d_, double, mg_gemm_vd, mg_gemm_vd_u, MG_GEMM_MRD, 0, 2 * MG_GEMM_NR / MG_GEMM_VEC, MG_GEMM_NR)
    /* Half-height main tiles, for a last row panel of at most half the rows: M = 100 with 8-row
       tiles ends in 4 rows, which the full tile computed as 8 (4 % of the product's flops). */
    MG_GEMM_TILE(mg_gemm_half_f_, float, mg_gemm_vf, mg_gemm_vf_u, MG_GEMM_MR / 2, 0, MG_GEMM_NR / MG_GEMM_VEC, MG_GEMM_NR)
    MG_GEMM_TILE(mg_gemm_half_d_, double, mg_gemm_vd, mg_gemm_vd_u, MG_GEMM_MRD / 2, 0, 2 * MG_GEMM_NR / MG_GEMM_VEC, MG_GEMM_NR)
    /* and half-height tail tiles, for such a panel alone (ap2 = ap): 100 x 100 x 16 ran its last 4
       rows as 16 (4.55 us against 3.78 for M = 96; Zen 4, 1 thread) */
    MG_GEMM_TILE(mg_gemm_narrowh_f_, float, mg_gemm_vnf, mg_gemm_vnf_u, MG_GEMM_MR / 2, 0, 1, MG_GEMM_NRT)
    MG_GEMM_TILE(mg_gemm_narrowh_d_, double, mg_gemm_vnd, mg_gemm_vnd_u, MG_GEMM_MRD / 2, 0, 2, MG_GEMM_NRT)
    MG_GEMM_TILE(mg_gemm_midh_f_, float, mg_gemm_vmf, mg_gemm_vmf_u, MG_GEMM_MR / 2, 0, 1, MG_GEMM_NRM)
    MG_GEMM_TILE(mg_gemm_midh_d_, double, mg_gemm_vmd, mg_gemm_vmd_u, MG_GEMM_MRD / 2, 0, 2, MG_GEMM_NRM)
    /* Out-of-line entry points, each specialized for its layout of A: a packed A~ panel (rs = 1,
       cs = rows of the panel; a partial last panel may take the half tile) or full row panels of
       a row-major A read in place (cs = 1). MG_GEMM_PICK makes that choice between a tile FULL and
       its half-height twin HALF; AP2 is FULL's second row group (ap2, or ap when it has none). */
    #define MG_GEMM_PICK(FULL, HALF, AP2, ROWS)                                                  \
        if (cs == 1)                                                                             \
            FULL(kc, ap, AP2, rs, 1, bp, c, ldc, mr, nr, alpha, beta);                           \
        else if (mr <= (ROWS) / 2)                                                               \
            HALF(kc, ap, ap, 1, ROWS, bp, c, ldc, mr, nr, alpha, beta);                          \
        else                                                                                     \
            FULL(kc, ap, AP2, 1, ROWS, bp, c, ldc, mr, nr, alpha, beta);
    #define MG_GEMM_ENTRIES(T, S, ROWS)                                                          \
    static void mg_gemm_narrow_##S(Py_ssize_t kc, const T *ap, const T *ap2, Py_ssize_t rs,      \
                                   Py_ssize_t cs, const T *bp, T *c, Py_ssize_t ldc,             \
                                   Py_ssize_t mr, Py_ssize_t nr, T alpha, T beta) {              \
        /* (folded away, with the middle tiles, when NRM = NRT) */                               \
        if (MG_GEMM_NRM > MG_GEMM_NRT && nr > MG_GEMM_NRT) {                                     \
            MG_GEMM_PICK(mg_gemm_mid_##S##_, mg_gemm_midh_##S##_, ap2, ROWS)                     \
        } else {                                                                                 \
            MG_GEMM_PICK(mg_gemm_narrow_##S##_, mg_gemm_narrowh_##S##_, ap2, ROWS)               \
        }                                                                                        \
    }                                                                                            \
    static void mg_gemm_tile_##S(Py_ssize_t kc, const T *ap, Py_ssize_t rs, Py_ssize_t cs,       \
                                 const T *bp, T *c, Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr, \
                                 T alpha, T beta) {                                              \
        MG_GEMM_PICK(mg_gemm_tile_##S##_, mg_gemm_half_##S##_, ap, ROWS)                         \
    }
    MG_GEMM_ENTRIES(float, f, MG_GEMM_MR)
    MG_GEMM_ENTRIES(double, d, MG_GEMM_MRD)
    """
    void mg_gemm_barrier() noexcept nogil
    int mg_gemm_team_size() noexcept nogil
    void mg_gemm_prefetch(const void *p) noexcept nogil
    bint MG_GEMM_VEC_T
    void mg_gemm_t8x8f(const float* src, Py_ssize_t lds, float* dst, Py_ssize_t ldd) noexcept nogil
    void mg_gemm_t4x4d(const double* src, Py_ssize_t lds, double* dst, Py_ssize_t ldd) noexcept nogil
    void mg_gemm_narrow_f(Py_ssize_t kc, const float* ap, const float* ap2, Py_ssize_t rs,
                          Py_ssize_t cs, const float* bp, float* c, Py_ssize_t ldc, Py_ssize_t mr,
                          Py_ssize_t nr, float alpha, float beta) noexcept nogil
    void mg_gemm_narrow_d(Py_ssize_t kc, const double* ap, const double* ap2, Py_ssize_t rs,
                          Py_ssize_t cs, const double* bp, double* c, Py_ssize_t ldc, Py_ssize_t mr,
                          Py_ssize_t nr, double alpha, double beta) noexcept nogil
    void mg_gemm_tile_f(Py_ssize_t kc, const float* ap, Py_ssize_t rs, Py_ssize_t cs,
                        const float* bp, float* c, Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr,
                        float alpha, float beta) noexcept nogil
    void mg_gemm_tile_d(Py_ssize_t kc, const double* ap, Py_ssize_t rs, Py_ssize_t cs,
                        const double* bp, double* c, Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr,
                        double alpha, double beta) noexcept nogil


cdef inline void _micro_kernel_narrow(Py_ssize_t kc, const floating* ap, const floating* ap2,
                                      Py_ssize_t rs, Py_ssize_t cs, const floating* bp,
                                      floating* c, Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr,
                                      floating alpha, floating beta) noexcept nogil:
    """The narrow or middle tail tile (2 * mrt rows x NRT or NRM columns, by nr); see
    mg_gemm_narrow_f above."""
    if floating is float:
        mg_gemm_narrow_f(kc, ap, ap2, rs, cs, bp, c, ldc, mr, nr, alpha, beta)
    else:
        mg_gemm_narrow_d(kc, ap, ap2, rs, cs, bp, c, ldc, mr, nr, alpha, beta)

cdef enum:
    KU = 4                # kc is a multiple of this (the tiles' k loops are unrolled by 4 in C)
    DIRECT_A_MAX_N = 128  # up to this N, row-major A is read in place instead of packed
    ALIGN = 64            # packed buffers start on a cache line
    # Below this many flops (2*M*N*K) a call runs on one thread: waking the second costs more
    # (measured on 2-core machines, where a 2-thread team is cheap). With spinning workers
    # (OpenMP's default wait policy) a region starts in ~1 us on Zen 4; sleeping workers
    # (OMP_WAIT_POLICY=passive) are woken through the kernel, so there the second thread pays
    # only from PASSIVE_PARALLEL_MIN_FLOPS (100 x 100 x 100: 37 us on 2 threads, 26 us on 1,
    # Zen 4, 2 cores; docs/kernels.md, "How many threads").
    PARALLEL_MIN_FLOPS = 1 << 18
    PASSIVE_PARALLEL_MIN_FLOPS = 1 << 22
    # Above it, one thread per this many flops (~40 us of one Zen 4 core at the 107 GFLOP/s it
    # reaches on 1024^3): on a 16-core Intel Xeon a 100 x 784 x 100 product took 154 us on
    # 2 threads and 394 us on 16 (docs/kernels.md).
    GRAIN_FLOPS = 1 << 22
    # Batched matmul runs whole batches per thread when one batch is below this many flops.
    BATCH_PARALLEL_MAX_FLOPS = 1 << 26
    # When the threads split the rows of C and all of B~ (K x N, padded) has at most this many
    # elements, each thread packs its own copy of B~: no barriers at all (a GOMP barrier costs
    # ~1 us idle on Zen 3, and much more when a thread is descheduled on a loaded host), for
    # packing work that is small next to the thread's rows of products (at least 4 row panels each).
    PRIVATE_B_MAX = 1 << 17


# Depth and row blocks in float32 elements (float64: half the depth), set at import from the cache
# sizes (blocking_for); KC and MC when the OS does not report them.
cdef Py_ssize_t _kc = KC, _mc = MC
# The GEMM's PARALLEL_MIN_FLOPS for the wait policy this process started with (libgomp reads it once).
cdef double _parallel_min_flops = PASSIVE_PARALLEL_MIN_FLOPS if omp_wait_passive() else PARALLEL_MIN_FLOPS


def parallel_min_flops():
    """Flops (2*M*N*K) from which a product may run on more than one thread, for this process's
    OpenMP wait policy."""
    return _parallel_min_flops


def blocking_for(Py_ssize_t l1d, Py_ssize_t l2):
    """(kc, mc) for caches of l1d and l2 bytes per core (0: unknown, KC or MC is kept).

    A kc x NR float32 panel of B~ fills half of L1d (the other half holds the streamed A~ panel
    and C rows), or 1/32 of L2 if that is more: with a large L2 the panel may outgrow L1, whose
    misses L2 serves at 2 loads per k step, and longer depth blocks load and store each tile of C
    fewer times (Zen 4, 32 KB / 1 MB: kc 256, the panel all of L1d, was faster than 128: see
    docs/kernels.md). An mc x kc block of A~ fills a quarter of L2 (the rest holds B~ panels on
    their way in). kc is a whole number of k-loop unrolls (KU), mc of register tiles (MR)."""
    kc = min(512, max(64, max(l1d // (8 * NR), l2 // (128 * NR)) // KU * KU)) if l1d > 0 else KC
    mc = min(512 // MR * MR, max(4 * MR, l2 // (16 * kc) // MR * MR)) if l2 > 0 else MC
    return kc, mc


def set_blocking(Py_ssize_t kc, Py_ssize_t mc):
    """Use depth blocks of kc and row blocks of mc (float32 elements; multiples of KU and MR)."""
    global _kc, _mc
    if kc < KU or kc % KU or mc < MR or mc % MR:
        raise ValueError(f"set_blocking: expected kc a positive multiple of {KU} and mc of {MR}, "
                         f"got {kc} and {mc}")
    _kc, _mc = kc, mc


def blocking():
    """The blocking in use: {'mr', 'nr', 'kc', 'mc', 'nc'} (float32 elements)."""
    return {"mr": MR, "nr": NR, "kc": _kc, "mc": _mc, "nc": NC}


cdef inline Py_ssize_t _mr(Py_ssize_t itemsize) noexcept nogil:
    """Rows of the register tile for this dtype."""
    return MR * 4 // itemsize


cdef inline Py_ssize_t _tail_width(Py_ssize_t nr) noexcept nogil:
    """Packed width of a column panel of nr <= NR columns: that of the tile computing it."""
    return NRT if nr <= NRT else NRM if nr <= NRM else NR


cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b


cdef inline Py_ssize_t _round_up(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return _ceil_div(a, b) * b


cdef struct Grid:
    int tm  # thread rows: each takes a share of the rows of C (and packs those rows of A)
    int tn  # thread columns: each takes a share of the column panels of every B~ block


cdef inline bint _private_b(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t mrt,
                            int nt) noexcept nogil:
    """Whether nt threads splitting the rows of C each pack their own B~ (see PRIVATE_B_MAX)."""
    return nt > 1 and K * _round_up(N, NR) <= PRIVATE_B_MAX and _ceil_div(M, nt) >= 4 * mrt


cdef Grid _grid(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t mrt, int nt) noexcept nogil:
    """How nt threads split C (tm * tn <= nt; the rest idle). Rows only when that allows a private
    B~ (no barriers at all). Else, among the grids whose busiest thread has at most 1/8 more
    micro-tiles than the best balanced one (the critical path), the fewest rows + columns per
    thread: each k step a thread reads its rows of A~ and its columns of B~, which other cores
    packed, so a 1-D split of 256 x 1024 on 16 threads (16 rows each) streams all of B~ into every
    core for 2 tiles per panel, where 4 x 4 streams a quarter of it for 8. Fewer thread rows must
    save 1/8 of that traffic (near-ties go to rows, the split measured on 2-core machines)."""
    cdef Py_ssize_t R = _ceil_div(M, mrt), P = _ceil_div(min(N, <Py_ssize_t>NC), NR)
    cdef Py_ssize_t least = R * P, cost, best_cost = -1
    cdef int tm, tn
    cdef bint exact = False  # some grid uses all nt threads (tm * tn == nt)
    cdef Grid g
    g.tm, g.tn = 1, 1
    if _private_b(M, N, K, mrt, nt):
        g.tm = nt
        return g
    for tm in range(1, nt + 1):
        if tm <= R and nt // tm <= P:
            least = min(least, _ceil_div(R, tm) * _ceil_div(P, nt // tm))
            exact = exact or nt % tm == 0
    for tm in range(nt, 0, -1):
        tn = nt // tm
        if tm > R or tn > P or (exact and nt % tm) \
                or 8 * _ceil_div(R, tm) * _ceil_div(P, tn) > 9 * least:
            continue
        cost = _ceil_div(R, tm) * mrt + _ceil_div(P, tn) * NR
        if best_cost < 0 or 8 * cost < 7 * best_cost:
            g.tm, g.tn, best_cost = tm, tn, cost
    return g


cdef inline Py_ssize_t _even_block(Py_ssize_t n, Py_ssize_t cap, Py_ssize_t unit) noexcept nogil:
    """Block length for splitting n into equal blocks of at most ~cap, a multiple of unit: the
    last block is then not a tiny remainder."""
    return _round_up(_ceil_div(n, _ceil_div(n, cap)), unit)


cdef inline void _micro_kernel(Py_ssize_t kc, const floating* ap, Py_ssize_t rs, Py_ssize_t cs,
                               const floating* bp, floating* c, Py_ssize_t ldc,
                               Py_ssize_t mr, Py_ssize_t nr,
                               floating alpha, floating beta) noexcept nogil:
    """C[:mr, :nr] = alpha * A @ B~ + beta * C[:mr, :nr] for one mrt x NR tile (mg_gemm_tile_f
    above).

    A: mrt rows x kc (kc >= 1), element (i, p) at ap[i * rs + p * cs]: a packed panel (rs = 1, cs = mrt) or
    rows of a row-major matrix read in place (rs = row stride, cs = 1); all mrt rows must be
    readable. bp: kc x NR panel of B~, k-major.
    """
    if floating is float:
        mg_gemm_tile_f(kc, ap, rs, cs, bp, c, ldc, mr, nr, alpha, beta)
    else:
        mg_gemm_tile_d(kc, ap, rs, cs, bp, c, ldc, mr, nr, alpha, beta)


cdef void _pack_a(Py_ssize_t mcur, Py_ssize_t kc, const floating* a, Py_ssize_t rsa,
                  Py_ssize_t csa, floating* dst) noexcept nogil:
    """A[:mcur, :kc] (strides rsa, csa) -> panels of mrt rows, k-major, the last zero-padded.

    The inner loop walks the rows at one k: contiguous when A is a transposed view, else mrt
    sequential streams; the writes are contiguous either way.
    """
    cdef Py_ssize_t mrt = _mr(sizeof(floating))
    cdef Py_ssize_t q, ir, mr, i, p
    cdef const floating* src
    for q in range(_ceil_div(mcur, mrt)):
        ir = q * mrt
        mr = min(mrt, mcur - ir)
        src = a + ir * rsa
        if mr == mrt:
            for p in range(kc):
                for i in range(mrt):
                    dst[p * mrt + i] = src[i * rsa + p * csa]
        else:
            for p in range(kc):
                for i in range(mr):
                    dst[p * mrt + i] = src[i * rsa + p * csa]
                for i in range(mr, mrt):
                    dst[p * mrt + i] = 0
        dst += kc * mrt


cdef void _pack_b_transposed(Py_ssize_t nr, Py_ssize_t kc, const floating* src, Py_ssize_t csb,
                             floating* dst, Py_ssize_t w) noexcept nogil:
    """One panel of a B whose columns are contiguous (a transposed view, e.g. W.T): dst[p * w + j]
    = src[p + j * csb] for j < nr. Square blocks (8 x 8 float, 4 x 4 double) go through vector
    transposes where MG_GEMM_VEC_T; the rest is read column by column (contiguous streams, the
    scattered writes stay inside the panel, in L1)."""
    cdef Py_ssize_t t = 8 if floating is float else 4
    cdef Py_ssize_t jv = 0, kv = 0, j, p, jb, pb
    if MG_GEMM_VEC_T:
        jv = nr // t * t
        kv = kc // t * t
        for jb in range(0, jv, 8 if floating is float else 4):
            for pb in range(0, kv, 8 if floating is float else 4):
                if floating is float:
                    mg_gemm_t8x8f(src + jb * csb + pb, csb, dst + pb * w + jb, w)
                else:
                    mg_gemm_t4x4d(src + jb * csb + pb, csb, dst + pb * w + jb, w)
            for j in range(jb, jb + t):
                for p in range(kv, kc):
                    dst[p * w + j] = src[p + j * csb]
    for j in range(jv, nr):
        for p in range(kc):
            dst[p * w + j] = src[p + j * csb]


cdef void _pack_b(Py_ssize_t ncur, Py_ssize_t kc, const floating* b, Py_ssize_t rsb,
                  Py_ssize_t csb, floating* dst) noexcept nogil:
    """B[:kc, :ncur] (strides rsb, csb) -> panels of NR columns, k-major, the last zero-padded.

    Panel q starts at dst + q * NR * kc. A last panel of at most NRM columns is packed
    _tail_width(nr) wide (for _micro_kernel_narrow). Row-major B copies NR contiguous elements per
    k; a transposed view (rsb == 1, e.g. W.T) goes through _pack_b_transposed; other strides
    element by element.
    """
    cdef Py_ssize_t q, jr, nr, j, p, w
    cdef const floating* src
    for q in range(_ceil_div(ncur, NR)):
        jr = q * NR
        nr = min(<Py_ssize_t>NR, ncur - jr)
        w = _tail_width(nr)
        src = b + jr * csb
        if csb == 1 and nr == NR:
            for p in range(kc):
                for j in range(NR):
                    dst[p * NR + j] = src[p * rsb + j]
        elif rsb == 1:
            _pack_b_transposed(nr, kc, src, csb, dst, w)
        else:
            for p in range(kc):
                for j in range(nr):
                    dst[p * w + j] = src[p * rsb + j * csb]
        if nr < w:
            for p in range(kc):
                for j in range(nr, w):
                    dst[p * w + j] = 0
        dst += kc * NR


cdef inline void _add_bias(floating* c, Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n,
                           const floating* bias) noexcept nogil:
    """c[i, j] += bias[j] for an m x n tile of C."""
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            c[i * ldc + j] += bias[j]


cdef void _gemm_thread(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t kc, Py_ssize_t nc,
                       floating alpha, const floating* a, Py_ssize_t rsa, Py_ssize_t csa,
                       const floating* b, Py_ssize_t rsb, Py_ssize_t csb,
                       floating beta, floating* c, Py_ssize_t ldc,
                       floating* bpack, floating* apack, int tid, int nt,
                       bint private_b, const ConvB* cb, const floating* bias=NULL) noexcept nogil:
    """Thread tid's share of C = alpha * A @ B + beta * C (+ bias[j] in every row, unless NULL);
    every thread of the team calls this.

    kc, nc: depth and column block lengths (nc a multiple of NR). bpack: the B~ buffer, shared
    (the threads pack its panels in turn and meet at barriers) or, with private_b, this thread's
    own (it packs all of B~, no barriers); apack: this thread's A~ buffer. The threads form a
    _grid: thread rows split the rows of C (each packs only its rows of A), thread columns split
    the column panels; all threads share the packing of a shared B~. cb: NULL for a plain
    product, else the convolution whose product this is (implicit GEMM, conv_kernel.pxi): its A is
    read in place, and unless cb.matrix its B is the column matrix, whose panels are gathered from
    the input by _pack_b_conv (b, rsb and csb are then unused). bias (N values): added to each
    tile of C after its last depth block, while the tile is in L1 (Linear's y = x·Wᵀ + b without
    a second pass over y).
    """
    cdef Py_ssize_t mrt = _mr(sizeof(floating))
    cdef Py_ssize_t jcb, pcb, icb, irb, jc, pc, ic, jr, ir, ncur, kcur, mcur, mc, npan, q0, q1
    cdef Py_ssize_t m0, m1, j0, j1, rows, nr, direct
    cdef Grid grid = _grid(M, N, K, mrt, nt)
    cdef int ti = tid // grid.tn, tj = tid % grid.tn
    cdef bint sync = nt > 1 and not private_b
    # With few column panels, packing row-major A costs more than it saves: its full row panels
    # are read in place (only a partial last panel is packed, with zero rows). So in every
    # convolution product: its A (the weights, or one sample's grad_out) is small and read again
    # by the next product, and packing it per product cost 5-6 % of the forward, ∂W and ∂x of
    # case (b) of docs/kernels.md (N = 196 pixels; Zen 4, 1 thread) for no gain on larger layers.
    cdef bint in_place = csa == 1 and (N <= DIRECT_A_MAX_N or cb != NULL)
    cdef const floating* bj
    cdef const floating* ap
    cdef floating* cj
    cdef floating beta_k
    cdef bint last
    rows = _round_up(_ceil_div(M, grid.tm), mrt)
    m0 = min(M, ti * rows) if ti < grid.tm else M  # threads outside the grid idle (but pack B~)
    m1 = min(M, m0 + rows)
    mc = _even_block(max(m1 - m0, 1), _mc, mrt)
    for jcb in range(_ceil_div(N, nc)):
        jc = jcb * nc
        ncur = min(nc, N - jc)
        npan = _ceil_div(ncur, NR)
        j0, j1 = tj * npan // grid.tn, (tj + 1) * npan // grid.tn
        for pcb in range(_ceil_div(K, kc)):
            pc = pcb * kc
            kcur = min(kc, K - pc)
            q0, q1 = 0, npan
            if not private_b:  # this thread's share of the panels
                q0, q1 = tid * npan // nt, (tid + 1) * npan // nt
            if q1 > q0 and (cb == NULL or cb.matrix):
                _pack_b(min(ncur - q0 * NR, (q1 - q0) * NR), kcur,
                        b + pc * rsb + (jc + q0 * NR) * csb, rsb, csb, bpack + q0 * NR * kcur)
            elif q1 > q0:
                _pack_b_conv(cb, min(ncur - q0 * NR, (q1 - q0) * NR), kcur, pc, jc + q0 * NR,
                             bpack + q0 * NR * kcur)
            if sync:
                mg_gemm_barrier()  # B~ complete before anyone reads it
            beta_k = beta if pc == 0 else 1  # later depth blocks accumulate into C
            last = bias != NULL and pc + kcur == K
            for icb in range(_ceil_div(m1 - m0, mc)):
                ic = m0 + icb * mc
                mcur = min(mc, m1 - ic)
                direct = mcur // mrt * mrt if in_place else 0  # rows read in place
                if mcur > direct:
                    _pack_a(mcur - direct, kcur, a + (ic + direct) * rsa + pc * csa, rsa, csa, apack)
                for jr in range(j0, j1):
                    nr = min(<Py_ssize_t>NR, ncur - jr * NR)
                    bj = bpack + jr * NR * kcur
                    cj = c + ic * ldc + jc + jr * NR
                    if nr <= NRM:  # narrow or middle last panel: two row panels per call
                        for irb in range(0, direct // mrt, 2):
                            ir = irb * mrt
                            ap = a + (ic + ir) * rsa + pc
                            rows = mrt * min(2, direct // mrt - irb)
                            _micro_kernel_narrow(kcur, ap, ap + mrt * rsa if rows > mrt else ap,
                                                 rsa, 1, bj, cj + ir * ldc, ldc, rows, nr, alpha,
                                                 beta_k)
                        for irb in range(0, _ceil_div(mcur - direct, mrt), 2):
                            ir = direct + irb * mrt
                            ap = apack + (ir - direct) * kcur
                            rows = min(2 * mrt, mcur - ir)
                            _micro_kernel_narrow(kcur, ap, ap + mrt * kcur if rows > mrt else ap,
                                                 1, mrt, bj, cj + ir * ldc, ldc, rows, nr, alpha,
                                                 beta_k)
                    else:
                        for irb in range(direct // mrt):
                            ir = irb * mrt
                            _micro_kernel(kcur, a + (ic + ir) * rsa + pc, rsa, 1, bj, cj + ir * ldc,
                                          ldc, mrt, nr, alpha, beta_k)
                        for irb in range(_ceil_div(mcur - direct, mrt)):
                            ir = direct + irb * mrt
                            _micro_kernel(kcur, apack + (ir - direct) * kcur, 1, mrt, bj,
                                          cj + ir * ldc, ldc, min(mrt, mcur - ir), nr, alpha, beta_k)
                    if last:
                        _add_bias(cj, ldc, mcur, nr, bias + jc + jr * NR)
            if sync and (pc + kc < K or jc + nc < N):
                mg_gemm_barrier()  # everyone done with B~ before it is repacked


cdef struct Plan:
    Py_ssize_t kc     # depth block
    Py_ssize_t nc     # column block (multiple of NR)
    Py_ssize_t bsize  # elements of one B~ buffer
    Py_ssize_t asize  # elements of one thread's A~ buffer
    Py_ssize_t wsize  # elements of the workspace: B~ and nt A~, or nt (B~, A~) with private_b
    int nt            # threads
    bint private_b    # one B~ per thread (see PRIVATE_B_MAX)


cdef int _threads(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t mrt, int cap) noexcept nogil:
    """Team for one M x K x N product: from its flops (cpu.threads_for's rule), no more threads
    than micro-tiles of C, and only as many as the _grid uses."""
    cdef int nt = threads_capped(2.0 * M * N * K, _parallel_min_flops, GRAIN_FLOPS, cap)
    cdef Grid g
    nt = <int>min(<Py_ssize_t>nt, _ceil_div(M, mrt) * _ceil_div(min(N, <Py_ssize_t>NC), NR))
    g = _grid(M, N, K, mrt, nt)
    return g.tm * g.tn


cdef Plan _plan(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t itemsize,
                int nt, Py_ssize_t kc32=0) noexcept nogil:
    """Block sizes and buffer sizes for one M x K x N product on at most nt threads; kc32: the
    longest depth block in float32 elements, when not the L1-sized _kc."""
    cdef Plan plan
    cdef Py_ssize_t mrt = _mr(itemsize)
    # (a multiple of KU, bar the last block)
    plan.kc = _even_block(K, (kc32 if kc32 > 0 else _kc) * 4 // itemsize, KU)
    plan.nc = _even_block(N, NC, NR)
    plan.bsize = plan.kc * plan.nc
    plan.asize = plan.kc * min(_round_up(M, mrt), _round_up(_mc, mrt))
    plan.nt = _threads(M, N, K, mrt, nt)
    plan.private_b = _private_b(M, N, K, mrt, plan.nt)
    plan.wsize = plan.nt * (plan.bsize + plan.asize) if plan.private_b \
        else plan.bsize + plan.nt * plan.asize
    return plan


def plan_threads(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t itemsize, int cap):
    """(threads, thread rows, thread columns) for one M x K x N product with at most cap threads
    (the rule of _threads and _grid, as a pure function)."""
    cdef Py_ssize_t mrt = _mr(itemsize)
    cdef int nt = _threads(M, N, K, mrt, cap)
    cdef Grid g = _grid(M, N, K, mrt, nt)
    return nt, g.tm, g.tn


cdef void _gemm_run(Plan* plan, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, floating alpha,
                    const floating* a, Py_ssize_t rsa, Py_ssize_t csa,
                    const floating* b, Py_ssize_t rsb, Py_ssize_t csb,
                    floating beta, floating* c, Py_ssize_t ldc, floating* ws,
                    const ConvB* cb, const floating* bias=NULL) noexcept nogil:
    """One product on plan.nt threads in one parallel region; ws (plan.wsize elements) holds
    B~ then one A~ per thread, or (private_b) one (B~, A~) pair per thread. cb, bias: as in
    _gemm_thread."""
    if plan.nt == 1:
        _gemm_thread(M, N, K, plan.kc, plan.nc, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc,
                     ws, ws + plan.bsize, 0, 1, False, cb, bias)
        return
    with parallel(num_threads=plan.nt):
        # The team may be smaller than asked for (thread limits): split by its real size.
        if plan.private_b:
            _gemm_thread(M, N, K, plan.kc, plan.nc, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc,
                         ws + threadid() * (plan.bsize + plan.asize),
                         ws + threadid() * (plan.bsize + plan.asize) + plan.bsize, threadid(),
                         mg_gemm_team_size(), True, cb, bias)
        else:
            _gemm_thread(M, N, K, plan.kc, plan.nc, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc,
                         ws, ws + plan.bsize + threadid() * plan.asize, threadid(),
                         mg_gemm_team_size(), False, cb, bias)


# ---------------------------------------------------------------- scratch buffers

cdef struct Scratch:
    void* raw    # the malloc'd block
    char* data   # its first ALIGN-aligned byte
    bint shared  # the cached block (its lock is held) rather than a private one

# The packing buffers are reused between calls, so the hot path allocates nothing; the block only
# grows and lives until exit. A Python thread calling in while another uses it (the kernels run
# without the GIL) gets a private block for that call.
cdef PyThread_type_lock _scratch_lock = PyThread_allocate_lock()
cdef void* _scratch_raw = NULL
cdef size_t _scratch_bytes = 0


cdef inline char* _align(void* p) noexcept nogil:
    return <char*>((<size_t>p + ALIGN - 1) & ~(<size_t>ALIGN - 1))


cdef Scratch _scratch_take(size_t nbytes) except *:
    global _scratch_raw, _scratch_bytes
    cdef Scratch s
    s.shared = PyThread_acquire_lock(_scratch_lock, NOWAIT_LOCK)
    if s.shared:
        if _scratch_bytes < nbytes:
            free(_scratch_raw)
            _scratch_raw = malloc(nbytes + ALIGN)
            _scratch_bytes = nbytes if _scratch_raw != NULL else 0
        s.raw = _scratch_raw
    else:
        s.raw = malloc(nbytes + ALIGN)
    if s.raw == NULL:
        if s.shared:
            PyThread_release_lock(_scratch_lock)
        raise MemoryError(f"gemm: cannot allocate {nbytes} bytes of packing buffers")
    s.data = _align(s.raw)
    return s


cdef void _scratch_give(Scratch s) noexcept:
    if s.shared:
        PyThread_release_lock(_scratch_lock)
    else:
        free(s.raw)


# ---------------------------------------------------------------- Python entry points
#
# The entry points read pointers, shapes and strides straight from the ndarray structs instead of
# acquiring typed memoryviews: that costs nanoseconds instead of ~0.5 us per operand, which is a
# few per cent of a 100 x 100 x 100 product (Zen 3). The checks below therefore replace the
# memoryviews' (dtype, dimensions, output layout); the door in _ops/__init__.py gives the
# friendlier messages.
# Inputs are only read, so read-only arrays work.

cdef int _float_type(cnp.ndarray a, cnp.ndarray b, str name) except -1:
    cdef int t = cnp.PyArray_TYPE(a)
    if (t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(b) != t \
            or not cnp.PyArray_ISNOTSWAPPED(a) or not cnp.PyArray_ISNOTSWAPPED(b):
        raise TypeError(f"{name}: expected a and b of one native float dtype, got {a.dtype} and {b.dtype}")
    return t


cdef inline cnp.ndarray _aligned_elements(cnp.ndarray x):
    """x itself, or an aligned copy when its data pointer or a stride is not a whole number of
    elements (exotic buffer views): the kernel assumes element-aligned floats."""
    return x if cnp.PyArray_ISALIGNED(x) else np.ascontiguousarray(x)


cdef void _gemm_2d(Plan* plan, floating alpha, cnp.ndarray a, cnp.ndarray b, floating beta,
                   cnp.ndarray c, char* ws, const void* bias) noexcept nogil:
    cdef Py_ssize_t s = sizeof(floating)
    _gemm_run(plan, cnp.PyArray_DIM(a, 0), cnp.PyArray_DIM(b, 1), cnp.PyArray_DIM(a, 1), alpha,
              <const floating*>cnp.PyArray_DATA(a), cnp.PyArray_STRIDE(a, 0) // s,
              cnp.PyArray_STRIDE(a, 1) // s,
              <const floating*>cnp.PyArray_DATA(b), cnp.PyArray_STRIDE(b, 0) // s,
              cnp.PyArray_STRIDE(b, 1) // s,
              beta, <floating*>cnp.PyArray_DATA(c), cnp.PyArray_STRIDE(c, 0) // s, <floating*>ws, NULL,
              <const floating*>bias)


def gemm(cnp.ndarray a, cnp.ndarray b, double alpha=1.0, double beta=0.0, cnp.ndarray out=None,
         cnp.ndarray bias=None):
    """C = alpha * a @ b + beta * out (+ bias in every row), in out or in a new array (then beta
    is ignored).

    a (M, K), b (K, N): float32 or float64 ndarrays of one dtype, any strides (transposed views,
    slices, read-only). out: writeable C-contiguous (M, N) of that dtype; with beta == 0 it is not
    read. bias: C-contiguous (N,) of that dtype, or None. Validated with clear messages by
    minigrad._ops.gemm.
    """
    cdef int t = _float_type(a, b, "gemm")
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp dims[2]
    cdef Plan plan
    cdef Scratch scratch
    cdef const void* bp = NULL
    if cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_NDIM(b) != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: shapes {(<object>a).shape} and {(<object>b).shape} cannot be multiplied")
    dims[0], dims[1] = a.shape[0], b.shape[1]
    if out is None:
        out = cnp.PyArray_EMPTY(2, dims, t, 0)
        beta = 0.0
    elif not cnp.PyArray_ISCARRAY(out) or cnp.PyArray_TYPE(out) != t or cnp.PyArray_NDIM(out) != 2 \
            or out.shape[0] != dims[0] or out.shape[1] != dims[1]:
        raise ValueError(f"gemm: out must be a writeable C-contiguous {a.dtype} array of shape "
                         f"({dims[0]}, {dims[1]})")
    if bias is not None:
        if not cnp.PyArray_ISCARRAY_RO(bias) or cnp.PyArray_TYPE(bias) != t or cnp.PyArray_NDIM(bias) != 1 \
                or bias.shape[0] != dims[1]:
            raise ValueError(f"gemm: bias must be a C-contiguous {a.dtype} array of shape ({dims[1]},)")
        bp = cnp.PyArray_DATA(bias)
    if dims[0] == 0 or dims[1] == 0:
        return out
    if a.shape[1] == 0:
        if beta == 0:
            out[...] = 0
        else:
            out *= beta
        if bias is not None:
            out += bias
        return out
    a = _aligned_elements(a)
    b = _aligned_elements(b)
    plan = _plan(dims[0], dims[1], a.shape[1], s, num_threads())
    scratch = _scratch_take(s * plan.wsize)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            _gemm_2d[float](&plan, <float>alpha, a, b, <float>beta, out, scratch.data, bp)
        else:
            _gemm_2d[double](&plan, alpha, a, b, beta, out, scratch.data, bp)
    _scratch_give(scratch)
    return out


cdef inline Py_ssize_t _batch_offset(Py_ssize_t i, int nd, const Py_ssize_t* shape,
                                     const Py_ssize_t* strides) noexcept nogil:
    """Element offset of matrix i (C order over the batch shape) given per-dim strides."""
    cdef Py_ssize_t off = 0
    cdef int d
    for d in range(nd - 1, -1, -1):
        off += (i % shape[d]) * strides[d]
        i = i // shape[d]
    return off


cdef void _matmul_batches(Plan* plan, bint by_batch, Py_ssize_t nb, int nd, const Py_ssize_t* shape,
                          cnp.ndarray a, const Py_ssize_t* sa, cnp.ndarray b, const Py_ssize_t* sb,
                          cnp.ndarray c, const Py_ssize_t* sc, char* ws, floating one) noexcept nogil:
    """C_i = A_i @ B_i for the nb matrices of the broadcast batch (A_i at element offset
    _batch_offset(i, sa) of a's data, C_i at _batch_offset(i, sc) of c's, rows of C_i
    c.strides[nd] apart). by_batch: whole matrices per thread, each thread with its own buffers;
    else one matrix after the other on all threads."""
    cdef Py_ssize_t s = sizeof(floating), i
    cdef Py_ssize_t M = cnp.PyArray_DIM(c, nd), N = cnp.PyArray_DIM(c, nd + 1)
    cdef Py_ssize_t ldc = cnp.PyArray_STRIDE(c, nd) // s
    cdef Py_ssize_t K = cnp.PyArray_DIM(a, cnp.PyArray_NDIM(a) - 1)
    cdef Py_ssize_t rsa = cnp.PyArray_STRIDE(a, cnp.PyArray_NDIM(a) - 2) // s
    cdef Py_ssize_t csa = cnp.PyArray_STRIDE(a, cnp.PyArray_NDIM(a) - 1) // s
    cdef Py_ssize_t rsb = cnp.PyArray_STRIDE(b, cnp.PyArray_NDIM(b) - 2) // s
    cdef Py_ssize_t csb = cnp.PyArray_STRIDE(b, cnp.PyArray_NDIM(b) - 1) // s
    cdef const floating* a0 = <const floating*>cnp.PyArray_DATA(a)
    cdef const floating* b0 = <const floating*>cnp.PyArray_DATA(b)
    cdef floating* c0 = <floating*>cnp.PyArray_DATA(c)
    cdef floating* w = <floating*>ws
    cdef Py_ssize_t per_thread = plan.bsize + plan.asize
    if by_batch:
        for i in prange(nb, num_threads=plan.nt, schedule="static"):
            _gemm_thread(M, N, K, plan.kc, plan.nc, one, a0 + _batch_offset(i, nd, shape, sa),
                         rsa, csa, b0 + _batch_offset(i, nd, shape, sb), rsb, csb, 0,
                         c0 + _batch_offset(i, nd, shape, sc), ldc, w + threadid() * per_thread,
                         w + threadid() * per_thread + plan.bsize, 0, 1, False, NULL)
    else:
        for i in range(nb):
            _gemm_run(plan, M, N, K, one, a0 + _batch_offset(i, nd, shape, sa), rsa, csa,
                      b0 + _batch_offset(i, nd, shape, sb), rsb, csb, 0,
                      c0 + _batch_offset(i, nd, shape, sc), ldc, w, NULL)


cdef int _batch_strides(cnp.ndarray x, int nd, Py_ssize_t* strides) except -1:
    """Element strides of x's batch dims aligned right to nd dims; 0 where x broadcasts."""
    cdef int lead = nd - (cnp.PyArray_NDIM(x) - 2), d
    for d in range(nd):
        strides[d] = 0
        if d >= lead and cnp.PyArray_DIM(x, d - lead) != 1:
            strides[d] = cnp.PyArray_STRIDE(x, d - lead) // cnp.PyArray_ITEMSIZE(x)
    return 0


def matmul(cnp.ndarray a, cnp.ndarray b, cnp.ndarray out=None):
    """a (..., M, K) @ b (..., K, N) with numpy broadcasting of the leading dims: one GEMM per
    matrix, into a new C-contiguous array or into ``out``: a writeable array of the broadcast
    shape and the dtype whose last axis is contiguous (any batch and row strides, e.g. a
    transposed view of a (M, batch, N) buffer; it must not overlap a or b). Validated with clear
    messages by minigrad._ops.matmul."""
    cdef int t = _float_type(a, b, "matmul")
    cdef int na = cnp.PyArray_NDIM(a), nbd = cnp.PyArray_NDIM(b), nd, d
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(a), nb = 1, M, K, N, da, db
    cdef cnp.npy_intp dims[cnp.NPY_MAXDIMS]
    cdef Py_ssize_t sa[cnp.NPY_MAXDIMS]
    cdef Py_ssize_t sb[cnp.NPY_MAXDIMS]
    cdef Py_ssize_t sc[cnp.NPY_MAXDIMS]
    cdef Plan plan
    cdef Scratch scratch
    cdef bint by_batch, bad
    cdef int nt
    if na < 2 or nbd < 2 or a.shape[na - 1] != b.shape[nbd - 2]:
        raise ValueError(f"matmul: shapes {(<object>a).shape} and {(<object>b).shape} cannot be multiplied")
    M, K, N = a.shape[na - 2], a.shape[na - 1], b.shape[nbd - 1]
    nd = max(na, nbd) - 2
    for d in range(nd):  # numpy broadcasting of the batch dims, aligned right
        da = a.shape[d - (nd - na + 2)] if d >= nd - na + 2 else 1
        db = b.shape[d - (nd - nbd + 2)] if d >= nd - nbd + 2 else 1
        if da != db and da != 1 and db != 1:
            raise ValueError(f"matmul: batch dims of {(<object>a).shape} and {(<object>b).shape} cannot be broadcast")
        dims[d] = db if da == 1 else da  # not max(): a 0 broadcast against a 1 stays 0
        nb *= dims[d]
    dims[nd], dims[nd + 1] = M, N
    if out is None:
        out = cnp.PyArray_EMPTY(nd + 2, dims, t, 0)
    else:
        bad = cnp.PyArray_TYPE(out) != t or cnp.PyArray_NDIM(out) != nd + 2 \
            or not cnp.PyArray_ISWRITEABLE(out) or not cnp.PyArray_ISALIGNED(out)
        for d in range(nd + 2 if not bad else 0):
            bad = bad or out.shape[d] != dims[d]
        if bad or (N > 1 and out.strides[nd + 1] != s):
            raise ValueError(f"matmul: out must be a writeable {a.dtype} array of shape "
                             f"{[dims[d] for d in range(nd + 2)]} with a contiguous last axis")
    if nb == 0 or M == 0 or N == 0:
        return out
    if K == 0:
        out[...] = 0
        return out
    a = _aligned_elements(a)
    b = _aligned_elements(b)
    _batch_strides(a, nd, sa)
    _batch_strides(b, nd, sb)
    _batch_strides(out, nd, sc)
    plan = _plan(M, N, K, s, num_threads())
    # Small matrices: whole matrices per thread, when they split evenly enough; the team is sized
    # by the flops of the whole batch.
    nt = threads_capped(2.0 * M * N * K * nb, _parallel_min_flops, GRAIN_FLOPS, num_threads())
    by_batch = nt > 1 and nb >= nt and (nb % nt == 0 or nb >= 4 * nt) \
        and 2.0 * M * N * K < BATCH_PARALLEL_MAX_FLOPS
    if by_batch:
        plan.nt = nt
        scratch = _scratch_take(s * nt * (plan.bsize + plan.asize))
    else:
        scratch = _scratch_take(s * plan.wsize)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            _matmul_batches[float](&plan, by_batch, nb, nd, <Py_ssize_t*>dims, a, sa, b, sb, out,
                                   sc, scratch.data, 1)
        else:
            _matmul_batches[double](&plan, by_batch, nb, nd, <Py_ssize_t*>dims, a, sa, b, sb, out,
                                    sc, scratch.data, 1)
    _scratch_give(scratch)
    return out


include "conv_kernel.pxi"
include "winograd_kernel.pxi"

set_blocking(*blocking_for(**cache_sizes()))
