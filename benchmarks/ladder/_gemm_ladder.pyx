"""The GEMM speed-up ladder, steps 1 to 4: C = A @ B written four ways, each a little faster.

A teaching and benchmark module, not part of minigrad: ``benchmarks/ladder.py`` compiles it on
demand (baseline x86-64 flags, i.e. SSE2 vectors and no FMA) and times it against the production
kernel in ``minigrad/_ops/gemm_kernel.pxi``; docs/kernels.md explains every step with the figures.

Layout: A (M, K), B (K, N) and C (M, N) are C-contiguous float32 ndarrays (the ladder is about
loop structure, so one dtype keeps it short), read through raw pointers: element (i, k) of A is
``a[i * K + k]``. Every function overwrites C. Single-threaded.

1. ``matmul_naive``: the textbook i-j-k loop. The inner loop walks down a column of B (a stride of
   N floats: a new cache line per multiply-add) and sums into one scalar, a serial dependency
   chain the compiler may not split (that would reorder float additions).
2. ``matmul_ikj``: the same arithmetic in i-k-j order. The inner loop now runs along a row of B and
   a row of C, both contiguous, with no chain between iterations: the compiler vectorizes it.
3. ``matmul_blocked``: i-k-j inside cache blocks, so the block of B being reused stays in L2 and
   the segment of the C row being updated stays in L1.
4. ``matmul_packed`` (from ``_packed_gemm.pxi``): packed panels and a register-blocked micro-kernel,
   with an MR x NR tile sized for the 16 SSE registers.
"""

cdef enum:
    # Step 3's blocks: a BK x BN block of B (at most 64 KB) is reused by every row of A, so it stays
    # in L2 (in L1 when N = 100); the BN floats of a C row being updated stay in L1 across the BK
    # steps. 64 x 256 and 128 x 128 measured no better than this on the AMD machine.
    BK = 32
    BN = 512
    # Step 4 (see _packed_gemm.pxi): 4 x 8 tile = 8 xmm accumulators + 2 xmm of B + 1 broadcast
    # of A + 1 product temporary (no FMA in SSE2), within the 16 xmm registers.
    MR = 4
    NR = 8
    KC = 256
    MC = 120
    NC = 2048

include "_packed_gemm.pxi"


def matmul_naive(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C):
    """Step 1: c[i, j] = sum over k of a[i, k] * b[k, j], in i-j-k order."""
    _check_shapes(A, B, C)
    cdef const float* a = <const float*>cnp.PyArray_DATA(A)
    cdef const float* b = <const float*>cnp.PyArray_DATA(B)
    cdef float* c = <float*>cnp.PyArray_DATA(C)
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = B.shape[1], i, j, k
    cdef float s
    with nogil:
        for i in range(M):
            for j in range(N):
                s = 0
                for k in range(K):
                    s = s + a[i * K + k] * b[k * N + j]  # b: stride N, a cache line per step
                c[i * N + j] = s


def matmul_ikj(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C):
    """Step 2: for each row i, c[i, :] += a[i, k] * b[k, :] for k = 0..K-1 (i-k-j order)."""
    _check_shapes(A, B, C)
    cdef const float* a = <const float*>cnp.PyArray_DATA(A)
    cdef const float* b = <const float*>cnp.PyArray_DATA(B)
    cdef float* c = <float*>cnp.PyArray_DATA(C)
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = B.shape[1], i, j, k
    cdef float aik
    with nogil:
        for i in range(M):
            for j in range(N):
                c[i * N + j] = 0
            for k in range(K):
                aik = a[i * K + k]
                for j in range(N):  # contiguous in b and c: vectorized
                    c[i * N + j] += aik * b[k * N + j]


def matmul_blocked(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C):
    """Step 3: step 2's loop run over BK x BN blocks of B, each reused by all M rows."""
    _check_shapes(A, B, C)
    cdef const float* a = <const float*>cnp.PyArray_DATA(A)
    cdef const float* b = <const float*>cnp.PyArray_DATA(B)
    cdef float* c = <float*>cnp.PyArray_DATA(C)
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = B.shape[1], i, j, k, jb, kb, j0, j1, k0, k1
    cdef float aik
    with nogil:
        for i in range(M * N):
            c[i] = 0
        for jb in range(_ceil_div(N, BN)):
            j0, j1 = jb * BN, min(jb * BN + BN, N)
            for kb in range(_ceil_div(K, BK)):
                k0, k1 = kb * BK, min(kb * BK + BK, K)
                for i in range(M):
                    for k in range(k0, k1):
                        aik = a[i * K + k]
                        for j in range(j0, j1):
                            c[i * N + j] += aik * b[k * N + j]
