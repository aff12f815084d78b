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
