"""GEMM for CPUs with AVX-512 F/VL/BW/DQ (built with AVX-512 flags; imported only when the CPU
and OS support them, never on AVX2-only machines where it would die with SIGILL).

Kernel in gemm_kernel.pxi. Tile 8 x 32 float32 / 4 x 32 float64: 16 zmm accumulators, 2 zmm
(float32) or 4 zmm (float64) of B and 1 broadcast of A per row and k step, of the 32 zmm
registers. Narrow tail tile (a last column panel of <= 16 columns): 16 x 16 float32 / 8 x 16
float64, again 16 zmm accumulators. Blocking (Intel Sapphire Rapids: 48 KB L1d, 2 MB L2 per
core): a kc x NR panel of B~ (32 KB at KC = 256) plus the streamed 8 KB panel of A~ fit L1; the
MC x KC block of A~ (192 KB float32) sits in L2, the KC x NC block of B~ in L3.
Not yet timed on an AVX-512 machine: the sizes follow the AVX2 path's measurements scaled to the
wider registers and larger caches.
Layout, loop order and threading: see gemm_kernel.pxi. Dtypes: float32, float64 (fused).
"""

cdef extern from *:
    """
    #define MG_GEMM_MR 8
    #define MG_GEMM_NRT 16
    """
    enum:
        MR "MG_GEMM_MR"
        NRT "MG_GEMM_NRT"

cdef enum:
    NR = 32
    KC = 256
    MC = 192
    NC = 4096

ISA = "avx512"

include "gemm_kernel.pxi"
