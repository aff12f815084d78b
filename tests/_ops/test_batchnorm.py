"""Batch-norm kernels (every compiled build this CPU runs) vs their numpy twins in reference.py.

The reference computes in float64 from the same inputs, so for float32 the compiled result must be
within a few float32 ulps of it. The large-mean cases (1e4 + randn in float32, 1e6 + randn in
float64) fail for any E[x²] − E[x]² variance and for a y computed from a rounded mean.
"""
import numpy as np
import pytest

import minigrad._ops as ops
from minigrad._ops import reference

# (shape, why): 2-D (N, C) uses the columns path, 3-D (N, C, L) the rows path.
SHAPES = [
    ((2, 1), "N=2, C=1"),
    ((2, 5), "N=2"),
    ((1, 3, 2), "N=1, N·L=2"),
    ((7, 3, 5), "odd sizes"),
    ((64, 4, 1), "H·W=1 as 3-D"),
    ((5, 300), "wide 2-D"),
    ((3, 2, 17), "L not a multiple of the vector width"),
    ((16, 1, 200), "C=1"),
    ((12000, 3), "2-D, C small, parallel split over N"),
    ((8, 3, 4096), "C=3: too few channels for 2 threads, split over N"),
    ((32, 64, 49), "parallel over channels"),
    ((300, 257), "2-D, odd C, parallel"),
    ((1, 1, 40000), "N=1, one channel, large L"),
]
TOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-12}
LARGE_MEAN = {np.dtype(np.float32): 1e4, np.dtype(np.float64): 1e6}


KERNELS = ("batch_norm_forward_train", "batch_norm_forward_eval", "batch_norm_backward")
ISA_FAMILY = "batchnorm"  # the `isa` fixture's builds (tests/_ops/conftest.py)

pytestmark = pytest.mark.usefixtures("compiled_backend")


@pytest.fixture
def build(isa):
    """The compiled kernels of one ISA build, by name."""
    return {k: ops.compiled_kernel(k) for k in KERNELS}


def data(rng, shape, dtype, offset=0.0):
    x = (offset + rng.standard_normal(shape) * rng.uniform(0.5, 2.0, (1, shape[1]) + (1,) * (len(shape) - 2)))
    return x.astype(dtype)


def assert_close(got, want, scale, dtype, what, extra=0.0):
    """|got − want| <= tol·scale + extra elementwise (scale: the size of the terms that were summed)."""
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = TOL[np.dtype(dtype)] * np.broadcast_to(scale, err.shape) * 4 + extra
    assert np.all(err <= bound + np.finfo(dtype).tiny), f"{what}: max error {err.max()}, bound {bound.max()}"


def channel(v, x):
    return v.reshape((1, -1, 1) if x.ndim == 3 else (1, -1))


def check_forward(fn, x, weight, bias, eps=1e-5):
    y, mean, var, inv_std = fn(x, weight, bias, eps)
    ry, rmean, rvar, rinv_std = reference.batch_norm_forward_train(x, weight, bias, eps)
    assert y.dtype == mean.dtype == var.dtype == inv_std.dtype == x.dtype
    assert y.shape == x.shape and mean.shape == var.shape == inv_std.shape == (x.shape[1],)
    std = np.sqrt(rvar.astype(np.float64))
    assert_close(mean, rmean, np.abs(rmean.astype(np.float64)) + std, x.dtype, "mean")
    assert_close(var, rvar, rvar, x.dtype, "var")
    assert_close(inv_std, rinv_std, rinv_std, x.dtype, "inv_std")
    w = 1.0 if weight is None else np.abs(channel(weight, x))
    # μ_B itself is known to float64 round-off only: ~|μ_B|·eps64, which matters for float64 data
    # with a huge mean (1e6 + randn) and is negligible for float32.
    mean_err = channel(16 * np.finfo(np.float64).eps * np.abs(rmean.astype(np.float64))
                       * rinv_std.astype(np.float64), x) * w
    assert_close(y, ry, w * (np.abs(ry) + 1), x.dtype, "y", extra=mean_err)
    return mean, inv_std


def check_backward(fn, g, x, mean, inv_std, weight):
    gx, gw, gb = fn(g, x, mean, inv_std, weight)
    rgx, rgw, rgb = reference.batch_norm_backward(g, x, mean, inv_std, weight)
    axes = (0, 2) if x.ndim == 3 else (0,)
    g64 = g.astype(np.float64)
    x_hat = (x - channel(mean.astype(np.float64), x)) * channel(inv_std.astype(np.float64), x)
    assert gx.dtype == gw.dtype == gb.dtype == x.dtype
    assert_close(gb, rgb, np.abs(g64).sum(axes), x.dtype, "grad_bias")
    assert_close(gw, rgw, np.abs(g64 * x_hat).sum(axes), x.dtype, "grad_weight")
    k = inv_std.astype(np.float64) * (1.0 if weight is None else np.abs(weight.astype(np.float64)))
    # grad_x = k·(g − mean(g) − x̂·mean(g·x̂)): each term is at most k·max|g|·(1 + |x̂|) in size.
    scale = channel(k, x) * np.abs(g64).max() * (2 + np.abs(x_hat))
    assert_close(gx, rgx, scale, x.dtype, "grad_x")


@pytest.mark.parametrize("shape,why", SHAPES, ids=[s[1] for s in SHAPES])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_train_forward_and_backward_match_reference(build, shape, why, affine, dtype, threads, rng):
    x = data(rng, shape, dtype)
    weight = rng.uniform(0.5, 2.0, shape[1]).astype(dtype) * rng.choice([-1, 1], shape[1]).astype(dtype) if affine else None
    bias = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    mean, inv_std = check_forward(build["batch_norm_forward_train"], x, weight, bias)
    g = rng.standard_normal(shape).astype(dtype)
    check_backward(build["batch_norm_backward"], g, x, mean, inv_std, weight)


@pytest.mark.parametrize("shape", [(300, 7), (16, 3, 100), (2, 1, 30000), (4096, 2)])
def test_large_mean_is_not_cancelled(build, shape, dtype, threads, rng):
    """x = offset + randn: a one-pass E[x²] − E[x]² variance would be off by O(1) here."""
    x = data(rng, shape, dtype, offset=LARGE_MEAN[np.dtype(dtype)])
    mean, inv_std = check_forward(build["batch_norm_forward_train"], x, None, None)
    _, var, _ = reference.batch_norm_forward_train(x, None, None, 1e-5)[1:]
    assert np.all(np.abs(var - 1) < 3)  # the data really has O(1) variance around a huge mean
    check_backward(build["batch_norm_backward"], rng.standard_normal(shape).astype(dtype), x, mean,
                   inv_std, None)


def test_constant_channel_gives_zero_var_and_beta(build, dtype):
    x = np.full((6, 2, 3), 3.5, dtype)
    y, mean, var, inv_std = build["batch_norm_forward_train"](x, None, np.array([1, -2], dtype), 1e-5)
    np.testing.assert_array_equal(var, 0)
    np.testing.assert_array_equal(mean, 3.5)
    np.testing.assert_allclose(y[:, 0], 1)
    np.testing.assert_allclose(y[:, 1], -2)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4, 3, 7), (50, 700), (64, 16, 49), (0, 3), (2, 3, 0)])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_eval_forward_matches_reference(build, shape, affine, dtype, threads, rng):
    C = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(C).astype(dtype) if affine else None
    bias = rng.standard_normal(C).astype(dtype) if affine else None
    mean, var = rng.standard_normal(C).astype(dtype), rng.uniform(0.0, 3.0, C).astype(dtype)
    y = build["batch_norm_forward_eval"](x, weight, bias, mean, var, 1e-3)
    want = reference.batch_norm_forward_eval(x, weight, bias, mean, var, 1e-3)
    assert y.dtype == x.dtype and y.shape == x.shape
    # scale and shift are rounded once from the same float64 values on both sides: only y = x·scale
    # + shift may round differently (one FMA)
    scale = (1.0 if weight is None else weight) / np.sqrt(var.astype(np.float64) + 1e-3)
    shift = (0.0 if bias is None else bias) - mean * scale
    assert_close(y, want, np.abs(x * channel(scale, x)) + np.abs(channel(shift, x)), dtype, "y")


def test_door_accepts_non_contiguous_and_read_only(dtype, rng):
    base = rng.standard_normal((40, 6, 9)).astype(dtype)
    x = base[::2, ::2]  # (20, 3, 9), non-contiguous
    g = rng.standard_normal((9, 3, 20)).astype(dtype).transpose(2, 1, 0)
    weight, bias = np.linspace(0.5, 2, 3).astype(dtype), np.zeros(3, dtype)
    for a in (base, g, weight, bias):
        a.setflags(write=False)
    y, mean, var, inv_std = ops.batch_norm_forward_train(x, weight, bias, 1e-5)
    ry = reference.batch_norm_forward_train(np.ascontiguousarray(x), weight, bias, 1e-5)[0]
    assert_close(y, ry, np.abs(ry) + 1, dtype, "y")
    for a in (mean, inv_std):
        a.setflags(write=False)
    gx, gw, gb = ops.batch_norm_backward(g, x, mean, inv_std, weight)
    rgx, rgw, rgb = reference.batch_norm_backward(np.ascontiguousarray(g), np.ascontiguousarray(x),
                                                  mean, inv_std, weight)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, rgw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, rgx, rtol=1e-4, atol=1e-5)
    y_eval = ops.batch_norm_forward_eval(x, weight, bias, mean, 1 / (inv_std * inv_std), 1e-5)
    np.testing.assert_allclose(y_eval, reference.batch_norm_forward_eval(np.ascontiguousarray(x), weight, bias, mean,
                                                                         1 / (inv_std * inv_std), 1e-5), rtol=1e-5, atol=1e-6)


def _door_run(x):
    y, mean, var, inv_std = ops.batch_norm_forward_train(x, None, None, 1e-3)
    return (y, mean, var, inv_std) + ops.batch_norm_backward(x * 2, x, mean, inv_std, None)


def test_compiled_and_numpy_backends_agree_through_the_door(dtype, rng):
    x = data(rng, (33, 5, 7), dtype)
    out = {}
    out["compiled"] = _door_run(x)
    with ops.use_backend("numpy"):
        out["numpy"] = _door_run(x)
    for a, b in zip(out["compiled"], out["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)


@pytest.mark.parametrize("call,error,match", [
    (lambda d: ops.batch_norm_forward_train(np.zeros(4, d), None, None, 1e-5), ValueError, "2-D"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3, 4, 5), d), None, None, 1e-5), ValueError, "2-D"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((0, 3), d), None, None, 1e-5), ValueError, "at least one"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3), d), np.ones(4, d), None, 1e-5), ValueError, r"weight: expected shape \(3,\)"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3), d), None, np.ones(3, np.float16), 1e-5), TypeError, "bias"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3), d), np.ones(3, np.float32 if d == np.float64 else np.float64), None, 1e-5), TypeError, "weight: expected dtype"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3), d), None, None, -1.0), ValueError, "eps"),
    (lambda d: ops.batch_norm_forward_train(np.zeros((2, 3), np.int64), None, None, 1e-5), TypeError, "x: expected dtype"),
    (lambda d: ops.batch_norm_forward_eval(np.zeros((2, 3), d), np.ones(2, d), None, np.zeros(3, d), np.ones(3, d), 1e-5), ValueError, "weight"),
    (lambda d: ops.batch_norm_forward_eval(np.zeros((2, 3), d), None, None, np.zeros(3, d), None, 1e-5), TypeError, "running_var"),
    (lambda d: ops.batch_norm_forward_eval(np.zeros((2, 3), d), None, None, np.zeros(3, d), np.ones(3, d), -1.0), ValueError, "eps"),
    (lambda d: ops.batch_norm_backward(np.zeros((2, 4), d), np.zeros((2, 3), d), np.zeros(3, d), np.ones(3, d), None), ValueError, "grad_out"),
    (lambda d: ops.batch_norm_backward(np.zeros((2, 3), d), np.zeros((2, 3), d), np.zeros(2, d), np.ones(3, d), None), ValueError, "mean"),
    (lambda d: ops.batch_norm_backward(np.zeros((2, 3), d), np.zeros((2, 3), d), np.zeros(3, d), [1, 1, 1], None), TypeError, "inv_std"),
])
def test_door_rejects_bad_arguments(call, error, match, dtype):
    with pytest.raises(error, match=match):
        call(dtype)
