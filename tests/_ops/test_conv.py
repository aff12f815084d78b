"""Implicit-GEMM convolution (conv2d_forward with its bias, conv2d_backward_weight with ∂b,
conv2d_backward_input; _ops/conv_kernel.pxi) against the im2col path (compiled im2col + compiled
GEMM + compiled col2im: the column matrix made explicitly) and against the numpy twins, on every
GEMM ISA path this CPU runs.

Errors are bounded like the GEMM's: |y − y_ref| ≤ 2·K·eps·(|W| ⋆ |x|) elementwise, K the length of
each sum (C/groups·KH·KW forward, N·OH·OW for ∂W, Cout/groups·KH·KW for ∂x), with the reference
in float64. A dropped,
doubled or misplaced window value (a wrong tap table entry, panel edge, padding or thread split)
exceeds that bound.
"""
import importlib

import numpy as np
import pytest

import minigrad._ops as ops
from minigrad._ops import checks, reference
from tests._ops.guard_pages import guarded

DTYPES = (np.float32, np.float64)
ISA_FAMILY = "gemm"  # the conv kernels are built into the GEMM's ISA modules

# (N, C, H, W, Cout, kernel, stride, padding (t, b, l, r), dilation, groups)
CASES = [
    (1, 1, 5, 5, 1, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),          # batch 1, one channel
    (2, 3, 7, 9, 4, (3, 2), (2, 1), (1, 1, 0, 0), (1, 1), 1),          # odd shapes, stride
    (3, 4, 11, 8, 6, (5, 5), (2, 2), (2, 2, 2, 2), (1, 1), 2),         # groups
    (1, 4, 13, 10, 5, (2, 3), (3, 3), (0, 0, 1, 1), (2, 1), 1),        # dilation, stride 3
    (4, 3, 6, 6, 2, (2, 2), (1, 2), (2, 1, 1, 0), (1, 1), 1),          # asymmetric padding
    (2, 2, 9, 9, 3, (3, 3), (2, 2), (0, 0, 0, 0), (3, 3), 1),          # dilated kernel of 7 pixels
    (5, 1, 4, 4, 3, (4, 4), (1, 1), (3, 3, 3, 3), (1, 1), 1),          # padding wider than the kernel
    (3, 5, 10, 12, 7, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),        # 1×1: the plain-GEMM path
    (2, 6, 8, 5, 4, (1, 1), (2, 1), (0, 0, 0, 0), (1, 1), 2),          # 1×1 with stride and groups
    (2, 4, 9, 9, 4, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 4),          # depthwise
    (3, 32, 14, 14, 64, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),      # case (b)'s layer: many panels
    (2, 3, 33, 35, 40, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),       # >1 depth block for ∂W, edge tiles
    (1, 70, 6, 6, 9, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),         # K = 630: several depth blocks
    (2, 100, 5, 7, 9, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),        # K = 900: a depth block starts mid-channel
    (2, 3, 12, 20, 4, (3, 5), (2, 1), (1, 0, 2, 1), (2, 1), 1),        # row runs: stride 1 along W only
    (2, 16, 30, 31, 5, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # row runs; ∂x in 3 pixel blocks
    (2, 3, 6, 10, 4, (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1),         # last panels of 13 pixels, 12 taps
    # ∂W by dot products (_wgrad_dot: few output channels and taps)
    (3, 1, 28, 28, 30, (5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # case (a)'s layer: 5 x 5 tiles
    (2, 1, 42, 41, 10, (5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # 2 pixel blocks, a partial vector
    (1, 4, 9, 11, 6, (3, 3), (2, 1), (1, 0, 2, 1), (2, 1), 2),         # batch 1, groups, stride, dilation
    # no padding, stride 1 along W: forward panels by masked loads per output row (_panel)
    (2, 3, 15, 21, 5, (3, 3), (2, 1), (0, 0, 0, 0), (2, 2), 1),        # stride along H, dilation, OW 17
    (3, 2, 10, 8, 3, (2, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),         # OW = W = 8: one run per tap
    (2, 2, 13, 17, 3, (3, 3), (1, 1), (0, 0, 0, 0), (2, 3), 1),        # dilated; ∂x's planes from D at once
    (1, 2, 3, 75, 2, (2, 66), (1, 1), (0, 0, 1, 0), (1, 1), 1),        # KW > COL2IM_KW_MAX: col2im by adds
]


pytestmark = pytest.mark.usefixtures("compiled_backend")


def _data(case, dtype, seed=0):
    N, C, H, W, Cout, k, s, p, d, g = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Cout, C // g, *k)).astype(dtype)
    OH, OW = ops.conv_output_size((H, W), k, s, p, d)
    grad = rng.standard_normal((N, Cout, OH, OW)).astype(dtype)
    return x, w, grad, dict(stride=s, padding=p, dilation=d, groups=g)


def _im2col_path(x, w, grad, stride, padding, dilation, groups):
    """y, ∂W and ∂x with the column matrix made explicitly: compiled im2col, the compiled GEMM,
    compiled col2im."""
    N, Cout = x.shape[0], w.shape[0]
    cols = ops.im2col(x, w.shape[2:], stride, padding, dilation)
    cols = cols.reshape(groups, -1, cols.shape[1])
    y = np.stack([ops.gemm(w[i * (Cout // groups):(i + 1) * (Cout // groups)].reshape(Cout // groups, -1), cols[i])
                  for i in range(groups)])
    y = y.reshape(Cout, N, *grad.shape[2:]).transpose(1, 0, 2, 3)
    g = grad.reshape(N, groups, Cout // groups, -1).transpose(1, 2, 0, 3).reshape(groups, Cout // groups, -1)
    gw = np.stack([ops.gemm(g[i], cols[i].T) for i in range(groups)]).reshape(w.shape)
    wg = w.reshape(groups, Cout // groups, -1)
    dcols = np.concatenate([ops.gemm(np.ascontiguousarray(wg[i].T), np.ascontiguousarray(g[i])) for i in range(groups)])
    gx = ops.col2im(dcols, x.shape, w.shape[2:], stride, padding, dilation)
    return y, gw, gx


def _bounds(x, w, grad, kw):
    """Elementwise error bounds of y and ∂W (module docstring), from the float64 |·| products."""
    ax, aw, ag = (np.abs(a.astype(np.float64)) for a in (x, w, grad))
    eps, tiny = np.finfo(x.dtype).eps, np.finfo(x.dtype).tiny
    k_fwd = w[0].size
    k_w = grad.shape[0] * grad.shape[2] * grad.shape[3]
    geom = (kw["stride"], ops.conv_padding(kw["padding"])[::2], kw["dilation"], grad.shape[2:], kw["groups"])
    fwd = 2 * k_fwd * eps * reference.conv2d_forward(ax, aw, geom[0], geom[1], geom[2], geom[3], geom[4]) + tiny
    wgt = 2 * k_w * eps * reference.conv2d_backward_weight(ag, ax, w.shape, *geom) + tiny
    k_x = w.shape[0] // kw["groups"] * w.shape[2] * w.shape[3]
    inp = 2 * k_x * eps * reference.conv2d_backward_input(ag, aw, x.shape, *geom) + tiny
    return fwd, wgt, inp


def _reference(x, w, grad, kw):
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, grad))
    with ops.use_backend("numpy"):
        return (ops.conv2d_forward(x64, w64, **kw),
                ops.conv2d_backward_weight(g64, x64, w.shape, **kw),
                ops.conv2d_backward_input(g64, w64, x.shape, **kw))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_implicit_matches_im2col_path_and_twin(case, dtype, isa, threads):
    x, w, grad, kw = _data(case, dtype)
    y = ops.conv2d_forward(x, w, **kw)
    gw = ops.conv2d_backward_weight(grad, x, w.shape, **kw)
    gx = ops.conv2d_backward_input(grad, w, x.shape, **kw)
    assert y.dtype == gw.dtype == gx.dtype == dtype and y.shape == grad.shape and gw.shape == w.shape
    assert gx.shape == x.shape
    y_ref, gw_ref, gx_ref = _reference(x, w, grad, kw)
    y_cols, gw_cols, gx_cols = _im2col_path(x, w, grad, **kw)
    with ops.use_backend("numpy"):
        y_twin, gw_twin = ops.conv2d_forward(x, w, **kw), ops.conv2d_backward_weight(grad, x, w.shape, **kw)
        gx_twin = ops.conv2d_backward_input(grad, w, x.shape, **kw)
    b_fwd, b_w, b_x = _bounds(x, w, grad, kw)
    for got in (y, y_cols, y_twin):
        assert np.all(np.abs(got - y_ref) <= b_fwd), np.max(np.abs(got - y_ref) - b_fwd)
    for got in (gw, gw_cols, gw_twin):
        assert np.all(np.abs(got - gw_ref) <= b_w), np.max(np.abs(got - gw_ref) - b_w)
    for got in (gx, gx_cols, gx_twin):
        assert np.all(np.abs(got - gx_ref) <= b_x), np.max(np.abs(got - gx_ref) - b_x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[7], CASES[10], CASES[16], (6, 3, 9, 9, 5, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)],
                         ids=["batch1", "groups", "1x1", "case_b", "dot", "tasks"])
def test_bias_and_grad_bias_in_the_products(case, dtype, isa, threads):
    """The bias added per product (forward) and ∂b summed per product (grad_bias) agree with the
    twin and with float64 sums: |∂b − ∂b_ref| ≤ 2·N·OH·OW·eps·Σ|G| per channel."""
    x, w, grad, kw = _data(case, dtype, seed=13)
    b = np.random.default_rng(14).standard_normal(w.shape[0]).astype(dtype)
    y = ops.conv2d_forward(x, w, bias=b, **kw)
    gw, gb = ops.conv2d_backward_weight(grad, x, w.shape, grad_bias=True, **kw)
    assert gb.dtype == dtype and gb.shape == b.shape
    y_ref, gw_ref, gx_ref = _reference(x, w, grad, kw)
    b_fwd, b_w, b_x = _bounds(x, w, grad, kw)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(y - (y_ref + b[:, None, None])) <= b_fwd + 2 * eps * np.abs(b[:, None, None]))
    assert np.array_equal(gw, ops.conv2d_backward_weight(grad, x, w.shape, **kw))
    g64 = grad.astype(np.float64)
    bound = 2 * grad[:, 0].size * eps * np.abs(g64).sum(axis=(0, 2, 3))
    assert np.all(np.abs(gb - g64.sum(axis=(0, 2, 3))) <= bound)
    with ops.use_backend("numpy"):
        y_twin = ops.conv2d_forward(x, w, bias=b, **kw)
        gb_twin = ops.conv2d_backward_weight(grad, x, w.shape, grad_bias=True, **kw)[1]
    assert np.all(np.abs(y - y_twin) <= 2 * b_fwd + 4 * eps * np.abs(b[:, None, None]))
    assert np.all(np.abs(gb - gb_twin) <= 2 * bound)


def test_bias_and_grad_bias_with_nothing_to_multiply():
    """No input channels: y is the bias; no pixels or no samples: ∂b is the (empty) sum of G."""
    b = np.array([1.5, -2.0, 3.0], np.float32)
    y = ops.conv2d_forward(np.ones((2, 0, 5, 5), np.float32), np.ones((3, 0, 3, 3), np.float32), padding=1, bias=b)
    assert np.array_equal(y, np.broadcast_to(b[:, None, None], (2, 3, 5, 5)))
    g = np.random.default_rng(2).standard_normal((2, 3, 5, 5)).astype(np.float32)
    gw, gb = ops.conv2d_backward_weight(g, np.ones((2, 0, 5, 5), np.float32), (3, 0, 3, 3), padding=1, grad_bias=True)
    assert gw.shape == (3, 0, 3, 3) and np.allclose(gb, g.sum(axis=(0, 2, 3)), rtol=1e-6)
    gw, gb = ops.conv2d_backward_weight(np.ones((0, 3, 3, 3), np.float32), np.ones((0, 2, 5, 5), np.float32), (3, 2, 3, 3),
                                        grad_bias=True)
    assert not gw.any() and gb.shape == (3,) and not gb.any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_is_bitwise_the_same_on_1_and_2_threads(dtype, isa):
    """The forward's products are split whole over the threads (or over the GEMM's grid): every
    value is computed by the same operations whatever the team."""
    for case in (CASES[2], CASES[10], (1, 8, 20, 20, 48, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)):
        x, w, grad, kw = _data(case, dtype, seed=3)
        ops.set_num_threads(1)
        one = ops.conv2d_forward(x, w, **kw)
        ops.set_num_threads(2)
        assert np.array_equal(ops.conv2d_forward(x, w, **kw), one)


def test_team_and_task_regimes_are_both_used(isa):
    """Batch 1 runs one product on the GEMM's thread grid; a batch splits whole products over the
    threads (∂W then adds per-thread partial sums). Both regimes agree with the reference, for the
    forward, ∂W and ∂x."""
    for case in ((1, 16, 30, 30, 64, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
                 (8, 16, 30, 30, 64, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)):
        x, w, grad, kw = _data(case, np.float64, seed=5)
        ops.set_num_threads(2)
        y_ref, gw_ref, gx_ref = _reference(x, w, grad, kw)
        b_fwd, b_w, b_x = _bounds(x, w, grad, kw)
        assert np.all(np.abs(ops.conv2d_forward(x, w, **kw) - y_ref) <= b_fwd)
        assert np.all(np.abs(ops.conv2d_backward_weight(grad, x, w.shape, **kw) - gw_ref) <= b_w)
        assert np.all(np.abs(ops.conv2d_backward_input(grad, w, x.shape, **kw) - gx_ref) <= b_x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_and_read_only_inputs(dtype, isa, threads):
    x, w, grad, kw = _data(CASES[2], dtype, seed=7)
    y, gw = ops.conv2d_forward(x, w, **kw), ops.conv2d_backward_weight(grad, x, w.shape, **kw)
    xs = np.empty(x.shape[:-1] + (2 * x.shape[-1],), dtype)[..., ::2]
    xs[...] = x
    ws = np.asfortranarray(w)
    gs = grad.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3)
    for a in (xs, ws, gs):
        assert not a.flags.c_contiguous
    xr = x.copy()
    xr.flags.writeable = False
    assert np.array_equal(ops.conv2d_forward(xs, ws, **kw), y)
    assert np.array_equal(ops.conv2d_forward(xr, w, **kw), y)
    assert np.array_equal(ops.conv2d_backward_weight(gs, xs, w.shape, **kw), gw)
    gr = grad.copy()
    gr.flags.writeable = False
    gx = ops.conv2d_backward_input(grad, w, x.shape, **kw)
    assert np.array_equal(ops.conv2d_backward_input(gs, ws, x.shape, **kw), gx)
    assert np.array_equal(ops.conv2d_backward_input(gr, w, x.shape, **kw), gx)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wgrad_takes_both_dot_products_and_the_gemm(dtype, isa, threads):
    """∂W runs as dot products over the pixels where the GEMM's tiles would pad most (few output
    channels and taps) and as the GEMM elsewhere (case (b)'s layer: too many accumulators), so
    test_implicit_matches_im2col_path_and_twin checks both kernels on every ISA; on AVX-512 case
    (a)'s layer takes the dot products."""
    mod = importlib.import_module(f"minigrad._ops.gemm_{isa}")
    paths = {}
    for i, case in enumerate(CASES):
        x, w, grad, kw = _data(case, dtype)
        ops.conv2d_backward_weight(grad, x, w.shape, **kw)
        paths[i] = mod.conv_wgrad_path()
    assert set(paths.values()) == {"dot", "gemm"} and paths[10] == "gemm", paths
    if isa == "avx512":
        assert paths[16] == "dot", paths


def test_empty_batch_and_channels():
    w = np.ones((4, 0, 3, 3), np.float32)
    y = ops.conv2d_forward(np.ones((2, 0, 5, 5), np.float32), w, padding=1)
    assert y.shape == (2, 4, 5, 5) and not y.any()
    x = np.ones((0, 2, 5, 5), np.float32)
    assert ops.conv2d_forward(x, np.ones((3, 2, 3, 3), np.float32)).shape == (0, 3, 3, 3)
    gw = ops.conv2d_backward_weight(np.ones((0, 3, 3, 3), np.float32), x, (3, 2, 3, 3))
    assert gw.shape == (3, 2, 3, 3) and not gw.any()  # no samples: ∂W = 0, as in PyTorch
    assert ops.conv2d_backward_input(np.ones((0, 3, 3, 3), np.float32), np.ones((3, 2, 3, 3), np.float32),
                                     x.shape).shape == x.shape
    gx = ops.conv2d_backward_input(np.ones((2, 0, 5, 5), np.float32), np.ones((0, 2, 3, 3), np.float32),
                                   (2, 2, 5, 5), padding=1)
    assert gx.shape == (2, 2, 5, 5) and not gx.any()  # no output channels: ∂x = 0


def test_doors_share_the_geometry_cache_and_name_themselves_in_errors():
    """The geometry cache is keyed without the caller: a training step's three doors validate one
    geometry once, and a kernel too large for the padded input still names the door that was called,
    whichever door cached that geometry first."""
    x, w, g = np.ones((1, 1, 4, 4)), np.ones((1, 1, 5, 5)), np.ones((1, 1, 1, 1))
    for door, call in (("conv2d_forward", lambda: ops.conv2d_forward(x, w)),
                       ("conv2d_backward_weight", lambda: ops.conv2d_backward_weight(g, x, w.shape)),
                       ("conv2d_backward_input", lambda: ops.conv2d_backward_input(g, w, x.shape)),
                       ("im2col", lambda: ops.im2col(x, (5, 5)))):
        with pytest.raises(ValueError, match=rf"^{door}: .*\(4 x 4\) is smaller than the dilated kernel \(5 x 5\)"):
            call()
    x, w = np.ones((2, 3, 9, 9)), np.ones((4, 3, 3, 3))
    checks._conv_geometry_cached.cache_clear()
    y = ops.conv2d_forward(x, w, padding=1)
    ops.conv2d_backward_weight(y, x, w.shape, padding=1)
    ops.conv2d_backward_input(y, w, x.shape, padding=1)
    info = checks._conv_geometry_cached.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_scratch_is_bounded_by_panels_not_by_the_batch(isa):
    """The packing scratch of a call does not grow with the batch (the column matrix would)."""
    mod = importlib.import_module(f"minigrad._ops.gemm_{isa}")
    ops.set_num_threads(2)
    sizes = []
    for N in (4, 64):
        x, w, grad, kw = _data((N, 3, 32, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1), np.float32)
        ops.conv2d_forward(x, w, **kw)
        ops.conv2d_backward_weight(grad, x, w.shape, **kw)
        sizes.append(mod.conv_scratch_bytes())
        ops.conv2d_backward_input(grad, w, x.shape, **kw)
        sizes.append(mod.conv_scratch_bytes())
    cols64 = 27 * 64 * 32 * 32 * 4
    assert sizes[:2] == sizes[2:] and max(sizes) < cols64 / 8, (sizes, cols64)


@pytest.mark.parametrize("at_end", [False, True], ids=["start", "end"])
@pytest.mark.parametrize("case", [CASES[10], CASES[4], CASES[1], CASES[7], CASES[13], CASES[17], CASES[20],
                                  CASES[22]],
                         ids=["same", "asymmetric", "strided", "1x1", "row_runs", "dot", "valid", "valid_s1"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_never_reads_outside_the_input(case, dtype, at_end, isa, threads):
    """The padding is never read: x (and G, the input of ∂x's transposed convolution and of
    col2im(Wᵀ·G)) next to an unreadable page still convolve correctly. A masked-off lane loaded
    anyway faults here."""
    x, w, grad, kw = _data(case, dtype, seed=11)
    want = (ops.conv2d_forward(x, w, **kw), ops.conv2d_backward_weight(grad, x, w.shape, **kw),
            ops.conv2d_backward_input(grad, w, x.shape, **kw))
    xg = guarded(x, at_end)
    gg = guarded(grad, at_end)
    assert np.array_equal(ops.conv2d_forward(xg, w, **kw), want[0])
    assert np.array_equal(ops.conv2d_backward_weight(gg, xg, w.shape, **kw), want[1])
    assert np.array_equal(ops.conv2d_backward_input(gg, w, x.shape, **kw), want[2])
    wt = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)) if kw["groups"] == 1 else None
    if wt is not None and kw["stride"] == (1, 1):  # ∂x's transposed convolution reads G as its x
        assert np.array_equal(ops.conv2d_forward(gg, wt, 1, 1, 1, 1), ops.conv2d_forward(grad, wt, 1, 1, 1, 1))
