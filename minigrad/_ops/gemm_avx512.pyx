"""GEMM for CPUs with AVX-512 F/VL/BW/DQ (built with AVX-512 flags; imported only when the CPU
and OS support them, never on AVX2-only machines where it would die with SIGILL).

Kernel in gemm_kernel.pxi. Tile 8 x 32 float32 / 4 x 32 float64: 16 zmm accumulators, 2 zmm
(float32) or 4 zmm (float64) of B and 1 broadcast of A per row and k step, of the 32 zmm
registers (12 x 32, 24 accumulators, was 3-5 % slower on Zen 4: 1 thread, 1024^3, 256 x 1024^2
and 100 x 784 x 100). Narrow tail tile (a last column panel of <= 8 columns): 16 x 8 float32 /
8 x 8 float64 in 16 ymm accumulators, so N = 100 is padded to 104 columns, not 112; Zen 4 runs
ymm FMAs at the zmm rate (two 256-bit pipes), so the tail loses nothing there (0.94-0.95x the
time of a 16-column tail at N = 100, 1 thread). Middle tail tile (a last panel of 9-16 columns):
16 x 16 float32 / 8 x 16 float64 in 16 zmm, so a Linear(. -> 10) head does not run the 32-wide
tile (100 x 100 x 10: 4.67 us, was 7.47; Zen 4, 1 thread). Blocking from the cache sizes read
at import (gemm_kernel.pxi:blocking_for): a kc x NR panel of B~ fills half of L1d or 1/32 of L2, whichever
is more (kc 256 on Zen 4's 32 KB / 1 MB, where it was 0.96-0.98x the time of kc 128 at 1 thread;
kc 256 on Zen 5, 512 on Intel Sapphire Rapids' 2 MB L2, both unmeasured), an mc x kc block of A~
a quarter of L2, the kc x NC block of B~ L3.
KC and MC below are the fallback when the OS does not report the caches.
Layout, loop order and threading: see gemm_kernel.pxi. Dtypes: float32, float64 (fused).
"""

cdef extern from *:
    """
    #define MG_GEMM_MR 8
    #define MG_GEMM_NR 32
    #define MG_GEMM_VEC 16
    #define MG_GEMM_NRT 8
    #define MG_GEMM_NRM 16
    """
    enum:
        MR "MG_GEMM_MR"
        NR "MG_GEMM_NR"
        NRT "MG_GEMM_NRT"
        NRM "MG_GEMM_NRM"

cdef enum:
    KC = 256
    MC = 192
    NC = 4096

ISA = "avx512"

include "gemm_kernel.pxi"
