"""GEMM for any x86-64 (baseline SSE2 flags): the fallback when the CPU has no AVX2 + FMA.

Kernel in gemm_kernel.pxi. Tile 4 x 8 float32 / 4 x 4 float64: 8 xmm accumulators, 2 xmm of B,
1 broadcast of A and a product temporary (no FMA) within the 16 xmm registers. Blocking as for
AVX2: a kc x NR panel of B~ (8 KB) in L1, the MC x KC block of A~ (128 KB) in L2, B~ in L3.
Layout, loop order and threading: see gemm_kernel.pxi. Dtypes: float32, float64 (fused).
"""

cdef enum:
    MR = 4
    NR = 12
    KC = 256
    MC = 128
    NC = 4096

ISA = "generic"

include "gemm_kernel.pxi"
