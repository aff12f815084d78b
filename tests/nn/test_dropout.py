"""Dropout / Dropout2d / F.dropout: inverted scaling, statistics, eval identity, seeding, gradients."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import nn


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mean_preserved_and_drop_rate(p):
    n = 200_000
    y = F.dropout(minigrad.ones(n), p, training=True).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    # Binomial bounds, 5 standard deviations.
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)


def test_identity_in_eval_and_for_p_zero(dtype):
    x = minigrad.tensor(np.arange(12, dtype=dtype).reshape(3, 4))
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)


def test_same_mask_under_same_seed():
    x = minigrad.randn(50, 20)
    minigrad.manual_seed(7)
    a = F.dropout(x, 0.3).data
    minigrad.manual_seed(7)
    b = F.dropout(x, 0.3).data
    c = F.dropout(x, 0.3).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_gradient_is_the_mask(dtype):
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((40, 30)).astype(dtype), requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    mask = y.data / x.data
    np.testing.assert_allclose(x.grad.data, mask, rtol=1e-6)
    assert x.grad.dtype == dtype and y.dtype == dtype


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_validated(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(minigrad.ones(3), p)


def test_dropout2d_drops_whole_channels():
    x = minigrad.ones(8, 16, 5, 5)
    y = nn.Dropout2d(0.5)(x).data
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel[..., 0] == 0).sum() < 128
    assert nn.Dropout2d(0.5).eval()(x) is x
    with pytest.raises(ValueError, match="3-D"):
        F.dropout2d(minigrad.ones(4, 5), 0.5)


def test_model_eval_switches_dropout_off():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    x = minigrad.randn(3, 4)
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
