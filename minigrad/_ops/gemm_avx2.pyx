"""GEMM for CPUs with AVX2 + FMA (built with -mavx2 -mfma; imported only when the CPU has both).

Kernel in gemm_kernel.pxi. Tile 6 x 16 float32 / 3 x 16 float64: 12 ymm accumulators, 2 ymm
(float32) or 4 ymm (float64) of B and 1 broadcast of A per row and k step, within the 16 ymm
registers. Narrow tail tile (a last column panel of <= 8 columns): 12 x 8 float32 / 6 x 8
float64, again 12 ymm accumulators (no middle tail tile: NRM = NRT = NR / 2). Blocking from
the cache sizes read at import (gemm_kernel.pxi:blocking_for; KC and MC below when the OS does not report them). On AMD Zen 3
(32 KB L1d, 512 KB L2 per core, 32 MB L3): a kc x NR panel of B~ (16 KB at kc = 256) stays in L1,
the mc x kc block of A~ (126 x 256 floats) in L2, the kc x NC block of B~ in L3. KC 256-384 and
MC 96-192 measured within noise of each other there; smaller KC or larger MC was slower.
Layout, loop order and threading: see gemm_kernel.pxi. Dtypes: float32, float64 (fused).
"""

cdef extern from *:
    """
    #define MG_GEMM_MR 6
    #define MG_GEMM_NR 16
    #define MG_GEMM_VEC 8
    #define MG_GEMM_NRT 8
    #define MG_GEMM_NRM 8
    """
    enum:
        MR "MG_GEMM_MR"
        NR "MG_GEMM_NR"
        NRT "MG_GEMM_NRT"
        NRM "MG_GEMM_NRM"

cdef enum:
    KC = 256
    MC = 120
    NC = 4096

ISA = "avx2"

include "gemm_kernel.pxi"
