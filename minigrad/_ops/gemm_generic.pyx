"""GEMM for any x86-64 (baseline SSE2 flags): the fallback when the CPU has no AVX2 + FMA.

Kernel in gemm_kernel.pxi. Tile 4 x 12 float32 / 2 x 12 float64: 12 xmm accumulators, 3 xmm
(float32) of B and 1 broadcast of A within the 16 xmm registers (no FMA: multiply, then add).
Narrow tail tile (a last column panel of <= 4 columns): 8 x 4 float32 / 4 x 4 float64, 8 xmm
accumulators (no middle tail tile: NR / 2 = 6 is not whole xmm, so NRM = NRT). Blocking from
the cache sizes read at import, as for AVX2 (gemm_kernel.pxi: blocking_for; KC and MC below
when the OS does not report them): a kc x NR panel of B~ in half
of L1d (or 1/32 of L2 if more), the mc x kc block of A~ in a quarter of L2, B~ in L3.
Layout, loop order and threading: see gemm_kernel.pxi. Dtypes: float32, float64 (fused).
"""

cdef extern from *:
    """
    #define MG_GEMM_MR 4
    #define MG_GEMM_NR 12
    #define MG_GEMM_VEC 4
    #define MG_GEMM_NRT 4
    #define MG_GEMM_NRM 4
    /* k loop not unrolled: unrolled, the SSE2 tile (mul + add, a spilled accumulator) ran at 14
       GFLOP/s against 19 (Zen 4, 1 thread, 256 x 1024 x 1024) */
    #define MG_GEMM_KUNROLL
    """
    enum:
        MR "MG_GEMM_MR"
        NR "MG_GEMM_NR"
        NRT "MG_GEMM_NRT"
        NRM "MG_GEMM_NRM"

cdef enum:
    KC = 256
    MC = 128
    NC = 4096

ISA = "generic"

include "gemm_kernel.pxi"
