"""ReLU, GELU, sigmoid and tanh kernels (_ops/elementwise_kernels.pxi, in every ISA build) against
their numpy twins and, for sigmoid and tanh, against the exact values; and the door's validation.
(The differential fuzz in test_differential.py adds layouts, specials and thread counts.)"""
import functools
import math
from unittest import mock

import mpmath
import numpy as np
import pytest

import minigrad
import minigrad._ops as ops
from minigrad._ops import reference, registry

KERNELS = ("relu_forward", "relu_backward", "gelu_forward", "gelu_backward", "sigmoid_forward",
           "sigmoid_backward", "tanh_forward", "tanh_backward")
ISA_FAMILY = "elementwise"  # the `isa` fixture: each build (one source, other compiler flags)
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 5, 7), (1, 1, 1), (70_001,), (257, 263)]  # odd, and > PARALLEL_MIN


def both(name, *args):
    """(compiled, reference) results of kernel ``name``, both through the door (validation included).

    Only this kernel is switched, so the test does not depend on other extensions being built."""
    results = []
    for impl in (ops._compiled[name], getattr(reference, name)):
        with mock.patch.dict(ops._impl, {name: impl}):
            results.append(getattr(ops, name)(*args))
    return tuple(results)


def sample(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.reshape(-1)[:: 7] = 0  # exact zeros: the convention at the kink must match
    return x


def assert_kernels_agree(op, x, g, gelu_bounds):
    """Compiled and reference forward and backward of ``op`` on (x, g); returns the compiled (y, gx).

    ReLU only selects and copies, so the two agree exactly; GELU's twins use different exp
    implementations (see the ``gelu_bounds`` fixture), so they agree within its error bound."""
    y, y_ref = both(f"{op}_forward", x)
    gx, gx_ref = both(f"{op}_backward", g, x)
    if op == "relu":
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(gx, gx_ref)
    else:
        y_bound, gx_bound = gelu_bounds(x, y_ref, g, gx_ref)
        for got, want, bound in ((y, y_ref, y_bound), (gx, gx_ref, gx_bound)):
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            excess = np.abs(got.astype(np.float64) - want) - bound
            assert not (excess > 0).any(), f"max excess over the bound: {np.nanmax(excess)}"
    return y, gx


def test_compiled_kernels_are_the_extension(isa):
    for name in KERNELS:
        assert ops._compiled[name].__module__ == f"minigrad._ops.elementwise_{isa}"
        assert ops._compiled[name].__name__ == name
        assert ops._compiled[name] is not getattr(reference, name)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu_forward_backward_match_reference(shape, dtype, threads):
    rng = np.random.default_rng(0)
    x = sample(rng, shape, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y, y_ref = both("relu_forward", x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, y_ref)
    gx, gx_ref = both("relu_backward", g, x)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_array_equal(gx, gx_ref)
    np.testing.assert_array_equal(gx, np.where(x > 0, g, 0))  # gradient 0 at x == 0, like PyTorch


@pytest.mark.parametrize("op", ["relu", "gelu"])
@pytest.mark.parametrize("layout", ["transposed", "strided", "fortran"])
def test_non_contiguous_inputs(op, layout, dtype, threads, isa, gelu_bounds):
    rng = np.random.default_rng(1)
    base = sample(rng, (9, 14), dtype)
    x = {"transposed": base.T, "strided": base[::2, 1::3], "fortran": np.asfortranarray(base)}[layout]
    g = rng.standard_normal(x.shape).astype(dtype)[::-1]  # negative strides for the gradient
    assert_kernels_agree(op, x, g, gelu_bounds)


@pytest.mark.parametrize("op", ["relu", "gelu"])
def test_read_only_inputs(op, dtype, threads, gelu_bounds):
    rng = np.random.default_rng(2)
    x, g = sample(rng, (5, 11), dtype), rng.standard_normal((5, 11)).astype(dtype)
    x.flags.writeable = g.flags.writeable = False
    y, gx = assert_kernels_agree(op, x, g, gelu_bounds)
    assert y.flags.writeable and gx.flags.writeable


@pytest.mark.parametrize("op", ["relu", "gelu"])
def test_inputs_are_not_modified(op, dtype):
    rng = np.random.default_rng(3)
    x, g = sample(rng, (100,), dtype), rng.standard_normal(100).astype(dtype)
    before = x.copy(), g.copy()
    both(f"{op}_forward", x)
    both(f"{op}_backward", g, x)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(g, before[1])


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gelu_forward_backward_match_reference(shape, dtype, threads, isa, gelu_bounds):
    rng = np.random.default_rng(4)
    x = sample(rng, shape, dtype)
    x *= 3  # in place: a 0-d array stays an array
    g = rng.standard_normal(shape).astype(dtype)
    y, gx = assert_kernels_agree("gelu", x, g, gelu_bounds)
    assert y.dtype == gx.dtype == dtype and y.shape == gx.shape == x.shape


def test_gelu_is_x_times_the_normal_cdf():
    # Φ(x) = erfc(−x/√2)/2 from math.erfc in float64 (no cancellation), against the kernels, which
    # compute (1 + erf(x/√2))/2 as PyTorch does: off by at most an ulp of 1 in that sum, times |x|.
    x = np.linspace(-9, 9, 3601)
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    y, _ = both("gelu_forward", x)
    gx, _ = both("gelu_backward", np.ones_like(x), x)
    ulp1 = np.finfo(np.float64).eps
    assert (np.abs(y - x * phi) <= 2 * ulp1 * (np.abs(x * phi) + np.abs(x))).all()
    assert (np.abs(gx - (phi + x * pdf)) <= 2 * ulp1 * (np.abs(phi) + np.abs(x * pdf) + 1)).all()
    assert np.abs(y - x * phi).max() > 0  # the bound is not vacuous: the sum does round


@functools.lru_cache(maxsize=None)
def _exact_gelu():
    """float32 arguments covering every part of the float32 kernels (the rational's whole range
    [0, 14.8], the cap past it, zero, subnormals, the zero of the gradient near −0.75, results down
    in the subnormals as x → −14.3), and float64 (hi, lo) pairs of x·Φ(x), Φ(x) and x·φ(x) from
    mpmath at 120 bits (Φ(x) = erfc(−x/√2)/2: no cancellation)."""
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.standard_normal(1500) * 4, rng.uniform(-1e-3, 1e-3, 200), np.linspace(-16, 16, 1601),
                        np.linspace(-1, -0.5, 201), np.linspace(-14.6, -12, 301),
                        np.geomspace(float(np.finfo(np.float32).smallest_subnormal), 1, 300)])
    x = np.concatenate([x, -x]).astype(np.float32)
    out = np.empty((3, 2, x.size))
    with mpmath.workprec(120):
        for i, v in enumerate(x.tolist()):
            v = mpmath.mpf(v)
            cdf = mpmath.erfc(-v / mpmath.sqrt(2)) / 2
            for k, t in enumerate((v * cdf, cdf, v * mpmath.exp(-v * v / 2) / mpmath.sqrt(2 * mpmath.pi))):
                out[k, 0, i] = float(t)
                out[k, 1, i] = float(t - out[k, 0, i])
    return x, out


def _ulps_of(got, hi, lo, unit):
    """|got − (hi + lo)| in ulps (float32) of ``unit``."""
    return np.abs((got.astype(np.float64) - hi) - lo) / np.spacing(np.abs(unit).astype(np.float32)).astype(np.float64)


def test_float32_gelu_is_within_its_ulps_of_the_exact_value(threads, isa, gelu_float32_ulps):
    """The float32 kernels' contract (vecmath.pxi): x·Φ(x) within gelu_float32_ulps["forward"] ulps,
    Φ(x) + x·φ(x) within gelu_float32_ulps["backward"] ulps of the larger of its two terms."""
    x, ((y_hi, y_lo), (cdf_hi, cdf_lo), (xpdf_hi, xpdf_lo)) = _exact_gelu()
    y, _ = both("gelu_forward", x)
    ulps = _ulps_of(y, y_hi, y_lo, y_hi)
    assert ulps.max() <= gelu_float32_ulps["forward"], f"{ulps.max():.2f} ulps at x = {x[ulps.argmax()]!r}"
    assert ulps.max() > 1  # the bound is not vacuous: the kernel is not the twin rounded once
    rounded = y_hi.astype(np.float32)  # the results run down into the subnormals, and they hold there
    assert ((rounded != 0) & (np.abs(rounded) < np.finfo(np.float32).tiny)).sum() > 20
    gx, _ = both("gelu_backward", np.ones_like(x), x)
    larger = np.maximum(np.abs(cdf_hi), np.abs(xpdf_hi))
    ulps = _ulps_of(gx, cdf_hi + xpdf_hi, cdf_lo + xpdf_lo, larger)
    assert ulps.max() <= gelu_float32_ulps["backward"], f"{ulps.max():.2f} ulps at x = {x[ulps.argmax()]!r}"
    assert ulps.max() > 0.5
    # away from its zero the gradient holds the forward's bound relative to itself
    far = (x < -1) | (x > -0.5)
    ulps = _ulps_of(gx[far], (cdf_hi + xpdf_hi)[far], (cdf_lo + xpdf_lo)[far], (cdf_hi + xpdf_hi)[far])
    assert ulps.max() <= gelu_float32_ulps["forward"], f"{ulps.max():.2f} ulps at x = {x[far][ulps.argmax()]!r}"


def test_gelu_specials_are_ieee_values_of_the_formula(dtype, threads, isa):
    # x·Φ(x) and grad_out·(Φ(x) + x·φ(x)) evaluated in IEEE arithmetic: Φ(−∞) = 0, so −∞·0 = NaN;
    # at ±∞ the backward's x·φ(x) is ∞·0 = NaN (as in PyTorch); far tails round to ±0 and x.
    # Subnormal x: Φ = 1/2 to far below an ulp, so y = x/2 exactly (4 and 8 subnormal spacings).
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -40.0, 40.0, -1e30, 1e30, -4 * tiny, 8 * tiny], dtype=dtype)
    g = np.full_like(x, 3.0)
    y, y_ref = both("gelu_forward", x)
    gx, gx_ref = both("gelu_backward", g, x)
    for got in (y, y_ref):
        want = np.array([np.nan, np.nan, np.inf, -0.0, 0.0, -0.0, 40.0, -0.0, 1e30, -2 * tiny, 4 * tiny], dtype)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got[3:]), np.signbit(want[3:]))  # −0 for x ≤ −0
    for got in (gx, gx_ref):
        np.testing.assert_array_equal(got, np.array([np.nan, np.nan, np.nan, 1.5, 1.5, 0.0, 3.0, 0.0, 3.0, 1.5, 1.5],
                                                    dtype))


def test_gelu_matches_torch_including_specials(dtype, threads, isa):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -40.0, 40.0]),
                        np.random.default_rng(5).standard_normal(200) * 4]).astype(dtype)
    g = np.random.default_rng(6).standard_normal(x.shape).astype(dtype)
    y, _ = both("gelu_forward", x)
    gx, _ = both("gelu_backward", g, x)
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.gelu(xt)
    yt.backward(torch.from_numpy(g))
    # torch's float32 GELU(+∞) depends on the CPU: its vectorized path returns NaN on AVX-512 CPUs
    # (torch 2.13, AMD Zen 4) and +∞ on AVX2 ones (Zen 3); float64 gives +∞ everywhere, as do we
    # (see test_gelu_specials_are_ieee_values_of_the_formula). That one value is not compared.
    compared = ~((x == np.inf) & (dtype == np.float32))
    # torch sums 1 + erf(x/√2) in the input dtype, the kernels in float64: where that sum cancels
    # (x < 0) torch's float32 result is off by up to an ulp of 1 times |x|, ours by less
    eps = np.finfo(dtype).eps
    for ours, theirs in ((y, yt.detach().numpy()), (gx, xt.grad.numpy())):
        ours, theirs, xs, gs = ours[compared], theirs[compared], x[compared], g[compared]
        ok = np.isfinite(theirs)
        np.testing.assert_array_equal(ours[~ok], theirs[~ok])  # the same NaN and ±inf
        bound = 4 * eps * (np.abs(theirs[ok]) + np.abs(xs[ok]) * np.maximum(np.abs(gs[ok]), 1) + 1)
        assert (np.abs(ours[ok] - theirs[ok]) <= bound).all()


def test_nan_and_inf_propagate_like_torch(dtype, threads):
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -1.0, 2.0], dtype=dtype)
    y, y_ref = both("relu_forward", x)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(y, torch.relu(torch.from_numpy(x)).numpy())
    assert np.isnan(y[0])
    g = np.ones_like(x)
    g[-1] = np.nan  # a NaN gradient passes through where x > 0
    gx, gx_ref = both("relu_backward", g, x)
    np.testing.assert_array_equal(gx, gx_ref)
    assert np.isnan(gx[-1])
    xt = torch.from_numpy(x).requires_grad_()
    torch.relu(xt).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(gx, xt.grad.numpy())  # incl. a NaN input passing its gradient


def test_door_validation_errors():
    with mock.patch.dict(ops._impl, {k: ops._compiled[k] for k in KERNELS}):
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got int64"):
            ops.relu_forward(np.arange(3))
        with pytest.raises(TypeError, match="expected a numpy.ndarray"):
            ops.relu_forward([1.0, 2.0])
        x = np.ones(4, np.float32)
        with pytest.raises(ValueError, match=r"grad_out: expected shape \(4,\)"):
            ops.relu_backward(np.ones(5, np.float32), x)
        with pytest.raises(TypeError, match="grad_out: expected dtype float32"):
            ops.relu_backward(np.ones(4, np.float64), x)
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got int64"):
            ops.gelu_forward(np.arange(3))
        with pytest.raises(ValueError, match=r"grad_out: expected shape \(4,\)"):
            ops.gelu_backward(np.ones(5, np.float32), x)
        with pytest.raises(TypeError, match="grad_out: expected dtype float32"):
            ops.gelu_backward(np.ones(4, np.float64), x)


def test_relu_op_on_both_backends(backend):
    x = minigrad.tensor([[-1.0, 0.0, 3.0]], requires_grad=True)
    y = minigrad.functional.relu(x)
    (y * minigrad.tensor([[5.0, 6.0, 7.0]])).sum().backward()
    assert y.tolist() == [[0.0, 0.0, 3.0]] and x.grad.tolist() == [[0.0, 0.0, 7.0]]


# ---------------------------------------------------------------- sigmoid and tanh

def _ulps(got, want):
    """|got − want| in units of the last place of ``want`` (in its dtype)."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want).astype(want.dtype)).astype(np.float64)


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sigmoid_tanh_match_reference_within_their_ulps(op, shape, dtype, threads, isa, rng):
    """Within the bound the registry declares between the kernels and their twins (the float64 value
    rounded once)."""
    x = np.asarray(rng.standard_normal(shape) * 4, dtype)  # (a 0-d array times 4 is a scalar)
    y, y_ref = both(f"{op}_forward", x)
    assert y.dtype == dtype and (_ulps(y, y_ref) <= registry.KERNELS[f"{op}_forward"].ulps).all()
    g = rng.standard_normal(shape).astype(dtype)
    gx, gx_ref = both(f"{op}_backward", g, y)
    assert gx.dtype == dtype and (_ulps(gx, gx_ref) <= registry.KERNELS[f"{op}_backward"].ulps).all()


# The kernels' accuracy (vecmath.pxi): at most 2.5 ulp measured, in both dtypes and every ISA build
ACCURACY_ULPS = 3
# |x| past which sigmoid's e^−|x| rounds to 0: below it the results run through the subnormals
SIGMOID_TAIL = {np.dtype(np.float32): 104.0, np.dtype(np.float64): 746.0}


@functools.lru_cache(maxsize=None)
def _exact(op, dtype):
    """Arguments covering every branch of the kernels, and the exact results as float64 pairs
    (hi, lo), hi + lo within 2⁻¹⁰⁶ of the value (mpmath at 120 bits)."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(7)
    tail = SIGMOID_TAIL[dtype] + 4
    x = np.concatenate([rng.standard_normal(1500) * 6, rng.uniform(-1e-3, 1e-3, 200),
                        np.linspace(-tail, tail, 801), np.linspace(8, 20, 97),
                        np.geomspace(float(np.finfo(dtype).smallest_subnormal), 1, 400)])
    x = np.concatenate([x, -x]).astype(dtype)
    f = {"sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)), "tanh": mpmath.tanh}[op]
    hi, lo = np.empty(x.size), np.empty(x.size)
    with mpmath.workprec(120):
        for i, v in enumerate(x.tolist()):
            t = f(mpmath.mpf(v))
            hi[i] = float(t)
            lo[i] = float(t - hi[i])
    return x, hi, lo


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_sigmoid_tanh_are_within_3_ulps_of_the_exact_value(op, dtype, threads, isa):
    x, hi, lo = _exact(op, dtype)
    y, _ = both(f"{op}_forward", x)
    rounded = hi.astype(dtype)  # the correctly rounded result, whose ulp is the unit
    ulps = np.abs((y.astype(np.float64) - hi) - lo) / np.spacing(np.abs(rounded)).astype(np.float64)
    assert ulps.max() <= ACCURACY_ULPS, f"{ulps.max():.2f} ulps at x = {x[ulps.argmax()]!r}"
    assert ulps.max() > 0.5  # the bound is not vacuous: the kernels are not correctly rounded
    if op == "sigmoid":  # the grid reaches the subnormal results (e^x for x → −104 or −746)
        assert ((rounded > 0) & (rounded < np.finfo(dtype).tiny)).sum() > 10


def test_sigmoid_tanh_specials_are_their_ieee_values(dtype, threads, isa):
    tiny = np.finfo(dtype).smallest_subnormal
    tail = SIGMOID_TAIL[dtype]
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, tiny, -tiny, tail + 1, -tail - 1, 1e30, -1e30], dtype)
    for name, want in (("sigmoid_forward", [1.0, 0.0, np.nan, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0, 1.0, 0.0]),
                       ("tanh_forward", [1.0, -1.0, np.nan, 0.0, -0.0, tiny, -tiny, 1.0, -1.0, 1.0, -1.0])):
        for y in both(name, x):  # no overflow warning, no NaN from inf/inf
            np.testing.assert_array_equal(y, np.array(want, dtype))
            signed = ~np.isnan(y)  # tanh(−0) = −0; a NaN's sign is not specified
            np.testing.assert_array_equal(np.signbit(y[signed]), np.signbit(np.array(want, dtype)[signed]))
    y = np.array([1.0, 0.0, 0.5, -1.0, np.nan, np.inf], dtype)
    g = np.full(6, 2.0, dtype)
    for name, want in (("sigmoid_backward", [0.0, 0.0, 0.5, -4.0, np.nan, -np.inf]),
                       ("tanh_backward", [0.0, 2.0, 1.5, 0.0, np.nan, -np.inf])):
        for gx in both(name, g, y):
            np.testing.assert_array_equal(gx, np.array(want, dtype))


def test_tanh_backward_keeps_its_digits_as_y_nears_1(dtype, isa):
    """1 − y² as (1 − y)(1 + y): exact to a rounding or two where 1 − y·y would cancel."""
    y = (1 - np.finfo(dtype).eps * np.arange(1, 65)).astype(dtype)
    gx, _ = both("tanh_backward", np.ones_like(y), y)
    exact = (1 - y.astype(np.float64)) * (1 + y.astype(np.float64))  # exact for float32 y; ≤ 1 ulp for float64
    assert (_ulps(gx, exact.astype(dtype)) <= 2).all()


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_sigmoid_tanh_ops_on_both_backends_match_torch(op, backend, dtype, tol):
    torch = pytest.importorskip("torch")
    data = np.array([[-30.0, -2.5, -0.1, 0.0, 0.7, 3.0, 30.0]], dtype)
    x, t = minigrad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = getattr(minigrad.functional, op)(x), getattr(torch, op)(t)
    y.backward(minigrad.ones_like(y))
    ty.backward(torch.ones_like(ty))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **tol)
