"""nn.init: bounds and standard deviations against PyTorch's formulas, gains, fan modes, errors."""
import math

import numpy as np
import pytest

import minigrad
from minigrad.nn import init

torch = pytest.importorskip("torch")

SHAPES = [(300, 200), (64, 16, 3, 3)]  # a Linear weight and a Conv2d weight (receptive field 9)


def fans(shape):
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _torch_fans(shape):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    assert fans(shape) == _torch_fans(shape)


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def _check_uniform(t, bound):
    w = t.data.ravel().astype(np.float64)
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.mean()) < 0.03 * bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.03


def _check_normal(t, std, mean=0.0):
    w = t.data.ravel().astype(np.float64)
    assert abs(w.mean() - mean) < 0.03 * std + 1e-12
    assert abs(w.std() / std - 1) < 0.03
    assert np.mean(np.abs(w - mean) < std) == pytest.approx(0.6827, abs=0.02)  # Gaussian, not uniform


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier(shape):
    fan_in, fan_out = fans(shape)
    gain = 5 / 3
    _check_uniform(init.xavier_uniform_(minigrad.empty(*shape), gain=gain),
                   gain * math.sqrt(6 / (fan_in + fan_out)))
    _check_normal(init.xavier_normal_(minigrad.empty(*shape)), math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.1), ("leaky_relu", math.sqrt(5))])
def test_kaiming(shape, mode, nonlinearity, a):
    fan = dict(zip(("fan_in", "fan_out"), fans(shape)))[mode]
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _check_uniform(init.kaiming_uniform_(minigrad.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity),
                   math.sqrt(3) * std)
    _check_normal(init.kaiming_normal_(minigrad.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity), std)


def test_kaiming_statistics_match_torch_samples():
    """Same distribution as PyTorch's own initialiser (compare sample moments of both)."""
    torch.manual_seed(0)
    for ours, theirs in ((init.kaiming_normal_, torch.nn.init.kaiming_normal_),
                         (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_),
                         (init.xavier_uniform_, torch.nn.init.xavier_uniform_)):
        a = ours(minigrad.empty(256, 128)).data
        b = theirs(torch.empty(256, 128)).numpy()
        assert a.std() == pytest.approx(b.std(), rel=0.03)
        assert np.abs(a).max() <= np.abs(b).max() * 1.5


def test_uniform_normal_constant_zeros_ones():
    t = minigrad.empty(100, 100, dtype=np.float64)
    assert init.uniform_(t, -2.0, 3.0) is t
    assert t.data.min() >= -2 and t.data.max() < 3 and abs(t.data.mean() - 0.5) < 0.05
    _check_normal(init.normal_(t, mean=1.5, std=0.2), 0.2, mean=1.5)
    assert (init.constant_(t, 0.25).data == 0.25).all()
    assert not init.zeros_(t).data.any()
    assert (init.ones_(t).data == 1).all()
    assert t.dtype == np.float64


def test_init_keeps_dtype_is_seeded_and_records_no_graph():
    p = minigrad.nn.Parameter(minigrad.empty(4, 3))
    minigrad.manual_seed(3)
    init.kaiming_uniform_(p)
    first = p.data.copy()
    minigrad.manual_seed(3)
    init.kaiming_uniform_(p)
    np.testing.assert_array_equal(p.data, first)
    assert p.dtype == np.float32 and p.is_leaf and p.grad is None


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(minigrad.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(minigrad.empty(3, 3), mode="fan_avg")


# ---------------------------------------------------------------- eye_, dirac_, orthogonal_, trunc_normal_, sparse_
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (4, 1)])
def test_eye_matches_torch(shape):
    np.testing.assert_array_equal(init.eye_(minigrad.empty(*shape)).numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("shape, groups", [((4, 3, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 3, 5), 1), ((2, 3, 3, 3, 3), 2)])
def test_dirac_matches_torch(shape, groups):
    ours = init.dirac_(minigrad.empty(*shape), groups=groups).numpy()
    np.testing.assert_array_equal(ours, torch.nn.init.dirac_(torch.empty(shape), groups=groups).numpy())


def test_dirac_conv_is_the_identity():
    conv = minigrad.nn.Conv2d(4, 4, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = minigrad.randn(2, 4, 5, 6)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize("shape, gain", [((5, 5), 1.0), ((3, 8), 2.0), ((8, 3), 0.5), ((4, 2, 3), 1.0)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    w = init.orthogonal_(minigrad.empty(*shape, dtype=minigrad.float64), gain=gain).numpy().reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, gain ** 2 * np.eye(len(small)), atol=1e-12)
    t = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain).reshape(shape[0], -1)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), np.linalg.svd(t.numpy(), compute_uv=False))


def test_trunc_normal_bounds_and_moments_match_torch():
    kw = dict(mean=0.5, std=2.0, a=-1.0, b=3.0)
    ours = init.trunc_normal_(minigrad.empty(200_000, dtype=minigrad.float64), **kw).numpy()
    theirs = torch.nn.init.trunc_normal_(torch.empty(200_000, dtype=torch.float64), **kw).numpy()
    assert ours.min() >= -1.0 and ours.max() <= 3.0
    # the truncated normal's mean and std (analytically 0.8416 and 1.0897 here) within sampling error
    assert abs(ours.mean() - theirs.mean()) < 0.01 and abs(ours.std() - theirs.std()) < 0.01
    with pytest.raises(ValueError, match="must be less than b"):
        init.trunc_normal_(minigrad.empty(3), a=1.0, b=1.0)


def test_sparse_zeros_per_column_like_torch():
    ours = init.sparse_(minigrad.empty(40, 30, dtype=minigrad.float64), sparsity=0.25, std=0.5).numpy()
    theirs = torch.nn.init.sparse_(torch.empty(40, 30, dtype=torch.float64), sparsity=0.25, std=0.5).numpy()
    np.testing.assert_array_equal((ours == 0).sum(axis=0), (theirs == 0).sum(axis=0))  # ceil(0.25·40) = 10
    assert abs(ours[ours != 0].std() - 0.5) < 0.05


@pytest.mark.parametrize("name, args, message", [
    ("eye_", ((2, 2, 2),), "Only tensors with 2 dimensions are supported"),
    ("dirac_", ((2, 2),), "Only tensors with 3, 4, or 5 dimensions are supported"),
    ("orthogonal_", ((3,),), "Only tensors with 2 or more dimensions are supported"),
    ("sparse_", ((2, 2, 2), 0.1), "Only tensors with 2 dimensions are supported"),
])
def test_new_init_errors_match_torch(name, args, message):
    shape, *rest = args
    with pytest.raises(ValueError, match=message):
        getattr(torch.nn.init, name)(torch.empty(shape), *rest)
    with pytest.raises(ValueError, match=message):
        getattr(init, name)(minigrad.empty(*shape), *rest)
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(minigrad.empty(3, 2, 3), groups=2)


@pytest.mark.parametrize("name,args", [("uniform_", ()), ("normal_", ()), ("xavier_uniform_", ()), ("xavier_normal_", ()),
                                       ("kaiming_uniform_", ()), ("kaiming_normal_", ()), ("trunc_normal_", ()),
                                       ("orthogonal_", ()), ("sparse_", (0.5,))])
def test_generator_argument_draws_from_that_generator(name, args):
    """``generator=`` (a numpy Generator here) makes an init repeatable without touching the global one."""
    fill = getattr(init, name)
    a, b = minigrad.empty(6, 4), minigrad.empty(6, 4)
    state = minigrad.random.default_generator().bit_generator.state
    fill(a, *args, generator=np.random.default_rng(7))
    fill(b, *args, generator=np.random.default_rng(7))
    assert minigrad.random.default_generator().bit_generator.state == state
    np.testing.assert_array_equal(a.data, b.data)
    fill(b, *args)
    assert not np.array_equal(a.data, b.data)
