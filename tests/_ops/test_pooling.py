"""Pooling kernels: compiled vs the numpy twins, PyTorch's tie/NaN rules, and the door's validation."""
import numpy as np
import pytest

import minigrad._ops as ops

pytestmark = pytest.mark.skipif("max_pool2d_forward" not in ops._compiled,
                                reason="compiled pooling not built")

# (N, C, H, W, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    (1, 1, 4, 4, 2, None, 0, 1, False),
    (2, 3, 7, 9, 3, 2, 1, 1, False),
    (3, 2, 7, 9, 3, 2, 1, 1, True),
    (1, 4, 11, 6, (3, 2), (2, 1), (1, 1), 1, False),
    (2, 2, 10, 10, 3, 1, 1, 2, False),
    (2, 3, 8, 7, 2, 3, 1, (1, 2), True),
    (1, 2, 5, 5, 5, 1, 2, 1, False),
]
# (N, C, H, W, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    (1, 1, 4, 4, 2, None, 0, False, True, None),
    (2, 3, 7, 9, 3, 2, 1, False, True, None),
    (2, 3, 7, 9, 3, 2, 1, False, False, None),
    (3, 2, 8, 7, 3, 2, 1, True, True, None),
    (3, 2, 8, 7, 3, 2, 1, True, False, None),
    (1, 4, 11, 6, (3, 2), (2, 1), (1, 1), False, True, 5),
    (2, 2, 5, 5, 4, 3, 2, True, True, None),
]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool_matches_reference(case, dtype, threads, both):
    N, C, H, W, k, s, p, d, ceil = case
    rng = np.random.default_rng(0)
    # a coarse grid of values, so that windows contain ties
    x = rng.integers(-3, 4, (N, C, H, W)).astype(dtype)
    (y, idx), (y_ref, idx_ref) = both(ops.max_pool2d_forward, x, k, s, p, d, ceil)
    assert y.dtype == dtype and idx.dtype == np.int64
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx, gx_ref = both(ops.max_pool2d_backward, g, idx, x.shape)
    np.testing.assert_allclose(gx, gx_ref, **tol(dtype))
    # without indices (inference): the same maxima
    (y_only, none), (y_only_ref, none_ref) = both(ops.max_pool2d_forward, x, k, s, p, d, ceil, False)
    assert none is None and none_ref is None and y_only.dtype == dtype
    np.testing.assert_array_equal(y_only, y_ref)
    np.testing.assert_array_equal(y_only_ref, y_ref)


# 2×2 windows of stride 2 take the tiled paths (with and without indices); odd H or W leave a last
# row or column outside every window (floor mode). Sizes above 64 KiB get two threads.
TILED_SHAPES = [(1, 1, 2, 2), (2, 3, 7, 9), (1, 2, 6, 3), (4, 8, 28, 28), (3, 16, 15, 14)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", TILED_SHAPES)
def test_max_pool_2x2_tiled(shape, dtype, threads, both):
    rng = np.random.default_rng(3)
    # ties, signed zeros, NaN and -inf in the windows
    x = rng.integers(-2, 3, shape).astype(dtype)
    specials = np.array([np.nan, -np.inf, np.inf, -0.0], dtype)
    hit = rng.random(shape) < 0.1
    x[hit] = rng.choice(specials, int(hit.sum()))
    (y, none), (y_ref, _) = both(ops.max_pool2d_forward, x, 2, 2, 0, 1, False, False)
    assert none is None and y.shape == y_ref.shape == (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    np.testing.assert_array_equal(y, y_ref)  # NaN where the reference has NaN
    (y_idx, idx), (_, idx_ref) = both(ops.max_pool2d_forward, x, 2, 2, 0, 1, False, True)
    np.testing.assert_array_equal(idx, idx_ref)  # the first maximum, the last NaN
    np.testing.assert_array_equal(y_idx, y_ref)
    # Both tiled paths keep the zero the general scan keeps in a ±0 tie (the first). The scan runs
    # once a -inf row and column and ceil_mode add a last window (then 2·OH > H: not tiled); the
    # numpy twin's max leaves that sign unspecified, so only compiled paths are compared.
    He, We = shape[2] // 2 * 2, shape[3] // 2 * 2
    edged = np.full(shape[:2] + (He + 1, We + 1), -np.inf, dtype)
    edged[..., :He, :We] = x[..., :He, :We]
    with ops.use_backend("compiled"):
        for with_indices in (False, True):
            scan = ops.max_pool2d_forward(edged, 2, 2, 0, 1, True, with_indices)[0][..., :He // 2, :We // 2]
            for tiled in (y, y_idx):
                np.testing.assert_array_equal(tiled, scan)
                np.testing.assert_array_equal(np.signbit(tiled), np.signbit(scan))
    # a strided view and a read-only array give the same maxima
    big = np.zeros(shape[:3] + (2 * shape[3],), dtype)
    big[..., ::2] = x
    np.testing.assert_array_equal(ops.max_pool2d_forward(big[..., ::2], 2, return_indices=False)[0], y)
    x.setflags(write=False)
    np.testing.assert_array_equal(ops.max_pool2d_forward(x, 2, return_indices=False)[0], y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_matches_reference(case, dtype, threads, both):
    N, C, H, W, k, s, p, ceil, include, div = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    y, y_ref = both(ops.avg_pool2d_forward, x, k, s, p, ceil, include, div)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, y_ref, **tol(dtype))
    g = rng.standard_normal(y.shape).astype(dtype)
    gx, gx_ref = both(ops.avg_pool2d_backward, g, x.shape, k, s, p, ceil, include, div)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, gx_ref, **tol(dtype))


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
def test_max_pool_ties_nan_and_minus_inf_follow_pytorch(backend):
    x = np.array([[[[1.0, 5.0, 5.0, 2.0],        # tie: the first 5 wins (index 1)
                    [5.0, 0.0, np.nan, 9.0],     # NaN wins over the 9 in its window
                    [-np.inf, -np.inf, 7.0, np.nan],
                    [-np.inf, -np.inf, np.nan, 1.0]]]])   # two NaNs: the last one wins
    with ops.use_backend(backend):
        y, idx = ops.max_pool2d_forward(x, 2)
        y1, idx1 = ops.max_pool2d_forward(x[:, :, 2:, :2], 2)   # only -inf: first element
    np.testing.assert_array_equal(idx, [[[[1, 6], [8, 14]]]])
    np.testing.assert_array_equal(y, [[[[5.0, np.nan], [-np.inf, np.nan]]]])
    assert idx1[0, 0, 0, 0] == 0 and y1[0, 0, 0, 0] == -np.inf


def test_noncontiguous_and_readonly_inputs(both):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 9, 10)).astype(np.float32)[:, ::2, :, ::-1]
    (y, idx), (y_ref, idx_ref) = both(ops.max_pool2d_forward, x, 3, 2, 1)
    np.testing.assert_array_equal(idx, idx_ref)
    x_ro = np.ascontiguousarray(x)
    x_ro.setflags(write=False)
    np.testing.assert_array_equal(ops.max_pool2d_forward(x_ro, 3, 2, 1)[0], y)
    g = rng.standard_normal((2, 3, 5, 10)).astype(np.float32)[:, :, :, ::2]
    idx_ro = idx.copy()
    idx_ro.setflags(write=False)
    gx, gx_ref = both(ops.max_pool2d_backward, g, idx_ro, x.shape)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-6)
    a, a_ref = both(ops.avg_pool2d_forward, x_ro, 3, 2, 1)
    np.testing.assert_allclose(a, a_ref, rtol=1e-5)
    ga, ga_ref = both(ops.avg_pool2d_backward, g, x.shape, 3, 2, 1)
    np.testing.assert_allclose(ga, ga_ref, rtol=1e-5)


def test_max_pool_backward_accumulates_overlapping_windows():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the max of all four overlapping 2×2 windows (stride 1)
    for backend in ("compiled", "numpy"):
        with ops.use_backend(backend):
            y, idx = ops.max_pool2d_forward(x, 2, 1)
            gx = ops.max_pool2d_backward(np.ones_like(y), idx, x.shape)
        assert gx[0, 0, 1, 1] == 4.0 and gx.sum() == 4.0


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
def test_max_pool_backward_rejects_out_of_range_indices(backend):
    g = np.ones((1, 1, 2, 2), np.float32)
    idx = np.array([[[[0, 1], [2, 16]]]], np.int64)
    with ops.use_backend(backend), pytest.raises(ValueError, match="indices"):
        ops.max_pool2d_backward(g, idx, (1, 1, 4, 4))
    with ops.use_backend(backend), pytest.raises(ValueError, match="indices"):
        ops.max_pool2d_backward(g, -idx - 1, (1, 1, 4, 4))


def test_door_rejects_bad_arguments():
    x = np.zeros((2, 3, 6, 6), np.float32)
    with pytest.raises(TypeError, match="x: expected dtype"):
        ops.max_pool2d_forward(x.astype(np.int64), 2)
    with pytest.raises(ValueError, match="4-D"):
        ops.avg_pool2d_forward(x[0], 2)
    with pytest.raises(ValueError, match="kernel_size"):
        ops.max_pool2d_forward(x, 0)
    with pytest.raises(ValueError, match="stride"):
        ops.avg_pool2d_forward(x, 2, stride=0)
    with pytest.raises(ValueError, match="at most half of kernel size"):
        ops.max_pool2d_forward(x, 3, padding=2)
    with pytest.raises(ValueError, match="at most half of kernel size"):
        ops.avg_pool2d_forward(x, (2, 4), padding=(2, 1))
    with pytest.raises(ValueError, match="output size"):
        ops.max_pool2d_forward(x, 4, dilation=2)
    with pytest.raises(ValueError, match="divisor_override"):
        ops.avg_pool2d_forward(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="indices"):
        ops.max_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 3, 3, 3), np.int32), x.shape)
    with pytest.raises(ValueError, match="grad_out"):
        ops.avg_pool2d_backward(np.zeros((2, 3, 3, 4), np.float32), x.shape, 2)
