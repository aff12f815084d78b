"""Differential fuzzing: every compiled kernel against its numpy twin in ``reference.py``.

Hypothesis draws shapes (0 and 1 included), dtypes (float32/float64), thread counts (1 and 2),
memory layouts (transposed, strided, reversed, read-only views, and contiguous arrays next to an
unreadable page, so that a read outside the input faults) and values: ordinary ones, ±1e30,
denormals, NaN and ±inf. Both implementations are called through the validating door, the compiled
one under ``use_backend("compiled")`` (so this tests the compiled kernels whatever MINIGRAD_KERNELS
says; it fails with ImportError if they are not built). NaN and inf must come out where the reference
puts them; finite values must agree within a bound derived from the operation (a copy exactly, a sum
within n·eps·Σ|terms|), so a dropped or doubled term fails while rounding-order differences pass.

``derandomize=True`` and no example database: CI replays the same 200 examples per kernel. Marked
``compiled_only``: it compares the two backends itself, so the Makefile's numpy pass deselects it.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad._ops as ops
from minigrad._ops import reference
from minigrad._ops.registry import KERNELS
from tests._ops.guard_pages import guarded

# Overflow and NaN arithmetic is the point here: numpy's RuntimeWarnings about it are noise.
pytestmark = [pytest.mark.compiled_only, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

EXAMPLES = 200
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

SPECIALS = {
    np.float32: np.array([1e30, -1e30, 1e-40, -3e-42, np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32),
    np.float64: np.array([1e30, -1e30, 1e-310, -3e-320, np.nan, np.inf, -np.inf, 0.0, -0.0], np.float64),
}
dtypes = st.sampled_from([np.float32, np.float64])
threads = st.sampled_from([1, 2])
extremes = st.sampled_from(["normal", "normal", "specials", "finite-specials"])


def values(rng, shape, dtype, kind, huge=True):
    """Random values of ``shape``; ``kind`` mixes in specials (or only the finite ones).

    ``huge=False`` leaves out ±1e30, for the second factor of a product: 1e30·1e30 overflows float32,
    and whether it then meets an inf as +inf or as a finite exact product depends on FMA contraction
    (IEEE allows both), so such a product would not be a fair test.
    """
    a = rng.standard_normal(shape).astype(dtype)
    if kind != "normal" and a.size:
        specials = SPECIALS[dtype] if kind == "specials" else SPECIALS[dtype][[0, 1, 2, 3, 7, 8]]
        if not huge:
            specials = specials[np.abs(specials) != 1e30]
        hit = rng.random(shape) < 0.15
        a[hit] = rng.choice(specials, size=int(hit.sum()))
    return a


def layout(rng, a, how):
    """The same values as ``a`` in another memory layout (the kernels must not care)."""
    if how == "transposed" and a.ndim == 2:
        return np.ascontiguousarray(a.T).T
    if how == "strided":
        big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype) if a.ndim else np.empty((), a.dtype)
        if a.ndim:
            big[..., ::2] = a
            return big[..., ::2]
    if how == "reversed" and a.ndim:
        return np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
    if how.startswith("guarded"):
        return guarded(a, at_end=how == "guarded-end")
    return a


layouts = st.sampled_from(["contiguous", "transposed", "strided", "reversed", "readonly",
                           "guarded-start", "guarded-end"])


def assert_matches(got, want, bound=None):
    """Same shape and dtype; NaN exactly where ``want`` has NaN, the same ±inf, finite values within
    ``bound`` (elementwise, default exact)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN positions differ")
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg="inf values differ")
    finite = np.isfinite(want)
    assert np.isfinite(got[finite]).all(), "a finite reference value came out non-finite"
    diff = np.abs(got[finite].astype(np.float64) - want[finite])
    limit = 0 if bound is None else np.broadcast_to(bound, want.shape)[finite]
    assert (diff <= limit).all(), f"max excess {np.max(diff - limit)} (max diff {diff.max()})"


def sum_bound(dtype, n_terms, magnitude):
    """Rounding of a sum of ``n_terms`` terms whose absolute values add up to ``magnitude``, in any
    order (with or without FMA), plus denormal-range absolute error."""
    info = np.finfo(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return 2.0 * (n_terms + 2) * float(info.eps) * np.nan_to_num(magnitude, posinf=np.inf) \
            + (n_terms + 2) * float(info.smallest_subnormal)


# The kernels fuzzed by a test of their own below (arguments beyond float arrays, or a bound of
# their own); every other kernel is fuzzed by test_float_array_kernels.
BY_HAND = {"gelu_forward", "gelu_backward", "gemm", "matmul", "im2col", "col2im", "conv2d_forward",
           "conv2d_backward_weight", "conv2d_backward_input", "conv2d_winograd",
           "conv2d_winograd_backward_weight", "max_pool2d_forward",
           "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward", "batch_norm_forward_train",
           "batch_norm_forward_eval", "batch_norm_backward", "sgd_step", "adam_step"}


def both(name, *args, prepare=None):
    """(compiled result, reference result) of door ``name``; ``prepare`` copies in-place arguments."""
    assert name in BY_HAND or name in FLOAT_KERNELS, f"{name}: add it to BY_HAND"
    door = getattr(ops, name)
    results = []
    for backend in ("compiled", "numpy"):
        call_args = prepare() if prepare else args
        with ops.use_backend(backend):
            if backend == "compiled":
                assert ops._impl[name] is not getattr(reference, name), f"{name} is not compiled"
            out = door(*call_args)
        results.append((out, call_args))
    return results


@pytest.fixture(autouse=True)
def _restore_threads():
    saved = ops.get_num_threads()
    yield
    ops.set_num_threads(saved)


# ---------------------------------------------------------------- kernels declared with Float arrays

# Every kernel whose arguments the registry declares as float arrays (elementwise: one shape for all),
# with the compiled-vs-twin contract it declares: exactly equal, or within ``ulps``. New ones are
# fuzzed here with no edit; a kernel whose bound is its own (ulps=None) has a test of its own below.
FLOAT_KERNELS = sorted(k.name for k in KERNELS.values() if k.args and k.ulps is not None)


# One draw of an elementwise test: arrays of one shape (0 to 4 dims of 0 to 9), in any layout
elementwise_draws = given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
                          how=layouts, shape=st.lists(st.integers(0, 9), min_size=0, max_size=4))


def test_every_registered_kernel_is_fuzzed():
    assert set(FLOAT_KERNELS) | BY_HAND == set(KERNELS)
    assert not set(FLOAT_KERNELS) & BY_HAND


@pytest.mark.parametrize("name", FLOAT_KERNELS)
@fuzz
@elementwise_draws
def test_float_array_kernels(name, seed, dtype, nthreads, kind, how, shape):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    arrays = [layout(rng, values(rng, shape, dtype, kind), how) for _ in KERNELS[name].args]
    isas = ops.available_isas(KERNELS[name].family)
    with ops.use_isa(isas[seed % len(isas)]):  # every ISA build of the family, in turn
        (got, _), (want, _) = both(name, *arrays)
    ulps = KERNELS[name].ulps
    assert_matches(got, want, ulps * np.spacing(np.abs(want)).astype(np.float64) if ulps else None)


@fuzz
@elementwise_draws
def test_gelu_forward_and_backward(seed, dtype, nthreads, kind, how, shape, gelu_bounds):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    x = layout(rng, values(rng, shape, dtype, kind), how)
    g = values(rng, shape, dtype, kind)
    isas = ops.available_isas("elementwise")
    with ops.use_isa(isas[seed % len(isas)]):  # every ISA build, in turn
        (y, _), (y_ref, _) = both("gelu_forward", x)
        (gx, _), (gx_ref, _) = both("gelu_backward", g, x)
    # The twins use another exp than the kernel (numpy's, by CPU): within GELU's error bound
    y_bound, gx_bound = gelu_bounds(x, y_ref, g, gx_ref)
    assert_matches(y, y_ref, y_bound)
    assert_matches(gx, gx_ref, gx_bound)


# ---------------------------------------------------------------- GEMM

dims = st.sampled_from([0, 1, 2, 3, 5, 8, 13, 17, 33])


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       M=dims, K=dims, N=dims, how_a=layouts, how_b=layouts, use_out=st.booleans(),
       alpha=st.sampled_from([1.0, -0.5, 2.0]), beta=st.sampled_from([0.0, 1.0, -2.0]),
       use_bias=st.booleans(), isa=st.sampled_from(ops.available_isas("gemm")))
def test_gemm(seed, dtype, nthreads, kind, M, K, N, how_a, how_b, use_out, alpha, beta, use_bias, isa):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    with ops.use_isa(isa):
        a = layout(rng, values(rng, (M, K), dtype, kind), how_a)
        b = layout(rng, values(rng, (K, N), dtype, kind, huge=False), how_b)
        c0 = values(rng, (M, N), dtype, "normal")
        if beta == 0:
            c0[...] = np.nan  # with β = 0, out must not be read (BLAS semantics)
        bias = values(rng, (N,), dtype, "normal") if use_bias else None
        prepare = lambda: (a, b, alpha, beta, c0.copy() if use_out else None, bias)  # noqa: E731
        (c, _), (c_ref, _) = both("gemm", prepare=prepare)
    scale = np.abs(alpha) * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))
    if use_out and beta != 0:
        scale = scale + abs(beta) * np.abs(c0)
    if use_bias:
        scale = scale + np.abs(bias)
    assert_matches(c, c_ref, sum_bound(dtype, K + 2, scale))


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       batch_a=st.lists(st.sampled_from([0, 1, 2, 3]), max_size=2),
       batch_b=st.lists(st.sampled_from([1, 2, 3]), max_size=2), M=dims, K=dims, N=dims,
       how=layouts)
def test_matmul(seed, dtype, nthreads, kind, batch_a, batch_b, M, K, N, how):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    # make the batch dims broadcastable: where they differ, one of them becomes 1
    n = min(len(batch_a), len(batch_b))
    for i in range(1, n + 1):
        if batch_a[-i] != batch_b[-i]:
            batch_b[-i] = 1
    a = layout(rng, values(rng, tuple(batch_a) + (M, K), dtype, kind), how)
    b = values(rng, tuple(batch_b) + (K, N), dtype, kind, huge=False)
    (c, _), (c_ref, _) = both("matmul", a, b)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    assert_matches(c, c_ref, sum_bound(dtype, K, scale))


# ---------------------------------------------------------------- im2col / col2im

@st.composite
def conv_geometry(draw):
    """(input shape, kernel, stride, padding (t, b, l, r), dilation) with an output of at least 1."""
    N, C = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = tuple(draw(st.integers(0, 3)) for _ in range(4))
    # the input at least as large as the dilated kernel minus the padding
    H = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - p[0] - p[1]), 9))
    W = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - p[2] - p[3]), 9))
    return (N, C, H, W), k, s, p, d


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       geometry=conv_geometry(), how=layouts)
def test_im2col_and_col2im(seed, dtype, nthreads, kind, geometry, how):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    shape, k, s, p, d = geometry
    x = layout(rng, values(rng, shape, dtype, kind), how)
    (cols, _), (cols_ref, _) = both("im2col", x, k, s, p, d)
    assert_matches(cols, cols_ref)  # a copy: exact, NaN and inf included
    g = values(rng, cols_ref.shape, dtype, kind)
    (gx, _), (gx_ref, _) = both("col2im", g, shape, k, s, p, d)
    magnitude = ops.col2im(np.abs(g.astype(np.float64)), shape, k, s, p, d)
    assert_matches(gx, gx_ref, sum_bound(dtype, k[0] * k[1], magnitude))



@st.composite
def valid_conv_geometry(draw):
    """conv_geometry without padding and with stride 1 along W, wide enough (an output row of at
    least 8 pixels) for the kernels' 'valid' paths: rows of columns by masked loads per output row
    (forward, ∂W) and, at stride 1, ∂x written from its columns at once."""
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    s = (draw(st.integers(1, 2)), 1)
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    H = draw(st.integers(d[0] * (k[0] - 1) + 1, 12))
    W = draw(st.integers(d[1] * (k[1] - 1) + 8, 40))
    return (N, C, H, W), k, s, (0, 0, 0, 0), d


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       geometry=st.one_of(conv_geometry(), valid_conv_geometry()), cout=st.integers(1, 5),
       groups=st.sampled_from([1, 1, 2, 3]), how=layouts)
def test_conv2d_forward_and_backward(seed, dtype, nthreads, kind, geometry, cout, groups, how):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    (N, C, H, W), k, s, p, d = geometry
    C, cout = C * groups, cout * groups  # both divisible by groups
    x = layout(rng, values(rng, (N, C, H, W), dtype, kind), how)
    w = values(rng, (cout, C // groups) + k, dtype, kind, huge=False)
    (y, _), (y_ref, _) = both("conv2d_forward", x, w, s, p, d, groups)
    ax, aw = np.abs(x.astype(np.float64)), np.abs(w.astype(np.float64))
    geom = (s, (p[0], p[2]), d, y_ref.shape[2:], groups)
    assert_matches(y, y_ref, sum_bound(dtype, w[0].size, reference.conv2d_forward(ax, aw, *geom)))
    g = values(rng, y_ref.shape, dtype, kind, huge=False)
    (gw, _), (gw_ref, _) = both("conv2d_backward_weight", g, x, w.shape, s, p, d, groups)
    magnitude = reference.conv2d_backward_weight(np.abs(g.astype(np.float64)), ax, w.shape, *geom)
    assert_matches(gw, gw_ref, sum_bound(dtype, N * y_ref.shape[2] * y_ref.shape[3], magnitude))
    (gx, _), (gx_ref, _) = both("conv2d_backward_input", g, w, x.shape, s, p, d, groups)
    magnitude = reference.conv2d_backward_input(np.abs(g.astype(np.float64)), aw, x.shape, *geom)
    assert_matches(gx, gx_ref, sum_bound(dtype, cout // groups * k[0] * k[1], magnitude))


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       shape=st.tuples(st.integers(0, 3), st.integers(1, 6), st.integers(1, 9), st.integers(1, 9)),
       cout=st.integers(1, 5), pads=st.tuples(*[st.integers(0, 2)] * 4), how=layouts)
def test_conv2d_winograd(seed, dtype, nthreads, kind, shape, cout, pads, how):
    """The forward and ∂W within Winograd's bounds of the twin (tests/_ops/test_winograd.py, with the
    largest finite |x|), and inf/NaN where the direct convolution puts them (such calls are redone
    by it, and those bounds cover the direct sums')."""
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    N, C, H, W = shape
    H, W = max(H, 3 - pads[0] - pads[1]), max(W, 3 - pads[2] - pads[3])
    x = layout(rng, values(rng, (N, C, H, W), dtype, kind), how)
    w = values(rng, (cout, C, 3, 3), dtype, kind, huge=False)
    (y, _), (y_ref, _) = both("conv2d_winograd", x, w, pads)
    ax, aw = np.abs(x.astype(np.float64)), np.abs(w.astype(np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        xmax = np.where(np.isfinite(ax), ax, 0).max(axis=(1, 2, 3), initial=0)[:, None, None, None]
        magnitude = 16 * aw.sum(axis=(1, 2, 3))[None, :, None, None] * xmax
    assert_matches(y, y_ref, 2 * sum_bound(dtype, C + 13, magnitude))
    # ∂W: γ_{2P+nt+9}·16·max|x[:, c]|·Σ|∂y[:, o]| (P tiles; tests/_ops/test_winograd.py), ∂b within it too
    g = layout(rng, values(rng, y_ref.shape, dtype, kind, huge=False), how)
    ((gw, gb), _), ((gw_ref, gb_ref), _) = both("conv2d_winograd_backward_weight", g, x, pads, True)
    tiles = N * -(-y_ref.shape[2] // 2) * -(-y_ref.shape[3] // 2)
    with np.errstate(over="ignore", invalid="ignore"):
        xmax = np.where(np.isfinite(ax), ax, 0).max(axis=(0, 2, 3), initial=0)[None, :, None, None]
        ag = np.abs(g.astype(np.float64))
        gsum = np.where(np.isfinite(ag), ag, 0).sum(axis=(0, 2, 3))
    assert_matches(gw, gw_ref, 2 * sum_bound(dtype, 2 * tiles + 11, 16 * gsum[:, None, None, None] * xmax))
    assert_matches(gb, gb_ref, 2 * sum_bound(dtype, 2 * tiles + 11, gsum))


# ---------------------------------------------------------------- pooling

@st.composite
def pool_geometry(draw):
    N, C = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    ceil_mode = draw(st.booleans())
    H = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 9))
    W = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 9))
    return (N, C, H, W), k, s, p, d, ceil_mode


@st.composite
def pool_2x2_geometry(draw):
    """2×2 windows of stride 2: the kernel's tiled paths (with and without indices) when every
    window is whole."""
    shape = (draw(st.integers(0, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 9)), draw(st.integers(2, 9)))
    return shape, (2, 2), (2, 2), (0, 0), (1, 1), draw(st.booleans())


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       geometry=st.one_of(pool_geometry(), pool_2x2_geometry()), how=layouts, ties=st.booleans())
def test_max_pool2d_forward_and_backward(seed, dtype, nthreads, kind, geometry, how, ties):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    shape, k, s, p, d, ceil_mode = geometry
    x = values(rng, shape, dtype, kind)
    if ties:  # few distinct values: the first maximum of a window must win in both
        x = np.round(x).clip(-2, 2).astype(dtype) if kind == "normal" else x
    x = layout(rng, x, how)
    ((y, idx), _), ((y_ref, idx_ref), _) = both("max_pool2d_forward", x, k, s, p, d, ceil_mode)
    assert_matches(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    ((y_only, none), _), ((y_only_ref, _), _) = both("max_pool2d_forward", x, k, s, p, d, ceil_mode, False)
    assert none is None
    assert_matches(y_only, y_ref)
    assert_matches(y_only_ref, y_ref)
    g = values(rng, y_ref.shape, dtype, kind)
    (gx, _), (gx_ref, _) = both("max_pool2d_backward", g, idx_ref, shape)
    magnitude = reference.max_pool2d_backward(np.abs(g.astype(np.float64)), idx_ref, shape)
    assert_matches(gx, gx_ref, sum_bound(dtype, k[0] * k[1], magnitude))


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       geometry=pool_geometry(), count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 1, 3]))
def test_avg_pool2d_forward_and_backward(seed, dtype, nthreads, kind, geometry, count_include_pad,
                                         divisor_override):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    shape, k, s, p, _, ceil_mode = geometry
    x = values(rng, shape, dtype, kind)
    args = (k, s, p, ceil_mode, count_include_pad, divisor_override)
    (y, _), (y_ref, _) = both("avg_pool2d_forward", x, *args)
    magnitude = reference.avg_pool2d_forward(np.abs(x.astype(np.float64)), k, s, p, y_ref.shape[2:],
                                             count_include_pad, divisor_override)
    assert_matches(y, y_ref, sum_bound(dtype, k[0] * k[1], magnitude))
    g = values(rng, y_ref.shape, dtype, kind)
    (gx, _), (gx_ref, _) = both("avg_pool2d_backward", g, shape, *args)
    magnitude = reference.avg_pool2d_backward(np.abs(g.astype(np.float64)), shape, k, s, p,
                                              count_include_pad, divisor_override)
    assert_matches(gx, gx_ref, sum_bound(dtype, k[0] * k[1], magnitude))


# ---------------------------------------------------------------- batch normalization

bn_shapes = st.tuples(st.integers(1, 6), st.integers(1, 5), st.sampled_from([None, 1, 2, 7]))


def _bn_input(rng, shape, dtype, kind):
    """Training-mode input. One known, documented difference from the float64 reference is kept out:
    in float32, ±1e30 makes the variance overflow in the compiled kernel exactly as in PyTorch
    (y = β; the reference, in float64, still normalizes). See docs/reliability.md. Specials
    (±inf, NaN) may come first in a channel: the kernel's shift must not turn a +inf mean into NaN."""
    N, C, L = shape
    x = values(rng, (N, C) if L is None else (N, C, L), dtype, kind, huge=dtype == np.float64)
    if x.size < 2 * C:  # training mode needs 2+ values per channel; 1 value gives var = 0
        x = np.concatenate([x, x + 1], axis=0)
    return x


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes, shape=bn_shapes,
       affine=st.booleans(), offset=st.sampled_from([0.0, 1e4]))
def test_batch_norm_train_and_backward(seed, dtype, nthreads, kind, shape, affine, offset):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    x = _bn_input(rng, shape, dtype, kind) + dtype(offset)  # a large mean tests the two-pass variance
    C = x.shape[1]
    weight = values(rng, C, dtype, "normal") if affine else None
    bias = values(rng, C, dtype, "normal") if affine else None
    (got, _), (want, _) = both("batch_norm_forward_train", x, weight, bias, 1e-5)

    # Bounds, per channel, from the rounding of sums of m terms (tol relative each):
    # μ within tol·mean|x|; σ² within tol·σ² plus the square of μ's error; 1/√(σ²+eps) through its
    # derivative; y = γ·(x − μ)·inv_std + β through the errors of μ and inv_std.
    axes, per = ((0, 2), (1, -1, 1)) if x.ndim == 3 else ((0,), (1, -1))
    m = x.size // C
    tol = 8.0 * (m + 2) * float(np.finfo(dtype).eps)
    x64 = x.astype(np.float64)
    mean, var, inv_std = (w.astype(np.float64) for w in want[1:])
    gamma = np.ones(C) if weight is None else np.abs(weight.astype(np.float64))
    beta = np.zeros(C) if bias is None else np.abs(bias.astype(np.float64))
    with np.errstate(all="ignore"):
        b_mean = tol * np.abs(x64).mean(axes)
        b_var = tol * var + 4 * b_mean ** 2
        b_inv = tol * inv_std + 0.5 * inv_std ** 3 * b_var
        centered = np.abs(x64 - mean.reshape(per))
        b_y = (gamma.reshape(per) * (centered * b_inv.reshape(per) + (inv_std * b_mean).reshape(per))
               + tol * (np.abs(want[0]) + beta.reshape(per)))
    for name, g, w, bound in zip(("y", "mean", "var", "inv_std"), got, want, (b_y, b_mean, b_var, b_inv)):
        assert_matches(g, w, bound + float(np.finfo(dtype).smallest_subnormal))

    # Backward from the reference's statistics: only the rounding of its own sums.
    _, mean_r, _, inv_r = want
    g_out = values(rng, x.shape, dtype, kind)
    (got, _), (want, _) = both("batch_norm_backward", g_out, x, mean_r, inv_r, weight)
    with np.errstate(all="ignore"):
        g64 = np.abs(g_out.astype(np.float64))
        x_hat = np.abs((x64 - mean_r.reshape(per)) * inv_r.astype(np.float64).reshape(per))
        sum_g, sum_gx = g64.sum(axes), (g64 * x_hat).sum(axes)
        k = (gamma * np.abs(inv_r.astype(np.float64))).reshape(per)
        b_gx = tol * k / m * (m * g64 + sum_g.reshape(per) + x_hat * sum_gx.reshape(per))
    for name, g, w, bound in zip(("grad_x", "grad_weight", "grad_bias"), got, want, (b_gx, tol * sum_gx, tol * sum_g)):
        assert_matches(g, w, bound + float(np.finfo(dtype).smallest_subnormal))


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       N=st.integers(0, 6), C=st.integers(1, 5), L=st.sampled_from([None, 1, 3]), affine=st.booleans())
def test_batch_norm_eval(seed, dtype, nthreads, kind, N, C, L, affine):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    x = values(rng, (N, C) if L is None else (N, C, L), dtype, kind)
    weight = values(rng, C, dtype, kind, huge=False) if affine else None
    bias = values(rng, C, dtype, kind) if affine else None
    mean, var = values(rng, C, dtype, kind, huge=False), np.abs(values(rng, C, dtype, kind, huge=False))
    (y, _), (y_ref, _) = both("batch_norm_forward_eval", x, weight, bias, mean, var, 1e-5)
    # scale and shift: the same float64 values rounded once on both sides; y = x·scale + shift may
    # differ by the one rounding an FMA saves
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = (1.0 if weight is None else weight) / np.sqrt(var.astype(np.float64) + 1e-5)
        shift = (0.0 if bias is None else bias) - mean * scale
        scale, shift = scale.astype(dtype).astype(np.float64), shift.astype(dtype).astype(np.float64)
        per = (1, -1, 1) if x.ndim == 3 else (1, -1)
        magnitude = np.abs(x.astype(np.float64) * scale.reshape(per)) + np.abs(shift.reshape(per))
    assert_matches(y, y_ref, sum_bound(dtype, 1, magnitude))


# ---------------------------------------------------------------- optimizer updates

@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       size=st.sampled_from([0, 1, 7, 64, 1000]), momentum=st.sampled_from([0.0, 0.9]),
       dampening=st.sampled_from([0.0, 0.5]), weight_decay=st.sampled_from([0.0, 1e-2]),
       nesterov=st.booleans(), maximize=st.booleans(), first=st.booleans())
def test_sgd_step(seed, dtype, nthreads, kind, size, momentum, dampening, weight_decay, nesterov,
                  maximize, first):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    nesterov = nesterov and momentum > 0 and dampening == 0
    param0, grad, buf0 = (values(rng, size, dtype, k) for k in (kind, kind, "normal"))

    def prepare():
        return (param0.copy(), grad, buf0.copy() if momentum else None, 0.1, momentum, dampening,
                weight_decay, nesterov, maximize, first)
    (_, got), (_, want) = both("sgd_step", prepare=prepare)
    magnitude = np.abs(param0.astype(np.float64)) + 0.2 * (np.abs(grad) + np.abs(buf0) + np.abs(param0))
    for g, w in ((got[0], want[0]), (got[2], want[2])):
        if w is not None:
            assert_matches(g, w, sum_bound(dtype, 4, magnitude))


@fuzz
@given(seed=st.integers(0, 2**32 - 1), dtype=dtypes, nthreads=threads, kind=extremes,
       size=st.sampled_from([0, 1, 7, 64, 1000]), step=st.sampled_from([1, 2, 10, 1000]),
       weight_decay=st.sampled_from([0.0, 1e-2]), amsgrad=st.booleans(), maximize=st.booleans(),
       decoupled=st.booleans(), betas=st.sampled_from([(0.9, 0.999), (0.0, 0.5), (0.6, 0.0)]))
def test_adam_step(seed, dtype, nthreads, kind, size, step, weight_decay, amsgrad, maximize, decoupled,
                   betas):
    rng = np.random.default_rng(seed)
    ops.set_num_threads(nthreads)
    param0, grad = values(rng, size, dtype, kind), values(rng, size, dtype, kind)
    m0 = values(rng, size, dtype, "normal")
    v0 = np.abs(values(rng, size, dtype, "normal"))
    vmax0 = v0 * dtype(1.5)

    def prepare():
        return (param0.copy(), grad, m0.copy(), v0.copy(), vmax0.copy() if amsgrad else None, 1e-3,
                betas[0], betas[1], 1e-8, weight_decay, step, amsgrad, maximize, decoupled)
    (_, got), (_, want) = both("adam_step", prepare=prepare)
    # m and v: a few roundings of their terms; θ: the update lr·m̂/(√v̂ + eps) is at most ~lr·|m|/eps-free
    g64 = np.abs(grad.astype(np.float64)) + weight_decay * np.abs(param0)
    m_mag = np.abs(m0) + g64
    v_mag = np.abs(v0) + g64 * g64
    for i, magnitude in ((2, m_mag), (3, v_mag)):
        assert_matches(got[i], want[i], sum_bound(dtype, 6, magnitude))
    # θ: compare with a relative bound on the update itself (it is a quotient of two rounded values)
    update = np.abs(param0.astype(np.float64) - want[0])
    assert_matches(got[0], want[0], sum_bound(dtype, 8, np.abs(param0) + 64 * update))
