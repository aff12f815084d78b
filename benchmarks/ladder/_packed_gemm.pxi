# Step 4 of the GEMM ladder (and, compiled with AVX2 + FMA flags, step 5): packed panels and a
# register-blocked micro-kernel. Included by _gemm_ladder.pyx (SSE2) and _gemm_ladder_avx2.pyx,
# which define the compile-time constants first:
#   MR x NR  the register tile: the accumulators of one micro-kernel call, held in vector registers
#   KC       depth of a packed block: a KC x NR panel of B~ stays in L1
#   MC       rows of a packed block of A~ (MC x KC stays in L2)
#   NC       columns of a packed block of B~ (KC x NC, L3)
# The loop nest (the production kernel, minigrad/_ops/gemm_kernel.pxi, is the same nest plus k-loop
# unrolling, prefetching, strided and in-place operands, and threads):
#   for jc in N by NC, for pc in K by KC:    pack B[pc:, jc:] into panels of NR columns, k-major
#     for ic in M by MC:                     pack A[ic:, pc:] into panels of MR rows, k-major
#       for jr in NC by NR, for ir in MC by MR: micro-kernel: C[ir:+MR, jr:+NR] += A~ panel @ B~ panel
# Packing copies each operand once per block into the exact order the micro-kernel reads it, so
# its loads are contiguous, aligned and never cross a page the block does not need. Edge panels
# are zero-padded, so the micro-kernel always runs the full tile; only its write to C is trimmed.

import numpy as np

cimport numpy as cnp
from libc.stdlib cimport free

cdef extern from "<stdlib.h>" nogil:
    void* aligned_alloc(size_t alignment, size_t size)

cnp.import_array()


cdef int _check_shapes(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c) except -1:
    """The kernels index raw pointers: anything but matching C-contiguous float32 matrices (c
    writeable) must stop here, not crash."""
    for x in (a, b, c):
        if x.ndim != 2 or x.dtype != np.float32 or not x.flags.c_contiguous:
            raise TypeError(f"expected C-contiguous 2-D float32 arrays, got {x.dtype} {(<object>x).shape} "
                            f"(C-contiguous: {x.flags.c_contiguous})")
    if not c.flags.writeable:
        raise ValueError("c must be writeable")
    if a.shape[1] != b.shape[0] or c.shape[0] != a.shape[0] or c.shape[1] != b.shape[1]:
        raise ValueError(f"shapes {(<object>a).shape} @ {(<object>b).shape} -> {(<object>c).shape} do not match")
    return 0


cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b


cdef float* _alloc_floats(Py_ssize_t n) except NULL:
    """n floats starting on a cache line (64 bytes), so no vector load of a panel splits a line."""
    cdef float* p = <float*>aligned_alloc(64, (n * sizeof(float) + 63) // 64 * 64)
    if p == NULL:
        raise MemoryError(f"cannot allocate {n} floats of packing buffer")
    return p


cdef void _pack_a(Py_ssize_t mc, Py_ssize_t kc, const float* a, Py_ssize_t lda,
                  float* dst) noexcept nogil:
    """A[:mc, :kc] (row stride lda) -> panels of MR rows; in a panel, the MR values of one k are
    adjacent (dst[p * MR + i]). Rows past mc are zero."""
    cdef Py_ssize_t q, ir, i, p
    for q in range(_ceil_div(mc, MR)):
        ir = q * MR
        for p in range(kc):
            for i in range(MR):
                dst[p * MR + i] = a[(ir + i) * lda + p] if ir + i < mc else 0
        dst += kc * MR


cdef void _pack_b(Py_ssize_t kc, Py_ssize_t nc, const float* b, Py_ssize_t ldb,
                  float* dst) noexcept nogil:
    """B[:kc, :nc] (row stride ldb) -> panels of NR columns; in a panel, the NR values of one k are
    adjacent (dst[p * NR + j]). Columns past nc are zero."""
    cdef Py_ssize_t q, jr, j, p
    for q in range(_ceil_div(nc, NR)):
        jr = q * NR
        for p in range(kc):
            for j in range(NR):
                dst[p * NR + j] = b[p * ldb + jr + j] if jr + j < nc else 0
        dst += kc * NR


cdef inline void _micro_kernel(Py_ssize_t kc, const float* ap, const float* bp, float* c,
                               Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr) noexcept nogil:
    """C[:mr, :nr] += (MR x kc panel of A~) @ (kc x NR panel of B~).

    acc is a fixed-size local array with constant loop bounds: the compiler keeps it in MR * NR /
    (vector width) registers, and each k step is MR broadcasts of A, NR / width loads of B and
    MR * NR / width multiply-adds, with no load or store of C until the end.
    """
    cdef float acc[MR * NR]
    cdef Py_ssize_t i, j, p
    for i in range(MR * NR):
        acc[i] = 0
    for p in range(kc):
        for i in range(MR):
            for j in range(NR):
                acc[i * NR + j] += ap[i] * bp[j]
        ap += MR
        bp += NR
    if mr == MR and nr == NR:  # full tile: constant bounds, whole-vector stores
        for i in range(MR):
            for j in range(NR):
                c[i * ldc + j] += acc[i * NR + j]
    else:  # edge tile: the padded rows and columns of acc are dropped
        for i in range(mr):
            for j in range(nr):
                c[i * ldc + j] += acc[i * NR + j]


def matmul_packed(cnp.ndarray A, cnp.ndarray B, cnp.ndarray C):
    """C = A @ B by the packed, blocked loop nest above, with an MR x NR micro-kernel."""
    _check_shapes(A, B, C)
    cdef const float* a = <const float*>cnp.PyArray_DATA(A)
    cdef const float* b = <const float*>cnp.PyArray_DATA(B)
    cdef float* c = <float*>cnp.PyArray_DATA(C)
    cdef Py_ssize_t M = A.shape[0], K = A.shape[1], N = B.shape[1]
    cdef Py_ssize_t i, jcb, pcb, icb, jrb, irb, jc, pc, ic, jr, ir, nc, kc, mc
    if M == 0 or N == 0:
        return
    cdef float* bpack = _alloc_floats(KC * _ceil_div(min(NC, N), NR) * NR)
    cdef float* apack = _alloc_floats(KC * _ceil_div(min(MC, M), MR) * MR)
    with nogil:
        for i in range(M * N):
            c[i] = 0
        for jcb in range(_ceil_div(N, NC)):
            jc = jcb * NC
            nc = min(<Py_ssize_t>NC, N - jc)
            for pcb in range(_ceil_div(K, KC)):
                pc = pcb * KC
                kc = min(<Py_ssize_t>KC, K - pc)
                _pack_b(kc, nc, b + pc * N + jc, N, bpack)
                for icb in range(_ceil_div(M, MC)):
                    ic = icb * MC
                    mc = min(<Py_ssize_t>MC, M - ic)
                    _pack_a(mc, kc, a + ic * K + pc, K, apack)
                    for jrb in range(_ceil_div(nc, NR)):
                        jr = jrb * NR
                        for irb in range(_ceil_div(mc, MR)):
                            ir = irb * MR
                            _micro_kernel(kc, apack + ir * kc, bpack + jr * kc, c + (ic + ir) * N + jc + jr,
                                          N, min(<Py_ssize_t>MR, mc - ir), min(<Py_ssize_t>NR, nc - jr))
    free(bpack)
    free(apack)
