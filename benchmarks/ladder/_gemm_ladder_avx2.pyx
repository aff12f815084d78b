"""The GEMM speed-up ladder, step 5: step 4's packed kernel (``_packed_gemm.pxi``) compiled with
-mavx2 -mfma. benchmarks/ladder.py imports it only when the CPU has AVX2 and FMA.

The tile grows to fill the 16 ymm registers: 6 x 16 floats = 12 accumulators, 2 registers of B and
1 broadcast of A per k step, and each multiply-add is one FMA instruction. float32, one thread.
"""

cdef enum:
    MR = 6
    NR = 16
    KC = 256   # a KC x NR panel of B~ is 16 KB: it stays in the 32 KB L1 while the A~ panels stream
    MC = 120   # the MC x KC block of A~ is 120 KB: it stays in the 512 KB L2
    NC = 2048  # the KC x NC block of B~ (2 MB) lives in L3

include "_packed_gemm.pxi"
