"""im2col / col2im: compiled kernels vs the numpy twins, adjointness, and the door's validation."""
import numpy as np
import pytest

import minigrad._ops as ops

pytestmark = pytest.mark.skipif("im2col" not in ops._compiled, reason="compiled im2col not built")

# (N, C, H, W, kernel, stride, padding, dilation)
CASES = [
    (1, 1, 5, 5, 3, 1, 0, 1),
    (2, 3, 7, 9, (3, 2), (2, 1), (1, 0), 1),
    (3, 2, 11, 8, 5, 2, 2, 1),
    (1, 4, 13, 10, (2, 3), 3, (0, 1), (2, 1)),
    (4, 3, 6, 6, 2, (1, 2), (2, 2, 1, 0), 1),   # asymmetric (top, bottom, left, right)
    (2, 2, 9, 9, 3, 2, 0, 3),                   # dilated kernel spanning 7 of 9 pixels
    (5, 1, 4, 4, 4, 1, 3, 1),                   # padding larger than the kernel/2 (legal for conv)
    (2, 3, 8, 5, 1, 2, 0, 1),                   # 1×1 kernel with stride
    (3, 5, 10, 12, (3, 3), 1, (1, 1, 1, 1), (1, 2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_im2col_col2im_match_reference(case, dtype, threads, both):
    N, C, H, W, k, s, p, d = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    cols, ref = both(ops.im2col, x, k, s, p, d)
    assert cols.dtype == dtype and cols.flags.c_contiguous
    np.testing.assert_array_equal(cols, ref)  # pure data movement: bit-exact

    g = rng.standard_normal(cols.shape).astype(dtype)
    dx, dx_ref = both(ops.col2im, g, x.shape, k, s, p, d)
    assert dx.dtype == dtype and dx.shape == x.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES)
def test_col2im_is_adjoint_of_im2col(case):
    N, C, H, W, k, s, p, d = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    cols = ops.im2col(x, k, s, p, d)
    y = rng.standard_normal(cols.shape)
    assert np.isclose(np.vdot(cols, y), np.vdot(x, ops.col2im(y, x.shape, k, s, p, d)), rtol=1e-12)


def test_im2col_layout_is_the_documented_one():
    # cols[(c, i, j), (n, oh, ow)] = x[n, c, oh·SH + i·DH − PT, ow·SW + j·DW − PL]
    x = np.arange(2 * 3 * 6 * 7, dtype=np.float64).reshape(2, 3, 6, 7) + 1
    KH, KW, SH, SW, PT, PL, DH, DW = 2, 3, 2, 1, 1, 2, 2, 1
    cols = ops.im2col(x, (KH, KW), (SH, SW), (PT, PL), (DH, DW))
    OH, OW = ops.conv_output_size((6, 7), (KH, KW), (SH, SW), (PT, PT, PL, PL), (DH, DW))
    assert cols.shape == (3 * KH * KW, 2 * OH * OW)
    for c in range(3):
        for i in range(KH):
            for j in range(KW):
                for n in range(2):
                    for oh in range(OH):
                        for ow in range(OW):
                            ih, iw = oh * SH + i * DH - PT, ow * SW + j * DW - PL
                            want = x[n, c, ih, iw] if 0 <= ih < 6 and 0 <= iw < 7 else 0
                            assert cols[(c * KH + i) * KW + j, (n * OH + oh) * OW + ow] == want


def test_noncontiguous_and_readonly_inputs(both):
    rng = np.random.default_rng(2)
    base = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)
    x = base[:, ::2, :, ::2]  # non-contiguous view
    cols, ref = both(ops.im2col, x, 3, 2, 1)
    np.testing.assert_array_equal(cols, ref)
    x_ro = np.ascontiguousarray(x)
    x_ro.setflags(write=False)
    np.testing.assert_array_equal(ops.im2col(x_ro, 3, 2, 1), cols)
    g = rng.standard_normal(cols.shape).astype(np.float32)
    g.setflags(write=False)
    dx, dx_ref = both(ops.col2im, g, x.shape, 3, 2, 1)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
    gT = np.asfortranarray(g)
    np.testing.assert_array_equal(ops.col2im(gT, x.shape, 3, 2, 1), dx)


def test_out_buffers_are_filled_in_place():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 8))
    buf = np.full((27, 2 * 36), np.nan)
    res = ops.im2col(x, 3, 1, 0, out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, ops.im2col(x, 3, 1, 0))
    dx = np.full(x.shape, np.nan)
    assert ops.col2im(buf, x.shape, 3, 1, 0, out=dx) is dx
    np.testing.assert_array_equal(dx, ops.col2im(buf, x.shape, 3, 1, 0))


def test_door_rejects_bad_arguments():
    x = np.zeros((2, 3, 5, 5), np.float32)
    with pytest.raises(TypeError, match="x: expected dtype"):
        ops.im2col(x.astype(np.int32), 3)
    with pytest.raises(ValueError, match="4-D"):
        ops.im2col(x[0], 3)
    with pytest.raises(ValueError, match="kernel_size"):
        ops.im2col(x, 0)
    with pytest.raises(ValueError, match="stride"):
        ops.im2col(x, 3, stride=(1, 0))
    with pytest.raises(ValueError, match="padding"):
        ops.im2col(x, 3, padding=-1)
    with pytest.raises(TypeError, match="dilation"):
        ops.im2col(x, 3, dilation=(1, 2, 3))
    with pytest.raises(ValueError, match=r"^im2col: .*output size \(0, 0\)"):
        ops.im2col(x, 6)
    with pytest.raises(ValueError, match="out"):
        ops.im2col(x, 3, out=np.zeros((27, 18), np.float64))
    with pytest.raises(ValueError, match="out"):
        ops.im2col(x, 3, out=np.zeros((18, 27), np.float32).T)
    with pytest.raises(ValueError, match="cols: expected shape"):
        ops.col2im(np.zeros((27, 17), np.float32), x.shape, 3)
    with pytest.raises(ValueError, match="out"):
        ops.col2im(np.zeros((27, 18), np.float32), x.shape, 3, out=np.zeros((2, 3, 5, 4), np.float32))
