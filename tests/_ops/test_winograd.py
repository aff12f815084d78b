"""Winograd F(2×2, 3×3) convolution (conv2d_winograd and its ∂W, conv2d_winograd_backward_weight;
_ops/winograd_kernel.pxi and the twins in reference.py) against the direct convolution in float64,
on every GEMM ISA path this CPU runs.

The error bound (derived in docs/kernels.md, "Winograd F(2×2, 3×3)"): per output y[n, o, h, w],
|ŷ − y| ≤ γ_{C+13}·(16·‖W_o‖₁·max|x_n| + |b_o|), γ_k = k·u/(1 − k·u), u = eps/2, C the input
channels. A dropped, doubled or misplaced term (a wrong transform entry, tile offset, edge cut
or thread split) is of the order of ‖W_o‖₁·max|x_n|/(9·C) and exceeds it.
"""
import importlib

import numpy as np
import pytest

import minigrad._ops as ops
from minigrad._ops import reference
from tests._ops.guard_pages import guarded

DTYPES = (np.float32, np.float64)
ISA_FAMILY = "gemm"  # built into the GEMM's ISA modules

# (N, C, H, W, Cout, padding (t, b, l, r))
CASES = [
    (1, 1, 3, 3, 1, (0, 0, 0, 0)),      # batch 1, one tile, one channel
    (2, 3, 7, 9, 4, (1, 1, 1, 1)),      # odd output: the last tile row and column are cut
    (3, 5, 5, 8, 2, (2, 2, 2, 2)),      # padding 2: outputs larger than the input
    (2, 7, 3, 4, 9, (0, 2, 1, 0)),      # asymmetric padding
    (1, 4, 6, 6, 3, (0, 0, 0, 0)),      # 'valid'
    (5, 32, 14, 14, 64, (1, 1, 1, 1)),  # case (b)'s layer: blocks across samples
    (2, 64, 14, 14, 32, (1, 1, 1, 1)),  # case (b)'s ∂x
    (1, 33, 29, 31, 17, (1, 1, 1, 1)),  # blocks within a sample, partial tile rows
    (3, 16, 9, 11, 40, (2, 0, 0, 1)),   # odd sizes and asymmetric padding, several blocks
    (1, 300, 5, 5, 3, (1, 1, 1, 1)),    # C beyond one depth block of the products
    (2, 3, 2, 2, 3, (1, 1, 1, 1)),      # a row narrower than one vector, padded on both sides
    (1, 3, 6, 40, 2, (1, 1, 1, 1)),     # pieces of tile rows clear of both edges
]

pytestmark = pytest.mark.usefixtures("compiled_backend")


def _data(case, dtype, seed=0, bias=True):
    N, C, H, W, Cout, p = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Cout, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype) if bias else None
    return x, w, b, p


def _bound(x, w, b, dtype):
    """The bound of the module docstring, per output (broadcastable to y)."""
    u = np.finfo(dtype).eps / 2
    k = x.shape[1] + 13
    gamma = k * u / (1 - k * u)
    xmax = np.abs(x.astype(np.float64)).max(axis=(1, 2, 3))[:, None, None, None]
    wsum = np.abs(w.astype(np.float64)).sum(axis=(1, 2, 3))[None, :, None, None]
    bias = 0 if b is None else np.abs(b.astype(np.float64))[None, :, None, None]
    return gamma * (16 * wsum * xmax + bias) + np.finfo(dtype).tiny


def _direct64(x, w, b, p):
    f64 = (lambda a: None if a is None else a.astype(np.float64))
    with ops.use_backend("numpy"):
        return ops.conv2d_forward(f64(x), f64(w), 1, p, 1, 1, f64(b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_within_the_bound_of_the_direct_convolution(case, dtype, isa, threads):
    x, w, b, p = _data(case, dtype, bias=case[0] != 2)
    want = _direct64(x, w, b, p)
    bound = _bound(x, w, b, dtype)
    got = ops.conv2d_winograd(x, w, p, b)
    assert got.dtype == dtype and got.shape == want.shape
    assert (np.abs(got - want) <= bound).all(), np.max(np.abs(got - want) / bound)
    with ops.use_backend("numpy"):
        twin = ops.conv2d_winograd(x, w, p, b)
    assert twin.dtype == dtype and (np.abs(twin - want) <= bound).all()


def test_a_wrong_term_exceeds_the_bound():
    """The bound is tight enough to see one window value too many: moving one input value by the
    largest amount that a lost term would contribute fails it."""
    x, w, b, p = _data(CASES[5], np.float32)
    want = _direct64(x, w, b, p)
    bound = _bound(x, w, b, np.float32)
    y = ops.conv2d_winograd(x, w, p, b).astype(np.float64)
    one_term = np.abs(w[:, 0, 1, 1]).astype(np.float64) * np.abs(x[:, 0, 5, 5]).max()
    y[0, :, 5, 5] += one_term
    assert not (np.abs(y - want) <= bound).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_result_on_1_and_2_threads_and_any_input_layout(dtype, isa):
    """Each block of tiles is computed by one thread in one order: the result does not depend on
    the threads; non-contiguous and read-only inputs give the same bits."""
    x, w, b, p = _data((6, 40, 10, 13, 36, (1, 1, 1, 1)), dtype, seed=3)
    ops.set_num_threads(1)
    y1 = ops.conv2d_winograd(x, w, p, b)
    ops.set_num_threads(2)
    assert np.array_equal(ops.conv2d_winograd(x, w, p, b), y1)
    xs = np.empty(x.shape[:-1] + (2 * x.shape[-1],), dtype)[..., ::2]
    xs[...] = x
    xr = x.copy()
    xr.flags.writeable = False
    assert not xs.flags.c_contiguous
    assert np.array_equal(ops.conv2d_winograd(xs, np.asfortranarray(w), p, b), y1)
    assert np.array_equal(ops.conv2d_winograd(xr, w, p, b), y1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite_outputs_are_redone_directly(dtype, isa):
    """An inf or NaN reaches all 4 outputs of its tile in Winograd (and inf − inf makes NaN):
    such a call is redone by the implicit GEMM, so inf and NaN land where PyTorch puts them."""
    x, w, b, p = _data((2, 8, 9, 9, 5, (1, 1, 1, 1)), dtype, seed=5)
    x[0, 3, 4, 4] = np.inf
    x[1, 0, 0, 7] = np.nan
    want = ops.conv2d_forward(x, w, 1, p, 1, 1, b)
    assert np.isnan(want).any() and np.isfinite(want).any()
    assert np.array_equal(ops.conv2d_winograd(x, w, p, b), want, equal_nan=True)
    with ops.use_backend("numpy"):
        assert np.array_equal(ops.conv2d_winograd(x, w, p, b), ops.conv2d_forward(x, w, 1, p, 1, 1, b),
                              equal_nan=True)
    big = np.full((1, 4, 4, 4), np.finfo(dtype).max / 2, dtype)  # finite input, overflowing sums
    wb = np.ones((1, 4, 3, 3), dtype)
    assert np.array_equal(ops.conv2d_winograd(big, wb, 0), ops.conv2d_forward(big, wb), equal_nan=True)




def test_validation():
    x = np.ones((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"weight: expected a 3 x 3 kernel"):
        ops.conv2d_winograd(x, np.ones((1, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"weight: expected 2 input channels"):
        ops.conv2d_winograd(x, np.ones((1, 3, 3, 3), np.float32))
    with pytest.raises(TypeError, match=r"bias: expected dtype float32"):
        ops.conv2d_winograd(x, np.ones((1, 2, 3, 3), np.float32), 1, np.ones(1))
    with pytest.raises(ValueError, match=r"padding"):
        ops.conv2d_winograd(x, np.ones((1, 2, 3, 3), np.float32), -1)


def test_twin_transforms_are_the_f23_matrices():
    """Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 2 x 2 correlation of a 4 x 4 tile with a 3 x 3 filter."""
    rng = np.random.default_rng(1)
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    at, bt, G = reference.WINOGRAD_AT, reference.WINOGRAD_BT, reference.WINOGRAD_G
    y = at @ ((G @ g @ G.T) * (bt @ d @ bt.T)) @ at.T
    want = [[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_twin_helpers_are_the_per_tile_products(dtype):
    """_winograd_transform(m, t) is m t mᵀ for every tile t[:, :, ...], as an array or nested lists
    of views, in t's dtype; _winograd_input is Bᵀ d B of every zero-padded 4 x 4 input tile d,
    tile (th, tw) starting at (2·th − top, 2·tw − left)."""
    rng = np.random.default_rng(2)
    t = rng.standard_normal((4, 4, 3, 5)).astype(dtype)
    for m in (reference.WINOGRAD_BT, reference.WINOGRAD_AT, reference.WINOGRAD_G.T):
        m = m.astype(dtype)
        t_m = t[:m.shape[1], :m.shape[1]]
        want = np.einsum("ij,jk...,lk->il...", m.astype(np.float64), t_m.astype(np.float64), m.astype(np.float64))
        for arg in (t_m, [list(row) for row in t_m]):
            got = reference._winograd_transform(m, arg)
            assert got.dtype == dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=10 * np.finfo(dtype).eps, atol=10 * np.finfo(dtype).eps)
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    (pt, pl), (OH, OW) = (2, 0), (7, 3)  # padding 2 on top, tiles cut at the bottom and right
    v = reference._winograd_input(x, (pt, pl), (OH, OW))
    assert v.dtype == dtype and v.shape == (4, 4, 4, 2, 2, 3)
    xp = np.zeros((2, 3, 12, 10))
    xp[:, :, pt:pt + 5, pl:pl + 6] = x
    bt = reference.WINOGRAD_BT
    for th in range(4):
        for tw in range(2):
            d = xp[:, :, 2 * th:2 * th + 4, 2 * tw:2 * tw + 4]
            want = np.einsum("ij,ncjk,lk->ilnc", bt, d, bt)
            np.testing.assert_allclose(v[:, :, th, tw], want, rtol=0, atol=8 * np.finfo(dtype).eps * np.abs(x).max())


# ---------------------------------------------------------------- ∂W (conv2d_winograd_backward_weight)
#
# Its bound (docs/kernels.md, "Winograd F(2×2, 3×3)"), per weight ∂W[o, c, a, b], for P tiles of
# the batch and nt threads: |∂Ŵ − ∂W| ≤ γ_{2P+nt+9}·16·max|x[:, c]|·Σ|∂y[:, o]|; ∂b within
# γ_{2P+nt+9}·Σ|∂y[:, o]| too.


def _grad_data(case, dtype, seed=0):
    N, C, H, W, Cout, p = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    g = rng.standard_normal((N, Cout, H + p[0] + p[1] - 2, W + p[2] + p[3] - 2)).astype(dtype)
    return x, g, p


def _forward_call(N):
    x, w, b, p = _data((N, 32, 14, 14, 64, (1, 1, 1, 1)), np.float32)
    ops.conv2d_winograd(x, w, p, b)


def _wgrad_call(N):
    x, g, p = _grad_data((N, 32, 14, 14, 64, (1, 1, 1, 1)), np.float32)
    ops.conv2d_winograd_backward_weight(g, x, p, True)


@pytest.mark.parametrize("call", ["forward", "wgrad"])
def test_scratch_is_bounded_by_blocks_not_by_the_batch(isa, call):
    mod = importlib.import_module(f"minigrad._ops.gemm_{isa}")
    ops.set_num_threads(2)
    sizes = []
    for N in (64, 256):
        {"forward": _forward_call, "wgrad": _wgrad_call}[call](N)
        sizes.append(mod.conv_scratch_bytes())
    # blocks of at most 64 tiles here, evened out over the batch (63 tiles at N = 64); far below
    # the (N = 64) column matrix
    assert sizes[1] <= 1.05 * sizes[0] and sizes[1] < 64 * 32 * 9 * 196 * 4 / 8, sizes


def _wgrad_bound(x, g, dtype):
    """(∂W's bound (Cout, C, 1, 1), ∂b's bound (Cout,)) of the comment above."""
    u = np.finfo(dtype).eps / 2
    tiles = g.shape[0] * -(-g.shape[2] // 2) * -(-g.shape[3] // 2)
    k = 2 * tiles + ops.get_num_threads() + 9
    gamma = k * u / (1 - k * u)
    xmax = np.abs(x.astype(np.float64)).max(axis=(0, 2, 3))[None, :, None, None]
    gsum = np.abs(g.astype(np.float64)).sum(axis=(0, 2, 3))
    tiny = (2 * tiles + 9) * np.finfo(dtype).smallest_subnormal
    return gamma * 16 * gsum[:, None, None, None] * xmax + tiny, gamma * gsum + tiny


def _direct_wgrad64(x, g, p):
    with ops.use_backend("numpy"):
        return ops.conv2d_backward_weight(g.astype(np.float64), x.astype(np.float64),
                                          (g.shape[1], x.shape[1], 3, 3), 1, p, 1, 1, True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_wgrad_within_the_bound_of_the_direct_wgrad(case, dtype, isa, threads):
    x, g, p = _grad_data(case, dtype)
    want_w, want_b = _direct_wgrad64(x, g, p)
    bound_w, bound_b = _wgrad_bound(x, g, dtype)
    gw, gb = ops.conv2d_winograd_backward_weight(g, x, p, True)
    assert gw.dtype == gb.dtype == dtype and gw.shape == want_w.shape and gb.shape == want_b.shape
    assert (np.abs(gw - want_w) <= bound_w).all(), np.max(np.abs(gw - want_w) / bound_w)
    assert (np.abs(gb - want_b) <= bound_b).all(), np.max(np.abs(gb - want_b) / bound_b)
    assert np.array_equal(ops.conv2d_winograd_backward_weight(g, x, p), gw)  # ∂b or not: same ∂W
    with ops.use_backend("numpy"):
        tw, tb = ops.conv2d_winograd_backward_weight(g, x, p, True)
    assert tw.dtype == dtype and (np.abs(tw - want_w) <= bound_w).all() and (np.abs(tb - want_b) <= bound_b).all()


def test_wgrad_a_wrong_term_exceeds_the_bound():
    """One window value too many (a product ∂y·x of the smallest layer here) fails the bound; on a
    layer this small a misplaced tile edge or transform entry moves ∂W by such terms."""
    x, g, p = _grad_data(CASES[1], np.float32)
    want_w, _ = _direct_wgrad64(x, g, p)
    bound_w, _ = _wgrad_bound(x, g, np.float32)
    gw = ops.conv2d_winograd_backward_weight(g, x, p).astype(np.float64)
    gw[:, 0, 1, 1] += np.abs(g[0, :, 2, 2]).astype(np.float64) * abs(float(x[0, 0, 2, 2]))
    assert not (np.abs(gw - want_w) <= bound_w).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_wgrad_threads_and_input_layouts(dtype, isa):
    """Each thread adds its blocks into its own ∂U, summed at the end: 1 and 2 threads agree within
    the bound, and a thread count gives the same bits every call; non-contiguous and read-only
    inputs give the bits of contiguous ones."""
    x, g, p = _grad_data((6, 40, 10, 13, 36, (1, 1, 1, 1)), dtype, seed=3)
    want_w, want_b = _direct_wgrad64(x, g, p)
    ops.set_num_threads(2)
    bound_w, bound_b = _wgrad_bound(x, g, dtype)  # (the bound of 2 threads covers 1)
    for nt in (1, 2):
        ops.set_num_threads(nt)
        w2, b2 = ops.conv2d_winograd_backward_weight(g, x, p, True)
        assert (np.abs(w2 - want_w) <= bound_w).all() and (np.abs(b2 - want_b) <= bound_b).all()
    for _ in range(3):
        assert np.array_equal(ops.conv2d_winograd_backward_weight(g, x, p), w2)
    xs = np.empty(x.shape[:-1] + (2 * x.shape[-1],), dtype)[..., ::2]
    xs[...] = x
    gr = g.copy()
    gr.flags.writeable = False
    assert not xs.flags.c_contiguous
    assert np.array_equal(ops.conv2d_winograd_backward_weight(np.asfortranarray(g), xs, p), w2)
    assert np.array_equal(ops.conv2d_winograd_backward_weight(gr, x, p), w2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wgrad_non_finite_results_are_redone_directly(dtype, isa):
    """An inf or NaN in x or ∂y spreads over whole tiles in Winograd: a non-finite ∂W or ∂b is
    redone by the implicit GEMM, so inf and NaN land where PyTorch puts them."""
    x, g, p = _grad_data((2, 8, 9, 9, 5, (1, 1, 1, 1)), dtype, seed=5)
    x[0, 3, 4, 4] = np.inf
    g[1, 2, 0, 6] = np.nan
    want = ops.conv2d_backward_weight(g, x, (5, 8, 3, 3), 1, p, 1, 1, True)
    assert np.isnan(want[0]).any() and np.isfinite(want[0]).any() and np.isnan(want[1]).any()
    got = ops.conv2d_winograd_backward_weight(g, x, p, True)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(got, want))
    with ops.use_backend("numpy"):
        twin = ops.conv2d_winograd_backward_weight(g, x, p, True)
        want = ops.conv2d_backward_weight(g, x, (5, 8, 3, 3), 1, p, 1, 1, True)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(twin, want))
    big = np.full((1, 4, 4, 4), np.finfo(dtype).max / 2, dtype)  # finite input, overflowing sums
    gb = np.ones((1, 2, 2, 2), dtype)
    assert np.array_equal(ops.conv2d_winograd_backward_weight(gb, big, 0),
                          ops.conv2d_backward_weight(gb, big, (2, 4, 3, 3)), equal_nan=True)


@pytest.mark.parametrize("at_end", [False, True], ids=["start", "end"])
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[7]], ids=["odd", "asymmetric", "blocks"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_wgrad_never_reads_outside_its_inputs(case, dtype, at_end, isa, threads):
    """x and ∂y next to an unreadable page give the same ∂W: the row splits' and gathers' masked
    loads never touch what lies past a row's last value (a lane loaded anyway faults here)."""
    x, g, p = _grad_data(case, dtype, seed=11)
    want = ops.conv2d_winograd_backward_weight(g, x, p, True)
    got = ops.conv2d_winograd_backward_weight(guarded(g, at_end), guarded(x, at_end), p, True)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_wgrad_validation():
    x = np.ones((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"grad_out: expected shape"):
        ops.conv2d_winograd_backward_weight(np.ones((1, 3, 4, 4), np.float32), x)
    with pytest.raises(ValueError, match=r"grad_out: expected shape"):
        ops.conv2d_winograd_backward_weight(np.ones((3, 3, 3), np.float32), x)
    with pytest.raises(TypeError, match=r"grad_out: expected dtype float32"):
        ops.conv2d_winograd_backward_weight(np.ones((1, 3, 3, 3)), x)
    with pytest.raises(ValueError, match=r"padding"):
        ops.conv2d_winograd_backward_weight(np.ones((1, 3, 3, 3), np.float32), x, -1)
    with pytest.raises(TypeError, match=r"grad_bias: expected a bool"):
        ops.conv2d_winograd_backward_weight(np.ones((1, 3, 3, 3), np.float32), x, 0, 1)


def test_twin_wgrad_is_the_adjoint_of_the_forward():
    """⟨∂y, conv(x, W)⟩ = ⟨∂W, W⟩: the twin's ∂W is the gradient of its forward."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal((2, 4, 6, 5))
    y = reference.conv2d_winograd(x, w, (1, 0), (6, 5))
    gw = reference.conv2d_winograd_backward_weight(g, x, (1, 0), (6, 5))
    np.testing.assert_allclose(np.sum(g * y), np.sum(gw * w), rtol=1e-12)
