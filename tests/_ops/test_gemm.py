"""Compiled GEMM / batched matmul vs the numpy reference, on every ISA path this CPU can run.

Errors are bounded relative to K: |C - C_ref| <= 2·K·eps·(|A| @ |B|) elementwise, with C_ref
computed by the reference kernel in float64. A dropped or doubled product term (a wrong edge tile,
block boundary or thread split) exceeds that bound for every K used here.
"""
import importlib
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import minigrad._ops as ops
from minigrad._ops import cpu, reference

SIZES = (1, 2, 5, 17, 63, 64, 65, 100, 257)
DTYPES = (np.float32, np.float64)
ISA_FAMILY = "gemm"  # the `isa` fixture's builds (tests/_ops/conftest.py)

pytestmark = pytest.mark.usefixtures("compiled_backend")


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def assert_gemm_close(c, a, b, alpha=1.0, beta=0.0, c0=None, bias=None):
    """c == alpha·a@b + beta·c0 (+ bias in every row) within the K-relative bound (reference in
    float64)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    out64 = None if c0 is None else c0.astype(np.float64)
    want = reference.gemm(a64, b64, alpha, beta, out64, None if bias is None else bias.astype(np.float64))
    k = max(a.shape[-1], 1)
    bound = 2 * k * np.finfo(c.dtype).eps * (abs(alpha) * (np.abs(a64) @ np.abs(b64))
                                             + (0 if c0 is None or beta == 0 else abs(beta * c0))
                                             + (0 if bias is None else np.abs(bias)))
    err = np.abs(c.astype(np.float64) - want)
    assert np.all(err <= bound + np.finfo(c.dtype).tiny), f"max excess {np.max(err - bound)}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_full_shape_grid_on_active_path(dtype):
    """Every M, K, N in SIZES (729 products) on the best path, one thread."""
    ops.set_num_threads(1)
    rng = np.random.default_rng(0)
    for M in SIZES:
        for K in SIZES:
            a = rand(rng, (M, K), dtype)
            for N in SIZES:
                b = rand(rng, (K, N), dtype)
                c = ops.gemm(a, b)
                assert c.dtype == dtype and c.shape == (M, N)
                assert_gemm_close(c, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_paths_threads_and_transposes(isa, threads, dtype):
    """Each ISA path x 1/2 threads, with A and/or B as transposed views (no copies)."""
    rng = np.random.default_rng(1)
    shapes = [(1, 784, 100), (5, 17, 257), (63, 65, 64), (65, 64, 63), (100, 784, 100),
              (257, 100, 257), (100, 100, 784), (2, 257, 5), (257, 1, 257), (17, 784, 5)]
    for M, K, N in shapes:
        a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
        at, bt = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T  # column-major views
        for x, y in ((a, b), (at, b), (a, bt), (at, bt)):
            assert_gemm_close(ops.gemm(x, y), x, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_layer_products(isa, threads, dtype):
    """The three GEMMs of Linear(784, 100) at batch 100: x@W.T, grad@W, grad.T@x."""
    rng = np.random.default_rng(2)
    x, W, grad = rand(rng, (100, 784), dtype), rand(rng, (100, 784), dtype), rand(rng, (100, 100), dtype)
    for a, b in ((x, W.T), (grad, W), (grad.T, x)):
        assert_gemm_close(ops.gemm(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_narrow_tail_and_transposed_packing(isa, threads, dtype):
    """Last column panels of every width around the narrow tail tile (NRT = 4 or 8 columns of
    NR = 12, 16 or 32) and the middle one (NRM = 16 of 32: every width 9..16 and 17), with an odd and an even number of row panels (the tail pairs them), A
    read in place (N <= 128) or packed, and B as a transposed view whose packing mixes vector
    transpose blocks (8 x 8 / 4 x 4) with remainder rows and columns; beta != 0 reads C."""
    rng = np.random.default_rng(9)
    for N in (3, 4, *range(8, 18), 20, 24, 25, 36, 40, 41, 45, 48, 72, 100, 104, 140):
        for M, K in ((1, 9), (5, 8), (7, 33), (13, 17), (24, 64), (31, 130)):
            a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
            bt = np.ascontiguousarray(b.T).T  # columns contiguous, like W.T
            at = np.ascontiguousarray(a.T).T  # never read in place: packed A~
            for x, y in ((a, b), (a, bt), (at, bt)):
                assert_gemm_close(ops.gemm(x, y), x, y)
            c0 = rand(rng, (M, N), dtype)
            out = c0.copy()
            ops.gemm(a, bt, alpha=-0.5, beta=2.0, out=out)
            assert_gemm_close(out, a, bt, -0.5, 2.0, c0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_regimes_give_identical_results(isa, dtype):
    """1 and 2 threads compute every element with the same operations, whichever way the work is
    split: below the parallel threshold (one thread), rows split with a private B~ per thread (no
    barriers), rows split with a shared B~ (barriers; K x N above PRIVATE_B_MAX), column panels
    split (few rows), and a transposed B. So the results are bit-identical."""
    rng = np.random.default_rng(11)
    for M, K, N in ((20, 30, 20), (100, 784, 100), (100, 100, 784), (257, 784, 257),
                    (300, 1100, 130), (7, 300, 1000), (50, 64, 50)):
        a, b = rand(rng, (M, K), dtype), rand(rng, (N, K), dtype).T
        got = {}
        for nt in (1, 2):
            ops.set_num_threads(nt)
            got[nt] = ops.gemm(a, b)
        assert np.array_equal(got[1], got[2])
        assert_gemm_close(got[2], a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_last_row_panel_height(isa, dtype):
    """M from 1 to 2 * mrt + 1 rows: every height of a last row panel (the half-height tiles take
    those of at most mrt / 2 rows), A read in place (N <= 128) or packed (a transposed view, or
    N > 128), K = 1, one depth block and several (K > kc), beta != 0 reading C; last column
    panels of the narrow (40, 100), middle (45: 13 columns of 32) and full (150) tiles."""
    mrt = _isa_module(isa).blocking()["mr"] * 4 // np.dtype(dtype).itemsize
    kc = _isa_module(isa).blocking()["kc"] * 4 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(13)
    for M in range(1, 2 * mrt + 2):
        for K, N in ((1, 40), (33, 100), (kc + 3, 100), (17, 45), (17, 150)):
            a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
            at = np.ascontiguousarray(a.T).T
            for x in (a, at):
                assert_gemm_close(ops.gemm(x, b), x, b)
            c0 = rand(rng, (M, N), dtype)
            out = c0.copy()
            ops.gemm(a, b, alpha=0.5, beta=-1.5, out=out)
            assert_gemm_close(out, a, b, 0.5, -1.5, c0)


def test_block_boundaries(isa, threads):
    """Several depth blocks (K > KC), several column blocks (N > NC), and few-row products whose
    column panels are split between threads."""
    rng = np.random.default_rng(3)
    for M, K, N, dtype in ((7, 300, 1000, np.float32), (3, 5, 4200, np.float32),
                           (2, 1100, 300, np.float64), (130, 600, 70, np.float64)):
        a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
        assert_gemm_close(ops.gemm(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_beta_out(isa, dtype):
    rng = np.random.default_rng(4)
    for M, K, N in ((5, 17, 3), (65, 257, 100)):
        a, b, c0 = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype), rand(rng, (M, N), dtype)
        out = c0.copy()
        res = ops.gemm(a, b, alpha=0.5, beta=-1.5, out=out)
        assert res is out
        assert_gemm_close(out, a, b, 0.5, -1.5, c0)
        out = c0.copy()
        ops.gemm(a, b, alpha=2.0, beta=1.0, out=out)
        assert_gemm_close(out, a, b, 2.0, 1.0, c0)
        # beta = 0: out is not read, so NaN garbage in it does not leak into the result
        out = np.full((M, N), np.nan, dtype)
        ops.gemm(a, b, alpha=-1.0, beta=0.0, out=out)
        assert_gemm_close(out, a, b, -1.0)
        # without out, beta is ignored
        assert_gemm_close(ops.gemm(a, b, alpha=3.0, beta=7.0), a, b, 3.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_is_added_to_every_tile(isa, threads, dtype):
    """gemm(a, b, bias=b0) adds b0 to each row as the tiles are written (F.linear's bias): the
    same bits as adding it afterwards, on narrow, middle and full last column panels, one or
    several depth blocks (K > kc) and column blocks (N > nc), one row, A packed or read in place,
    with beta != 0 and out, a read-only bias and K = 0 (then C = beta·out + bias)."""
    kc = _isa_module(isa).blocking()["kc"] * 4 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(17)
    for M, K, N in ((1, 8, 8), (4, 8, 8), (7, 33, 45), (13, 17, 40), (64, 784, 100), (5, kc + 3, 150),
                    (3, 5, 4200), (100, 100, 10), (31, 130, 257)):
        a, b, b0 = rand(rng, (M, K), dtype), rand(rng, (N, K), dtype).T, rand(rng, N, dtype)
        b0.flags.writeable = False
        for x in (a, np.ascontiguousarray(a.T).T):
            got = ops.gemm(x, b, bias=b0)
            assert got.dtype == dtype and np.array_equal(got, ops.gemm(x, b) + b0)
            assert_gemm_close(got, x, b, bias=b0)
        c0 = rand(rng, (M, N), dtype)
        out = c0.copy()
        assert ops.gemm(a, b, alpha=-0.5, beta=2.0, out=out, bias=b0) is out
        assert np.array_equal(out, ops.gemm(a, b, alpha=-0.5, beta=2.0, out=c0.copy()) + b0)
    c0 = rand(rng, (3, 4), dtype)
    out = c0.copy()
    b0 = rand(rng, 4, dtype)
    ops.gemm(np.ones((3, 0), dtype), np.ones((0, 4), dtype), beta=0.5, out=out, bias=b0)
    np.testing.assert_array_equal(out, 0.5 * c0 + b0)
    np.testing.assert_array_equal(ops.gemm(np.ones((3, 0), dtype), np.ones((0, 4), dtype), bias=b0),
                                  np.broadcast_to(b0, (3, 4)))


def test_out_that_overlaps_or_does_not_fit_is_refused():
    """Every out the kernel cannot write in place is refused, by the door's fast path (plain
    float32 operands, as here) as by its full checks."""
    a, b = np.ones((4, 6), np.float32), np.ones((6, 4), np.float32)
    buf = np.zeros((4, 6), np.float32)
    inside = buf.reshape(-1)[2:18].reshape(4, 4)  # a C-contiguous out within buf's memory
    overlapping = [(inside, buf, b), (inside, a, buf.T)]  # in a; in b
    for out, x, y in overlapping:
        assert out.flags.c_contiguous
        with pytest.raises(ValueError, match="must not overlap"):
            ops.gemm(x, y, beta=1.0, out=out)
    read_only = np.zeros((4, 4), np.float32)
    read_only.flags.writeable = False
    misfits = [np.zeros((4, 4), np.float64), np.zeros((4, 5), np.float32), np.zeros((4, 4), np.float32, order="F"),
               read_only, [[0.0] * 4] * 4]
    for out in misfits:
        with pytest.raises(ValueError, match="out: expected"):
            ops.gemm(a, b, out=out)
    # the fast path's accepted out is written in place
    out = np.full((4, 4), 1.0, np.float32)
    assert ops.gemm(a, b, alpha=0.5, beta=2.0, out=out) is out
    np.testing.assert_array_equal(out, np.full((4, 4), 5.0, np.float32))


def test_empty_dims():
    for dtype in DTYPES:
        a, b = np.ones((4, 0), dtype), np.ones((0, 3), dtype)
        assert np.array_equal(ops.gemm(a, b), np.zeros((4, 3)))
        out = np.full((4, 3), 2.0, dtype)
        assert np.array_equal(ops.gemm(a, b, beta=0.5, out=out), np.ones((4, 3)))
        assert ops.gemm(np.ones((0, 5), dtype), np.ones((5, 3), dtype)).shape == (0, 3)
        assert ops.matmul(np.ones((2, 0, 5), dtype), np.ones((5, 3), dtype)).shape == (2, 0, 3)
        assert np.array_equal(ops.matmul(np.ones((2, 4, 0), dtype), np.ones((0, 3), dtype)),
                              np.zeros((2, 4, 3)))
        # a batch dim of 0 broadcast against 1 stays 0, from either side (numpy's rule)
        for sa, sb in (((0, 3, 4), (1, 4, 5)), ((2, 1, 3, 4), (0, 4, 5)), ((1, 3, 4), (0, 4, 5))):
            got = ops.compiled_kernel("matmul")(np.ones(sa, dtype), np.ones(sb, dtype), None)
            assert got.shape == np.matmul(np.ones(sa), np.ones(sb)).shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_read_only_and_non_contiguous(isa, dtype):
    rng = np.random.default_rng(5)
    big_a, big_b = rand(rng, (300, 900), dtype), rand(rng, (800, 400), dtype)
    cases = [
        (big_a[::2, 1::3], big_b[:300, ::3]),             # row and column steps
        (big_a[::-1, :257], big_b[:257, ::-2]),           # negative strides
        (big_a[:100, :784].T[:, ::-1].T, big_b[:784:, 5:105]),
        (np.broadcast_to(big_a[0, :65], (17, 65)), big_b[:65, :63]),  # zero stride
    ]
    for a, b in cases:
        a, b = a.view(), b.view()
        a.flags.writeable = False
        b.flags.writeable = False
        assert_gemm_close(ops.gemm(a, b), a, b)
        assert_gemm_close(ops.matmul(a, b), a, b)


def test_unaligned_buffers():
    """float32 views at byte offset 2 (unaligned pointer; stride aligned or not) are copied."""
    rng = np.random.default_rng(6)
    raw = np.zeros(40 * 264, np.uint8)
    b = rand(rng, (65, 9), np.float32)
    for row_stride in (260, 262):
        a = np.ndarray((33, 65), np.float32, buffer=raw, offset=2, strides=(row_stride, 4))
        a[...] = rand(rng, a.shape, np.float32)
        assert not a.flags.aligned
        assert_gemm_close(ops.gemm(a, b), a, b)
        assert_gemm_close(ops.matmul(a[None], b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_matmul(isa, threads, dtype):
    """Equal batches, broadcast batch dims (either side), 2-D against batched, strided batches;
    small batches run a batch per thread, large ones use both threads inside each product."""
    rng = np.random.default_rng(7)
    cases = [
        ((3, 5, 17), (3, 17, 4)),
        ((2, 1, 63, 65), (3, 65, 64)),
        ((4, 100, 1), (1, 2)),
        ((17, 5), (6, 5, 9)),
        ((2, 3, 4, 33, 20), (4, 20, 7)),
        ((8, 64, 64), (8, 64, 64)),
        ((1, 7, 3), (5, 1, 3, 9)),
        ((2, 257, 784), (2, 784, 257)),  # above the per-batch threshold: parallel inside
    ]
    for sa, sb in cases:
        a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
        c = ops.matmul(a, b)
        want = reference.matmul(a.astype(np.float64), b.astype(np.float64))
        assert c.shape == want.shape and c.dtype == dtype
        k = a.shape[-1]
        bound = 2 * k * np.finfo(dtype).eps * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))
        assert np.all(np.abs(c - want) <= bound)
    # transposed / sliced batches
    a = rand(rng, (6, 40, 30), dtype).transpose(0, 2, 1)[::2]        # (3, 30, 40), column-major mats
    b = rand(rng, (3, 50, 40), dtype)[:, ::-1, :].swapaxes(1, 2)    # (3, 40, 50)
    c = ops.matmul(a, b)
    want = reference.matmul(a.astype(np.float64), b.astype(np.float64))
    assert np.all(np.abs(c - want) <= 2 * 40 * np.finfo(dtype).eps
                  * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_matmul_into_strided_out(isa, threads, dtype):
    """out= with free batch and row strides (the conv's (rows, batch, pixels) column buffer seen
    per sample, and channel slices of an NCHW output), whole batches per thread or not; the result
    is bit-identical to the fresh-array result."""
    rng = np.random.default_rng(10)
    for B, M, K, N in ((4, 64, 27, 196), (3, 5, 17, 9), (1, 30, 25, 576), (2, 257, 784, 130)):
        w, x = rand(rng, (M, K), dtype), rand(rng, (K, B, N), dtype).transpose(1, 0, 2)
        want = ops.matmul(w, x)
        buf = np.full((M, B, N), np.nan, dtype)
        out = buf.transpose(1, 0, 2)  # (B, M, N), rows B·N apart, batches N apart
        assert ops.matmul(w, x, out=out) is out
        assert np.array_equal(out, want)
        y = np.full((B, M + 3, N), np.nan, dtype)
        ops.matmul(w.T.copy().T, x, out=y[:, 2:2 + M])  # a channel slice of a bigger array
        assert np.array_equal(y[:, 2:2 + M], want)
        assert np.isnan(y[:, :2]).all() and np.isnan(y[:, 2 + M:]).all()
        assert_gemm_close(want[0], w, x[0])
    a2, b2 = rand(rng, (5, 7), dtype), rand(rng, (7, 3), dtype)
    out2 = np.empty((5, 8), dtype)[:, :3]
    ops.matmul(a2, b2, out=out2)  # 2-D with a non-contiguous out goes through the batched kernel
    assert_gemm_close(out2, a2, b2)
    x = rand(rng, (2, 4, 3), dtype)
    with pytest.raises(ValueError, match="out"):
        ops.matmul(x, x.transpose(0, 2, 1), out=np.empty((2, 4, 4), dtype).transpose(0, 2, 1))
    with pytest.raises(ValueError, match="out"):
        ops.matmul(x, x.transpose(0, 2, 1), out=np.empty((2, 4, 5), dtype))
    with pytest.raises(ValueError, match="overlap"):
        big = rand(rng, (2, 4, 4), dtype)
        ops.matmul(big, big, out=big)


def test_validation_errors():
    a32, b32 = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match="b: expected dtype float32"):
        ops.gemm(a32, b32.astype(np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.gemm(a32.astype(np.int64), b32.astype(np.int64))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        ops.gemm(a32.tolist(), b32)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        ops.gemm(a32, b32.T)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        ops.gemm(a32[0], b32)
    with pytest.raises(ValueError, match="out"):
        ops.gemm(a32, b32, out=np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match="out"):
        ops.gemm(a32, b32, out=np.empty((3, 5), np.float64))
    with pytest.raises(ValueError, match="out"):
        ops.gemm(a32, b32, out=np.empty((5, 3), np.float32).T)
    read_only = np.empty((3, 5), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        ops.gemm(a32, b32, out=read_only)
    with pytest.raises(TypeError, match="bias: expected dtype float32"):
        ops.gemm(a32, b32, bias=np.ones(5))
    with pytest.raises(ValueError, match=r"bias: expected shape \(5,\)"):
        ops.gemm(a32, b32, bias=np.ones(4, np.float32))
    with pytest.raises(TypeError, match="bias: expected a numpy.ndarray"):
        ops.gemm(a32, b32, bias=[1.0] * 5)
    out = np.empty((3, 5), np.float32)
    with pytest.raises(ValueError, match="out: must not overlap bias"):
        ops.gemm(a32, b32, out=out, bias=out[0])
    with pytest.raises(TypeError):
        ops.matmul(a32[None], b32.astype(np.float64))
    with pytest.raises(ValueError, match="cannot be multiplied"):
        ops.matmul(a32[None], b32[None].transpose(0, 2, 1))
    with pytest.raises(ValueError, match="broadcast"):
        ops.matmul(np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32))


def test_concurrent_python_threads():
    """The packing buffers are shared: a second Python thread must not corrupt the first's."""
    rng = np.random.default_rng(8)
    a, b = rand(rng, (200, 300), np.float32), rand(rng, (300, 150), np.float32)
    want = ops.gemm(a, b)
    errors = []

    def work():
        for _ in range(20):
            if not np.array_equal(ops.gemm(a, b), want):
                errors.append(1)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def _isa_module(isa):
    return importlib.import_module(f"minigrad._ops.gemm_{isa}")


def test_plan_threads_follow_the_work(isa):
    """Threads from the flops (1 below parallel_min_flops(), one per 2^22 beyond, at least 2),
    capped by the cap and by the micro-tiles of C; the grid uses every thread it is given."""
    mod = _isa_module(isa)
    assert mod.plan_threads(32, 32, 32, 4, 16)[0] == 1
    assert mod.plan_threads(100, 100, 784, 4, 16) == (3, 3, 1)  # the 16-thread case
    assert mod.plan_threads(100, 100, 784, 4, 2) == (2, 2, 1)
    assert mod.plan_threads(1024, 1024, 1024, 4, 16)[0] == 16
    assert mod.plan_threads(3, 1000, 5, 4, 16)[0] == 1  # one micro-tile
    for m, n, k in ((100, 100, 100), (256, 1024, 1024), (7, 1000, 300), (1024, 64, 1024)):
        for cap in (1, 2, 3, 4, 8, 16):
            nt, tm, tn = mod.plan_threads(m, n, k, 4, cap)
            assert 1 <= nt <= cap and tm * tn == nt


def test_parallel_threshold_follows_the_wait_policy(isa):
    """A second thread from 2^18 flops with spinning OpenMP workers, from 2^22 with sleeping ones
    (OMP_WAIT_POLICY=passive): 100 x 100 x 100 (2e6 flops) runs on 1 thread there, on 2 here."""
    mod = _isa_module(isa)
    passive = cpu.omp_wait_passive()
    assert mod.parallel_min_flops() == (1 << 22 if passive else 1 << 18)
    assert mod.plan_threads(100, 100, 100, 4, 2)[0] == (1 if passive else 2)
    assert mod.plan_threads(100, 100, 784, 4, 2)[0] == 2  # 1.6e7 flops: 2 threads either way
    code = f"import minigrad._ops.{mod.__name__.rsplit('.', 1)[1]} as m; print(m.parallel_min_flops())"
    for policy, first in (("passive", 1 << 22), ("active", 1 << 18)):
        env = {**os.environ, "OMP_WAIT_POLICY": policy}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert float(out.stdout) == first


def test_plan_grid_splits_columns_when_rows_are_few(isa):
    """256 x 1024 x 1024 on 16 threads: a 2-D grid (a 16 x 1 split would stream all of B~ into
    every core); square products split both ways; a small B~ keeps a rows-only split (private B~,
    no barriers); one row panel splits the columns."""
    mod = _isa_module(isa)
    mr = mod.blocking()["mr"]
    nt, tm, tn = mod.plan_threads(256, 1024, 1024, 4, 16)
    assert nt == 16 and tn > 1 and tm > 1
    assert mod.plan_threads(2048, 2048, 2048, 4, 16)[1:] == (4, 4)
    assert mod.plan_threads(100, 100, 784, 4, 3) == (3, 3, 1)
    assert mod.plan_threads(mr, 4096, 4096, 4, 4) == (4, 1, 4)


def test_blocking_from_cache_sizes(isa):
    """A kc x NR float32 panel of B~ fits half of L1d or, if more, 1/32 of L2 (so a larger L2
    gives longer depth blocks), an mc x kc block of A~ a quarter of L2; unknown sizes keep the
    compiled defaults; set_blocking validates."""
    mod = _isa_module(isa)
    b = mod.blocking()
    for l1d, l2 in ((32 << 10, 512 << 10), (48 << 10, 2 << 20), (32 << 10, 1 << 20), (64 << 10, 32 << 20)):
        kc, mc = mod.blocking_for(l1d, l2)
        assert kc % 4 == 0 and mc % b["mr"] == 0
        assert kc * b["nr"] * 4 <= max(l1d // 2, l2 // 32) and mc * kc * 4 <= l2 // 4
    assert mod.blocking_for(32 << 10, 1 << 20)[0] > mod.blocking_for(32 << 10, 256 << 10)[0]
    default = mod.blocking_for(0, 0)
    assert mod.blocking_for(0, 1 << 20)[0] == default[0] and mod.blocking_for(48 << 10, 0)[1] == default[1]
    with pytest.raises(ValueError, match="set_blocking"):
        mod.set_blocking(6, b["mr"])
    with pytest.raises(ValueError, match="set_blocking"):
        mod.set_blocking(64, b["mr"] + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_grids_and_small_blocks_give_identical_results(isa, dtype):
    """With small blocks (several depth and row blocks, many barriers), every team size and grid
    computes each element with the same operations: 1-4 threads agree bit for bit, and are right."""
    mod = _isa_module(isa)
    saved = mod.blocking()
    mr = saved["mr"]
    rng = np.random.default_rng(12)
    grids = set()
    try:
        mod.set_blocking(16, 2 * mr)
        for M, K, N in ((64, 300, 512), (96, 200, 200), (2 * mr, 260, 700), (130, 70, 300)):
            a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
            got = {}
            for nt in (1, 2, 3, 4):
                ops.set_num_threads(nt)
                grids.add(mod.plan_threads(M, N, K, np.dtype(dtype).itemsize, nt)[1:])
                got[nt] = ops.gemm(a, b)
                assert np.array_equal(got[nt], got[1]), (M, K, N, nt)
            assert_gemm_close(got[1], a, b)
    finally:
        mod.set_blocking(saved["kc"], saved["mc"])
    assert any(tm > 1 for tm, _ in grids) and any(tn > 1 for _, tn in grids), grids
